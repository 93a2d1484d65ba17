#!/usr/bin/env bash
# Checks the Dockerfile's runtime stage against what the release binaries really link:
# every shared library ldd lists must come from a package the runtime stage installs (or one
# they depend on, or the base image's libc/libstdc++), and every package it installs must be
# needed. Usage: scripts/check-runtime-libs.sh [DIST_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${1:-.build/dist}
# Packages the runtime stage installs: the apt-get install line after the last FROM.
listed=$(awk '/^FROM /{stage++} {print stage "\t" $0}' Dockerfile | awk -F'\t' -v last="$(grep -c '^FROM ' Dockerfile)" '$1==last {print $2}' \
  | tr -d '\\\n' | grep -oE 'apt-get install[^&]*' | grep -oE '[a-z0-9][a-z0-9.+-]+=[^ ]+' | cut -d= -f1 | sort -u)
[ -n "$listed" ] || { echo "no pinned apt packages found in the runtime stage" >&2; exit 1; }
# The base image (debian:bookworm-slim) already has these.
base="libc6 libgcc-s1 libstdc++6 zlib1g"
allowed="$base $listed $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances $listed 2>/dev/null | grep -v '^ ' | grep -v '^<' | sort -u | tr '\n' ' ')"
status=0
needed=""
for bin in "$dist/ae-server" "$dist/ae"; do
  while read -r lib path; do
    [ -n "$path" ] || continue
    real=$(readlink -f "$path")
    pkg=$(dpkg -S "$real" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1) || true
    if [ -z "$pkg" ]; then echo "FAIL $bin needs $lib ($path), which no Debian package provides" >&2; status=1; continue; fi
    needed="$needed $pkg"
    if ! grep -qw -- "$pkg" <<<"$allowed"; then echo "FAIL $bin needs $lib from $pkg, not installed by the runtime stage" >&2; status=1; fi
  done < <(ldd "$bin" | awk '/=>/ {print $1, $3}')
done
# Each listed package must itself provide a library the binaries link: nothing extra ships.
for p in $listed; do
  grep -qw -- "$p" <<<"$needed" || { echo "FAIL the runtime stage installs $p, which provides nothing the binaries link" >&2; status=1; }
done
echo "runtime stage: $(echo $listed); binaries need: $(tr ' ' '\n' <<<"$needed" | sort -u | tr '\n' ' ')"
[ $status = 0 ] && echo "runtime libraries: OK"
exit $status
