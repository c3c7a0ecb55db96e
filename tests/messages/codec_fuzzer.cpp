// libFuzzer target on the codec's decoder: every input goes through the oracle of fuzz_oracle.hpp, and a
// broken rule aborts (libFuzzer keeps the input). Built only with -DELSA_FUZZ=ON (clang, ASan + UBSan);
// messages/README.md, section Fuzzing has the command and the numbers of a long run. Seed corpus: tests/messages/corpus/.
#include <cstdio>
#include <cstdlib>

#include "tests/messages/fuzz_oracle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const elsa::messages::codec c;
  if (const auto why = elsa::messages::fuzz::check_bytes(c, data, size); !why.empty()) {
    std::fprintf(stderr, "codec oracle: %s\n", why.c_str());
    std::abort();
  }
  return 0;
}
