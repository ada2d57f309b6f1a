#!/usr/bin/env bash
# Builds the L3 container images (sandbox-images/*/Dockerfile) without any registry:
#   warden/rootfs:bookworm  debootstrap --variant=minbase of the machine's own Debian mirror,
#                           docker import'ed (cached as a tar under /var/cache/warden/rootfs/)
#   warden/base             sandbox-images/base/Dockerfile, FROM warden/rootfs:bookworm
#   warden/env              sandbox-images/env/Dockerfile, FROM warden/base: Warden's environment
#                           (python3 with pytest, requests, numpy, pandas, matplotlib; node, npm;
#                           git, curl, make, gcc), the parent of python, javascript, bash and c
#   warden/<lang>           sandbox-images/<lang>/Dockerfile, FROM warden/base (or its parent)
#   $WARDEN_CACHE_DIR/env/<id>/  warden/env's filesystem, exported for the L2 sandbox (symlink
#                           env/current; sandbox.environment_dir), whenever env is built or checked
#
# Usage: tools/build-images.sh [options] [IMAGE...]     (default: every image)
#   IMAGE       base env python javascript typescript bash java c cpp go rust
#               (aliases: js ts sh c++ golang python3); an image's parents are built first
#   -j N        build up to N images at once (default: $WARDEN_BUILD_JOBS or 2)
#   --refresh   rebuild the requested images with --no-cache (picks up new Debian updates);
#               the debootstrap tar is kept
#   --refresh-rootfs  also debootstrap again
#   --test      afterwards, run sandbox-images/test-images.sh on the requested images (hello world
#               in each, compiled and run with the executor's hardened flags)
#   --list      print the images and their parents, and exit
#
# Caching, so a re-run on the same machine takes seconds:
#   - the debootstrap root filesystem is a tar under $WARDEN_CACHE_DIR (default /var/cache/warden),
#     named by a hash of suite, variant, mirrors, apt settings and the preparation code below;
#   - every image carries the label dev.warden.build-hash = sha256 of its Dockerfile, its
#     parent's image id and its build context's files (base: the host's CA certificates and
#     bundle, which the images carry instead of Debian's); an image whose label matches is not
#     built again (and a rebuilt parent changes the id, so its children are rebuilt). A changed
#     package list is a changed Dockerfile, so that image and everything below it are rebuilt.
#   - the exported environment is named by warden/env's image id: it is exported again only when
#     that image changed; the one it replaces is kept until the next run, older ones go.
# RUN steps reach the Debian mirror with --network host by default (no NAT or bridge needed);
# WARDEN_BUILD_NETWORK=default uses the bridge instead. WARDEN_IMAGE_NS (default warden) names
# the repository prefix, e.g. to build a second, independent set beside the one in use.
#
# Starts the engine first with tools/install-docker.sh. Exits 0 only when every requested image
# exists with the build hash of its current Dockerfile; otherwise says which and why.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
IMAGES_DIR=$REPO/sandbox-images
CACHE=${WARDEN_CACHE_DIR:-/var/cache/warden}
SUITE=bookworm
VARIANT=minbase
NETWORK=${WARDEN_BUILD_NETWORK:-host}
JOBS=${WARDEN_BUILD_JOBS:-2}
NS=${WARDEN_IMAGE_NS:-warden}
ROOTFS_TAG=$NS/rootfs:$SUITE
HASH_LABEL=dev.warden.build-hash
export DOCKER_BUILDKIT=0 # the classic builder: FROM a local tag never goes to a registry

# image -> parent image (the order is the build order)
ORDER=(base env python javascript typescript bash c cpp rust go java)
declare -A PARENT=([base]=rootfs [env]=base [python]=env [javascript]=env [typescript]=javascript
  [bash]=env [c]=env [cpp]=c [rust]=c [go]=base [java]=base)

