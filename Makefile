# weblab: the commands a student, an instructor or a maintainer types.
# Every target works on a fresh machine with the Rust toolchain and make.

CARGO ?= cargo

.PHONY: all demo test lint interop ci soak

all: test

## demo: build, then run the server and the client on fixtures/www, and compare modes
demo:
	$(CARGO) build --quiet --bins --examples
	$(CARGO) run --quiet --example demo

## test: the whole test suite
test:
	$(CARGO) test

## lint: formatting, clippy with warnings as errors, and the docs
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet

## interop: our client against python3 -m http.server, curl against our server
interop:
	bash scripts/interop.sh

## ci: what CI runs
ci: test lint interop

## soak: the whole suite 20 times, then 20 times more with every core busy
soak:
	bash scripts/soak.sh 20
