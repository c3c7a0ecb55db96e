// Turning actor events into metrics lines, progress, summary.json and the final table (see run_record.hpp).
#include "core/run/run_record.hpp"
#include "core/run/sim_usage.hpp"

#include <algorithm>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "core/cluster/clustering.hpp"
#include "core/errors.hpp"
#include "core/run/events.hpp"

namespace elsa::run {

namespace {

// The placement in force (the last `placement` event) as a metrics line and the summary carry it.
void put_placement(nlohmann::json& out, const nlohmann::json& placement) {
  if (placement.is_null())
    return;
  out["assignment"] = placement.value("assignment", nlohmann::json::object());
  // null when a link went unmeasured (an RTT of NaN, e.g. its heartbeat was lost on the network)
  for (const char* key : {"latency_total_ms", "latency_max_ms"})
    out[key] = placement.contains(key) && placement[key].is_number() ? placement[key] : nlohmann::json(nullptr);
}

std::string mb(double bytes) {
  return fmt::format("{:.1f} MB", bytes / 1e6);
}

std::string clock_text(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return fmt::format("{:02d}:{:02d}", s / 60, s % 60);
}

template <class T>
void append_unique(std::vector<T>& to, const nlohmann::json& list) {
  if (!list.is_array())
    return;
  for (const auto& v : list) {
    const auto x = v.get<T>();
    if (std::find(to.begin(), to.end(), x) == to.end())
      to.push_back(x);
  }
  std::sort(to.begin(), to.end());
}

const char* const tiers[] = {"client_to_edge", "edge_to_client", "edge_to_cloud", "cloud_to_edge"};

// Adds an event's {kind: n} (absent in events of older records: nothing) into acc[tier][kind].
void add_kinds(nlohmann::json& acc, const char* tier, const nlohmann::json& ev, const char* field) {
  if (!ev.contains(field) || !ev[field].is_object())
    return;
  auto& t = acc[tier];
  if (!t.is_object())
    t = nlohmann::json::object();
  for (const auto& [k, v] : ev[field].items())
    t[k] = t.value(k, int64_t{0}) + v.get<int64_t>();
}

// Sums b's tier -> kind -> n into a.
void add_all(nlohmann::json& a, const nlohmann::json& b) {
  for (const auto& [tier, kinds] : b.items()) {
    auto& t = a[tier];
    if (!t.is_object())
      t = nlohmann::json::object();
    for (const auto& [k, v] : kinds.items())
      t[k] = t.value(k, int64_t{0}) + v.get<int64_t>();
  }
}

// tier -> dense / sent over all kinds (1 where nothing was sent).
nlohmann::json compression(const nlohmann::json& sent, const nlohmann::json& dense) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* tier : tiers) {
    int64_t s = 0, d = 0;
    if (sent.contains(tier))
      for (const auto& [k, v] : sent[tier].items())
        s += v.get<int64_t>();
    if (dense.contains(tier))
      for (const auto& [k, v] : dense[tier].items())
        d += v.get<int64_t>();
    out[tier] = s > 0 ? static_cast<double>(d) / static_cast<double>(s) : 1.0;
  }
  return out;
}

} // namespace

run_record::run_record(const run_config& cfg, std::vector<std::string> tasks, std::vector<double> majority)
  : cfg_(cfg), tasks_(std::move(tasks)), majority_(std::move(majority)) {
  // nop
}

void run_record::set_truth(std::vector<std::string> client_task, std::vector<int64_t> client_group,
                           std::vector<uint32_t> byzantine) {
  client_task_ = std::move(client_task);
  client_group_ = std::move(client_group);
  byzantine_ = std::move(byzantine);
}

void run_record::set_model(const sim::model_shape& shape) {
  shape_ = shape;
}

