// Merging a run's adapters into its base model and writing the result (see export.hpp).
#include "core/train/export.hpp"

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/errors.hpp"
#include "core/files.hpp"
#include "core/model/model_dir.hpp"
#include "core/train/tokens.hpp"

namespace elsa::train {

namespace fs = std::filesystem;

namespace {

nlohmann::ordered_json read_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in)
    throw error(errc::file_not_found, fmt::format("{}: cannot open", path.string()));
  auto j = nlohmann::ordered_json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw error(errc::malformed_input, fmt::format("{}: not a JSON object", path.string()));
  return j;
}

void copy_into(const fs::path& from, const fs::path& to_dir) {
  std::error_code ec;
  fs::copy_file(from, to_dir / from.filename(), fs::copy_options::overwrite_existing, ec);
  if (ec)
    throw error(errc::io_error, fmt::format("{}: cannot copy into {}: {}", from.string(), to_dir.string(), ec.message()));
}

} // namespace

void export_merged(const merged_export& e, const fs::path& out) {
  const auto info = model::read_adapter_config(e.adapter_dir);
  const auto config_path = (e.adapter_dir / "adapter_config.json").string();
  if (info.num_labels <= 0)
    throw error(errc::invalid_argument,
                fmt::format("{}: the adapters hold no classifier (no num_labels); nothing to export with a head", config_path));
  if (static_cast<int64_t>(e.labels.size()) != info.num_labels)
    throw error(errc::invalid_argument, fmt::format("{}: num_labels = {}, but the run names {} labels", config_path,
                                                    info.num_labels, e.labels.size()));
  const auto tok = load_tokenizer(e.model_dir);
  auto model = model::load_model(e.model_dir);
  model->add_lora(info.lora);
  model::Classifier classifier(model->config().n_embd, info.num_labels);
  model::load_adapters(e.adapter_dir, model, classifier);
  model->merge_lora();

  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec)
    throw error(errc::io_error, fmt::format("{}: cannot create directory: {}", out.string(), ec.message()));
  model::save_model(out, model, tok.eot_id());  // base_state: the merged weights, no adapter tensors
  // config.json as save_model wrote it, with the labels added
  auto config = nlohmann::ordered_json::parse(model::config_json_text(model->config(), tok.eot_id()));
  nlohmann::ordered_json id2label = nlohmann::ordered_json::object(), label2id = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < e.labels.size(); ++k) {
    id2label[std::to_string(k)] = e.labels[k];
    label2id[e.labels[k]] = k;
  }
  config["id2label"] = id2label;
  config["label2id"] = label2id;
  write_file_atomically(out / "config.json", config.dump(2) + "\n");
  copy_into(e.model_dir / "vocab.json", out);
  copy_into(e.model_dir / "merges.txt", out);
  model::write_safetensors(out / "score.safetensors", {{"score.weight", classifier->score->weight.detach().contiguous()}},
                           {{"format", "pt"}});
  nlohmann::ordered_json meta;
  meta["task"] = e.task;
  meta["labels"] = e.labels;
  meta["max_len"] = e.max_len;
  meta["source_run"] = e.source;
  meta["base_model"] = fs::absolute(e.model_dir).lexically_normal().string();
  meta["lora"] = {{"r", info.lora.rank}, {"lora_alpha", info.lora.alpha}, {"target_modules", info.lora.targets}};
  meta["head"] = "score.safetensors: score.weight (num_labels, n_embd), no bias, on the last real token's final hidden state";
  write_file_atomically(out / "elsa_export.json", meta.dump(2) + "\n");
}

merged_info read_merged_info(const fs::path& dir) {
  const auto path = dir / "elsa_export.json";
  if (!fs::exists(path))
    throw error(errc::file_not_found,
                fmt::format("{}: missing; is {} a folder `elsa export --merged` wrote?", path.string(), dir.string()));
  const auto j = read_json_file(path);
  merged_info m;
  auto bad = [&path](const char* what) {
    return error(errc::malformed_input, fmt::format("{}: {}", path.string(), what));
  };
  if (!j.contains("labels") || !j["labels"].is_array() || j["labels"].size() < 2)
    throw bad("'labels' must be a list of two label names or more");
  for (const auto& l : j["labels"]) {
    if (!l.is_string())
      throw bad("'labels' holds a non-string");
    m.labels.push_back(l.get<std::string>());
  }
  if (!j.contains("max_len") || !j["max_len"].is_number_integer() || j["max_len"].get<int64_t>() < 2
      || j["max_len"].get<int64_t>() > 4096)
    throw bad("'max_len' must be an integer in 2..4096");
  m.max_len = j["max_len"].get<int64_t>();
  m.task = j.contains("task") && j["task"].is_string() ? j["task"].get<std::string>() : std::string{};
  return m;
}

} // namespace elsa::train
