#!/usr/bin/env bash
# Installs what Warden's sandbox and build need on Debian/Ubuntu: bubblewrap (the L2 engine),
# a C compiler, libc headers and libseccomp (the launcher and its syscall filter), mkfs.ext4 and mount (the workspace quota),
# iproute2 and iptables (a network namespace per session), Java 17
# and Maven if missing. Needs root.
set -euo pipefail
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v cc >/dev/null || need+=(gcc)
[ -e /usr/include/linux/landlock.h ] || need+=(linux-libc-dev)
[ -e /usr/include/seccomp.h ] || need+=(libseccomp-dev)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || need+=(libc6-dev)
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
command -v python3 >/dev/null || need+=(python3)
# the workspace quota: an ext4 volume per session (mkfs.ext4), mounted on a loop device (mount)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v losetup >/dev/null || need+=(mount)
# one network namespace per session (ip netns) with a packet filter on its relay ports (iptables)
command -v ip >/dev/null || need+=(iproute2)
command -v iptables-restore >/dev/null || need+=(iptables)
if [ ${#need[@]} -eq 0 ]; then
  echo "warden: sandbox prerequisites present (bwrap $(bwrap --version | awk '{print $2}'))" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "warden: missing ${need[*]}; as root run: apt-get update && apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "warden: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
