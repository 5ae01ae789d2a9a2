#!/usr/bin/env bash
# `make bench`: weblab's server in each mode beside `python3 -m http.server` and nginx,
# under the same wrk load on 127.0.0.1, in one run of a few minutes. Prints the tables and
# saves target/bench/results.json, table.txt and bench.png.
#
# Usage: scripts/bench.sh [--seconds N] [--rounds R]
#        (N seconds of wrk per scenario and server, default 5; the best of R rounds, default 5)
#
# As root it installs nginx and wrk from Debian's packages when they are missing
# (scripts/install-bench-tools.sh); otherwise whatever is missing is skipped, with a note.
# Every process it starts is in one process group, stopped on exit, failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(uname -s) != Linux ]]; then
    echo "bench: needs Linux (/proc, sendfile); skipped" >&2
    exit 0
fi
if [[ $(id -u) -eq 0 ]]; then
    bash scripts/install-bench-tools.sh || echo "bench: could not install every tool; going on without" >&2
fi

echo "--- building (release)" >&2
cargo build --release --quiet --bin server
cargo build --release --quiet --manifest-path bench/Cargo.toml --bin loadbench

driver=""
stop_all() {
    if [[ -n $driver ]]; then
        kill -TERM -- "-$driver" 2>/dev/null || true
        sleep 0.5
        kill -KILL -- "-$driver" 2>/dev/null || true
    fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# Job control gives the driver a process group of its own, which holds every server and
# wrk it starts, so the trap above can stop them all by the group's id.
set -m
bench/target/release/loadbench --server target/release/server --out target/bench "$@" &
driver=$!
set +m
status=0
wait "$driver" || status=$?
driver_done=$driver
driver=""
kill -KILL -- "-$driver_done" 2>/dev/null || true
exit "$status"
