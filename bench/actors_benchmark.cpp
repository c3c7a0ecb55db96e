// Split training through the actors vs the same steps in a plain loop, same run, same model and batches:
//   plain:  split_client and edge_body called directly (head fwd -> body fwd -> tail fwd/bwd -> body bwd ->
//           head bwd), no messages;
//   actors: `elsa run` machinery with 1 client and 1 edge on one CAF thread: every hop is a Cap'n Proto
//           message between actors (encode, request/response, validate+decode).
// Tokens/s of the training rounds only (rounds 1..2 of a single 4-round cloud round, timed by the client from
// the round's opening to its last step, so the time includes every message hop and wait at the edge),
// and the bytes the codec copied per step. Alternates plain/actors `--reps` times and prints each ratio and
// the median. Run from the repository root: build/elsa_actors_benchmark [--reps 3]
#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <sstream>
#include <vector>

#include <fmt/core.h>

#include "actors/runtime.hpp"
#include "core/fed/edge_body.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/fed/federation_data.hpp"
#include "core/fed/split_client.hpp"
#include "core/run/run_config.hpp"
#include "core/train/tokens.hpp"

namespace {

using namespace elsa;

run::run_config bench_config() {
  run::run_config cfg;
  cfg.model_dir = std::filesystem::path(ELSA_SOURCE_DIR) / "models/elsa-base";
  cfg.data_dir = std::filesystem::path(ELSA_SOURCE_DIR) / "data";
  cfg.out_dir = std::filesystem::temp_directory_path() / "elsa_actors_benchmark";
  cfg.clients = 1;
  cfg.edges = 1;
  cfg.rounds = 4;
  cfg.kappa2 = 4;
  cfg.kappa1 = 20;
  cfg.threads = 1;
  cfg.torch_threads = 1;
  cfg.eval_examples = 16;
  cfg.test_examples = 16;
  cfg.progress = false;
  cfg.save_adapters = false;
  return cfg;
}

struct measured {
  double tokens_per_s = 0;
  double bytes_copied_per_step = 0;
  double extra_copied_per_step = 0;
  double link_bytes_per_step = 0;
};

// The same steps without actors: warm-up round, then two timed rounds of kappa1 steps.
measured plain_loop(const run::run_config& cfg, const fed::federation_data& data, const text::bpe_tokenizer& tok) {
  const auto base = fed::load_frozen_base(cfg.model_dir);
  fed::split_client client(cfg, data, 0, tok, base);
  fed::edge_body edge(cfg, base);
  edge.add_client(0, cfg.head_blocks, cfg.tail_blocks);
  auto step = [&] {
    auto head = client.begin_step();
    auto body_out = edge.forward(0, head.activation, head.lengths);
    auto grad = client.tail_step(body_out);
    auto head_grad = edge.backward(0, grad);
    client.finish_step(head_grad);
    return client.last_batch_tokens();
  };
  for (int64_t i = 0; i < cfg.kappa1; ++i)
    step();
  int64_t tokens = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < 2 * cfg.kappa1; ++i)
    tokens += step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {static_cast<double>(tokens) / s, 0, 0, 0};
}

measured through_actors(const run::run_config& cfg) {
  std::ostringstream log;
  const auto r = actors::run_federation(cfg, log);
  // Rounds 1 and 2 (round 0 warms up): the client's own clock from each round's opening to its last step.
  const auto& m = r.metrics;
  const double seconds = m.at(1)["train_seconds"].get<double>() + m.at(2)["train_seconds"].get<double>();
  const double tokens = m.at(1)["tokens"].get<double>() + m.at(2)["tokens"].get<double>();
  measured out;
  out.tokens_per_s = tokens / seconds;
  const double steps = static_cast<double>(r.steps);
  out.bytes_copied_per_step = static_cast<double>(r.codec.tensor_bytes_copied) / steps;
  out.extra_copied_per_step = static_cast<double>(r.codec.extra_bytes_copied) / steps;
  double link = 0;
  for (const auto& line : m)
    link += line["bytes"]["client_to_edge"].get<double>() + line["bytes"]["edge_to_client"].get<double>();
  out.link_bytes_per_step = link / steps;
  return out;
}

} // namespace

int main(int argc, char** argv) try {
  int reps = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--reps") == 0)
      reps = std::max(1, std::atoi(argv[i + 1]));
  const auto cfg = bench_config();
  fed::set_torch_threads(cfg.torch_threads);
  const auto data = fed::load_federation_data(cfg);
  const auto tok = train::load_tokenizer(cfg.model_dir);
  fmt::print("split training, 1 client + 1 edge, batch {} x {} tokens, a={} b={}, 1 torch thread, 1 CAF thread\n",
             cfg.batch_size, cfg.max_len, cfg.head_blocks, cfg.tail_blocks);
  fmt::print("{:>4} {:>14} {:>14} {:>8}\n", "rep", "plain tok/s", "actors tok/s", "ratio");
  std::vector<double> ratios;
  measured last;
  for (int rep = 0; rep < reps; ++rep) {
    // Alternate which goes first, so drifting machine load does not favour one side.
    measured p;
    if (rep % 2 == 0) {
      p = plain_loop(cfg, data, tok);
      last = through_actors(cfg);
    } else {
      last = through_actors(cfg);
      p = plain_loop(cfg, data, tok);
    }
    ratios.push_back(last.tokens_per_s / p.tokens_per_s);
    fmt::print("{:>4} {:>14.0f} {:>14.0f} {:>8.3f}\n", rep + 1, p.tokens_per_s, last.tokens_per_s, ratios.back());
  }
  std::sort(ratios.begin(), ratios.end());
  fmt::print("median actors/plain ratio: {:.3f} (target >= 0.95)\n", ratios[ratios.size() / 2]);
  fmt::print("per step in one process: {:.0f} bytes on the client-edge link (4 tensors + envelopes, plus the\n"
             "round's adapter traffic spread over its steps); the codec copied {:.0f} tensor bytes (each tensor\n"
             "once, into its message) and {:.0f} extra; delivery between actors and decoding copied none.\n",
             last.link_bytes_per_step, last.bytes_copied_per_step, last.extra_copied_per_step);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "actors_benchmark: " << e.what() << "\n";
  return 1;
}
