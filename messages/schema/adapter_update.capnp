# Adapter-update conversation: LoRA adapters up (client -> edge -> cloud) and down (cloud -> edge ->
# clients), either as named dense tensors or as one count sketch of their flattened concatenation.
@0xbeb936dd1bede57e;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("elsa::messages::wire");

using Common = import "common.capnp";

struct CountSketch {
  rows @0 :UInt32;
  # r: independent hash rows.
  cols @1 :UInt32;
  # c: buckets per row.
  seed @2 :UInt64;
  # Seeds the bucket and sign hashes; sender and receiver must agree on it to add or decode sketches.
  layout @3 :List(Common.TensorSpec);
  # The tensors that were flattened and concatenated, in order, so the receiver can unflatten.
  table @4 :Common.Tensor;
  # The r x c sketch, f32.
  exact @5 :List(Common.NamedTensor);
  # Tensors sent as they are beside the sketch, not in the layout: classifier heads, which are averaged per
  # task (aggregation is not one linear map over them), so they cannot share the table.
}

struct AdapterUpdate {
  round @0 :UInt32;
  # Round in which the update was produced.
  baseRound @1 :UInt32;
  # Round of the global adapters the sender started from; round - baseRound is the staleness.
  sampleCount @2 :UInt64;
  # Training samples behind the update (summed over clients for an aggregate); the aggregation weight.
  clusterId @3 :UInt32;
  # Cluster whose aggregate this is (client updates: the client's cluster).
  form :union {
    dense @4 :List(Common.NamedTensor);
    # Adapter tensors as they are, one per parameter name.
    sketch @5 :CountSketch;
    # Count-sketch compressed form (linear: edges and cloud add sketches).
  }
  simSeconds @6 :Float64;
  # A client's upload: the simulated seconds of its own work behind it (its compute and communication of the
  # round, up to and including this upload, on its configured device); what an edge enforcing
  # [profiles] deadline_s judges it by. 0 elsewhere.
}
