#!/usr/bin/env bash
# Installs what `make bench` compares against and loads with, from Debian's packages:
# nginx, wrk, and a font for the chart's labels. Idempotent and quiet; needs root
# (when run as another user it only says what is missing).
#
# Usage: scripts/install-bench-tools.sh
set -euo pipefail

missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "install-bench-tools: not root, so not installing: ${missing[*]}" >&2
    exit 1
fi
echo "install-bench-tools: apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
