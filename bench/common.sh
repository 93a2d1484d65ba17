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

# Per run, besides wrk's figures: the CPU wrk itself used and, with a server pid, the server's
# CPU and context switches, each per request. On 2 shared cores these say where a request's
# time went (the server's work, or wrk's, which grows when wrk sleeps between answers).
tck=$(getconf CLK_TCK)
cpu_ticks() { for p in $1; do cat "/proc/$p/stat"; done | awk '{s += $14 + $15} END {print s}'; }
switches() { for p in $1; do cat /proc/"$p"/task/*/status 2>/dev/null; done | awk '/ctxt_switches/ {s += $2} END {print s}'; }
run_wrk() {  # label url [body] ["server pids"]
  local label=$1 url=$2 spid=${4:-} t0=0 c0=0 json extra=""
  if [ -n "$spid" ]; then t0=$(cpu_ticks "$spid"); c0=$(switches "$spid"); fi
  json=$(WRK_BODY=${3:-} python3 -c '
import resource, subprocess, sys
line = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True, check=True).stdout.splitlines()[-1]
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(line.rstrip()[:-1] + ", \"wrk_cpu_s\": %.3f}" % (u.ru_utime + u.ru_stime))' \
    wrk -t2 -c32 -d"${DURATION}s" -s bench/wrk.lua "$url")
  if [ -n "$spid" ]; then
    extra=", \"server_cpu_s\": $(awk -v a="$t0" -v b="$(cpu_ticks "$spid")" -v t="$tck" 'BEGIN {printf "%.2f", (b - a) / t}'), \"server_switches\": $(( $(switches "$spid") - c0 ))"
  fi
  echo "{\"label\": \"$label\", $(sed 's/^{//; s/}$//' <<<"$json")$extra}" | tee -a "$results"
}
rss_mb() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
