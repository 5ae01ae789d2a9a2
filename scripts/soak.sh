#!/usr/bin/env bash
# Runs the whole test suite many times in a row, then again with every core kept busy,
# and reports each failure with its test name and any proptest seed; the whole output of
# a failed run is kept in target/soak/.
#
# Usage: scripts/soak.sh [RUNS]     (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-20}
log_dir=$(mktemp -d)
hogs=()
cleanup() {
    for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$log_dir"
}
trap cleanup EXIT

cargo test --no-run --quiet

failures=0
soak() {
    local label=$1
    for i in $(seq 1 "$runs"); do
        local log="$log_dir/$label-$i.log"
        if cargo test --quiet >"$log" 2>&1; then
            echo "ok   $label run $i"
        else
            failures=$((failures + 1))
            echo "FAIL $label run $i"
            grep -E "^test .* FAILED|panicked at|minimal failing input|seed" "$log" | sed 's/^/     | /' || true
            mkdir -p target/soak
            cp "$log" "target/soak/$label-$i.log"
            echo "     | whole output: target/soak/$label-$i.log"
        fi
    done
}

soak quiet

cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
for _ in $(seq 1 "$cores"); do
    # A CPU hog that ends by itself even if this script is killed.
    timeout 3600 sh -c 'while :; do :; done' &
    hogs+=($!)
done
soak busy

echo "$failures failed of $((runs * 2)) runs"
[[ $failures -eq 0 ]]
