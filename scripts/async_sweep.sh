#!/bin/sh
# Asynchronous edges against synchronous rounds (docs/mechanisms.md section 2): configs/heterogeneous.toml (or
# CONFIG) synchronous with the dynamic split and with (1, 1), the best fixed split every device can hold, and
# [topology] mode = "async" (FedBuff at each edge) with the dynamic split at buffer sizes 2 and 3 of each edge's
# 4 clients, with as many edge rounds as make the same number of aggregated uploads as the synchronous runs
# (20 and 14 instead of 10), same seed; then scripts/compare_splits.py prints the table and draws accuracy
# against simulated time, and each async run's waiting uploads and lags are listed.
#
#   scripts/async_sweep.sh [OUT_DIR [CONFIG]]   (defaults: runs/async, configs/heterogeneous.toml)
#
# Every run uses CAF's deterministic scheduler (--set run.deterministic=true), so reruns give the same numbers
# bit for bit. About 2.5 minutes per run on 2 cores, four runs.
set -eu
cd "$(dirname "$0")/.."
out=${1:-runs/async}
config=${2:-configs/heterogeneous.toml}
elsa=${ELSA:-build/elsa}
mkdir -p "$out"
det="--set run.deterministic=true"
fixed="--set split.mode=fixed --set split.head_blocks=1 --set split.tail_blocks=1"
"$elsa" run "$config" $det --out "$out/sync_dynamic" --force --quiet
"$elsa" run "$config" $det $fixed --out "$out/sync_fixed_1_1" --force --quiet
"$elsa" run "$config" $det --set topology.mode=async --set topology.buffer_size=2 --set topology.rounds=20 \
  --out "$out/async_b2" --force --quiet
"$elsa" run "$config" $det --set topology.mode=async --set topology.buffer_size=3 --set topology.rounds=14 \
  --out "$out/async_b3" --force --quiet
python3 scripts/compare_splits.py --plot "$out/async.svg" "sync-dynamic=$out/sync_dynamic" \
  "sync-fixed(1,1)=$out/sync_fixed_1_1" "async-dynamic-buffer-2=$out/async_b2" "async-dynamic-buffer-3=$out/async_b3"
echo
python3 - "$out/sync_dynamic" "$out/async_b2" "$out/async_b3" <<'PY'
import json, sys
def load(run):
    lines = [json.loads(x) for x in open(f"{run}/metrics.jsonl") if x.strip()]
    return lines, json.load(open(f"{run}/summary.json"))
sync_lines, sync = load(sys.argv[1])
for run in sys.argv[2:]:
    lines, summary = load(run)
    taken = sum(len(l.get("aggregated", [])) for l in lines)
    lags = [v for l in lines for v in l.get("staleness", {}).values()]
    print(f"{run}: {taken} uploads aggregated (sync: {sum(len(l.get('aggregated', [])) for l in sync_lines)}), "
          f"mean lag {sum(lags) / max(1, len(lags)):.2f} rounds, max {max(lags, default=0)}")
    print("  waiting after each edge round: " + " ".join(f"{l['round']}:{l.get('waiting', [])}" for l in lines))
    a, s = summary.get("sim_time_to_target_s"), sync.get("sim_time_to_target_s")
    ratio = f"{s / a:.2f}x" if a and s else "-"
    acc = lambda x: sum(t["test_accuracy"] for t in x["tasks"].values()) / len(x["tasks"])
    print(f"  to target: {a} s against sync dynamic {s} s ({ratio}); final test accuracy {acc(summary):.4f} "
          f"against {acc(sync):.4f}")
PY
