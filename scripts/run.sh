#!/usr/bin/env bash
# Runs the service on the bundled default, from a fresh Debian 12 machine with Swift on PATH:
# installs the system packages if missing, builds in release mode, makes sample data with
# `ae synth` and trains a model if none exists, then serves it on port 8080.
# Extra arguments go to ae-server (e.g. --port 9090).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release
bin=.build/release
if [ ! -f models/model.safetensors ]; then
  [ -f data/gafgyt_danmini_doorbell_train.csv ] || "$bin/ae" synth --out data
  mkdir -p models
  "$bin/ae" train --train data/gafgyt_danmini_doorbell_train.csv --out models/model.safetensors
  "$bin/ae" evaluate --model models/model.safetensors --test data/gafgyt_danmini_doorbell_test.csv
fi
exec "$bin/ae-server" --config config/server.json "$@"
