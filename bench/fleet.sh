#!/usr/bin/env bash
# Fleet detection (N-BaIoT's method): quality and speed on a simulated fleet.
#   DEVICES=9 device types, ROWS=40000 benign rows and ATTACK_ROWS=5000 rows per attack file each,
#   SEED=11 (no test uses it). RUNS=2 alternating rounds of `ae train --data` one device at a time
#   (--jobs 1) and one per core, with wall time and peak RSS. Then, for each threshold rule in
#   RULES (N-BaIoT's mean+std, and p99.9): per-device models, the global model, and
#   `ae evaluate --models --data --global` (table, JSON, HTML report) with its model-compute rate.
# Writes bench/out/fleet/{data, <rule>/{models,global.safetensors,evaluate.txt,evaluate.json,report.html}}.
source "$(dirname "$0")/common.sh"
DEVICES=${DEVICES:-9}
ROWS=${ROWS:-40000}
ATTACK_ROWS=${ATTACK_ROWS:-5000}
SEED=${SEED:-11}
RUNS=${RUNS:-2}
RULES=${RULES:-mean+std p99.9}
build
f="$out/fleet"
mkdir -p "$f"
echo "machine: $(machine)"
/usr/bin/time -f "synth: %e s wall, %M KB peak RSS" "$bin/ae" synth --fleet "$f/data" --devices "$DEVICES" --rows "$ROWS" \
  --attack-rows "$ATTACK_ROWS" --seed "$SEED" --force | tail -1

train() {   # $1 = jobs
  rm -rf "$f/models-$1"
  /usr/bin/time -f "train --jobs $1: %e s wall, %M KB peak RSS, %P CPU" "$bin/ae" train --data "$f/data" --out "$f/models-$1" \
    --jobs "$1" 2>&1 >/dev/null | tail -1
  rm -rf "$f/models-$1"
}
for i in $(seq 1 "$RUNS"); do train 1; train "$(nproc)"; done

for rule in $RULES; do
  r="$f/$rule"
  rm -rf "$r" && mkdir -p "$r"
  echo "== threshold $rule"
  "$bin/ae" train --data "$f/data" --out "$r/models" --threshold "$rule" | tail -"$((DEVICES + 2))"
  global=()
  if "$bin/ae" train --data "$f/data" --global --out "$r/global.safetensors" --threshold "$rule" 2>&1 | tail -1; then
    [ -f "$r/global.safetensors" ] && global=(--global "$r/global.safetensors")
  fi
  "$bin/ae" evaluate --models "$r/models" --data "$f/data" "${global[@]}" --report "$r/report.html" | tee "$r/evaluate.txt"
  "$bin/ae" evaluate --models "$r/models" --data "$f/data" "${global[@]}" --json > "$r/evaluate.json"
done
echo "== model compute, one job per core"
for i in $(seq 1 "$RUNS"); do "$bin/ae" evaluate --models "$f/mean+std/models" --data "$f/data" | tail -1; done
