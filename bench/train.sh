#!/usr/bin/env bash
# Training: `ae train` vs the seed's Keras code (TensorFlow CPU), same data, same configuration
# (50 epochs, batch 32, validation_split 0.25, every row as the seed), interleaved runs.
# RUNS=3 by default; EPOCHS=50. Writes bench/out/train.jsonl and prints the table.
source "$(dirname "$0")/common.sh"
RUNS=${RUNS:-3}
EPOCHS=${EPOCHS:-50}
build; sample_data; venv
train="$out/data/gafgyt_danmini_doorbell_train.csv"
: > "$out/train.jsonl"
for i in $(seq 1 "$RUNS"); do
  log=$(/usr/bin/time -f "maxrss_kb=%M" "$bin/ae" train --train "$train" --rows all --epochs "$EPOCHS" --seed "$i" \
        --out "$out/bench-model.safetensors" --force 2>&1)
  fit=$(sed -n 's/^Epochs: .*kept, \([0-9.]*\) s$/\1/p' <<<"$log")
  val=$(sed -n 's/^Loss: .*val_loss: \([0-9.e+-]*\)$/\1/p' <<<"$log")
  loss=$(sed -n 's/^Loss: *\([0-9.e+-]*\) .*/\1/p' <<<"$log")
  rss=$(sed -n 's/^maxrss_kb=//p' <<<"$log")
  echo "{\"impl\": \"ae\", \"seed\": $i, \"epochs\": $EPOCHS, \"fit_s\": $fit, \"loss\": $loss, \"val_loss\": $val, \"maxrss_mb\": $((rss / 1024))}" | tee -a "$out/train.jsonl"
  bench/.venv/bin/python bench/keras_reference.py "$train" --epochs "$EPOCHS" --seed "$i" | tee -a "$out/train.jsonl"
done
bench/.venv/bin/python bench/summarize.py train "$out/train.jsonl" "$(machine)"
