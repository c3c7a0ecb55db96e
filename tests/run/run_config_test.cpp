// The run config: the defaults and configs/quickstart.toml are valid, every rule gives an error naming the
// [section] key, and to_toml() writes a file that reads back to the same config.
#include "core/run/run_config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"
#include "tests/test_support.hpp"

namespace er = elsa::run;
namespace fs = std::filesystem;

namespace {

fs::path write_toml(const std::string& name, const std::string& text) {
  auto p = fs::temp_directory_path() / ("elsa_run_test_" + name + "_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(p) << text;
  return p;
}

struct failure {
  elsa::errc code = elsa::errc::none;
  std::string what;
};

failure read_error(const std::string& text) {
  const auto p = write_toml("bad", text);
  failure f;
  try {
    er::read_run_config(p);
  } catch (const elsa::error& e) {
    f = {e.code(), e.what()};
  }
  fs::remove(p);
  return f;
}

std::string validate_error(const er::run_config& cfg) {
  try {
    er::validate(cfg);
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), elsa::errc::invalid_argument);
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Field by field, independent of the key list in run_config.cpp.
void expect_same(const er::run_config& a, const er::run_config& b) {
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.torch_threads, b.torch_threads);
  EXPECT_EQ(a.deterministic, b.deterministic);
  EXPECT_EQ(a.model_dir, b.model_dir);
  EXPECT_EQ(a.lora.rank, b.lora.rank);
  EXPECT_EQ(a.lora.alpha, b.lora.alpha);
  EXPECT_EQ(a.lora.dropout, b.lora.dropout);
  EXPECT_EQ(a.lora.targets, b.lora.targets);
  EXPECT_EQ(a.max_len, b.max_len);
  EXPECT_EQ(a.data_dir, b.data_dir);
  EXPECT_EQ(a.tasks, b.tasks);
  EXPECT_EQ(a.partition, b.partition);
  EXPECT_EQ(a.dirichlet_alpha, b.dirichlet_alpha);
  EXPECT_EQ(a.max_train_per_client, b.max_train_per_client);
  EXPECT_EQ(a.eval_examples, b.eval_examples);
  EXPECT_EQ(a.test_examples, b.test_examples);
  EXPECT_EQ(a.batch_size, b.batch_size);
  EXPECT_EQ(a.lr, b.lr);
  EXPECT_EQ(a.weight_decay, b.weight_decay);
  EXPECT_EQ(a.grad_clip, b.grad_clip);
  EXPECT_EQ(a.clients, b.clients);
  EXPECT_EQ(a.edges, b.edges);
  EXPECT_EQ(a.rounds, b.rounds);
  EXPECT_EQ(a.kappa1, b.kappa1);
  EXPECT_EQ(a.kappa2, b.kappa2);
  EXPECT_EQ(a.head_blocks, b.head_blocks);
  EXPECT_EQ(a.tail_blocks, b.tail_blocks);
  EXPECT_EQ(a.split_mode, b.split_mode);
  EXPECT_EQ(a.min_head_blocks, b.min_head_blocks);
  EXPECT_EQ(a.class_names, b.class_names);
  EXPECT_EQ(a.class_gflops, b.class_gflops);
  EXPECT_EQ(a.class_memory_mb, b.class_memory_mb);
  EXPECT_EQ(a.class_up_mbps, b.class_up_mbps);
  EXPECT_EQ(a.class_down_mbps, b.class_down_mbps);
  EXPECT_EQ(a.class_latency_ms, b.class_latency_ms);
  EXPECT_EQ(a.client_classes, b.client_classes);
  EXPECT_EQ(a.class_fractions, b.class_fractions);
  EXPECT_EQ(a.edge_gflops, b.edge_gflops);
  EXPECT_EQ(a.edge_cloud_mbps, b.edge_cloud_mbps);
  EXPECT_EQ(a.edge_cloud_latency_ms, b.edge_cloud_latency_ms);
  EXPECT_EQ(a.change_clients, b.change_clients);
  EXPECT_EQ(a.change_rounds, b.change_rounds);
  EXPECT_EQ(a.change_classes, b.change_classes);
  EXPECT_EQ(a.deadline_s, b.deadline_s);
  EXPECT_EQ(a.target_accuracy, b.target_accuracy);
  EXPECT_EQ(a.start_quorum, b.start_quorum);
  EXPECT_EQ(a.tls, b.tls);
  EXPECT_EQ(a.certificate, b.certificate);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.cafile, b.cafile);
  EXPECT_EQ(a.heartbeat_ms, b.heartbeat_ms);
  EXPECT_EQ(a.connection_timeout_ms, b.connection_timeout_ms);
  EXPECT_EQ(a.join_timeout_ms, b.join_timeout_ms);
  EXPECT_EQ(a.data_plane, b.data_plane);
  EXPECT_EQ(a.data_plane_min_bytes, b.data_plane_min_bytes);
  EXPECT_EQ(a.trust_weighting, b.trust_weighting);
  EXPECT_EQ(a.activations, b.activations);
  EXPECT_EQ(a.adapters, b.adapters);
  EXPECT_EQ(a.sketch_rows, b.sketch_rows);
  EXPECT_EQ(a.sketch_cols, b.sketch_cols);
  EXPECT_EQ(a.sketch_ratio, b.sketch_ratio);
  EXPECT_EQ(a.sketch_k, b.sketch_k);
  EXPECT_EQ(a.sketch_decode, b.sketch_decode);
  EXPECT_EQ(a.sketch_gain, b.sketch_gain);
  EXPECT_EQ(a.ssop, b.ssop);
  EXPECT_EQ(a.ssop_k, b.ssop_k);
  EXPECT_EQ(a.ssop_sigma, b.ssop_sigma);
  EXPECT_EQ(a.capture, b.capture);
  EXPECT_EQ(a.round_deadline_ms, b.round_deadline_ms);
  EXPECT_EQ(a.step_deadline_ms, b.step_deadline_ms);
  EXPECT_EQ(a.quorum, b.quorum);
  EXPECT_EQ(a.straggler_policy_name, b.straggler_policy_name);
  EXPECT_EQ(a.staleness_decay, b.staleness_decay);
  EXPECT_EQ(a.down_after_missed, b.down_after_missed);
  EXPECT_EQ(a.stragglers, b.stragglers);
  EXPECT_EQ(a.straggler_delay_ms, b.straggler_delay_ms);
  EXPECT_EQ(a.dropouts, b.dropouts);
  EXPECT_EQ(a.dropout_round, b.dropout_round);
  EXPECT_EQ(a.dropout_step, b.dropout_step);
  EXPECT_EQ(a.dropout_mode_name, b.dropout_mode_name);
  EXPECT_EQ(a.silent_dropouts, b.silent_dropouts);
  EXPECT_EQ(a.edge_failures, b.edge_failures);
  EXPECT_EQ(a.edge_failure_round, b.edge_failure_round);
  EXPECT_EQ(a.malformed_to, b.malformed_to);
  EXPECT_EQ(a.out_dir, b.out_dir);
  EXPECT_EQ(a.progress, b.progress);
  EXPECT_EQ(a.save_adapters, b.save_adapters);
}

