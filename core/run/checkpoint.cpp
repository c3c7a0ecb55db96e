// Checkpoints of a run (see checkpoint.hpp).
#include "core/run/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <regex>
#include <type_traits>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/files.hpp"

namespace elsa::run {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr char magic[8] = {'E', 'L', 'S', 'A', 'C', 'K', 'P', 'T'};
constexpr std::size_t header_size = 8 + 4 + 8 + 8;
// A checkpoint holds adapters, not a model (the quickstart's cloud checkpoint is 398 KB): anything larger than
// this is not one of ours, and is refused before it is read.
constexpr uint64_t max_payload = uint64_t{64} << 20;
// Our payloads nest 5 deep; a crafted one must not exhaust the stack.
constexpr std::size_t max_depth = 32;

// Builds the payload's JSON like nlohmann's own DOM parser, but refuses what no checkpoint has: nesting deeper
// than max_depth, or an object or array that claims more entries than the payload has bytes (nlohmann would
// throw on that rather than report it).
class bounded_sax {
public:
  bounded_sax(json& result, std::size_t budget) : dom_(result, false), budget_(budget) {}
  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) { return dom_.number_float(v, s); }
  bool string(json::string_t& v) { return dom_.string(v); }
  bool binary(json::binary_t& v) { return dom_.binary(v); }
  bool key(json::string_t& v) { return dom_.key(v); }
  bool start_object(std::size_t n) { return open(n) && dom_.start_object(n); }
  bool start_array(std::size_t n) { return open(n) && dom_.start_array(n); }
  bool end_object() { --depth_; return dom_.end_object(); }
  bool end_array() { --depth_; return dom_.end_array(); }
  template <class Exception>
  bool parse_error(std::size_t at, const std::string& token, const Exception& ex) {
    why_ = ex.what();
    return dom_.parse_error(at, token, ex);
  }
  const std::string& why() const { return why_; }

private:
  bool open(std::size_t n) {
    if (++depth_ > max_depth) {
      why_ = fmt::format("nested deeper than {}", max_depth);
      return false;
    }
    if (n != static_cast<std::size_t>(-1) && n > budget_) {
      why_ = fmt::format("a list claims {} entries in a {}-byte payload", n, budget_);
      return false;
    }
    return true;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::size_t budget_;
  std::size_t depth_ = 0;
  std::string why_;
};

uint64_t fnv1a(const uint8_t* data, std::size_t size) {
  uint64_t h = 1469598103934665603ULL;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 1099511628211ULL;
  }
  return h;
}

void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

