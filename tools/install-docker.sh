#!/usr/bin/env bash
# Makes a Docker engine answer on /var/run/docker.sock, for the L3 container tier.
#
# Installs Debian's docker.io (dockerd, containerd, runc), runsc (gVisor) and debootstrap if they
# are missing, registers runsc with dockerd as the runtime "runsc" (/etc/docker/daemon.json; a
# running dockerd is told to reload it with SIGHUP), starts dockerd in the background if no engine
# answers (logging to /var/log/warden-dockerd.log, detached with setsid so it outlives this
# script), waits for it and prints the server version. Idempotent: when an engine already answers
# with runsc registered it changes nothing. Needs root for anything it has to install or start.
# Nothing is pulled from a registry, here or later: the images are built from a debootstrap root
# filesystem (tools/build-images.sh).
#
# runsc is registered with three flags, each measured on Debian 12's runsc (20221219) on kernel 6.x:
#   --network=none  its network set-up takes every network namespace for the host's (it looks for
#                   /proc/sys/net/core/rmem_default, which newer kernels have in every namespace) and
#                   refuses to start; Warden's containers have no network anyway
#   --oci-seccomp   applies the container's seccomp profile (Warden's) inside gVisor too
#   --host-uds=open lets a program in the sandbox connect to a host unix socket bound into it: the
#                   egress relay reaches Warden's proxy through /.warden/net/proxy.sock (without it,
#                   connect() fails with ECONNREFUSED); creating host sockets stays refused
# An engine that has runsc registered with other flags (an older Warden's) gets these instead.
# Its platform is ptrace (the default; this runsc has no systrap, and kvm needs /dev/kvm).
#
# Environment: WARDEN_DOCKERD_TIMEOUT (seconds to wait for the socket, default 60),
#              WARDEN_DOCKERD_LOG (default /var/log/warden-dockerd.log),
#              WARDEN_GVISOR=skip (neither install nor register runsc).
set -euo pipefail

SOCK=/var/run/docker.sock
LOG=${WARDEN_DOCKERD_LOG:-/var/log/warden-dockerd.log}
TIMEOUT=${WARDEN_DOCKERD_TIMEOUT:-60}
PIDFILE=/var/run/docker.pid
DAEMON_JSON=/etc/docker/daemon.json
GVISOR=${WARDEN_GVISOR:-yes}

say() { echo "warden: $*" >&2; }
die() { echo "warden: ERROR: $*" >&2; exit 1; }

