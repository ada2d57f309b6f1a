#!/usr/bin/env bash
# MCP protocol tests of target/warden.jar through clients nobody here wrote:
#   1. the official TypeScript SDK client over stdio, Streamable HTTP (/mcp) and HTTP+SSE
#      (/sse + /message): node's test runner, *.test.mjs;
#   2. the official MCP conformance suite against /mcp, twice: 0.1.16 (every server scenario, mostly
#      2025-11-25) with conformance-expected-failures.yml as its baseline, and the 0.2.0 pre-release
#      (npm alias conformance-next) with the 2026-07-28 requirement set and
#      conformance-next-expected-failures.yml (both run under Node 22 from the `node` devDependency).
# Needs java, node and npm; the sandbox needs root like the server itself.
# The last line printed is `N passed, N failed` for the conformance scenarios of both suites. Exit status is
# non-zero if anything failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
jar="$repo/target/warden.jar"

if [[ ! -f "$jar" ]]; then
  echo "tests/mcp/run.sh: $jar not found; build it first: (cd $repo && mvn -q -DskipTests package)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
for tool in java node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "tests/mcp/run.sh: $tool is not installed" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
done

cd "$here"
if [[ ! -d node_modules ]]; then
  echo "== npm ci (tests/mcp)"
  if ! npm ci --no-audit --no-fund; then
    echo "tests/mcp/run.sh: npm ci failed" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

# A private copy of the jar: a rebuild of target/ while the tests run cannot pull classes
# out from under a running server.
work="$(mktemp -d "${TMPDIR:-/tmp}/warden-mcp-run-XXXXXX")"
chmod 711 "$work" # the sandbox's own uids must reach the workspaces below it
cp "$jar" "$work/warden.jar"
export WARDEN_JAR="$work/warden.jar"

server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== MCP tests: TypeScript SDK client over stdio, Streamable HTTP, HTTP+SSE"
npm test
node_rc=$?

echo "== MCP conformance suite against Streamable HTTP"
summary="0 passed, 1 failed"
conf_rc=1
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
mkdir -m 711 "$work/ws"
java -jar "$WARDEN_JAR" --http "127.0.0.1:$port" --audit "$work/audit.jsonl" --workspace "$work/ws" \
  2>"$work/server.log" &
server_pid=$!

up=0
for _ in $(seq 1 300); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    break
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    up=1
    break
  fi
  sleep 0.1
done

if [[ "$up" != 1 ]]; then
  echo "tests/mcp/run.sh: warden did not start on 127.0.0.1:$port; its log:" >&2
  cat "$work/server.log" >&2
else
  WARDEN_URL="http://127.0.0.1:$port/mcp" node conformance.mjs | tee "$work/conformance.out"
  conf_rc=${PIPESTATUS[0]}
  echo "== MCP conformance suite 0.2.0 (revision 2026-07-28) against Streamable HTTP"
  WARDEN_URL="http://127.0.0.1:$port/mcp" node conformance.mjs --next | tee "$work/conformance-next.out"
  next_rc=${PIPESTATUS[0]}
  [[ "$next_rc" != 0 ]] && conf_rc=$next_rc
  old="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/conformance.out" | tail -n 1)"
  new="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/conformance-next.out" | tail -n 1)"
  if [[ -n "$old" && -n "$new" ]]; then
    read -r p1 _ f1 _ <<<"$old"
    read -r p2 _ f2 _ <<<"$new"
    summary="$((p1 + p2)) passed, $((f1 + f2)) failed"
  else
    summary="0 passed, 1 failed"
  fi
fi

kill "$server_pid" 2>/dev/null
wait "$server_pid" 2>/dev/null
server_pid=""
if grep -qE '^\s+at (io|org|java|jdk|jakarta)\.' "$work/server.log"; then
  echo "note: the server logged a stack trace during the conformance run:" >&2
  grep -nE -B3 '^\s+at (io|org|java|jdk|jakarta)\.' "$work/server.log" | head -n 40 >&2
fi

echo
if [[ "$node_rc" == 0 ]]; then
  echo "node tests: passed"
else
  echo "node tests: FAILED (exit $node_rc; see the failing tests above)"
fi
if [[ "$conf_rc" == 0 ]]; then
  echo "conformance: passed"
else
  echo "conformance: FAILED (exit $conf_rc)"
fi
echo "$summary"
if [[ "$node_rc" != 0 || "$conf_rc" != 0 ]]; then
  exit 1
fi
exit 0
