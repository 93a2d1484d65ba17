#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh chromium iproute2   # chromium renders the HTML report; iproute2 makes the live-capture test's network namespace
swift build --build-tests
swift test --skip-build "$@"
