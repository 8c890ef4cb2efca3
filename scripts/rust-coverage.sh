#!/usr/bin/env bash
# `make coverage-rust`: the Rust suites of `make test-rust` (both backends,
# against real chronyd instances), run once under `cargo llvm-cov`, then the
# line coverage of crates/: in all and per crate.
#
# Coverage data must be read by the LLVM that rustc uses, so the tools are
# llvm-cov-N and llvm-profdata-N for rustc's LLVM major version N (from
# `rustc -vV`), Debian's llvm-N package; it is installed when missing (as
# root), as is cargo-llvm-cov (`cargo install`, once per machine).
#
# The PyO3 bridge (crates/pychrony) is exercised by the Python suites, which
# this does not instrument: its lines count as missed, and the summary also
# gives the figure without it.
#
# Environment: LLVM_COV, LLVM_PROFDATA (default: the tools above),
# LIBCHRONY_PATH (default .libchrony/libchrony.so.0, from `make libchrony`).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)
CARGO_LLVM_COV_VERSION=0.9.1
log() { echo "rust-coverage: $*" >&2; }

llvm=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
[ -n "$llvm" ] || { log "cannot read rustc's LLVM version from rustc -vV"; exit 1; }
LLVM_COV=${LLVM_COV:-llvm-cov-$llvm}
LLVM_PROFDATA=${LLVM_PROFDATA:-llvm-profdata-$llvm}
if ! command -v "$LLVM_COV" >/dev/null 2>&1 || ! command -v "$LLVM_PROFDATA" >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        log "$LLVM_COV/$LLVM_PROFDATA missing (rustc uses LLVM $llvm): apt-get install llvm-$llvm"
        exit 1
    fi
    log "installing llvm-$llvm (rustc uses LLVM $llvm)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "llvm-$llvm" >/dev/null
fi
LLVM_COV=$(command -v "$LLVM_COV")
LLVM_PROFDATA=$(command -v "$LLVM_PROFDATA")
export LLVM_COV LLVM_PROFDATA
if ! cargo llvm-cov --version >/dev/null 2>&1; then
    log "installing cargo-llvm-cov $CARGO_LLVM_COV_VERSION (cargo install, once)"
    cargo install --quiet --locked cargo-llvm-cov --version "$CARGO_LLVM_COV_VERSION"
fi

export LIBCHRONY_PATH=${LIBCHRONY_PATH:-$repo/.libchrony/libchrony.so.0}
# The features of `make test-rust`.
cargo llvm-cov --workspace --locked --features chrony-core/libchrony --no-report
summary=target/llvm-cov-summary.txt
cargo llvm-cov report --summary-only >"$summary"

# Columns of the summary: file, regions (3), functions (3), lines, missed
# lines, cover, branches...; files are named from crates/.
awk '
    $1 ~ /^[a-z0-9_-]+\/src\// && $8 ~ /^[0-9]+$/ {
        split($1, part, "/")
        lines[part[1]] += $8
        missed[part[1]] += $9
        all += $8
        all_missed += $9
    }
    function pct(n, m) { return n ? sprintf("%.1f%%", 100 * (n - m) / n) : "-" }
    END {
        if (!all) { print "rust-coverage: no files in the summary" > "/dev/stderr"; exit 1 }
        printf "Rust line coverage of crates/ (cargo llvm-cov): %s (%d of %d lines)\n",
            pct(all, all_missed), all - all_missed, all
        for (c in lines) printf "  %-14s %7s of %5d lines\n", c, pct(lines[c], missed[c]), lines[c]
        bridge = lines["pychrony"]
        printf "  without the PyO3 bridge (pychrony, tested from Python): %s\n",
            pct(all - bridge, all_missed - missed["pychrony"])
    }
' "$summary"
