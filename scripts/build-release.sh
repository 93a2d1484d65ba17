#!/usr/bin/env bash
# The release build the Dockerfile's builder stage runs, and CI runs too (so it cannot rot):
# static Swift standard library and Foundation, the two executables copied to DEST (default
# .build/dist). The binaries then need only the C libraries ldd lists (scripts/check-runtime-libs.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.build/dist}
swift build -c release --static-swift-stdlib --product ae-server
swift build -c release --static-swift-stdlib --product ae
mkdir -p "$dest"
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
cp "$bin/ae-server" "$bin/ae" "$dest/"
echo "built: $dest/ae-server $dest/ae"