// Every key set to something other than its default (and valid).
const char* k_everything_changed = R"(
[run]
seed = 99
threads = 3
torch_threads = 2
deterministic = true

[model]
model_dir = "models/other"
lora_rank = 4
lora_alpha = 8
lora_dropout = 0.1
lora_targets = ["c_fc", "c_attn"]
max_len = 64

[data]
data_dir = "/tmp/data \"quoted\""
tasks = ["party", "genre"]
partition = "by_task"
dirichlet_alpha = 0.25
max_train_per_client = 100
eval_examples = 64
test_examples = 500

[train]
batch_size = 4
lr = 1e-4
weight_decay = 0.01
grad_clip = 0.0

[topology]
clients = 6
edges = 3
rounds = 12
kappa1 = 5
kappa2 = 3

[split]
head_blocks = 2
tail_blocks = 2
mode = "dynamic"
min_head_blocks = 2

[profiles]
class_names = ["phone", "laptop"]
class_gflops = [2.5, 40]
class_memory_mb = [300, 4000]
class_up_mbps = [5, 100]
class_down_mbps = [20, 200]
class_latency_ms = [30, 5]
client_classes = ["phone", "laptop", "phone", "phone", "laptop", "laptop"]
edge_gflops = [100, 200, 300]
edge_cloud_mbps = 500
edge_cloud_latency_ms = 15
change_clients = [2]
change_rounds = [5]
change_classes = ["laptop"]
deadline_s = 90

[elsa]
trust_weighting = false

[compress]
activations = "bf16"
adapters = "sketch"
sketch_rows = 3
sketch_cols = 999
sketch_k = 77
sketch_decode = "top_k"
sketch_gain = 1.5

[privacy]
ssop = true
ssop_k = 5
ssop_sigma = 0.25
capture = 3

[faults]
round_deadline_ms = 5000
step_deadline_ms = 2000
quorum = 1
straggler_policy = "staleness"
staleness_decay = 0.25
down_after_missed = 3
stragglers = [1, 5]
straggler_delay_ms = 700
dropouts = [2]
dropout_round = 4
dropout_step = 3
dropout_mode = "silent"
silent_dropouts = [3]
edge_failures = [0, 2]
edge_failure_round = 6
malformed_to = ["edge", "cloud"]

[network]
tls = false
certificate = "certs/a.pem"
key = "certs/a.key"
cafile = "certs/ca.pem"
heartbeat_ms = 250
connection_timeout_ms = 3000
join_timeout_ms = 9000
data_plane = false
data_plane_min_bytes = 4096

[output]
dir = "runs/everything"
progress = false
save_adapters = false
target_accuracy = 0.9
)";

} // namespace

// -- defaults and the shipped config --

TEST(RunConfig, DefaultsValidate) {
  er::run_config cfg;
  EXPECT_NO_THROW(er::validate(cfg));
  EXPECT_EQ(cfg.stragglers_policy(), er::straggler_policy::drop);
  EXPECT_EQ(cfg.dropouts_mode(), er::dropout_mode::crash);
  EXPECT_EQ(cfg.cloud_rounds(), 5);
}

TEST(RunConfig, QuickstartIsTheDefaultsWithItsOwnOutputDir) {
  auto cfg = er::read_run_config(elsa::testing::source_dir() / "configs" / "quickstart.toml");
  EXPECT_EQ(cfg.out_dir, "runs/quickstart");
  EXPECT_EQ(cfg.clients, 8);
  EXPECT_EQ(cfg.edges, 2);
  EXPECT_EQ(cfg.tasks, std::vector<std::string>{"spam"});
  EXPECT_EQ(cfg.partition, "iid");
  cfg.out_dir = er::run_config{}.out_dir;
  expect_same(cfg, er::run_config{});
}

