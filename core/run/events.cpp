// JSON forms of the run's events (see events.hpp).
#include "core/run/events.hpp"

#include <cmath>

namespace elsa::run {

namespace {

template <class V>
nlohmann::json keyed(const std::map<uint32_t, V>& m) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : m)
    out[std::to_string(k)] = v;
  return out;
}

nlohmann::json kinds(const int64_t (&n)[4]) {
  nlohmann::json out = nlohmann::json::object();
  for (int i = 0; i < 4; ++i)
    out[byte_kind_names[i]] = n[i];
  return out;
}

} // namespace

nlohmann::json kind_bytes::sent_json() const {
  return kinds(sent);
}

nlohmann::json kind_bytes::dense_json() const {
  return kinds(dense);
}

const char* to_string(run_error code) noexcept {
  switch (code) {
    case run_error::malformed_message:
      return "malformed_message";
    case run_error::refused:
      return "refused";
    case run_error::rejected_update:
      return "rejected_update";
    case run_error::step_failed:
      return "step_failed";
    case run_error::superseded:
      return "superseded";
    case run_error::out_of_range:
      return "out_of_range";
    case run_error::injected_fault:
      return "injected_fault";
    case run_error::edge_down:
      return "edge_down";
    case run_error::no_edges:
      return "no_edges";
    case run_error::deadline_missed:
      return "deadline_missed";
    case run_error::late_update:
      return "late_update";
    case run_error::no_quorum:
      return "no_quorum";
    case run_error::not_registered:
      return "not_registered";
    case run_error::absent_at_start:
      return "absent_at_start";
    case run_error::internal:
      return "internal";
  }
  return "unknown";
}

nlohmann::json client_round_event::to_json() const {
  return {{"type", "client_round"}, {"round", round}, {"client", client}, {"edge", edge},
          {"task", task},           {"steps", steps}, {"loss", loss},     {"tokens", tokens},
          {"bytes_up", bytes_up},   {"bytes_up_by_kind", up.sent_json()}, {"dense_up_by_kind", up.dense_json()},
          {"seconds", seconds}, {"head_blocks", head_blocks}, {"tail_blocks", tail_blocks},
          {"positions", positions}, {"max_seq_len", max_seq_len}, {"bytes_down", bytes_down}, {"messages", messages}};
}

nlohmann::json edge_round_event::to_json() const {
  nlohmann::json j = {{"type", "edge_round"},
          {"round", round},
          {"edge", edge},
          {"reason", reason},
          {"reported", reported},
          {"expected", expected},
          {"late", late},
          {"missing", missing},
          {"down", down},
          {"late_arrivals", late_arrivals},
          {"sim_late", sim_late},
          {"aggregated", aggregated},
          {"stale_aggregated", stale_aggregated},
          {"bytes_down", bytes_down},
          {"bytes_cloud", bytes_cloud},
          {"bytes_control", bytes_control},
          {"bytes_down_by_kind", to_clients.sent_json()},
          {"dense_down_by_kind", to_clients.dense_json()},
          {"bytes_cloud_by_kind", to_cloud.sent_json()},
          {"dense_cloud_by_kind", to_cloud.dense_json()},
          {"trust", keyed(trust)},
          {"update_digests", keyed(update_digests)},
          {"aggregate_digests", keyed(aggregate_digests)},
          {"left_out", keyed(left_out)},
          {"peak_admitted", peak_admitted}};
  if (sim_flush_s >= 0) {
    j["sim_flush_s"] = sim_flush_s;
    j["waiting"] = waiting;
    j["staleness"] = keyed(staleness);
  }
  return j;
}

nlohmann::json round_closed_event::to_json() const {
  nlohmann::json j = {{"type", "round_closed"}, {"round", round},   {"cloud_round", cloud_round},
                      {"edges", edges},         {"bytes_control", bytes_control}, {"at_s", at_s},
                      {"cpu_s", cpu_s}};
  if (sampled)
    j["sampled"] = *sampled;
  return j;
}

nlohmann::json cloud_round_event::to_json() const {
  return {{"type", "cloud_round"}, {"round", round},   {"edges_reported", edges_reported},
          {"bytes_down", bytes_down}, {"bytes_down_by_kind", down.sent_json()},
          {"dense_down_by_kind", down.dense_json()}, {"bytes_control", bytes_control}, {"validating", true}};
}

nlohmann::json validation_event::to_json() const {
  return {{"type", "validation"}, {"round", round}, {"accuracy", accuracy}, {"loss", loss},
          {"eval_seconds", eval_seconds}};
}

nlohmann::json final_event::to_json() const {
  nlohmann::json t = nlohmann::json::object();
  for (const auto& [task, s] : test)
    t[task] = {{"accuracy", s.accuracy}, {"macro_f1", s.macro_f1}, {"loss", s.loss}, {"count", s.count}};
  return {{"type", "final"}, {"test", t}, {"cloud_received", cloud_received}};
}

nlohmann::json dropout_event::to_json() const {
  return {{"type", "dropout"}, {"round", round}, {"client", client}, {"mode", mode}};
}

nlohmann::json fault_event::to_json() const {
  return {{"type", "fault"}, {"round", round}, {"client", client}, {"kind", kind}, {"delay_ms", delay_ms}};
}

nlohmann::json net_fault_event::to_json() const {
  return {{"type", "net_fault"}, {"round", round},   {"from", from},         {"to", to},
          {"message", message},  {"faults", faults}, {"delay_ms", delay_ms}, {"bytes", bytes}};
}

nlohmann::json resent_event::to_json() const {
  return {{"type", "resent"}, {"round", round}, {"from", from}, {"to", to}, {"message", message}, {"attempt", attempt}};
}

nlohmann::json duplicate_event::to_json() const {
  return {{"type", "duplicate"}, {"round", round}, {"at", at}, {"from", from}, {"message", message}};
}

nlohmann::json undelivered_event::to_json() const {
  return {{"type", "undelivered"}, {"round", round}, {"from", from},
          {"to", to},              {"message", message}, {"attempts", attempts}};
}

nlohmann::json registered_event::to_json() const {
  return {{"type", "registered"}, {"clients", clients}, {"edges", edges}, {"bytes_control", bytes_control}};
}


nlohmann::json clustering_event::to_json() const {
  return {{"type", "clustering"},   {"round", round},       {"fingerprints", fingerprints},
          {"k", k},                 {"silhouette", silhouette}, {"clusters", keyed(clusters)},
          {"medoids", keyed(medoids)}, {"consistency", keyed(consistency)}, {"trust", keyed(trust)},
          {"excluded", excluded},   {"bytes_control", bytes_control}, {"seconds", seconds}};
}

nlohmann::json placement_event::to_json() const {
  nlohmann::json rtt = nlohmann::json::object();
  for (const auto& [c, row] : rtt_ms) {
    auto& out = rtt[std::to_string(c)] = nlohmann::json::array();
    for (double v : row)
      out.push_back(std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v));
  }
  return {{"type", "placement"},
          {"round", round},
          {"policy", policy},
          {"reason", reason},
          {"assignment", keyed(assignment)},
          {"moved", moved},
          {"rtt_ms", rtt},
          {"latency_total_ms", latency_total_ms},
          {"latency_max_ms", latency_max_ms},
          {"unmeasured", unmeasured},
          {"reports", reports},
          {"bytes_control", bytes_control}};
}

nlohmann::json error_event::to_json() const {
  std::string c = to_string(code);
  if (!detail.empty())
    c += "/" + detail;
  return {{"type", "error"}, {"round", round}, {"actor", actor}, {"code", c}, {"text", text}};
}

} // namespace elsa::run
