#!/usr/bin/env bash
# Memory under a flood of spoofed senders: 1,000,000 packets, each from a new random source MAC
# and IP (bench/scan_pcap.py --spoof-source, 1,000 packets/s of capture time), every host scored
# by --default-model, as a gateway would run it: `ae detect`, and `ae agent` sending to ae-server
# (both on this machine's 2 cores). Peak RSS and packets/s of the ae process. AE_BASELINE=DIR
# runs a previous build's ae (DIR/ae) beside this one. Each run is stopped after LIMIT seconds
# (600). Needs bench/detect.sh's model.
source "$(dirname "$0")/common.sh"
build
work="$out/detect"
[ -f "$work/models/home.safetensors" ] || { echo "run bench/detect.sh first (it trains the model)"; exit 1; }
packets=${PACKETS:-1000000}
limit=${LIMIT:-600}
flood="$out/macflood.pcap"
[ -f "$flood" ] || python3 bench/scan_pcap.py "$packets" "$flood" --spoof-source
cat /dev/null "$flood" > /dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/ae-server" --models "$work/models" --default-model home --host 127.0.0.1 --port "$port" > "$out/macflood-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/livez" >/dev/null && break; sleep 0.1; done
builds=("$bin"); [ -n "${AE_BASELINE:-}" ] && builds=("$AE_BASELINE" "$bin")
for build in "${builds[@]}"; do
  label=$([ "$build" = "$bin" ] && echo this || echo baseline)
  for command in detect agent; do
    if [ "$command" = detect ]; then
      args=(detect --pcap "$flood" --models "$work/models" --default-model home --alerts "$out/macflood-alerts.jsonl" --force)
    else
      args=(agent --pcap "$flood" --server "http://127.0.0.1:$port" --default-model home --alerts "$out/macflood-alerts.jsonl" --force)
    fi
    status=0
    /usr/bin/time -f "%M %e" -o "$out/macflood.time" timeout "$limit" "$build/ae" "${args[@]}" > "$out/macflood-summary.txt" 2>&1 || status=$?
    read -r kb secs < <(tail -1 "$out/macflood.time")
    finished=$([ "$status" = 0 ] && echo true || echo false)
    echo "{\"bench\": \"ae_${command}_macflood\", \"build\": \"$label\", \"packets\": $packets, \"finished\": $finished, \"seconds\": $secs, \"packets_per_s\": $(printf "%.0f" "$(echo "$packets / $secs" | bc -l)"), \"peak_rss_mb\": $(echo "$kb / 1024" | bc), \"summary\": \"$(tail -1 "$out/macflood-summary.txt" | tr -d '"')\"}"
  done
done
echo "machine: $(machine)"
