// Uses ELSA's core/ from an installed copy, without the elsa program: reads a run config (the same checks
// `elsa run` makes), loads its tasks' data as a run would (a local file task included) and prints, per task,
// its labels and split sizes and, per client, its shard.
//   elsa_consumer CONFIG
#include <cstdio>
#include <exception>

#include "core/errors.hpp"
#include "core/fed/federation_data.hpp"
#include "core/run/run_config.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: elsa_consumer CONFIG\n");
    return 1;
  }
  try {
    const auto cfg = elsa::run::read_run_config(argv[1]);
    const auto data = elsa::fed::load_federation_data(cfg);
    for (const auto& t : data.tasks) {
      std::printf("task %s: %zu labels (", t->name.c_str(), t->label_names.size());
      for (std::size_t k = 0; k < t->label_names.size(); ++k)
        std::printf("%s%s", k ? ", " : "", t->label_names[k].c_str());
      std::printf("), train %zu, validation %zu, test %zu\n", t->train.size(), t->validation.size(), t->test.size());
    }
    for (const auto& s : data.shards)
      std::printf("client %u: %zu examples of %s\n", s.client, s.indices.size(), data.tasks.at(s.task_index)->name.c_str());
  } catch (const elsa::error& e) {
    std::fprintf(stderr, "elsa_consumer: %s\n", e.what());
    return 1;
  }
  return 0;
}
