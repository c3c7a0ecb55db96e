// `elsa --version`: the program's version, the commit it was built from, the build type and the versions
// of the libraries it was compiled against (what a bug report needs).
#include "cli/commands.hpp"

#include <caf/config.hpp>
#include <capnp/common.h>
#include <fmt/core.h>
#include <torch/version.h>

#include "elsa_commit.hpp"

namespace elsa::cli {

std::string version_text() {
  return fmt::format("elsa {} (commit {}, {} build)\nCAF {}.{}.{}, LibTorch {}.{}.{}, Cap'n Proto {}.{}.{}, fmt {}.{}.{}, "
                     "CLI11 {}",
                     ELSA_VERSION, ELSA_GIT_COMMIT, ELSA_BUILD_TYPE, CAF_MAJOR_VERSION, CAF_MINOR_VERSION,
                     CAF_PATCH_VERSION, TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH,
                     CAPNP_VERSION_MAJOR, CAPNP_VERSION_MINOR, CAPNP_VERSION_MICRO, FMT_VERSION / 10000,
                     FMT_VERSION / 100 % 100, FMT_VERSION % 100, CLI11_VERSION);
}

} // namespace elsa::cli
