#!/bin/sh
# Make the Debian base image `debian:bookworm-slim` without a registry.
#
# Where a registry is reachable, `docker pull debian:bookworm-slim` does the same
# and this script is not needed. Where none is (this project's build machines),
# debootstrap builds the same minimal Debian from the Debian mirror the host
# already uses, and `docker import` turns it into the image every Dockerfile
# here starts FROM. About 35 s.
set -eu
IMAGE=${1:-debian:bookworm-slim}
SUITE=bookworm
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base image $IMAGE is present"
    exit 0
fi
# The mirror the host's apt sources name (deb822 or one-line format).
MIRROR=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p; s/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\) .*/\2/p' \
    /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
ROOT=$(mktemp -d /tmp/astrohub-base.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
echo "building $IMAGE with debootstrap from $MIRROR"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >/tmp/astrohub-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/astrohub-debootstrap.log >&2; exit 1; }
# Same trimming as the registry's slim image: no apt lists, no caches.
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin
tar -C "$ROOT" -c . | docker import -c 'CMD ["bash"]' - "$IMAGE" >/dev/null
echo "base image $IMAGE imported"
