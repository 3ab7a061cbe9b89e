#!/usr/bin/env bash
# Build the vhhub image where no base image can be pulled (ADR 0018): a Debian base made
# from Debian's own packages with debootstrap, then the repository's Dockerfile on it with
# podman. Prints the image name on its last line; tests/deploy/test_image.py runs it when
# VHHUB_TEST_IMAGE names it.
#
#   deploy/ci/build-image.sh [IMAGE]          (default localhost/vhhub:ci)
#
# Needs root and Debian's podman and debootstrap (apt-get install -y podman debootstrap).
# Works around two limits of nested containers on the CI machines, each only inside this
# script's own mount namespace: a cgroup v2 hierarchy mounted beside v1 (crun refuses the
# hybrid: it is unmounted here) and no CAP_SYS_RESOURCE (podman's default rlimits cannot be
# set: the build uses the current open-files limit and 4096 processes).
set -euo pipefail

IMAGE="${1:-localhost/vhhub:ci}"
BASE="localhost/debian:bookworm-minbase"
SUITE="bookworm"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${TMPDIR:-/tmp}/vhhub-image-build"

for tool in podman debootstrap unshare; do
  command -v "$tool" >/dev/null || { echo "build-image: $tool is not installed" >&2; exit 2; }
done

if ! podman image exists "$BASE"; then
  rm -rf "$WORK" && mkdir -p "$WORK"
  debootstrap --variant=minbase "$SUITE" "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  tar -C "$WORK/rootfs" -c . | podman import - "$BASE" >/dev/null
  rm -rf "$WORK/rootfs"
fi

# the CA bundle of this host: a network that inspects TLS needs it for pip (a build secret,
# never in a layer)
CA=/etc/ssl/certs/ca-certificates.crt
nofile="$(ulimit -n)"
build=(podman build --format docker --network host
  --ulimit "nofile=${nofile}:${nofile}" --ulimit "nproc=4096:4096"
  --build-arg "BASE_IMAGE=$BASE" --tag "$IMAGE" --file "$ROOT/Dockerfile")
[ -s "$CA" ] && build+=(--secret "id=extra_ca,src=$CA")
build+=("$ROOT")

if [ -d /sys/fs/cgroup/unified ] && mountpoint -q /sys/fs/cgroup/unified; then
  unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh "${build[@]}" >&2
else
  "${build[@]}" >&2
fi
echo "$IMAGE"
