#!/usr/bin/env bash
# Runs every test: unit tests and the sandbox escape tests (Maven: Surefire, Failsafe), then the
# protocol tests through the official MCP TypeScript SDK client and the official conformance suite.
# Needs root (the sandbox uses cgroups and per-run uids) and the packages of tools/install-sandbox.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-sandbox.sh
if [ "$(id -u)" != 0 ]; then
  echo "warden: the tests start real sandboxes and need root" >&2
  exit 1
fi
echo "== Maven: unit tests, build, sandbox escape tests"
mvn -B -ntp verify
echo "== MCP protocol tests (TypeScript SDK client) and conformance suite"
bash tests/mcp/run.sh
