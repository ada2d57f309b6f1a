#!/usr/bin/env bash
# Starts (and stops) the real services a Warden fleet shares, on loopback, in a directory of their
# own, for the fleet tests and benchmarks: Debian's redis-server and PostgreSQL 15 (a throw-away
# cluster: initdb as the postgres user, trust on loopback, fsync off). Nothing is installed here:
# .ci/run installs redis-server, postgresql and haproxy.
#
#   tools/fleet-services.sh install          apt-get installs redis-server, postgresql and haproxy if missing
#   tools/fleet-services.sh start DIR        both; writes DIR/env (shell lines, see below)
#   tools/fleet-services.sh stop DIR         both, and removes nothing else
#   tools/fleet-services.sh redis-stop DIR   only Redis (a test of what a replica does without it)
#   tools/fleet-services.sh redis-start DIR  Redis again, on the same port
#
# DIR/env: REDIS_PORT, REDIS_URL (redis://127.0.0.1:PORT), PG_PORT, PG_URL (a JDBC URL of the
# database "warden"), PG_USER (warden, no password: trust on 127.0.0.1 only), PG_DATA (the cluster:
# a directory of its own under /tmp that the postgres user can reach; removed by stop).
set -euo pipefail

cmd=${1:?usage: fleet-services.sh install|start|stop|redis-stop|redis-start DIR}
if [ "$cmd" = install ]; then
  need=()
  command -v redis-server >/dev/null || need+=(redis-server)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  command -v haproxy >/dev/null || need+=(haproxy)
  if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "fleet-services: missing ${need[*]}; as root: apt-get install ${need[*]}" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  exit 0
fi
dir=${2:?usage: fleet-services.sh $cmd DIR}
PGBIN=${WARDEN_PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

die() { echo "fleet-services: $*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # seconds, command...
  local n=$(( $1 * 10 )); shift
  for _ in $(seq 1 "$n"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

redis_start() {
  command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
  # shellcheck disable=SC1091
  . "$dir/env"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" --protected-mode yes
  wait_for 10 redis-cli -p "$REDIS_PORT" ping || die "redis-server did not answer (see $dir/redis.log)"
}

redis_stop() {
  if [ -f "$dir/redis.pid" ]; then
    local pid; pid=$(cat "$dir/redis.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/redis.pid"
  fi
}

case "$cmd" in
  start)
    [ -x "$PGBIN/initdb" ] || die "PostgreSQL is not installed (apt-get install postgresql)"
    id postgres >/dev/null 2>&1 || die "there is no postgres user (apt-get install postgresql)"
    mkdir -p "$dir"
    chmod 711 "$dir"
    { echo "REDIS_PORT=$(free_port)"; echo "PG_PORT=$(free_port)"; } > "$dir/env"
    # shellcheck disable=SC1091
    . "$dir/env"
    {
      echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
      echo "PG_URL=jdbc:postgresql://127.0.0.1:$PG_PORT/warden"
      echo "PG_USER=warden"
    } >> "$dir/env"
    redis_start
    # the cluster lives where the postgres user can reach it, whatever DIR's parents allow
    pgdata=$(mktemp -d /tmp/warden-pg-XXXXXX)
    echo "PG_DATA=$pgdata" >> "$dir/env"
    mkdir -p "$pgdata/data" "$pgdata/sock"
    chown -R postgres:postgres "$pgdata"
    chmod 700 "$pgdata/data"
    runuser -u postgres -- "$PGBIN/initdb" -D "$pgdata/data" -U warden --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
      || die "initdb failed (see $dir/initdb.log)"
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$pgdata/data" -l "$pgdata/postgres.log" -w -t 30 \
      -o "-p $PG_PORT -k $pgdata/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null || die "PostgreSQL did not start (see $pgdata/postgres.log)"
    runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U warden warden \
      || die "createdb failed"
    cat "$dir/env"
    ;;
  stop)
    redis_stop
    pgdata=$(sed -n 's/^PG_DATA=//p' "$dir/env" 2>/dev/null || true)
    if [ -n "$pgdata" ] && [ -d "$pgdata" ]; then
      if [ -f "$pgdata/data/postmaster.pid" ]; then
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$pgdata/data" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
      fi
      rm -rf "$pgdata"
    fi
    ;;
  redis-stop) redis_stop ;;
  redis-start) redis_start ;;
  *) die "unknown command $cmd" ;;
esac
