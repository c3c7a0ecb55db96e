// What every actor does to leave a trace in the run record: send typed events (core/run/events.hpp) to the
// process's recorder, turn codec and core failures into error events. Header-only helpers over the run
// context; no protocol logic here.
#pragma once

#include <string>

#include "actors/interfaces.hpp"
#include "core/run/events.hpp"

namespace elsa::actors {

/// Sends one event to the recorder.
template <class Self, class Event>
void record(Self* self, const run_context& ctx, const Event& event) {
  self->send(ctx.recorder, messages::record_atom::value, event.to_json().dump());
}

/// An error event: who (e.g. "edge 1"), during which round, what kind of failure, a finer reason (may be
/// empty) and the explanation.
template <class Self>
void record_error(Self* self, const run_context& ctx, const std::string& who, uint32_t round, run::run_error code,
                  const std::string& detail, const std::string& text) {
  record(self, ctx, run::error_event{round, who, code, detail, text});
}

template <class Self>
void record_error(Self* self, const run_context& ctx, const std::string& who, uint32_t round, run::run_error code,
                  const std::string& text) {
  record_error(self, ctx, who, round, code, std::string{}, text);
}

/// A rejected message: the codec's rule and explanation.
template <class Self>
void record_rejected(Self* self, const run_context& ctx, const std::string& who, uint32_t round,
                     const messages::codec_error& err) {
  record_error(self, ctx, who, round, run::run_error::malformed_message, messages::to_string(err.rule), err.message);
}

} // namespace elsa::actors
