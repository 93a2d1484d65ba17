#!/usr/bin/env bash
# Installs the Debian packages the build links against (and any named as arguments), only when
# something is missing.
# Needs root (or sudo) the first time; a no-op afterwards.
set -euo pipefail
# Extra packages may be named as arguments (the tests add chromium, to render the HTML report).
pkgs=(libmicrohttpd-dev libopenblas-dev libpcap-dev pkg-config "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
