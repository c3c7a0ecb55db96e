# Types every ELSA conversation shares: who is talking, tensors described without LibTorch
# (dtype + shape + raw bytes), and where a client is placed. Imported by the per-conversation schemas.
@0xd2179001cec9e8b9;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("elsa::messages::wire");

enum DType {
  f32 @0;
  # IEEE 754 binary32; 4 bytes per element.
  f16 @1;
  # IEEE 754 binary16; 2 bytes per element. Activations travel this way when the config asks for it.
  bf16 @2;
  # bfloat16 (the upper half of a binary32); 2 bytes per element.
}

struct Tensor {
  dtype @0 :DType;
  # Element type; fixes the bytes per element.
  shape @1 :List(UInt64);
  # Extent of each dimension, outermost first. An empty list is a scalar (one element).
  data @2 :Data;
  # Row-major contiguous little-endian elements: exactly product(shape) * size(dtype) bytes. Data starts
  # on a word boundary, so a decoder can hand out a typed view without copying.
}

struct NamedTensor {
  name @0 :Text;
  # Hugging Face GPT-2 state-dict name of the parameter, e.g. "h.3.attn.c_attn.lora_a".
  tensor @1 :Tensor;
  # Its values.
}

struct TensorSpec {
  name @0 :Text;
  # State-dict name, as in NamedTensor.
  dtype @1 :DType;
  # Element type the receiver restores.
  shape @2 :List(UInt64);
  # Extent of each dimension, outermost first.
}

enum Tier {
  client @0;
  # Holds a data shard, the head and the tail of the model.
  edge @1;
  # Runs the body for its clients and aggregates per cluster.
  coordinator @2;
  # Clusters clients, keeps trust, assigns clients to edges and plans split points.
  cloud @3;
  # Aggregates adapters across edges and owns the round clock.
}

struct Participant {
  tier @0 :Tier;
  # Which role sent the message.
  id @1 :UInt32;
  # Index within the tier: clients 0..clients-1, edges 0..edges-1; always 0 for coordinator and cloud.
}

struct Assignment {
  clientId @0 :UInt32;
  # The client being placed.
  edgeId @1 :UInt32;
  # The edge server that runs its body and aggregates its adapters.
  clusterId @2 :UInt32;
  # Its behaviour cluster; adapters are aggregated per cluster.
}
