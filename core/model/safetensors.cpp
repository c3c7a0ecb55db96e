// safetensors parsing with validation (header size, JSON shape, dtypes, offsets, overlaps, holes) and writing.
// Assumes a little-endian host (x86-64, aarch64), as the format stores little-endian data.
#include "core/model/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "core/files.hpp"

namespace elsa::model {

namespace {

[[noreturn]] void malformed(const std::string& origin, const std::string& what) {
  throw error(errc::malformed_input, fmt::format("{}: not a valid safetensors file: {}", origin, what));
}

struct dtype_info {
  torch::ScalarType type;
  size_t size;
};

bool dtype_from_name(const std::string& name, dtype_info& out) {
  if (name == "F32")
    out = {torch::kFloat32, 4};
  else if (name == "F16")
    out = {torch::kFloat16, 2};
  else if (name == "BF16")
    out = {torch::kBFloat16, 2};
  else
    return false;
  return true;
}

const char* dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return "F32";
    case torch::kFloat16:
      return "F16";
    case torch::kBFloat16:
      return "BF16";
    default:
      return nullptr;
  }
}

// Above this the header is surely corrupt (HF's own limit is 100 MB).
constexpr uint64_t max_header = 100ull << 20;

} // namespace

safetensors_data parse_safetensors(const std::string& bytes, const std::string& origin) {
  if (bytes.size() < 8)
    malformed(origin, fmt::format("{} bytes is shorter than the 8-byte header length", bytes.size()));
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i)
    header_len = (header_len << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  if (header_len > max_header || header_len > bytes.size() - 8)
    malformed(origin, fmt::format("header length {} exceeds the file ({} bytes) or the 100 MB limit", header_len,
                                  bytes.size()));
  const std::string header = bytes.substr(8, header_len);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    malformed(origin, fmt::format("header is not JSON ({})", e.what()));
  }
  if (!j.is_object())
    malformed(origin, "header is not a JSON object");
  const size_t data_start = 8 + header_len;
  const uint64_t data_size = bytes.size() - data_start;

  safetensors_data out;
  struct span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<span> spans;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object())
        malformed(origin, "__metadata__ is not an object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string())
          malformed(origin, fmt::format("__metadata__ value for '{}' is not a string", m.key()));
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets"))
      malformed(origin, fmt::format("tensor '{}' lacks dtype, shape or data_offsets", name));
    const auto& jd = entry["dtype"];
    const auto& js = entry["shape"];
    const auto& jo = entry["data_offsets"];
    dtype_info dt{};
    if (!jd.is_string() || !dtype_from_name(jd.get<std::string>(), dt))
      malformed(origin, fmt::format("tensor '{}' has dtype {}; supported: F32, F16, BF16", name, jd.dump()));
    if (!js.is_array())
      malformed(origin, fmt::format("tensor '{}': shape is not an array", name));
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    for (const auto& d : js) {
      if (!d.is_number_unsigned())
        malformed(origin, fmt::format("tensor '{}': shape {} has a negative or non-integer dimension", name, js.dump()));
      const uint64_t v = d.get<uint64_t>();
      if (v > (1ull << 40) || (v != 0 && numel > (1ull << 40) / v))
        malformed(origin, fmt::format("tensor '{}': shape {} is absurdly large", name, js.dump()));
      numel *= v;
      shape.push_back(static_cast<int64_t>(v));
    }
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
      malformed(origin, fmt::format("tensor '{}': data_offsets {} is not [begin, end]", name, jo.dump()));
    const uint64_t begin = jo[0].get<uint64_t>(), end = jo[1].get<uint64_t>();
    if (begin > end || end > data_size)
      malformed(origin, fmt::format("tensor '{}': data_offsets [{}, {}] fall outside the {}-byte data area", name,
                                    begin, end, data_size));
    if (end - begin != numel * dt.size)
      malformed(origin, fmt::format("tensor '{}': {} bytes in data_offsets but shape {} of {} needs {}", name,
                                    end - begin, js.dump(), jd.get<std::string>(), numel * dt.size));
    spans.push_back({begin, end, name});
    torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(dt.type));
    if (numel > 0)
      std::memcpy(t.data_ptr(), bytes.data() + data_start + begin, end - begin);
    out.tensors[name] = t;
  }
  std::sort(spans.begin(), spans.end(),
            [](const span& x, const span& y) { return x.begin != y.begin ? x.begin < y.begin : x.end < y.end; });
  uint64_t cursor = 0;
  for (const auto& s : spans) {
    if (s.begin < cursor)
      malformed(origin, fmt::format("tensor '{}' overlaps the previous tensor (starts at {}, previous ends at {})",
                                    s.name, s.begin, cursor));
    if (s.begin > cursor)
      malformed(origin, fmt::format("{} unindexed bytes before tensor '{}' (a hole in the data area)",
                                    s.begin - cursor, s.name));
    cursor = s.end;
  }
  if (cursor != data_size)
    malformed(origin, fmt::format("{} trailing bytes after the last tensor", data_size - cursor));
  return out;
}

safetensors_data read_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw error(errc::file_not_found, fmt::format("{}: cannot open safetensors file (does it exist?)", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_safetensors(ss.str(), path.string());
}

std::string serialize_safetensors(const tensor_map& tensors, const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata)
      m[k] = v;
    header["__metadata__"] = m;
  }
  std::vector<torch::Tensor> blobs;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__" || name.empty())
      throw error(errc::invalid_argument, fmt::format("safetensors: '{}' is not a valid tensor name", name));
    const char* dt = dtype_name(tensor.scalar_type());
    if (dt == nullptr)
      throw error(errc::invalid_argument, fmt::format("safetensors: tensor '{}' has dtype {}; write F32, F16 or BF16",
                                                      name, c10::toString(tensor.scalar_type())));
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t n = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", dt}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
    offset += n;
    blobs.push_back(t);
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0)
    h.push_back(' ');
  std::string out;
  out.reserve(8 + h.size() + offset);
  uint64_t len = h.size();
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out += h;
  for (const auto& t : blobs)
    out.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * t.element_size());
  return out;
}

void write_safetensors(const std::filesystem::path& path, const tensor_map& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

} // namespace elsa::model