engine_up() {
  [ -S "$SOCK" ] && command -v docker >/dev/null &&
    timeout 10 docker -H "unix://$SOCK" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

server_line() {
  docker -H "unix://$SOCK" version --format \
    'Server: Docker Engine {{.Server.Version}} (API {{.Server.APIVersion}}, {{.Server.Os}}/{{.Server.Arch}})'
}

runsc_wanted() { [ "$GVISOR" != skip ]; }

# Registered with the flags of register_runsc (an engine still on an older registration is not).
runsc_registered() {
  timeout 10 docker -H "unix://$SOCK" info --format '{{json .Runtimes}}' 2>/dev/null |
    grep '"runsc":' | grep -q -- '--host-uds=open'
}

# Adds runsc to daemon.json's runtimes (keeping whatever else it holds); says whether it changed.
register_runsc() {
  [ -x /usr/bin/runsc ] || return 1
  mkdir -p "$(dirname "$DAEMON_JSON")"
  python3 - "$DAEMON_JSON" <<'PY'
import json, os, sys
path = sys.argv[1]
conf = {}
if os.path.exists(path) and os.path.getsize(path) > 0:
    with open(path) as f:
        conf = json.load(f)
want = {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none", "--oci-seccomp", "--host-uds=open"]}
if conf.get("runtimes", {}).get("runsc") == want:
    sys.exit(1)
conf.setdefault("runtimes", {})["runsc"] = want
tmp = path + ".warden-tmp"
with open(tmp, "w") as f:
    json.dump(conf, f, indent=2)
    f.write("\n")
os.replace(tmp, path)
PY
}

# gVisor: registered in daemon.json (kept there for the next dockerd start); a dockerd already
# running reloads it on SIGHUP (runtimes are reloadable).
ensure_runsc_registered() {
  if runsc_wanted && [ "$(id -u)" = 0 ] && register_runsc; then
    say "registered runsc (gVisor) as a docker runtime in $DAEMON_JSON"
    if engine_up && [ -s "$PIDFILE" ]; then
      kill -HUP "$(cat "$PIDFILE")" && say "dockerd told to reload $DAEMON_JSON"
    fi
  fi
}
ensure_runsc_registered

# 1. Already up: nothing to do (this is the common case on a re-run).
if engine_up && command -v debootstrap >/dev/null && { ! runsc_wanted || runsc_registered; }; then
  say "docker engine already answers on $SOCK"
  server_line
  exit 0
fi

# 2. Install what is missing (Debian's packages only; no other repository is reachable).
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v python3 >/dev/null || need+=(python3)
if runsc_wanted && [ ! -x /usr/bin/runsc ]; then need+=(runsc); fi
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need[*]}; as root run: apt-get update && apt-get install -y --no-install-recommends ${need[*]}"
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  say "installing ${need[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  # Keep the package's init script from starting its own dockerd: this script starts exactly one,
  # with a known log. policy-rc.d is only created (and removed again) when there is none.
  policy_made=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_made=1
  fi
  trap '[ -z "$policy_made" ] || rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    die "apt-get install ${need[*]} failed"
  [ -z "$policy_made" ] || rm -f /usr/sbin/policy-rc.d
  policy_made=
fi
command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"
command -v docker >/dev/null || die "docker CLI not found after installing docker.io"

# 2b. gVisor, once installed: registered (see above).
ensure_runsc_registered

if engine_up; then
  for _ in $(seq 1 25); do ! runsc_wanted || runsc_registered && break; sleep 0.2; done
  if runsc_wanted && ! runsc_registered; then
    say "WARNING: the running engine has no runtime runsc; restart dockerd to load $DAEMON_JSON"
  fi
  say "docker engine answers on $SOCK"
  server_line
  exit 0
fi

# 3. Start dockerd unless one is already starting.
[ "$(id -u)" = 0 ] || die "no docker engine answers on $SOCK; start one as root: bash tools/install-docker.sh"
running_pid=
if [ -s "$PIDFILE" ]; then
  p=$(cat "$PIDFILE" 2>/dev/null || true)
  if [ -n "$p" ] && [ -r "/proc/$p/comm" ] && [ "$(cat "/proc/$p/comm")" = dockerd ]; then
    running_pid=$p
    say "dockerd (pid $p) is running but does not answer yet; waiting for it"
  else
    say "removing stale $PIDFILE (pid ${p:-?} is not a running dockerd)"
    rm -f "$PIDFILE"
  fi
fi
if [ -z "$running_pid" ]; then
  mkdir -p "$(dirname "$LOG")"
  say "starting dockerd (log: $LOG)"
  {
    echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) warden: starting dockerd"
  } >>"$LOG"
  # setsid + nohup: its own session, immune to the hangup when this script's shell goes away.
  setsid nohup dockerd --host "unix://$SOCK" --pidfile "$PIDFILE" >>"$LOG" 2>&1 </dev/null &
  running_pid=$!
fi

# 4. Wait for the socket to answer.
start=$SECONDS
until engine_up; do
  if ! kill -0 "$running_pid" 2>/dev/null; then
    echo "---- last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2 || true
    die "dockerd (pid $running_pid) exited before answering on $SOCK (see $LOG)"
  fi
  if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then
    echo "---- last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2 || true
    die "dockerd (pid $running_pid) did not answer on $SOCK within ${TIMEOUT}s (see $LOG)"
  fi
  sleep 0.2
done
say "dockerd (pid $running_pid) answers on $SOCK after $((SECONDS - start))s"
if runsc_wanted && ! runsc_registered; then
  say "WARNING: the engine has no runtime runsc (see $DAEMON_JSON)"
fi
server_line
