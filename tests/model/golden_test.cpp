// Golden test: the logits of the tiny fixed-seed model shipped in tests/model/golden/tiny/ must match those of
// an independent numpy implementation (tests/model/golden/gpt2_reference.py, float64).
//
// How the values were obtained:
//   1. build/elsa_model_test --gtest_also_run_disabled_tests --gtest_filter='*WriteTinyModel*'
//      writes tests/model/golden/tiny/{config.json, model.safetensors} (seed 1234, every weight random,
//      LayerNorm and biases included).
//   2. /usr/bin/python3 tests/model/golden/gpt2_reference.py tests/model/golden/tiny
//      prints the logits below (Debian python3-numpy).
#include "core/model/model_dir.hpp"

#include <gtest/gtest.h>

#include "tests/test_support.hpp"

namespace em = elsa::model;

namespace {

std::filesystem::path tiny_dir() {
  return elsa::testing::source_dir() / "tests" / "model" / "golden" / "tiny";
}

// clang-format off
// BEGIN GOLDEN
const std::vector<std::vector<double>> golden_logits = {
// input [1, 5, 2, 7, 3, 0]
{-0.2019433, 0.4089642, -1.706253, 0.8154591, 0.04392791, 0.6575195, -0.547563, -0.9647576, -0.2420478, 0.9783328, 0.8293925, -0.5319991, 0.3063005, -1.307179, 0.6725499, 0.9097523, -0.01219943, 0.3618477, -1.648907, 1.224642, 0.4531118, -0.6104843, 1.393074, -1.869061, -0.06192564, 0.1259719, -1.375572, 0.6983628, -0.00355524, 0.6068139, -0.6652668, -1.149434, -0.2413107, 0.5760607, 0.6454043, -0.3812565, 0.4436326, -0.9275654, 0.6656722, 0.7882849, 0.008409293, 0.4801479, -1.774812, 1.303118, 0.3150765, -0.7055157, 1.076583, -1.817367, -0.163385, 0.3630242, -1.709535, 0.6808958, 0.04976824, 0.7704393, -0.5366912, -0.8925644, -0.1344033, 1.10119, 0.7305401, -0.3568746, 0.3020391, -1.083199, 0.7210812, 1.019034, -0.0145968, 0.4496901, -1.874924, 1.24058, 0.3983655, -0.7386311, 1.289865, -1.787795, -0.03389091, 0.2011498, -1.381031, 0.6815091, 0.0186421, 0.5848449, -0.5653329, -1.105506, -0.1906164, 0.6089319, 0.5841805, -0.4070576, 0.3784492, -0.9213778, 0.6676947, 0.7986752, -0.01885785, 0.4385261, -1.810104, 1.26693, 0.2971829, -0.7176655, 1.136195, -1.818674, -0.09549568, 0.1772991, -1.430259, 0.7999656, -0.008415005, 0.5892563, -0.6659954, -1.211473, -0.3168242, 0.5755737, 0.7559292, -0.4674341, 0.4560876, -1.116902, 0.639907, 0.7619365, -0.02370805, 0.4614024, -1.727838, 1.341005, 0.3913697, -0.6776955, 1.183106, -1.928565, -0.1796998, 0.4076249, -1.759727, 0.7021344, 0.03857264, 0.7892977, -0.5355927, -0.866484, -0.1223007, 1.146177, 0.7659353, -0.3800919, 0.3063581, -1.143561, 0.7178545, 1.048684, -0.02849712, 0.4464762, -1.891315, 1.275661, 0.4359654, -0.7584309, 1.327181, -1.839442},
// input [23, 22, 4, 4, 9, 11]
{-0.05706516, 0.1901952, -1.394213, 0.730272, 0.005938454, 0.584514, -0.6081748, -1.160133, -0.2427688, 0.5854034, 0.6499464, -0.4317979, 0.4148277, -0.9972615, 0.6546326, 0.7792733, -0.02204737, 0.4491913, -1.783626, 1.303499, 0.3364487, -0.7057915, 1.157253, -1.871532, -0.1386579, 0.3501978, -1.620317, 0.7040255, 0.01720455, 0.6208331, -0.5723066, -0.8006732, -0.09720219, 0.8551995, 0.6977214, -0.5117726, 0.3149074, -1.088985, 0.6996091, 0.9548367, 0.03584006, 0.3540008, -1.634906, 1.223409, 0.3393426, -0.6380295, 1.187762, -1.779376, -0.1553916, 0.4056699, -1.69188, 0.7457072, 0.03584137, 0.6511588, -0.524156, -0.8194964, -0.1299145, 0.9539358, 0.7577138, -0.521766, 0.2860136, -1.194904, 0.6979435, 0.9749172, -0.004575896, 0.357366, -1.679173, 1.224399, 0.3864184, -0.6483445, 1.284838, -1.826137, -0.1265934, 0.3061673, -1.575006, 0.670871, 0.002120284, 0.6481846, -0.6088007, -0.8581792, -0.09010834, 0.8283059, 0.6591884, -0.4501325, 0.3567432, -1.002348, 0.6997273, 0.9485003, 0.03895716, 0.396227, -1.716345, 1.264897, 0.3358617, -0.6896614, 1.150996, -1.787425, -0.06490247, 0.1166759, -1.310129, 0.8047511, -0.03212186, 0.4444091, -0.7129311, -1.144845, -0.3021722, 0.3195391, 0.7093728, -0.5820533, 0.4693993, -1.076019, 0.6224165, 0.6777281, 0.03831514, 0.3826202, -1.48065, 1.293921, 0.3103685, -0.5634325, 1.045746, -1.865835, -0.1925405, 0.4104197, -1.767859, 0.698856, 0.03137742, 0.7492494, -0.5597553, -0.7718292, -0.09095255, 1.112358, 0.7671314, -0.4336225, 0.2985034, -1.146508, 0.7233122, 1.05853, 0.01265727, 0.4036366, -1.768322, 1.245639, 0.4080226, -0.7006257, 1.278501, -1.795946},
};
// END GOLDEN
// clang-format on

const std::vector<std::vector<int64_t>> golden_inputs = {{1, 5, 2, 7, 3, 0}, {23, 22, 4, 4, 9, 11}};

} // namespace

