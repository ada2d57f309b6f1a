#!/usr/bin/env bash
# Builds the native launcher into the jar's resources. Static when libc.a is there
# (an exec of a static binary skips the dynamic loader: ~0.5 ms a call), dynamic otherwise.
set -euo pipefail
cc="${1:-cc}"; out="$2"
src="$(dirname "$0")/warden-spawn.c"
mkdir -p "$out"
if ! command -v "$cc" >/dev/null; then
  echo "warden: a C compiler ('$cc') is needed to build the sandbox launcher: apt-get install gcc" >&2
  exit 1
fi
flags=(-O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong)
if ! "$cc" "${flags[@]}" -static -o "$out/warden-spawn" "$src" 2>/dev/null; then
  "$cc" "${flags[@]}" -o "$out/warden-spawn" "$src"
fi