TEST(RunConfig, QuickstartWritesOutEveryKey) {
  // Each `key = ` line of to_toml() appears in the shipped config (which keeps the user-facing TOML names).
  std::ifstream in(elsa::testing::source_dir() / "configs" / "quickstart.toml");
  std::stringstream shipped;
  shipped << in.rdbuf();
  std::istringstream keys(er::to_toml(er::run_config{}));
  int n = 0;
  for (std::string line; std::getline(keys, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    const auto key = line[0] == '[' ? line : "\n" + line.substr(0, line.find(" = ") + 3);
    EXPECT_TRUE(contains(shipped.str(), key)) << key;
    ++n;
  }
  EXPECT_EQ(n, 13 + 130); // sections + keys
}

TEST(RunConfig, EveryKeyIsRead) {
  const auto p = write_toml("everything", k_everything_changed);
  const auto c = er::read_run_config(p);
  fs::remove(p);
  EXPECT_EQ(c.seed, 99u);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.torch_threads, 2);
  EXPECT_TRUE(c.deterministic);
  EXPECT_EQ(c.model_dir, "models/other");
  EXPECT_EQ(c.lora.rank, 4);
  EXPECT_EQ(c.lora.alpha, 8.0);
  EXPECT_EQ(c.lora.dropout, 0.1);
  EXPECT_EQ(c.lora.targets, (std::vector<std::string>{"c_fc", "c_attn"}));
  EXPECT_EQ(c.max_len, 64);
  EXPECT_EQ(c.data_dir, "/tmp/data \"quoted\"");
  EXPECT_EQ(c.tasks, (std::vector<std::string>{"party", "genre"}));
  EXPECT_EQ(c.partition, "by_task");
  EXPECT_EQ(c.dirichlet_alpha, 0.25);
  EXPECT_EQ(c.max_train_per_client, 100);
  EXPECT_EQ(c.eval_examples, 64);
  EXPECT_EQ(c.test_examples, 500);
  EXPECT_EQ(c.batch_size, 4);
  EXPECT_EQ(c.lr, 1e-4);
  EXPECT_EQ(c.weight_decay, 0.01);
  EXPECT_EQ(c.grad_clip, 0.0);
  EXPECT_EQ(c.clients, 6);
  EXPECT_EQ(c.edges, 3);
  EXPECT_EQ(c.rounds, 12);
  EXPECT_EQ(c.kappa1, 5);
  EXPECT_EQ(c.kappa2, 3);
  EXPECT_EQ(c.cloud_rounds(), 4);
  EXPECT_EQ(c.head_blocks, 2);
  EXPECT_EQ(c.tail_blocks, 2);
  EXPECT_TRUE(c.dynamic_split());
  EXPECT_EQ(c.min_head_blocks, 2);
  EXPECT_EQ(c.class_names, (std::vector<std::string>{"phone", "laptop"}));
  EXPECT_EQ(c.class_gflops, (std::vector<double>{2.5, 40}));
  EXPECT_EQ(c.class_memory_mb, (std::vector<double>{300, 4000}));
  EXPECT_EQ(c.class_up_mbps, (std::vector<double>{5, 100}));
  EXPECT_EQ(c.class_down_mbps, (std::vector<double>{20, 200}));
  EXPECT_EQ(c.class_latency_ms, (std::vector<double>{30, 5}));
  EXPECT_EQ(c.client_classes.size(), 6u);
  EXPECT_EQ(c.edge_gflops, (std::vector<double>{100, 200, 300}));
  EXPECT_EQ(c.edge_cloud_mbps, 500.0);
  EXPECT_EQ(c.edge_cloud_latency_ms, 15.0);
  EXPECT_EQ(c.change_clients, std::vector<int64_t>{2});
  EXPECT_EQ(c.change_rounds, std::vector<int64_t>{5});
  EXPECT_EQ(c.change_classes, std::vector<std::string>{"laptop"});
  EXPECT_EQ(c.deadline_s, 90.0);
  EXPECT_EQ(c.target_accuracy, 0.9);
  EXPECT_FALSE(c.tls);
  EXPECT_EQ(c.certificate, "certs/a.pem");
  EXPECT_EQ(c.key, "certs/a.key");
  EXPECT_EQ(c.cafile, "certs/ca.pem");
  EXPECT_EQ(c.heartbeat_ms, 250);
  EXPECT_EQ(c.connection_timeout_ms, 3000);
  EXPECT_EQ(c.join_timeout_ms, 9000);
  EXPECT_FALSE(c.data_plane);
  EXPECT_EQ(c.data_plane_min_bytes, 4096);
  // Client 2 is a phone until edge round 5, a laptop from then on; devices in SI units.
  EXPECT_EQ(c.client_device(2, 4).name, "phone");
  EXPECT_EQ(c.client_device(2, 5).name, "laptop");
  EXPECT_EQ(c.client_device(1, 0).name, "laptop");
  EXPECT_DOUBLE_EQ(c.client_device(0, 0).flops_per_s, 2.5e9);
  EXPECT_DOUBLE_EQ(c.client_device(0, 0).memory_bytes, 300e6);
  EXPECT_DOUBLE_EQ(c.client_device(0, 0).up_bytes_per_s, 5e6 / 8);
  EXPECT_DOUBLE_EQ(c.client_device(0, 0).down_bytes_per_s, 20e6 / 8);
  EXPECT_DOUBLE_EQ(c.client_device(0, 0).latency_s, 0.030);
  EXPECT_DOUBLE_EQ(c.edge_flops(2), 300e9);
  EXPECT_FALSE(c.trust_weighting);
  EXPECT_EQ(c.activations, "bf16");
  EXPECT_EQ(c.adapters, "sketch");
  EXPECT_EQ(c.sketch_rows, 3);
  EXPECT_EQ(c.sketch_cols, 999);
  EXPECT_EQ(c.sketch_k, 77);
  EXPECT_EQ(c.sketch_decode, "top_k");
  EXPECT_DOUBLE_EQ(c.sketch_gain, 1.5);
  EXPECT_TRUE(c.ssop);
  EXPECT_EQ(c.ssop_k, 5);
  EXPECT_DOUBLE_EQ(c.ssop_sigma, 0.25);
  EXPECT_EQ(c.capture, 3);
  EXPECT_EQ(c.round_deadline_ms, 5000);
  EXPECT_EQ(c.step_deadline_ms, 2000);
  EXPECT_EQ(c.quorum, 1.0);
  EXPECT_EQ(c.stragglers_policy(), er::straggler_policy::staleness);
  EXPECT_EQ(c.staleness_decay, 0.25);
  EXPECT_EQ(c.down_after_missed, 3);
  EXPECT_EQ(c.stragglers, (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(c.straggler_delay_ms, 700);
  EXPECT_EQ(c.dropouts, std::vector<int64_t>{2});
  EXPECT_EQ(c.dropout_round, 4);
  EXPECT_EQ(c.dropout_step, 3);
  EXPECT_EQ(c.dropouts_mode(), er::dropout_mode::silent);
  EXPECT_EQ(c.edge_failures, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(c.edge_failure_round, 6);
  EXPECT_EQ(c.malformed_to, (std::vector<std::string>{"edge", "cloud"}));
  EXPECT_EQ(c.out_dir, "runs/everything");
  EXPECT_FALSE(c.progress);
  EXPECT_FALSE(c.save_adapters);
  EXPECT_NO_THROW(er::validate(c));
}

// -- to_toml --

TEST(RunConfig, ToTomlReadsBackToTheSameConfig) {
  const auto p0 = write_toml("everything", k_everything_changed);
  const er::run_config changed = er::read_run_config(p0);
  fs::remove(p0);
  er::run_config odd; // values whose text is easy to get wrong
  odd.lr = 0.1 + 0.2;
  odd.grad_clip = 1e6;
  odd.dirichlet_alpha = 1e-300;
  odd.seed = 9'223'372'036'854'775'807ull;
  odd.out_dir = "runs/tab\there/back\\slash";
  for (const auto& cfg : {er::run_config{}, changed, odd}) {
    const auto text = er::to_toml(cfg);
    const auto p = write_toml("roundtrip", text);
    const auto back = er::read_run_config(p);
    fs::remove(p);
    expect_same(back, cfg);
    EXPECT_EQ(er::to_toml(back), text);
  }
}

TEST(RunConfig, ToTomlWritesFloatsAsFloats) {
  const auto text = er::to_toml(er::run_config{});
  EXPECT_TRUE(contains(text, "\nquorum = 0.5\n")) << text;
  EXPECT_TRUE(contains(text, "\ngrad_clip = 1.0\n")) << text;
  EXPECT_TRUE(contains(text, "\nlora_alpha = 16.0\n")) << text;
  EXPECT_TRUE(contains(text, "\nlr = 0.002\n")) << text;
  EXPECT_TRUE(contains(text, "\nstragglers = []\n")) << text;
  EXPECT_TRUE(contains(text, "\n[output]\ndir = \"runs/run\"\n")) << text;
}

// -- errors from files: each names the file, the [section] key, the value and what is allowed --

TEST(RunConfigErrors, UnknownKeyAndSection) {
  auto f = read_error("[topology]\nclient = 4\n");
  EXPECT_EQ(f.code, elsa::errc::invalid_argument);
  EXPECT_TRUE(contains(f.what, "[topology] client is not a known key")) << f.what;
  EXPECT_TRUE(contains(f.what, "elsa_run_test_bad_")) << f.what; // the file
  f = read_error("[topologie]\nclients = 4\n");
  EXPECT_TRUE(contains(f.what, "unknown section or key 'topologie'")) << f.what;
  EXPECT_TRUE(contains(f.what, "[topology]")) << f.what;
  f = read_error("clients = 4\n");
  EXPECT_TRUE(contains(f.what, "'clients'")) << f.what;
  // The struct's field names are not TOML keys where the TOML name differs.
  f = read_error("[faults]\nstraggler_policy_name = \"drop\"\n");
  EXPECT_TRUE(contains(f.what, "[faults] straggler_policy_name is not a known key")) << f.what;
  f = read_error("[output]\nout_dir = \"x\"\n");
  EXPECT_TRUE(contains(f.what, "[output] out_dir is not a known key")) << f.what;
}

TEST(RunConfigErrors, WrongType) {
  auto f = read_error("[topology]\nclients = \"eight\"\n");
  EXPECT_EQ(f.code, elsa::errc::invalid_argument);
  EXPECT_TRUE(contains(f.what, "[topology] clients must be an integer in 1..4096")) << f.what;
  f = read_error("[topology]\nclients = 8.0\n");
  EXPECT_TRUE(contains(f.what, "[topology] clients must be an integer")) << f.what;
  f = read_error("[faults]\nstragglers = 3\n");
  EXPECT_TRUE(contains(f.what, "[faults] stragglers must be a list of integers")) << f.what;
  f = read_error("[run]\ndeterministic = 1\n");
  EXPECT_TRUE(contains(f.what, "[run] deterministic must be true or false")) << f.what;
  f = read_error("topology = 3\n");
  EXPECT_TRUE(contains(f.what, "[topology] must be a table")) << f.what;
}

TEST(RunConfigErrors, OutOfRange) {
  auto f = read_error("[topology]\nclients = 5000\n");
  EXPECT_EQ(f.code, elsa::errc::invalid_argument);
  EXPECT_TRUE(contains(f.what, "[topology] clients = 5000 is out of range; allowed 1..4096")) << f.what;
  f = read_error("[faults]\nquorum = 0\n");
  EXPECT_TRUE(contains(f.what, "[faults] quorum = 0 is out of range; allowed (0, 1]")) << f.what;
  f = read_error("[faults]\nstaleness_decay = 1.5\n");
  EXPECT_TRUE(contains(f.what, "[faults] staleness_decay = 1.5 is out of range; allowed [0, 1]")) << f.what;
  f = read_error("[model]\nlora_rank = 512\n");
  EXPECT_TRUE(contains(f.what, "[model] lora_rank = 512 is out of range; allowed 1..256")) << f.what;
  f = read_error("[faults]\nround_deadline_ms = 0\n");
  EXPECT_TRUE(contains(f.what, "[faults] round_deadline_ms = 0 is out of range; allowed 1..86400000"))
    << f.what;
  f = read_error("[split]\nhead_blocks = 0\n");
  EXPECT_TRUE(contains(f.what, "[split] head_blocks = 0 is out of range")) << f.what;
  f = read_error("[topology]\nclients = 4\nedges = 5\n");
  EXPECT_TRUE(contains(f.what, "[topology] edges = 5 exceeds clients = 4")) << f.what;
  f = read_error("[topology]\nclients = 4\nedges = 2\nclients_per_round = 5\n");
  EXPECT_TRUE(contains(f.what, "[topology] clients_per_round = 5 exceeds clients = 4")) << f.what;
  f = read_error("[topology]\nclients_per_round = 2\n[elsa]\nclustering = \"behaviour\"\n");
  EXPECT_TRUE(contains(f.what, "[elsa] clustering = \"behaviour\" with client sampling ([topology] "
                                "clients_per_round or clients_fraction) is not supported yet")) << f.what;
  f = read_error("[topology]\nclients_per_round = 2\nclients_fraction = 0.5\n");
  EXPECT_TRUE(contains(f.what, "[topology] clients_fraction = 0.5 and clients_per_round = 2 both say how many "
                                "clients take part")) << f.what;
  f = read_error("[topology]\nclients_fraction = 1.5\n");
  EXPECT_TRUE(contains(f.what, "[topology] clients_fraction = 1.5 is out of range")) << f.what;
}

TEST(RunConfigErrors, RoundsMustBeAMultipleOfKappa2) {
  const auto f = read_error("[topology]\nrounds = 7\nkappa2 = 2\n");
  EXPECT_EQ(f.code, elsa::errc::invalid_argument);
  EXPECT_TRUE(contains(f.what, "[topology] rounds = 7 is not a multiple of kappa2 = 2")) << f.what;
}

TEST(RunConfigErrors, TasksAndPartition) {
  auto f = read_error("[data]\ntasks = [\"spam\", \"sentiment\"]\npartition = \"by_task\"\n");
  EXPECT_TRUE(contains(f.what, "[data] tasks = \"sentiment\" is not one of spam, party, genre, supersense or "
                              "\"file:PATH\" (a JSONL or CSV file of your own)"))
    << f.what;
  // Local task files: .jsonl or .csv, named after a stem of plain characters, one task per name.
  f = read_error("[data]\ntasks = [\"file:my/notes.txt\"]\n");
  EXPECT_TRUE(contains(f.what, "[data] tasks = \"file:my/notes.txt\": a task file ends in .jsonl or .csv")) << f.what;
  f = read_error("[data]\ntasks = [\"file:my reviews.csv\"]\n");
  EXPECT_TRUE(contains(f.what, "the task is named after the file ('my reviews'), so the name before the extension "
                               "must be 1 to 64 letters, digits, '_' or '-'"))
    << f.what;
  f = read_error("[data]\ntasks = [\"file:a/spam.csv\", \"spam\"]\npartition = \"by_task\"\n");
  EXPECT_TRUE(contains(f.what, "[data] tasks lists \"spam\" twice")) << f.what;
  f = read_error("[data]\ntasks = [\"file:a/x.csv\", \"file:b/x.jsonl\"]\npartition = \"by_task\"\n");
  EXPECT_TRUE(contains(f.what, "[data] tasks lists \"x\" twice")) << f.what;
  f = read_error("[data]\ntasks = []\n");
  EXPECT_TRUE(contains(f.what, "[data] tasks is empty")) << f.what;
  f = read_error("[data]\ntasks = [\"spam\", \"spam\"]\npartition = \"by_task\"\n");
  EXPECT_TRUE(contains(f.what, "[data] tasks lists \"spam\" twice")) << f.what;
  f = read_error("[data]\ntasks = [\"spam\", \"party\"]\n");
  EXPECT_TRUE(contains(f.what, "[data] tasks = [\"spam\", \"party\"] needs partition = \"by_task\""))
    << f.what;
  f = read_error("[data]\ntasks = [\"spam\", \"party\", \"genre\"]\npartition = \"by_task\"\n"
                 "[topology]\nclients = 2\nedges = 1\n");
  EXPECT_TRUE(contains(f.what, "[topology] clients = 2 is fewer than the 3 tasks")) << f.what;
  f = read_error("[data]\npartition = \"random\"\n");
  EXPECT_TRUE(contains(f.what, "[data] partition = \"random\" is not one of iid, dirichlet, by_task"))
    << f.what;
}

TEST(RunConfigErrors, LoraTargets) {
  auto f = read_error("[model]\nlora_targets = [\"q_proj\"]\n");
  EXPECT_TRUE(contains(f.what,
                       "[model] lora_targets[0] = \"q_proj\" is not one of c_attn, attn.c_proj, c_fc, "
                       "mlp.c_proj"))
    << f.what;
  f = read_error("[model]\nlora_targets = []\n");
  EXPECT_TRUE(contains(f.what, "[model] lora_targets is empty")) << f.what;
}

TEST(RunConfigErrors, FaultIds) {
  // Client ids are below [topology] clients, wherever the sections stand in the file.
  auto f = read_error("[faults]\nstragglers = [1, 4]\n[topology]\nclients = 4\nedges = 2\n");
  EXPECT_TRUE(contains(f.what, "[faults] stragglers[1] = 4 is out of range; allowed 0..3")) << f.what;
  f = read_error("[faults]\ndropouts = [-1]\n");
  EXPECT_TRUE(contains(f.what, "[faults] dropouts[0] = -1 is out of range; allowed 0..7")) << f.what;
  f = read_error("[faults]\nedge_failures = [2]\n");
  EXPECT_TRUE(contains(f.what, "[faults] edge_failures[0] = 2 is out of range; allowed 0..1")) << f.what;
  f = read_error("[faults]\nedge_failures = [0, 1]\n");
  EXPECT_TRUE(contains(f.what, "[faults] edge_failures fails all 2 edges")) << f.what;
  f = read_error("[faults]\ndropout_round = 10\n");
  EXPECT_TRUE(contains(f.what, "[faults] dropout_round = 10 is out of range; allowed 0..9")) << f.what;
  f = read_error("[faults]\nstragglers = [3, 3]\n");
  EXPECT_TRUE(contains(f.what, "[faults] stragglers lists 3 twice")) << f.what;
}

TEST(RunConfigErrors, MalformedToAndPolicies) {
  auto f = read_error("[faults]\nmalformed_to = [\"edge\", \"server\"]\n");
  EXPECT_TRUE(contains(f.what,
                       "[faults] malformed_to[1] = \"server\" is not one of client, edge, coordinator, "
                       "cloud"))
    << f.what;
  f = read_error("[faults]\nstraggler_policy = \"wait\"\n");
  EXPECT_TRUE(contains(f.what, "[faults] straggler_policy = \"wait\" is not one of drop, staleness"))
    << f.what;
  f = read_error("[faults]\ndropout_mode = \"loud\"\n");
  EXPECT_TRUE(contains(f.what, "[faults] dropout_mode = \"loud\" is not one of crash, silent")) << f.what;
  f = read_error("[faults]\ndropouts = [1]\nsilent_dropouts = [1]\n");
  EXPECT_TRUE(contains(f.what, "[faults] silent_dropouts")) << f.what;
  EXPECT_TRUE(contains(f.what, "client 1 is also in dropouts")) << f.what;
  f = read_error("[topology]\nkappa1 = 4\n[faults]\ndropout_step = 4\n");
  EXPECT_TRUE(contains(f.what, "[faults] dropout_step")) << f.what;
}

TEST(RunConfigErrors, LatencyPlacementKeys) {
  // latency_ms is a clients x edges matrix, row-major; every entry is checked, then its length.
  auto f = read_error("[topology]\nclients = 2\nedges = 2\nrounds = 2\nkappa2 = 2\n"
                      "[elsa]\nlatency_ms = [1.0, 2.0, -3.0, 4.0]\n");
  EXPECT_EQ(f.code, elsa::errc::invalid_argument);
  EXPECT_TRUE(contains(f.what, "[elsa] latency_ms[2] = -3 is out of range")) << f.what;
  f = read_error("[topology]\nclients = 2\nedges = 2\nrounds = 2\nkappa2 = 2\n"
                 "[elsa]\nlatency_ms = [1.0, 2.0, 3.0]\n");
  EXPECT_TRUE(contains(f.what, "[elsa] latency_ms has 3 entries; it needs clients x edges = 2 x 2 = 4")) << f.what;
  f = read_error("[elsa]\nlatency_ms = [1.0, \"far\"]\n");
  EXPECT_TRUE(contains(f.what, "[elsa] latency_ms")) << f.what;
  f = read_error("[elsa]\nassignment = \"nearest\"\n");
  EXPECT_TRUE(contains(f.what, "[elsa] assignment = \"nearest\" is not one of round_robin, latency")) << f.what;
  f = read_error("[elsa]\nedge_capacity = 3\n");  // 3 x 2 edges < 8 clients
  EXPECT_TRUE(contains(f.what, "[elsa] edge_capacity = 3 x edges = 2 holds fewer than the 8 clients")) << f.what;
  f = read_error("[compress]\nactivations = \"fp8\"\n");
  EXPECT_TRUE(contains(f.what, "[compress] activations = \"fp8\" is not one of fp32, fp16, bf16")) << f.what;
  f = read_error("[compress]\nsketch_decode = \"median\"\n");
  EXPECT_TRUE(contains(f.what, "[compress] sketch_decode = \"median\" is not one of linear, top_k")) << f.what;
  f = read_error("[compress]\nsketch_gain = 0.0\n");
  EXPECT_TRUE(contains(f.what, "[compress] sketch_gain")) << f.what;
  f = read_error("[privacy]\nssop_sigma = -1.0\n");
  EXPECT_TRUE(contains(f.what, "[privacy] ssop_sigma")) << f.what;
  f = read_error("[elsa]\nlatency_min_ms = 20.0\nlatency_max_ms = 10.0\n");
  EXPECT_TRUE(contains(f.what, "[elsa] latency_max_ms = 10 is below latency_min_ms = 20")) << f.what;
  // A right-sized matrix reads back as given.
  const auto p = write_toml("latency", "[topology]\nclients = 2\nedges = 2\nrounds = 2\nkappa2 = 2\n"
                                       "[elsa]\nassignment = \"latency\"\nlatency_ms = [1.0, 2.5, 3.0, 4.0]\n");
  const auto cfg = er::read_run_config(p);
  fs::remove(p);
  EXPECT_EQ(cfg.assignment, "latency");
  EXPECT_EQ(cfg.latency_ms, (std::vector<double>{1.0, 2.5, 3.0, 4.0}));
}

TEST(RunConfigErrors, MissingFileAndBadToml) {
  try {
    er::read_run_config("/nonexistent/run.toml");
    ADD_FAILURE();
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), elsa::errc::file_not_found);
    EXPECT_TRUE(contains(e.what(), "/nonexistent/run.toml")) << e.what();
  }
  const auto f = read_error("[run]\nseed = 1\n[topology\nclients = 3\n");
  EXPECT_EQ(f.code, elsa::errc::malformed_input);
  EXPECT_TRUE(contains(f.what, "_bad_")) << f.what;
  EXPECT_TRUE(contains(f.what, ":3: not valid TOML")) << f.what;
}

// -- command-line overrides: set over the file, checked with it, named in the messages --

failure read_error_with(const std::string& text, const std::vector<er::key_override>& overrides) {
  const auto p = write_toml("override", text);
  failure f;
  try {
    er::read_run_config(p, overrides);
  } catch (const elsa::error& e) {
    f = {e.code(), e.what()};
  }
  fs::remove(p);
  return f;
}

TEST(RunConfigOverrides, AreCheckedWithTheFileAndNameTheOption) {
  // A bad override is named by the option, not the file.
  auto f = read_error_with("", {{"--rounds 1", "topology", "rounds", int64_t{1}}});
  EXPECT_EQ(f.code, elsa::errc::invalid_argument);
  EXPECT_EQ(
    f.what,
    "--rounds 1: [topology] rounds = 1 is not a multiple of kappa2 = 2 (edge rounds per cloud round)");
  f = read_error_with("", {{"--rounds 0", "topology", "rounds", int64_t{0}}});
  EXPECT_EQ(f.what, "--rounds 0: [topology] rounds = 0 is out of range; allowed 1..1000000");
  f = read_error_with("", {{"--rounds -5", "topology", "rounds", int64_t{-5}}});
  EXPECT_EQ(f.what, "--rounds -5: [topology] rounds = -5 is out of range; allowed 1..1000000");
  f = read_error_with("", {{"--out ", "output", "dir", std::string{}}});
  EXPECT_EQ(f.what, "--out : [output] dir = \"\" must name a folder");
  // A key of the file made wrong by an override names the file and the option.
  f = read_error_with("[faults]\ndropout_round = 5\n", {{"--rounds 4", "topology", "rounds", int64_t{4}}});
  EXPECT_TRUE(contains(f.what, "_override_")) << f.what;
  EXPECT_TRUE(
    contains(f.what, ": [faults] dropout_round = 5 is out of range; allowed 0..3 (with --rounds 4)"))
    << f.what;
  // The file's own mistakes still name the file (and no option, when none was given).
  f = read_error_with("[topology]\nkappa1 = 0\n", {});
  EXPECT_TRUE(contains(f.what, "_override_")) << f.what;
  EXPECT_FALSE(contains(f.what, "with")) << f.what;
}

TEST(RunConfigOverrides, AnOverrideCanFixTheFile) {
  const auto p = write_toml("fixable", "[topology]\nrounds = 7\n[run]\ndeterministic = false\n");
  EXPECT_THROW(er::read_run_config(p), elsa::error);
  const auto cfg = er::read_run_config(p, {{"--rounds 4", "topology", "rounds", int64_t{4}},
                                           {"--deterministic", "run", "deterministic", true},
                                           {"--out runs/x", "output", "dir", std::string{"runs/x"}},
                                           {"--quiet", "output", "progress", false}});
  fs::remove(p);
  EXPECT_EQ(cfg.rounds, 4);
  EXPECT_TRUE(cfg.deterministic);
  EXPECT_EQ(cfg.out_dir, fs::path("runs/x"));
  EXPECT_FALSE(cfg.progress);
}

TEST(RunConfigErrors, AFolderIsNoConfig) {
  const auto dir = fs::temp_directory_path() / ("elsa_run_test_folder_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  try {
    er::read_run_config(dir);
    ADD_FAILURE() << "a folder read as a config";
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), elsa::errc::invalid_argument);
    EXPECT_EQ(std::string(e.what()),
              dir.string() + ": is a folder, not a config file; name the TOML file itself");
  }
  fs::remove_all(dir);
}

