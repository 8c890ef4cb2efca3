#!/usr/bin/env bash
# `make test-container`: the integration and CLI suites in a container, against the
# release wheel of `make wheel` (dist/), with podman.
#
#     scripts/test-container.sh [PYTEST ARGS...]
#
#   1. podman, runc and debootstrap from Debian's packages, when missing
#      (as root); podman runs with docker/containers.conf (CONTAINERS_CONF).
#   2. The base image: BASE_IMAGE if set (e.g. debian:bookworm where a
#      registry is reachable), else the debootstrapped one of
#      scripts/container-base.sh (made once, kept in podman's storage).
#   3. docker/wheelhouse/: the image's Python packages, by the host's pip.
#   4. `podman build` of docker/Dockerfile: the wheel copied in, no Rust.
#   5. `podman run` of the image: docker/entrypoint.sh runs the suite.
#
# Without a container engine the run FAILS under CI (CI set) and is skipped,
# saying why, elsewhere. Prints the time of each step.
#
# Environment: BASE_IMAGE, TEST_IMAGE (default localhost/pychrony-rs-test),
# CONTAINERS_CONF (default docker/containers.conf), PY (default
# .venv/bin/python, runs pip download), CI; those of scripts/container-base.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)
tag=${TEST_IMAGE:-localhost/pychrony-rs-test}
PY=${PY:-.venv/bin/python}
in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != 0 ] && [ "${CI}" != false ]; }
log() { echo "test-container: $*" >&2; }
unavailable() {
    if in_ci; then
        log "FAILED: $*; CI requires the container suite"
        exit 1
    fi
    log "SKIPPED: $*"
    exit 0
}

t0=$SECONDS
need=()
for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        unavailable "${need[*]} not installed (apt-get install podman runc debootstrap)"
    fi
    log "installing podman runc debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null \
        || unavailable "apt-get could not install podman runc debootstrap"
fi
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/docker/containers.conf}
podman info >/dev/null 2>&1 || unavailable "podman does not work here: $(podman info 2>&1 | tail -n 1)"
t1=$SECONDS

wheels=(dist/*.whl)
[ -e "${wheels[0]}" ] || unavailable "no wheel in dist/: run make wheel"

if [ -z "${BASE_IMAGE:-}" ]; then
    BASE_IMAGE=$(bash scripts/container-base.sh)
fi
t2=$SECONDS

# The image's Python packages, downloaded here with the host's pip settings
# (a container may not reach PyPI the way the host does): Debian 12's
# CPython 3.11 on x86_64. pip skips what is already there.
for req in docker/requirements-test.txt docker/requirements-reference.txt; do
    "$PY" -m pip download --quiet --disable-pip-version-check --dest docker/wheelhouse \
        --only-binary=:all: --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
        --python-version 3.11 --implementation cp --requirement "$req" \
        || unavailable "pip could not download the packages of $req"
done
t3=$SECONDS

# The image this build replaces, removed (by id) once it is untagged.
previous=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
podman build --quiet --file docker/Dockerfile --ignorefile docker/Dockerfile.dockerignore \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg WHEELHOUSE_ONLY=1 --tag "$tag" . >/dev/null
t4=$SECONDS
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$tag")" ]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
fi

# --init: an init as PID 1 reaps the lab's daemons once they are orphaned.
status=0
podman run --rm --init "$tag" "$@" || status=$?
t5=$SECONDS
log "engine $((t1 - t0)) s, base image $((t2 - t1)) s, wheelhouse $((t3 - t2)) s," \
    "image build $((t4 - t3)) s, suite $((t5 - t4)) s"
exit "$status"
