#!/usr/bin/env bash
# Memory under a scan: `ae detect` on a Mirai-style SYN scan of 2,000,000 random addresses
# (bench/scan_pcap.py, 1,000 packets/s of capture time), every packet scored, at the default
# --idle-timeout and at 60 s. Peak RSS and packets/s. Needs bench/detect.sh's model.
source "$(dirname "$0")/common.sh"
build
work="$out/detect"
[ -f "$work/models/home.safetensors" ] || { echo "run bench/detect.sh first (it trains the model)"; exit 1; }
scan="$out/scan.pcap"
[ -f "$scan" ] || python3 bench/scan_pcap.py 2000000 "$scan"
for timeout in 3600 60; do
  /usr/bin/time -f "%M %e" -o "$out/scan.time" "$bin/ae" detect --pcap "$scan" --models "$work/models" --default-model home \
    --idle-timeout "$timeout" --alerts "$out/scan-alerts.jsonl" --force > "$out/scan-summary.txt"
  read -r kb secs < "$out/scan.time"
  echo "{\"bench\": \"ae_detect_scan\", \"idle_timeout\": $timeout, \"packets\": 2000000, \"seconds\": $secs, \"packets_per_s\": $(printf "%.0f" "$(echo "2000000 / $secs" | bc -l)"), \"peak_rss_mb\": $(echo "$kb / 1024" | bc)}"
done
echo "machine: $(machine)"
