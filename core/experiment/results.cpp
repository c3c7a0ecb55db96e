// The results table of a suite (see results.hpp).
#include "core/experiment/results.hpp"

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::experiment {

namespace {

using nlohmann::json;

double number(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

std::optional<double> maybe_number(const json& j, const char* key) {
  if (j.contains(key) && j[key].is_number())
    return j[key].get<double>();
  return std::nullopt;
}

std::string join_tasks(const std::vector<std::string>& tasks) {
  std::string s;
  for (const auto& t : tasks)
    s += (s.empty() ? "" : "+") + t;
  return s;
}

std::string alpha_text(const std::optional<double>& a) {
  return a ? fmt::format("{:g}", *a) : std::string();
}

std::string opt(const std::optional<double>& v, const char* format = "{:g}") {
  return v ? fmt::format(fmt::runtime(format), *v) : std::string();
}

// A CSV field: quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos)
    return s;
  std::string q = "\"";
  for (char c : s)
    q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

struct stats {
  double mean = 0, std = 0;
  std::size_t n = 0;
};

stats stats_of(const std::vector<double>& v) {
  stats s;
  s.n = v.size();
  if (v.empty())
    return s;
  for (double x : v)
    s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v)
      ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(v.size() - 1));  // sample std over seeds
  }
  return s;
}

std::string mb(double bytes) {
  return fmt::format("{:.2f}", bytes / 1e6);
}

// The run's effective config (RUN/config.toml) values that make a comparison fair, as "key = value" text.
std::map<std::string, std::string> shared_settings(const std::filesystem::path& run_dir) {
  std::map<std::string, std::string> out;
  toml::table t;
  try {
    t = toml::parse_file((run_dir / "config.toml").string());
  } catch (const std::exception&) {
    return out;
  }
  const std::vector<std::pair<const char*, const char*>> keys = {
    {"model", "model_dir"}, {"model", "max_len"},  {"topology", "clients"}, {"topology", "edges"},
    {"topology", "rounds"}, {"topology", "kappa1"}, {"topology", "kappa2"},  {"train", "batch_size"},
    {"train", "lr"},        {"data", "partition"}, {"data", "eval_examples"}, {"data", "test_examples"}};
  for (const auto& [section, key] : keys)
    if (const auto* n = t[section][key].node()) {
      std::ostringstream v;
      if (const auto* s = n->as_string())
        v << '"' << s->get() << '"';
      else
        n->visit([&v](auto&& x) { v << x; });
      out[fmt::format("[{}] {}", section, key)] = v.str();
    }
  return out;
}

} // namespace

row_values values_of(const run_result& r) {
  row_values v;
  const auto& s = r.summary;
  if (s.contains("tasks") && s["tasks"].is_object() && !s["tasks"].empty()) {
    for (const auto& [name, t] : s["tasks"].items()) {
      v.accuracy += number(t, "test_accuracy");
      v.macro_f1 += number(t, "test_macro_f1");
    }
    v.accuracy /= static_cast<double>(s["tasks"].size());
    v.macro_f1 /= static_cast<double>(s["tasks"].size());
  }
  // The summary names the round (counted from 0) whose validation first reached the target: rounds to it are one more.
  if (const auto r0 = maybe_number(s, "round_to_target"))
    v.round_to_target = *r0 + 1;
  v.sim_time_to_target_s = maybe_number(s, "sim_time_to_target_s");
  v.sim_time_s = number(s, "sim_time_s");
  if (s.contains("bytes") && s["bytes"].is_object()) {
    const auto& b = s["bytes"];
    v.client_to_edge = number(b, "client_to_edge");
    v.edge_to_client = number(b, "edge_to_client");
    v.edge_to_cloud = number(b, "edge_to_cloud");
    v.cloud_to_edge = number(b, "cloud_to_edge");
    v.control = number(b, "control");
  }
  if (s.contains("client_flops") && s["client_flops"].is_object() && !s["client_flops"].empty()) {
    double total = 0;
    for (const auto& [c, f] : s["client_flops"].items())
      total += f.is_number() ? f.get<double>() : 0.0;
    v.client_gflops = total / static_cast<double>(s["client_flops"].size()) / 1e9;
  }
  if (s.contains("client_peak_memory_bytes") && s["client_peak_memory_bytes"].is_object())
    for (const auto& [c, m] : s["client_peak_memory_bytes"].items())
      v.client_peak_memory_mb = std::max(v.client_peak_memory_mb, (m.is_number() ? m.get<double>() : 0.0) / 1e6);
  if (r.attack)
    v.inversion_token_accuracy = maybe_number(*r.attack, "token_accuracy");
  v.wall_seconds = number(s, "wall_seconds");
  v.finished = s.value("finished", false);
  return v;
}

