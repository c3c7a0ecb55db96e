// safetensors read and write (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then raw tensor bytes.
// F32, F16 and BF16 are supported; every offset, size, shape and overlap is validated on read.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <torch/torch.h>

namespace elsa::model {

using tensor_map = std::map<std::string, torch::Tensor>;

struct safetensors_data {
  tensor_map tensors;
  std::map<std::string, std::string> metadata;
};

/// Parses a whole safetensors file held in memory. `origin` (a path) names the source in error messages.
/// Tensors come back in their stored dtype (float32, float16 or bfloat16), on the CPU, owning their memory.
safetensors_data parse_safetensors(const std::string& bytes, const std::string& origin);

/// Reads and parses a file; elsa::error (file_not_found / malformed_input) names the path and the problem.
safetensors_data read_safetensors(const std::filesystem::path& path);

/// Serialises tensors (float32, float16 or bfloat16; made contiguous) with the header padded to 8 bytes.
/// Keys are written in sorted order so the same tensors give the same bytes.
std::string serialize_safetensors(const tensor_map& tensors, const std::map<std::string, std::string>& metadata = {});

/// Writes via a temporary file and a rename, so a crash never leaves a half-written file under `path`.
void write_safetensors(const std::filesystem::path& path, const tensor_map& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

} // namespace elsa::model
