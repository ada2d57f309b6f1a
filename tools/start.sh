#!/usr/bin/env bash
# Starts Warden on its built-in defaults: MCP over stdio, or `tools/start.sh --http 127.0.0.1:8765`.
# Installs the sandbox engine if it is missing (as root only) and builds the jar if it is missing or
# older than the sources. Build output goes to stderr: on stdio, stdout belongs to MCP.
set -euo pipefail
cd "$(dirname "$0")/.."
# The sandbox (bubblewrap, cgroups) needs root on Linux, and so does installing it. Anyone else (a
# user in the docker group, Docker Desktop on macOS or Windows) gets docker-only mode: Warden says
# so at start and runs every call in containers. Nothing is installed then, and apt-get never runs.
if [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ]; then
  bash tools/install-sandbox.sh >&2
else
  echo "warden: not root on Linux: no sandbox is installed; Warden runs calls in containers if a Docker engine answers (docker-only mode)" >&2
fi
if [ ! -f target/warden.jar ] || [ -n "$(find src pom.xml config -newer target/warden.jar -print -quit)" ]; then
  echo "warden: building target/warden.jar" >&2
  mvn -q -B -DskipTests package >&2
fi
# Class-data sharing halves start-up time; an archive older than the jar is rebuilt first.
if [ ! -f target/warden.jsa ] || [ target/warden.jar -nt target/warden.jsa ]; then
  bash tools/cds-archive.sh || true
fi
cds=()
[ -f target/warden.jsa ] && cds=(-XX:SharedArchiveFile=target/warden.jsa -Xshare:auto)
# JVM warnings (a stale archive, say) go to stderr: on stdio, stdout belongs to MCP
exec java "${cds[@]}" -Xlog:disable -Xlog:all=warning:stderr -jar target/warden.jar "$@"