void run_record::put_sim(nlohmann::json& line, const round_acc& r) {
  // One usage per client and edge: a straggler's late report of the previous round lands in this one (see
  // at()), and its work adds to this round's.
  std::map<uint32_t, std::vector<sim::client_usage>> by_edge;
  for (const auto& u : r.usage) {
    auto& list = by_edge[u.edge];
    auto same = std::find_if(list.begin(), list.end(), [&u](const sim::client_usage& x) { return x.client == u.client; });
    if (same == list.end()) {
      list.push_back(u);
      continue;
    }
    same->steps += u.steps;
    same->positions += u.positions;
    same->max_seq_len = std::max(same->max_seq_len, u.max_seq_len);
    same->bytes_up += u.bytes_up;
    same->bytes_down += u.bytes_down;
    same->messages += u.messages;
  }
  double seconds = 0;
  nlohmann::json clients = nlohmann::json::object();
  for (auto& [edge, usage] : by_edge) {
    // The round's aggregate goes back to each client that reported: its share of the edge's adapter bytes (async:
    // the clients whose uploads wait got it too).
    const auto it = r.adapters_down.find(edge);
    std::set<uint32_t> receivers;
    for (const auto& u : usage)
      receivers.insert(u.client);
    if (const auto got = r.async_receivers.find(edge); got != r.async_receivers.end())
      receivers.insert(got->second.begin(), got->second.end());
    const int64_t share =
        it == r.adapters_down.end() ? 0 : it->second / static_cast<int64_t>(std::max<std::size_t>(1, receivers.size()));
    for (auto& u : usage) {
      u.bytes_down += share;
      u.messages += share > 0 ? 1 : 0;
      u.bytes_after_upload += share;
      u.messages_after_upload += share > 0 ? 1 : 0;
    }
    // Enforced, the round ends as the edge decided: the uploads it left out of this round do not hold it.
    const auto out = r.sim_late_by_edge.find(edge);
    const auto t = sim::edge_round(*shape_, usage, cfg_.edge_flops(edge), cfg_.deadline_s,
                                   out == r.sim_late_by_edge.end() ? nullptr : &out->second);
    const auto flush = r.flush_by_edge.find(edge);
    if (flush == r.flush_by_edge.end()) {
      seconds = std::max(seconds, t.seconds);
    } else {
      // Async: the edge's flush came when the last upload it took arrived (core/sim fedbuff_flush); then the
      // aggregate goes to the clients whose uploads it took, which start the next round from it.
      double back = 0;
      if (const auto taken = r.async_taken.find(edge); taken != r.async_taken.end() && share > 0)
        for (auto c : taken->second) {
          const auto dev = cfg_.client_device(c, line.value("round", int64_t{0}));
          back = std::max(back, sim::transfer_seconds(share, dev.down_bytes_per_s, 1, dev.latency_s));
        }
      seconds = std::max(seconds, flush->second + back);
    }
    for (const auto& u : usage) {
      const auto& c = t.clients.at(u.client);
      client_flops_[u.client] += c.flops;
      client_memory_[u.client] = std::max(client_memory_[u.client], c.memory_bytes);
      clients[std::to_string(u.client)] = {{"edge", edge},
                                           {"split", {u.at.a, u.at.b}},
                                           {"class", u.device.name},
                                           {"steps", u.steps},
                                           {"step_s", c.step_s},
                                           {"round_s", c.compute_s + c.comm_s},
                                           {"upload_s", sim::until_upload_s(c, u)},
                                           {"compute_s", c.compute_s},
                                           {"comm_s", c.comm_s},
                                           {"edge_s", c.edge_s},
                                           {"flops", c.flops},
                                           {"memory_bytes", c.memory_bytes},
                                           {"memory_ok", static_cast<double>(c.memory_bytes) <= u.device.memory_bytes},
                                           {"met_deadline", c.met_deadline}};
    }
  }
  for (const auto& [edge, flush] : r.flush_by_edge)  // an async edge whose clients all wait trained no one
    if (!by_edge.count(edge))
      seconds = std::max(seconds, flush);
  if (r.cloud_round) {
    // Each edge's upload to the cloud and its share of the cloud's broadcast, over its edge-cloud link.
    double slowest = 0;
    const auto edges = std::max<std::size_t>(1, r.to_cloud.size());
    for (const auto& [edge, up] : r.to_cloud)
      slowest = std::max(slowest, sim::transfer_seconds(up + r.bytes_cloud_edge / static_cast<int64_t>(edges),
                                                        cfg_.edge_cloud_mbps * 1e6 / 8, 2,
                                                        cfg_.edge_cloud_latency_ms / 1e3));
    seconds += slowest;
  }
  sim_time_ += seconds;
  line["sim_round_s"] = seconds;
  line["sim_time_s"] = sim_time_;
  line["sim_clients"] = clients;
  if (!sim_to_target_ && r.cloud_round && reached_target(r.accuracy)) {
    sim_to_target_ = sim_time_;
    round_to_target_ = next_line_;
  }
}

