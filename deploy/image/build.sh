#!/usr/bin/env bash
# Builds the Warden server image warden/server:VERSION (the pom's version) from local images only: no registry is
# reached (this machine cannot pull from one). Needs the Docker engine (tools/install-docker.sh) and warden/env
# (tools/build-images.sh builds it from a debootstrap of the Debian mirror); builds target/warden.jar if missing.
#
#   deploy/image/build.sh            build warden/server:VERSION
#   deploy/image/build.sh --check    also start it once: `--version` and the sandbox's tools inside
#
# To run it on a cluster, tag and push it to a registry the nodes pull from and name that in
# deploy/kubernetes/kustomization.yaml (images:).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
version=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' pom.xml | head -n 1)
[ -f target/warden.jar ] || mvn -q -DskipTests package
docker image inspect warden/env >/dev/null 2>&1 || { echo "build.sh: warden/env is missing: run tools/build-images.sh first" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp deploy/image/Dockerfile deploy/image/entrypoint.sh "$ctx/"
cp target/warden.jar "$ctx/"
# the classic builder: FROM a local tag never goes to a registry
DOCKER_BUILDKIT=0 docker build -q -t "warden/server:$version" "$ctx"
echo "built warden/server:$version"
if [ "${1:-}" = --check ]; then
    docker run --rm --entrypoint /bin/sh "warden/server:$version" -c \
        'java -jar /opt/warden/warden.jar --version && bwrap --version && ip -V && iptables --version && setpriv --version | head -n 1'
fi