std::vector<uint8_t> frame(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out(magic, magic + 8);
  put_le(out, checkpoint_format, 4);
  put_le(out, payload.size(), 8);
  put_le(out, fnv1a(payload.data(), payload.size()), 8);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

[[noreturn]] void bad(const std::string& name, const std::string& what) {
  throw error(errc::malformed_input, fmt::format("checkpoint {}: {}", name, what));
}

// Not a damaged file but another run's (or another config's): no older checkpoint would do either.
[[noreturn]] void other_run(const std::string& name, const std::string& what) {
  throw error(errc::invalid_argument, fmt::format("checkpoint {}: {}", name, what));
}

// The payload's JSON object, after the header's checks.
json unframe(const uint8_t* data, std::size_t size, const std::string& name) {
  if (size < header_size)
    bad(name, fmt::format("truncated ({} bytes, shorter than the {}-byte header)", size, header_size));
  if (std::memcmp(data, magic, 8) != 0)
    bad(name, "not an ELSA checkpoint (no ELSACKPT header)");
  const auto version = get_le(data + 8, 4);
  if (version != checkpoint_format)
    bad(name, fmt::format("format version {}; this build reads version {}", version, checkpoint_format));
  const auto length = get_le(data + 12, 8);
  if (length > max_payload)
    bad(name, fmt::format("claims a payload of {} bytes", length));
  if (size - header_size < length)
    bad(name, fmt::format("truncated (payload has {} of {} bytes)", size - header_size, length));
  if (size - header_size > length)
    bad(name, fmt::format("{} bytes after the payload", size - header_size - length));
  if (fnv1a(data + header_size, length) != get_le(data + 20, 8))
    bad(name, "checksum mismatch (the file is corrupt)");
  json body;
  bounded_sax sax(body, static_cast<std::size_t>(length));
  bool parsed = false;
  try {
    parsed = json::sax_parse(data + header_size, data + header_size + length, &sax, nlohmann::detail::input_format_t::cbor,
                             true);
  } catch (const json::exception& e) {
    bad(name, std::string("payload is not CBOR: ") + e.what());
  }
  if (!parsed)
    bad(name, "payload is not CBOR" + (sax.why().empty() ? std::string{} : ": " + sax.why()));
  if (!body.is_object())
    bad(name, "payload is not a CBOR object");
  return body;
}

// -- fields, each read with a clear line when missing or of the wrong type --

struct reader {
  const std::string& name;

  const json& at(const json& j, const char* key) const {
    if (!j.is_object() || !j.contains(key))
      bad(name, fmt::format("field '{}' is missing", key));
    return j[key];
  }
  template <class T>
  T number(const json& j, const char* key) const {
    const auto& v = at(j, key);
    if (!v.is_number())
      bad(name, fmt::format("field '{}' is not a number", key));
    if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer())
        bad(name, fmt::format("field '{}' is not an integer", key));
      if constexpr (std::is_unsigned_v<T>) {
        if (v.is_number_unsigned() ? v.get<uint64_t>() > std::numeric_limits<T>::max() : v.get<int64_t>() < 0)
          bad(name, fmt::format("field '{}' is out of range", key));
      } else if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        bad(name, fmt::format("field '{}' is out of range", key));
      }
    }
    return v.get<T>();
  }
  const json& array(const json& j, const char* key) const {
    const auto& v = at(j, key);
    if (!v.is_array())
      bad(name, fmt::format("field '{}' is not a list", key));
    return v;
  }
  const json& object(const json& j, const char* key) const {
    const auto& v = at(j, key);
    if (!v.is_object())
      bad(name, fmt::format("field '{}' is not an object", key));
    return v;
  }
  uint32_t id(const std::string& key, const char* what) const {
    if (key.empty() || key.size() > 9 || !std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }))
      bad(name, fmt::format("{} id '{}' is not a number", what, key));
    return static_cast<uint32_t>(std::stoul(key));
  }
};

json tensor_json(const messages::tensor_bytes& t) {
  const auto* p = reinterpret_cast<const uint8_t*>(t.data());
  return {{"dtype", static_cast<int>(t.type())},
          {"shape", t.shape()},
          {"data", json::binary(std::vector<uint8_t>(p, p + t.size_bytes()))}};
}

messages::tensor_bytes tensor_from(const reader& r, const json& j) {
  const auto type = r.number<uint32_t>(j, "dtype");
  if (type > static_cast<uint32_t>(messages::dtype::bf16))
    bad(r.name, fmt::format("tensor dtype {} is unknown", type));
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (const auto& d : r.array(j, "shape")) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 32))
      bad(r.name, "a tensor dimension is not a size");
    shape.push_back(d.get<int64_t>());
    if (numel > (int64_t{1} << 40) / std::max<int64_t>(shape.back(), 1))
      bad(r.name, "a tensor is too large");
    numel *= shape.back();
  }
  const auto& data = r.at(j, "data");
  if (!data.is_binary())
    bad(r.name, "tensor data is not a byte string");
  const auto& bytes = data.get_binary();
  const auto dt = static_cast<messages::dtype>(type);
  if (static_cast<uint64_t>(numel) * messages::dtype_size(dt) != bytes.size())
    bad(r.name, fmt::format("a tensor of {} elements has {} bytes", numel, bytes.size()));
  return messages::tensor_bytes::copy_of(dt, std::move(shape), bytes.data(), bytes.size());
}

