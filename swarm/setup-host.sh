#!/bin/sh
# Prepare a Debian machine to run (and test) the hub: what a fresh machine lacks.
# Idempotent: a second run checks and returns in seconds.
#   - Debian packages: docker.io (engine), debootstrap (the offline base image),
#     node-configurable-http-proxy (tests run a real hub outside Docker),
#     npm (installs the login tests' second OpenID Connect provider),
#     chromium and libnss3-tools (browser tests; certutil makes chromium trust the
#     edge's local CA), postgresql (the datacentre's production database),
#     restic (astrohub backup / restore)
#   - a running dockerd (systemd where there is one, else in the background)
#   - a single-node Swarm that advertises the docker0 address (more nodes can join)
#   - the Debian base image (pulled, or made with debootstrap where no registry is reachable)
set -eu
cd "$(dirname "$0")/.."

need=""
for pkg in docker.io debootstrap node-configurable-http-proxy chromium libnss3-tools postgresql restic; do
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

# The Swarm advertises the docker0 address: reachable from this machine and from
# worker nodes in containers (src/astrohub/nodes.py); loopback reaches neither.
advertise="${ASTROHUB_ADVERTISE_ADDR:-$(ip -4 -o addr show docker0 2>/dev/null | awk '{sub("/.*", "", $4); print $4; exit}')}"
[ -n "$advertise" ] || advertise="$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}')"
[ -n "$advertise" ] || { echo "setup-host: no docker0 address found: set ASTROHUB_ADVERTISE_ADDR to this machine's address" >&2; exit 1; }
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = active ] \
    && [ "$(docker info --format '{{.Swarm.NodeAddr}}')" = 127.0.0.1 ] && [ "$advertise" != 127.0.0.1 ]; then
    deployed="$(docker service ls --format '{{.Name}}' | tr '\n' ' ')"
    if [ -n "$deployed" ]; then
        echo "setup-host: the Swarm advertises 127.0.0.1, so no other node can join it." >&2
        echo "  Services are deployed ($deployed); to move the Swarm to $advertise:" >&2
        echo "  remove them (make down, docker stack rm <stack>), then run make setup again." >&2
        echo "  Homes and databases (volumes) stay; docker secrets go with the Swarm and" >&2
        echo "  the next make up makes them again from .astrohub/<stack>/." >&2
    else
        echo "the Swarm advertises 127.0.0.1 and runs nothing: making it anew on $advertise"
        docker swarm leave --force >/dev/null
    fi
fi
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    docker swarm init --advertise-addr "$advertise" >/dev/null
    echo "initialised a single-node Swarm (advertise address $advertise)"
fi

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    docker pull debian:bookworm-slim >/dev/null 2>&1 || sh images/base/make-base.sh debian:bookworm-slim
fi
