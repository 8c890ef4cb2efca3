#!/bin/sh
# Container entry point: check that the lab can run chronyd here, then run the
# integration and command-line suites (which start their own lab instances)
# against the installed wheel. Arguments are passed on to pytest, e.g.
# `... run --rm test -k many -x`.
#
# Selected out, since a container gets neither by default: tests that need
# namespaces (test_default_addresses.py: `chronylab.py default-ns` unshares a
# mount and network namespace) and tests that run as another user (a child as
# `nobody` refused the Unix socket). The host suites (`make test-python`) run
# them.
set -eu
cd "$(dirname "$0")/.."

# libchrony for the libchrony backend's tests: the build bundled in the
# reference pychrony 2.0.3 wheel (as scripts/fetch-libchrony.sh uses it).
if [ -z "${LIBCHRONY_PATH:-}" ]; then
    for lib in "$(dirname "$PYCHRONY_REFERENCE_PYTHON")"/../lib/python3*/site-packages/pychrony.libs/libchrony*.so*; do
        [ -e "$lib" ] && LIBCHRONY_PATH=$(readlink -f "$lib") && export LIBCHRONY_PATH
    done
fi

echo "== $(chronyd --version)"
echo "== $(python -m pychrony --version)"
# Fails loudly, with chronyd's log, when chronyd cannot start in this container.
lab_json=$(python3 tests/lab/chronylab.py start client empty many)
lab_dir=$(printf '%s' "$lab_json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["dir"])')
trap 'python3 tests/lab/chronylab.py stop --dir "$lab_dir"' EXIT
chronyc -n -h "$lab_dir/client/chronyd.sock" sources -a
chronyc -n -h "$lab_dir/client/chronyd.sock" tracking
python3 tests/lab/chronylab.py stop --dir "$lab_dir"
trap - EXIT

exec python -m pytest tests/integration tests/cli -p no:cacheprovider \
    --ignore=tests/integration/test_default_addresses.py \
    --deselect=tests/integration/test_failures.py::test_unix_socket_refused_for_unprivileged_user \
    --deselect=tests/cli/test_cli_errors.py::test_permission_denied \
    "$@"
