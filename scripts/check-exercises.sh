#!/usr/bin/env bash
# Proof that the grader grades: for every exercise in exercises/rubric.toml,
#   1. the untouched starter compiles, and not one of its behaviours passes;
#   2. with its solution (exercises/solutions/NN-*/) copied over it, in a copy under
#      target/check-exercises/, every behaviour passes.
# An exercise that passes unsolved, or fails solved, is a bug in the exercise.
#
# Usage: scripts/check-exercises.sh      (needs cargo; prints one line per check)
set -euo pipefail
cd "$(dirname "$0")/.."

# A fixed folder, not mktemp: the grader builds each crate in its own target/, as `cargo
# run` does, so keeping those folders from run to run keeps the builds; everything else
# is copied afresh.
work=target/check-exercises
mkdir -p "$work/solved"
find "$work/solved" -mindepth 1 -maxdepth 1 -type f -delete
find "$work/solved" -mindepth 2 -maxdepth 2 ! -name target -exec rm -rf {} +
failures=0

cargo build --quiet --bin grade
GRADE=target/debug/grade

# Everything but build output (a `make check` leaves a target/ in each starter).
(cd exercises && tar cf - --exclude=target .) | (cd "$work/solved" && tar xf -)
for starter in exercises/[0-9][0-9]-*/; do
    name=$(basename "$starter")
    ex=${name%%-*}
    cp -R "exercises/solutions/$name/." "$work/solved/$name/"

    if output=$("$GRADE" check "$ex" --quiet 2>&1) || [[ $output != "0 of "* ]]; then
        echo "FAIL $name: the starter should fail every behaviour; it gave: $output"
        failures=$((failures + 1))
    else
        echo "ok   $name starter compiles and fails: $output"
    fi

    if output=$("$GRADE" check "$ex" --quiet --exercises "$work/solved" 2>&1); then
        echo "ok   $name solution passes: $output"
    else
        echo "FAIL $name: the solution should pass every behaviour"
        "$GRADE" check "$ex" --exercises "$work/solved" || true
        failures=$((failures + 1))
    fi
done

[[ $failures -eq 0 ]]
