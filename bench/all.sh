#!/usr/bin/env bash
# Every benchmark behind BENCHMARKS.md, one after another (about 15 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")"
bash core.sh
bash features.sh
bash train.sh
bash server.sh
bash oip.sh
