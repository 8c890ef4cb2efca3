#!/bin/sh
# Container entry point: check that the lab can run chronyd here, then run the
# integration suite (which starts its own lab instances). Arguments are passed
# on to pytest, e.g. `... run --rm test -k many -x`.
set -eu
cd "$(dirname "$0")/.."

echo "== $(chronyd --version)"
# Fails loudly, with chronyd's log, when chronyd cannot start in this container.
lab_json=$(python3 tests/lab/chronylab.py start client empty many)
lab_dir=$(printf '%s' "$lab_json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["dir"])')
trap 'python3 tests/lab/chronylab.py stop --dir "$lab_dir"' EXIT
chronyc -n -h "$lab_dir/client/chronyd.sock" sources -a
chronyc -n -h "$lab_dir/client/chronyd.sock" tracking
python3 tests/lab/chronylab.py stop --dir "$lab_dir"
trap - EXIT

exec python -m pytest tests/integration "$@"
