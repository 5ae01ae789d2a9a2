#!/usr/bin/env bash
# Installs headless Chromium from Debian's packages for tests/browser.rs.
# Idempotent and quiet: does nothing when /usr/bin/chromium is already there.
#
# Usage: scripts/install-browser.sh   (as root, or with sudo available)
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-browser: needs root to run apt-get install chromium" >&2
        exit 1
    fi
    sudo="sudo"
fi
echo "install-browser: apt-get install chromium" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
