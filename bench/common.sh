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