json tensors_json(const std::vector<messages::named_tensor>& set) {
  json out = json::array();
  for (const auto& nt : set) {
    auto t = tensor_json(nt.tensor);
    t["name"] = nt.name;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<messages::named_tensor> tensors_from(const reader& r, const json& list) {
  std::vector<messages::named_tensor> out;
  for (const auto& t : list) {
    const auto& n = r.at(t, "name");
    if (!n.is_string() || n.get<std::string>().empty())
      bad(r.name, "a tensor name is not a non-empty string");
    out.push_back({n.get<std::string>(), tensor_from(r, t)});
    for (std::size_t i = 0; i + 1 < out.size(); ++i)
      if (out[i].name == out.back().name)
        bad(r.name, fmt::format("tensor '{}' appears twice", out.back().name));
  }
  return out;
}

template <class V>
json map_json(const std::map<uint32_t, V>& m) {
  json out = json::object();
  for (const auto& [k, v] : m)
    out[std::to_string(k)] = v;
  return out;
}

json stamp(const run_config& cfg, const char* role, uint32_t cloud_rounds) {
  return {{"role", role}, {"cloud_rounds", cloud_rounds}, {"clients", cfg.clients}, {"edges", cfg.edges},
          {"kappa2", cfg.kappa2}, {"seed", cfg.seed}};
}

// The run's shape in the checkpoint against the config it is resumed with.
uint32_t check_stamp(const reader& r, const json& body, const run_config& cfg, const char* role) {
  const auto& who = r.at(body, "role");
  if (!who.is_string() || who.get<std::string>() != role)
    bad(r.name, fmt::format("is not a {} checkpoint", role));
  const auto rounds = r.number<uint32_t>(body, "cloud_rounds");
  for (const auto& [key, want] : {std::pair<const char*, int64_t>{"clients", cfg.clients},
                                  {"edges", cfg.edges}, {"kappa2", cfg.kappa2}}) {
    const auto have = r.number<int64_t>(body, key);
    if (have != want)
      other_run(r.name, fmt::format("was written by a run with {} = {}, this config has {}", key, have, want));
  }
  const auto seed = r.number<uint64_t>(body, "seed");
  if (seed != cfg.seed)
    other_run(r.name, fmt::format("was written by a run with seed {}, this config has {}", seed, cfg.seed));
  if (rounds == 0 || static_cast<int64_t>(rounds) >= cfg.cloud_rounds())
    bad(r.name, fmt::format("is of cloud round {}, outside 1..{} of this run", rounds, cfg.cloud_rounds() - 1));
  return rounds;
}

json fingerprint_json(const messages::fingerprint& fp) {
  json j = {{"round", fp.round}, {"client", fp.client_id}, {"probes", fp.probe_count}};
  if (const auto* g = std::get_if<messages::gaussian_fingerprint>(&fp.form)) {
    j["form"] = "gaussian";
    j["mean"] = tensor_json(g->mean);
    j["variance"] = tensor_json(g->variance);
  } else {
    j["form"] = "predictive";
    j["probs"] = tensor_json(std::get<messages::predictive_fingerprint>(fp.form).probs);
  }
  return j;
}

messages::fingerprint fingerprint_from(const reader& r, const json& j) {
  messages::fingerprint fp;
  fp.round = r.number<uint32_t>(j, "round");
  fp.client_id = r.number<uint32_t>(j, "client");
  fp.probe_count = r.number<uint32_t>(j, "probes");
  const auto& form = r.at(j, "form");
  if (form == "gaussian")
    fp.form = messages::gaussian_fingerprint{tensor_from(r, r.object(j, "mean")), tensor_from(r, r.object(j, "variance"))};
  else if (form == "predictive")
    fp.form = messages::predictive_fingerprint{tensor_from(r, r.object(j, "probs"))};
  else
    bad(r.name, "a fingerprint's form is neither gaussian nor predictive");
  return fp;
}

json body_of(const cloud_checkpoint& c, const run_config& cfg) {
  auto body = stamp(cfg, "cloud", c.cloud_rounds);
  json global = json::array();
  for (const auto& set : c.global)
    global.push_back(tensors_json(set));
  body["global"] = std::move(global);
  body["cluster_of"] = map_json(c.cluster_of);
  json errors = json::object();
  for (const auto& [k, v] : c.sketch_error) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    errors[std::to_string(k)] = json::binary(std::vector<uint8_t>(p, p + v.size() * sizeof(float)));
  }
  body["sketch_error"] = std::move(errors);
  return body;
}

json body_of(const coordinator_checkpoint& c, const run_config& cfg) {
  auto body = stamp(cfg, "coordinator", c.cloud_rounds);
  body["cluster_of"] = map_json(c.cluster_of);
  body["trust"] = map_json(c.trust);
  json fps = json::object();
  for (const auto& [k, fp] : c.last_fingerprints)
    fps[std::to_string(k)] = fingerprint_json(fp);
  body["last_fingerprints"] = std::move(fps);
  body["reclustered_round"] = c.reclustered_round;
  json as = json::array(), splits = json::array(), rtt = json::array();
  for (const auto& a : c.assignments)
    as.push_back({a.client_id, a.edge_id, a.cluster_id});
  for (const auto& s : c.splits)
    splits.push_back({s.client_id, s.head_blocks, s.tail_blocks});
  for (double v : c.rtt_ms)
    rtt.push_back(std::isnan(v) ? json(nullptr) : json(v));
  body["assignments"] = std::move(as);
  body["splits"] = std::move(splits);
  body["rtt_ms"] = std::move(rtt);
  body["placed"] = c.placed;
  return body;
}

// A list of [a, b, c] triples of ids.
std::vector<std::array<uint32_t, 3>> triples(const reader& r, const json& list, const char* what) {
  std::vector<std::array<uint32_t, 3>> out;
  for (const auto& t : list) {
    if (!t.is_array() || t.size() != 3)
      bad(r.name, fmt::format("an entry of '{}' is not three numbers", what));
    std::array<uint32_t, 3> v{};
    for (std::size_t i = 0; i < 3; ++i) {
      if (!t[i].is_number_unsigned() || t[i].get<uint64_t>() > 0xffffffffULL)
        bad(r.name, fmt::format("an entry of '{}' is not three numbers", what));
      v[i] = t[i].get<uint32_t>();
    }
    out.push_back(v);
  }
  return out;
}

void write_one(const fs::path& dir, const std::string& role, uint32_t cloud_rounds, const uint8_t* data, std::size_t size) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw error(errc::io_error, fmt::format("{}: cannot create the checkpoint folder: {}", dir.string(), ec.message()));
  write_file_atomically(checkpoint_path(dir, role, cloud_rounds),
                        std::string_view(reinterpret_cast<const char*>(data), size));
  // Keep the three newest: while the cloud's newest waits for the coordinator's part, the two before it are
  // complete pairs, so a resume whose newest checkpoint cannot be used still has one to fall back to.
  const auto all = checkpoints_of(dir, role);
  for (std::size_t i = 3; i < all.size(); ++i)
    fs::remove(checkpoint_path(dir, role, all[i]), ec);
}

