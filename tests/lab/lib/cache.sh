# shellcheck shell=bash
# Sourced by tests/lab/lab: the cache (rootfs, wheelhouse, sdist, the checkout's origin,
# the public index; the golden container is built in containers.sh). Each entry is keyed
# on what goes into it, including the code that builds it, and built in the background
# with its own log. Each builds into a temporary name and renames at the end, so a
# present entry is a complete one.

SUITE=bookworm
MIRROR=${GIT_OSA_LAB_MIRROR:-http://deb.debian.org/debian}
INCLUDES=systemd-sysv,dbus,iproute2,netbase,ca-certificates,python3,python3-venv,libpython3.11,procps,less,curl
MASKED_UNITS="systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
  systemd-journald-audit.socket sys-kernel-config.mount getty-static.service
  systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service
  e2scrub_all.timer"
# uWSGI has no wheel on PyPI; build it with nothing but libpython as a
# non-base dependency (the containers have no libxml2/ICU/openssl -dev).
UWSGI_PROFILE='xml=false;ssl=false;pcre=false;yaml=false;json=false'
WHEEL_REQS="uwsgi systemd-python pbr setuptools wheel pip"
GIT_NAME="git-osa lab"
GIT_EMAIL="lab@git-osa.invalid"

compute_keys() {
  ROOTFS_KEY=$({ echo "$SUITE $INCLUDES $MASKED_UNITS"; declare -f build_rootfs; } | sha)
  WHEEL_KEY=$({ echo "$V $WHEEL_REQS $UWSGI_PROFILE"; declare -f build_wheelhouse; } | sha)
  PUB_KEY=$({ echo "$WHEEL_KEY $PUBLIC_ONLY"; declare -f build_pubindex; cat "$HERE/simple_index.py"; } | sha)
  GOLDEN_KEY=$({
    echo "$ROOTFS_KEY $WHEEL_KEY $V $GOLDEN_IP $HOST_IP"
    declare -f build_golden container_config wait_booted
    cat "$HERE/provision.sh"
  } | sha)
  ORIGIN_KEY=$({ echo "$V"; declare -f build_origin gitignore_text; } | sha)
  # The entries above are keyed on the functions that build them, so an edit rebuilds
  # only what it affects (editing haproxy.sh rebuilds no rootfs). A running lab is
  # recreated when any of the lab's code changes: the dispatcher, lib/ and the files
  # it runs (not README or the helper scripts beside it).
  LAB_KEY=$({
    echo "$GOLDEN_KEY $PUB_KEY $ORIGIN_KEY"
    cat "$HERE/lab" "$HERE"/lib/*.sh "$HERE/provision.sh" "$HERE/inventory.py" "$HERE/simple_index.py"
  } | sha)
  ROOTFS_TAR=$CACHE/rootfs-$ROOTFS_KEY.tar.zst
  WHEELHOUSE=$CACHE/wheelhouse-$WHEEL_KEY
  PUBINDEX=$CACHE/pubindex-$PUB_KEY
  SDIST=$CACHE/sdist/keystone-$V.tar.gz
  # The golden container is kept, stopped, in the cache, in an lxcpath of its
  # own (so `lxc-ls -P $LAB/lxc` shows only the nodes); the nodes' overlays
  # use its rootfs as their lower dir, so a warm `up` unpacks nothing.
  GOLDEN_PATH=$CACHE/golden-$GOLDEN_KEY
  GOLDEN_DB=$GOLDEN_PATH/keystone-db.tar.zst
  GOLDEN_PW=$GOLDEN_PATH/admin-password
  ORIGIN=$CACHE/origin-$ORIGIN_KEY.git
}

prune() { # prune GLOB KEEP...: drop superseded cache entries
  local glob=$1 f k keep
  shift
  for f in $CACHE/$glob; do
    [[ -e $f ]] || continue
    keep=0
    for k in "$@"; do [[ $f == "$k" ]] && keep=1; done
    ((keep)) || rm -rf --one-file-system "$f"
  done
}

# stage NAME FUNCTION: run a build step in the background with its own log;
# prints the pid in STAGE_PID. Callers wait with wait_stage.
# Each stage runs in its own process group (set -m), so that a failing or
# interrupted `up` can stop the other builds it started, and only those.
declare -A STAGE_LOG=()
STAGE_PIDS=()
stage() {
  local name=$1 fn=$2 log=$CACHE/log/$1.log
  mkdir -p "$CACHE/log"
  say "building $name (log: $log)"
  STAGE_LOG[$name]=$log
  set -m
  ("$fn") >"$log" 2>&1 &
  STAGE_PID=$!
  set +m
  STAGE_PIDS+=("$STAGE_PID")
}
wait_stage() { # wait_stage NAME PID
  local rc=0 p keep=()
  wait "$2" || rc=$?
  for p in "${STAGE_PIDS[@]}"; do [[ $p == "$2" ]] || keep+=("$p"); done
  STAGE_PIDS=("${keep[@]}")
  ((rc == 0)) || die_log "${STAGE_LOG[$1]}" "building $1 failed"
}
stop_stages() {
  local p
  for p in "${STAGE_PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null && kill -TERM -- "-$p" 2>/dev/null
  done
  return 0
}

# has_file DIR ERE: DIR holds a file whose name matches ERE (case-insensitive)
has_file() { [[ -n $(find "$1" -maxdepth 1 -type f -regextype posix-extended -iregex ".*/$2") ]]; }

build_rootfs() {
  set -x
  local r=$CACHE/build/rootfs u
  umount_under "$r"
  rm -rf --one-file-system "$r"
  mkdir -p "$r"
  hostenv debootstrap --variant=minbase --include="$INCLUDES" "$SUITE" "$r" "$MIRROR"
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
  ln -sf /lib/systemd/system/multi-user.target "$r/etc/systemd/system/default.target"
  for u in $MASKED_UNITS; do ln -sf /dev/null "$r/etc/systemd/system/$u"; done
  : >"$r/etc/resolv.conf"
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id"
  echo localhost >"$r/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
  tar -C "$r" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$ROOTFS_TAR.tmp" -f
  mv -f "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf --one-file-system "$r"
  prune 'rootfs-*.tar.zst' "$ROOTFS_TAR"
}

build_wheelhouse() {
  set -x
  local tmp=$WHEELHOUSE.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # --no-cache-dir: pip's wheel cache would silently reuse an old uWSGI build.
  hostenv UWSGI_PROFILE_OVERRIDE="$UWSGI_PROFILE" "$TOOLS/bin/pip" wheel --no-cache-dir \
    --wheel-dir "$tmp" "keystone==$V" $WHEEL_REQS
  has_file "$tmp" 'uwsgi-.*-cp311-.*\.whl'
  has_file "$tmp" 'systemd_python-.*-cp311-.*\.whl'
  has_file "$tmp" "keystone-$V-.*\.whl"
  rm -rf "$WHEELHOUSE"
  mv "$tmp" "$WHEELHOUSE"
  prune 'wheelhouse-*' "$WHEELHOUSE"
}

# sdist and origin are also built by `checkout`, which may run next to `up`.
checkout_lock() {
  mkdir -p "${LOCK%/*}"
  exec 7>"$LOCK.checkout"
  flock -w 600 7
}

build_sdist() {
  set -x
  checkout_lock
  [[ -f $SDIST ]] && return 0
  local tmp=$CACHE/sdist/tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"
  hpip download --no-cache-dir --no-deps --no-binary :all: --dest "$tmp" "keystone==$V"
  mv "$tmp/keystone-$V.tar.gz" "$SDIST"
  rm -rf "$tmp"
}

build_pubindex() {
  set -x
  local tmp=$PUBINDEX.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp/files"
  hpip download --no-cache-dir --no-deps --only-binary :all: --dest "$tmp/files" "$PUBLIC_ONLY"
  # The point of this package: the repo server must not have it.
  if has_file "$WHEELHOUSE" "${PUBLIC_ONLY}-.*"; then
    echo "$PUBLIC_ONLY is in the wheelhouse; pick another public-only package" >&2
    exit 1
  fi
  cp -l "$WHEELHOUSE"/* "$tmp/files/" 2>/dev/null || cp "$WHEELHOUSE"/* "$tmp/files/"
  /usr/bin/python3 "$HERE/simple_index.py" "$tmp"
  rm -rf "$PUBINDEX"
  mv "$tmp" "$PUBINDEX"
  prune 'pubindex-*' "$PUBINDEX"
}

gitignore_text() {
  cat <<'EOF'
# Python build and test artefacts
*.pyc
*.egg
*.egg-info/
.eggs/
__pycache__/
build/
dist/
.tox/
.stestr/
.coverage
.coverage.*
cover/
covhtml/
doc/build/
api-ref/build/
releasenotes/build/
keystone.db
*.log
# generated by pbr
AUTHORS
ChangeLog
# editors
*.sw?
*~
.idea/
.vscode/
EOF
}

# The keystone checkout's origin: the PyPI sdist (minus PKG-INFO, egg-info and
# pbr's generated AUTHORS/ChangeLog) as a git history with fixed identities and
# dates, so the hashes are the same on every machine.
build_origin() {
  set -x
  checkout_lock
  [[ -d $ORIGIN ]] && return 0
  local w=$CACHE/build/origin-work tmp=$ORIGIN.tmp
  rm -rf "$w" "$tmp"
  mkdir -p "$w/src" "$CACHE/build/home"
  g() {
    env -i PATH="$SYSPATH" HOME="$CACHE/build/home" LANG=C.UTF-8 GIT_CONFIG_NOSYSTEM=1 \
      GIT_AUTHOR_NAME="$GIT_NAME" GIT_AUTHOR_EMAIL="$GIT_EMAIL" \
      GIT_COMMITTER_NAME="$GIT_NAME" GIT_COMMITTER_EMAIL="$GIT_EMAIL" \
      GIT_AUTHOR_DATE="$1" GIT_COMMITTER_DATE="$1" git -C "$w/src" "${@:2}"
  }
  local d1='2025-01-01T00:00:00+0000' d2='2025-01-02T00:00:00+0000'
  g "$d1" init -q --initial-branch=master
  g "$d1" config core.autocrlf false
  printf '[gerrit]\nhost=review.opendev.org\nport=29418\nproject=openstack/keystone.git\ndefaultbranch=master\n' >"$w/src/.gitreview"
  gitignore_text >"$w/src/.gitignore"
  g "$d1" add .gitreview .gitignore
  g "$d1" commit -q -m "Add .gitreview and .gitignore"
  tar -C "$w/src" --strip-components=1 --no-same-owner -xzf "$SDIST"
  rm -rf "$w/src/PKG-INFO" "$w/src/AUTHORS" "$w/src/ChangeLog"
  find "$w/src" -maxdepth 2 -name '*.egg-info' -prune -exec rm -rf {} +
  g "$d2" add -A
  g "$d2" commit -q -m "Release keystone $V" -m "Imported from the keystone-$V sdist on PyPI."
  g "$d2" tag -a -m "keystone $V" "$V"
  g "$d2" log --oneline --decorate
  env -i PATH="$SYSPATH" HOME="$CACHE/build/home" GIT_CONFIG_NOSYSTEM=1 git clone -q --bare "$w/src" "$tmp"
  rm -rf "$w" "$ORIGIN"
  mv "$tmp" "$ORIGIN"
  prune 'origin-*.git' "$ORIGIN"
}

ensure_cache() {
  mkdir -p "$CACHE/log" "$CACHE/sdist"
  ensure_tools
  # stage must not run in an && / || / if context: bash would switch off
  # errexit inside the background build.
  local p1="" p2="" p3="" p4="" p5=""
  if [[ ! -f $ROOTFS_TAR ]]; then
    stage rootfs build_rootfs
    p1=$STAGE_PID
  fi
  if [[ ! -d $WHEELHOUSE ]]; then
    stage wheelhouse build_wheelhouse
    p2=$STAGE_PID
  fi
  if [[ ! -f $SDIST ]]; then
    stage sdist build_sdist
    p3=$STAGE_PID
  fi
  if [[ -n $p3 ]]; then wait_stage sdist "$p3"; fi
  if [[ ! -d $ORIGIN ]]; then
    stage origin build_origin
    p4=$STAGE_PID
  fi
  if [[ -n $p2 ]]; then wait_stage wheelhouse "$p2"; fi
  if [[ ! -d $PUBINDEX ]]; then
    stage pubindex build_pubindex
    p5=$STAGE_PID
  fi
  if [[ -n $p1 ]]; then wait_stage rootfs "$p1"; fi
  if [[ -n $p4 ]]; then wait_stage origin "$p4"; fi
  if [[ -n $p5 ]]; then wait_stage pubindex "$p5"; fi
  return 0
}

# The checkout's origin on its own, for `checkout`, which does not bring the lab up.
ensure_origin() {
  [[ -d $ORIGIN ]] && return 0
  mkdir -p "$CACHE/sdist"
  if [[ ! -f $SDIST ]]; then
    ensure_tools
    stage sdist build_sdist
    wait_stage sdist "$STAGE_PID"
  fi
  stage origin build_origin
  wait_stage origin "$STAGE_PID"
}
