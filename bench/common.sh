# Shared by the bench scripts: build, sample data, the Python venv (made here, in bench/.venv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/bench/out"
mkdir -p "$out"
bin="$root/.build/release"

build() {
  scripts/install-deps.sh
  swift build -c release >/dev/null
}

sample_data() {
  [ -f "$out/data/gafgyt_danmini_doorbell_train.csv" ] || "$bin/ae" synth --out "$out/data" --rows 40000 --seed 1 >/dev/null
}

venv() {
  if [ ! -x bench/.venv/bin/python ] || ! bench/.venv/bin/python -c "import tensorflow, pandas, sklearn, safetensors, fastapi, uvicorn, httptools, uvloop" 2>/dev/null; then
    python3 -m venv bench/.venv
    bench/.venv/bin/pip install -q -r bench/requirements.txt
  fi
}

machine() {
  echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
}

# What the server benchmarks serve and send: wrk, a model trained on the sample data, and the
# body of a /reconstruct request. The body is a mid-stream benign row, as a gateway's Python
# client would send it (json.dumps: full-precision numbers, 2.3 KB); the first row of a capture
# (1.0, 60.0, 0.0, ...) would flatter the parser. Sets $model and $body.
server_inputs() {
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  model="$out/server-model.safetensors"
  [ -f "$model" ] || "$bin/ae" train --train "$out/data/gafgyt_danmini_doorbell_train.csv" --out "$model" >/dev/null
  body="$out/reconstruct-body.json"
  python3 - "$out/data/gafgyt_danmini_doorbell_test.csv" > "$body" <<'PY'
import sys, json
with open(sys.argv[1]) as f:
    for i, line in enumerate(f):
        if i == 2000: break
row = line.strip().split(",")[:115]
print(json.dumps({"features": [float(v) for v in row]}))
PY
}
