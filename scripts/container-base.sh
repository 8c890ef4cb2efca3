#!/usr/bin/env bash
# Makes the Debian 12 base image for docker/Dockerfile where no image registry
# is reachable: `debootstrap --variant=minbase bookworm` from Debian's archive
# (about 200 MB, a minute or two), then `podman import`. The image stays in
# podman's storage, which is the cache: when it is already there, nothing is
# done. Prints the image name on stdout.
#
#     scripts/container-base.sh [--refresh]
#
# Environment: BASE_IMAGE (default localhost/pychrony-rs-base:bookworm),
# DEBIAN_MIRROR (default http://deb.debian.org/debian), CONTAINERS_CONF (as
# for podman). Needs root, debootstrap and podman.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${BASE_IMAGE:-localhost/pychrony-rs-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
log() { echo "container-base: $*" >&2; }

if [ "${1:-}" != --refresh ] && podman image exists "$image"; then
    log "$image is already in podman's storage"
    echo "$image"
    exit 0
fi

# The root file system is built in a git-ignored folder of the checkout, not
# in /tmp, which may be a small tmpfs; it is removed once imported.
work=$(pwd -P)/.container
rootfs=$work/rootfs
mkdir -p "$work"
rm -rf "$rootfs"
trap 'rm -rf "$rootfs"' EXIT
start=$SECONDS
log "debootstrap --variant=minbase bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    log "debootstrap failed (whole log: $work/debootstrap.log)"
    exit 1
}
# What an image needs no copy of: package lists and downloaded packages.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
log "debootstrap took $((SECONDS - start)) s; importing"
tar -C "$rootfs" -c . | podman import --quiet - "$image" >/dev/null
log "$image ready after $((SECONDS - start)) s"
echo "$image"