std::vector<uint8_t> read_all(const fs::path& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec)
    throw error(errc::file_not_found, fmt::format("checkpoint {}: cannot be opened ({})", file.string(), ec.message()));
  if (size > max_payload + header_size)
    throw error(errc::malformed_input, fmt::format("checkpoint {}: {} bytes, larger than any checkpoint ({} MiB at most)",
                                                   file.string(), size, max_payload >> 20));
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw error(errc::file_not_found, fmt::format("checkpoint {}: cannot be opened", file.string()));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A record line's integer field, or -1 when it has none (or not an integer).
int64_t int_field(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}

std::string text_field(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// The lines of a JSON-lines file that parse as objects, up to the first that does not (a partial last line
// of a killed run); how many were left out.
std::vector<json> json_lines(const fs::path& file, int64_t& left_out) {
  std::vector<json> out;
  std::ifstream in(file, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find('\n', at);
    if (end == std::string::npos) {  // no newline: written partly when the process died
      ++left_out;
      break;
    }
    bool too_deep = false;  // not a line the recorder wrote (its nest 4 deep); also kept from dump()'s recursion
    const json::parser_callback_t depth = [&too_deep](int d, json::parse_event_t, json&) {
      too_deep = too_deep || d > 32;
      return true;
    };
    auto line = json::parse(text.begin() + static_cast<std::ptrdiff_t>(at), text.begin() + static_cast<std::ptrdiff_t>(end),
                            depth, false);
    at = end + 1;
    if (too_deep || line.is_discarded() || !line.is_object()) {
      ++left_out;
      break;
    }
    out.push_back(std::move(line));
  }
  return out;
}

} // namespace

fs::path checkpoint_path(const fs::path& dir, const std::string& role, uint32_t cloud_rounds) {
  return dir / fmt::format("{}-{:06d}.ckpt", role, cloud_rounds);
}

