#!/bin/bash
# Run inside warden/bash with the executor's flags: prints "hardening ok" only when the
# container really is locked down as intended; otherwise names each property that is not.
bad=()
[ "$(id -u)" = 60000 ] || bad+=("uid is $(id -u), not 60000")
[ "$(id -g)" = 60000 ] || bad+=("gid is $(id -g), not 60000")
grep -q '^CapEff:[[:space:]]*0000000000000000$' /proc/self/status || bad+=("effective capabilities not empty")
grep -q '^CapBnd:[[:space:]]*0000000000000000$' /proc/self/status || bad+=("bounding capabilities not empty")
grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/self/status || bad+=("no_new_privs not set")
grep -q '^Seccomp:[[:space:]]*2$' /proc/self/status || bad+=("no seccomp filter")
if touch /usr/warden-probe 2>/dev/null; then bad+=("root filesystem is writable"); fi
if touch /etc/warden-probe 2>/dev/null; then bad+=("/etc is writable"); fi
touch /tmp/warden-probe 2>/dev/null || bad+=("/tmp is not writable")
touch /workspace/.warden-probe 2>/dev/null || bad+=("/workspace is not writable")
rm -f /tmp/warden-probe /workspace/.warden-probe
ifaces=$(ls /sys/class/net 2>/dev/null | tr '\n' ' ')
[ "$ifaces" = "lo " ] || bad+=("network interfaces besides lo: $ifaces")
suid=$(find / -xdev -type f -perm /6000 -print 2>/dev/null | head -n 3 | tr '\n' ' ')
[ -z "$suid" ] || bad+=("setuid/setgid files: $suid")
if [ ${#bad[@]} -eq 0 ]; then
  echo "hardening ok"
else
  printf 'hardening FAILED: %s\n' "${bad[@]}"
  exit 1
fi
