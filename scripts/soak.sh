#!/usr/bin/env bash
# The soak run of docs/faults.md (issue 16): the main job over 20 edge rounds, threaded on the real clock, once
# through a bad network (configs/soak.toml: 20% of messages lost, 10% held back, 1% damaged, edge 1 cut off for
# edge rounds 8 and 9) and once on a clean one (the same config with those set to 0). Messages are held back
# by 2x the split-step time measured on the clean run (per round, the slowest client's training time over its
# steps; averaged over the rounds). Reliable delivery ([faults] retry_ms) resends what is lost or
# damaged. Prints both test accuracies and what the network did; exits 1 when the faulty run did not finish or
# lost more than 3 points.
# Usage: scripts/soak.sh OUT_DIR [elsa run options for both runs, e.g. --set run.seed=7 (not --rounds)]
# (ELSA=... picks another program than build/elsa.)
set -euo pipefail
out=${1:?usage: scripts/soak.sh OUT_DIR [elsa run options]}
shift
elsa=${ELSA:-build/elsa}
rm -rf "$out"
mkdir -p "$out"
clean=(--set faults.net_drop=0 --set faults.net_delay=0 --set faults.net_corrupt=0 --set faults.partition_rounds=0)

start=$(date +%s)
"$elsa" run configs/soak.toml --out "$out/clean" --quiet "${clean[@]}" "$@" > /dev/null
clean_s=$(( $(date +%s) - start ))
# A split step: per round, the slowest client's training time over its local steps; averaged over the rounds.
step_ms=$(python3 - "$out/clean/metrics.jsonl" <<'PY'
import json, sys
per_step = []
for line in open(sys.argv[1]):
    l = json.loads(line)
    if l.get("steps", 0) > 0 and l.get("clients_reported", 0) > 0:
        per_step.append(l["train_seconds"] / (l["steps"] / l["clients_reported"]))
if not per_step:
    sys.exit("the clean run trained no steps")
print(max(1, round(1000 * sum(per_step) / len(per_step))))
PY
)
delay_ms=$(( 2 * step_ms ))
echo "clean run: ${clean_s} s; split step ${step_ms} ms, so messages are held back ${delay_ms} ms on average"

start=$(date +%s)
"$elsa" run configs/soak.toml --out "$out/soak" --quiet --set "faults.net_delay_ms=$delay_ms" "$@" \
  > /dev/null 2> "$out/soak.log" || {
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
clean_lines = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
expected = sum(l.get("clients_expected", 0) for l in lines)
reported = sum(l.get("clients_reported", 0) for l in lines)
print(f"soak run: {sys.argv[3]} s, finished: {soak.get('finished')}, {len(lines)} metrics lines, "
      f"client rounds reported {reported} of {expected}")
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
ok = soak.get("finished") is True and len(lines) == len(clean_lines) and a - b <= 0.03
print("within 3 points of the clean run" if ok else "NOT within 3 points of the clean run (or unfinished)")
sys.exit(0 if ok else 1)
PY