T0=${EPOCHREALTIME/,/.}
elapsed() { awk -v a="$T0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%6.1f", b - a }'; }
since() { awk -v a="$1" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "[$(elapsed)s] $*"; }
die() { echo "[$(elapsed)s] ERROR: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

refresh= refresh_rootfs= run_tests=
want=()
while [ $# -gt 0 ]; do
  case "$1" in
    -j) [ $# -ge 2 ] || die "-j needs a number"; JOBS=$2; shift ;;
    -j*) JOBS=${1#-j} ;;
    --refresh) refresh=1 ;;
    --refresh-rootfs) refresh=1 refresh_rootfs=1 ;;
    --test) run_tests=1 ;;
    --list) for i in "${ORDER[@]}"; do echo "$NS/$i <- ${PARENT[$i]}"; done; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    js) want+=(javascript) ;; ts) want+=(typescript) ;; sh) want+=(bash) ;;
    c++) want+=(cpp) ;; golang) want+=(go) ;; python3) want+=(python) ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -n "${PARENT[$1]:-}" ] || die "unknown image '$1'; one of: ${ORDER[*]}"; want+=("$1") ;;
  esac
  shift
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "-j wants a positive number, not '$JOBS'"
[ ${#want[@]} -gt 0 ] || want=("${ORDER[@]}")

# Close the requested set over parents.
declare -A NEEDED=()
for i in "${want[@]}"; do
  p=$i
  while [ "$p" != rootfs ]; do NEEDED[$p]=1; p=${PARENT[$p]}; done
done

# ---- engine ---------------------------------------------------------------------------------
say "docker engine: tools/install-docker.sh"
bash "$REPO/tools/install-docker.sh" 2>&1 | sed 's/^/           /' || die "no docker engine (tools/install-docker.sh failed)"

mkdir -p "$CACHE/rootfs" "$CACHE/logs"
exec 9>"$CACHE/build.lock"
if ! flock -n 9; then
  say "another build-images.sh holds $CACHE/build.lock; waiting for it"
  flock -w 3600 9 || die "gave up waiting for $CACHE/build.lock"
fi

# ---- the root filesystem ----------------------------------------------------------------------
# The Debian mirror this machine's apt uses (apt-get indextargets reads both sources formats).
targets=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' 2>/dev/null | sort -u || true)
pick() { awk -v r="$1" '$2 == r && $3 == "main" { print $1; exit }' <<<"$targets"; }
MIRROR=${WARDEN_DEBIAN_MIRROR:-$(pick "$SUITE")}
MIRROR=${MIRROR:-http://deb.debian.org/debian/}
MIRROR=${MIRROR%/}
SECURITY=${WARDEN_DEBIAN_SECURITY_MIRROR:-$(pick "$SUITE-security")}
SECURITY=${SECURITY:-${MIRROR}-security}
SECURITY=${SECURITY%/}
# Some mirrors (frozen snapshots) serve Release files past their Valid-Until; the host's apt is
# then told not to check it, and the images' apt must be told the same or apt-get update fails.
VALID_UNTIL=$(apt-config dump 2>/dev/null | awk -F'"' '/^Acquire::Check-Valid-Until /{ print $2 }')
VALID_UNTIL=${VALID_UNTIL:-true}

# Everything done to the debootstrap tree before it is imported. Its own text is part of the cache
# key, so changing it makes a new tar.
prepare_rootfs() {
  local r=$1
  rm -f "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/log/* "$r"/var/cache/debconf/*-old
  cat >"$r/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
  cat >"$r/etc/apt/apt.conf.d/90warden" <<EOF
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::Check-Valid-Until "$VALID_UNTIL";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  cat >"$r/etc/dpkg/dpkg.cfg.d/90warden" <<'EOF'
force-unsafe-io
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
  find "$r/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/lintian
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  # update-alternatives (openjdk's postinst) fails without this directory even when the pages
  # themselves are excluded.
  mkdir -p "$r/usr/share/man/man1"
  : >"$r/etc/hostname"
  printf 'nameserver 127.0.0.1\n' >"$r/etc/resolv.conf" # docker replaces it at run time
}

# Removes a debootstrap tree. debootstrap mounts /proc and /sys (and may bind /dev) inside the
# target and can leave them mounted when it fails: unmount those first, and never cross into
# another filesystem, so a failed run can never make rm reach the host's /dev or /proc.
safe_rmtree() {
  local d=$1 m
  [ -e "$d" ] || return 0
  while read -r m; do
    [ -n "$m" ] && [ "$m" != "$d" ] && umount -l "$m" 2>/dev/null
  done < <(findmnt -rn -o TARGET | awk -v d="$d/" 'index($0, d) == 1' | sort -r)
  rm -rf --one-file-system "$d"
}

ROOTFS_KEY=$( { echo "$SUITE $VARIANT $MIRROR $SECURITY $VALID_UNTIL"; declare -f prepare_rootfs; } | sha256sum | cut -c1-16)
ROOTFS_TAR=$CACHE/rootfs/$SUITE-$VARIANT-$ROOTFS_KEY.tar

have_key=$(docker image inspect -f '{{index .Config.Labels "dev.warden.rootfs-key"}}' "$ROOTFS_TAG" 2>/dev/null || true)
if [ -z "$refresh_rootfs" ] && [ "$have_key" = "$ROOTFS_KEY" ]; then
  say "rootfs: $ROOTFS_TAG is current (key $ROOTFS_KEY)"
else
  if [ -n "$refresh_rootfs" ] || [ ! -s "$ROOTFS_TAR" ]; then
    [ "$(id -u)" = 0 ] || die "debootstrap needs root: run this script as root"
    command -v debootstrap >/dev/null || die "debootstrap is missing (tools/install-docker.sh installs it)"
    dir=$CACHE/rootfs/.build-$ROOTFS_KEY
    log=$CACHE/logs/debootstrap.log
    safe_rmtree "$dir"
    t=${EPOCHREALTIME/,/.}
    say "rootfs: debootstrap --variant=$VARIANT $SUITE from $MIRROR (log $log)"
    if ! debootstrap --variant="$VARIANT" "$SUITE" "$dir" "$MIRROR" >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      safe_rmtree "$dir"
      die "debootstrap failed (see $log)"
    fi
    say "rootfs: debootstrap done in $(since "$t")s"
    prepare_rootfs "$dir"
    tar --numeric-owner -C "$dir" -cf "$ROOTFS_TAR.tmp" . || die "tar of the root filesystem failed"
    mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    safe_rmtree "$dir"
    find "$CACHE/rootfs" -maxdepth 1 -name "$SUITE-$VARIANT-*.tar" ! -name "${ROOTFS_TAR##*/}" -delete
  else
    say "rootfs: cached tar $ROOTFS_TAR"
  fi
  t=${EPOCHREALTIME/,/.}
  docker import --change "LABEL dev.warden.rootfs-key=$ROOTFS_KEY" \
    --message "debootstrap --variant=$VARIANT $SUITE $MIRROR" \
    "$ROOTFS_TAR" "$ROOTFS_TAG" >/dev/null || die "docker import of $ROOTFS_TAR failed"
  say "rootfs: imported $ROOTFS_TAG in $(since "$t")s"
fi

# ---- the images ---------------------------------------------------------------------------------
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }
parent_ref() { if [ "$1" = rootfs ]; then echo "$ROOTFS_TAG"; else echo "$NS/$1"; fi; }
# The files an image's build gets besides its Dockerfile, one "NAME<tab>HOST-PATH" a line (NAME is
# the path in the build context). Only base has any: the host's CA store, which the images carry
# instead of Debian's (sandbox-images/base/Dockerfile says why).
context_files() {
  [ "$1" = base ] || return 0
  local d=/usr/local/share/ca-certificates f
  if [ -d "$d" ]; then
    while IFS= read -r -d '' f; do
      printf 'host-ca/local/%s\t%s\n' "${f#"$d"/}" "$f"
    done < <(find -L "$d" -type f -print0 | LC_ALL=C sort -z)
  fi
  if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    printf 'host-ca/ca-certificates.crt\t%s\n' /etc/ssl/certs/ca-certificates.crt
  fi
}
want_hash() { # image, parent id
  local name path
  { cat "$IMAGES_DIR/$1/Dockerfile"; echo "parent=$2"
    while IFS=$'\t' read -r name path; do
      printf '%s %s\n' "$name" "$(sha256sum <"$path" | cut -c1-64)"
    done < <(context_files "$1")
  } | sha256sum | cut -c1-32
}
# Makes the build context of an image in a new directory and prints its path: the Dockerfile
# (FROM warden/... renamed to the namespace) and the context files.
stage_context() {
  local ctx name path
  ctx=$(mktemp -d "$CACHE/context.$1.XXXXXX") || return 1
  sed "s#^FROM warden/#FROM $NS/#" "$IMAGES_DIR/$1/Dockerfile" >"$ctx/Dockerfile" || return 1
  if [ "$1" = base ]; then mkdir -p "$ctx/host-ca/local"; fi
  while IFS=$'\t' read -r name path; do
    mkdir -p "$ctx/$(dirname "$name")" && cp "$path" "$ctx/$name" || return 1
  done < <(context_files "$1")
  echo "$ctx"
}
size_mb() { docker image inspect -f '{{.Size}}' "$1" 2>/dev/null | awk '{ printf "%d MB", $1 / 1000000 }'; }

# Builds one image; runs in a background subshell; its exit code is its result.
build_one() {
  local n=$1 tag=$NS/$1 df=$IMAGES_DIR/$1/Dockerfile log=$CACHE/logs/$1.log
  local pid h have t ctx rc
  [ -f "$df" ] || { say "$tag: FAILED: no $df"; return 1; }
  pid=$(image_id "$(parent_ref "${PARENT[$n]}")") || { say "$tag: FAILED: parent $(parent_ref "${PARENT[$n]}") is missing"; return 1; }
  h=$(want_hash "$n" "$pid")
  have=$(docker image inspect -f "{{index .Config.Labels \"$HASH_LABEL\"}}" "$tag" 2>/dev/null || true)
  if [ -z "$refresh" ] && [ "$have" = "$h" ]; then
    say "$tag: up to date ($(size_mb "$tag"))"
    return 0
  fi
  t=${EPOCHREALTIME/,/.}
  say "$tag: building (log $log)"
  ctx=$(stage_context "$n") || { say "$tag: FAILED: could not make its build context"; return 1; }
  rc=0
  docker build --pull=false --network "$NETWORK" --force-rm ${refresh:+--no-cache} \
    --label "$HASH_LABEL=$h" --label "dev.warden.parent=$pid" \
    -t "$tag" "$ctx" >"$log" 2>&1 || rc=$?
  rm -rf "$ctx"
  if [ "$rc" != 0 ]; then
    echo "---- $tag: last lines of $log" >&2
    tail -n 25 "$log" >&2
    say "$tag: FAILED after $(since "$t")s (see $log)"
    return 1
  fi
  say "$tag: built in $(since "$t")s ($(size_mb "$tag"))"
  : >"$CACHE/logs/.rebuilt"
}

# ---- Warden's environment as a directory, for the L2 sandbox -----------------------------------
# bubblewrap binds its /usr and a few /etc entries read-only in place of the host's
# (src/main/java/dev/warden/exec/host/SystemTree.java), so L2 and L3 see the same files.
# ENV_DIR/<first 16 hex of the image id>/ holds the tree, ENV_DIR/current links to the newest one
# (swapped atomically with rename). Another namespace gets its own ENV_DIR, so a trial build never
# swaps the environment a server uses.
if [ "$NS" = warden ]; then ENV_DIR=${WARDEN_ENV_DIR:-$CACHE/env}; else ENV_DIR=${WARDEN_ENV_DIR:-$CACHE/env-$NS}; fi
export_env() {
  local id dir tmp cid t old keep d
  id=$(image_id "$NS/env") || return 1
  id=${id#sha256:}; id=${id:0:16}
  dir=$ENV_DIR/$id
  mkdir -p "$ENV_DIR"
  chmod 0755 "$ENV_DIR"
  if [ -f "$dir/.warden-env" ]; then
    say "env tree: $dir is current"
  else
    t=${EPOCHREALTIME/,/.}
    tmp=$ENV_DIR/.export-$id
    rm -rf --one-file-system "$tmp"
    mkdir -p "$tmp"
    cid=$(docker create --network none "$NS/env" true) || return 1
    if ! docker export "$cid" | tar -x -p --numeric-owner -C "$tmp"; then
      docker rm -f "$cid" >/dev/null 2>&1; rm -rf --one-file-system "$tmp"; return 1
    fi
    docker rm -f "$cid" >/dev/null 2>&1
    rm -f "$tmp/.dockerenv"
    chmod 0755 "$tmp"
    # the second lock after the image's own: nothing setuid or setgid, as in the image
    test -z "$(find "$tmp" -xdev -type f -perm /6000 -print -quit)" || { rm -rf --one-file-system "$tmp"; return 1; }
    printf 'image %s\nid %s\nexported %s\n' "$NS/env" "$(image_id "$NS/env")" "$(date -u +%FT%TZ)" >"$tmp/.warden-env"
    mv -T "$tmp" "$dir"
    say "env tree: exported $NS/env to $dir in $(since "$t")s ($(du -sm "$dir" | cut -f1) MB)"
  fi
  old=$(readlink "$ENV_DIR/current" 2>/dev/null || true)
  if [ "$old" != "$id" ]; then
    ln -sfn "$id" "$ENV_DIR/.current.tmp"
    mv -T "$ENV_DIR/.current.tmp" "$ENV_DIR/current"
    say "env tree: $ENV_DIR/current -> $id${old:+ (was $old, kept)}"
  fi
  for d in "$ENV_DIR"/*/; do
    d=${d%/}; d=${d##*/}
    [ ! -L "$ENV_DIR/$d" ] || continue
    [ "$d" = "$id" ] || [ "$d" = "$old" ] || [ ! -f "$ENV_DIR/$d/.warden-env" ] || rm -rf --one-file-system "${ENV_DIR:?}/$d"
  done
}

rm -f "$CACHE/logs/.rebuilt"
declare -A STATE=() PIDOF=()
for n in "${ORDER[@]}"; do if [ -n "${NEEDED[$n]:-}" ]; then STATE[$n]=pending; fi; done
STATE[rootfs]=ok
running=0
while :; do
  started=
  for n in "${ORDER[@]}"; do
    [ "${STATE[$n]:-}" = pending ] || continue
    p=${PARENT[$n]}
    case "${STATE[$p]:-}" in
      ok) if [ "$running" -lt "$JOBS" ]; then
            build_one "$n" & PIDOF[$!]=$n; STATE[$n]=running; running=$((running + 1)); started=1
          fi ;;
      failed) STATE[$n]=failed; say "$NS/$n: not built: its parent $(parent_ref "$p") failed"; started=1 ;;
    esac
  done
  [ -n "$started" ] && continue
  [ "$running" -gt 0 ] || break
  done_pid=
  if wait -n -p done_pid; then rc=0; else rc=$?; fi
  [ -n "$done_pid" ] || continue
  n=${PIDOF[$done_pid]}
  running=$((running - 1))
  if [ "$rc" = 0 ]; then STATE[$n]=ok; else STATE[$n]=failed; fi
