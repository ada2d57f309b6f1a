#!/usr/bin/env bash
# The fleet benchmark (docs/FLEET.md, bench/README.md): real Redis and PostgreSQL (tools/fleet-services.sh),
# HAProxy with a generated configuration (round robin, affinity on Mcp-Session-Id, health on /readyz), 1, 2, then 3
# replicas of target/warden.jar on loopback (replica ids r1..r3); calls/s, p50 and p99 of trivial calls from several
# concurrent MCP clients through HAProxy for each replica count, then the time from a replica's kill -9 to the
# others refusing its sessions. Everything it starts it stops, by pid.
#
#   bench/fleet.sh [--clients 6] [--seconds 15] [--warmup 10] [--replicas 1,2,3] [--jar PATH]
#
# Needs root (the replicas' sandboxes), java, /usr/bin/python3, haproxy, redis-server and PostgreSQL
# (tools/fleet-services.sh install). Results: bench/out/fleet.md and fleet.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
jar="$root/target/warden.jar"
args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --jar) jar="$2"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
if [[ ! -f "$jar" ]]; then
    echo "bench: $jar missing, building it (mvn -q -DskipTests package)" >&2
    (cd "$root" && mvn -q -DskipTests package)
fi
command -v haproxy >/dev/null || { echo "bench: haproxy is missing (tools/fleet-services.sh install)" >&2; exit 1; }
# a private copy: a rebuild of target/ while the replicas run never pulls classes from under them
work=$(mktemp -d /tmp/warden-fleet-bench.XXXXXX)
chmod 0711 "$work"
cp "$jar" "$work/warden.jar"
services="$work/services"
mkdir -p "$services"
cleanup() {
    bash "$root/tools/fleet-services.sh" stop "$services" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
bash "$root/tools/fleet-services.sh" start "$services"
mkdir -p "$here/out"
/usr/bin/python3 "$here/fleet.py" --jar "$work/warden.jar" --env "$services/env" --out "$here/out" "${args[@]}"
