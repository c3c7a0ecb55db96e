# Round control conversation: the cloud opens round r (with the coordinator's placement and split points),
# participants acknowledge, and whoever owns the round closes it.
@0xf767b43f44ac2e65;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("elsa::messages::wire");

using Common = import "common.capnp";

struct SplitPoint {
  clientId @0 :UInt32;
  # The client this plan is for.
  headBlocks @1 :UInt32;
  # a: transformer blocks the client runs before the edge (>= 1, so raw embeddings never leave it).
  tailBlocks @2 :UInt32;
  # b: transformer blocks the client runs after the edge, before the task head (0 for two-part splits).
}

struct OpenRound {
  round @0 :UInt32;
  # Round number r, counted from 0 by the cloud.
  localSteps @1 :UInt32;
  # kappa1: local split-training steps each client runs in this round.
  deadlineMs @2 :UInt64;
  # Milliseconds after receipt by which updates must arrive; later ones are stragglers.
  cloudRound @3 :Bool;
  # True when this edge round ends with a cloud aggregation (every kappa2-th edge round).
  assignments @4 :List(Common.Assignment);
  # Client -> edge and cluster placement for this round.
  splits @5 :List(SplitPoint);
  # Per-client split points (a, b) for this round.
  fingerprint @6 :Bool;
  # True when each client, after its local steps and before uploading, runs the public probes through
  # its split path and sends its behaviour fingerprint to the coordinator (ELSA.md 3.1).
  sampling @7 :Bool;
  # True when only some clients take part in this round ([topology] clients_per_round) ...
  sampled @8 :List(UInt32);
  # ... these of the receiving edge's clients (possibly none); the others get no opening.
}

enum CloseReason {
  complete @0;
  # Every expected participant reported.
  quorum @1;
  # The deadline passed but the minimum fraction had reported.
  deadline @2;
  # The deadline passed without a quorum; the round's updates are discarded.
  aborted @3;
  # Closed early (shutdown or unrecoverable fault).
}

struct CloseRound {
  round @0 :UInt32;
  # The round being closed.
  reason @1 :CloseReason;
  # Why it closed.
  reported @2 :UInt32;
  # Participants whose updates were used.
  expected @3 :UInt32;
  # Participants that were asked to report.
}

enum AckOf {
  open @0;
  # Acknowledges an OpenRound.
  close @1;
  # Acknowledges a CloseRound.
}

struct RoundAck {
  round @0 :UInt32;
  # The round acknowledged.
  of @1 :AckOf;
  # Which round-control message is acknowledged.
  accepted @2 :Bool;
  # False when the participant refuses (e.g. still busy with an older round).
  detail @3 :Text;
  # Why it refused; empty when accepted.
}
