// Count-sketch compression (see count_sketch.hpp).
#include "core/compress/count_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::compress {

namespace {

// splitmix64: a fast, well-mixed 64-bit hash, the same on every platform.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t hash(uint64_t seed, uint32_t row, uint64_t i) {
  return mix(mix(seed ^ (static_cast<uint64_t>(row) * 0xD1B54A32D192ED03ull)) ^ i);
}

// Tables above this many buckets are refused: 2^28 f32 buckets are 1 GiB.
constexpr uint64_t k_max_buckets = uint64_t{1} << 28;

void check_vector(const sketch_shape& shape, std::size_t n, const char* what) {
  if (n != shape.dim)
    throw error(errc::invalid_argument,
                fmt::format("count sketch: {} has {} values, the sketch is of {} coordinates", what, n, shape.dim));
}

void check_table(const sketch_shape& shape, std::size_t n, const char* what) {
  if (n != shape.table_size())
    throw error(errc::invalid_argument, fmt::format("count sketch: {} has {} buckets, not rows x cols = {} x {}",
                                                    what, n, shape.rows, shape.cols));
}

// Row j's vote for coordinate i: its bucket, signed back.
float vote(const sketch_shape& shape, const std::vector<float>& table, uint32_t j, uint64_t i) {
  return shape.sign(j, i) * table[static_cast<std::size_t>(j) * shape.cols + shape.bucket(j, i)];
}

} // namespace

void sketch_shape::check() const {
  if (rows == 0 || cols == 0)
    throw error(errc::invalid_argument,
                fmt::format("count sketch: rows = {} and cols = {} must both be at least 1", rows, cols));
  if (dim == 0)
    throw error(errc::invalid_argument, "count sketch: the vector has no coordinates (dim = 0)");
  if (static_cast<uint64_t>(rows) * cols > k_max_buckets)
    throw error(errc::invalid_argument, fmt::format("count sketch: rows x cols = {} x {} exceeds {} buckets", rows,
                                                    cols, k_max_buckets));
}

uint32_t sketch_shape::bucket(uint32_t row, uint64_t i) const {
  return static_cast<uint32_t>((hash(seed, row, i) >> 1) % cols);
}

float sketch_shape::sign(uint32_t row, uint64_t i) const {
  return (hash(seed, row, i) & 1u) ? 1.0f : -1.0f;
}

std::vector<float> sketch(const sketch_shape& shape, const std::vector<float>& x) {
  shape.check();
  check_vector(shape, x.size(), "the vector");
  std::vector<float> table(shape.table_size(), 0.0f);
  for (uint32_t j = 0; j < shape.rows; ++j) {
    float* row = table.data() + static_cast<std::size_t>(j) * shape.cols;
    for (uint64_t i = 0; i < shape.dim; ++i)
      if (x[i] != 0.0f)
        row[shape.bucket(j, i)] += shape.sign(j, i) * x[i];
  }
  return table;
}

void merge(std::vector<float>& into, const std::vector<float>& other, const sketch_shape& shape) {
  shape.check();
  check_table(shape, into.size(), "the table merged into");
  check_table(shape, other.size(), "the table merged");
  for (std::size_t b = 0; b < into.size(); ++b)
    into[b] += other[b];
}

std::vector<float> estimate(const sketch_shape& shape, const std::vector<float>& table) {
  shape.check();
  check_table(shape, table.size(), "the table");
  std::vector<float> out(shape.dim);
  std::vector<float> votes(shape.rows);
  for (uint64_t i = 0; i < shape.dim; ++i) {
    for (uint32_t j = 0; j < shape.rows; ++j)
      votes[j] = vote(shape, table, j, i);
    const auto mid = votes.begin() + shape.rows / 2;
    std::nth_element(votes.begin(), mid, votes.end());
    if (shape.rows % 2 == 1) {
      out[i] = *mid;
    } else {
      const float hi = *mid;
      const float lo = *std::max_element(votes.begin(), mid);
      out[i] = 0.5f * (lo + hi);
    }
  }
  return out;
}

std::vector<std::pair<uint64_t, float>> top_k(const sketch_shape& shape, const std::vector<float>& table,
                                              uint64_t k) {
  const auto est = estimate(shape, table);
  std::vector<uint64_t> idx(est.size());
  for (uint64_t i = 0; i < idx.size(); ++i)
    idx[i] = i;
  const auto n = static_cast<std::ptrdiff_t>(std::min<uint64_t>(k, idx.size()));
  auto larger = [&](uint64_t a, uint64_t b) {
    const float fa = std::fabs(est[a]), fb = std::fabs(est[b]);
    return fa > fb || (fa == fb && a < b);
  };
  std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), larger);
  std::vector<std::pair<uint64_t, float>> out;
  out.reserve(static_cast<std::size_t>(n));
  for (std::ptrdiff_t r = 0; r < n; ++r)
    out.emplace_back(idx[static_cast<std::size_t>(r)], est[idx[static_cast<std::size_t>(r)]]);
  return out;
}

std::vector<float> unsketch(const sketch_shape& shape, const std::vector<float>& table, uint64_t k) {
  std::vector<float> out(shape.dim, 0.0f);
  for (const auto& [i, v] : top_k(shape, table, k))
    out[i] = v;
  return out;
}

std::vector<float> linear_decode(const sketch_shape& shape, const std::vector<float>& table, double gain) {
  shape.check();
  check_table(shape, table.size(), "the table");
  if (!(gain > 0.0) || !std::isfinite(gain))
    throw error(errc::invalid_argument, "count sketch: a linear decode needs a finite gain > 0");
  const auto scale = static_cast<float>(gain * static_cast<double>(shape.cols) / static_cast<double>(shape.dim));
  std::vector<float> out(shape.dim);
  for (uint64_t i = 0; i < shape.dim; ++i) {
    float sum = 0.0f;
    for (uint32_t j = 0; j < shape.rows; ++j)
      sum += vote(shape, table, j, i);
    out[i] = scale * sum;
  }
  return out;
}

sender_feedback::sender_feedback(sketch_shape shape, uint64_t k) : shape_(shape), k_(k) {
  shape_.check();
  if (k_ == 0)
    throw error(errc::invalid_argument, "count sketch: top-k decoding needs k >= 1");
  residual_.assign(shape_.dim, 0.0f);
}

std::vector<float> sender_feedback::compress(const std::vector<float>& update) {
  check_vector(shape_, update.size(), "the update");
  std::vector<float> v(update.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = update[i] + residual_[i];
  auto table = sketch(shape_, v);
  const auto decoded = unsketch(shape_, table, k_);
  for (std::size_t i = 0; i < v.size(); ++i)
    residual_[i] = v[i] - decoded[i];
  return table;
}

} // namespace elsa::compress
