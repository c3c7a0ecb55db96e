# Split forward/backward conversation between a client and its edge (U-shape): head activations go up,
# body activations come down, tail gradients go up, body gradients come down.
@0xf6aea99db8c7a1fd;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("elsa::messages::wire");

using Common = import "common.capnp";

enum Segment {
  head @0;
  # Client-side first segment (embeddings + first a blocks).
  body @1;
  # Edge-side middle segment.
  tail @2;
  # Client-side last segment (last b blocks, final norm, task head).
}

enum Role {
  activation @0;
  # Forward pass output of `segment`.
  gradient @1;
  # Backward pass: gradient of the loss with respect to the input of `segment`.
}

struct SplitTensor {
  round @0 :UInt32;
  # Round the step belongs to.
  step @1 :UInt32;
  # Local step within the round (0 .. kappa1-1); pairs a forward with its backward.
  clientId @2 :UInt32;
  # Whose batch this is; the edge keeps per-client state.
  segment @3 :Segment;
  # Segment that produced the tensor: (head, activation), (body, activation), (tail, gradient) or
  # (body, gradient). Other combinations are rejected.
  role @4 :Role;
  # Activation (forward) or gradient (backward).
  tensor @5 :Common.Tensor;
  # (batch, seq, d_model) hidden states or their gradients.
  seqLengths @6 :List(UInt32);
  # Optional: real (unpadded) length of each row; empty means all rows are full length.
  labels @7 :List(UInt32);
  # Optional: class labels, only for two-part split baselines (SplitFed); always empty in the U-shape.
  probe @8 :Bool;
  # True for a batch of the public probe set (a fingerprint): the edge runs its body without gradients
  # and keeps nothing for a backward; `step` is then the probe batch's index.
  loss @9 :Float32;
  # Optional: the step's loss, on the edge's gradient reply of a two-part split (SplitFed), where the edge
  # computes it; 0 otherwise.
}
