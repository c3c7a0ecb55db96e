// Captured activations on disk (see capture.hpp).
#include "core/attack/capture.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "core/model/safetensors.hpp"

namespace elsa::attack {

namespace fs = std::filesystem;

namespace {

uint64_t parse_count(const std::string& text, const std::string& key, const fs::path& file) {
  const bool digits = !text.empty() && text.size() < 11
                      && std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (!digits || std::stoull(text) > 0xffffffffULL)
    throw error(errc::malformed_input,
                fmt::format("{}: capture metadata \"{}\" = \"{}\" is not a count", file.string(), key, text));
  return std::stoull(text);
}

uint64_t number(const std::map<std::string, std::string>& meta, const std::string& key, const fs::path& file) {
  auto it = meta.find(key);
  if (it == meta.end())
    throw error(errc::malformed_input, fmt::format("{}: not a capture: its metadata has no \"{}\"", file.string(), key));
  return parse_count(it->second, key, file);
}

} // namespace

fs::path capture_dir(const fs::path& run_dir) {
  return run_dir / "capture";
}

std::string capture_file_name(const captured_batch& b) {
  return fmt::format("edge{}-round{}-client{}-step{}.safetensors", b.edge, b.round, b.client, b.step);
}

void write_capture(const fs::path& dir, const captured_batch& b) {
  const auto file = dir / capture_file_name(b);
  auto t = fed::from_wire(b.activation);
  if (t.dim() != 3 || static_cast<std::size_t>(t.size(0)) != b.lengths.size())
    throw error(errc::invalid_argument, fmt::format("{}: an activation of shape [{}] with {} row lengths", file.string(),
                                                    fmt::join(t.sizes().vec(), ","), b.lengths.size()));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw error(errc::io_error, fmt::format("{}: cannot create the capture folder: {}", dir.string(), ec.message()));
  model::write_safetensors(file, {{"activation", t.contiguous().clone()}},
                           {{"format", "elsa-capture"},
                            {"edge", std::to_string(b.edge)},
                            {"client", std::to_string(b.client)},
                            {"round", std::to_string(b.round)},
                            {"step", std::to_string(b.step)},
                            {"head_blocks", std::to_string(b.head_blocks)},
                            {"wire_dtype", b.wire_dtype},
                            {"lengths", fmt::format("{}", fmt::join(b.lengths, ","))}});
}

std::vector<captured_batch> read_captures(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw error(errc::file_not_found,
                fmt::format("{}: no captured activations (run with [privacy] capture = N)", dir.string()));
  std::vector<captured_batch> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto& file = entry.path();
    if (file.extension() != ".safetensors")
      continue;
    auto st = model::read_safetensors(file);
    if (st.metadata["format"] != "elsa-capture" || !st.tensors.count("activation"))
      throw error(errc::malformed_input, fmt::format("{}: not a capture (no elsa-capture activation)", file.string()));
    captured_batch b;
    b.edge = static_cast<uint32_t>(number(st.metadata, "edge", file));
    b.client = static_cast<uint32_t>(number(st.metadata, "client", file));
    b.round = static_cast<uint32_t>(number(st.metadata, "round", file));
    b.step = static_cast<uint32_t>(number(st.metadata, "step", file));
    b.head_blocks = static_cast<int64_t>(number(st.metadata, "head_blocks", file));
    b.wire_dtype = st.metadata["wire_dtype"];
    if (b.wire_dtype != "f32" && b.wire_dtype != "f16" && b.wire_dtype != "bf16")
      throw error(errc::malformed_input, fmt::format("{}: capture metadata \"wire_dtype\" = \"{}\" is not f32, f16 or bf16",
                                                     file.string(), b.wire_dtype));
    // "7,4,1": every item a count (an empty one, as in "7,,1" or "7,4,", is refused by parse_count).
    const auto& lengths = st.metadata["lengths"];
    for (std::size_t p = 0;;) {
      const auto q = std::min(lengths.find(',', p), lengths.size());
      b.lengths.push_back(static_cast<uint32_t>(parse_count(lengths.substr(p, q - p), "lengths", file)));
      if (q == lengths.size())
        break;
      p = q + 1;
    }
    auto t = st.tensors.at("activation").to(torch::kFloat32).contiguous();
    if (t.dim() != 3 || static_cast<std::size_t>(t.size(0)) != b.lengths.size())
      throw error(errc::malformed_input, fmt::format("{}: activation of shape [{}] with {} row lengths", file.string(),
                                                     fmt::join(t.sizes().vec(), ","), b.lengths.size()));
    for (auto n : b.lengths)
      if (n > t.size(1))
        throw error(errc::malformed_input,
                    fmt::format("{}: a row length {} exceeds the activation's {} positions", file.string(), n, t.size(1)));
    b.activation = fed::to_wire(t);
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(), [](const captured_batch& x, const captured_batch& y) {
    return std::tie(x.round, x.edge, x.client, x.step) < std::tie(y.round, y.edge, y.client, y.step);
  });
  return out;
}

} // namespace elsa::attack
