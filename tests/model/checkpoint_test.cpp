// safetensors and model-directory round trips, HF-layout loading, validation of bad files, and the
// LoRA adapter save / load / merge / unmerge round trip.
#include "core/model/model_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "core/errors.hpp"

namespace em = elsa::model;
namespace fs = std::filesystem;

namespace {

em::gpt2_config small() {
  em::gpt2_config c;
  c.vocab_size = 40;
  c.n_positions = 10;
  c.n_embd = 16;
  c.n_layer = 2;
  c.n_head = 2;
  return c;
}

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("elsa_model_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string u64le(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

std::string with_header(const std::string& header, size_t data_bytes) {
  return u64le(header.size()) + header + std::string(data_bytes, '\0');
}

void expect_malformed(const std::string& bytes, const std::string& needle) {
  try {
    em::parse_safetensors(bytes, "x.safetensors");
    ADD_FAILURE() << "accepted a bad file (expected: " << needle << ")";
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), elsa::errc::malformed_input);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x.safetensors"), std::string::npos) << e.what();
  }
}

torch::Tensor ids() {
  return torch::tensor({{3, 1, 4, 1, 5, 9, 2, 6}, {2, 7, 1, 8, 2, 8, 1, 8}}, torch::kLong);
}

} // namespace

TEST(Safetensors, RoundTripIsExactForAllDtypes) {
  torch::manual_seed(1);
  em::tensor_map t;
  t["a"] = torch::randn({3, 5});
  t["b.half"] = torch::randn({7}).to(torch::kFloat16);
  t["c.bf16"] = torch::randn({2, 2, 2}).to(torch::kBFloat16);
  t["scalar"] = torch::tensor(3.5f).reshape({});
  t["empty"] = torch::zeros({0, 4});
  const auto bytes = em::serialize_safetensors(t, {{"format", "pt"}});
  const uint64_t header_len = *reinterpret_cast<const uint64_t*>(bytes.data());
  EXPECT_EQ((8 + header_len) % 8, 0u); // the data area starts 8-byte aligned
  const auto back = em::parse_safetensors(bytes, "mem");
  ASSERT_EQ(back.tensors.size(), t.size());
  EXPECT_EQ(back.metadata.at("format"), "pt");
  for (const auto& [k, v] : t) {
    const auto& w = back.tensors.at(k);
    EXPECT_EQ(w.scalar_type(), v.scalar_type()) << k;
    EXPECT_EQ(w.sizes(), v.sizes()) << k;
    EXPECT_TRUE(torch::equal(w, v)) << k;
  }
}

TEST(Safetensors, HeaderMatchesTheSpecByteForByte) {
  // Independent of our writer: a hand-built file with one F32 tensor [2] = {1.0, -2.0}.
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string bytes = u64le(header.size()) + header;
  const float vals[2] = {1.0f, -2.0f};
  bytes.append(reinterpret_cast<const char*>(vals), 8);
  const auto back = em::parse_safetensors(bytes, "hand");
  EXPECT_FLOAT_EQ(back.tensors.at("w")[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(back.tensors.at("w")[1].item<float>(), -2.0f);
}

TEST(Safetensors, RejectsBadFilesWithClearMessages) {
  expect_malformed("abc", "shorter than");
  expect_malformed(u64le(1000) + "{}", "header length");
  expect_malformed(with_header("{not json", 0), "not JSON");
  expect_malformed(with_header(R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8), "F32, F16, BF16");
  expect_malformed(with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 12");
  expect_malformed(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4), "outside");
  expect_malformed(with_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "negative");
  expect_malformed(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), "outside");
  expect_malformed(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                               12),
                   "overlaps");
  expect_malformed(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "hole");
  expect_malformed(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8), "trailing");
  expect_malformed(with_header(R"({"a":{"dtype":"F32","shape":[1]}})", 4), "lacks");
  EXPECT_THROW(em::read_safetensors("/nonexistent/model.safetensors"), elsa::error);
}

TEST(ModelDir, SaveLoadRoundTripIsExact) {
  torch::manual_seed(2);
  em::GPT2 m(small());
  const auto dir = temp_dir("roundtrip");
  em::save_model(dir, m, 39);
  auto back = em::load_model(dir);
  const auto a = em::base_state(m), b = em::base_state(back);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, v] : a)
    EXPECT_TRUE(torch::equal(v, b.at(k))) << k;
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(m->forward(ids()), back->forward(ids())));
  EXPECT_EQ(back->config().n_layer, 2);
  fs::remove_all(dir);
}

TEST(ModelDir, HuggingFaceLayoutLoadsWithSameLogits) {
  // What GPT2LMHeadModel.save_pretrained writes: `transformer.` prefixes, the causal-mask buffers and the tied
  // lm_head; weights in F16 should load too (converted to float32).
  torch::manual_seed(3);
  em::GPT2 m(small());
  em::tensor_map hf;
  for (const auto& [k, v] : em::base_state(m))
    hf["transformer." + k] = v;
  for (int i = 0; i < 2; ++i) {
    hf["transformer.h." + std::to_string(i) + ".attn.bias"] = torch::ones({1, 1, 10, 10}).tril();
    hf["transformer.h." + std::to_string(i) + ".attn.masked_bias"] = torch::tensor(-1e4f);
  }
  hf["lm_head.weight"] = m->wte->weight.detach();
  // Shapes are HF's Conv1D layout.
  EXPECT_EQ(hf.at("transformer.h.0.attn.c_attn.weight").sizes(), (std::vector<int64_t>{16, 48}));
  EXPECT_EQ(hf.at("transformer.h.1.mlp.c_proj.weight").sizes(), (std::vector<int64_t>{64, 16}));
  const auto dir = temp_dir("hf");
  em::save_model(dir, m, 39); // for config.json
  em::write_safetensors(dir / "model.safetensors", hf);
  auto back = em::load_model(dir);
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(m->forward(ids()), back->forward(ids())));

  em::tensor_map half;
  for (const auto& [k, v] : em::base_state(m))
    half[k] = v.to(torch::kFloat16);
  em::write_safetensors(dir / "model.safetensors", half);
  auto back16 = em::load_model(dir);
  EXPECT_LT((m->forward(ids()) - back16->forward(ids())).abs().max().item<double>(), 1e-2);
  fs::remove_all(dir);
}

