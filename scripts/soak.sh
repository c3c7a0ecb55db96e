#!/usr/bin/env bash
# The soak run of docs/faults.md (issue 16): the main job over 20 edge rounds, threaded on the real clock, once
# on a clean network and once through a bad one: 20% of messages lost, 10% held back by a uniform draw of mean
# 2x the mean split-step time (measured on the clean run), 1% damaged, and edge 1 cut off from everyone for
# edge rounds 8 and 9. Reliable delivery ([faults] retry_ms) resends what is lost or damaged. Prints both test
# accuracies and what the network did; exits 1 when the faulty run did not finish or lost more than 3 points.
# Usage: scripts/soak.sh OUT_DIR [elsa run options, e.g. --set run.seed=7]
# (CONFIG=... picks another config than configs/quickstart.toml; ELSA=... another program than build/elsa.)
set -euo pipefail
out=${1:?usage: scripts/soak.sh OUT_DIR [elsa run options]}
shift
elsa=${ELSA:-build/elsa}
config=${CONFIG:-configs/quickstart.toml}
rm -rf "$out"
mkdir -p "$out"
# A partitioned edge's round ends at the round deadline: 30 s keeps the soak short (a round takes ~7 s here).
common=(--rounds 20 --set faults.round_deadline_ms=30000 --set run.deterministic=false --quiet)

start=$(date +%s)
"$elsa" run "$config" --out "$out/clean" "${common[@]}" "$@" > /dev/null
clean_s=$(( $(date +%s) - start ))
step_ms=$(python3 - "$out/clean/events.jsonl" <<'PY'
import json, sys
seconds = steps = 0
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev.get("type") == "client_round":
        seconds += ev.get("seconds", 0.0)
        steps += ev.get("steps", 0)
print(max(1, round(1000 * seconds / max(1, steps))))
PY
)
delay_ms=$(( 2 * step_ms ))
echo "clean run: ${clean_s} s; mean split step ${step_ms} ms, so messages are held back ${delay_ms} ms on average"

start=$(date +%s)
"$elsa" run "$config" --out "$out/soak" "${common[@]}" \
  --set faults.net_drop=0.2 --set faults.net_delay=0.1 --set "faults.net_delay_ms=$delay_ms" \
  --set faults.net_corrupt=0.01 --set "faults.partition_edges=[1]" --set faults.partition_round=8 \
  --set faults.partition_rounds=2 "$@" > /dev/null 2> "$out/soak.log" || {
  echo "the soak run failed:" >&2
  tail -5 "$out/soak.log" >&2
  exit 1
}
soak_s=$(( $(date +%s) - start ))

python3 - "$out/clean" "$out/soak" "$soak_s" <<'PY'
import json, sys
clean, soak = (json.load(open(d + "/summary.json")) for d in sys.argv[1:3])
def acc(s):
    tasks = s["tasks"]
    return sum(t["test_accuracy"] for t in tasks.values()) / len(tasks)
lines = [json.loads(l) for l in open(sys.argv[2] + "/metrics.jsonl")]
print(f"soak run: {sys.argv[3]} s, finished: {soak.get('finished')}, {len(lines)} metrics lines")
print(f"net_faults: {soak.get('net_faults', {})}")
print(f"resent {soak.get('resent', 0)}, duplicates ignored {soak.get('duplicates', 0)}, "
      f"undelivered {soak.get('undelivered', 0)}, error events {soak.get('errors', 0)}")
print("round  close_reasons                 clients_reported  steps  resent  undelivered")
for l in lines:
    reasons = ", ".join(f"{k} {v}" for k, v in l.get("close_reasons", {}).items())
    print(f"{l['round']:<6} {reasons:<29} {l.get('clients_reported', 0):<17} {l.get('steps', 0):<6} "
          f"{l.get('resent', 0):<7} {l.get('undelivered', 0)}")
a, b = acc(clean), acc(soak)
print(f"test accuracy: clean {a:.4f}, soak {b:.4f}, difference {100 * (a - b):.2f} points")
ok = soak.get("finished") is True and len(lines) == 20 and a - b <= 0.03
print("within 3 points of the clean run" if ok else "NOT within 3 points of the clean run (or unfinished)")
sys.exit(0 if ok else 1)
PY
