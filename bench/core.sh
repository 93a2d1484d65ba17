#!/usr/bin/env bash
# Core: CSV load rate (one core, 40,000 × 116 Kaggle-schema file), encode of 1,000,000 rows
# (model compute on one core, CSV parsing excluded), and `ae encode` end to end on the test file.
# Writes bench/out/core.jsonl.
source "$(dirname "$0")/common.sh"
build; sample_data
model="$out/server-model.safetensors"
[ -f "$model" ] || "$bin/ae" train --train "$out/data/gafgyt_danmini_doorbell_train.csv" --out "$model" >/dev/null
results="$out/core.jsonl"; : > "$results"
"$bin/ae-bench" csv "$out/data/gafgyt_danmini_doorbell_train.csv" --runs 5 | tee -a "$results"
"$bin/ae-bench" encode --model "$model" --rows 1000000 --runs 5 | tee -a "$results"
start=$(date +%s.%N)
"$bin/ae" encode --model "$model" --input "$out/data/gafgyt_danmini_doorbell_test.csv" --output "$out/latent.csv" --force >/dev/null
echo "{\"bench\": \"ae_encode_cli_15000_rows\", \"seconds\": $(printf "%.3f" "$(echo "$(date +%s.%N) - $start" | bc)")}" | tee -a "$results"
echo "Machine: $(machine)"
