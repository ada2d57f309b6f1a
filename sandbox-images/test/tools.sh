#!/bin/bash
# Run inside an image with the executor's flags: checks the tools the images carry for network
# use (through Warden's egress proxy) and prints "tools ok" only when all are there; otherwise
# names each one that is not.
#   every image: git, curl, and /etc/ssl/certs/ca-certificates.crt is the build host's bundle
#                (sha256 WANT_SHA; none: the host has none) holding each of the host's own CAs
#                (the file HOST_CAS: one certificate a line, its base64 body joined; empty when
#                the host has none)
#   python:      pip, python3 -m pip, python3 -m venv (with pip in the venv), and the libraries of
#                Warden's environment (numpy, pandas, matplotlib, pytest, requests)
#   bash, c:     make, gcc, python3, node (Warden's environment)
#   javascript, typescript: npm, npx
# Usage: bash tools.sh LANG WANT_SHA HOST_CAS
lang=$1 want_sha=$2 host_cas=$3
bad=()
check() { # label command...: runs it, prints its first line, records a failure
  local label=$1 out rc
  shift
  out=$("$@" 2>&1); rc=$?
  if [ $rc = 0 ]; then
    printf '%-16s %s\n' "$label" "$(head -n 1 <<<"$out")"
  else
    bad+=("$label: exit $rc: $(head -n 1 <<<"$out")")
  fi
}
check git git --version
check curl curl --version
bundle=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$bundle" ]; then
  bad+=("$bundle is missing or empty")
else
  sha=$(sha256sum <"$bundle" | cut -c1-64)
  # none: the host has no bundle, so the image keeps Debian's
  [ "$want_sha" = none ] || [ "$sha" = "$want_sha" ] ||
    bad+=("$bundle is not the host's bundle (sha256 $sha, host $want_sha)")
  # Each certificate of the bundle as one line (its base64 body), to find the host's own CAs.
  have=$(awk '/-BEGIN CERTIFICATE-/ { c = ""; on = 1; next } /-END CERTIFICATE-/ { print c; on = 0 } on { c = c $0 }' "$bundle")
  n=0
  while IFS= read -r ca; do
    [ -n "$ca" ] || continue
    n=$((n + 1))
    grep -qxF -- "$ca" <<<"$have" || bad+=("host CA ${ca:0:24}... is not in $bundle")
  done <"$host_cas"
  printf '%-16s %s certificates, the host'"'"'s bundle, %s host CA(s) found\n' ca-certificates \
    "$(grep -c -- '-BEGIN CERTIFICATE-' "$bundle")" "$n"
fi
case "$lang" in
  python)
    check pip pip --version
    check "python3 -m pip" python3 -m pip --version
    venv=$(mktemp -d)/venv
    check "python3 -m venv" python3 -m venv "$venv"
    check "venv pip" "$venv/bin/python" -m pip --version
    rm -rf "${venv%/venv}"
    # Warden's environment (warden/env): the libraries L2 runs have too
    check "python3 libraries" python3 -c 'import numpy, pandas, matplotlib, pytest, requests; print("numpy", numpy.__version__, "pandas", pandas.__version__, "matplotlib", matplotlib.__version__, matplotlib.get_backend())'
    ;;
  bash|c)
    check make make --version
    check gcc gcc --version
    check python3 python3 --version
    check node node --version
    ;;
  javascript|typescript)
    check npm npm --version
    check npx npx --version
    ;;
esac
if [ ${#bad[@]} -eq 0 ]; then
  echo "tools ok"
else
  printf 'tools FAILED: %s\n' "${bad[@]}"
  exit 1
fi
