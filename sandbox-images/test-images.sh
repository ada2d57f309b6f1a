#!/usr/bin/env bash
# Smoke test of the L3 images: for each language, compiles (where there is a compile step) and
# runs sandbox-images/test/hello.* in a container hardened the way the L3 executor runs one:
#   --read-only root, /tmp a tmpfs, /workspace a bind mount owned by uid 60000, --network none,
#   --cap-drop ALL, no-new-privileges, --user 60000:60000, --pids-limit, --memory (= memory-swap),
#   and a wall-clock limit that ends with SIGKILL (docker rm -f), since the program is PID 1 and
#   ignores SIGTERM.
# The limits are the per-language table of sandbox-images/README.md, so this also checks that
# the table is enough. Compile and run are separate containers, as the executor runs them.
# In warden/bash, test/hardening.sh also checks the lock-down from inside the container.
# In every image, test/tools.sh checks (same flags, no network) that git and curl are there, that
# /etc/ssl/certs/ca-certificates.crt is this host's bundle with the host's own CAs
# (/usr/local/share/ca-certificates) in it, and the language's tools: pip, python3 -m pip and
# venv in python; npm and npx in javascript and typescript.
#
# Usage: sandbox-images/test-images.sh [LANG...]   (default: all; needs root and the images)
# WARDEN_IMAGE_NS (default warden) is the repository prefix of the images under test.
# Prints one line per step and "N passed, M failed" at the end; exits 1 if any step failed.
set -uo pipefail
cd "$(dirname "$0")"
HERE=$PWD

# Java: a lean JVM (serial GC, C1 only, one compiler thread, no perf-data file in /tmp, a fixed
# processor count so the thread count does not follow the host's cores).
JVM="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:-UsePerfData -XX:ActiveProcessorCount=2"
JAVAC_J="-J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 -J-XX:CICompilerCount=1 -J-XX:-UsePerfData -J-XX:ActiveProcessorCount=2"

# lang | compile command (empty: none) | compile MB s pids | run command | run MB s pids | expected
TABLE=(
  "python|||python3 hello.py|512 30 8|hello from python 3"
  "javascript|||node hello.js|512 30 16|hello from javascript v18"
  "typescript|tsc --target es2022 --module commonjs --strict --outDir /workspace/.out hello.ts|512 60 16|node /workspace/.out/hello.js|512 30 16|hello from typescript"
  "bash|||bash hello.sh|256 30 32|hello from bash 5"
  "c|gcc -O2 -Wall -o /workspace/.out/hello hello.c -lm|512 60 8|/workspace/.out/hello|256 30 8|hello from c"
  "cpp|g++ -O2 -Wall -o /workspace/.out/hello hello.cpp|512 60 8|/workspace/.out/hello|256 30 8|hello from c++"
  "rust|rustc -O -o /workspace/.out/hello hello.rs|1024 60 16|/workspace/.out/hello|256 30 8|hello from rust"
  "go|go build -o /workspace/.out/hello hello.go|1024 60 32|/workspace/.out/hello|256 30 16|hello from go"
  "java|javac $JAVAC_J -d /workspace/.out Main.java|1024 60 32|java $JVM -XX:MaxRAMPercentage=75 -cp /workspace/.out Main|512 30 32|hello from java 17"
)

[ "$(id -u)" = 0 ] || { echo "test-images: needs root (the workspace is chowned to uid 60000)" >&2; exit 1; }
want=("$@")
pass=0 fail=0
# What test/tools.sh expects to find: the host's CA bundle, and its own CAs (written into each
# workspace as host-cas.txt, one certificate a line).
host_sha=$(sha256sum </etc/ssl/certs/ca-certificates.crt 2>/dev/null | cut -c1-64)
host_cas() {
  find -L /usr/local/share/ca-certificates -type f -name '*.crt' -exec \
    awk '/-BEGIN CERTIFICATE-/ { c = ""; on = 1; next } /-END CERTIFICATE-/ { print c; on = 0 } on { c = c $0 }' {} + 2>/dev/null
}
work=$(mktemp -d /tmp/warden-image-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

# run_step NAME IMAGE WS "MB S PIDS" CMD  -> prints the output, returns the exit code
run_step() {
  local name=$1 image=$2 ws=$3 lim=$4 cmd=$5 mb s pids cn rc
  read -r mb s pids <<<"$lim"
  cn=warden-test-$$-$RANDOM
  # shellcheck disable=SC2086 # cmd is a word list on purpose
  timeout -k 2 "$s" docker run --name "$cn" --rm \
    --read-only --tmpfs /tmp:rw,exec,nosuid,nodev,size=256m \
    -v "$ws:/workspace:rw" --workdir /workspace \
    --network none --cap-drop ALL --security-opt no-new-privileges \
    --user 60000:60000 --pids-limit "$pids" --memory "${mb}m" --memory-swap "${mb}m" \
    "$image" $cmd 2>&1
  rc=$?
  docker rm -f "$cn" >/dev/null 2>&1
  return $rc
}

step() { # lang phase image ws limits cmd expected
  local lang=$1 phase=$2 image=$3 ws=$4 lim=$5 cmd=$6 expect=$7 t out rc secs
  t=${EPOCHREALTIME/,/.}
  out=$(run_step "$lang-$phase" "$image" "$ws" "$lim" "$cmd"); rc=$?
  secs=$(awk -v a="$t" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.2f", b - a }')
  if [ $rc = 0 ] && [[ "$out" == *"$expect"* ]]; then
    printf 'ok    %-10s %-7s %5ss  [%s MB, %s s, %s pids]  %s\n' "$lang" "$phase" "$secs" $lim "$cmd"
    pass=$((pass + 1)); return 0
  fi
  printf 'FAIL  %-10s %-7s %5ss  [%s MB, %s s, %s pids]  exit %s: %s\n' "$lang" "$phase" "$secs" $lim "$rc" "$cmd"
  printf '%s\n' "$out" | tail -n 15 | sed 's/^/      | /'
  fail=$((fail + 1)); return 1
}

for row in "${TABLE[@]}"; do
  IFS='|' read -r lang ccmd clim rcmd rlim expect <<<"$row"
  if [ ${#want[@]} -gt 0 ] && [[ " ${want[*]} " != *" $lang "* ]]; then continue; fi
  image=${WARDEN_IMAGE_NS:-warden}/$lang
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    printf 'FAIL  %-10s image %s is missing (tools/build-images.sh %s)\n' "$lang" "$image" "$lang"
    fail=$((fail + 1)); continue
  fi
  ws=$work/$lang
  mkdir -p "$ws/.out"
  cp "$HERE"/test/* "$ws/"
  host_cas >"$ws/host-cas.txt"
  chown -R 60000:60000 "$ws"
  chmod 700 "$ws"
  if [ -n "$ccmd" ]; then
    step "$lang" compile "$image" "$ws" "$clim" "$ccmd" "" || continue
  fi
  step "$lang" run "$image" "$ws" "$rlim" "$rcmd" "$expect"
  # The lock-down itself (uid, capabilities, no_new_privs, seccomp, read-only root, network,
  # setuid files), checked from inside with the same flags.
  if [ "$lang" = bash ]; then
    step "$lang" locked "$image" "$ws" "$rlim" "bash hardening.sh" "hardening ok"
  fi
  # git, curl, the host's CA bundle, and the language's package tools.
  step "$lang" tools "$image" "$ws" "512 60 16" "bash tools.sh $lang ${host_sha:-none} host-cas.txt" "tools ok"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
