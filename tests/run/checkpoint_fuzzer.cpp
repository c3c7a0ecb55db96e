// libFuzzer target on the checkpoint reader: every input goes through the oracle of checkpoint_oracle.hpp
// (read as either role's checkpoint), and a broken rule aborts (libFuzzer keeps the input). Built only with
// -DELSA_FUZZ=ON (clang, ASan + UBSan); docs/faults.md, section Fuzzing, has the command and the numbers.
// Seed corpus: tests/run/corpus/ (the sample checkpoints as files, *.ckpt, and their payloads, *.cbor).
#include <cstdio>
#include <cstdlib>

#include "tests/run/checkpoint_oracle.hpp"
#include "tests/run/checkpoint_samples.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto cfg = elsa::testing::checkpoints::small_run();
  // Each input as a whole file (header and checksum checks) and as a payload framed with a true checksum (the
  // CBOR reader and the field checks, which mutations could not reach past the checksum).
  for (const auto& why : {elsa::run::fuzz::check_bytes(data, size, cfg), elsa::run::fuzz::check_payload(data, size, cfg)})
    if (!why.empty()) {
      std::fprintf(stderr, "checkpoint oracle: %s\n", why.c_str());
      std::abort();
    }
  return 0;
}
