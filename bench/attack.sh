#!/usr/bin/env bash
# Attacks on ae-server (release build, default configuration, 127.0.0.1 only, each bounded):
# connection bursts (10× connection_limit, also at connection_limit 4), 1,000-connection slowloris with a normal client's
# latency measured, SIGHUP every 0.5 s under wrk, a 1,000,000-request soak, 200,000 mutated JSON
# bodies, and SIGTERM under keep-alive load. Prints one table (attack → requests → failures →
# 5xx → crashes → RSS); writes bench/out/attack.jsonl. About three minutes.
source "$(dirname "$0")/common.sh"
build; sample_data
server_inputs   # sets model and body
results="$out/attack.jsonl"; : > "$results"
start_server() {  # a fresh server with config/server.json's limits (and $1 in its environment); sets pid and port
  log="$out/attack-server.log"
  env ${1:-} "$bin/ae-server" --config config/server.json --model "$model" --host 127.0.0.1 --port 0 --threads 2 > "$log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$port" ] && break; sleep 0.1
  done
  [ -n "$port" ] || { cat "$log"; exit 1; }
}
trap 'kill $pid 2>/dev/null || true' EXIT
start_server AE_CONNECTION_LIMIT=4
python3 bench/attack.py "$port" "$pid" "$body" burst_small | tee -a "$results"
kill -TERM $pid; wait $pid 2>/dev/null || true
start_server
python3 bench/attack.py "$port" "$pid" "$body" burst slowloris reload soak mutation drain | tee -a "$results"
wait $pid 2>/dev/null || true
python3 - "$results" "$(machine)" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"\nMachine: {sys.argv[2]}\n")
print("| attack | requests | failures | 5xx | crashes | RSS after | what |")
print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
for r in rows:
    rss = f"{r['rss_mb']} MB" if r["rss_mb"] is not None else "(exited)"
    print(f"| {r['attack']} | {r['requests']:,} | {r['failures']} | {r['5xx']} | {r['crashes']} | {rss} | {r['note']} |")
PY
