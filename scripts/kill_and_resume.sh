#!/usr/bin/env bash
# Kills an `elsa run` with SIGKILL once LINES metrics lines are recorded, resumes it with `elsa run --resume`,
# and sets it beside the same run uninterrupted: the rounds recorded (each once) and both test accuracies.
# Usage: scripts/kill_and_resume.sh OUT_DIR [LINES] [elsa run options, e.g. --set topology.clients=4]
# (CONFIG=... picks another config than configs/quickstart.toml; ELSA=... another program than build/elsa.)
set -euo pipefail
out=${1:?usage: scripts/kill_and_resume.sh OUT_DIR [LINES] [elsa run options]}
shift
lines=5
if [ $# -gt 0 ]; then lines=$1; shift; fi
elsa=${ELSA:-build/elsa}
config=${CONFIG:-configs/quickstart.toml}
rm -rf "$out"
mkdir -p "$out"
accuracy() { grep -o '"test_accuracy": [0-9.e-]*' "$1/summary.json" | head -1 | cut -d' ' -f2; }
rounds() { grep -o '"round":[0-9]*' "$1/metrics.jsonl" | cut -d: -f2 | tr '\n' ' '; }

"$elsa" run "$config" --out "$out/whole" --quiet "$@" > /dev/null
"$elsa" run "$config" --out "$out/killed" --quiet "$@" > /dev/null 2> "$out/killed.log" &
pid=$!
until [ -f "$out/killed/metrics.jsonl" ] && [ "$(wc -l < "$out/killed/metrics.jsonl")" -ge "$lines" ]; do
  kill -0 "$pid" 2> /dev/null || { echo "the run ended before $lines rounds were recorded" >&2; exit 1; }
  sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2> /dev/null || true
echo "killed after $(wc -l < "$out/killed/metrics.jsonl") metrics lines; checkpoints: $(ls "$out/killed/checkpoints" | tr '\n' ' ')"
"$elsa" run --resume "$out/killed" > /dev/null 2> "$out/resume.log"
grep '^resume:' "$out/resume.log" || true
echo "rounds recorded: $(rounds "$out/killed")"
echo "test accuracy: uninterrupted $(accuracy "$out/whole"), killed and resumed $(accuracy "$out/killed")"
