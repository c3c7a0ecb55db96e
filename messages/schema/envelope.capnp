# The root of every ELSA message on the wire: format version, sender and exactly one body. Decoders read
# the union tag first, so a message of the wrong kind is rejected before any of its content is touched.
@0xfc49a60b97c27a5f;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("elsa::messages::wire");

using Common = import "common.capnp";
using RoundControl = import "round_control.capnp";
using Split = import "split.capnp";
using Adapter = import "adapter_update.capnp";
using Fp = import "fingerprint.capnp";
using Coordination = import "coordination.capnp";
using Hb = import "heartbeat.capnp";
using Err = import "error_report.capnp";

struct Envelope {
  version @0 :UInt16;
  # Wire-format version. Decoders accept only the version they were built with (currently 1).
  sender @1 :Common.Participant;
  # Who sent the message. Its id must be in range for its tier, and it must be allowed to send the body
  # (e.g. head/tail tensors and fingerprints only from the client they belong to, body tensors only from
  # an edge, trust and assignment updates only from the coordinator or the cloud).
  body :union {
    openRound @2 :RoundControl.OpenRound;
    # Cloud/coordinator -> edges -> clients: round r starts.
    closeRound @3 :RoundControl.CloseRound;
    # Round r is over (complete, quorum reached, deadline, aborted).
    roundAck @4 :RoundControl.RoundAck;
    # A participant confirms it took part in (or refused) round r.
    splitTensor @5 :Split.SplitTensor;
    # Activations or gradients crossing a split point.
    adapterUpdate @6 :Adapter.AdapterUpdate;
    # LoRA adapter weights (dense or count-sketched) going up or down the hierarchy.
    fingerprint @7 :Fp.Fingerprint;
    # A client's behaviour fingerprint on the public probe set.
    trustUpdate @8 :Coordination.TrustUpdate;
    # New trust scores from the coordinator.
    assignmentUpdate @9 :Coordination.AssignmentUpdate;
    # Clients moved between edges or clusters outside a round opening.
    heartbeat @10 :Hb.Heartbeat;
    # Liveness and round-trip-time probe (or its reply).
    errorReport @11 :Err.ErrorReport;
    # Something the sender could not handle.
    registration @12 :Coordination.Registration;
    # A participant announces itself (clients and edges to the coordinator, the coordinator to the cloud).
    peerTable @13 :Coordination.PeerTable;
    # The coordinator tells a participant whom it talks to.
  }
}
