#!/bin/sh
# Prepare a Debian machine to run (and test) the hub: what a fresh machine lacks.
# Idempotent: a second run checks and returns in seconds.
#   - Debian packages: docker.io (engine), debootstrap (the offline base image),
#     node-configurable-http-proxy (tests run a real hub outside Docker),
#     npm (installs the login tests' second OpenID Connect provider),
#     chromium (browser tests), postgresql (the datacentre's production database)
#   - a running dockerd (systemd where there is one, else in the background)
#   - a single-node Swarm
#   - the Debian base image (pulled, or made with debootstrap where no registry is reachable)
set -eu
cd "$(dirname "$0")/.."

need=""
for pkg in docker.io debootstrap node-configurable-http-proxy chromium postgresql; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
# a node from elsewhere (e.g. NodeSource's nodejs) brings its own npm
command -v npm >/dev/null 2>&1 || need="$need npm"
if [ -n "$need" ]; then
    [ "$(id -u)" = 0 ] || { echo "setup-host: installing$need needs root (run with sudo)" >&2; exit 1; }
    echo "installing Debian packages:$need"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/tmp/astrohub-apt.log 2>&1 \
        || { tail -n 30 /tmp/astrohub-apt.log >&2; exit 1; }
fi

if ! docker info >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
        systemctl start docker
    else
        echo "starting dockerd in the background (log: /var/log/dockerd.log)"
        nohup dockerd >/var/log/dockerd.log 2>&1 &
    fi
    i=0
    until docker info >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 60 ]; then
            echo "setup-host: Docker did not start within 60 s; its log says:" >&2
            tail -n 30 /var/log/dockerd.log >&2 2>/dev/null || true
            exit 1
        fi
        sleep 1
    done
fi
echo "docker engine $(docker info --format '{{.ServerVersion}}') is running"

if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    # Loopback: a single-node Swarm that needs no routable address.
    docker swarm init --advertise-addr "${ASTROHUB_ADVERTISE_ADDR:-127.0.0.1}" >/dev/null
    echo "initialised a single-node Swarm"
fi

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    docker pull debian:bookworm-slim >/dev/null 2>&1 || sh images/base/make-base.sh debian:bookworm-slim
fi
