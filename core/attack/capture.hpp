// What an honest-but-curious edge keeps ([privacy] capture = N): training activations exactly as they
// arrived from clients, one safetensors file per batch under RUN/capture/, with who sent it, when, and how
// many real tokens each row has. `elsa attack invert` (core/attack/inversion.hpp) reads them back.
// Torch-free interface: the edge actor writes through it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace elsa::attack {

struct captured_batch {
  uint32_t edge = 0;
  uint32_t client = 0;
  uint32_t round = 0;
  uint32_t step = 0;                 // the client's local step in the round
  int64_t head_blocks = 0;           // the client's split when it sent the batch
  std::string wire_dtype = "f32";    // the dtype it crossed the network in
  messages::tensor_bytes activation; // (B, T, C); read back as f32 (a lossless widening of f16/bf16)
  std::vector<uint32_t> lengths;     // real tokens per row
};

/// RUN/capture.
std::filesystem::path capture_dir(const std::filesystem::path& run_dir);

/// The file a batch goes to: edge<e>-round<r>-client<c>-step<s>.safetensors.
std::string capture_file_name(const captured_batch& b);

/// Writes `b` under `dir` (created if missing) through a temporary file and a rename. elsa::error naming
/// the file when it cannot be written or the batch is malformed (lengths do not match the rows).
void write_capture(const std::filesystem::path& dir, const captured_batch& b);

/// Every capture under `dir`, sorted by (round, edge, client, step). elsa::error naming the file for one that
/// is not a capture, and naming `dir` when it is missing.
std::vector<captured_batch> read_captures(const std::filesystem::path& dir);

} // namespace elsa::attack