std::vector<uint32_t> checkpoints_of(const fs::path& dir, const std::string& role) {
  std::vector<uint32_t> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return out;
  const std::regex pattern(role + "-([0-9]{6})\\.ckpt");
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const auto name = e.path().filename().string();
    if (std::regex_match(name, m, pattern))
      out.push_back(static_cast<uint32_t>(std::stoul(m[1].str())));
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

std::vector<uint8_t> frame_payload(const uint8_t* payload, std::size_t size) {
  return frame(std::vector<uint8_t>(payload, payload + size));
}

std::vector<uint8_t> checkpoint_bytes(const cloud_checkpoint& c, const run_config& cfg) {
  return frame(json::to_cbor(body_of(c, cfg)));
}

std::vector<uint8_t> checkpoint_bytes(const coordinator_checkpoint& c, const run_config& cfg) {
  return frame(json::to_cbor(body_of(c, cfg)));
}

void write_checkpoint(const fs::path& dir, const cloud_checkpoint& c, const run_config& cfg) {
  const auto bytes = checkpoint_bytes(c, cfg);
  write_one(dir, "cloud", c.cloud_rounds, bytes.data(), bytes.size());
}

void write_checkpoint(const fs::path& dir, const coordinator_checkpoint& c, const run_config& cfg) {
  const auto bytes = checkpoint_bytes(c, cfg);
  write_one(dir, "coordinator", c.cloud_rounds, bytes.data(), bytes.size());
}

void write_checkpoint_bytes(const fs::path& dir, const std::string& role, uint32_t cloud_rounds, const uint8_t* data,
                            std::size_t size) {
  write_one(dir, role, cloud_rounds, data, size);
}

cloud_checkpoint cloud_checkpoint_from_bytes(const uint8_t* data, std::size_t size, const std::string& name,
                                             const run_config& cfg) {
  const auto body = unframe(data, size, name);
  const reader r{name};
  cloud_checkpoint c;
  c.cloud_rounds = check_stamp(r, body, cfg, "cloud");
  const auto& global = r.array(body, "global");
  if (global.empty())
    bad(name, "has no clusters");
  for (const auto& set : global) {
    if (!set.is_array())
      bad(name, "a cluster's adapters are not a list");
    c.global.push_back(tensors_from(r, set));
  }
  for (const auto& [k, v] : r.object(body, "cluster_of").items()) {
    const auto client = r.id(k, "client");
    if (!v.is_number_unsigned() || v.get<uint64_t>() >= c.global.size() || static_cast<int64_t>(client) >= cfg.clients)
      bad(name, fmt::format("client {}'s cluster is not one of the {} clusters", k, c.global.size()));
    c.cluster_of[client] = v.get<uint32_t>();
  }
  for (const auto& [k, v] : r.object(body, "sketch_error").items()) {
    const auto cluster = r.id(k, "cluster");
    if (!v.is_binary() || v.get_binary().size() % sizeof(float) != 0 || cluster >= c.global.size())
      bad(name, fmt::format("the sketch error of cluster {} is not a list of floats of a cluster", k));
    std::vector<float> e(v.get_binary().size() / sizeof(float));
    if (!e.empty())
      std::memcpy(e.data(), v.get_binary().data(), v.get_binary().size());
    c.sketch_error[cluster] = std::move(e);
  }
  return c;
}

coordinator_checkpoint coordinator_checkpoint_from_bytes(const uint8_t* data, std::size_t size,
                                                         const std::string& name, const run_config& cfg) {
  const auto body = unframe(data, size, name);
  const reader r{name};
  coordinator_checkpoint c;
  c.cloud_rounds = check_stamp(r, body, cfg, "coordinator");
  auto client_id = [&](const std::string& k) {
    const auto id = r.id(k, "client");
    if (static_cast<int64_t>(id) >= cfg.clients)
      bad(name, fmt::format("client {} is not in this run of {} clients", id, cfg.clients));
    return id;
  };
  for (const auto& [k, v] : r.object(body, "cluster_of").items()) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() > 0xffffffffULL)
      bad(name, fmt::format("client {}'s cluster is not a number", k));
    c.cluster_of[client_id(k)] = v.get<uint32_t>();
  }
  for (const auto& [k, v] : r.object(body, "trust").items()) {
    if (!v.is_number() || !(v.get<double>() >= 0.0 && v.get<double>() <= 1.0))
      bad(name, fmt::format("client {}'s trust is not a number in [0, 1]", k));
    c.trust[client_id(k)] = v.get<double>();
  }
  for (const auto& [k, v] : r.object(body, "last_fingerprints").items())
    c.last_fingerprints[client_id(k)] = fingerprint_from(r, v);
  c.reclustered_round = r.number<int64_t>(body, "reclustered_round");
  for (const auto& t : triples(r, r.array(body, "assignments"), "assignments")) {
    if (static_cast<int64_t>(t[0]) >= cfg.clients || static_cast<int64_t>(t[1]) >= cfg.edges)
      bad(name, fmt::format("the assignment of client {} to edge {} is outside this run", t[0], t[1]));
    c.assignments.push_back({t[0], t[1], t[2]});
  }
  for (const auto& t : triples(r, r.array(body, "splits"), "splits")) {
    if (static_cast<int64_t>(t[0]) >= cfg.clients)
      bad(name, fmt::format("the split point of client {} is outside this run", t[0]));
    c.splits.push_back({t[0], t[1], t[2]});
  }
  // Both by client id, every client once (the coordinator indexes them so).
  if (c.assignments.size() != static_cast<std::size_t>(cfg.clients) || c.splits.size() != c.assignments.size())
    bad(name, fmt::format("has {} assignments and {} split points for {} clients", c.assignments.size(),
                          c.splits.size(), cfg.clients));
  for (std::size_t i = 0; i < c.assignments.size(); ++i)
    if (c.assignments[i].client_id != i || c.splits[i].client_id != i)
      bad(name, "assignments and split points are not by client id");
  for (const auto& v : r.array(body, "rtt_ms")) {
    if (!v.is_null() && !v.is_number())
      bad(name, "an RTT is neither a number nor null");
    c.rtt_ms.push_back(v.is_null() ? NAN : v.get<double>());
  }
  if (c.rtt_ms.size() != static_cast<std::size_t>(cfg.clients * cfg.edges))
    bad(name, fmt::format("has {} RTTs for {} clients x {} edges", c.rtt_ms.size(), cfg.clients, cfg.edges));
  const auto& placed = r.at(body, "placed");
  if (!placed.is_boolean())
    bad(name, "field 'placed' is not true or false");
  c.placed = placed.get<bool>();
  return c;
}

