// Model and adapter directories: HF-compatible config.json, model.safetensors, PEFT-style adapter files.
#include "core/model/model_dir.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"

namespace elsa::model {

namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in)
    throw error(errc::file_not_found, fmt::format("{}: cannot open (is this a model directory?)", path.string()));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw error(errc::malformed_input, fmt::format("{}: not valid JSON: {}", path.string(), e.what()));
  }
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  if (!out)
    throw error(errc::io_error, fmt::format("{}: cannot write", path.string()));
  out << text;
  if (!out)
    throw error(errc::io_error, fmt::format("{}: write failed (disk full?)", path.string()));
}

int64_t get_int(const nlohmann::json& j, const fs::path& path, const char* key, std::optional<int64_t> fallback) {
  if (!j.contains(key) || j[key].is_null()) {
    if (fallback)
      return *fallback;
    throw error(errc::malformed_input, fmt::format("{}: required key '{}' is missing", path.string(), key));
  }
  if (!j[key].is_number_integer())
    throw error(errc::malformed_input,
                fmt::format("{}: key '{}' must be an integer, found {}", path.string(), key, j[key].dump()));
  return j[key].get<int64_t>();
}

double get_double(const nlohmann::json& j, const fs::path& path, const char* key, double fallback) {
  if (!j.contains(key) || j[key].is_null())
    return fallback;
  if (!j[key].is_number())
    throw error(errc::malformed_input,
                fmt::format("{}: key '{}' must be a number, found {}", path.string(), key, j[key].dump()));
  return j[key].get<double>();
}

} // namespace

gpt2_config read_config_json(const fs::path& path) {
  const auto j = read_json(path);
  if (!j.is_object())
    throw error(errc::malformed_input, fmt::format("{}: expected a JSON object", path.string()));
  if (j.contains("model_type") && j["model_type"] != "gpt2")
    throw error(errc::invalid_argument,
                fmt::format("{}: model_type is {}; only \"gpt2\" is supported", path.string(), j["model_type"].dump()));
  if (j.contains("activation_function")) {
    const auto& a = j["activation_function"];
    if (!a.is_string() || (a != "gelu_new" && a != "gelu_pytorch_tanh" && a != "gelu_fast"))
      throw error(errc::invalid_argument,
                  fmt::format("{}: activation_function {} is not supported; use \"gelu_new\" (tanh GELU)",
                              path.string(), a.dump()));
  }
  gpt2_config cfg;
  cfg.vocab_size = get_int(j, path, "vocab_size", std::nullopt);
  cfg.n_positions = get_int(j, path, "n_positions", std::nullopt);
  cfg.n_embd = get_int(j, path, "n_embd", std::nullopt);
  cfg.n_layer = get_int(j, path, "n_layer", std::nullopt);
  cfg.n_head = get_int(j, path, "n_head", std::nullopt);
  cfg.n_inner = get_int(j, path, "n_inner", 0);
  cfg.layer_norm_epsilon = get_double(j, path, "layer_norm_epsilon", 1e-5);
  cfg.dropout = get_double(j, path, "resid_pdrop", 0.0);
  try {
    cfg.validate();
  } catch (const error& e) {
    throw error(e.code(), fmt::format("{}: {}", path.string(), e.what()));
  }
  return cfg;
}

