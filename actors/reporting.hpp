// What every actor does to leave a trace in the run record: send events to the recorder, turn codec and core
// failures into error entries. Header-only helpers over the run context; no protocol logic here.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "actors/interfaces.hpp"

namespace elsa::actors {

/// Sends one event (see core/run/run_record.hpp for the types) to the recorder.
template <class Self>
void record(Self* self, const run_context& ctx, const nlohmann::json& event) {
  self->send(ctx.peers.recorder, messages::record_atom::value, event.dump());
}

/// An error entry: who (e.g. "edge 1"), during which round, what kind of failure and the explanation.
template <class Self>
void record_error(Self* self, const run_context& ctx, const std::string& who, uint32_t round, const std::string& code,
                  const std::string& text) {
  record(self, ctx, {{"type", "error"}, {"round", round}, {"actor", who}, {"code", code}, {"text", text}});
}

/// A rejected message: the codec's rule and explanation.
template <class Self>
void record_rejected(Self* self, const run_context& ctx, const std::string& who, uint32_t round,
                     const messages::codec_error& err) {
  record_error(self, ctx, who, round, std::string("malformed_message/") + messages::to_string(err.rule), err.message);
}

} // namespace elsa::actors
