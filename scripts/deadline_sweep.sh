#!/bin/sh
# Stragglers from the profiles (docs/mechanisms.md section 2): configs/heterogeneous.toml (or CONFIG) with the
# dynamic split and with the best fixed split that fits every device, (1, 1), each without a deadline and with
# each of DEADLINES (seconds, default "20 25") as [profiles] deadline_s enforced, same seed; then
# scripts/compare_splits.py prints the table and draws accuracy against simulated time, and the uploads each
# deadline run left out are listed.
#
#   scripts/deadline_sweep.sh [OUT_DIR [CONFIG [DEADLINES]]]   (defaults: runs/deadline, configs/heterogeneous.toml, "20 25")
#
# Every run uses CAF's deterministic scheduler (--set run.deterministic=true), so reruns give the same
# numbers bit for bit. About 2.5 minutes per run on 2 cores, six runs with the defaults.
set -eu
cd "$(dirname "$0")/.."
out=${1:-runs/deadline}
config=${2:-configs/heterogeneous.toml}
deadlines=${3:-20 25}
elsa=${ELSA:-build/elsa}
mkdir -p "$out"
det="--set run.deterministic=true"
fixed="--set split.mode=fixed --set split.head_blocks=1 --set split.tail_blocks=1"
"$elsa" run "$config" $det --out "$out/dynamic" --force --quiet
"$elsa" run "$config" $det $fixed --out "$out/fixed_1_1" --force --quiet
runs="dynamic=$out/dynamic fixed(1,1)=$out/fixed_1_1"
late=""
for d in $deadlines; do
  enforce="--set profiles.deadline_s=$d --set profiles.enforce_deadline=true"
  "$elsa" run "$config" $det $enforce --out "$out/dynamic_deadline_$d" --force --quiet
  "$elsa" run "$config" $det $fixed $enforce --out "$out/fixed_1_1_deadline_$d" --force --quiet
  runs="$runs dynamic-deadline-${d}s=$out/dynamic_deadline_$d fixed(1,1)-deadline-${d}s=$out/fixed_1_1_deadline_$d"
  late="$late $out/dynamic_deadline_$d $out/fixed_1_1_deadline_$d"
done
python3 scripts/compare_splits.py --plot "$out/deadline.svg" $runs
echo
python3 - $late <<'PY'
import json, sys
for run in sys.argv[1:]:
    lines = [json.loads(x) for x in open(f"{run}/metrics.jsonl") if x.strip()]
    summary = json.load(open(f"{run}/summary.json"))
    late = " ".join(f"{l['round']}:{l.get('sim_late', [])}" for l in lines)
    taken = " ".join(f"{l['round']}:{len(l.get('aggregated', []))}" for l in lines)
    aborted = " ".join(f"{l['round']}:{l.get('close_reasons', {}).get('aborted', 0)}" for l in lines)
    print(f"{run}: {summary.get('sim_late_uploads', 0)} uploads left out as late\n"
          f"  late, per edge round:       {late}\n  aggregated, per edge round: {taken}\n"
          f"  edges aborted, per round:   {aborted}")
PY
