#!/usr/bin/env bash
# The long soak: 10,000 mixed calls from 8 clients (stdio and Streamable HTTP) against
# target/warden.jar while the Docker engine stops and starts, the audit filesystem fills, and the
# servers are killed with kill -9 and restarted. Prints calls/s, p50/p99 per call kind, the RSS
# curve, the faults survived and the counts per status; exit 1 when any check failed.
# Usage: bench/soak.sh [--calls 10000] [--clients 8] [--stdio 3] [--concurrency 3]
#                      [--docker-fault engine|socket|off] [--seed N] [--max-minutes 120] [--jar PATH]
# Needs root (like the server), node and npm. See bench/README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
jar="$root/target/warden.jar"
pass=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --jar) jar="$2"; shift 2 ;;
        *) pass+=("$1"); shift ;;
    esac
done

if [[ ! -f "$jar" ]]; then
    echo "bench/soak.sh: $jar missing, building it (mvn -q -DskipTests package)" >&2
    (cd "$root" && mvn -q -DskipTests package)
fi
if [[ ! -d "$root/tests/mcp/node_modules" ]]; then
    (cd "$root/tests/mcp" && npm ci --no-audit --no-fund)
fi
# a private copy: a rebuild of target/ during the hour-long run cannot pull classes from under it
work="$(mktemp -d "${TMPDIR:-/tmp}/warden-soak-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$jar" "$work/warden.jar"
export WARDEN_JAR="$work/warden.jar"
node "$here/soak.mjs" "${pass[@]+"${pass[@]}"}"