run_record::round_acc& run_record::at(int64_t round) {
  // Events about rounds already written (late reports) count toward the oldest open round; events past the
  // run's last round (a coordinator a round ahead after lost messages) toward the last.
  return open_[std::min(std::max(round, next_line_), std::max<int64_t>(next_line_, cfg_.rounds - 1))];
}

std::vector<nlohmann::json> run_record::add(const nlohmann::json& ev, double elapsed_s) {
  const std::string type = ev.value("type", "");
  const int64_t round = ev.value("round", int64_t{0});
  // A cloud round's validation scores, from its validation event or a cloud_round event that carries them.
  const auto take_scores = [&ev](round_acc& r) {
    r.validated = true;
    r.accuracy = ev.value("accuracy", nlohmann::json::object());
    r.eval_loss = ev.value("loss", nlohmann::json::object());
    r.eval_seconds = ev.value("eval_seconds", 0.0);
  };
  if (type == "client_round") {
    auto& r = at(round);
    r.losses.push_back(ev.value("loss", 0.0));
    if (ev.contains("task"))
      r.task_losses[ev.value("task", "")].push_back(ev.value("loss", 0.0));
    r.steps += ev.value("steps", int64_t{0});
    r.tokens += ev.value("tokens", int64_t{0});
    r.train_seconds = std::max(r.train_seconds, ev.value("seconds", 0.0));
    r.bytes_client_edge += ev.value("bytes_up", int64_t{0});
    add_kinds(r.by_kind, "client_to_edge", ev, "bytes_up_by_kind");
    add_kinds(r.dense_by_kind, "client_to_edge", ev, "dense_up_by_kind");
    if (shape_) {
      client_round_event c;
      c.round = static_cast<uint32_t>(round);
      c.client = ev.value("client", uint32_t{0});
      c.edge = ev.value("edge", uint32_t{0});
      c.head_blocks = ev.value("head_blocks", uint32_t{0});
      c.tail_blocks = ev.value("tail_blocks", uint32_t{0});
      c.steps = ev.value("steps", uint32_t{0});
      c.positions = ev.value("positions", int64_t{0});
      c.max_seq_len = ev.value("max_seq_len", int64_t{0});
      c.bytes_up = ev.value("bytes_up", int64_t{0});
      c.bytes_down = ev.value("bytes_down", int64_t{0});
      c.messages = ev.value("messages", int64_t{0});
      r.usage.push_back(client_usage_of(cfg_, c));
    }
  } else if (type == "edge_round") {
    auto& r = at(round);
    r.reported += ev.value("reported", int64_t{0});
    r.expected += ev.value("expected", int64_t{0});
    r.bytes_edge_client += ev.value("bytes_down", int64_t{0});
    r.bytes_edge_cloud += ev.value("bytes_cloud", int64_t{0});
    r.bytes_control += ev.value("bytes_control", int64_t{0});
    const auto edge = ev.value("edge", uint32_t{0});
    if (ev.contains("bytes_down_by_kind") && ev["bytes_down_by_kind"].is_object())
      r.adapters_down[edge] += ev["bytes_down_by_kind"].value("adapters", int64_t{0});
    r.to_cloud[edge] += ev.value("bytes_cloud", int64_t{0});
    add_kinds(r.by_kind, "edge_to_client", ev, "bytes_down_by_kind");
    add_kinds(r.dense_by_kind, "edge_to_client", ev, "dense_down_by_kind");
    add_kinds(r.by_kind, "edge_to_cloud", ev, "bytes_cloud_by_kind");
    add_kinds(r.dense_by_kind, "edge_to_cloud", ev, "dense_cloud_by_kind");
    r.reasons[ev.value("reason", "?")] += 1;
    append_unique<int64_t>(r.late, ev.value("late", nlohmann::json::array()));
    append_unique<int64_t>(r.missing, ev.value("missing", nlohmann::json::array()));
    append_unique<int64_t>(r.down, ev.value("down", nlohmann::json::array()));
    append_unique<int64_t>(r.late_arrivals, ev.value("late_arrivals", nlohmann::json::array()));
    append_unique<int64_t>(r.sim_late, ev.value("sim_late", nlohmann::json::array()));
    if (round >= next_line_)  // (an edge's event of a round already written, merged here, is not this round's)
      for (const auto& c : ev.value("sim_late", nlohmann::json::array()))
        r.sim_late_by_edge[edge].insert(c.get<uint32_t>());
    if (ev.contains("sim_flush_s")) {
      if (round >= next_line_) {
        r.flush_by_edge[edge] = ev.value("sim_flush_s", 0.0);
        // Who got the aggregate besides the clients that trained this round (those waiting, those whose
        // upload was taken), and who starts the next round from it (those whose upload was taken).
        auto& got = r.async_receivers[edge];
        auto& taken = r.async_taken[edge];
        for (const auto& c : ev.value("waiting", nlohmann::json::array()))
          got.insert(c.get<uint32_t>());
        const auto lags = ev.value("staleness", nlohmann::json::object());
        for (const auto& [c, lag] : lags.items()) {
          got.insert(static_cast<uint32_t>(std::stoul(c)));
          taken.insert(static_cast<uint32_t>(std::stoul(c)));
        }
      }
      append_unique<int64_t>(r.waiting, ev.value("waiting", nlohmann::json::array()));
      if (ev.contains("staleness") && ev["staleness"].is_object())
        r.staleness.update(ev["staleness"]);
    }
    append_unique<int64_t>(r.aggregated, ev.value("aggregated", nlohmann::json::array()));
    r.stale_aggregated += ev.value("stale_aggregated", int64_t{0});
    if (ev.contains("trust"))
      r.trust.update(ev["trust"]);
  } else if (type == "round_closed") {
    auto& r = at(round);
    r.closed = true;
    r.cloud_round = ev.value("cloud_round", false);
    r.bytes_control += ev.value("bytes_control", int64_t{0});
    if (ev.contains("sampled"))
      r.sampled = ev["sampled"];
  } else if (type == "cloud_round") {
    // Rounds of earlier cloud rounds that never closed did not run (their opening was lost on the network,
    // or the coordinator never opened them): written with close reason not_run, so the record goes on.
    close_unrun(round - (cfg_.kappa2 - 1));
    auto& r = at(round);
    r.cloud_done = true;
    r.bytes_cloud_edge += ev.value("bytes_down", int64_t{0});
    add_kinds(r.by_kind, "cloud_to_edge", ev, "bytes_down_by_kind");
    add_kinds(r.dense_by_kind, "cloud_to_edge", ev, "dense_down_by_kind");
    r.bytes_control += ev.value("bytes_control", int64_t{0});
    if (!ev.value("validating", false))  // the scores came with it
      take_scores(r);
  } else if (type == "validation") {
    // A cloud round's scores, computed beside the next round: before or after its cloud_round event. Scores
    // of a round already written (its line went out without them when the run ended) are left out.
    if (round >= next_line_)
      take_scores(at(round));
  } else if (type == "clustering") {
    auto& r = at(round);
    r.clusters = ev.value("clusters", nlohmann::json::object());
    if (ev.contains("trust"))
      r.trust.update(ev["trust"]);
  } else if (type == "placement") {
    at(round).placement = ev;
  } else if (type == "dropout") {
    auto& r = at(round);
    r.dropouts.push_back(ev.value("client", int64_t{-1}));
  } else if (type == "fault") {
    at(round).delays.push_back({{"client", ev.value("client", int64_t{-1})}, {"kind", ev.value("kind", "")},
                                {"delay_ms", ev.value("delay_ms", int64_t{0})}});
  } else if (type == "net_fault") {
    auto& r = at(round);
    if (ev.contains("faults") && ev["faults"].is_array())
      for (const auto& f : ev["faults"])
        if (f.is_string()) {
          r.net_faults[f.get<std::string>()] += 1;
          net_faults_total_[f.get<std::string>()] += 1;  // also those after the last line (the summary's)
        }
  } else if (type == "resent") {
    at(round).resent += 1;
    ++resent_total_;
  } else if (type == "duplicate") {
    at(round).duplicates += 1;
    ++duplicates_total_;
  } else if (type == "undelivered") {
    at(round).undelivered += 1;
    ++undelivered_total_;
  } else if (type == "registered") {
    registered_bytes_ += ev.value("bytes_control", int64_t{0});
  } else if (type == "error") {
    errors_.push_back(ev);
    if (ev.value("code", "") == "not_registered" && aborted_.empty())
      aborted_ = ev.value("text", "registration incomplete");
    at(round).errors += 1;
  } else if (type == "final") {
    final_ = ev;
    close_unrun(cfg_.rounds);
    for (auto& [k, acc] : open_)
      acc.validated = true;  // the cloud sends its scores before the end; any still missing never come
  } else if (type == "resumed") {
    resumed_from_.push_back(ev.value("cloud_rounds", int64_t{0}));
  } else {
    throw error(errc::invalid_argument, fmt::format("run record: event of unknown type '{}'", type));
  }
  return flush(elapsed_s);
}

