// Count-sketch compression of adapter updates (ELSA.md 3.3; FetchSGD, Rothchild et al. 2020, is the
// reference design). A d-dimensional vector becomes an r x c table: coordinate i adds s_j(i) x[i] to bucket
// h_j(i) of row j. The bucket and sign hashes are a pure function of (seed, j, i), so every party that knows
// the seed sketches and decodes alike, and sketches are linear: the table of a + b is the sum of the tables
// of a and b (up to float rounding), so edges and the cloud add sketches without decoding them. A
// coordinate's estimate is the median over rows of s_j(i) x bucket; a top-k decode keeps the k largest
// estimates, a linear decode gives every coordinate a scaled sum of its signed buckets.
// sender_feedback keeps what a decode would miss at the sender; the runtime keeps what decodes leave at the
// receivers that decode instead (core/fed/sketched.hpp). Plain C++ (no torch, no CAF); the wire form is
// messages::count_sketch.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace elsa::compress {

/// The sketch's shape and hashes: `rows` x `cols` buckets for a vector of `dim` coordinates.
struct sketch_shape {
  uint32_t rows = 0;
  uint32_t cols = 0;
  uint64_t dim = 0;
  uint64_t seed = 0;

  /// elsa::error (invalid_argument) naming what is wrong: rows or cols 0, dim 0, a table too large.
  void check() const;
  std::size_t table_size() const {
    return static_cast<std::size_t>(rows) * cols;
  }
  /// Bucket of coordinate i in row j, in [0, cols).
  uint32_t bucket(uint32_t row, uint64_t i) const;
  /// Sign of coordinate i in row j, +1 or -1.
  float sign(uint32_t row, uint64_t i) const;
};

/// The table (rows x cols, row-major) of `x` (dim values).
std::vector<float> sketch(const sketch_shape& shape, const std::vector<float>& x);

/// Adds the table `other` into `into` (the same shape): the table of the sum of their vectors.
void merge(std::vector<float>& into, const std::vector<float>& other, const sketch_shape& shape);

/// The median-of-rows estimate of every coordinate.
std::vector<float> estimate(const sketch_shape& shape, const std::vector<float>& table);

/// The k coordinates with the largest estimates in magnitude, largest first (ties to the lower index), with
/// their estimates.
std::vector<std::pair<uint64_t, float>> top_k(const sketch_shape& shape, const std::vector<float>& table,
                                              uint64_t k);

/// The dense vector of the top-k estimates, zero elsewhere.
std::vector<float> unsketch(const sketch_shape& shape, const std::vector<float>& table, uint64_t k);

/// The linear (transpose) decode: every coordinate gets gain x (cols / dim) x the sum over rows of its signed
/// bucket. A row's buckets each hold about dim / cols coordinates, so gain 1 is about the least-squares
/// projection of the table back onto the sketch's row space (the sketch of the result is close to the table,
/// up to collisions across rows and uneven bucket loads), and gain dim / (rows x cols), the coordinates per
/// cell, is the unbiased estimate. The gain sets the step: the result is gain x rows x cols / dim times the
/// vector plus collision noise with about (coordinates per cell) times that part's energy, at every gain. A
/// dense update (no heavy hitters, as AdamW's nearly sign-like LoRA steps are) keeps a correlation of about
/// 1 / sqrt(1 + coordinates per cell) with its decode this way, where a top-k decode applies a few
/// coordinates picked mostly by collision noise. elsa::error when gain is not a positive number.
std::vector<float> linear_decode(const sketch_shape& shape, const std::vector<float>& table, double gain);

/// Error feedback at the sender: each update is sent as the sketch of (update + what earlier decodes
/// missed), and what the receiver's top-k decode of that sketch will miss is kept for the next one. So the
/// decoded updates plus the residual always add up to the updates sent (up to float rounding).
class sender_feedback {
public:
  sender_feedback(sketch_shape shape, uint64_t k);

  /// The table to send for `update` (dim values); the residual is updated.
  std::vector<float> compress(const std::vector<float>& update);

  const std::vector<float>& residual() const {
    return residual_;
  }

private:
  sketch_shape shape_;
  uint64_t k_;
  std::vector<float> residual_;
};

} // namespace elsa::compress
