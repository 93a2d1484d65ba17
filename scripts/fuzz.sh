#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, with AddressSanitizer) and runs each for a bounded time,
# starting from the committed seeds in fuzz/corpus/<target>. New inputs go to a working corpus
# under .build-fuzz (the committed seeds are never changed). A crash, a sanitizer report or an
# input slower than 10 s fails the run and leaves the input in .build-fuzz/artifacts/<target>/:
# make it a test.
#   scripts/fuzz.sh [seconds per target, default 15] [target …]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzRequest FuzzCSV FuzzPackets FuzzCapture FuzzModelFile FuzzNumbers)
scratch=.build-fuzz
swift build --package-path fuzz -c debug --scratch-path "$scratch" --sanitize=fuzzer --sanitize=address 2>&1 \
  | grep -v "Cannot export local symbol" | tail -3
status=0
for t in "${targets[@]}"; do
  corpus="$scratch/corpus/$t"
  artifacts="$scratch/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  echo "== $t (${seconds} s)"
  if ! "$scratch/debug/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" > "$scratch/$t.log" 2>&1; then
    status=1
    grep -E "ERROR|SUMMARY|Fatal error|Precondition|Test unit written" "$scratch/$t.log" | head -20
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$scratch/$t.log" | tr '\n' ' '; echo
done
[ $status -eq 0 ] && echo "fuzz: no crash in ${#targets[@]} targets" || echo "fuzz: FAILED (inputs in $scratch/artifacts)"
exit $status