bool run_record::reached_target(const nlohmann::json& accuracy) const {
  if (cfg_.target_accuracy <= 0 || !accuracy.is_object() || accuracy.empty())
    return false;
  for (const auto& [task, a] : accuracy.items())
    if (!a.is_number() || a.get<double>() < cfg_.target_accuracy)
      return false;
  return true;
}

void run_record::restore(const std::vector<nlohmann::json>& lines, const std::vector<nlohmann::json>& events) {
  try {
    restore_unchecked(lines, events);
  } catch (const std::exception& e) {  // a field of another type: not a line this program wrote
    throw error(errc::malformed_input,
                fmt::format("the run's metrics.jsonl or events.jsonl holds a line elsa did not write ({})", e.what()));
  }
}

void run_record::restore_unchecked(const std::vector<nlohmann::json>& lines, const std::vector<nlohmann::json>& events) {
  lines_ = lines;
  next_line_ = static_cast<int64_t>(lines.size());
  for (const auto& l : lines) {
    if (l.contains("clusters")) {
      clusters_ = l["clusters"];
      ari_ = l.value("ari", 0.0);
    }
    if (l.contains("sim_time_s") && l["sim_time_s"].is_number()) {
      sim_time_ = l["sim_time_s"].get<double>();
      if (!sim_to_target_ && reached_target(l["accuracy"])) {
        sim_to_target_ = sim_time_;
        round_to_target_ = l.value("round", int64_t{0});
      }
    }
    const auto line_faults = l.value("net_faults", nlohmann::json::object());
    for (const auto& [k, v] : line_faults.items())
      net_faults_total_[k] += v.get<int64_t>();
    resent_total_ += l.value("resent", int64_t{0});
    duplicates_total_ += l.value("duplicates", int64_t{0});
    undelivered_total_ += l.value("undelivered", int64_t{0});
    const auto clients = l.value("sim_clients", nlohmann::json::object());
    for (const auto& [id, c] : clients.items()) {
      const auto client = static_cast<uint32_t>(std::stoul(id));
      client_flops_[client] += c.value("flops", 0.0);
      client_memory_[client] = std::max(client_memory_[client], c.value("memory_bytes", int64_t{0}));
    }
  }
  for (const auto& ev : events) {
    const auto type = ev.value("type", "");
    if (type == "error")
      errors_.push_back(ev);
    else if (type == "registered")
      registered_bytes_ += ev.value("bytes_control", int64_t{0});
    else if (type == "clustering")
      ++clusterings_;
    else if (type == "placement")
      placement_ = ev;
    else if (type == "resumed")
      resumed_from_.push_back(ev.value("cloud_rounds", int64_t{0}));
  }
}

