// Single-thread encoding throughput of the GPT-2 BPE tokenizer on the pre-training corpus, next to what
// merely getting the corpus costs: loading it (elsa::data::pretraining_corpus) and one pass over its bytes.
// Run: build/elsa_tokenizer_benchmark [--benchmark_filter=Encode]  (needs data/ from scripts/fetch_data.sh)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/data/corpus.hpp"
#include "core/text/tokenizer.hpp"

namespace {

namespace fs = std::filesystem;
using elsa::text::bpe_tokenizer;

fs::path data_dir() {
  if (const char* env = std::getenv("ELSA_DATA_DIR"); env != nullptr && *env != '\0')
    return env;
  return fs::path(ELSA_SOURCE_DIR) / "data";
}

struct corpus_fixture {
  std::vector<std::string> docs;
  size_t bytes = 0;
  double load_seconds = 0;  // pretraining_corpus(): reading and parsing the source files

  corpus_fixture() {
    const auto start = std::chrono::steady_clock::now();
    docs = elsa::data::pretraining_corpus(data_dir());
    load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto& d : docs)
      bytes += d.size();
  }
};

const corpus_fixture& corpus() {
  static const corpus_fixture c;
  return c;
}

// Vocabulary 0 is GPT-2's (data/gpt2), 1 the one we ship (models/elsa-base), when it is there.
std::optional<bpe_tokenizer> load_vocab(int which) {
  if (which == 0)
    return bpe_tokenizer::load(data_dir() / "gpt2" / "encoder.json", data_dir() / "gpt2" / "vocab.bpe");
  const fs::path dir = fs::path(ELSA_SOURCE_DIR) / "models" / "elsa-base";
  if (!fs::exists(dir / "vocab.json"))
    return std::nullopt;
  return bpe_tokenizer::load(dir / "vocab.json", dir / "merges.txt");
}

const char* vocab_label(int which) {
  return which == 0 ? "gpt2" : "elsa-base";
}

void add_read_counters(benchmark::State& state, double encode_seconds_per_pass) {
  const auto& c = corpus();
  state.counters["corpus_MB"] = c.bytes / 1e6;
  state.counters["read_s"] = c.load_seconds;
  state.counters["read_MB/s"] = c.bytes / 1e6 / c.load_seconds;
  // How many times longer one encoding pass takes than loading the corpus did.
  state.counters["encode/read"] = encode_seconds_per_pass / c.load_seconds;
}

// One pass over every byte (a checksum): the memory-bandwidth floor any tokenizer sits above.
void BM_ScanCorpus(benchmark::State& state) {
  const auto& c = corpus();
  for (auto _ : state) {
    uint64_t sum = 0;
    for (const auto& d : c.docs)
      for (unsigned char ch : d)
        sum += ch;
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(c.bytes) / 1e6 * state.iterations(),
                                              benchmark::Counter::kIsRate);
}

// Encoding with a warm per-thread cache: the steady state of a long-running data loader.
void BM_EncodeCorpus(benchmark::State& state) {
  const auto tok = load_vocab(static_cast<int>(state.range(0)));
  if (!tok) {
    state.SkipWithError("models/elsa-base/vocab.json is missing (run `elsa tokenizer train`)");
    return;
  }
  state.SetLabel(vocab_label(static_cast<int>(state.range(0))));
  const auto& c = corpus();
  size_t tokens = 0;
  for (const auto& d : c.docs)  // warm the cache outside the timed loop
    tokens += tok->encode(d).size();
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state)
    for (const auto& d : c.docs)
      benchmark::DoNotOptimize(tok->encode(d));
  const double per_pass =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / state.iterations();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(c.bytes) / 1e6 * state.iterations(),
                                              benchmark::Counter::kIsRate);
  state.counters["bytes/token"] = static_cast<double>(c.bytes) / tokens;
  add_read_counters(state, per_pass);
}

// Encoding from a cold cache (a freshly loaded tokenizer each pass; loading is not timed): the first epoch.
void BM_EncodeCorpusCold(benchmark::State& state) {
  const auto& c = corpus();
  double seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto tok = load_vocab(static_cast<int>(state.range(0)));
    if (!tok) {
      state.SkipWithError("models/elsa-base/vocab.json is missing (run `elsa tokenizer train`)");
      return;
    }
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    for (const auto& d : c.docs)
      benchmark::DoNotOptimize(tok->encode(d));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  state.SetLabel(vocab_label(static_cast<int>(state.range(0))));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(c.bytes) / 1e6 * state.iterations(),
                                              benchmark::Counter::kIsRate);
  add_read_counters(state, seconds / state.iterations());
}

BENCHMARK(BM_ScanCorpus)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeCorpus)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK(BM_EncodeCorpusCold)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(2);

} // namespace

BENCHMARK_MAIN();