// -- validate(): values set in code get the file reader's messages --

TEST(RunConfigValidate, NamesTheKeyAndWhatIsAllowed) {
  er::run_config c;
  c.kappa2 = 3;
  EXPECT_EQ(validate_error(c),
            "[topology] rounds = 10 is not a multiple of kappa2 = 3 (edge rounds per cloud round)");
  c = {};
  c.clients = 0;
  EXPECT_EQ(validate_error(c), "[topology] clients = 0 is out of range; allowed 1..4096");
  c = {};
  c.edges = 300;
  c.clients = 400;
  EXPECT_EQ(validate_error(c), "[topology] edges = 300 is out of range; allowed 1..256");
  c = {};
  c.lr = 0.0;
  EXPECT_EQ(validate_error(c), "[train] lr = 0 is out of range; allowed (0, 1]");
  c = {};
  c.tasks = {"spam", "party"};
  EXPECT_TRUE(
    contains(validate_error(c), "[data] tasks = [\"spam\", \"party\"] needs partition = \"by_task\""));
  c.partition = "by_task";
  EXPECT_EQ(validate_error(c), "");
  c = {};
  c.dropouts = {8};
  EXPECT_EQ(validate_error(c), "[faults] dropouts[0] = 8 is out of range; allowed 0..7");
  c = {};
  c.malformed_to = {"cloud", "cloud"};
  EXPECT_EQ(validate_error(c), "[faults] malformed_to lists \"cloud\" twice");
  c = {};
  c.lora.targets = {"c_attn", "lm_head"};
  EXPECT_EQ(validate_error(c),
            "[model] lora_targets[1] = \"lm_head\" is not one of c_attn, attn.c_proj, c_fc, mlp.c_proj");
  c = {};
  c.out_dir = "";
  EXPECT_EQ(validate_error(c), "[output] dir = \"\" must name a folder");
  c = {};
  c.seed = ~0ull;
  EXPECT_TRUE(contains(validate_error(c), "[run] seed = 18446744073709551615 is out of range"));
  c = {};
  c.straggler_policy_name = "later";
  EXPECT_THROW(c.stragglers_policy(), elsa::error);
  EXPECT_EQ(validate_error(c), "[faults] straggler_policy = \"later\" is not one of drop, staleness");
}

