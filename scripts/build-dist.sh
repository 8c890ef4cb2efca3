#!/usr/bin/env bash
# `make wheel`: the release artefacts in dist/, from the sdist.
#
#   1. `maturin sdist` writes dist/pychrony_rs-<version>.tar.gz.
#   2. `pip wheel` builds the unpacked sdist through its PEP 517 hooks, as
#      `pip install pychrony_rs-<version>.tar.gz` does: the wheel we ship is
#      the proof that the sdist builds, and the extension is compiled once.
#
# The wheel is an abi3 wheel (CPython >= 3.10) tagged manylinux_2_28. The
# extension is linked by zig (the `ziglang` package from PyPI) against glibc
# 2.28's symbols: a plain link on a newer system (Debian 12: glibc 2.36)
# would need newer symbol versions and could not carry that tag. maturin's
# own policy check (its built-in auditwheel) rejects the wheel if it needs
# more than manylinux_2_28 allows.
#
# Environment: VENV (default .venv, from `make setup`) has maturin; zig is
# installed into it when missing. CARGO_TARGET_DIR (default target/ of the
# repository) keeps the compiled dependencies between runs; the sdist is
# unpacked into target/sdist-build/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)
VENV=${VENV:-.venv}
# The zig release this was tested with; maturin drives it as its linker.
ZIGLANG_REQUIREMENT="ziglang==0.17.1"
COMPATIBILITY=manylinux_2_28
CARGO_TARGET_DIR_DEFAULT=$repo/target
log() { echo "build-dist: $*" >&2; }

# maturin looks for zig as `python -m ziglang` with the python on PATH.
export PATH="$repo/$VENV/bin:$PATH"
if ! python -m ziglang version >/dev/null 2>&1; then
    log "installing $ZIGLANG_REQUIREMENT into $VENV"
    pip install -q --disable-pip-version-check "$ZIGLANG_REQUIREMENT"
fi

rm -rf dist
mkdir -p dist
t0=$SECONDS
maturin sdist --out dist
sdist=$(ls dist/pychrony_rs-*.tar.gz)

# pip would unpack the sdist into a new temporary folder each time, so cargo
# could keep nothing between runs. We unpack it ourselves, into a fixed folder
# with the files' mtimes set to now (--touch): the sdist stores fixed mtimes
# (2006), older than any earlier build, which would make cargo take stale
# artefacts for fresh. Our crates are recompiled, the dependencies are not.
unpacked=$CARGO_TARGET_DIR_DEFAULT/sdist-build
rm -rf "$unpacked"
mkdir -p "$unpacked"
tar -xzf "$sdist" -C "$unpacked" --touch
source_dir=$(ls -d "$unpacked"/pychrony_rs-*)

# PEP 517 builds are release builds. --no-build-isolation: maturin and zig
# come from $VENV (pyproject's build-system requirement is the same maturin
# range), so nothing is fetched.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CARGO_TARGET_DIR_DEFAULT}
export MATURIN_PEP517_ARGS="--zig --compatibility $COMPATIBILITY"
t1=$SECONDS
pip wheel --no-deps --no-build-isolation --disable-pip-version-check --no-cache-dir \
    --wheel-dir dist "$source_dir"
t2=$SECONDS

wheels=(dist/*.whl)
if [ ${#wheels[@]} -ne 1 ]; then
    log "expected one wheel in dist/, found ${#wheels[@]}: ${wheels[*]}"
    exit 1
fi
log "sdist in $((t1 - t0)) s, wheel from it in $((t2 - t1)) s:"
ls -l dist >&2
