#!/usr/bin/env bash
# Starts Warden on its built-in defaults: MCP over stdio, or `tools/start.sh --http 127.0.0.1:8765`.
# Installs the sandbox engine if it is missing (as root only) and builds the jar if it is missing or
# older than the sources. Build output goes to stderr: on stdio, stdout belongs to MCP; and the build steps read
# nothing from stdin, where a client's initialize may already wait.
set -euo pipefail
cd "$(dirname "$0")/.."
# The sandbox (bubblewrap, cgroups) needs root on Linux, and so does installing it. Anyone else (a
# user in the docker group, Docker Desktop on macOS or Windows) gets docker-only mode: Warden says
# so at start and runs every call in containers. Nothing is installed then, and apt-get never runs.
if [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ]; then
  bash tools/install-sandbox.sh </dev/null >&2
else
  echo "warden: not root on Linux: no sandbox is installed; Warden runs calls in containers if a Docker engine answers (docker-only mode)" >&2
fi
if [ ! -f target/warden.jar ] || [ -n "$(find src pom.xml config -newer target/warden.jar -print -quit)" ]; then
  echo "warden: building target/warden.jar" >&2
  mvn -q -B -DskipTests package </dev/null >&2
fi
# JVM warnings (a stale archive or cache, say) go to stderr: on stdio, stdout belongs to MCP
quiet=(-Xlog:disable -Xlog:all=warning:stderr)
# WARDEN_JAVA25=/path/to/jdk-25/bin/java: start on JDK 25 with its ahead-of-time cache (target/warden.aot, rebuilt
# when the jar is newer: one training run, about a minute; without it JDK 25 starts plainly). Opt-in: against JDK 17
# with the CDS archive it was no clear win here (docs/BENCHMARKS.md#start-up), and the tests run on 17.
java25=${WARDEN_JAVA25:-}
if [ -n "$java25" ] && [ -x "$java25" ] && "$java25" -version 2>&1 | grep -q 'version "25'; then
  if [ ! -f target/warden.aot ] || [ target/warden.jar -nt target/warden.aot ]; then
    bash tools/aot-cache.sh "$java25" </dev/null || true
  fi
  aot=()
  [ -f target/warden.aot ] && aot=(-XX:AOTCache=target/warden.aot)
  exec "$java25" "${aot[@]}" "${quiet[@]}" -jar target/warden.jar "$@"
fi
# Otherwise the JDK on PATH (17) with class-data sharing, which takes a third off start-up; an archive older
# than the jar is rebuilt first.
if [ ! -f target/warden.jsa ] || [ target/warden.jar -nt target/warden.jsa ]; then
  bash tools/cds-archive.sh </dev/null || true
fi
cds=()
[ -f target/warden.jsa ] && cds=(-XX:SharedArchiveFile=target/warden.jsa -Xshare:auto)
exec java "${cds[@]}" "${quiet[@]}" -jar target/warden.jar "$@"