cloud_checkpoint read_cloud_checkpoint(const fs::path& file, const run_config& cfg) {
  const auto bytes = read_all(file);
  return cloud_checkpoint_from_bytes(bytes.data(), bytes.size(), file.string(), cfg);
}

coordinator_checkpoint read_coordinator_checkpoint(const fs::path& file, const run_config& cfg) {
  const auto bytes = read_all(file);
  return coordinator_checkpoint_from_bytes(bytes.data(), bytes.size(), file.string(), cfg);
}

std::string layout_mismatch(const cloud_checkpoint& c, const std::vector<std::vector<messages::named_tensor>>& initial) {
  if (c.global.size() != initial.size())
    return fmt::format("it has {} clusters, this run {}", c.global.size(), initial.size());
  for (std::size_t k = 0; k < initial.size(); ++k) {
    std::map<std::string, const messages::tensor_bytes*> have;
    for (const auto& nt : c.global[k])
      have[nt.name] = &nt.tensor;
    if (have.size() != initial[k].size())
      return fmt::format("cluster {} has {} tensors, this run's adapters {}", k, have.size(), initial[k].size());
    for (const auto& nt : initial[k]) {
      const auto it = have.find(nt.name);
      if (it == have.end())
        return fmt::format("cluster {} has no tensor '{}'", k, nt.name);
      if (it->second->type() != nt.tensor.type() || it->second->shape() != nt.tensor.shape())
        return fmt::format("tensor '{}' of cluster {} has another dtype or shape than this run's", nt.name, k);
    }
  }
  return {};
}

