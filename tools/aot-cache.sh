#!/usr/bin/env bash
# Builds target/warden.aot, an ahead-of-time cache (JDK 25: JEP 483 class loading and linking, JEP 514
# one-step creation, JEP 515 method profiles) from one training run: start, initialize, tools/list, an L1
# and an L2 call, then end of input. Used with -XX:AOTCache=target/warden.aot by tools/start.sh when
# JDK 25 is there. Tied to this jar and this JDK: rebuilt whenever the jar is newer.
# Usage: tools/aot-cache.sh [JAVA25]   (default: $WARDEN_JAVA25, else /usr/lib/jvm/temurin-25-jdk-amd64/bin/java)
set -euo pipefail
cd "$(dirname "$0")/.."
java25=${1:-${WARDEN_JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}}
jar=target/warden.jar; aot=target/warden.aot
[ -x "$java25" ] || { echo "warden: no JDK 25 at $java25" >&2; exit 1; }
[ -f "$jar" ] || { echo "warden: build the jar first (mvn -q -DskipTests package)" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
chmod 711 "$work"; mkdir "$work/ws"
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"aot-training","version":"1"}}}'
calls=('{"jsonrpc":"2.0","method":"notifications/initialized"}'
  '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
  '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"run_command","arguments":{"command":"ls"}}}'
  '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"execute_code","arguments":{"language":"python","code":"print(1)"}}}')
rm -f "$aot"
# stdin stays open a few seconds so the calls are answered before end of input stops the server; the
# cache is written as the JVM exits
{ printf '%s\n' "$init" "${calls[@]}"; sleep 4; } |
  XDG_STATE_HOME="$work/state" "$java25" -XX:AOTCacheOutput="$aot" -Xlog:disable -Xlog:all=warning:stderr \
  -jar "$jar" --audit "$work/audit.jsonl" --workspace "$work/ws" >/dev/null 2>"$work/err" || true
if [ -f "$aot" ]; then
  echo "warden: wrote $aot" >&2
else
  echo "warden: no AOT cache written:" >&2; tail -5 "$work/err" >&2; exit 1
fi