done

# Old copies of rebuilt images (dangling, with our label), and nothing else.
if [ -e "$CACHE/logs/.rebuilt" ]; then
  docker image prune -f --filter "label=$HASH_LABEL" >/dev/null 2>&1 || true
fi

# ---- the verdict: every requested image exists with its current hash -----------------------------
bad=()
for n in "${ORDER[@]}"; do
  [ -n "${NEEDED[$n]:-}" ] || continue
  pid=$(image_id "$(parent_ref "${PARENT[$n]}")") || { bad+=("$NS/$n (parent missing)"); continue; }
  have=$(docker image inspect -f "{{index .Config.Labels \"$HASH_LABEL\"}}" "$NS/$n" 2>/dev/null || true)
  [ "$have" = "$(want_hash "$n" "$pid")" ] || bad+=("$NS/$n")
done
if [ ${#bad[@]} -gt 0 ]; then
  die "not built: ${bad[*]} (logs in $CACHE/logs/)"
fi
say "done: $(for n in "${ORDER[@]}"; do if [ -n "${NEEDED[$n]:-}" ]; then printf '%s/%s ' "$NS" "$n"; fi; done)"
if [ -n "${NEEDED[env]:-}" ]; then
  export_env || die "exporting $NS/env for the L2 sandbox failed"
fi
if [ -n "$run_tests" ]; then
  say "testing: sandbox-images/test-images.sh ${want[*]}"
  WARDEN_IMAGE_NS=$NS bash "$IMAGES_DIR/test-images.sh" "${want[@]}" || die "image tests failed"
  say "tests passed"
fi