void run_record::close_unrun(int64_t before) {
  for (int64_t k = next_line_; k < before; ++k) {
    auto& r = open_[k];
    if (!r.closed) {
      r.closed = true;
      r.cloud_round = (k + 1) % cfg_.kappa2 == 0;
      // not_run: nothing of it was reported; close_lost: it ran, but its close never reached the record.
      const bool ran = r.reported > 0 || r.steps > 0 || !r.reasons.empty();
      r.reasons[ran ? "close_lost" : "not_run"] += 1;
    }
    if (r.cloud_round && !r.cloud_done) {
      r.cloud_done = true;  // its aggregation never came; the line says so by its empty accuracy
      r.validated = true;
    }
  }
}

std::vector<nlohmann::json> run_record::flush(double elapsed_s) {
  // A round's time is when its training was over (closed, and a cloud round aggregated), even when its line
  // waits for validation scores or for an earlier round.
  for (auto& [k, r] : open_)
    if (!r.done_at && r.closed && (!r.cloud_round || r.cloud_done))
      r.done_at = elapsed_s;
  std::vector<nlohmann::json> out;
  while (true) {
    auto it = open_.find(next_line_);
    if (next_line_ >= cfg_.rounds || it == open_.end() || !it->second.closed
        || (it->second.cloud_round && !(it->second.cloud_done && it->second.validated)))
      break;
    const auto& r = it->second;
    nlohmann::json line;
    line["round"] = next_line_;
    line["cloud_round"] = r.cloud_round;
    line["train_loss"] = r.losses.empty()
                           ? nlohmann::json(nullptr)
                           : nlohmann::json(std::accumulate(r.losses.begin(), r.losses.end(), 0.0)
                                            / static_cast<double>(r.losses.size()));
    nlohmann::json by_task = nlohmann::json::object();
    for (const auto& [task, losses] : r.task_losses)
      by_task[task] = std::accumulate(losses.begin(), losses.end(), 0.0) / static_cast<double>(losses.size());
    line["train_loss_by_task"] = by_task;
    line["steps"] = r.steps;
    line["tokens"] = r.tokens;
    line["train_seconds"] = r.train_seconds;
    line["clients_reported"] = r.reported;
    line["clients_expected"] = r.expected;
    line["close_reasons"] = r.reasons;
    line["stragglers"] = r.late;
    line["missing"] = r.missing;
    line["down"] = r.down;
    line["late_arrivals"] = r.late_arrivals;
    if (cfg_.enforce_deadline)
      line["sim_late"] = r.sim_late;
    if (cfg_.async_edges()) {
      line["waiting"] = r.waiting;
      line["staleness"] = r.staleness;
    }
    line["aggregated"] = r.aggregated;
    line["stale_aggregated"] = r.stale_aggregated;
    line["dropouts"] = r.dropouts;
    line["faults"] = r.delays;
    if (!r.net_faults.empty())
      line["net_faults"] = r.net_faults;
    if (r.resent > 0)
      line["resent"] = r.resent;
    if (r.duplicates > 0)
      line["duplicates"] = r.duplicates;
    if (r.undelivered > 0)
      line["undelivered"] = r.undelivered;
    line["accuracy"] = r.cloud_round ? r.accuracy : nlohmann::json(nullptr);
    line["eval_loss"] = r.cloud_round ? r.eval_loss : nlohmann::json(nullptr);
    if (r.cloud_round)
      line["eval_s"] = r.eval_seconds;
    line["bytes"] = {{"client_to_edge", r.bytes_client_edge},
                     {"edge_to_client", r.bytes_edge_client},
                     {"edge_to_cloud", r.bytes_edge_cloud},
                     {"cloud_to_edge", r.bytes_cloud_edge},
                     {"control", r.bytes_control}};
    line["bytes_by_kind"] = r.by_kind;
    line["dense_bytes_by_kind"] = r.dense_by_kind;
    line["compression"] = compression(r.by_kind, r.dense_by_kind);
    line["trust"] = r.trust;
    if (r.sampled)
      line["sampled"] = *r.sampled;
    if (r.clusters) {
      // Scored against the tasks when there are several, else against the clients' label groups.
      clusters_ = *r.clusters;
      ++clusterings_;
      std::vector<uint32_t> found, truth;
      const bool by_task = tasks_.size() > 1;
      for (const auto& [id, k] : clusters_.items()) {
        const auto c = static_cast<std::size_t>(std::stoul(id));
        if (by_task ? c >= client_task_.size() : c >= client_group_.size())
          continue;
        found.push_back(k.get<uint32_t>());
        truth.push_back(by_task ? static_cast<uint32_t>(std::find(tasks_.begin(), tasks_.end(), client_task_[c])
                                                        - tasks_.begin())
                                : static_cast<uint32_t>(client_group_[c]));
      }
      ari_ = found.empty() ? 0.0 : cluster::adjusted_rand_index(found, truth);
    }
    if (!clusters_.is_null()) {
      line["clusters"] = clusters_;
      line["ari"] = ari_;
    }
    if (r.placement)
      placement_ = *r.placement;
    put_placement(line, placement_);
    if (shape_)
      put_sim(line, r);
    line["errors"] = r.errors;
    line["elapsed_s"] = r.done_at.value_or(elapsed_s);
    lines_.push_back(line);
    out.push_back(line);
    open_.erase(it);
    ++next_line_;
  }
  return out;
}

