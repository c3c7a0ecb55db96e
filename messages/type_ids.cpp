// Registration of the project's CAF message types and error category, and helpers that turn codec
// failures into caf::error values for actor handlers.
#include "messages/type_ids.hpp"

#include <caf/message.hpp>

namespace elsa::messages {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::elsa>();
  cfg.add_error_category(error_category, [](uint8_t code, caf::atom_value, const caf::message& context) {
    std::string out = "elsa: ";
    out += to_string(static_cast<errc>(code));
    if (context.match_element<std::string>(0)) {
      out += ": ";
      out += context.get_as<std::string>(0);
    }
    return out;
  });
}

caf::error make_caf_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), error_category, caf::make_message(std::move(message))};
}

caf::error make_caf_error(const codec_error& err) {
  return make_caf_error(err.code, std::string{to_string(err.rule)} + ": " + err.message);
}

} // namespace elsa::messages
