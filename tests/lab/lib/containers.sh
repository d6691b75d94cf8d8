# shellcheck shell=bash
# Sourced by tests/lab/lab: the LXC containers. The golden container (built once into
# the cache, kept stopped in an lxcpath of its own), the keystone nodes (overlayfs
# snapshots of it, in $LXCPATH) and keystone's database, loaded into the galera container.

# AT: a prefix for the LXC tools these run (on_infra2 in multinode.sh: its namespaces)
AT=()
la() { "${AT[@]}" lxc-attach -P "$1" -n "$2" --clear-env --set-var PATH="$SYSPATH" --set-var LANG=C.UTF-8 --set-var HOME=/root -- "${@:3}"; }
cstate() { "${AT[@]}" lxc-info -P "$1" -n "$2" -sH 2>/dev/null || echo ABSENT; }
cexists() { [[ -f $1/$2/config ]]; }

container_config() { # container_config LXCPATH NAME IP HOSTNAME ROOTFS_SPEC [extra lines]
  local p=$1 n=$2 ip=$3 hn=$4 rootfs=$5 mac
  mac=$(printf '00:16:3e:1d:%02x:%02x' "$(cut -d. -f3 <<<"$ip")" "$(cut -d. -f4 <<<"$ip")")
  {
    echo "# git-osa lab container (created by $HERE/lab)"
    echo "lxc.include = /usr/share/lxc/config/debian.common.conf"
    echo "lxc.arch = linux64"
    echo "lxc.uts.name = $hn"
    echo "lxc.rootfs.path = $rootfs"
    echo "lxc.net.0.type = veth"
    echo "lxc.net.0.link = $BRIDGE"
    echo "lxc.net.0.flags = up"
    echo "lxc.net.0.name = eth0"
    echo "lxc.net.0.hwaddr = $mac"
    echo "lxc.net.0.ipv4.address = $ip/$PREFIXLEN"
    if [[ -r /sys/module/apparmor/parameters/enabled ]] && grep -q Y /sys/module/apparmor/parameters/enabled; then
      echo "lxc.apparmor.profile = unconfined"
    fi
    printf '%s\n' "${@:6}"
  } >"$p/$n/config"
}

start_container() { # start_container LXCPATH NAME
  mkdir -p "$LOG"
  "${AT[@]}" lxc-start -P "$1" -n "$2" -o "$LOG/lxc-$2.log" -l WARN </dev/null >>"$LOG/lxc-$2.log" 2>&1 8>&- 9>&- ||
    die_log "$LOG/lxc-$2.log" "lxc-start $2 failed"
}

wait_booted() { # wait_booted LXCPATH NAME: systemd finished booting
  local s="" i
  for i in $(seq 1 240); do
    s=$(la "$1" "$2" systemctl is-system-running 2>/dev/null || true)
    case $s in
    running) return 0 ;;
    degraded)
      say "warning: $2 booted degraded: $(la "$1" "$2" systemctl --failed --no-legend --plain 2>/dev/null | awk '{print $1}' | xargs)"
      return 0
      ;;
    esac
    sleep 0.25
  done
  die "$2 did not finish booting within 60 s (systemctl is-system-running: ${s:-no answer})"
}

stop_destroy() { # stop_destroy LXCPATH NAME
  local p=$1 n=$2
  [[ $(cstate "$p" "$n") == RUNNING ]] && { lxc-stop -P "$p" -n "$n" -k >/dev/null 2>&1 || true; }
  lxc-destroy -P "$p" -n "$n" >/dev/null 2>&1 || true
  [[ -d $p/$n ]] && { umount_under "$p/$n"; rm -rf --one-file-system "${p:?}/$n"; }
  return 0
}

secret() { /usr/bin/python3 -c 'import secrets; print(secrets.token_hex(12))'; }

# golden_boot LXCPATH NAME IP: a fresh container from the rootfs tarball in a temporary
# lxcpath, booted
golden_boot() {
  local p=$1 n=$2 r=$1/$2/rootfs
  stop_destroy "$p" "$n"
  rm -rf --one-file-system "$p"
  mkdir -p "$r"
  zstd -q -dc "$ROOTFS_TAR" | tar -C "$r" --numeric-owner -xpf -
  container_config "$p" "$n" "$3" "$n" "dir:$r"
  start_container "$p" "$n"
  wait_booted "$p" "$n"
}

