#!/bin/sh
# Stragglers from the profiles (docs/mechanisms.md section 2): configs/heterogeneous.toml (or CONFIG) with the
# dynamic split and with the best fixed split that fits every device, (1, 1), each without a deadline and with
# [profiles] deadline_s = DEADLINE (default 25 s) enforced, same seed; then scripts/compare_splits.py prints the
# table and draws accuracy against simulated time, and the uploads each run left out are listed.
#
#   scripts/deadline_sweep.sh [OUT_DIR [CONFIG [DEADLINE]]]   (defaults: runs/deadline, configs/heterogeneous.toml, 25)
#
# Every run uses CAF's deterministic scheduler (--set run.deterministic=true), so reruns give the same
# numbers bit for bit. About 2.5 minutes per run on 2 cores, four runs.
set -eu
cd "$(dirname "$0")/.."
out=${1:-runs/deadline}
config=${2:-configs/heterogeneous.toml}
deadline=${3:-25}
elsa=${ELSA:-build/elsa}
mkdir -p "$out"
det="--set run.deterministic=true"
enforce="--set profiles.deadline_s=$deadline --set profiles.enforce_deadline=true"
fixed="--set split.mode=fixed --set split.head_blocks=1 --set split.tail_blocks=1"
"$elsa" run "$config" $det --out "$out/dynamic" --force --quiet
"$elsa" run "$config" $det $enforce --out "$out/dynamic_deadline" --force --quiet
"$elsa" run "$config" $det $fixed --out "$out/fixed_1_1" --force --quiet
"$elsa" run "$config" $det $fixed $enforce --out "$out/fixed_1_1_deadline" --force --quiet
python3 scripts/compare_splits.py --plot "$out/deadline.svg" "dynamic=$out/dynamic" \
  "dynamic, deadline ${deadline} s=$out/dynamic_deadline" "fixed(1,1)=$out/fixed_1_1" \
  "fixed(1,1), deadline ${deadline} s=$out/fixed_1_1_deadline"
echo
for run in dynamic_deadline fixed_1_1_deadline; do
  python3 - "$out/$run" <<'PY'
import json, sys
run = sys.argv[1]
lines = [json.loads(x) for x in open(f"{run}/metrics.jsonl") if x.strip()]
late = [(l["round"], l.get("sim_late", [])) for l in lines]
print(f"{run}: uploads left out per edge round: " + ", ".join(f"{r}: {c}" for r, c in late))
PY
done
