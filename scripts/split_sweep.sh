#!/bin/sh
# The fixed-vs-dynamic comparison of docs/mechanisms.md section 2: configs/heterogeneous.toml (or CONFIG)
# with [split] mode = "dynamic", with every fixed split of the 4-block base, and dynamic without the mid-run
# profile change, all with the same seed; then scripts/compare_splits.py prints the table and draws
# accuracy against simulated time.
#
#   scripts/split_sweep.sh [OUT_DIR [CONFIG]]      (defaults: runs/splits, configs/heterogeneous.toml)
#
# Every run uses CAF's deterministic scheduler (--set run.deterministic=true), so reruns give the same
# numbers bit for bit. About 2 minutes per run on 2 cores, five runs.
set -eu
cd "$(dirname "$0")/.."
out=${1:-runs/splits}
config=${2:-configs/heterogeneous.toml}
elsa=${ELSA:-build/elsa}
mkdir -p "$out"
det="--set run.deterministic=true"
"$elsa" run "$config" $det --out "$out/dynamic" --force --quiet
runs="dynamic=$out/dynamic"
for split in 1,1 1,2 2,1; do
  a=${split%,*}
  b=${split#*,}
  "$elsa" run "$config" $det --set split.mode=fixed --set split.head_blocks="$a" --set split.tail_blocks="$b" \
    --out "$out/fixed_${a}_${b}" --force --quiet
  runs="$runs fixed($a,$b)=$out/fixed_${a}_${b}"
done
# The same run without its profile changes (the three change lists emptied).
sed -e 's/^change_clients = .*/change_clients = []/' -e 's/^change_rounds = .*/change_rounds = []/' \
  -e 's/^change_classes = .*/change_classes = []/' "$config" > "$out/no_change.toml"
"$elsa" run "$out/no_change.toml" $det --out "$out/dynamic_no_change" --force --quiet
runs="$runs dynamic-no-change=$out/dynamic_no_change"
python3 scripts/compare_splits.py --plot "$out/splits.svg" $runs