TEST(Golden, DISABLED_WriteTinyModel) {
  em::gpt2_config c;
  c.vocab_size = 24;
  c.n_positions = 8;
  c.n_embd = 8;
  c.n_layer = 2;
  c.n_head = 2;
  torch::manual_seed(1234);
  em::GPT2 m(c);
  torch::NoGradGuard ng;
  // Every parameter random and larger than the init, so LayerNorm gains/biases and attention all matter.
  for (auto& p : m->parameters())
    p.copy_(torch::randn(p.sizes()) * 0.5);
  std::filesystem::create_directories(tiny_dir());
  em::save_model(tiny_dir(), m, 23);
}

TEST(Golden, TinyModelLogitsMatchNumpyReference) {
  ASSERT_TRUE(std::filesystem::exists(tiny_dir() / "model.safetensors"))
      << tiny_dir() << " is missing; see the comment at the top of this file";
  ASSERT_EQ(golden_logits.size(), golden_inputs.size());
  auto m = em::load_model(tiny_dir());
  m->eval();
  torch::NoGradGuard ng;
  for (size_t i = 0; i < golden_inputs.size(); ++i) {
    auto ids = torch::tensor(golden_inputs[i], torch::kLong).unsqueeze(0);
    auto logits = m->forward(ids).reshape(-1);
    auto want = torch::tensor(golden_logits[i], torch::kDouble);
    ASSERT_EQ(logits.numel(), want.numel());
    const double diff = (logits.to(torch::kDouble) - want).abs().max().item<double>();
    EXPECT_LT(diff, 1e-4) << "input " << i;
  }
}
