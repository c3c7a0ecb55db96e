// Option parsing shared by `elsa node` and `elsa launch` (see node_args.hpp).
#include "cli/node_args.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::cli {

std::pair<std::string, uint16_t> parse_endpoint(const std::string& option, const std::string& text, bool zero_ok) {
  const auto colon = text.rfind(':');
  const auto bad = [&](const std::string& why) {
    return error(errc::invalid_argument, fmt::format("{} {}: {}", option, text, why));
  };
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw bad("expected HOST:PORT, e.g. 127.0.0.1:4242");
  const auto port_text = text.substr(colon + 1);
  if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5)
    throw bad("the port is not a number 0..65535");
  const auto port = std::stoul(port_text);
  if (port > 65535)
    throw bad("the port is not a number 0..65535");
  if (port == 0 && !zero_ok)
    throw bad("port 0 names no process; give the port the other process reported");
  return {text.substr(0, colon), static_cast<uint16_t>(port)};
}

std::vector<uint32_t> parse_ids(const std::string& option, const std::string& text) {
  std::vector<uint32_t> ids;
  std::set<uint32_t> seen;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto comma = std::min(text.find(',', at), text.size());
    const auto item = text.substr(at, comma - at);
    if (item.empty() || item.size() > 9 || item.find_first_not_of("0123456789") != std::string::npos)
      throw error(errc::invalid_argument,
                  fmt::format("{} {}: expected ids separated by commas, e.g. 0,1,2", option, text));
    const auto id = static_cast<uint32_t>(std::stoul(item));
    if (!seen.insert(id).second)
      throw error(errc::invalid_argument, fmt::format("{} {}: {} is listed twice", option, text, id));
    ids.push_back(id);
    at = comma + 1;
  }
  return ids;
}

bool only_launch_files(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return false;
  bool any = false;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename() != "certs")
      return false;
    any = true;
  }
  return any;
}

} // namespace elsa::cli