TEST(ModelDir, BadDirectoriesGiveClearErrors) {
  const auto dir = temp_dir("bad");
  try {
    em::load_model(dir / "missing");
    ADD_FAILURE();
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), elsa::errc::file_not_found);
  }
  torch::manual_seed(4);
  em::GPT2 m(small());
  em::save_model(dir, m, 39);
  auto write = [&](const std::string& text) { std::ofstream(dir / "config.json") << text; };
  write(R"({"model_type":"gpt2","vocab_size":40,"n_positions":10,"n_embd":16,"n_layer":2,"n_head":3})");
  try {
    em::load_model(dir);
    ADD_FAILURE();
  } catch (const elsa::error& e) {
    EXPECT_NE(std::string(e.what()).find("n_head"), std::string::npos) << e.what();
  }
  write(R"({"model_type":"bert","vocab_size":40})");
  EXPECT_THROW(em::load_model(dir), elsa::error);
  write(R"({"model_type":"gpt2","vocab_size":40,"n_positions":10,"n_embd":16,"n_layer":3,"n_head":2})");
  try {
    em::load_model(dir); // one layer more than the weights hold
    ADD_FAILURE();
  } catch (const elsa::error& e) {
    EXPECT_NE(std::string(e.what()).find("h.2"), std::string::npos) << e.what();
  }
  write("{oops");
  EXPECT_THROW(em::load_model(dir), elsa::error);
  fs::remove_all(dir);
}

TEST(Lora, AdaptersSaveLoadMergeRoundTrip) {
  torch::manual_seed(5);
  em::GPT2 m(small());
  em::Classifier cls(16, 4);
  em::lora_config lc;
  lc.rank = 2;
  lc.targets = {"c_attn", "mlp.c_proj"};
  m->add_lora(lc);
  // Untrained adapters (B = 0) leave the output unchanged: check against a model without adapters.
  torch::manual_seed(5);
  em::GPT2 plain(small());
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(plain->forward(ids()), m->forward(ids())));
  for (int64_t i = 0; i < 2; ++i)
    for (auto& [n, layer] : m->lora_layers(i))
      layer->lora_B.normal_(0.0, 0.1);
  const auto with_adapters = m->forward(ids());
  EXPECT_GT((with_adapters - plain->forward(ids())).abs().max().item<double>(), 1e-4);

  // Base weights are frozen, adapters are not.
  for (const auto& p : m->named_parameters())
    EXPECT_EQ(p.value().requires_grad(), p.key().find("lora_") != std::string::npos) << p.key();

  const auto state = em::lora_state(m, cls);
  EXPECT_EQ(state.count("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"), 1u);
  EXPECT_EQ(state.at("base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight").sizes(),
            (std::vector<int64_t>{16, 2}));
  EXPECT_EQ(state.count("base_model.model.score.weight"), 1u);

  const auto dir = temp_dir("lora");
  em::save_adapters(dir, m, cls);
  const auto info = em::read_adapter_config(dir);
  EXPECT_EQ(info.lora.rank, 2);
  EXPECT_EQ(info.num_labels, 4);
  torch::manual_seed(5);
  em::GPT2 m2(small());
  em::Classifier cls2(16, 4);
  m2->add_lora(info.lora);
  em::load_adapters(dir, m2, cls2);
  EXPECT_TRUE(torch::equal(m2->forward(ids()), with_adapters));
  EXPECT_TRUE(torch::equal(cls2->score->weight, cls->score->weight));

  // Merge folds the adapters into the weights (same output); unmerge restores the base weights.
  const auto before = em::base_state(m);
  std::map<std::string, torch::Tensor> before_copy;
  for (const auto& [k, v] : before)
    before_copy[k] = v.clone();
  m->merge_lora();
  EXPECT_LT((m->forward(ids()) - with_adapters).abs().max().item<double>(), 1e-5);
  EXPECT_GT((em::base_state(m).at("h.0.attn.c_attn.weight") - before_copy.at("h.0.attn.c_attn.weight"))
                .abs()
                .max()
                .item<double>(),
            1e-6);
  m->unmerge_lora();
  for (const auto& [k, v] : em::base_state(m))
    EXPECT_LT((v - before_copy.at(k)).abs().max().item<double>(), 1e-6) << k;

  // A mismatched adapter file is rejected with the offending key named.
  torch::manual_seed(5);
  em::GPT2 m3(small());
  em::lora_config other = lc;
  other.rank = 3;
  m3->add_lora(other);
  try {
    em::load_adapters(dir, m3, cls2);
    ADD_FAILURE();
  } catch (const elsa::error& e) {
    EXPECT_NE(std::string(e.what()).find("lora_"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Lora, ConfigValidation) {
  em::lora_config lc;
  lc.targets = {"q_proj"};
  EXPECT_THROW(lc.validate(), elsa::error);
  lc.targets = {"c_attn"};
  lc.rank = 0;
  EXPECT_THROW(lc.validate(), elsa::error);
}
