# Fingerprint conversation: a client reports how its current model behaves on the public probe set,
# so the coordinator can cluster clients and score their trust.
@0xacdd4d14fb6932b5;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("elsa::messages::wire");

using Common = import "common.capnp";

struct Fingerprint {
  round @0 :UInt32;
  # Round after whose warm-up the fingerprint was taken.
  clientId @1 :UInt32;
  # Whose fingerprint this is.
  probeCount @2 :UInt32;
  # Q: probes evaluated.
  form :union {
    gaussian :group {
      # Diagonal Gaussian fitted to the final hidden states over the probes.
      mean @3 :Common.Tensor;
      # (d) mean hidden state.
      variance @4 :Common.Tensor;
      # (d) per-dimension variance after shrinkage; same dtype and shape as mean.
    }
    predictive @5 :Common.Tensor;
    # (Q, classes) predictive distribution on each probe.
  }
}