std::string run_record::progress_line(const nlohmann::json& line) const {
  const int64_t round = line.value("round", int64_t{0}) + 1;
  const double elapsed = line.value("elapsed_s", 0.0);
  const double eta = round > 0 ? elapsed / static_cast<double>(round) * static_cast<double>(cfg_.rounds - round) : 0;
  int64_t up = 0, down = 0;
  for (const auto& l : lines_) {
    up += l["bytes"].value("client_to_edge", int64_t{0}) + l["bytes"].value("edge_to_cloud", int64_t{0});
    down += l["bytes"].value("edge_to_client", int64_t{0}) + l["bytes"].value("cloud_to_edge", int64_t{0});
  }
  std::string acc;
  if (line["accuracy"].is_object())
    for (const auto& [task, a] : line["accuracy"].items())
      acc += fmt::format(" | {} acc {:.3f}", task, a.get<double>());
  const auto& loss = line["train_loss"];
  std::string faults;
  if (!line["stragglers"].empty() || !line["down"].empty() || line.value("errors", int64_t{0}) > 0)
    faults = fmt::format(" | late {} down {} errors {}", line["stragglers"].size(), line["down"].size(),
                         line.value("errors", int64_t{0}));
  const std::string sim =
    line.contains("sim_time_s") ? fmt::format(" | simulated {}", clock_text(line["sim_time_s"].get<double>())) : "";
  return fmt::format("round {:>3}/{} | loss {}{} | up {} down {}{}{} | {} elapsed, ETA {}", round, cfg_.rounds,
                     loss.is_number() ? fmt::format("{:.4f}", loss.get<double>()) : std::string("-"), acc,
                     mb(static_cast<double>(up)), mb(static_cast<double>(down)), faults, sim, clock_text(elapsed),
                     clock_text(eta));
}

