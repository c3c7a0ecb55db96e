// Count sketch (core/compress): merging the sketches of two vectors equals the sketch of their sum (exactly on
// values whose sums are exact in float, to rounding otherwise); a planted sparse vector is recovered by top-k
// under noise; a vector sparser than the buckets is estimated exactly; error feedback keeps what a decode
// misses so that decoded updates plus the residual add up to the updates; the linear decode is the least-squares
// projection at gain 1, unbiased at the coordinates per cell, and keeps far more of a dense update than top-k;
// hashes depend on the seed only;
// bad shapes and sizes are one clear error.
#include "core/compress/count_sketch.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "core/errors.hpp"

namespace elsa::compress {
namespace {

std::vector<float> random_vector(uint64_t dim, uint64_t seed, float scale) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> n(0.0f, scale);
  std::vector<float> x(dim);
  for (auto& v : x)
    v = n(gen);
  return x;
}

TEST(CountSketch, TheSketchOfASumIsTheSumOfTheSketches) {
  const sketch_shape shape{5, 64, 1000, 7};
  // Small integers: every bucket sum is exact in float, so the tables are equal bit for bit.
  std::mt19937_64 gen(1);
  std::uniform_int_distribution<int> d(-50, 50);
  std::vector<float> a(shape.dim), b(shape.dim), sum(shape.dim);
  for (uint64_t i = 0; i < shape.dim; ++i) {
    a[i] = static_cast<float>(d(gen));
    b[i] = static_cast<float>(d(gen));
    sum[i] = a[i] + b[i];
  }
  auto merged = sketch(shape, a);
  merge(merged, sketch(shape, b), shape);
  EXPECT_EQ(merged, sketch(shape, sum));
  // Real-valued updates: equal to float rounding.
  const auto x = random_vector(shape.dim, 2, 1e-2f), y = random_vector(shape.dim, 3, 1e-2f);
  std::vector<float> xy(shape.dim);
  for (uint64_t i = 0; i < shape.dim; ++i)
    xy[i] = x[i] + y[i];
  auto m = sketch(shape, x);
  merge(m, sketch(shape, y), shape);
  const auto direct = sketch(shape, xy);
  for (std::size_t bkt = 0; bkt < m.size(); ++bkt)
    EXPECT_NEAR(m[bkt], direct[bkt], 1e-5f) << "bucket " << bkt;
}

TEST(CountSketch, TopKRecoversAPlantedSparseVectorUnderNoise) {
  // 20 heavy coordinates of 100,000 in 9 x 1,000 buckets (11x smaller). A light coordinate's median goes
  // wrong only if it shares a bucket with a heavy one in 5 of the 9 rows (p = 0.02 per row).
  const sketch_shape shape{9, 1000, 100000, 1234};
  auto x = random_vector(shape.dim, 4, 1e-3f);  // dense small noise everywhere
  std::mt19937_64 gen(5);
  std::uniform_int_distribution<uint64_t> where(0, shape.dim - 1);
  std::set<uint64_t> planted;
  while (planted.size() < 20)
    planted.insert(where(gen));
  int n = 0;
  for (auto i : planted) {
    x[i] = (n % 2 ? -1.0f : 1.0f) * (5.0f + static_cast<float>(n));
    ++n;
  }
  const auto table = sketch(shape, x);
  EXPECT_EQ(table.size(), 9000u);
  std::set<uint64_t> found;
  for (const auto& [i, v] : top_k(shape, table, planted.size())) {
    found.insert(i);
    EXPECT_NEAR(v, x[i], 0.05f) << "coordinate " << i;
  }
  EXPECT_EQ(found, planted);
  const auto dense = unsketch(shape, table, planted.size());
  for (uint64_t i = 0; i < shape.dim; ++i) {
    if (!planted.count(i)) {
      EXPECT_EQ(dense[i], 0.0f) << i;
    }
  }
}

TEST(CountSketch, AOneSparseVectorIsEstimatedExactly) {
  const sketch_shape shape{3, 16, 500, 9};
  std::vector<float> x(shape.dim, 0.0f);
  x[123] = -2.5f;
  const auto est = estimate(shape, sketch(shape, x));
  EXPECT_EQ(est[123], -2.5f);
  for (uint64_t i = 0; i < shape.dim; ++i) {
    if (i != 123) {
      EXPECT_TRUE(est[i] == 0.0f || std::fabs(est[i]) == 2.5f) << i;  // a collision in some rows at most
    }
  }
  // An even number of rows takes the mean of the two middle votes.
  const sketch_shape even{4, 16, 500, 9};
  EXPECT_EQ(estimate(even, sketch(even, x))[123], -2.5f);
}

TEST(CountSketch, ErrorFeedbackKeepsWhatTheDecodeMissed) {
  const sketch_shape shape{5, 100, 2000, 11};
  sender_feedback sender(shape, 10);
  std::vector<double> sent(shape.dim, 0.0), decoded(shape.dim, 0.0);
  for (uint64_t t = 0; t < 6; ++t) {
    const auto u = random_vector(shape.dim, 100 + t, 1e-2f);
    const auto table = sender.compress(u);
    const auto d = unsketch(shape, table, 10);  // what the receiver decodes
    for (uint64_t i = 0; i < shape.dim; ++i) {
      sent[i] += u[i];
      decoded[i] += d[i];
    }
  }
  double worst = 0;
  for (uint64_t i = 0; i < shape.dim; ++i)
    worst = std::max(worst, std::fabs(decoded[i] + sender.residual()[i] - sent[i]));
  EXPECT_LT(worst, 1e-5);
  double residual_norm = 0;
  for (float r : sender.residual())
    residual_norm += static_cast<double>(r) * r;
  EXPECT_GT(residual_norm, 0.0) << "top-10 of 2,000 dense values cannot carry everything";
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    s += static_cast<double>(a[i]) * b[i];
  return s;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  return dot(a, b) / std::sqrt(dot(a, a) * dot(b, b));
}

TEST(CountSketch, TheLinearDecodeIsLinearInTheTableAndInItsGain) {
  const sketch_shape shape{5, 40, 1000, 21};
  const auto a = sketch(shape, random_vector(shape.dim, 30, 1.0f));
  const auto b = sketch(shape, random_vector(shape.dim, 31, 1.0f));
  auto ab = a;
  merge(ab, b, shape);
  const auto da = linear_decode(shape, a, 1.0), db = linear_decode(shape, b, 1.0), dab = linear_decode(shape, ab, 1.0);
  const auto d2 = linear_decode(shape, a, 2.0);
  for (uint64_t i = 0; i < shape.dim; ++i) {
    EXPECT_NEAR(dab[i], da[i] + db[i], 1e-5f) << i;
    EXPECT_NEAR(d2[i], 2.0f * da[i], 1e-6f) << i;
  }
}

TEST(CountSketch, AtGainOneTheLinearDecodeIsTheTablesLeastSquaresProjection) {
  // A dense vector, 10 coordinates per cell. A projection P onto the sketch's row space returns the table
  // (sketch(Px) = sketch(x)), keeps rows x cols / dim of the energy, and leaves a residual orthogonal to Px.
  // The decode is that projection up to collisions across rows, of relative size sqrt((rows - 1) cols / dim)
  // = 0.28 here.
  const sketch_shape shape{5, 400, 20000, 22};
  const auto x = random_vector(shape.dim, 32, 1.0f);
  const auto table = sketch(shape, x);
  const auto px = linear_decode(shape, table, 1.0);
  const auto back = sketch(shape, px);
  std::vector<float> miss(shape.dim), off(table.size());
  for (uint64_t i = 0; i < shape.dim; ++i)
    miss[i] = x[i] - px[i];
  for (std::size_t b = 0; b < table.size(); ++b)
    off[b] = back[b] - table[b];
  EXPECT_LT(std::sqrt(dot(off, off) / dot(table, table)), 0.4);
  EXPECT_NEAR(dot(px, px) / dot(x, x), 0.1, 0.03);
  EXPECT_LT(std::fabs(cosine(px, miss)), 0.15);
}

TEST(CountSketch, AtTheCoordinatesPerCellTheLinearDecodeIsUnbiased) {
  // gain dim / (rows x cols) = 10: each decode is x plus collision noise of about 10x x's energy; the mean
  // of 200 decodes under 200 hash seeds is x to within sqrt(10 / 200) of its scale.
  const uint64_t dim = 1000;
  const auto x = random_vector(dim, 33, 1.0f);
  std::vector<float> mean(dim, 0.0f);
  const int seeds = 200;
  for (int s = 0; s < seeds; ++s) {
    const sketch_shape shape{5, 20, dim, 1000 + static_cast<uint64_t>(s)};
    const auto d = linear_decode(shape, sketch(shape, x), 10.0);
    for (uint64_t i = 0; i < dim; ++i)
      mean[i] += d[i] / seeds;
  }
  EXPECT_NEAR(dot(mean, x) / dot(x, x), 1.0, 0.05);  // no shrinkage
  EXPECT_GT(cosine(mean, x), 0.95);
  // One decode alone is mostly noise.
  const sketch_shape one{5, 20, dim, 999};
  EXPECT_LT(cosine(linear_decode(one, sketch(one, x), 10.0), x), 0.5);
}

TEST(CountSketch, OnADenseUpdateTheLinearDecodeKeepsFarMoreThanTopK) {
  // configs/compressed.toml's shape: 98,304 LoRA coordinates in 5 x 1,639 cells, k = cols / rows. A dense
  // update has no heavy hitters, so the top-k estimates are mostly collision noise.
  const sketch_shape shape{5, 1639, 98304, 23};
  const auto x = random_vector(shape.dim, 34, 1e-3f);
  const auto table = sketch(shape, x);
  const double lin = cosine(linear_decode(shape, table, 3.0), x);
  const double top = cosine(unsketch(shape, table, shape.cols / shape.rows), x);
  EXPECT_GT(lin, 0.2);
  EXPECT_GT(lin, 5.0 * top) << "linear " << lin << ", top-k " << top;
}

TEST(CountSketch, ALinearDecodeNeedsAPositiveGain) {
  const sketch_shape shape{2, 4, 10, 1};
  const std::vector<float> table(8, 0.0f);
  EXPECT_THROW(linear_decode(shape, table, 0.0), elsa::error);
  EXPECT_THROW(linear_decode(shape, table, std::nan("")), elsa::error);
  EXPECT_THROW(linear_decode(shape, std::vector<float>(7, 0.0f), 1.0), elsa::error);
}

TEST(CountSketch, HashesDependOnTheSeedOnly) {
  const sketch_shape a{3, 50, 100, 42}, b{3, 50, 100, 42}, c{3, 50, 100, 43};
  const auto x = random_vector(100, 6, 1.0f);
  EXPECT_EQ(sketch(a, x), sketch(b, x));
  EXPECT_NE(sketch(a, x), sketch(c, x));
  for (uint64_t i = 0; i < 100; ++i) {
    EXPECT_LT(a.bucket(2, i), 50u);
    EXPECT_TRUE(a.sign(1, i) == 1.0f || a.sign(1, i) == -1.0f);
  }
}

TEST(CountSketch, BadShapesAndSizesAreOneClearError) {
  auto message = [](auto f) {
    try {
      f();
    } catch (const elsa::error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::vector<float> x(10, 1.0f);
  EXPECT_NE(message([&] { sketch({0, 4, 10, 1}, x); }).find("rows = 0 and cols = 4"), std::string::npos);
  EXPECT_NE(message([&] { sketch({2, 4, 0, 1}, {}); }).find("dim = 0"), std::string::npos);
  EXPECT_NE(message([&] { sketch({2, 4, 11, 1}, x); }).find("has 10 values, the sketch is of 11"),
            std::string::npos);
  std::vector<float> t(8, 0.0f);
  EXPECT_NE(message([&] { merge(t, std::vector<float>(7), {2, 4, 10, 1}); }).find("has 7 buckets"),
            std::string::npos);
  EXPECT_NE(message([&] { sender_feedback({2, 4, 10, 1}, 0); }).find("k >= 1"), std::string::npos);
}

} // namespace
} // namespace elsa::compress
