#!/usr/bin/env bash
# Serving a fleet over the Open Inference Protocol v2: wrk on 127.0.0.1 (keep-alive, 32
# connections; wrk shares the 2 cores) against one ae-server, alternating GET /livez, the
# single-model POST /v1/models/{name}/reconstruct and POST /v2/models/{name}/infer with one row,
# JSON and binary (in and out), three rounds; then 100 models in one server (load time, RSS,
# requests spread over all of them against one of them, alternating); then MLServer 1.7.1 with a
# custom runtime doing the same numpy forward pass from the same file (OIP v2 JSON, one row).
# DURATION=10 by default. Writes bench/out/oip.jsonl.
source "$(dirname "$0")/common.sh"
DURATION=${DURATION:-10}
build; sample_data
server_inputs   # sets model and body
results="$out/oip.jsonl"; : > "$results"
name=$(basename "$model" .safetensors)

# One row as OIP v2 JSON (all four outputs), and in binary form (all outputs binary).
python3 - "$body" "$out" <<'PY'
import json, struct, sys
row = json.load(open(sys.argv[1]))["features"]
out = sys.argv[2]
json.dump({"inputs": [{"name": "features", "shape": [1, 115], "datatype": "FP32", "data": row}]}, open(f"{out}/infer-body.json", "w"))
head = json.dumps({"inputs": [{"name": "features", "shape": [1, 115], "datatype": "FP32",
                               "parameters": {"binary_data_size": 460}}],
                   "parameters": {"binary_data_output": True}}, separators=(",", ":")).encode()
open(f"{out}/infer-body.bin", "wb").write(head + struct.pack("<115f", *row))
open(f"{out}/infer-body.bin.header", "w").write(str(len(head)))
PY
binary_header="Inference-Header-Content-Length: $(cat "$out/infer-body.bin.header")"
# The per-request work without the network (ae-bench route: parse, scale, forward pass, answer), one core.
"$bin/ae-bench" route --model "$model" --body "$body" --path "/v1/models/$name/reconstruct" --requests 100000 --runs 5 | tee -a "$results"
"$bin/ae-bench" route --model "$model" --body "$out/infer-body.json" --path "/v2/models/$name/infer" --requests 100000 --runs 5 | tee -a "$results"
"$bin/ae-bench" route --model "$model" --body "$out/infer-body.bin" --inference-header-length "$(cat "$out/infer-body.bin.header")" \
  --path "/v2/models/$name/infer" --requests 100000 --runs 5 | tee -a "$results"

