#!/bin/sh
# Starts Warden in a container. A non-privileged container sees its own cgroups read-only: with CAP_SYS_ADMIN
# (docs/FLEET.md, "Privileges") the bind mounts of the memory, pids and cpuacct controllers of the container's own cgroup are made
# writable, so each sandbox's group is made under the pod's (its memory counts against the pod's limit, and
# the kubelet sees it). Nothing else of the host's cgroup tree is reachable. Then the JVM replaces this shell.
set -eu
for c in memory pids cpuacct unified; do
    d=/sys/fs/cgroup/$c
    [ -d "$d" ] || continue
    # a cgroup directory takes no files, only groups: a group made and removed is the test of writing
    if mkdir "$d/.warden-w" 2>/dev/null; then
        rmdir "$d/.warden-w"
    else
        mount -o remount,bind,rw "$d" 2>/dev/null || echo "warden-entrypoint: cannot make $d writable" >&2
    fi
done
mkdir -p /var/lib/warden/state /var/lib/warden/workspaces /var/lib/warden/audit
chmod 0711 /var/lib/warden /var/lib/warden/workspaces
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:-} -jar /opt/warden/warden.jar "$@"
