#!/usr/bin/env bash
# Starts Warden on its built-in defaults: MCP over stdio, or `tools/start.sh --http 127.0.0.1:8765`.
# Installs the sandbox engine if it is missing (as root) and builds the jar if it is missing or
# older than the sources. Build output goes to stderr: on stdio, stdout belongs to MCP.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-sandbox.sh >&2
if [ ! -f target/warden.jar ] || [ -n "$(find src pom.xml config -newer target/warden.jar -print -quit)" ]; then
  echo "warden: building target/warden.jar" >&2
  mvn -q -B -DskipTests package >&2
fi
exec java -jar target/warden.jar "$@"
