#!/usr/bin/env bash
# Runs every ```sh block of README.md, in order, so no command in it rots. The quickstart's
# `scripts/run.sh` is started in the background and awaited on :8080; `scripts/test.sh` is
# skipped (CI has just run it). ```bash blocks (docker, kubectl: no engine or cluster here)
# are not run; CI checks their inputs with hadolint and kubernetes-validate instead.
set -euo pipefail
cd "$(dirname "$0")/.."
blocks=$(mktemp -d)
awk -v dir="$blocks" '/^```sh$/ {n++; f=sprintf("%s/%03d.sh", dir, n); inb=1; next} /^```/ {inb=0} inb {print > f}' README.md
server=""
# The quickstart runs in its own session, so the whole group (bash, run.sh's exec'd ae-server) stops together.
cleanup() { [ -z "$server" ] || { kill -TERM -- "-$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }; rm -rf "$blocks"; }
trap cleanup EXIT
for b in "$blocks"/*.sh; do
  if grep -q 'scripts/test.sh' "$b"; then continue; fi
  if grep -q 'scripts/run.sh' "$b"; then
    echo "== README: $(head -1 "$b") (background)"
    setsid bash "$b" > .build/readme-server.log 2>&1 &
    server=$!
    for _ in $(seq 900); do
      curl -sf http://127.0.0.1:8080/readyz >/dev/null 2>&1 && break
      kill -0 "$server" 2>/dev/null || { cat .build/readme-server.log; echo "scripts/run.sh exited" >&2; exit 1; }
      sleep 1
    done
    curl -sf http://127.0.0.1:8080/readyz >/dev/null || { tail -20 .build/readme-server.log; echo "server not ready" >&2; exit 1; }
    continue
  fi
  echo "== README: $(head -1 "$b")"
  bash -euo pipefail "$b" > .build/readme-block.log 2>&1 || { cat .build/readme-block.log; echo "README block failed: $(cat "$b")" >&2; exit 1; }
  tail -3 .build/readme-block.log
done
echo "README commands: OK"
