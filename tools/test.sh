#!/usr/bin/env bash
# Runs every test: unit tests and the sandbox escape tests (Maven: Surefire, Failsafe), then the
# protocol tests through the official MCP TypeScript SDK client and the official conformance suite.
# Needs root (the sandbox uses cgroups and per-run uids) and the packages of tools/install-sandbox.sh;
# starts a Docker engine (tools/install-docker.sh) and builds the L3 images (tools/build-images.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-sandbox.sh
if [ "$(id -u)" != 0 ]; then
  echo "warden: the tests start real sandboxes and need root" >&2
  exit 1
fi
echo "== L3: a Docker engine and the sandbox images (cached: a second run takes seconds)"
bash tools/install-docker.sh
bash tools/build-images.sh
echo "== the fleet's services: redis-server, postgresql and haproxy (started on loopback by the fleet tests)"
bash tools/fleet-services.sh install
echo "== Maven: unit tests, build, sandbox and container escape tests"
mvn -B -ntp verify
echo "== MCP protocol tests (TypeScript SDK client) and conformance suite"
bash tests/mcp/run.sh
