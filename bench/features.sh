#!/usr/bin/env bash
# Features: the extractor alone (packets parsed in memory, features into a reused buffer) over the
# real capture (the test fixture) replayed to 10,000,000 packets (timestamps shifted), both modes;
# the simulated attack capture; memory at start / halfway / end; and `ae features` end to end
# (tshark CSV or pcap in, CSV out). Writes bench/out/features.jsonl.
source "$(dirname "$0")/common.sh"
build
capture="$root/Tests/TrafficFeaturesTests/Fixtures/kitsune_mirai_first_packets.csv"
results="$out/features.jsonl"; : > "$results"
REPLAY=${REPLAY:-10000000}
"$bin/ae-bench" extract "$capture" --replay "$REPLAY" --compat nbaiot --runs 3 | tee -a "$results"
# Kitsune's keying links a host to every destination it ever saw and updates all those trackers
# on each of its packets, so its cost grows with fan-out: 1M packets, one run.
KREPLAY=${KREPLAY:-1000000}
"$bin/ae-bench" extract "$capture" --replay "$KREPLAY" --compat kitsune --runs 1 | tee -a "$results"
# The simulated Gafgyt capture (scans fan out into many trackers in Kitsune's keying).
"$bin/ae-bench" extract-synth --rows 40000 --replay 2000000 --compat nbaiot | tee -a "$results"
"$bin/ae-bench" extract-synth --rows 40000 --replay "${KSYNTH:-200000}" --compat kitsune | tee -a "$results"
# End to end, from the tshark fields and from the same packets as a pcap, alternating.
pcap="${capture%.csv}.pcap"
for round in 1 2 3; do
  for mode in nbaiot kitsune; do
    for input in packets pcap; do
      file=$capture; [ "$input" = pcap ] && file=$pcap
      start=$(date +%s.%N)
      "$bin/ae" features --"$input" "$file" --out "$out/features-$mode-$input.csv" --compat "$mode" --force >/dev/null
      secs=$(printf "%.3f" "$(echo "$(date +%s.%N) - $start" | bc)")
      echo "{\"bench\": \"ae_features_end_to_end\", \"input\": \"$input\", \"compat\": \"$mode\", \"round\": $round, \"packets\": 38363, \"seconds\": $secs, \"packets_per_s\": $(echo "38363 / $secs" | bc), \"output_mb\": $(du -m "$out/features-$mode-$input.csv" | cut -f1)}" | tee -a "$results"
    done
  done
done
echo "Machine: $(machine)"
