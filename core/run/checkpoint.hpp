// Checkpoints of a run: what the cloud and the coordinator persist at the end of every cloud round (except the
// last), so a run killed at any moment resumes from its last completed cloud round (`elsa run --resume RUN`,
// `elsa node ... --resume`, `elsa launch --resume`); and cutting a run's record back to the checkpoint it
// resumes from. Torch-free and actor-free: the roles hand their state in and take it back.
//
// One file per role and checkpoint: DIR/cloud-NNNNNN.ckpt and DIR/coordinator-NNNNNN.ckpt (NNNNNN: cloud
// rounds completed). Layout: "ELSACKPT", format version (u32), payload size (u64), FNV-1a 64 checksum of the
// payload (u64), all little-endian, then the payload: CBOR of one JSON object, tensors as CBOR byte strings.
// A checkpoint is written to a temporary file, fsync'd, renamed into place and the folder fsync'd, so a reader
// sees a whole checkpoint or none; the three newest of each role are kept (two complete pairs, also while the
// cloud's newest waits for the coordinator's part).
//
// What a checkpoint does not keep (docs/faults.md): client and edge optimiser state (AdamW moments start
// afresh), what the edges' count-sketch decodes left (nothing at a checkpoint: edges drop it every cloud
// round), updates in flight, and the SS-OP noise generators' positions. Batch order is not stored but
// derived: a client that starts at edge round r skips the r x kappa1 batches it would have drawn
// (fed::split_client::skip_batches).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/run/run_config.hpp"
#include "messages/types.hpp"

namespace elsa::run {

/// The format version this build writes and reads.
inline constexpr uint32_t checkpoint_format = 1;

/// The cloud's part: the global adapters and where each client's cluster stands.
struct cloud_checkpoint {
  uint32_t cloud_rounds = 0;                                 // completed cloud rounds behind it
  std::vector<std::vector<messages::named_tensor>> global;   // by cluster
  std::map<uint32_t, uint32_t> cluster_of;                   // client -> cluster
  std::map<uint32_t, std::vector<float>> sketch_error;       // cluster -> count-sketch error feedback
};

/// The coordinator's part: clusters, trust, placement and split points.
struct coordinator_checkpoint {
  uint32_t cloud_rounds = 0;
  std::map<uint32_t, uint32_t> cluster_of;
  std::map<uint32_t, double> trust;
  std::map<uint32_t, messages::fingerprint> last_fingerprints;  // each client's latest (for drift)
  int64_t reclustered_round = -1;
  std::vector<messages::assignment> assignments;  // by client id
  std::vector<messages::split_point> splits;      // by client id
  std::vector<double> rtt_ms;                     // clients x edges as last measured; NaN: never
  bool placed = false;                            // the first measurement placed the clients
};

/// DIR/<role>-NNNNNN.ckpt.
std::filesystem::path checkpoint_path(const std::filesystem::path& dir, const std::string& role, uint32_t cloud_rounds);

/// The cloud rounds of the checkpoints of `role` in `dir` (complete files by name only), newest first.
std::vector<uint32_t> checkpoints_of(const std::filesystem::path& dir, const std::string& role);

/// Writes atomically (see above) and keeps the three newest checkpoints of the role. `cfg` stamps the run's
/// shape (clients, edges, kappa2), checked on reading. elsa::error (io_error) naming the file on failure.
void write_checkpoint(const std::filesystem::path& dir, const cloud_checkpoint& c, const run_config& cfg);
void write_checkpoint(const std::filesystem::path& dir, const coordinator_checkpoint& c, const run_config& cfg);

/// Writes checkpoint bytes already checked (e.g. the coordinator's, received by the cloud) as `role`'s
/// checkpoint of `cloud_rounds`, the same way.
void write_checkpoint_bytes(const std::filesystem::path& dir, const std::string& role, uint32_t cloud_rounds,
                            const uint8_t* data, std::size_t size);

/// Reads and checks (magic, version, size, checksum, fields, the run's shape against `cfg`). elsa::error
/// with one line naming the file and what is wrong.
cloud_checkpoint read_cloud_checkpoint(const std::filesystem::path& file, const run_config& cfg);
coordinator_checkpoint read_coordinator_checkpoint(const std::filesystem::path& file, const run_config& cfg);

/// The same from bytes already in memory (`name` names them in errors): what the fuzz target drives.
cloud_checkpoint cloud_checkpoint_from_bytes(const uint8_t* data, std::size_t size, const std::string& name,
                                             const run_config& cfg);
coordinator_checkpoint coordinator_checkpoint_from_bytes(const uint8_t* data, std::size_t size,
                                                         const std::string& name, const run_config& cfg);

/// A checkpoint file around payload bytes as they are (header, true size and checksum): how tests and the fuzz
/// target reach the payload reader past the checksum.
std::vector<uint8_t> frame_payload(const uint8_t* payload, std::size_t size);

/// The encoded file of a checkpoint (what write_checkpoint writes), for tests and the fuzz corpus.
std::vector<uint8_t> checkpoint_bytes(const cloud_checkpoint& c, const run_config& cfg);
std::vector<uint8_t> checkpoint_bytes(const coordinator_checkpoint& c, const run_config& cfg);

/// Empty when the checkpoint's global adapters have the clusters, tensor names, dtypes and shapes of
/// `initial` (the adapters this run's model and config start from); else what differs, in one line.
std::string layout_mismatch(const cloud_checkpoint& c, const std::vector<std::vector<messages::named_tensor>>& initial);

/// Where a resumed run starts: the newest cloud round with both checkpoints readable and every metrics line
/// before it recorded (0: from the start, nothing restored), the record kept up to there, and why newer
/// checkpoints were passed over.
struct resume_point {
  uint32_t cloud_rounds = 0;
  std::optional<cloud_checkpoint> cloud;
  std::optional<coordinator_checkpoint> coordinator;
  std::vector<nlohmann::json> lines;   // metrics.jsonl lines kept: rounds 0 .. cloud_rounds x kappa2 - 1
  std::vector<nlohmann::json> events;  // events.jsonl lines kept: those of the kept rounds and round-less ones
  int64_t dropped_lines = 0;           // metrics lines of later rounds (run again) and a partial last line
  std::vector<std::string> notes;      // checkpoints passed over, one line each
};

/// Plans resuming run directory `run_dir` (written by a run of `cfg`): elsa::error when it finished already,
/// when its newest usable checkpoint is damaged and `fallback` is false (the line names the file and says to
/// use --fallback, which passes over damaged ones to the newest readable), when a checkpoint was written by
/// another run or config (invalid_argument: --fallback does not pass over that), or when every checkpoint is
/// damaged (rather than start over). Checkpoints are in run_dir/checkpoints. Changes nothing on disk.
resume_point plan_resume(const std::filesystem::path& run_dir, const run_config& cfg, bool fallback);

/// Rewrites run_dir's metrics.jsonl and events.jsonl to what `p` keeps (atomically, each file), so the resumed
/// run appends to them and every round appears once, and removes the checkpoints newer than p's (of rounds that
/// are run again).
void cut_record(const std::filesystem::path& run_dir, const resume_point& p);

} // namespace elsa::run
