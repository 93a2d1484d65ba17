#!/usr/bin/env bash
# The test suite under AddressSanitizer (every test, leaks included), and the concurrency,
# lifecycle and reliability suites under ThreadSanitizer. Each sanitizer has its own build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp"
export TSAN_OPTIONS="halt_on_error=1"
echo "== AddressSanitizer: the whole suite"
swift build --build-tests --sanitize=address --scratch-path .build-asan 2>&1 | grep -v "Cannot export local symbol" | tail -1
swift test --skip-build --sanitize=address --scratch-path .build-asan 2>&1 | grep -E "✘|Test run|Sanitizer|SUMMARY" 
echo "== ThreadSanitizer: concurrency, lifecycle, reliability"
swift build --build-tests --sanitize=thread --scratch-path .build-tsan 2>&1 | tail -1
swift test --skip-build --sanitize=thread --scratch-path .build-tsan --filter "ReliabilityTests|ConcurrencyTests|LifecycleTests" 2>&1 \
  | grep -E "✘|Test run|Sanitizer|SUMMARY"
