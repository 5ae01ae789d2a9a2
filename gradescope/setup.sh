#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu): it
# installs what grading needs (python3 for Python submissions, a C linker and the Rust
# toolchain for the grader and Rust submissions) and builds the grader, so that grading a
# submission compiles nothing but the student's own crates.
set -euo pipefail
cd "$(dirname "$0")"

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl build-essential python3

# The toolchain under /usr/local, where run_autograder finds it.
export CARGO_HOME=/usr/local/cargo RUSTUP_HOME=/usr/local/rustup
export PATH="$CARGO_HOME/bin:$PATH"
if ! command -v cargo >/dev/null; then
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
        | sh -s -- -y --no-modify-path --profile minimal --default-toolchain stable
fi

cd weblab
cargo build --bins
cargo test --test conformance --no-run