std::string results_csv(const std::vector<run_result>& runs, const std::filesystem::path& base) {
  std::string out =
    "method,tasks,alpha,seed,faults,test_accuracy,test_macro_f1,rounds_to_target,sim_time_to_target_s,sim_time_s,"
    "bytes_client_to_edge,bytes_edge_to_client,bytes_edge_to_cloud,bytes_cloud_to_edge,bytes_control,"
    "client_gflops,client_peak_memory_mb,inversion_token_accuracy,wall_seconds,finished,run_dir\n";
  for (const auto& r : runs) {
    const auto v = values_of(r);
    auto dir = r.run_dir;
    std::error_code ec;
    const auto rel = std::filesystem::relative(r.run_dir, base, ec);
    if (!ec && !rel.empty() && rel.begin()->string() != "..")
      dir = rel;
    out += fmt::format("{},{},{},{},{},{:.4f},{:.4f},{},{},{:.3f},{:.0f},{:.0f},{:.0f},{:.0f},{:.0f},{:.3f},{:.1f},{},{:.1f},{},{}\n",
                       csv_field(r.method), csv_field(join_tasks(r.tasks)), alpha_text(r.alpha), r.seed,
                       csv_field(r.faults), v.accuracy, v.macro_f1, opt(v.round_to_target),
                       opt(v.sim_time_to_target_s, "{:.3f}"), v.sim_time_s, v.client_to_edge, v.edge_to_client,
                       v.edge_to_cloud, v.cloud_to_edge, v.control, v.client_gflops, v.client_peak_memory_mb,
                       opt(v.inversion_token_accuracy, "{:.4f}"), v.wall_seconds, v.finished ? "true" : "false",
                       csv_field(dir.string()));
  }
  return out;
}

std::string results_md(const suite& s, const std::vector<run_result>& runs, const std::string& command) {
  // Cells in the order their first run appears (the suite's order).
  using key = std::tuple<std::string, std::string, std::string, std::string>;
  std::vector<key> order;
  std::map<key, std::vector<const run_result*>> by_cell;
  for (const auto& r : runs) {
    const key k{r.method, join_tasks(r.tasks), alpha_text(r.alpha), r.faults};
    if (!by_cell.count(k))
      order.push_back(k);
    by_cell[k].push_back(&r);
  }
  std::string out = fmt::format("# Results of {}\n\nMade by `{}`. Each row is one cell of the grid over its seeds: mean "
                                "+- sample std (n = seeds); results.csv has every run with its run directory.\n\n",
                                s.file.string(), command);
  out += "| method | tasks | alpha | faults | n | test accuracy | macro-F1 | rounds to target | sim. s to target | "
         "MB client->edge | MB edge->client | MB edge->cloud | MB cloud->edge | client GFLOPs | client peak MB | "
         "inversion token acc. |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& k : order) {
    const auto& rs = by_cell[k];
    std::vector<double> acc, f1, up, down, to_cloud, from_cloud, gflops, mem, to_target, sim_to_target, inversion;
    std::size_t reached = 0;
    for (const auto* r : rs) {
      const auto v = values_of(*r);
      acc.push_back(v.accuracy);
      f1.push_back(v.macro_f1);
      up.push_back(v.client_to_edge);
      down.push_back(v.edge_to_client);
      to_cloud.push_back(v.edge_to_cloud);
      from_cloud.push_back(v.cloud_to_edge);
      gflops.push_back(v.client_gflops);
      mem.push_back(v.client_peak_memory_mb);
      if (v.round_to_target) {
        ++reached;
        to_target.push_back(*v.round_to_target);
      }
      if (v.sim_time_to_target_s)
        sim_to_target.push_back(*v.sim_time_to_target_s);
      if (v.inversion_token_accuracy)
        inversion.push_back(*v.inversion_token_accuracy);
    }
    const auto pm = [](const std::vector<double>& v, const char* format) {
      const auto st = stats_of(v);
      if (st.n == 0)
        return std::string("-");
      if (st.n == 1)  // one seed: no spread to show
        return fmt::format(fmt::runtime(format), st.mean);
      return fmt::format(fmt::runtime(std::string(format) + " +- " + format), st.mean, st.std);
    };
    const auto reach = [&](const std::vector<double>& v, const char* format) {
      if (v.empty())
        return std::string("not reached");
      return fmt::format("{} ({} of {} seeds)", pm(v, format), reached, rs.size());
    };
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                       std::get<0>(k), std::get<1>(k), std::get<2>(k).empty() ? "-" : std::get<2>(k), std::get<3>(k),
                       rs.size(), pm(acc, "{:.4f}"), pm(f1, "{:.4f}"), reach(to_target, "{:.1f}"),
                       reach(sim_to_target, "{:.1f}"), mb(stats_of(up).mean),
                       mb(stats_of(down).mean), mb(stats_of(to_cloud).mean), mb(stats_of(from_cloud).mean),
                       pm(gflops, "{:.2f}"), fmt::format("{:.1f}", stats_of(mem).mean),
                       inversion.empty() ? std::string("-") : pm(inversion, "{:.4f}"));
  }
  // What every run shared, from the runs' own config.toml; a setting that differs is listed with its values.
  std::map<std::string, std::set<std::string>> seen;
  for (const auto& r : runs)
    for (const auto& [k, v] : shared_settings(r.run_dir))
      seen[k].insert(v);
  out += "\nEvery cell started from the same base config (" + s.base_config.string() +
         ") with the suite's [set]; the settings of the runs (a setting that differs between runs is marked):\n\n";
  for (const auto& [k, vs] : seen) {
    std::string values;
    for (const auto& v : vs)
      values += (values.empty() ? "" : ", ") + v;
    out += fmt::format("- {} = {}{}\n", k, values, vs.size() > 1 ? " (differs between runs)" : "");
  }
  std::size_t unfinished = 0;
  for (const auto& r : runs)
    if (!r.summary.value("finished", false))
      ++unfinished;
  if (unfinished > 0)
    out += fmt::format("\n{} run(s) did not finish; their rows hold what they recorded.\n", unfinished);
  return out;
}

} // namespace elsa::experiment
