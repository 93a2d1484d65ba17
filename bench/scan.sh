#!/usr/bin/env bash
# Memory under a scan: `ae detect` on a Mirai-style SYN scan of PACKETS (2,000,000) random addresses
# (bench/scan_pcap.py, 1,000 packets/s of capture time), every packet scored, at the default
# --idle-timeout and at 60 s (TIMEOUTS). Peak RSS and packets/s. AE_BASELINE=DIR runs a previous
# build's ae (DIR/ae) beside this one. Needs bench/detect.sh's model.
source "$(dirname "$0")/common.sh"
build
work="$out/detect"
[ -f "$work/models/home.safetensors" ] || { echo "run bench/detect.sh first (it trains the model)"; exit 1; }
packets=${PACKETS:-2000000}
scan="$out/scan-$packets.pcap"
[ -f "$scan" ] || python3 bench/scan_pcap.py "$packets" "$scan"
builds=("$bin"); [ -n "${AE_BASELINE:-}" ] && builds=("$AE_BASELINE" "$bin")
for build in "${builds[@]}"; do
  label=$([ "$build" = "$bin" ] && echo this || echo baseline)
  for timeout in ${TIMEOUTS:-3600 60}; do
    /usr/bin/time -f "%M %e" -o "$out/scan.time" "$build/ae" detect --pcap "$scan" --models "$work/models" --default-model home \
      --idle-timeout "$timeout" --alerts "$out/scan-alerts.jsonl" --force > "$out/scan-summary.txt"
    read -r kb secs < "$out/scan.time"
    echo "{\"bench\": \"ae_detect_scan\", \"build\": \"$label\", \"idle_timeout\": $timeout, \"packets\": $packets, \"seconds\": $secs, \"packets_per_s\": $(printf "%.0f" "$(echo "$packets / $secs" | bc -l)"), \"peak_rss_mb\": $(echo "$kb / 1024" | bc)}"
  done
done
echo "machine: $(machine)"