TEST(RunConfig, ByzantineClientsAreTheListOrADrawBySeed) {
  er::run_config cfg;
  cfg.clients = 16;
  cfg.byzantine = {5, 2};
  EXPECT_EQ(cfg.byzantine_clients(), (std::vector<uint32_t>{2, 5}));
  cfg.byzantine.clear();
  cfg.byzantine_fraction = 0.25;
  const auto drawn = cfg.byzantine_clients();
  ASSERT_EQ(drawn.size(), 4u);
  EXPECT_EQ(cfg.byzantine_clients(), drawn) << "the same seed draws the same clients";
  for (auto id : drawn)
    EXPECT_LT(id, 16u);
  EXPECT_TRUE(std::adjacent_find(drawn.begin(), drawn.end()) == drawn.end());
  cfg.seed += 1;
  EXPECT_NE(cfg.byzantine_clients(), drawn) << "another seed draws others";
  cfg.byzantine = {1};
  EXPECT_THROW(er::validate(cfg), elsa::error) << "the list and the fraction together";
}

TEST(RunConfig, FingerprintRoundsEndEveryNthCloudRoundUnderBehaviourClustering) {
  er::run_config cfg;
  cfg.rounds = 12;
  cfg.kappa2 = 2;
  cfg.recluster_every = 2;
  EXPECT_FALSE(cfg.fingerprint_round(3)) << "clustering = task fingerprints nothing";
  cfg.clustering = "behaviour";
  std::vector<int64_t> rounds;
  for (int64_t r = 0; r < cfg.rounds; ++r)
    if (cfg.fingerprint_round(r))
      rounds.push_back(r);
  EXPECT_EQ(rounds, (std::vector<int64_t>{1, 5, 9})) << "cloud rounds 1, 3 and 5";
  cfg.recluster_every = 1000;
  EXPECT_TRUE(cfg.fingerprint_round(1));
  EXPECT_FALSE(cfg.fingerprint_round(3)) << "a large recluster_every clusters once";
}

