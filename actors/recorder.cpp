// The run recorder (see recorder.hpp).
#include "actors/recorder.hpp"

#include <algorithm>
#include <ostream>

#include "core/errors.hpp"

namespace elsa::actors {

namespace {

double elapsed(const recorder_pointer& self) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - self->state.started).count();
}

void record_event(recorder_pointer self, const std::string& text);

// Across processes any authenticated process can reach the recorder: an event of the wrong shape (a field of
// the wrong type) is dropped with one line, not a dead recorder.
void on_event(recorder_pointer self, const std::string& text) {
  try {
    record_event(self, text);
  } catch (const std::exception& e) {
    if (self->state.progress != nullptr)
      *self->state.progress << "  ! recorder: dropped a malformed event (" << e.what() << ")" << std::endl;
  }
}

void record_event(recorder_pointer self, const std::string& text) {
  auto& st = self->state;
  const auto ev = nlohmann::json::parse(text, nullptr, false);
  if (ev.is_discarded() || !ev.is_object())
    return;  // events come from our own actors; a broken one is not worth stopping the run for
  if (st.observer)
    st.observer(ev);
  // Round inputs become metrics lines; everything else (errors, refusals, faults, the final scores) is one
  // line of RUN/events.jsonl each, so metrics.jsonl stays exactly one object per edge round.
  const auto type = ev.value("type", "");
  if (type != "client_round" && type != "edge_round" && type != "round_closed" && type != "cloud_round"
      && type != "validation") {
    auto line = ev;
    line["elapsed_s"] = elapsed(self);
    st.events << line.dump() << '\n';
    st.events.flush();
  }
  std::vector<nlohmann::json> lines;
  try {
    lines = st.record->add(ev, elapsed(self));
  } catch (const elsa::error&) {
    return;
  }
  for (const auto& line : lines) {
    st.metrics << line.dump() << '\n';
    st.metrics.flush();
    if (st.progress != nullptr)
      *st.progress << st.record->progress_line(line) << std::endl;
  }
  if (ev.value("type", "") == "error" && st.progress != nullptr)
    *st.progress << "  ! " << ev.value("actor", "?") << ", round " << ev.value("round", 0) << ": "
                 << ev.value("code", "?") << ": " << ev.value("text", "") << std::endl;
  if (st.record->finished() || !st.record->aborted().empty()) {
    for (auto& p : st.waiting)
      p.deliver(true);
    st.waiting.clear();
  }
}

} // namespace

recorder_actor::behavior_type recorder(recorder_pointer self, std::shared_ptr<run::run_record> record,
                                       std::filesystem::path out_dir, std::ostream* progress,
                                       std::function<void(const nlohmann::json&)> observer, double resumed_at_s) {
  auto& st = self->state;
  st.record = std::move(record);
  st.observer = std::move(observer);
  const auto mode = resumed_at_s >= 0 ? std::ios::app : std::ios::trunc;
  st.metrics.open(out_dir / "metrics.jsonl", mode);
  st.events.open(out_dir / "events.jsonl", mode);
  st.progress = progress;
  st.started = std::chrono::steady_clock::now()
               - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                 std::chrono::duration<double>(std::max(resumed_at_s, 0.0)));
  return {
    [self](messages::record_atom, const std::string& text) { on_event(self, text); },
    [self](messages::done_atom) -> caf::result<bool> {
      if (self->state.record->finished() || !self->state.record->aborted().empty())
        return true;
      auto promise = self->make_response_promise<bool>();
      self->state.waiting.push_back(promise);
      return promise;
    },
  };
}

} // namespace elsa::actors
