// Throughput of encoding + decoding one 128x256 f32 activation message against a plain memcpy of the same
// 128 KiB, printed at the end as a ratio (1.0 = the codec costs no more than copying the bytes once).
// Run: build/elsa_codec_benchmark   (add --benchmark_repetitions=5 for steadier numbers)
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "messages/codec.hpp"

namespace {

using namespace elsa::messages;

constexpr int64_t rows = 128;
constexpr int64_t cols = 256;
constexpr std::size_t tensor_bytes_total = rows * cols * sizeof(float);

std::vector<float> activation_values() {
  std::mt19937 rng{1};
  std::normal_distribution<float> normal;
  std::vector<float> values(rows * cols);
  for (auto& v : values)
    v = normal(rng);
  return values;
}

split_tensor activation_message(const std::vector<float>& values) {
  split_tensor m;
  m.round = 1;
  m.step = 2;
  m.client_id = 3;
  m.from = segment::head;
  m.role = tensor_role::activation;
  // A view, as the torch bridge will make: the only copy is the codec's memcpy into the message.
  m.tensor = tensor_bytes::view_of(dtype::f32, {rows, cols}, values.data(), tensor_bytes_total, nullptr);
  return m;
}

// Baseline: copy the bytes once into a buffer that already exists.
void BM_memcpy(benchmark::State& state) {
  auto values = activation_values();
  std::vector<std::byte> dst(tensor_bytes_total);
  for (auto _ : state) {
    std::memcpy(dst.data(), values.data(), tensor_bytes_total);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * tensor_bytes_total));
}
BENCHMARK(BM_memcpy);

// Baseline: allocate a fresh buffer and copy once (what any sender that hands off the bytes must do).
void BM_malloc_memcpy(benchmark::State& state) {
  auto values = activation_values();
  for (auto _ : state) {
    void* dst = std::malloc(tensor_bytes_total);
    std::memcpy(dst, values.data(), tensor_bytes_total);
    benchmark::DoNotOptimize(dst);
    benchmark::ClobberMemory();
    std::free(dst);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * tensor_bytes_total));
}
BENCHMARK(BM_malloc_memcpy);

void BM_encode(benchmark::State& state) {
  auto values = activation_values();
  auto m = activation_message(values);
  codec c;
  participant sender{tier::client, 3};
  for (auto _ : state) {
    auto bytes = c.encode(sender, m);
    benchmark::DoNotOptimize(bytes.value().data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * tensor_bytes_total));
}
BENCHMARK(BM_encode);

void BM_decode(benchmark::State& state) {
  auto values = activation_values();
  codec c;
  auto bytes = c.encode(participant{tier::client, 3}, activation_message(values)).value();
  for (auto _ : state) {
    auto decoded = c.decode<split_tensor>(bytes);
    benchmark::DoNotOptimize(decoded.value().body.tensor.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * tensor_bytes_total));
}
BENCHMARK(BM_decode);

void BM_encode_decode(benchmark::State& state) {
  auto values = activation_values();
  auto m = activation_message(values);
  codec c;
  participant sender{tier::client, 3};
  for (auto _ : state) {
    auto bytes = c.encode(sender, m);
    auto decoded = c.decode<split_tensor>(bytes.value());
    benchmark::DoNotOptimize(decoded.value().body.tensor.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * tensor_bytes_total));
  state.counters["copied_B/msg"] = static_cast<double>(c.stats().tensor_bytes_copied + c.stats().extra_bytes_copied)
                                   / static_cast<double>(c.stats().messages);
}
BENCHMARK(BM_encode_decode);

// Prints the usual table, then the ratios the task asks for: per-message time of the baseline divided by
// that of encode+decode, by wall time and by CPU time (the latter is steadier on a loaded machine).
// With --benchmark_repetitions the medians are used.
class ratio_reporter : public benchmark::ConsoleReporter {
public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.error_occurred)
        continue;
      const auto& name = run.run_name.function_name;
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median")
        median_[name] = {run.GetAdjustedRealTime(), run.GetAdjustedCPUTime()};
      else if (run.run_type == Run::RT_Iteration)
        last_[name] = {run.GetAdjustedRealTime(), run.GetAdjustedCPUTime()};
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    auto at = [this](const std::string& name) {
      if (auto it = median_.find(name); it != median_.end())
        return it->second;
      if (auto it = last_.find(name); it != last_.end())
        return it->second;
      return times{};
    };
    auto codec = at("BM_encode_decode");
    if (codec.real <= 0.0)
      return;
    for (const char* baseline : {"BM_memcpy", "BM_malloc_memcpy"}) {
      auto base = at(baseline);
      if (base.real > 0.0)
        GetOutputStream() << "throughput ratio (encode+decode) / (" << baseline + 3 << "): wall "
                          << base.real / codec.real << ", cpu " << base.cpu / codec.cpu << "  [128x256 f32, "
                          << tensor_bytes_total << " B]\n";
    }
  }

private:
  struct times {
    double real = 0.0;
    double cpu = 0.0;
  };
  std::map<std::string, times> median_;
  std::map<std::string, times> last_;
};

} // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