TEST(RunConfig, DeviceClassesByFractionAreASeededDrawOfExactCounts) {
  er::run_config c;
  c.clients = 10;
  c.class_names = {"a", "b", "c"};
  c.class_gflops = {1, 2, 3};
  c.class_memory_mb = {1, 1, 1};
  c.class_up_mbps = c.class_down_mbps = c.class_latency_ms = {1, 1, 1};
  c.class_fractions = {0.25, 0.5, 0.25};
  ASSERT_NO_THROW(er::validate(c));
  std::vector<std::size_t> counts(3), first;
  for (uint32_t i = 0; i < 10; ++i) {
    ++counts[c.client_class(i, 0)];
    first.push_back(c.client_class(i, 0));
  }
  // 2.5 / 5 / 2.5 rounded by largest remainder (ties to the first classes): 3, 5, 2.
  EXPECT_EQ(counts, (std::vector<std::size_t>{3, 5, 2}));
  std::vector<std::size_t> again, other;
  for (uint32_t i = 0; i < 10; ++i)
    again.push_back(c.client_class(i, 0));
  EXPECT_EQ(again, first);
  c.seed += 1;
  for (uint32_t i = 0; i < 10; ++i)
    other.push_back(c.client_class(i, 0));
  EXPECT_NE(other, first);  // another seed, another draw (of the same counts)
  c.class_fractions.clear();
  for (uint32_t i = 0; i < 10; ++i)
    EXPECT_EQ(c.client_class(i, 3), 0u);  // neither list: all the first class
}

