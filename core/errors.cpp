// Names for elsa::errc values.
#include "core/errors.hpp"

namespace elsa {

const char* to_string(errc code) {
  switch (code) {
    case errc::none:
      return "none";
    case errc::file_not_found:
      return "file_not_found";
    case errc::malformed_input:
      return "malformed_input";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::io_error:
      return "io_error";
    case errc::internal:
      return "internal";
    case errc::damaged:
      return "damaged";
  }
  return "unknown";
}

} // namespace elsa