# golden_seal TMP FINAL NAME IP: stopped and cleaned (each clone gets its own machine-id
# and an empty journal), then moved in place
golden_seal() {
  local tmp=$1 final=$2 n=$3 r=$1/$3/rootfs
  lxc-stop -P "$tmp" -n "$n" -t 60
  rm -f "$r"/root/provision*.sh
  : >"$r/etc/machine-id"
  rm -rf "$r"/var/log/journal/* "$r"/tmp/* "$r"/var/tmp/* "$r/root/.cache"
  rm -rf --one-file-system "$final"
  mv "$tmp" "$final"
  container_config "$final" "$n" "$4" "$n" "dir:$final/$n/rootfs"
  touch "$final/.complete"
}

build_golden() {
  set -x
  local tmp=$GOLDEN_PATH.tmp pw hpw dpw dbpw code
  local r=$tmp/$GOLDEN/rootfs
  golden_boot "$tmp" "$GOLDEN" "$GOLDEN_IP"
  pw=$(secret) hpw=$(secret) dpw=$(secret) dbpw=$(secret)
  la "$tmp" "$GOLDEN" sh -c 'cat >/root/provision.sh' <"$HERE/provision.sh"
  la "$tmp" "$GOLDEN" bash /root/provision.sh "$V" "$GOLDEN_IP" "$HOST_IP" "$pw" "$hpw" "$dpw" \
    "$GALERA_IP" "$dbpw" </dev/null
  code=$(http_code "http://$GOLDEN_IP:$KS_PORT/v3")
  [[ $code == 200 ]] || { echo "golden keystone answers $code on /v3 from the host"; exit 1; }
  la "$tmp" "$GOLDEN" systemctl stop apache2 "$UNIT"
  # keystone's MariaDB database goes to the galera container at each `up` (ensure_keystone_db);
  # the SQLite one to compute1 (make_compute); the nodes keep neither
  zstd -q -3 -o "$tmp/keystone-db.sql.zst" "$r/root/keystone.sql"
  rm -f "$r/root/keystone.sql"
  tar -C "$r/var/lib/keystone/db" --numeric-owner -cf - . | zstd -q -3 -o "$tmp/keystone-db.tar.zst"
  rm -rf --one-file-system "$r/var/lib/keystone/db"
  (umask 077 && printf '%s\n' "$pw" >"$tmp/admin-password" && printf '%s\n' "$hpw" >"$tmp/heat-password" &&
    printf '%s\n' "$dpw" >"$tmp/stack-domain-password" && printf '%s\n' "$dbpw" >"$tmp/keystone-db-password")
  golden_seal "$tmp" "$GOLDEN_PATH" "$GOLDEN" "$GOLDEN_IP"
  prune 'golden-*' "$GOLDEN_PATH"
}

ensure_golden() {
  if [[ -e $GOLDEN_PATH/.complete && $(cat "$LAB/golden-key" 2>/dev/null) == "$GOLDEN_KEY" ]]; then
    return 0
  fi
  # the nodes are snapshots of the golden container: they go with it (infra2's keystone
  # and compute1 too)
  local n
  for n in "${NODES[@]}"; do stop_destroy "$LXCPATH" "$n"; done
  infra2_drop "$INFRA2_KEYSTONE"
  stop_destroy "$COMPUTE_LXC" "$COMPUTE"
  if [[ ! -e $GOLDEN_PATH/.complete ]]; then
    stage golden build_golden
    wait_stage golden "$STAGE_PID"
  fi
  # no node refers to it any more
  rm -f "$GOLDEN_PATH/$GOLDEN/lxc_snapshots"
  echo "$GOLDEN_KEY" >"$LAB/golden-key"
}

golden_secrets() {
  install -m 600 "$GOLDEN_PW" "$LAB/admin-password"
  install -m 600 "$GOLDEN_PATH/heat-password" "$LAB/heat-password"
  install -m 600 "$GOLDEN_PATH/stack-domain-password" "$LAB/stack-domain-password"
}

# write_in_node NODE PATH MODE [GROUP] < content: a file in a node that is not running
# (the overlay's upper dir, or the rootfs of a dir copy); GROUP is a group of the node's.
write_in_node() {
  local n=$1 path=$2 mode=$3 group=${4:-} root gid
  if [[ -d $LXCPATH/$n/overlay/delta ]]; then root=$LXCPATH/$n/overlay/delta; else root=$LXCPATH/$n/rootfs; fi
  mkdir -p "$root$(dirname "$path")"
  cat >"$root$path"
  chmod "$mode" "$root$path"
  if [[ -n $group ]]; then
    gid=$(awk -F: -v g="$group" '$1 == g { print $3 }' "$root/etc/group" 2>/dev/null || true)
    [[ -n $gid ]] || gid=$(awk -F: -v g="$group" '$1 == g { print $3 }' "$(lxc_lower "$n")/etc/group")
    chgrp "$gid" "$root$path"
  fi
}
# lxc_lower NODE: the rootfs a snapshot node's overlay lies on
lxc_lower() { sed -n 's/^lxc.rootfs.path = overlay[a-z]*:\([^:]*\):.*/\1/p' "$LXCPATH/$1/config"; }

# snapshot NAME IP FROM_PATH FROM_NAME [CONFIG LINES...]: an overlay snapshot of a stopped
# container (a full copy when overlayfs fails), with its own hostname and hosts
snapshot() {
  local n=$1 ip=$2 hn rootfs
  hn=${n//_/-} # OSA: hostname = inventory_hostname with _ replaced by -
  stop_destroy "$LXCPATH" "$n"
  mkdir -p "$LXCPATH" "$LOG"
  if lxc-copy -P "$3" -n "$4" -p "$LXCPATH" -N "$n" -s -B overlayfs >"$LOG/lxc-copy-$n.log" 2>&1; then
    rootfs=$(sed -n 's/^lxc.rootfs.path = //p' "$LXCPATH/$n/config")
  else
    say "warning: overlayfs snapshot of $n failed (see $LOG/lxc-copy-$n.log); using a full copy"
    stop_destroy "$LXCPATH" "$n"
    mkdir -p "$LXCPATH/$n/rootfs"
    cp -a "$3/$4/rootfs/." "$LXCPATH/$n/rootfs/"
    rootfs=dir:$LXCPATH/$n/rootfs
  fi
  container_config "$LXCPATH" "$n" "$ip" "$hn" "$rootfs" "${@:5}"
  # RabbitMQ names its node after the hostname: it must be right at the first boot
  # (heat-aio-feasibility.md, pitfalls 2 and 3)
  echo "$hn" | write_in_node "$n" /etc/hostname 644
  printf '127.0.0.1\tlocalhost\n%s\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$ip" "$hn" |
    write_in_node "$n" /etc/hosts 644
  say "created $n ($ip)"
}

make_node() { # make_node INDEX
  local n=${NODES[$1]} ip=${NODE_IPS[$1]}
  snapshot "$n" "$ip" "$GOLDEN_PATH" "$GOLDEN"
  # Apache on the node's management address; uWSGI behind it on 127.0.0.1:35358
  echo "Listen $ip:$KS_PORT" | write_in_node "$n" /etc/apache2/ports.conf 644
}

ensure_nodes() {
  local i n started=()
  for i in "${!NODES[@]}"; do
    n=${NODES[$i]}
    if ! cexists "$LXCPATH" "$n" || ! grep -q "ipv4.address = ${NODE_IPS[$i]}/" "$LXCPATH/$n/config"; then
      make_node "$i"
    fi
    if [[ $(cstate "$LXCPATH" "$n") != RUNNING ]]; then
      start_container "$LXCPATH" "$n"
      started+=("$n")
    fi
  done
  for n in "${started[@]}"; do
    wait_booted "$LXCPATH" "$n"
    say "started $n"
  done
  for n in "${NODES[@]}"; do ensure_active "$n" "$UNIT" apache2; done
}

# ensure_active NODE UNIT...: each unit active, started when it is not
ensure_active() {
  local n=$1 u
  for u in "${@:2}"; do
    la "$LXCPATH" "$n" systemctl is-active --quiet "$u" && continue
    say "$u is not active in $n; starting it"
    la "$LXCPATH" "$n" systemctl reset-failed "$u" >/dev/null 2>&1 || true
    la "$LXCPATH" "$n" systemctl start "$u" ||
      die "$u does not start in $n; see: lxc-attach -P $LXCPATH -n $n --clear-env -- journalctl -u $u"
  done
}

# every container under $LXCPATH, the nodes, and a golden container left running or
# half-built by an interrupted build
destroy_containers() {
  local n g
  for n in $(lxc-ls -P "$LXCPATH" -1 2>/dev/null) "${NODES[@]}"; do
    if [[ -e $LXCPATH/$n ]]; then
      stop_destroy "$LXCPATH" "$n"
      say "destroyed $n"
    fi
  done
  local pair name
  for pair in "golden-:$GOLDEN" "heat-golden-:$HEAT_GOLDEN"; do
    name=${pair#*:}
    for g in "$CACHE/${pair%%:*}"*; do
      [[ -e $g/$name/config ]] || continue
      if [[ $g == *.tmp ]]; then
        stop_destroy "$g" "$name"
        rm -rf --one-file-system "$g"
      elif [[ $(cstate "$g" "$name") != STOPPED ]]; then
        lxc-stop -P "$g" -n "$name" -k >/dev/null 2>&1 || true
      fi
    done
  done
}

status_containers() {
  local i n st ip code ok=0
  if [[ -s $CACHE/keystone-version && -s $CACHE/heat-version ]]; then
    V=$(<"$CACHE/keystone-version")
    HV=$(<"$CACHE/heat-version")
    compute_keys
    status_line golden "$GOLDEN $(cstate "$GOLDEN_PATH" "$GOLDEN") (lxcpath $GOLDEN_PATH)"
  fi
  for i in "${!NODES[@]}"; do
    n=${NODES[$i]}
    st=$(cstate "$LXCPATH" "$n")
    ip=""
    code=-
    if [[ $st == RUNNING ]]; then
      ip=$(lxc-info -P "$LXCPATH" -n "$n" -iH 2>/dev/null | grep -E "$NET_RE" | head -n1 || true)
      code=$(http_code "http://${NODE_IPS[$i]}:$KS_PORT/v3" 2)
    fi
    status_line container "$n $st ${ip:-${NODE_IPS[$i]}} /v3:$code"
    [[ $st == RUNNING && $code == 200 ]] || ok=1
  done
  return $ok
}