TEST(RunConfigErrors, ProfilesKeys) {
  auto bad = [](const std::string& profiles) {
    return read_error("[topology]\nclients = 4\nedges = 2\n[profiles]\nclass_names = [\"a\", \"b\"]\n"
                      "class_gflops = [1, 2]\nclass_memory_mb = [1, 2]\nclass_up_mbps = [1, 2]\n"
                      "class_down_mbps = [1, 2]\nclass_latency_ms = [1, 2]\n" + profiles).what;
  };
  EXPECT_EQ(bad(""), "");
  EXPECT_TRUE(contains(bad("edge_gflops = [1, 2, 3]"), "[profiles] edge_gflops has 3 entries")) << bad("edge_gflops = [1, 2, 3]");
  EXPECT_TRUE(contains(bad("client_classes = [\"a\"]"), "[profiles] client_classes has 1 entries; it needs one class name per client (4)"));
  EXPECT_TRUE(contains(bad("client_classes = [\"a\", \"b\", \"c\", \"a\"]"), "client_classes[2]"));
  EXPECT_TRUE(contains(bad("class_fractions = [0.5, 0.6]"), "[profiles] class_fractions sums to 1.1"));
  EXPECT_TRUE(contains(bad("class_fractions = [1.0]"), "class_fractions has 1 entries"));
  EXPECT_TRUE(contains(bad("change_clients = [1]\nchange_rounds = [2]"), "[profiles] change_classes has 0 entries"));
  EXPECT_TRUE(contains(bad("change_clients = [4]\nchange_rounds = [2]\nchange_classes = [\"a\"]"), "change_clients"));
  EXPECT_TRUE(contains(read_error("[profiles]\nclass_gflops = [1, 2]").what, "[profiles] class_gflops has 2 entries; it needs one per class"));
  EXPECT_TRUE(contains(read_error("[profiles]\nclass_gflops = [0.0]").what, "class_gflops"));
  EXPECT_TRUE(contains(read_error("[split]\nmode = \"adaptive\"").what, "[split] mode"));
  EXPECT_TRUE(contains(read_error("[output]\ntarget_accuracy = 1.5").what, "[output] target_accuracy"));
  EXPECT_TRUE(contains(read_error("[network]\ncertificate = \"a.pem\"").what,
                       "[network] cafile is one of certificate, key and cafile: give all three or none"));
  EXPECT_TRUE(contains(read_error("[network]\nheartbeat_ms = 5000\nconnection_timeout_ms = 4000").what,
                       "[network] connection_timeout_ms must be longer than heartbeat_ms (5000)"));
}

