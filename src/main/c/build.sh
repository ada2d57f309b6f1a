#!/usr/bin/env bash
# Builds the native launcher into the jar's resources. Static when libc.a is there
# (an exec of a static binary skips the dynamic loader: ~0.5 ms a call), dynamic otherwise.
# The syscall filter is generated first, by seccomp-filter.c with libseccomp (which knows this
# machine's syscall numbers), as a header the launcher compiles in: the launcher itself needs
# no libseccomp at run time and loads a finished filter.
set -euo pipefail
cc="${1:-cc}"; out="$2"
dir="$(dirname "$0")"
mkdir -p "$out"
if ! command -v "$cc" >/dev/null; then
  echo "warden: a C compiler ('$cc') is needed to build the sandbox launcher: apt-get install gcc" >&2
  exit 1
fi
if [ ! -e /usr/include/seccomp.h ]; then
  echo "warden: libseccomp's headers are needed to build the sandbox launcher: apt-get install libseccomp-dev" >&2
  exit 1
fi
flags=(-O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong)
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
"$cc" "${flags[@]}" -o "$gen/seccomp-filter" "$dir/seccomp-filter.c" -lseccomp
"$gen/seccomp-filter" > "$gen/seccomp-filter.h"
if ! "$cc" "${flags[@]}" -I "$gen" -static -o "$out/warden-spawn" "$dir/warden-spawn.c" 2>/dev/null; then
  "$cc" "${flags[@]}" -I "$gen" -o "$out/warden-spawn" "$dir/warden-spawn.c"
fi
