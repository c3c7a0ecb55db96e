// Example: one client and one edge train LoRA adapters through ELSA's three-segment (U-shaped) split, on
// real SpamAssassin messages with the shipped base model. The client runs the head and the tail (so labels
// never leave it), the edge the body; each side steps only its own adapters, and the program prints the
// loss and the bytes of the four activation/gradient tensors that cross the client-edge link per step.
// This is core/ only, in one process: the actors (issue 5) move the same tensors as Cap'n Proto messages.
//
// Run from the repository root after scripts/setup.sh:
//   build/elsa_example_split_training [--steps 20] [--a 1] [--b 1]
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "core/data/tasks.hpp"
#include "core/errors.hpp"
#include "core/model/gpt2.hpp"
#include "core/model/model_dir.hpp"
#include "core/train/tokens.hpp"

namespace {

int64_t bytes_of(const torch::Tensor& t) {
  return t.numel() * static_cast<int64_t>(t.element_size());
}

} // namespace

int main(int argc, char** argv) try {
  using namespace elsa;
  int64_t steps = 20, a = 1, b = 1;
  CLI::App app{"LoRA training through the client/edge three-segment split (run from the repository root)"};
  app.add_option("--steps", steps, "training steps")->capture_default_str()->check(CLI::Range(1, 100000));
  // a >= 1: raw embeddings never leave the client; b >= 1: labels never leave it; a + b < n_layer: the edge
  // runs at least one block (the rules `elsa run` applies to [split]).
  app.add_option("--a", a, "blocks in the client's head (at least 1)")
    ->capture_default_str()
    ->check(CLI::Range(1, 64));
  app.add_option("--b", b, "blocks in the client's tail (at least 1)")
    ->capture_default_str()
    ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  const int64_t batch = 8, max_len = 64;
  torch::manual_seed(1234);
  torch::set_num_threads(1);

  auto model = model::load_model("models/elsa-base");
  if (a + b >= model->config().n_layer) {
    fmt::print(stderr,
               "split_training: error: --a {} --b {}: the model has {} blocks and the edge must run at least "
               "one; need a + b < {}\n",
               a, b, model->config().n_layer, model->config().n_layer);
    return 1;
  }
  const auto tok = train::load_tokenizer("models/elsa-base");
  const auto task = data::load_task("data", data::task::spam);
  model::lora_config lora;
  lora.targets = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};
  model->add_lora(lora);
  model::Classifier classifier(model->config().n_embd, static_cast<int64_t>(task.label_names.size()));
  auto [head, body, tail] = model::split_model(model, a, b, classifier);
  fmt::print("split (a={}, b={}): client runs blocks [0,{}) and [{},{}), edge runs [{},{})\n", a, b, a,
             model->config().n_layer - b, model->config().n_layer, a, model->config().n_layer - b);

  // Each side owns an optimizer over its own trainable tensors only.
  auto client_params = head.trainable_parameters();
  for (auto& p : tail.trainable_parameters())
    client_params.push_back(p);
  torch::optim::AdamW client_opt(client_params, torch::optim::AdamWOptions(2e-3).weight_decay(0.0));
  torch::optim::AdamW edge_opt(body.trainable_parameters(), torch::optim::AdamWOptions(2e-3).weight_decay(0.0));

  for (int64_t step = 0; step < steps; ++step) {
    // A batch of right-padded token ids with its attention mask and labels (client side, private).
    auto ids = torch::zeros({batch, max_len}, torch::kLong);
    auto mask = torch::zeros({batch, max_len}, torch::kLong);
    auto labels = torch::empty({batch}, torch::kLong);
    for (int64_t i = 0; i < batch; ++i) {
      // Uniform random examples (train is stored in label order); torch's generator is seeded above.
      const auto pick = torch::randint(static_cast<int64_t>(task.train.size()), {1}).item<int64_t>();
      const auto& ex = task.train[static_cast<size_t>(pick)];
      auto t = tok.encode(ex.text);
      t.resize(std::min<size_t>(t.size(), static_cast<size_t>(max_len - 1)));
      t.push_back(tok.eot_id());
      for (size_t j = 0; j < t.size(); ++j) {
        ids[i][static_cast<int64_t>(j)] = t[j];
        mask[i][static_cast<int64_t>(j)] = 1;
      }
      labels[i] = ex.label;
    }
    client_opt.zero_grad();
    edge_opt.zero_grad();
    // forward: client head -> edge body -> client tail
    auto smashed = head.forward(ids, mask);          // crosses client -> edge
    auto body_out = body.forward(smashed.detach(), mask); // crosses edge -> client
    auto logits = tail.forward(body_out.detach(), mask);
    auto loss = torch::nn::functional::cross_entropy(logits, labels);
    // backward: client tail -> edge body -> client head
    auto grad_body_out = tail.backward_loss(loss);    // crosses client -> edge
    auto grad_smashed = body.backward(grad_body_out); // crosses edge -> client
    head.backward(grad_smashed);
    client_opt.step();
    edge_opt.step();
    const int64_t link = bytes_of(smashed) + bytes_of(body_out) + bytes_of(grad_body_out) + bytes_of(grad_smashed);
    fmt::print("step {:3d}  loss {:.4f}  client<->edge bytes {}\n", step + 1, loss.item<double>(), link);
  }
  return 0;
} catch (const elsa::error& e) {
  std::cerr << "split_training: error: " << e.what() << "\n";
  return 1;
}
