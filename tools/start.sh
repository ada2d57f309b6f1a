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
# JVM warnings (a stale archive or cache, say) go to stderr: on stdio, stdout belongs to MCP
quiet=(-Xlog:disable -Xlog:all=warning:stderr)
# JDK 25, when it is there (WARDEN_JAVA25, else Temurin's path; WARDEN_JAVA25=none to never use it), with its
# ahead-of-time cache: the fastest start measured (docs/BENCHMARKS.md#start-up). The cache is rebuilt when the
# jar is newer (one training run, about a minute); if it cannot be built, JDK 25 starts without it.
java25=${WARDEN_JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
if [ "$java25" != none ] && [ -x "$java25" ] && "$java25" -version 2>&1 | grep -q 'version "25'; then
  if [ ! -f target/warden.aot ] || [ target/warden.jar -nt target/warden.aot ]; then
    bash tools/aot-cache.sh "$java25" || true
  fi
  aot=()
  [ -f target/warden.aot ] && aot=(-XX:AOTCache=target/warden.aot)
  exec "$java25" "${aot[@]}" "${quiet[@]}" -jar target/warden.jar "$@"
fi
# Otherwise the JDK on PATH (17) with class-data sharing, which takes a third off start-up; an archive older
# than the jar is rebuilt first.
if [ ! -f target/warden.jsa ] || [ target/warden.jar -nt target/warden.jsa ]; then
  bash tools/cds-archive.sh || true
fi
cds=()
[ -f target/warden.jsa ] && cds=(-XX:SharedArchiveFile=target/warden.jsa -Xshare:auto)
exec java "${cds[@]}" "${quiet[@]}" -jar target/warden.jar "$@"
