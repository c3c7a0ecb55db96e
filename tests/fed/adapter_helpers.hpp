// Small f32 adapter sets for the adapter-arithmetic and aggregation tests: build a named 1-D tensor from
// values, read the values back.
#pragma once

#include <string>
#include <vector>

#include "messages/types.hpp"

namespace elsa::fed {

inline messages::named_tensor f32(const std::string& name, std::vector<float> values) {
  return {name, messages::tensor_bytes::copy_of(messages::dtype::f32, {static_cast<int64_t>(values.size())},
                                                values.data(), values.size() * sizeof(float))};
}

inline std::vector<float> values(const messages::named_tensor& t) {
  const auto* p = reinterpret_cast<const float*>(t.tensor.data());
  return {p, p + t.tensor.numel()};
}

} // namespace elsa::fed
