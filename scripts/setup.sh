#!/usr/bin/env bash
# Sets up a fresh Debian machine for this project: chrony (for the lab and
# chronyc), a virtual environment in .venv with the build, test and lint
# tools, and the package itself built in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

if ! command -v chronyd >/dev/null 2>&1 || ! command -v chronyc >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "chrony is not installed; run: sudo apt-get install chrony" >&2
        exit 1
    fi
    apt-get update -qq
    # The package's postinst would start a system chronyd where systemd runs;
    # policy-rc.d forbids that, since the lab starts its own private ones.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chrony iproute2 util-linux >/dev/null
    rm -f /usr/sbin/policy-rc.d
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not installed: install Rust (https://rustup.rs) first" >&2
    exit 1
fi

test -x "$VENV/bin/python" || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
# The tools of pyproject's [test] and [lint] extras, plus maturin to build.
"$VENV/bin/pip" install -q "maturin>=1.5,<2" "pytest>=8" "pytest-cov>=5" "pytest-timeout>=2" \
    "ruff>=0.6" "mypy>=1.10"
rm -f python/pychrony/_core*.so
"$VENV/bin/maturin" develop --release -q
"$VENV/bin/python" -c "import pychrony; print('pychrony', pychrony.__version__, 'ready in $VENV')"
