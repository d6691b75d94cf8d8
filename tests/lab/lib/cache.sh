# shellcheck shell=bash
# Sourced by tests/lab/lab: the cache (rootfs, wheelhouse, sdist, the checkout's origin,
# the public index; the golden container is built in containers.sh). Each entry is keyed
# on what goes into it, including the code that builds it, and built in the background
# with its own log. Each builds into a temporary name and renames at the end, so a
# present entry is a complete one.

SUITE=bookworm
MIRROR=${GIT_OSA_LAB_MIRROR:-http://deb.debian.org/debian}
INCLUDES=systemd-sysv,dbus,iproute2,netbase,ca-certificates,python3,python3-venv,libpython3.11,procps,less,curl
# OSA's infrastructure, installed into the rootfs (the containers have no route out) and
# switched off there: each container turns on what its role runs (MariaDB in the galera
# container, RabbitMQ in the rabbit one, Apache in front of keystone).
# openssh-server is for compute1, the lab's metal host (lib/multinode.sh), which turns it
# on with the lab's host key; no other container runs an sshd (OSA's do not).
INFRA_PKGS="mariadb-server mariadb-client rabbitmq-server apache2 openssh-server"
INFRA_UNITS="mariadb.service rabbitmq-server.service apache2.service apache-htcacheclean.service ssh.service"
MASKED_UNITS="systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
  systemd-journald-audit.socket sys-kernel-config.mount getty-static.service
  systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service
  e2scrub_all.timer"
# uWSGI has no wheel on PyPI; build it with nothing but libpython as a
# non-base dependency (the containers have no libxml2/ICU/openssl -dev).
UWSGI_PROFILE='xml=false;ssl=false;pcre=false;yaml=false;json=false'
WHEEL_REQS="uwsgi systemd-python pbr setuptools wheel pip PyMySQL"
# What a developer's session adds to a service's venv, from the deployment's own sources:
# the repo server carries the debuggers (`git osa run --debugpy`, `--debug=pudb`), as a
# deployment that offers them would; keystone's test requirements (`git osa test`) are on
# the public index only, as a repo server builds wheels for what it deploys, not for tests.
DEV_REQS="debugpy pudb"
GIT_NAME="git-osa lab"
GIT_EMAIL="lab@git-osa.invalid"

compute_keys() {
  ROOTFS_KEY=$({ echo "$SUITE $INCLUDES $MASKED_UNITS $INFRA_PKGS $INFRA_UNITS"; declare -f build_rootfs infra_config; } | sha)
  WHEEL_KEY=$({ echo "$V $HV $WHEEL_REQS $UWSGI_PROFILE"; declare -f build_wheelhouse; } | sha)
  DEV_KEY=$({ echo "$WHEEL_KEY $V $DEV_REQS"; declare -f build_devwheels; } | sha)
  REPO_KEY=$({ echo "$WHEEL_KEY $DEV_KEY"; declare -f build_repo; } | sha)
  PUB_KEY=$({ echo "$WHEEL_KEY $DEV_KEY $PUBLIC_ONLY"; declare -f build_pubindex; cat "$HERE/simple_index.py"; } | sha)
  GOLDEN_KEY=$({
    echo "$ROOTFS_KEY $WHEEL_KEY $V $GOLDEN_IP $HOST_IP $GALERA_IP"
    declare -f build_golden golden_boot golden_seal secret container_config wait_booted
    cat "$HERE/provision.sh"
  } | sha)
  HEAT_GOLDEN_KEY=$({
    echo "$ROOTFS_KEY $WHEEL_KEY $HV $HEAT_GOLDEN_IP $HOST_IP"
    declare -f build_heat_golden golden_boot golden_seal container_config wait_booted
    cat "$HERE/provision-heat.sh"
  } | sha)
  BASE_KEY=$({ echo "$ROOTFS_KEY"; declare -f build_base container_config; } | sha)
  ORIGIN_KEY=$({ echo "$V"; declare -f build_origin gitignore_text; } | sha)
  HEAT_ORIGIN_KEY=$({ echo "heat $HV"; declare -f build_origin gitignore_text; } | sha)
  # The entries above are keyed on the functions that build them, so an edit rebuilds
  # only what it affects (editing haproxy.sh rebuilds no rootfs). A running lab is
  # recreated when any of the lab's code changes: the dispatcher, lib/ and the files
  # it runs (not README or the helper scripts beside it).
  LAB_KEY=$({
    echo "$GOLDEN_KEY $HEAT_GOLDEN_KEY $BASE_KEY $PUB_KEY $ORIGIN_KEY $HEAT_ORIGIN_KEY"
    cat "$HERE/lab" "$HERE"/lib/*.sh "$HERE/provision.sh" "$HERE/provision-heat.sh" "$HERE/inventory.py" "$HERE/simple_index.py"
  } | sha)
  ROOTFS_TAR=$CACHE/rootfs-$ROOTFS_KEY.tar.zst
  WHEELHOUSE=$CACHE/wheelhouse-$WHEEL_KEY
  # DEVWHEELS/repo: the debuggers; DEVWHEELS/tests: keystone's test requirements
  DEVWHEELS=$CACHE/devwheels-$DEV_KEY
  # what the repo server serves: the wheelhouse and the debuggers
  REPO=$CACHE/repo-$REPO_KEY
  PUBINDEX=$CACHE/pubindex-$PUB_KEY
  SDIST=$CACHE/sdist/keystone-$V.tar.gz
  HEAT_SDIST=$CACHE/sdist/openstack-heat-$HV.tar.gz
  # The golden container is kept, stopped, in the cache, in an lxcpath of its
  # own (so `lxc-ls -P $LAB/lxc` shows only the nodes); the nodes' overlays
  # use its rootfs as their lower dir, so a warm `up` unpacks nothing.
  GOLDEN_PATH=$CACHE/golden-$GOLDEN_KEY
  # keystone's database: MariaDB's dump (for the galera container), and the SQLite file
  # of compute1's metal keystone
  GOLDEN_DB=$GOLDEN_PATH/keystone-db.sql.zst
  GOLDEN_SQLITE=$GOLDEN_PATH/keystone-db.tar.zst
  GOLDEN_PW=$GOLDEN_PATH/admin-password
  ORIGIN=$CACHE/origin-$ORIGIN_KEY.git
  HEAT_ORIGIN=$CACHE/origin-heat-$HEAT_ORIGIN_KEY.git
  HEAT_GOLDEN_PATH=$CACHE/heat-golden-$HEAT_GOLDEN_KEY
  # galera and rabbit are snapshots of the bare rootfs (never booted), kept like the goldens
  BASE_PATH=$CACHE/base-$BASE_KEY
}

# prune GLOB KEEP...: drop superseded cache entries not used for a day. Two checkouts
# of the lab's code (two branches, two worktrees) then share the cache without rebuilding
# each other's entries on every switch.
prune() {
  local glob=$1 f k keep
  shift
  for f in $CACHE/$glob; do
    [[ -e $f ]] || continue
    keep=0
    for k in "$@"; do [[ $f == "$k" ]] && keep=1; done
    ((keep)) || [[ -z $(find "$f" -maxdepth 0 -mmin +1440) ]] || rm -rf --one-file-system "$f"
  done
}
# an `up` marks the entries it uses as used
touch_entries() {
  touch -c "$ROOTFS_TAR" "$WHEELHOUSE" "$DEVWHEELS" "$REPO" "$PUBINDEX" "$ORIGIN" "$HEAT_ORIGIN" "$GOLDEN_PATH" \
    "$HEAT_GOLDEN_PATH" "$BASE_PATH"
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
  # The infrastructure's packages, in a chroot where no service may start.
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod 755 "$r/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  mount -t proc proc "$r/proc"
  mount --bind /dev "$r/dev"
  mount --bind /dev/pts "$r/dev/pts"
  local rc=0
  hostenv DEBIAN_FRONTEND=noninteractive chroot "$r" apt-get install -y -q --no-install-recommends $INFRA_PKGS || rc=$?
  umount_under "$r"
  ((rc == 0))
  rm -f "$r/usr/sbin/policy-rc.d"
  hostenv chroot "$r" systemctl disable $INFRA_UNITS
  infra_config "$r"
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

# infra_config ROOT: what OSA's galera_server and rabbitmq_server roles set that matters
# on a bridge with no route out and no DNS (heat-aio-feasibility.md, pitfalls 1 and 10).
infra_config() {
  local r=$1
  printf '%s\n' '[mysqld]' 'bind-address = 0.0.0.0' 'skip-name-resolve = ON' 'max_connections = 500' \
    >"$r/etc/mysql/mariadb.conf.d/99-openstack.cnf"
  printf '%s\n' 'vm_memory_high_watermark.absolute = 512MB' >"$r/etc/rabbitmq/rabbitmq.conf"
  # every container gets its own cookie at its first boot
  rm -f "$r/var/lib/rabbitmq/.erlang.cookie"
  # Apache listens where each container's vhost says, nothing on :80
  : >"$r/etc/apache2/ports.conf"
  # no host key shared by every container: compute1 gets the lab's own for it
  rm -f "$r"/etc/ssh/ssh_host_*
  rm -f "$r/etc/apache2/sites-enabled/000-default.conf"
}

build_wheelhouse() {
  set -x
  local tmp=$WHEELHOUSE.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # --no-cache-dir: pip's wheel cache would silently reuse an old uWSGI build.
  hostenv UWSGI_PROFILE_OVERRIDE="$UWSGI_PROFILE" "$TOOLS/bin/pip" wheel --no-cache-dir \
    --wheel-dir "$tmp" "keystone==$V" "openstack-heat==$HV" $WHEEL_REQS
  has_file "$tmp" 'uwsgi-.*-cp311-.*\.whl'
  has_file "$tmp" 'systemd_python-.*-cp311-.*\.whl'
  has_file "$tmp" "keystone-$V-.*\.whl"
  has_file "$tmp" "openstack_heat-$HV-.*\.whl"
  rm -rf "$WHEELHOUSE"
  mv "$tmp" "$WHEELHOUSE"
  prune 'wheelhouse-*' "$WHEELHOUSE"
}

# Wheels of what a session adds, resolved against the wheelhouse's own versions (pip may
# not pick another version of a library the services run), so that a venv of the lab
# takes them under its constraints.txt.
build_devwheels() {
  set -x
  local tmp=$DEVWHEELS.tmp pins=$CACHE/build/wheelhouse-pins.txt reqs=$CACHE/build/keystone-test-requirements.txt
  rm -rf "$tmp"
  mkdir -p "$tmp/repo" "$tmp/tests" "$CACHE/build"
  find "$WHEELHOUSE" -maxdepth 1 -name '*.whl' -printf '%f\n' | sed -E 's/^([^-]+)-([^-]+)-.*/\1==\2/' >"$pins"
  hpip wheel --no-cache-dir --find-links "$WHEELHOUSE" -c "$pins" --wheel-dir "$tmp/repo" $DEV_REQS
  tar -xzOf "$SDIST" "keystone-$V/test-requirements.txt" >"$reqs"
  # tox installs keystone with its `ldap` extra for the tests (python-ldap: built here
  # against the host's libldap, the one curl brings into the containers)
  tar -xzOf "$SDIST" "keystone-$V/pyproject.toml" | /usr/bin/python3 -c \
    'import sys, tomllib; print("\n".join(tomllib.load(sys.stdin.buffer)["project"]["optional-dependencies"]["ldap"]))' >>"$reqs"
  hpip wheel --no-cache-dir --find-links "$WHEELHOUSE" -c "$pins" --wheel-dir "$tmp/tests" -r "$reqs"
  has_file "$tmp/repo" 'debugpy-.*\.whl'
  has_file "$tmp/repo" 'pudb-.*\.whl'
  has_file "$tmp/tests" 'stestr-.*\.whl'
  has_file "$tmp/tests" 'python_ldap-.*\.whl'
  rm -rf "$DEVWHEELS"
  mv "$tmp" "$DEVWHEELS"
  prune 'devwheels-*' "$DEVWHEELS"
}

# The repo server's folder: the wheelhouse and the debuggers, hard links to the cache's.
build_repo() {
  set -x
  local tmp=$REPO.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cp -l "$WHEELHOUSE"/* "$tmp/" 2>/dev/null || cp "$WHEELHOUSE"/* "$tmp/"
  cp -ln "$DEVWHEELS"/repo/* "$tmp/" 2>/dev/null || cp -n "$DEVWHEELS"/repo/* "$tmp/"
  rm -rf "$REPO"
  mv "$tmp" "$REPO"
  prune 'repo-*' "$REPO"
}

# sdist and origin are also built by `checkout`, which may run next to `up`.
checkout_lock() {
  mkdir -p "${LOCK%/*}"
  exec 7>"$LOCK.checkout"
  flock -w 600 7
}

# sdist_of DIST VERSION OUT: a release's sdist from PyPI
sdist_of() {
  set -x
  checkout_lock
  [[ -f $3 ]] && return 0
  local tmp=$CACHE/sdist/tmp-$1 f
  rm -rf "$tmp"
  mkdir -p "$tmp"
  hpip download --no-cache-dir --no-deps --no-binary :all: --dest "$tmp" "$1==$2"
  f=$(find "$tmp" -maxdepth 1 -name '*.tar.gz' | head -n1)
  [[ -n $f ]]
  mv "$f" "$3"
  rm -rf "$tmp"
}
build_sdist() { sdist_of keystone "$V" "$SDIST"; }
build_heat_sdist() { sdist_of openstack-heat "$HV" "$HEAT_SDIST"; }

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
  # like PyPI, it has what the repo server lacks: the test requirements too
  cp -ln "$DEVWHEELS"/repo/* "$DEVWHEELS"/tests/* "$tmp/files/" 2>/dev/null ||
    cp -n "$DEVWHEELS"/repo/* "$DEVWHEELS"/tests/* "$tmp/files/"
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

# A checkout's origin (keystone's, heat's): the PyPI sdist (minus PKG-INFO, egg-info and
# pbr's generated AUTHORS/ChangeLog) as a git history with fixed identities and
# dates, so the hashes are the same on every machine.
# build_origin PROJECT VERSION SDIST ORIGIN DIST
build_origin() {
  set -x
  checkout_lock
  local project=$1 version=$2 sdist=$3 origin=$4 dist=$5
  [[ -d $origin ]] && return 0
  local w=$CACHE/build/origin-work-$project tmp=$origin.tmp
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
  printf '[gerrit]\nhost=review.opendev.org\nport=29418\nproject=openstack/%s.git\ndefaultbranch=master\n' "$project" >"$w/src/.gitreview"
  gitignore_text >"$w/src/.gitignore"
  g "$d1" add .gitreview .gitignore
  g "$d1" commit -q -m "Add .gitreview and .gitignore"
  tar -C "$w/src" --strip-components=1 --no-same-owner -xzf "$sdist"
  rm -rf "$w/src/PKG-INFO" "$w/src/AUTHORS" "$w/src/ChangeLog"
  find "$w/src" -maxdepth 2 -name '*.egg-info' -prune -exec rm -rf {} +
  g "$d2" add -A
  g "$d2" commit -q -m "Release $project $version" -m "Imported from the $dist-$version sdist on PyPI."
  g "$d2" tag -a -m "$project $version" "$version"
  g "$d2" log --oneline --decorate
  env -i PATH="$SYSPATH" HOME="$CACHE/build/home" GIT_CONFIG_NOSYSTEM=1 git clone -q --bare "$w/src" "$tmp"
  rm -rf "$w" "$origin"
  mv "$tmp" "$origin"
}
build_keystone_origin() {
  build_origin keystone "$V" "$SDIST" "$ORIGIN" keystone
  prune 'origin-*.git' "$ORIGIN" "$HEAT_ORIGIN"
}
build_heat_origin() {
  build_origin heat "$HV" "$HEAT_SDIST" "$HEAT_ORIGIN" openstack-heat
  prune 'origin-*.git' "$ORIGIN" "$HEAT_ORIGIN"
}

ensure_cache() {
  mkdir -p "$CACHE/log" "$CACHE/sdist"
  ensure_tools
  # stage must not run in an && / || / if context: bash would switch off
  # errexit inside the background build.
  local p1="" p2="" p3="" p4="" p5="" p6="" p7=""
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
  if [[ ! -f $HEAT_SDIST ]]; then
    stage heat-sdist build_heat_sdist
    p6=$STAGE_PID
  fi
  if [[ -n $p3 ]]; then wait_stage sdist "$p3"; fi
  if [[ ! -d $ORIGIN ]]; then
    stage origin build_keystone_origin
    p4=$STAGE_PID
  fi
  if [[ -n $p6 ]]; then wait_stage heat-sdist "$p6"; fi
  if [[ ! -d $HEAT_ORIGIN ]]; then
    stage heat-origin build_heat_origin
    p7=$STAGE_PID
  fi
  if [[ -n $p2 ]]; then wait_stage wheelhouse "$p2"; fi
  if [[ ! -d $DEVWHEELS ]]; then
    stage devwheels build_devwheels
    wait_stage devwheels "$STAGE_PID"
  fi
  if [[ ! -d $REPO ]]; then
    stage repo build_repo
    wait_stage repo "$STAGE_PID"
  fi
  if [[ ! -d $PUBINDEX ]]; then
    stage pubindex build_pubindex
    p5=$STAGE_PID
  fi
  if [[ -n $p1 ]]; then wait_stage rootfs "$p1"; fi
  if [[ -n $p4 ]]; then wait_stage origin "$p4"; fi
  if [[ -n $p5 ]]; then wait_stage pubindex "$p5"; fi
  if [[ -n $p7 ]]; then wait_stage heat-origin "$p7"; fi
  return 0
}

# A checkout's origin on its own, for `checkout`, which does not bring the lab up.
# ensure_origin keystone|heat
ensure_origin() {
  local origin=$ORIGIN sdist=$SDIST prefix=""
  if [[ $1 == heat ]]; then origin=$HEAT_ORIGIN sdist=$HEAT_SDIST prefix=heat-; fi
  [[ -d $origin ]] && return 0
  mkdir -p "$CACHE/sdist"
  if [[ ! -f $sdist ]]; then
    ensure_tools
    stage "${prefix}sdist" "build_${prefix//-/_}sdist"
    wait_stage "${prefix}sdist" "$STAGE_PID"
  fi
  stage "${prefix}origin" "build_${1}_origin"
  wait_stage "${prefix}origin" "$STAGE_PID"
}