resume_point plan_resume(const fs::path& run_dir, const run_config& cfg, bool fallback) {
  const auto summary_file = run_dir / "summary.json";
  std::error_code ec;
  if (fs::exists(summary_file, ec)) {
    std::ifstream in(summary_file);
    const auto s = json::parse(in, nullptr, false);
    if (s.is_object() && s.value("finished", false))
      throw error(errc::invalid_argument,
                  fmt::format("{}: the run finished; there is nothing to resume", run_dir.string()));
  }
  resume_point p;
  int64_t left_out = 0, events_left_out = 0;
  auto lines = json_lines(run_dir / "metrics.jsonl", left_out);
  auto events = json_lines(run_dir / "events.jsonl", events_left_out);
  // Rounds recorded in order from 0, as the recorder writes them.
  int64_t recorded = 0;
  while (recorded < static_cast<int64_t>(lines.size()) && int_field(lines[recorded], "round") == recorded)
    ++recorded;
  const auto dir = run_dir / "checkpoints";
  const auto coordinators = checkpoints_of(dir, "coordinator");
  bool corrupt = false;  // a checkpoint was passed over as damaged
  for (auto n : checkpoints_of(dir, "cloud")) {
    const auto file = checkpoint_path(dir, "cloud", n);
    if (std::find(coordinators.begin(), coordinators.end(), n) == coordinators.end()) {
      p.notes.push_back(fmt::format("cloud round {}: the coordinator's checkpoint was never written", n));
      continue;  // the process died between the two writes: the one before is whole
    }
    if (static_cast<int64_t>(n) * cfg.kappa2 > recorded) {
      p.notes.push_back(fmt::format("cloud round {}: metrics.jsonl has {} of its {} rounds", n, recorded,
                                    static_cast<int64_t>(n) * cfg.kappa2));
      continue;
    }
    try {
      auto cloud = read_cloud_checkpoint(file, cfg);
      auto coordinator = read_coordinator_checkpoint(checkpoint_path(dir, "coordinator", n), cfg);
      if (cloud.cloud_rounds != n || coordinator.cloud_rounds != n)
        throw error(errc::malformed_input, fmt::format("checkpoint {}: its content is of another cloud round", file.string()));
      p.cloud_rounds = n;
      p.cloud = std::move(cloud);
      p.coordinator = std::move(coordinator);
      break;
    } catch (const error& e) {
      if (e.code() != errc::malformed_input)
        throw;  // another run's checkpoint, or unreadable: no older one would do
      if (!fallback)
        throw error(e.code(), fmt::format("{}; resume with --fallback to use the checkpoint before it", e.what()));
      p.notes.push_back(e.what());
      corrupt = true;
    }
  }
  if (corrupt && !p.cloud)
    throw error(errc::malformed_input,
                fmt::format("{}: no checkpoint is readable ({}); nothing was changed. To start over: elsa run "
                            "{}/config.toml --out {} --force",
                            run_dir.string(), p.notes.back(), run_dir.string(), run_dir.string()));
  const auto keep = static_cast<int64_t>(p.cloud_rounds) * cfg.kappa2;
  p.dropped_lines = static_cast<int64_t>(lines.size()) - keep + left_out;
  lines.resize(static_cast<std::size_t>(keep));
  p.lines = std::move(lines);
  for (auto& ev : events) {
    if (text_field(ev, "type") == "final")
      continue;
    if (int_field(ev, "round") >= keep)
      continue;  // of a round run again
    p.events.push_back(std::move(ev));
  }
  if (p.cloud_rounds == 0)
    p.notes.push_back("no usable checkpoint: the run starts again from round 0");
  return p;
}

void cut_record(const fs::path& run_dir, const resume_point& p) {
  // Checkpoints newer than the one resumed from belong to the rounds run again: the resumed run writes its
  // own, and none of theirs may pair with one of its.
  for (const char* role : {"cloud", "coordinator"})
    for (auto n : checkpoints_of(run_dir / "checkpoints", role))
      if (n > p.cloud_rounds) {
        std::error_code ec;
        fs::remove(checkpoint_path(run_dir / "checkpoints", role, n), ec);
        if (ec)
          throw error(errc::io_error, fmt::format("{}: cannot remove it ({}); it is of a round the resumed run "
                                                  "runs again",
                                                  checkpoint_path(run_dir / "checkpoints", role, n).string(),
                                                  ec.message()));
      }
  for (const auto& [name, list] : {std::pair<const char*, const std::vector<json>*>{"metrics.jsonl", &p.lines},
                                   {"events.jsonl", &p.events}}) {
    std::string text;
    for (const auto& l : *list)
      text += l.dump() + "\n";
    write_file_atomically(run_dir / name, text);
  }
}

} // namespace elsa::run
