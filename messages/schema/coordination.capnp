# Coordination conversation: the cluster coordinator pushes trust scores and client placements at any
# time; receivers apply them to their next aggregation or step.
@0x9de9f47698b931b1;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("elsa::messages::wire");

using Common = import "common.capnp";

struct TrustScore {
  clientId @0 :UInt32;
  # The client scored.
  score @1 :Float64;
  # tau_n in [0, 1]; aggregation weight is proportional to tau_n * |data_n|.
  excluded @2 :Bool;
  # True when tau_n < tau_min: leave the client out of aggregation.
}

struct TrustUpdate {
  round @0 :UInt32;
  # Round after which the scores were computed.
  scores @1 :List(TrustScore);
  # One entry per scored client; clients not listed keep their previous score.
}

enum AssignmentReason {
  initial @0;
  # First placement.
  recluster @1;
  # Clusters were recomputed.
  edgeDown @2;
  # An edge stopped answering; its clients move.
  latency @3;
  # A client's RTT to its edge exceeded the straggler deadline.
}

struct AssignmentUpdate {
  round @0 :UInt32;
  # First round the new placement applies to.
  reason @1 :AssignmentReason;
  # Why clients moved.
  assignments @2 :List(Common.Assignment);
  # The new placement of every client that moved.
  afterClose @3 :Bool;
  # A re-clustering decided after its round's edges closed (some fingerprints never came): their aggregates
  # followed the previous clusters, so the cloud starts each new cluster from the old ones its members left.
}

struct Registration {
  samples @0 :UInt64;
  # A client's training examples: its updates may not claim more. 0 for other roles.
  clusterId @1 :UInt32;
  # The task a client's data belongs to (its starting cluster under clustering = "task"). 0 otherwise.
}

struct PeerEntry {
  participant @0 :Common.Participant;
  # A registered participant.
  samples @1 :UInt64;
  # What it registered (clients: training examples).
  clusterId @2 :UInt32;
  # Its registered task (clients), as in Registration.clusterId.
}

struct PeerTable {
  peers @0 :List(PeerEntry);
  # Whom the receiver talks to. The actor message carrying this payload carries one actor handle per
  # entry, in the same order.
}