start_server() {  # log args… ; sets pid, port, url
  local log=$1; shift
  "$bin/ae-server" "$@" --host 127.0.0.1 --port 0 --threads 2 > "$log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 200); do
    port=$(sed -n 's/.*address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$port" ] && break; sleep 0.05
  done
  url="http://127.0.0.1:$port"
}
mlpid=""
trap 'kill $pid 2>/dev/null || true; [ -z "$mlpid" ] || kill $mlpid 2>/dev/null || true' EXIT

# One model.
start_server "$out/oip-server.log" --model "$model"
curl -sf "$url/v2/health/ready" >/dev/null
WRK_BODY=$body wrk -t1 -c1 -d1s -s bench/wrk.lua "$url/v1/models/$name/reconstruct" >/dev/null   # warm-up
for i in 1 2 3; do
  run_wrk "ae-server GET /livez ($i)" "$url/livez" "" "$pid"
  run_wrk "ae-server POST /v1/models/{name}/reconstruct ($i)" "$url/v1/models/$name/reconstruct" "$body" "$pid"
  run_wrk "ae-server POST /v2/models/{name}/infer JSON ($i)" "$url/v2/models/$name/infer" "$out/infer-body.json" "$pid"
  WRK_CONTENT_TYPE=application/octet-stream WRK_HEADER=$binary_header \
    run_wrk "ae-server POST /v2/models/{name}/infer binary ($i)" "$url/v2/models/$name/infer" "$out/infer-body.bin" "$pid"
done
echo "{\"label\": \"ae-server RSS, one model\", \"rss_mb\": $(rss_mb $pid)}" | tee -a "$results"
kill -TERM $pid; wait $pid || true

# 100 models of the seed's size (copies of one file under 100 names: each is loaded, validated
# and held on its own, as distinct files would be).
dir="$out/models100"; rm -rf "$dir"; mkdir -p "$dir"
for i in $(seq -w 0 99); do cp "$model" "$dir/m$i.safetensors"; done
: > "$out/paths100"
for i in $(seq -w 0 99); do echo "/v1/models/m$i/reconstruct" >> "$out/paths100"; done
# The one-model baseline goes through the same Lua path-taking as the spread (which costs wrk,
# sharing the cores, a few µs a request), so the two differ only in the models asked.
for i in $(seq 100); do echo "/v1/models/m00/reconstruct"; done > "$out/paths1"
t0=$(date +%s.%N)
start_server "$out/oip-server100.log" --models "$dir" --default-model m00
until curl -sf "$url/readyz" >/dev/null; do sleep 0.01; done
ready=$(echo "$(date +%s.%N) - $t0" | bc)
echo "{\"label\": \"ae-server, 100 models: start to ready\", \"seconds\": $(printf "%.3f" "$ready"), \"rss_mb\": $(rss_mb $pid)}" | tee -a "$results"
WRK_BODY=$body WRK_PATHS="$out/paths100" wrk -t2 -c32 -d2s -s bench/wrk.lua "$url/" >/dev/null   # every worker builds every model
for i in 1 2 3; do
  WRK_PATHS="$out/paths1" run_wrk "ae-server, 100 models: one model's /v1/models/{name}/reconstruct ($i)" "$url/" "$body" "$pid"
  WRK_PATHS="$out/paths100" run_wrk "ae-server, 100 models: requests spread over all ($i)" "$url/" "$body" "$pid"
done
echo "{\"label\": \"ae-server RSS, 100 models after requests to each\", \"rss_mb\": $(rss_mb $pid)}" | tee -a "$results"
kill -TERM $pid; wait $pid || true

# MLServer 1.7.1, a custom runtime (bench/mlserver/runtime.py) over the same file.
if ! bench/.venv-mlserver/bin/python -c "import mlserver, uvloop; assert uvloop.__version__ == '0.21.0'" 2>/dev/null; then
  python3 -m venv bench/.venv-mlserver
  bench/.venv-mlserver/bin/pip install -q -r bench/requirements-mlserver.txt
fi
ml="$out/mlserver"; rm -rf "$ml"; mkdir -p "$ml/$name"
# parallel_workers 0: inference in the server process. MLServer's default (one worker process
# behind IPC) answered 436 req/s here against 759 without it; the reference gets its best.
echo '{"http_port": 18090, "grpc_port": 18091, "metrics_port": 18092, "parallel_workers": 0}' > "$ml/settings.json"
echo "{\"name\": \"$name\", \"implementation\": \"runtime.AutoencoderRuntime\", \"parameters\": {\"uri\": \"$model\"}}" > "$ml/$name/model-settings.json"
PYTHONPATH=bench/mlserver bench/.venv-mlserver/bin/mlserver start "$ml" > "$out/mlserver.log" 2>&1 &
mlpid=$!
for _ in $(seq 300); do curl -sf http://127.0.0.1:18090/v2/models/$name/ready >/dev/null && break; sleep 0.2; done
curl -sf -X POST -H 'Content-Type: application/json' --data-binary @"$out/infer-body.json" http://127.0.0.1:18090/v2/models/$name/infer >/dev/null \
  || { tail -20 "$out/mlserver.log"; echo "MLServer does not answer" >&2; exit 1; }
mlpids="$mlpid $(pgrep -P $mlpid | tr '\n' ' ' || true)"
run_wrk "MLServer POST /v2/models/{name}/infer JSON" "http://127.0.0.1:18090/v2/models/$name/infer" "$out/infer-body.json" "$mlpids"
kill $mlpid; wait $mlpid 2>/dev/null || true; mlpid=""
python3 bench/summarize.py oip "$results" "$(machine)"
