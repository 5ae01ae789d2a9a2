#!/usr/bin/env bash
# check and clippy (warnings as errors) of every exercise crate, starter and solution, for
# each target given: the students write these on Windows and macOS too, so what they start
# from and what they are shown at the end must compile and lint there.
#
# The crates are found as scripts/check-exercises.sh finds them: each exercises/NN-*/ is a
# starter; its solution is that starter with exercises/solutions/NN-*/ copied over it, put
# together under target/cross-check-exercises/solved/. One target folder serves every
# crate, so their one dependency (polling) is built once per target.
#
# Usage: scripts/cross-check-exercises.sh TARGET...   (make cross-check runs it)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -gt 0 ]] || { echo "usage: $0 TARGET..." >&2; exit 2; }

work=target/cross-check-exercises
rm -rf "$work/solved"
mkdir -p "$work/solved"
export CARGO_TARGET_DIR="$PWD/$work/target"

# Everything but build output (a `make check` leaves a target/ in each starter).
(cd exercises && tar cf - --exclude=target --exclude=solutions .) | (cd "$work/solved" && tar xf -)
crates=()
for starter in exercises/[0-9][0-9]-*/; do
    name=$(basename "$starter")
    cp -R "exercises/solutions/$name/." "$work/solved/$name/"
    crates+=("$starter" "$work/solved/$name/")
done

failures=0
for target in "$@"; do
    for crate in "${crates[@]}"; do
        if cargo clippy --quiet --manifest-path "$crate/Cargo.toml" --all-targets \
            --target "$target" -- -D warnings; then
            echo "ok   $crate ($target)"
        else
            echo "FAIL $crate ($target): see cargo's output above"
            failures=$((failures + 1))
        fi
    done
done

[[ $failures -eq 0 ]]