nlohmann::json run_record::summary(double wall_seconds) const {
  nlohmann::json s;
  nlohmann::json tasks = nlohmann::json::object();
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    nlohmann::json t;
    t["majority_accuracy"] = i < majority_.size() ? majority_[i] : 0.0;
    if (i < labels_.size())
      t["labels"] = labels_[i];
    if (i < sources_.size() && sources_[i].is_object())
      t.update(sources_[i]);
    if (final_ && (*final_)["test"].contains(tasks_[i])) {
      const auto& f = (*final_)["test"][tasks_[i]];
      t["test_accuracy"] = f.value("accuracy", 0.0);
      t["test_macro_f1"] = f.value("macro_f1", 0.0);
      t["test_loss"] = f.value("loss", 0.0);
      t["test_examples"] = f.value("count", int64_t{0});
    }
    tasks[tasks_[i]] = t;
  }
  s["tasks"] = tasks;
  nlohmann::json bytes = {{"client_to_edge", 0}, {"edge_to_client", 0}, {"edge_to_cloud", 0},
                          {"cloud_to_edge", 0},  {"control", 0}};
  int64_t stragglers = 0, sim_late = 0;
  std::vector<int64_t> dropouts, down;
  nlohmann::json by_kind = nlohmann::json::object(), dense_by_kind = nlohmann::json::object();
  for (const char* tier : tiers)
    for (const char* kind : byte_kind_names)
      by_kind[tier][kind] = dense_by_kind[tier][kind] = 0;
  for (const auto& l : lines_) {
    add_all(by_kind, l.value("bytes_by_kind", nlohmann::json::object()));
    add_all(dense_by_kind, l.value("dense_bytes_by_kind", nlohmann::json::object()));
    for (auto& [k, v] : bytes.items())
      v = v.get<int64_t>() + l["bytes"].value(k, int64_t{0});
    stragglers += static_cast<int64_t>(l["stragglers"].size());
    sim_late += static_cast<int64_t>(l.value("sim_late", nlohmann::json::array()).size());
    append_unique<int64_t>(dropouts, l["dropouts"]);
    append_unique<int64_t>(down, l["down"]);
  }
  if (!net_faults_total_.empty())
    s["net_faults"] = net_faults_total_;
  if (resent_total_ > 0)
    s["resent"] = resent_total_;
  if (duplicates_total_ > 0)
    s["duplicates"] = duplicates_total_;
  if (undelivered_total_ > 0)
    s["undelivered"] = undelivered_total_;
  bytes["control"] = bytes["control"].get<int64_t>() + registered_bytes_;
  s["bytes"] = bytes;
  s["bytes_by_kind"] = by_kind;
  s["dense_bytes_by_kind"] = dense_by_kind;
  s["compression"] = compression(by_kind, dense_by_kind);
  s["rounds"] = cfg_.rounds;
  s["rounds_recorded"] = static_cast<int64_t>(lines_.size());
  s["late_updates"] = stragglers;
  if (cfg_.enforce_deadline)
    s["sim_late_uploads"] = sim_late;
  s["dropouts"] = dropouts;
  s["down"] = down;
  s["errors"] = static_cast<int64_t>(errors_.size());
  s["wall_seconds"] = wall_seconds;
  s["cloud_received"] = final_ ? final_->value("cloud_received", nlohmann::json::object()) : nlohmann::json::object();
  s["finished"] = final_.has_value();
  nlohmann::json client_task = nlohmann::json::object();
  for (std::size_t c = 0; c < client_task_.size(); ++c)
    client_task[std::to_string(c)] = client_task_[c];
  s["client_task"] = client_task;
  s["byzantine"] = byzantine_;
  s["clusterings"] = clusterings_;
  s["resumed_from"] = resumed_from_;
  put_placement(s, placement_);
  if (shape_) {
    s["sim_time_s"] = sim_time_;
    s["target_accuracy"] = cfg_.target_accuracy > 0 ? nlohmann::json(cfg_.target_accuracy) : nlohmann::json(nullptr);
    s["sim_time_to_target_s"] = sim_to_target_ ? nlohmann::json(*sim_to_target_) : nlohmann::json(nullptr);
    s["round_to_target"] = round_to_target_ ? nlohmann::json(*round_to_target_) : nlohmann::json(nullptr);
    nlohmann::json flops = nlohmann::json::object(), memory = nlohmann::json::object();
    for (const auto& [c, f] : client_flops_)
      flops[std::to_string(c)] = f;
    for (const auto& [c, m] : client_memory_)
      memory[std::to_string(c)] = m;
    s["client_flops"] = flops;
    s["client_peak_memory_bytes"] = memory;
    s["split_mode"] = cfg_.split_mode;
    s["topology_mode"] = cfg_.topology_mode;
  }
  if (!clusters_.is_null()) {
    s["clusters"] = clusters_;
    s["ari"] = ari_;
  }
  return s;
}

