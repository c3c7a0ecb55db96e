#!/bin/sh
# The leakage-vs-accuracy sweep of docs/privacy.md: configs/ssop.toml without SS-OP and with SS-OP at each
# sigma, the same seed throughout; each run is attacked by `elsa attack invert`, then
# scripts/privacy_table.py prints the table and draws the plot.
#
#   scripts/privacy_sweep.sh [OUT_DIR [SIGMA ...]]      (defaults: runs/privacy, sigmas 0.5 1 2 4)
#
# About 6 to 7 minutes per point on 2 cores (a 70 s run, a 4 to 6 minute attack).
set -eu
cd "$(dirname "$0")/.."
out=${1:-runs/privacy}
[ $# -gt 0 ] && shift
sigmas=${*:-0.5 1 2 4}
elsa=${ELSA:-build/elsa}
mkdir -p "$out"
runs="$out/off"
"$elsa" run configs/ssop.toml --set privacy.ssop=false --out "$out/off" --force --quiet
"$elsa" attack invert --run "$out/off" --quiet
for s in $sigmas; do
  "$elsa" run configs/ssop.toml --set privacy.ssop_sigma="$s" --out "$out/sigma$s" --force --quiet
  "$elsa" attack invert --run "$out/sigma$s" --quiet
  runs="$runs $out/sigma$s"
done
python3 scripts/privacy_table.py --plot "$out/leakage.svg" $runs