TEST(RunConfig, TheShippedMechanismConfigsAreValid) {
  for (const char* name : {"quickstart", "clustering", "clustering_skew", "byzantine", "latency", "compressed", "ssop",
                           "heterogeneous", "network_faults", "soak"}) {
    const auto cfg = er::read_run_config(elsa::testing::source_dir() / "configs" / (std::string(name) + ".toml"));
    EXPECT_NO_THROW(er::validate(cfg)) << name;
  }
  const auto c = er::read_run_config(elsa::testing::source_dir() / "configs/clustering.toml");
  EXPECT_EQ(c.clustering, "behaviour");
  EXPECT_EQ(c.clients, 16);
  EXPECT_EQ(c.tasks.size(), 4u);
  const auto b = er::read_run_config(elsa::testing::source_dir() / "configs/byzantine.toml");
  EXPECT_EQ(b.byzantine_clients().size(), 4u);
  // The soak run of docs/faults.md: 20 edge rounds, 20% loss, 1% damage, an edge cut off for two rounds.
  const auto soak = er::read_run_config(elsa::testing::source_dir() / "configs/soak.toml");
  EXPECT_EQ(soak.rounds, 20);
  EXPECT_DOUBLE_EQ(soak.net_drop, 0.2);
  EXPECT_DOUBLE_EQ(soak.net_corrupt, 0.01);
  EXPECT_EQ(soak.partition_rounds, 2);
  EXPECT_FALSE(soak.deterministic);
}

TEST(RunConfigErrors, ALayoutOtherThanTheUShapeRefusesWhatNeedsIt) {
  auto f = read_error("[split]\nlayout = \"y_shaped\"\n");
  EXPECT_TRUE(contains(f.what, "[split] layout = \"y_shaped\" is not one of u_shaped, whole_model, two_part")) << f.what;
  f = read_error("[split]\nlayout = \"whole_model\"\nmode = \"dynamic\"\n");
  EXPECT_TRUE(contains(f.what, "[split] mode = \"dynamic\"")) << f.what;
  EXPECT_TRUE(contains(f.what, "needs [split] layout = \"u_shaped\" (this run's is \"whole_model\")")) << f.what;
  f = read_error("[split]\nlayout = \"two_part\"\n[elsa]\nclustering = \"behaviour\"\n");
  EXPECT_TRUE(contains(f.what, "[elsa] clustering = \"behaviour\"")) << f.what;
  EXPECT_TRUE(contains(f.what, "(this run's is \"two_part\")")) << f.what;
  f = read_error("[split]\nlayout = \"two_part\"\n[compress]\nadapters = \"sketch\"\n");
  EXPECT_TRUE(contains(f.what, "[compress] adapters = \"sketch\" needs [split] layout = \"u_shaped\"")) << f.what;
  f = read_error("[split]\nlayout = \"whole_model\"\n[privacy]\nssop = true\n");
  EXPECT_TRUE(contains(f.what, "[privacy] ssop = true with [split] layout = \"whole_model\"")) << f.what;
  f = read_error("[split]\nlayout = \"whole_model\"\n[privacy]\ncapture = 2\n");
  EXPECT_TRUE(contains(f.what, "[privacy] capture > 0 with [split] layout = \"whole_model\"")) << f.what;
  // A two-part split takes SS-OP and a capture (its activations do cross), and has no tail.
  const auto p = write_toml("two_part", "[split]\nlayout = \"two_part\"\ntail_blocks = 2\n[privacy]\nssop = true\ncapture = 2\n");
  const auto cfg = er::read_run_config(p);
  fs::remove(p);
  EXPECT_TRUE(cfg.two_part());
  EXPECT_EQ(cfg.client_tail_blocks(), 0);
  EXPECT_EQ(cfg.tail_blocks, 2);
}
