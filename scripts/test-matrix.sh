#!/usr/bin/env bash
# The chronyd version matrix (`make test-matrix`): prepares the chronyd
# versions of scripts/chronyd-versions.sh (cached in .chronyd/) and runs the
# suites that talk to a real chronyd once per version, with the lab's
# CHRONYLAB_CHRONYD / CHRONYLAB_CHRONYC pointing at that version:
#
#   * pytest tests/integration tests/cli tests/reliability/test_real_chronyd.py
#   * cargo test --test lab --test differential (chrony-core, both backends)
#
# then prints one summary line per version. The system's chronyd is not part
# of it: `make test-python` and `make test-rust` run against that one.
#
#     scripts/test-matrix.sh [SUITE...]   # default: trixie sid
#
# A version that cannot be prepared fails the matrix under CI (CI set) and is
# skipped, saying why, elsewhere. Exit status: non-zero when a suite failed.
#
# Environment: PY (default .venv/bin/python), LIBCHRONY_PATH (default
# .libchrony/libchrony.so.0, from `make libchrony`), CI; those of
# scripts/chronyd-versions.sh.
set -uo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd -P)
PY=${PY:-.venv/bin/python}
export LIBCHRONY_PATH=${LIBCHRONY_PATH:-$repo/.libchrony/libchrony.so.0}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(trixie sid)
in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != 0 ] && [ "${CI}" != false ]; }
log() { echo "test-matrix: $*" >&2; }

start=$SECONDS
prepared=$(bash scripts/chronyd-versions.sh "${suites[@]}")
prepare_status=$?
log "prepared in $((SECONDS - start)) s"

# Counts "passed failed skipped" from a JUnit XML file of pytest.
pytest_counts() {
    "$PY" - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 1 0")  # pytest died before writing its report
    raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad, skipped)
PY
}

pytest_targets=(tests/integration tests/cli tests/reliability/test_real_chronyd.py)
summary=()
failed=0
while read -r suite version dir; do
    [ -n "$suite" ] || continue
    export CHRONYLAB_CHRONYD="$dir/chronyd" CHRONYLAB_CHRONYC="$dir/chronyc"
    log "chronyd $version ($suite): CHRONYLAB_CHRONYD=$CHRONYLAB_CHRONYD"
    t0=$SECONDS
    py_pass=0 py_fail=0 py_skip=0 n=0
    # One pytest per folder: their conftest modules share a name.
    for tests in "${pytest_targets[@]}"; do
        n=$((n + 1))
        rm -f "$dir/pytest-$n.xml"
        "$PY" -m pytest "$tests" -q -p no:cacheprovider --junitxml="$dir/pytest-$n.xml"
        status=$?
        read -r pass fail skip < <(pytest_counts "$dir/pytest-$n.xml")
        [ "$status" -eq 0 ] || [ "$fail" -gt 0 ] || fail=1
        py_pass=$((py_pass + pass)) py_fail=$((py_fail + fail)) py_skip=$((py_skip + skip))
    done
    t1=$SECONDS
    # The features of `make test-rust`, so nothing is rebuilt.
    cargo test --workspace --locked --features chrony-core/libchrony \
        --test lab --test differential 2>&1 | tee "$dir/cargo.log"
    rs_status=${PIPESTATUS[0]}
    rs_pass=$(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$dir/cargo.log" \
        | awk '{s += $1} END {print s + 0}')
    rs_fail=$(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$dir/cargo.log" \
        | awk '{s += $1} END {print s + 0}')
    [ "$rs_status" -eq 0 ] || [ "$rs_fail" -gt 0 ] || rs_fail=1
    t2=$SECONDS
    [ "$py_fail" -eq 0 ] && [ "$rs_fail" -eq 0 ] || failed=1
    summary+=("chronyd $version ($suite): pytest $py_pass passed, $py_fail failed, $py_skip skipped ($((t1 - t0)) s); cargo $rs_pass passed, $rs_fail failed ($((t2 - t1)) s)")
done <<<"$prepared"

echo
echo "chronyd version matrix (the system's chronyd: make test-python, make test-rust):"
for line in "${summary[@]}"; do
    echo "  $line"
done
for suite in "${suites[@]}"; do
    if ! grep -q "^$suite " <<<"$prepared"; then
        if in_ci; then
            echo "  $suite: FAILED: could not be prepared (see chronyd-versions above); CI requires every version"
            failed=1
        else
            echo "  $suite: SKIPPED: could not be prepared (see chronyd-versions above)"
        fi
    fi
done
if [ "$prepare_status" -ne 0 ] && ! in_ci; then
    log "not every version could be prepared; under CI this fails the run"
fi
exit "$failed"
