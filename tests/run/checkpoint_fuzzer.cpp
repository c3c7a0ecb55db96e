// libFuzzer target on the checkpoint reader: every input goes through the oracle of checkpoint_oracle.hpp
// (read as either role's checkpoint), and a broken rule aborts (libFuzzer keeps the input). Built only with
// -DELSA_FUZZ=ON (clang, ASan + UBSan); docs/faults.md, section Fuzzing, has the command and the numbers.
// Seed corpus: tests/run/corpus/.
#include <cstdio>
#include <cstdlib>

#include "tests/run/checkpoint_oracle.hpp"
#include "tests/run/checkpoint_samples.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto cfg = elsa::testing::checkpoints::small_run();
  if (const auto why = elsa::run::fuzz::check_bytes(data, size, cfg); !why.empty()) {
    std::fprintf(stderr, "checkpoint oracle: %s\n", why.c_str());
    std::abort();
  }
  return 0;
}
