// The run recorder: not a participant of the protocol but its instrument. Every actor sends it events; it
// feeds them into core/run's run_record, appends each completed round to RUN/metrics.jsonl and every other
// event (errors, refusals, faults, the final scores) to RUN/events.jsonl, prints the
// progress line and answers `done` once the run finished (the runtime then writes RUN/summary.json).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iosfwd>
#include <memory>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/interfaces.hpp"
#include "core/run/run_record.hpp"

namespace elsa::actors {

struct recorder_state {
  static inline const char* name = "elsa.recorder";

  std::shared_ptr<run::run_record> record;
  std::ofstream metrics;
  std::ofstream events;  // RUN/events.jsonl: every event that is not a round's input
  std::ostream* progress = nullptr;  // null: quiet
  std::chrono::steady_clock::time_point started;
  std::vector<caf::typed_response_promise<bool>> waiting;
  std::function<void(const nlohmann::json&)> observer;  // sees every event (tests); may be empty
};

using recorder_pointer = recorder_actor::stateful_pointer<recorder_state>;

/// Records into `record`, writing under `out_dir`; progress lines go to `progress` when not null; every
/// event is also shown to `observer` when it is set. A resumed run (`resumed_at_s` >= 0: the elapsed time of
/// the last round kept) appends to the files the record was restored from and counts elapsed time on from there.
recorder_actor::behavior_type recorder(recorder_pointer self, std::shared_ptr<run::run_record> record,
                                       std::filesystem::path out_dir, std::ostream* progress,
                                       std::function<void(const nlohmann::json&)> observer = {},
                                       double resumed_at_s = -1);

} // namespace elsa::actors
