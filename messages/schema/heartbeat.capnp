# Heartbeat conversation: liveness and round-trip time. A ping carries the sender's clock; the reply
# echoes it, so the pinger computes RTT from its own clock only. An edge pings every client; its ping to
# the coordinator carries the RTTs it measured (links), for latency-aware placement.
@0xd9dbf6f51b456e6f;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("elsa::messages::wire");

struct Heartbeat {
  seq @0 :UInt64;
  # Sequence number chosen by the pinger; the reply repeats it.
  sentNs @1 :Int64;
  # Sender's steady clock when the message left, in nanoseconds.
  echoNs @2 :Int64;
  # In a reply: the sentNs of the ping being answered (RTT = now - echoNs); 0 in a ping.
  isReply @3 :Bool;
  # False for a ping, true for its reply.
  queueLength @4 :UInt32;
  # Sender's pending work items (an edge's queued client steps); lets the coordinator see load.
  links @5 :List(LinkRtt);
  # In an edge's reply to the coordinator's ping: the RTT it measured to each client that answered.
}

struct LinkRtt {
  clientId @0 :UInt32;
  # The client at the other end of the link.
  rttMs @1 :Float64;
  # Round-trip time measured on the edge's clock, in milliseconds.
}
