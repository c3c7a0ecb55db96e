// Option parsing shared by `elsa node` and `elsa launch`: HOST:PORT, id lists, and the run folder that
// elsa launch prepares before the cloud's process takes it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace elsa::cli {

/// "127.0.0.1:0" -> {"127.0.0.1", 0}. errc::invalid_argument naming `option` when there is no port, the port
/// is not 0..65535, or it is 0 and `zero_ok` is false.
std::pair<std::string, uint16_t> parse_endpoint(const std::string& option, const std::string& text, bool zero_ok);

/// "0,1,2" -> {0, 1, 2}. errc::invalid_argument naming `option` for anything but comma-separated ids, or a
/// repeated one.
std::vector<uint32_t> parse_ids(const std::string& option, const std::string& text);

/// True when `dir` exists and holds nothing but certs/ (made by elsa launch before it starts the processes).
bool only_launch_files(const std::filesystem::path& dir);

} // namespace elsa::cli
