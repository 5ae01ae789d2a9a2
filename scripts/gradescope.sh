#!/usr/bin/env bash
# Builds Gradescope's autograder: target/gradescope/autograder.zip (or the file named by
# $1), holding setup.sh and run_autograder (from gradescope/), the kit's source (weblab/),
# and templates.env: the WEBLAB_SERVER, WEBLAB_CLIENT and WEBLAB_PORT set now, and the
# private tests of WEBLAB_PRIVATE_TESTS, copied in.
#
# Usage: WEBLAB_SERVER='python3 {submission}/server.py {port} {root}' scripts/gradescope.sh
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(python3 -c 'import os, sys; print(os.path.abspath(sys.argv[1]))' \
    "${1:-target/gradescope/autograder.zip}")
stage=target/gradescope/autograder
rm -rf "$stage"
mkdir -p "$stage/weblab" "$(dirname "$out")"

cp gradescope/setup.sh gradescope/run_autograder "$stage/"
chmod 755 "$stage/setup.sh" "$stage/run_autograder"
for part in Cargo.toml Cargo.lock src tests fixtures exercises examples; do
    cp -R "$part" "$stage/weblab/"
done
rm -rf "$stage"/weblab/exercises/*/target

{
    echo "# The templates the autograder grades with, as they were when it was made."
    for name in WEBLAB_SERVER WEBLAB_CLIENT WEBLAB_PORT; do
        if [[ -n ${!name:-} ]]; then
            printf 'export %s=%q\n' "$name" "${!name}"
        fi
    done
    if [[ -n ${WEBLAB_PRIVATE_TESTS:-} ]]; then
        cp -R "$WEBLAB_PRIVATE_TESTS" "$stage/private"
        # shellcheck disable=SC2016 # expanded when run_autograder reads it
        echo 'export WEBLAB_PRIVATE_TESTS="$source_dir/private"'
    fi
} > "$stage/templates.env"

contents=(setup.sh run_autograder templates.env weblab)
if [[ -d $stage/private ]]; then
    contents+=(private)
fi
rm -f "$out"
(cd "$stage" && python3 -m zipfile -c "$out" "${contents[@]}")
echo "Gradescope autograder: $out"
