# Error conversation: a participant tells the sender (and the run record) that it could not handle a
# message. Errors are values; nobody crashes because of someone else's bytes.
@0xa518514e92881ff3;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("elsa::messages::wire");

enum ErrorCode {
  malformedMessage @0;
  # The bytes did not decode or broke a limit; resending the same bytes cannot help.
  unexpectedMessage @1;
  # Valid message, wrong kind or wrong time for the receiver's protocol state.
  outOfRange @2;
  # A value (id, round, size) is outside what the receiver allows.
  deadlineMissed @3;
  # The message arrived after its round's deadline.
  internal @4;
  # The receiver failed for its own reasons; a retry may help.
}

struct ErrorReport {
  code @0 :ErrorCode;
  # What kind of failure.
  round @1 :UInt32;
  # Round the failure belongs to (the receiver's current round if unknown).
  text @2 :Text;
  # One line for the run record: what was wrong and what the limit was.
}
