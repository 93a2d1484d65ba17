#!/usr/bin/env bash
# Detection end to end: `ae detect` on the real Mirai capture replayed ×20 (767,260 packets,
# timestamps shifted so it is one continuous capture; bench/replay_pcap.py), from the page cache
# to alerts, one core. A model of the capture's first 20,000 packets; two settings: every packet
# scored (--default-model: each host a device) and two devices listed (the rest counted and
# skipped). RSS sampled at the start, the middle and the end. Writes bench/out/detect.jsonl.
# RUNS=3 by default.
source "$(dirname "$0")/common.sh"
RUNS=${RUNS:-3}
build
fixture="$root/Tests/TrafficFeaturesTests/Fixtures/kitsune_mirai_first_packets.pcap"
results="$out/detect.jsonl"; : > "$results"
work="$out/detect"; mkdir -p "$work/models"
capture="$work/mirai-x20.pcap"
[ -f "$capture" ] || python3 bench/replay_pcap.py "$fixture" 20 "$capture"
if [ ! -f "$work/models/home.safetensors" ]; then
  "$bin/ae" features --pcap "$fixture" --out "$work/features.csv" --force >/dev/null
  head -20001 "$work/features.csv" > "$work/first-20k.csv"
  "$bin/ae" train --train "$work/first-20k.csv" --out "$work/models/home.safetensors" --epochs 10 --threshold p99.9 --force >/dev/null
fi
echo '{"5c:cf:7f:05:f2:c6": "home", "192.168.2.113": "home"}' > "$work/devices.json"
cat /dev/null "$capture" > /dev/null   # into the page cache
packets=767260
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo null; }
for round in $(seq "$RUNS"); do
  for setting in all-hosts two-devices; do
    args=(--default-model home); [ "$setting" = two-devices ] && args=(--devices "$work/devices.json")
    start=$(date +%s.%N)
    "$bin/ae" detect --pcap "$capture" --models "$work/models" "${args[@]}" --alerts "$work/alerts.jsonl" --force > "$work/summary.txt" &
    pid=$!
    # RSS every 0.25 s from a sampler beside it; the time is taken when ae exits (a sampling loop
    # in this shell noticed the exit only after its sleep, adding up to 0.25 s).
    ( while kill -0 $pid 2>/dev/null; do rss $pid; echo; sleep 0.25; done ) > "$work/rss.txt" &
    sampler=$!
    wait $pid
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    wait $sampler
    mapfile -t samples < <(grep . "$work/rss.txt")
    n=${#samples[@]}
    first=${samples[1]:-${samples[0]:-null}}; middle=${samples[$((n / 2))]:-null}; last=${samples[$((n > 1 ? n - 2 : 0))]:-null}
    echo "{\"bench\": \"ae_detect\", \"setting\": \"$setting\", \"round\": $round, \"packets\": $packets, \"seconds\": $(printf "%.3f" "$secs"), \"packets_per_s\": $(printf "%.0f" "$(echo "$packets / $secs" | bc -l)"), \"alerts\": $(wc -l < "$work/alerts.jsonl"), \"rss_mb_start\": $first, \"rss_mb_middle\": $middle, \"rss_mb_end\": $last}" | tee -a "$results"
  done
done
# The simulated gateway: nine devices' new benign traffic, the Thermostat attacked (Mirai scan),
# each packet to its device's model (bench/fleet.sh's models, or made here), after the 30-minute warm-up.
fleet="$out/fleet"
if [ ! -f "$fleet/models/Thermostat.safetensors" ]; then
  "$bin/ae" synth --fleet "$fleet/data" --devices 9 --seed 11 --force >/dev/null
  "$bin/ae" train --data "$fleet/data" --out "$fleet/models" --force >/dev/null
fi
"$bin/ae" synth --gateway "$work/gateway.pcap" --devices 9 --rows 20000 --attack-rows 5000 --attacked Thermostat --seed 12 --force >/dev/null
for round in $(seq "$RUNS"); do
  start=$(date +%s.%N)
  "$bin/ae" detect --pcap "$work/gateway.pcap" --models "$fleet/models" --devices "$work/gateway.devices.json" --warm-up 1800 \
    --alerts "$work/gateway-alerts.jsonl" --force > "$work/gateway-summary.txt"
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  n=$(sed -n 's/^\([0-9]*\) packets in .*/\1/p' "$work/gateway-summary.txt")
  thermostat=$(awk '$2 == "Thermostat" {print $6 "/" $5}' "$work/gateway-summary.txt")
  echo "{\"bench\": \"ae_detect\", \"setting\": \"gateway\", \"round\": $round, \"packets\": $n, \"seconds\": $(printf "%.3f" "$secs"), \"packets_per_s\": $(printf "%.0f" "$(echo "$n / $secs" | bc -l)"), \"alerts\": $(wc -l < "$work/gateway-alerts.jsonl"), \"thermostat_anomalous_windows\": \"$thermostat\"}" | tee -a "$results"
done
cat "$work/gateway-summary.txt"
echo "machine: $(machine)"
