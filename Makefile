# Every target documents itself: `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
REF_VENV ?= .venv-reference
export PYCHRONY_REFERENCE_PYTHON ?= $(abspath $(REF_VENV))/bin/python
# The benchmark's floor client: a crate with its own workspace (not in the wheel).
FLOOR := benchmarks/floor/Cargo.toml

.PHONY: help
help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: setup
setup:  ## Install chrony (Debian), create .venv, build and install the package into it
	bash scripts/setup.sh

.PHONY: build-dev
build-dev:  ## Rebuild the extension into .venv (release build)
	rm -f python/pychrony/_core*.so
	$(VENV)/bin/maturin develop --release -q

.PHONY: demo
demo: setup  ## Set up, then print every report from chronyd (starting a private one if none runs)
	$(PY) examples/demo.py

.PHONY: format
format:  ## Format Rust and Python code
	cargo fmt --all
	cargo fmt --manifest-path $(FLOOR)
	$(VENV)/bin/ruff format python tests scripts examples benchmarks
	$(VENV)/bin/ruff check --fix python tests scripts examples benchmarks

.PHONY: lint
lint:  ## cargo fmt/clippy, ruff, mypy --strict, stubtest
	cargo fmt --all --check
	cargo fmt --manifest-path $(FLOOR) --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy --workspace --all-targets --locked --features chrony-core/libchrony -- -D warnings
	cargo clippy --manifest-path $(FLOOR) --target-dir target --all-targets --locked -- -D warnings
	$(VENV)/bin/ruff check python tests scripts examples benchmarks
	$(VENV)/bin/ruff format --check python tests scripts examples benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m mypy.stubtest pychrony._core

.PHONY: libchrony
libchrony:  ## Fetch libchrony from the pychrony 2.0.3 wheel into .libchrony/
	bash scripts/fetch-libchrony.sh

.PHONY: reference
reference:  ## Create .venv-reference with pychrony 2.0.3 (for comparison tests)
	test -x $(REF_VENV)/bin/python || python3 -m venv $(REF_VENV)
	$(REF_VENV)/bin/pip install -q pychrony==2.0.3 pytest

.PHONY: test-rust
test-rust: libchrony  ## Rust tests (both backends), against real chronyd instances
	LIBCHRONY_PATH=$(abspath .libchrony/libchrony.so.0) cargo test --workspace --locked --features chrony-core/libchrony

.PHONY: coverage-rust
coverage-rust: libchrony  ## The Rust tests of test-rust, run once under cargo llvm-cov; line coverage of crates/
	bash scripts/rust-coverage.sh

.PHONY: test-python
test-python: libchrony reference  ## Python suites with coverage (unit, contract, integration, packaging: after make wheel)
	# coverage starts before pytest, so it also sees pychrony imported by the
	# pytest11 entry point (pytest-cov would start too late for that).
	LIBCHRONY_PATH=$(abspath .libchrony/libchrony.so.0) $(PY) -m coverage run -m pytest tests
	$(PY) -m coverage report

.PHONY: wheel
wheel:  ## dist/: the sdist, and from it the release abi3 manylinux_2_28 wheel (zig links it)
	bash scripts/build-dist.sh

.PHONY: test-packaging
test-packaging: wheel  ## Check dist/: tags, metadata, sdist contents, install into a fresh venv without Rust
	$(PY) -m pytest tests/packaging

.PHONY: test-container
test-container: wheel  ## Integration and CLI suites in a podman container (Debian 12, chronyd 4.3) with the wheel installed
	bash scripts/test-container.sh

.PHONY: matrix-prepare
matrix-prepare:  ## Prepare chronyd 4.6.1 (trixie) and 4.9 (sid) in .chronyd/ (about 7 MB each, once)
	bash scripts/chronyd-versions.sh

.PHONY: test-matrix
test-matrix: libchrony reference  ## Integration, real-chronyd and Rust lab tests against each chronyd of .chronyd/
	bash scripts/test-matrix.sh

.PHONY: bench
bench: reference  ## Benchmarks, quick mode: ours against pychrony 2.0.3 and the physical floors, same run (ratios)
	$(PY) benchmarks/bench.py
	$(PY) benchmarks/python_floor.py 300 3

.PHONY: bench-full
bench-full: reference  ## Benchmarks, full mode: the README's table (markdown) and RSS over 100,000 calls per report
	$(PY) benchmarks/bench.py --full
	$(PY) benchmarks/python_floor.py

.PHONY: test
# coverage-rust runs the tests of test-rust (instrumented), so test-rust is not
# listed; wheel comes before test-python, whose `pytest tests` includes
# tests/packaging (dist/).
test: setup lint coverage-rust wheel test-python test-matrix test-container bench  ## Everything CI runs: setup, lints, Rust suites (with coverage) and Python suites, the wheel's checks, chronyd matrix, container suite, benchmarks
