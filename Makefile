# weblab: the commands a student, an instructor or a maintainer types.
# Every target works on a fresh machine with the Rust toolchain and make.

CARGO ?= cargo

.PHONY: all demo test lint interop cross-check ci soak

all: test

## demo: build, then run the server and the client on fixtures/www, and compare modes
demo:
	$(CARGO) build --quiet --bins --examples
	$(CARGO) run --quiet --example demo

## test: the whole test suite: cargo test, then the slow grading runs it leaves out
test:
	$(CARGO) test
	$(CARGO) test --test grading -- --ignored --test-threads 1
	$(CARGO) test --test class -- --ignored --test-threads 1
	$(CARGO) test --test gradescope -- --ignored

## lint: formatting, clippy with warnings as errors, and the docs
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet

## interop: our client against python3 -m http.server, curl against our server
interop:
	bash scripts/interop.sh

## cross-check: check, clippy and the docs (warnings as errors) for Windows and macOS, the
## students' other systems, so their platform code at least compiles, lints and documents
## on a Linux machine; then clippy of every exercise crate, starter and solution, for both
CROSS_TARGETS ?= x86_64-pc-windows-gnu x86_64-apple-darwin
cross-check:
	rustup target add $(CROSS_TARGETS)
	for target in $(CROSS_TARGETS); do \
		$(CARGO) check --all-targets --target $$target || exit 1; \
		$(CARGO) clippy --all-targets --target $$target -- -D warnings || exit 1; \
		RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet --target $$target || exit 1; \
	done
	bash scripts/cross-check-exercises.sh $(CROSS_TARGETS)

## ci: what CI runs
ci: test lint interop cross-check

## soak: the whole suite 20 times, then 20 times more with every core busy
soak:
	bash scripts/soak.sh 20

# --- exercises: the student's path and the instructor's grading (exercises/README.md)

EX ?= 01
N ?= 1
GRADE = $(CARGO) run --quiet --bin grade --
SUBMISSION_FLAG = $(if $(SUBMISSION),--exercises $(SUBMISSION),)

.PHONY: check progress hint grade grade-class gradescope check-exercises

## check: build exercise EX (make check EX=01) and explain each failing behaviour
check:
	@$(GRADE) check $(EX) $(SUBMISSION_FLAG)

## progress: which exercises pass
progress:
	@$(GRADE) progress $(SUBMISSION_FLAG)

## hint: the Nth hint for exercise EX (make hint EX=01 N=2)
hint:
	@$(GRADE) hint $(EX) $(N)

## grade: every exercise (or WEBLAB_SERVER / WEBLAB_CLIENT): rubric + target/grade/results.json
grade:
	@$(GRADE) all $(SUBMISSION_FLAG)

## grade-class: every submission in SUBMISSIONS (one folder per student, Rust exercises
## or programs through WEBLAB_SERVER / WEBLAB_CLIENT with {submission}): target/grade/class.csv,
## a report per student in target/grade/class/, a summary on stdout
grade-class:
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade-class SUBMISSIONS=DIR" >&2; exit 2; }
	@$(GRADE) class "$(SUBMISSIONS)"

## gradescope: target/gradescope/autograder.zip for Gradescope, grading with the
## WEBLAB_SERVER / WEBLAB_CLIENT / WEBLAB_PORT (and WEBLAB_PRIVATE_TESTS) set now
gradescope:
	bash scripts/gradescope.sh

## check-exercises: every starter compiles and fails, every solution passes
check-exercises:
	bash scripts/check-exercises.sh

# --- performance (docs/performance.md): not part of `make test` or `make ci`

.PHONY: bench bench-parser browser-test

## bench: the server in each mode beside python3 -m http.server and nginx under wrk, on
## loopback, in a few minutes: tables, target/bench/results.json and target/bench/bench.png
bench:
	bash scripts/bench.sh

## bench-parser: criterion benchmark of the request parser (a separate crate in bench/)
bench-parser:
	$(CARGO) bench --manifest-path bench/Cargo.toml --bench parser

## browser-test: headless Chromium loads fixtures/www from every mode (installs Chromium as root)
browser-test:
	bash scripts/install-browser.sh
	$(CARGO) test --test browser

MUTANTS_JOBS ?= 2
.PHONY: mutants
## mutants: mutation testing of src/ with cargo-mutants (about 1.5 h on 2 cores; see docs/mutants.md)
mutants:
	command -v cargo-mutants >/dev/null || $(CARGO) install --locked cargo-mutants
	command -v cargo-nextest >/dev/null || $(CARGO) install --locked cargo-nextest
	@# Both passes run even if the first finds survivors; the second runs one mutant at a
	@# time, as whole grading runs have timing-bound checks that two at once would starve.
	@# cargo-mutants exits 2 when a mutant survives and 3 on a timeout: the report then
	@# judges the run. Any other failure (the unmutated tests failing, say) stops here.
	mkdir -p target/mutants
	status=0; \
	$(CARGO) mutants --jobs $(MUTANTS_JOBS) --output target/mutants/src $(MUTANTS_ARGS) \
		|| status=$$?; \
	case $$status in 0|2|3) ;; *) exit $$status;; esac; \
	$(CARGO) mutants --jobs 1 --output target/mutants/grader \
		--config .cargo/mutants-grader.toml $(MUTANTS_GRADER_ARGS) || status=$$?; \
	case $$status in 0|2|3) ;; *) exit $$status;; esac
	python3 scripts/mutants-report.py
