#!/usr/bin/env bash
# Server: wrk on 127.0.0.1 (keep-alive, 32 connections, 10 s; wrk shares the 2 cores), against
# ae-server's GET /livez and POST /reconstruct, and a FastAPI+uvicorn+numpy reference doing the
# same forward pass from the same model file; RSS after ~10k and after ≥1M requests.
# DURATION=10 by default. Writes bench/out/server.jsonl and prints the table.
source "$(dirname "$0")/common.sh"
DURATION=${DURATION:-10}
build; sample_data; venv
server_inputs   # sets model and body
results="$out/server.jsonl"; : > "$results"
# The per-request work without the network (parse, scale, forward pass, JSON answer), one core.
for path in /reconstruct /encode; do
  "$bin/ae-bench" route --model "$model" --body "$body" --path "$path" --requests 100000 --runs 5 | tee -a "$results"
done

# ae-server
log="$out/ae-server.log"
"$bin/ae-server" --model "$model" --host 127.0.0.1 --port 0 --threads 2 > "$log" 2>&1 &
pid=$!
ppid=""
trap 'kill $pid 2>/dev/null || true; [ -z "$ppid" ] || kill $ppid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 100); do   # the start-up line names the bound port
  port=$(sed -n 's/.*address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
  [ -n "$port" ] && break; sleep 0.1
done
url="http://127.0.0.1:$port"
curl -sf "$url/readyz" >/dev/null
WRK_BODY=$body wrk -t1 -c1 -d1s -s bench/wrk.lua "$url/reconstruct" >/dev/null   # warm-up, ~10k requests
echo "{\"label\": \"ae-server RSS after warm-up\", \"rss_mb\": $(rss_mb $pid)}" | tee -a "$results"
# Three alternating pairs: /livez's rate on this machine falls in one of two bands from one run
# to the next (~220-235k or ~245-280k req/s), so the ratio is taken between medians of three.
for i in 1 2 3; do
  run_wrk "ae-server GET /livez ($i)" "$url/livez" "" "$pid"
  run_wrk "ae-server POST /reconstruct ($i)" "$url/reconstruct" "$body" "$pid"
done
# Past 1,000,000 requests in total, RSS again.
total=$(python3 -c "import json; print(sum(json.loads(l).get('requests',0) for l in open('$results')))")
while [ "$total" -lt 1000000 ]; do
  WRK_BODY=$body wrk -t2 -c32 -d5s -s bench/wrk.lua "$url/reconstruct" | tail -1 > "$out/extra.json"
  total=$((total + $(python3 -c "import json; print(json.load(open('$out/extra.json'))['requests'])")))
done
echo "{\"label\": \"ae-server RSS after requests\", \"requests_total\": $total, \"rss_mb\": $(rss_mb $pid)}" | tee -a "$results"
kill -TERM $pid; wait $pid || true

# Reference: FastAPI + uvicorn (2 workers, httptools + uvloop) + numpy
MODEL="$model" bench/.venv/bin/uvicorn --app-dir bench reference_server:app --host 127.0.0.1 --port 18089 --workers 2 --http httptools --loop uvloop --log-level warning > "$out/reference.log" 2>&1 &
ppid=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:18089/livez >/dev/null && break; sleep 0.2; done
ppids="$ppid $(pgrep -P $ppid | tr '\n' ' ')"   # uvicorn and its workers
run_wrk "python GET /livez" "http://127.0.0.1:18089/livez" "" "$ppids"
run_wrk "python POST /reconstruct" "http://127.0.0.1:18089/reconstruct" "$body" "$ppids"
kill $ppid; wait $ppid 2>/dev/null || true
bench/.venv/bin/python bench/summarize.py server "$results" "$(machine)"