std::string run_record::summary_table(double wall_seconds) const {
  const auto s = summary(wall_seconds);
  std::string out = "\n| task | test acc | macro-F1 | majority | test n |\n|---|---|---|---|---|\n";
  for (const auto& [name, t] : s["tasks"].items())
    out += fmt::format("| {} | {:.4f} | {:.4f} | {:.4f} | {} |\n", name, t.value("test_accuracy", 0.0),
                       t.value("test_macro_f1", 0.0), t.value("majority_accuracy", 0.0),
                       t.value("test_examples", int64_t{0}));
  const auto& b = s["bytes"];
  out += fmt::format("\nrounds {}/{} | client->edge {} | edge->client {} | edge->cloud {} | cloud->edge {} | "
                     "late updates {} | dropouts {} | errors {} | wall {:.1f} s\n",
                     s["rounds_recorded"].get<int64_t>(), s["rounds"].get<int64_t>(),
                     mb(b["client_to_edge"].get<double>()), mb(b["edge_to_client"].get<double>()),
                     mb(b["edge_to_cloud"].get<double>()), mb(b["cloud_to_edge"].get<double>()),
                     s["late_updates"].get<int64_t>(), s["dropouts"].size(), s["errors"].get<int64_t>(),
                     wall_seconds);
  if (s.contains("sim_time_s")) {
    out += fmt::format("simulated time {:.1f} s ([split] mode = \"{}\")", s["sim_time_s"].get<double>(), cfg_.split_mode);
    if (cfg_.target_accuracy > 0)
      out += s["sim_time_to_target_s"].is_null()
               ? fmt::format("; validation accuracy {} never reached", cfg_.target_accuracy)
               : fmt::format("; validation accuracy {} reached at {:.1f} s (edge round {})", cfg_.target_accuracy,
                             s["sim_time_to_target_s"].get<double>(), s["round_to_target"].get<int64_t>());
    out += "\n";
  }
  if (s.contains("latency_total_ms") && s["latency_total_ms"].is_number() && s["latency_max_ms"].is_number())
    out += fmt::format("placement {}: client-edge RTT total {:.1f} ms, max {:.1f} ms (as last measured)\n",
                       placement_.value("policy", std::string{"?"}), s["latency_total_ms"].get<double>(),
                       s["latency_max_ms"].get<double>());
  return out;
}

} // namespace elsa::run