std::string config_json_text(const gpt2_config& cfg, int64_t eot_id) {
  nlohmann::ordered_json j;
  j["architectures"] = {"GPT2LMHeadModel"};
  j["model_type"] = "gpt2";
  j["vocab_size"] = cfg.vocab_size;
  j["n_positions"] = cfg.n_positions;
  j["n_ctx"] = cfg.n_positions;
  j["n_embd"] = cfg.n_embd;
  j["n_layer"] = cfg.n_layer;
  j["n_head"] = cfg.n_head;
  j["n_inner"] = cfg.n_inner > 0 ? nlohmann::ordered_json(cfg.n_inner) : nlohmann::ordered_json(nullptr);
  j["activation_function"] = "gelu_new";
  j["resid_pdrop"] = cfg.dropout;
  j["embd_pdrop"] = cfg.dropout;
  j["attn_pdrop"] = cfg.dropout;
  j["layer_norm_epsilon"] = cfg.layer_norm_epsilon;
  j["initializer_range"] = 0.02;
  j["scale_attn_weights"] = true;
  j["use_cache"] = true;
  j["tie_word_embeddings"] = true;
  j["bos_token_id"] = eot_id;
  j["eos_token_id"] = eot_id;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

GPT2 load_model(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw error(errc::file_not_found,
                fmt::format("{}: model directory not found (expected config.json and model.safetensors there)",
                            dir.string()));
  const auto cfg = read_config_json(dir / "config.json");
  GPT2 model(cfg);
  const auto weights = dir / "model.safetensors";
  auto data = read_safetensors(weights);
  load_base_state(model, data.tensors, weights.string());
  return model;
}

void save_model(const fs::path& dir, const GPT2& model, int64_t eot_id) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw error(errc::io_error, fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));
  tensor_map tensors;
  for (const auto& [k, v] : base_state(model))
    tensors[k] = v.to(torch::kFloat32);
  write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
  write_text(dir / "config.json", config_json_text(model->config(), eot_id));
}

void save_adapters(const fs::path& dir, const GPT2& model, const Classifier& classifier, const std::string& base_model) {
  if (!model->has_lora())
    throw error(errc::invalid_argument, "save_adapters: the model has no LoRA adapters");
  save_adapter_state(dir, lora_state(model, classifier), model->lora(), classifier ? classifier->num_labels() : 0,
                     base_model);
}

void save_adapter_state(const fs::path& dir, const std::map<std::string, torch::Tensor>& state,
                        const lora_config& l, int64_t num_labels, const std::string& base_model) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw error(errc::io_error, fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));
  write_safetensors(dir / "adapter_model.safetensors", state, {{"format", "pt"}});
  const bool classifier = num_labels > 0;
  nlohmann::ordered_json j;
  j["peft_type"] = "LORA";
  j["base_model_name_or_path"] = base_model.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(base_model);
  j["task_type"] = classifier ? "SEQ_CLS" : "CAUSAL_LM";
  j["r"] = l.rank;
  j["lora_alpha"] = l.alpha;
  j["lora_dropout"] = l.dropout;
  j["target_modules"] = l.targets;
  j["fan_in_fan_out"] = true; // Conv1D weights are [in, out]
  j["bias"] = "none";
  j["modules_to_save"] = classifier ? nlohmann::ordered_json::array({"score"}) : nlohmann::ordered_json(nullptr);
  j["num_labels"] = num_labels;
  write_text(dir / "adapter_config.json", j.dump(2) + "\n");
}

adapter_info read_adapter_config(const fs::path& dir) {
  const auto path = dir / "adapter_config.json";
  const auto j = read_json(path);
  adapter_info info;
  info.lora.rank = get_int(j, path, "r", std::nullopt);
  info.lora.alpha = get_double(j, path, "lora_alpha", 16.0);
  info.lora.dropout = get_double(j, path, "lora_dropout", 0.0);
  if (!j.contains("target_modules") || !j["target_modules"].is_array())
    throw error(errc::malformed_input, fmt::format("{}: 'target_modules' must be a list of names", path.string()));
  info.lora.targets.clear();
  for (const auto& t : j["target_modules"]) {
    if (!t.is_string())
      throw error(errc::malformed_input, fmt::format("{}: 'target_modules' holds a non-string", path.string()));
    info.lora.targets.push_back(t.get<std::string>());
  }
  info.num_labels = get_int(j, path, "num_labels", 0);
  try {
    info.lora.validate();
  } catch (const error& e) {
    throw error(e.code(), fmt::format("{}: {}", path.string(), e.what()));
  }
  return info;
}

void load_adapters(const fs::path& dir, GPT2& model, const Classifier& classifier) {
  const auto path = dir / "adapter_model.safetensors";
  auto data = read_safetensors(path);
  load_lora_state(model, data.tensors, classifier, path.string());
}

} // namespace elsa::model
