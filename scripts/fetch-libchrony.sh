#!/usr/bin/env bash
# Fetches a libchrony build for the tests and CI, where no distribution
# package exists (libchrony is packaged for Fedora and EPEL only).
#
# The reference pychrony wheel on PyPI bundles libchrony 0.2 (LGPL-2.1+) as
# pychrony.libs/libchrony-<hash>.so.0.0.1. This downloads that wheel with pip,
# extracts the library to .libchrony/libchrony.so.0 in the repository (a
# git-ignored folder) and prints, as its last line on stdout:
#
#     LIBCHRONY_PATH=<absolute path>
#
# so that callers can do:  export "$(scripts/fetch-libchrony.sh | tail -n 1)"
#
# Idempotent: when the library from the same wheel version is already there,
# nothing is downloaded. Progress goes to stderr.
#
# Environment: PYTHON (default python3) runs pip and the extraction;
# PYCHRONY_WHEEL_VERSION (default 2.0.3) picks the wheel.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd -P)
dest="$root/.libchrony"
target="$dest/libchrony.so.0"
version=${PYCHRONY_WHEEL_VERSION:-2.0.3}
python=${PYTHON:-python3}
stamp="$dest/source"

# Checks that a file is a loadable libchrony (has its first and last symbol).
check() {
    "$python" - "$1" <<'PY'
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.chrony_open_socket
lib.chrony_get_field_constant_name
PY
}

if [ -s "$target" ] && [ -f "$stamp" ] && [ "$(head -n 1 "$stamp")" = "pychrony==$version" ] \
    && check "$target" 2>/dev/null; then
    echo "fetch-libchrony: $target is already there (from pychrony==$version)" >&2
    echo "LIBCHRONY_PATH=$target"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "fetch-libchrony: downloading the pychrony==$version wheel for this platform" >&2
download() {
    "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: "$@" "pychrony==$version" -d "$tmp/wheel" >&2
}
# The wheels are per CPython version (3.10-3.13) but bundle the same library:
# with a Python that has no wheel of its own, take the 3.12 one.
if ! download && ! download --python-version 3.12; then
    echo "fetch-libchrony: pip could not download a pychrony==$version wheel for this platform" \
        "($(uname -m)); build libchrony (https://gitlab.com/chrony/libchrony) and set" \
        "LIBCHRONY_PATH instead" >&2
    exit 1
fi

# zipfile rather than unzip: python is needed for pip anyway, unzip may be absent.
"$python" - "$tmp/wheel" "$tmp/lib.so" <<'PY'
import fnmatch, pathlib, shutil, sys, zipfile

wheels = sorted(pathlib.Path(sys.argv[1]).glob("pychrony-*.whl"))
if not wheels:
    sys.exit("fetch-libchrony: pip saved no pychrony wheel")
with zipfile.ZipFile(wheels[0]) as whl:
    libs = [n for n in whl.namelist() if fnmatch.fnmatch(n, "pychrony.libs/libchrony-*.so*")]
    if len(libs) != 1:
        sys.exit(f"fetch-libchrony: expected one pychrony.libs/libchrony-*.so* in {wheels[0].name}, found {libs}")
    with whl.open(libs[0]) as src, open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
print(f"fetch-libchrony: extracted {libs[0]} from {wheels[0].name}", file=sys.stderr)
PY

check "$tmp/lib.so"
mkdir -p "$dest"
# Replace atomically: a test run may have the old file loaded.
install -m 0644 "$tmp/lib.so" "$dest/libchrony.so.0.new"
mv -f "$dest/libchrony.so.0.new" "$target"
printf 'pychrony==%s\n' "$version" >"$stamp"
echo "LIBCHRONY_PATH=$target"
