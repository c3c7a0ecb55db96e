// The checkpoint reader's fuzzing oracle, shared by the libFuzzer target (tests/run/checkpoint_fuzzer.cpp,
// built with -DELSA_FUZZ=ON) and the replay test of the default build (checkpoint_fuzz_test.cpp). For any
// bytes, read as either role's checkpoint of the sample run: a refusal is an elsa::error whose line names the
// input ("checkpoint NAME: ..."), never another exception; an accepted checkpoint writes out and reads back
// equal (NaN RTTs included). check_payload does the same for bytes framed as a payload with a true checksum.
// Returns what broke, or "" if nothing.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/errors.hpp"
#include "core/run/checkpoint.hpp"

namespace elsa::run::fuzz {

namespace detail {

inline bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

inline bool same_doubles(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))))
      return false;
  return true;
}

inline std::string same(const cloud_checkpoint& a, const cloud_checkpoint& b) {
  if (a.cloud_rounds != b.cloud_rounds || !(a.global == b.global) || a.cluster_of != b.cluster_of
      || a.sketch_error.size() != b.sketch_error.size())
    return "a cloud checkpoint written out and read back is not the same";
  for (const auto& [k, v] : a.sketch_error)
    if (!b.sketch_error.count(k) || !same_floats(v, b.sketch_error.at(k)))
      return "a cloud checkpoint's sketch error changed on the way out and back";
  return {};
}

inline std::string same(const coordinator_checkpoint& a, const coordinator_checkpoint& b) {
  if (a.cloud_rounds != b.cloud_rounds || a.cluster_of != b.cluster_of || a.trust != b.trust
      || !(a.last_fingerprints == b.last_fingerprints) || a.reclustered_round != b.reclustered_round
      || !(a.assignments == b.assignments) || !(a.splits == b.splits) || !same_doubles(a.rtt_ms, b.rtt_ms)
      || a.placed != b.placed)
    return "a coordinator checkpoint written out and read back is not the same";
  return {};
}

template <class Read>
std::string one_role(const char* role, const uint8_t* data, std::size_t size, const run_config& cfg, Read read) {
  const std::string name = "fuzz";
  try {
    const auto c = read(data, size, name, cfg);
    const auto again = checkpoint_bytes(c, cfg);
    const auto back = read(again.data(), again.size(), name, cfg);
    if (auto why = same(c, back); !why.empty())
      return why;
    if (checkpoint_bytes(back, cfg) != again)
      return std::string("a ") + role + " checkpoint does not write out the same bytes twice";
  } catch (const elsa::error& e) {
    if (std::string(e.what()).rfind("checkpoint " + name + ": ", 0) != 0)
      return std::string("a refusal that does not name the input: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("the ") + role + " checkpoint reader threw " + e.what();
  }
  return {};
}

} // namespace detail

inline std::string check_bytes(const uint8_t* data, std::size_t size, const run_config& cfg) {
  if (auto why = detail::one_role("cloud", data, size, cfg, cloud_checkpoint_from_bytes); !why.empty())
    return why;
  return detail::one_role("coordinator", data, size, cfg, coordinator_checkpoint_from_bytes);
}

/// The same for the bytes as a payload, framed with a true checksum (a fuzzer does not get past an FNV-1a
/// checksum by mutation): the CBOR reader and every field check.
inline std::string check_payload(const uint8_t* data, std::size_t size, const run_config& cfg) {
  const auto file = frame_payload(data, size);
  return check_bytes(file.data(), file.size(), cfg);
}

} // namespace elsa::run::fuzz
