#!/usr/bin/env bash
# The per-call cost of a fleet's shared state, in microseconds: a rate limit check in a local bucket
# against one in Redis (Bucket4j's Lettuce backend), and the PostgreSQL insert + update of an
# executions row, against real redis-server and PostgreSQL started on loopback by
# tools/fleet-services.sh (stopped again at the end). Prints a Markdown table and writes it to
# bench/out/fleet-cost.md.
#
#   bench/fleet-cost.sh [N [THREADS]]     N samples per row (default 5000), THREADS concurrent callers (4)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cd "$repo"
if [ ! -f target/warden.jar ] || [ ! -f target/test-classes/dev/warden/bench/FleetCostBench.class ]; then
  mvn -q -o -DskipTests package
fi
dir=$(mktemp -d /tmp/warden-fleet-cost-XXXXXX)
chmod 711 "$dir"
trap 'bash tools/fleet-services.sh stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
bash tools/fleet-services.sh start "$dir" >/dev/null
# shellcheck disable=SC1091
. "$dir/env"
mkdir -p bench/out
java -cp target/warden.jar:target/test-classes -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  dev.warden.bench.FleetCostBench "$REDIS_URL" "$PG_URL" "$PG_USER" "${1:-5000}" "${2:-4}" 2>"$dir/bench.log" \
  | tee bench/out/fleet-cost.md || { cat "$dir/bench.log" >&2; exit 1; }
echo "(machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)" | tee -a bench/out/fleet-cost.md
