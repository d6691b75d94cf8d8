# shellcheck shell=bash
# Sourced by tests/lab/lab: more hosts on this one machine, each reached only by ssh, as
# OSA reaches its hosts (research/multihost.md §6). Every address is on the lab bridge;
# no namespace has a default route or forwards.
#
#  - infra2 ($INFRA2_IP): a network namespace on the lab bridge, with a bridge of its own
#    inside (an infra host's br-mgmt, uplinked to the lab's), and mount and UTS namespaces
#    in which the lab's LXC path and run dir are infra2's own ($HOSTS_DIR/infra2/lxc and
#    /run, bind-mounted over them). There it runs an sshd, a keystone and a heat container
#    and a second HAProxy node (its admin socket at the lab's path, in its run dir). The
#    host's lxc-* tools cannot see those containers (other files, and LXC's command
#    sockets are abstract sockets of infra2's network namespace): only ssh reaches them.
#  - compute1 ($COMPUTE_IP): a metal host. An LXC container with systemd and sshd (in an
#    LXC path of its own, so the host's $LXCPATH lists only aio1's containers) running
#    keystone from its venv under its unit, with a SQLite database of its own.
#  - laptop ($LAPTOP_IP): a network namespace on the bridge, and mount and UTS namespaces
#    where the lab's folders (but its ssh files), its cache, /run and LXC are out of reach
#    and every lxc-* tool is a stub that fails: git osa runs there with the deploy host set.
#  - the host itself (aio1) gets an sshd on the bridge address only: the laptop's deploy
#    host.
# The host's HAProxy serves the single-host backends (`lab mode single`, the default) or
# those with infra2's containers too (`lab mode multinode`), as OSA's haproxy playbook
# would after infra2 joined; infra2's HAProxy always has the multi-node backends.

INFRA2_DIR=$HOSTS_DIR/$INFRA2
COMPUTE_LXC=$HOSTS_DIR/$COMPUTE/lxc
INFRA2_HAPROXY_CFG=$INFRA2_DIR/haproxy.cfg
INFRA2_HAPROXY_PID=$INFRA2_DIR/haproxy.pid
LAPTOP_STUB=$HOSTS_DIR/$LAPTOP/no-lxc

# ns_enter HOST: the argv that runs what follows it in HOST's network, mount and UTS
# namespaces (nsenter opens them all before it enters any); inns HOST CMD...: runs CMD so
ns_enter() { NS_ENTER=(nsenter --net="/run/netns/gosalab-$1" --mount="$NS_DIR/$1.mnt" --uts="$NS_DIR/$1.uts" --); }
inns() {
  local NS_ENTER
  ns_enter "$1"
  "${NS_ENTER[@]}" "${@:2}"
}
# on_infra2 FUNCTION ARGS...: a lab function (la, cstate, start_container, wait_booted,
# ensure_active, hasock) run against infra2: each tool it runs is prefixed with inns
on_infra2() {
  local AT=(inns "$INFRA2")
  "$@"
}
ns_mounted() { [[ -n $(findmnt -rn -o TARGET --mountpoint "$1" 2>/dev/null) ]]; }

# The folder of the namespace files: a private mount, so that binding a namespace file
# there is allowed and does not propagate.
ensure_ns_dir() {
  mkdir -p "$NS_DIR"
  ns_mounted "$NS_DIR" || mount --bind "$NS_DIR" "$NS_DIR"
  mount --make-private "$NS_DIR"
}

# ensure_netns HOST IP BRIDGED: HOST's network namespace on the lab bridge (a veth pair,
# gosa-HOST on the bridge, eth0 inside), IP on eth0, or on a bridge of its own when BRIDGED
# (its containers' veths join that one)
ensure_netns() {
  local h=$1 ip=$2 bridged=$3 ns=gosalab-$1 veth=gosa-$1 dev=eth0
  if [[ ! -e /run/netns/$ns ]]; then
    # a veth of the lab's whose namespace went away
    if ip link show "$veth" >/dev/null 2>&1; then ip link del "$veth"; fi
    ip netns add "$ns"
    say "created network namespace $ns"
  fi
  ip link show "$veth" >/dev/null 2>&1 || ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  # A new namespace may copy the host's forwarding; the lab's never forward.
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=0
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=0 2>/dev/null || true
  if ((bridged)); then
    ip -n "$ns" link show "$BRIDGE" >/dev/null 2>&1 || ip -n "$ns" link add "$BRIDGE" type bridge
    ip -n "$ns" link set eth0 master "$BRIDGE"
    dev=$BRIDGE
  fi
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set "$dev" up
  [[ $(ip -n "$ns" -4 addr show dev "$dev") == *"inet $ip/$PREFIXLEN "* ]] ||
    ip -n "$ns" addr add "$ip/$PREFIXLEN" dev "$dev"
}

# ensure_mountns HOST SCRIPT ARGS...: HOST's mount and UTS namespaces, made by SCRIPT (run
# in them by sh, $0 the host's name) when they are not there
ensure_mountns() {
  local h=$1 m=$NS_DIR/$1.mnt u=$NS_DIR/$1.uts
  ns_mounted "$m" && ns_mounted "$u" && return 0
  umount "$m" 2>/dev/null || true
  umount "$u" 2>/dev/null || true
  touch "$m" "$u"
  unshare --mount="$m" --uts="$u" --propagation private -- /bin/sh -euc "$2" "$h" "${@:3}" \
    >"$LOG/ns-$h.log" 2>&1 8>&- 9>&- || die_log "$LOG/ns-$h.log" "could not make the namespaces of $h"
  say "created the mount and UTS namespaces of $h"
}

# In infra2's: its hostname, its LXC path and run dir over the lab's, and a home of its own
# for root (an infra host's: the ssh sessions' shell must not read this machine's
# ~/.bashrc, which may start a pyenv or more).
INFRA2_NS_SH='
hostname "$0"
mount --bind "$1" "$2"
mount --bind "$3" "$4"
mount --bind "$5" /root'

# In the laptop's: its hostname; a fresh /run (no LXC state, no ssh master of the host's);
# every lxc-* tool a stub; the lab's folders, its cache and LXC's out of reach, but for the
# lab's ssh files (its key, known_hosts and config: the laptop's own, as a user's ~/.ssh).
LAPTOP_NS_SH='
hostname "$0"
lab=$1 ssh=$2 cache=$3 stub=$4
for f in /usr/bin/lxc-* /usr/sbin/lxc-*; do
  if [ -f "$f" ]; then mount --bind "$stub" "$f"; fi
done
mount -t tmpfs -o mode=0755,size=16m git-osa-lab-laptop /run
mkdir /run/keep
mount --bind "$ssh" /run/keep
mount -t tmpfs -o mode=0755,size=1m git-osa-lab-laptop "$lab"
mkdir -p "$ssh"
mount --move /run/keep "$ssh"
rmdir /run/keep
for d in "$cache" /var/lib/lxc /var/cache/lxc; do
  if [ -d "$d" ]; then mount -t tmpfs -o mode=0700,size=1m git-osa-lab-laptop "$d"; fi
done'

laptop_stub() {
  mkdir -p "${LAPTOP_STUB%/*}"
  cat >"$LAPTOP_STUB" <<'EOF'
#!/bin/sh
echo "${0##*/}: the lab's laptop has no LXC: git osa reaches the containers through the deploy host" >&2
exit 127
EOF
  chmod 755 "$LAPTOP_STUB"
}

# The namespaces of infra2 and the laptop. When infra2's mount namespace is gone but not
# its network's (or the other way round), what ran in the old one is stopped first.
ensure_namespaces() {
  ensure_ns_dir
  mkdir -p "$LXCPATH" "$RUN" "$INFRA2_DIR/lxc" "$INFRA2_DIR/run" "$COMPUTE_LXC"
  install -d -m 700 "$INFRA2_DIR/root"
  if ! { [[ -e /run/netns/gosalab-$INFRA2 ]] && ns_mounted "$NS_DIR/$INFRA2.mnt"; }; then
    stop_infra2
  fi
  ensure_netns "$INFRA2" "$INFRA2_IP" 1
  ensure_mountns "$INFRA2" "$INFRA2_NS_SH" "$INFRA2_DIR/lxc" "$LXCPATH" "$INFRA2_DIR/run" "$RUN" "$INFRA2_DIR/root"
  laptop_stub
  ensure_netns "$LAPTOP" "$LAPTOP_IP" 0
  ensure_mountns "$LAPTOP" "$LAPTOP_NS_SH" "$LAB" "$SSH_DIR" "$CACHE" "$LAPTOP_STUB"
}

# --------------------------------------------------------------------------
# infra2's containers: overlay snapshots of the goldens (in infra2's LXC path, seen from
# the host at $INFRA2_DIR/lxc), started and attached to inside infra2's namespaces

infra2_running() { [[ -e /run/netns/gosalab-$INFRA2 ]] && ns_mounted "$NS_DIR/$INFRA2.mnt"; }

# infra2_drop NAME: stopped (in infra2) and its files removed (from the host's view)
infra2_drop() {
  local n=$1
  if infra2_running && [[ $(on_infra2 cstate "$LXCPATH" "$n") != ABSENT ]]; then
    inns "$INFRA2" lxc-stop -P "$LXCPATH" -n "$n" -k >/dev/null 2>&1 || true
  fi
  if [[ -d $INFRA2_DIR/lxc/$n ]]; then
    umount_under "$INFRA2_DIR/lxc/$n"
    rm -rf --one-file-system "${INFRA2_DIR:?}/lxc/$n"
  fi
}

make_infra2_keystone() (
  LXCPATH=$INFRA2_DIR/lxc
  snapshot "$INFRA2_KEYSTONE" "$INFRA2_KEYSTONE_IP" "$GOLDEN_PATH" "$GOLDEN"
  echo "Listen $INFRA2_KEYSTONE_IP:$KS_PORT" | write_in_node "$INFRA2_KEYSTONE" /etc/apache2/ports.conf 644
)

make_infra2_heat() (
  LXCPATH=$INFRA2_DIR/lxc
  make_heat_node_at "$INFRA2_HEAT" "$INFRA2_HEAT_IP"
)

# node_mkdir LXCPATH NODE DIR: DIR in a stopped node's overlay, each new folder with the
# owner and mode it has below (so /root stays 0700, /var/lib/keystone keystone's)
node_mkdir() {
  local up=$1/$2/overlay/delta low d=""
  low=$(sed -n 's/^lxc.rootfs.path = overlay[a-z]*:\([^:]*\):.*/\1/p' "$1/$2/config")
  local part
  IFS=/ read -ra parts <<<"${3#/}"
  for part in "${parts[@]}"; do
    d=$d/$part
    [[ -d $up$d ]] && continue
    mkdir "$up$d"
    if [[ -d $low$d ]]; then
      chown --reference="$low$d" "$up$d"
      chmod --reference="$low$d" "$up$d"
    fi
  done
}

# compute1: keystone's golden with its own database, Apache on its address, and sshd with
# the lab's host key and root's authorized key
make_compute() (
  LXCPATH=$COMPUTE_LXC
  local n=$COMPUTE root
  snapshot "$n" "$COMPUTE_IP" "$GOLDEN_PATH" "$GOLDEN"
  [[ -d $LXCPATH/$n/overlay/delta ]] || die "compute1 needs an overlay snapshot (see $LOG/lxc-copy-$n.log)"
  root=$LXCPATH/$n/overlay/delta
  echo "Listen $COMPUTE_IP:$KS_PORT" | write_in_node "$n" /etc/apache2/ports.conf 644
  node_mkdir "$LXCPATH" "$n" /var/lib/keystone/db
  zstd -q -dc "$GOLDEN_SQLITE" | tar -C "$root/var/lib/keystone/db" --numeric-owner -xpf -
  sed "s|^connection = .*|connection = sqlite:////var/lib/keystone/db/keystone.db|" \
    "$GOLDEN_PATH/$GOLDEN/rootfs/etc/keystone/keystone.conf" | write_in_node "$n" /etc/keystone/keystone.conf 640 keystone
  node_mkdir "$LXCPATH" "$n" /root/.ssh
  install -m 700 -d "$root/root/.ssh"
  install -m 600 "$SSH_DIR/authorized_keys" "$root/root/.ssh/authorized_keys"
  write_in_node "$n" /etc/ssh/ssh_host_ed25519_key 600 <"$SSH_DIR/host-$n"
  write_in_node "$n" /etc/ssh/ssh_host_ed25519_key.pub 644 <"$SSH_DIR/host-$n.pub"
  write_in_node "$n" /etc/ssh/sshd_config.d/git-osa-lab.conf 644 <<EOF
# git-osa lab: compute1's sshd, on its address only (written by $HERE/lab)
ListenAddress $COMPUTE_IP
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
LogLevel VERBOSE
MaxSessions 64
MaxStartups 64:30:128
ClientAliveInterval 15
ClientAliveCountMax 4
EOF
)

# Created (when missing or of an older golden) and started; booted in wait_more_hosts.
MORE_STARTED=()
start_more_hosts() {
  MORE_STARTED=()
  local spec n ip
  for spec in "$INFRA2_KEYSTONE=$INFRA2_KEYSTONE_IP:make_infra2_keystone" "$INFRA2_HEAT=$INFRA2_HEAT_IP:make_infra2_heat"; do
    n=${spec%%=*} ip=${spec#*=} ip=${ip%%:*}
    if ! cexists "$INFRA2_DIR/lxc" "$n" || ! grep -q "ipv4.address = $ip/" "$INFRA2_DIR/lxc/$n/config"; then
      infra2_drop "$n"
      "${spec##*:}"
    fi
    if [[ $(on_infra2 cstate "$LXCPATH" "$n") != RUNNING ]]; then
      on_infra2 start_container "$LXCPATH" "$n"
      MORE_STARTED+=("$INFRA2:$n")
    fi
  done
  if ! cexists "$COMPUTE_LXC" "$COMPUTE" || ! grep -q "ipv4.address = $COMPUTE_IP/" "$COMPUTE_LXC/$COMPUTE/config"; then
    stop_destroy "$COMPUTE_LXC" "$COMPUTE"
    make_compute
  fi
  if [[ $(cstate "$COMPUTE_LXC" "$COMPUTE") != RUNNING ]]; then
    start_container "$COMPUTE_LXC" "$COMPUTE"
    MORE_STARTED+=("$COMPUTE:$COMPUTE")
  fi
}

# Booted, their units active; infra2's heat joins once heat's database is synced
# (ensure_heat_nodes), as os_heat enables its units on every host after the first's sync.
wait_more_hosts() {
  local s
  for s in "${MORE_STARTED[@]}"; do
    if [[ ${s%%:*} == "$INFRA2" ]]; then on_infra2 wait_booted "$LXCPATH" "${s#*:}"; else wait_booted "$COMPUTE_LXC" "${s#*:}"; fi
    say "started ${s#*:} on ${s%%:*}"
  done
  MORE_STARTED=()
  on_infra2 ensure_active "$INFRA2_KEYSTONE" "$UNIT" apache2
  if ! on_infra2 la "$LXCPATH" "$INFRA2_HEAT" systemctl is-enabled --quiet heat-api; then
    on_infra2 la "$LXCPATH" "$INFRA2_HEAT" systemctl enable --quiet --now heat-api heat-api-cfn ||
      die "heat's units do not start in $INFRA2_HEAT on $INFRA2"
  fi
  on_infra2 ensure_active "$INFRA2_HEAT" heat-api heat-api-cfn
  infra2_engine_for_mode
  la "$COMPUTE_LXC" "$COMPUTE" systemctl is-enabled --quiet ssh ||
    la "$COMPUTE_LXC" "$COMPUTE" systemctl enable --quiet --now ssh
  LXCPATH=$COMPUTE_LXC ensure_active "$COMPUTE" ssh "$UNIT" apache2
}

# --------------------------------------------------------------------------
# HAProxy on infra2, and the host's mode

haproxy_mode() { if [[ -s $MODE_FILE ]]; then cat "$MODE_FILE"; else echo single; fi; }

# infra2's heat-engine takes work from the deployment's message queue: it runs only while
# infra2 is part of the deployment (multinode mode), so that the single host's stories
# have their two engines and no other (heat.rs stops one to have every stack go to theirs).
infra2_engine_for_mode() {
  if [[ $(haproxy_mode) == multinode ]]; then
    on_infra2 la "$LXCPATH" "$INFRA2_HEAT" systemctl enable --quiet --now heat-engine ||
      die "heat-engine does not start in $INFRA2_HEAT on $INFRA2"
  else
    on_infra2 la "$LXCPATH" "$INFRA2_HEAT" systemctl disable --quiet --now heat-engine
  fi
}

ensure_infra2_haproxy() {
  local new pid
  new=$(haproxy_cfg_text "$INFRA2_IP" multinode)
  pid=$(pid_of "$INFRA2_HAPROXY_PID" "$INFRA2_HAPROXY_CFG")
  if [[ -n $pid && -f $INFRA2_HAPROXY_CFG && $new == "$(<"$INFRA2_HAPROXY_CFG")" && -S $INFRA2_DIR/run/haproxy.stat ]]; then
    return 0
  fi
  [[ -n $pid ]] && stop_pid "$INFRA2_HAPROXY_PID" "$INFRA2_HAPROXY_CFG"
  printf '%s\n' "$new" >"$INFRA2_HAPROXY_CFG"
  inns "$INFRA2" /usr/sbin/haproxy -c -q -f "$INFRA2_HAPROXY_CFG" >"$LOG/haproxy-infra2-check.log" 2>&1 ||
    die_log "$LOG/haproxy-infra2-check.log" "invalid HAProxy config $INFRA2_HAPROXY_CFG"
  rm -f "$INFRA2_DIR/run/haproxy.stat"
  env -i PATH="$SYSPATH" nsenter --net="/run/netns/gosalab-$INFRA2" --mount="$NS_DIR/$INFRA2.mnt" \
    --uts="$NS_DIR/$INFRA2.uts" -- /usr/sbin/haproxy -D -p "$INFRA2_HAPROXY_PID" -f "$INFRA2_HAPROXY_CFG" \
    </dev/null >>"$LOG/haproxy-infra2.log" 2>&1 8>&- 9>&- || die_log "$LOG/haproxy-infra2.log" "HAProxy did not start on $INFRA2"
  say "started haproxy on $INFRA2 (pid $(<"$INFRA2_HAPROXY_PID"))"
}

# restart_infra2_haproxy: stopped and started again, as a node restarted mid-session (a
# fault the stories make): it forgets every runtime state.
restart_infra2_haproxy() {
  stop_pid "$INFRA2_HAPROXY_PID" "$INFRA2_HAPROXY_CFG"
  ensure_infra2_haproxy
}

# --------------------------------------------------------------------------
# health, status, down

wait_more_healthy() {
  local url code pair
  for pair in "$INFRA2_KEYSTONE_IP:$KS_PORT/v3:200" "$COMPUTE_IP:$KS_PORT/v3:200" \
    "$INFRA2_HEAT_IP:8004/:300" "$INFRA2_HEAT_IP:8000/:300"; do
    url=http://${pair%:*}
    for _ in $(seq 1 240); do
      code=$(http_code "$url")
      [[ $code == "${pair##*:}" ]] && break
      sleep 0.25
    done
    [[ $code == "${pair##*:}" ]] || die "$url answers ${code:-nothing}, not ${pair##*:}"
  done
  on_infra2 wait_servers_up "$(server_count multinode)" "$INFRA2"
}

stop_infra2() {
  stop_sshd "$INFRA2"
  stop_pid "$INFRA2_HAPROXY_PID" "$INFRA2_HAPROXY_CFG"
  local n
  if infra2_running; then
    for n in $(inns "$INFRA2" lxc-ls -P "$LXCPATH" -1 2>/dev/null); do
      inns "$INFRA2" lxc-stop -P "$LXCPATH" -n "$n" -k >/dev/null 2>&1 || true
      say "stopped $n on $INFRA2"
    done
  fi
}

# Everything of the other hosts, stopped by pid or by LXC, and their namespaces removed.
stop_more_hosts() {
  stop_sshd "$HOST_NAME"
  stop_infra2
  if [[ -d $COMPUTE_LXC/$COMPUTE ]]; then
    stop_destroy "$COMPUTE_LXC" "$COMPUTE"
    say "destroyed $COMPUTE"
  fi
  local h
  for h in "$INFRA2" "$LAPTOP"; do
    umount "$NS_DIR/$h.mnt" 2>/dev/null || true
    umount "$NS_DIR/$h.uts" 2>/dev/null || true
    if [[ -e /run/netns/gosalab-$h ]]; then
      ip netns del "gosalab-$h"
      say "removed network namespace gosalab-$h"
    fi
    if ip link show "gosa-$h" >/dev/null 2>&1; then ip link del "gosa-$h"; fi
  done
  if ns_mounted "$NS_DIR"; then umount "$NS_DIR"; fi
}

status_more_hosts() {
  local ok=0 st code ip
  if infra2_running; then
    status_line "host $INFRA2" "netns gosalab-$INFRA2 $INFRA2_IP, mount namespace $NS_DIR/$INFRA2.mnt"
    status_sshd "$INFRA2" "$INFRA2_IP" 22 || ok=1
    local spec n url want
    local engine want_engine=inactive
    [[ $(haproxy_mode) == multinode ]] && want_engine=active
    engine=$(on_infra2 la "$LXCPATH" "$INFRA2_HEAT" systemctl is-active heat-engine 2>/dev/null || true)
    status_line "  heat-engine" "$engine in $INFRA2_HEAT (runs in multinode mode only)"
    [[ $engine == "$want_engine" ]] || ok=1
    for spec in "$INFRA2_KEYSTONE=$INFRA2_KEYSTONE_IP:$KS_PORT/v3:200" "$INFRA2_HEAT=$INFRA2_HEAT_IP:8004/:300"; do
      n=${spec%%=*} url=${spec#*=} want=${spec##*:}
      url=${url%:*}
      st=$(on_infra2 cstate "$LXCPATH" "$n")
      code=-
      [[ $st == RUNNING ]] && code=$(http_code "http://$url" 2)
      status_line "  container" "$n $st ${url%%:*} ${url#*:}:$code"
      [[ $st == RUNNING && $code == "$want" ]] || ok=1
    done
    local pid
    pid=$(pid_of "$INFRA2_HAPROXY_PID" "$INFRA2_HAPROXY_CFG")
    if [[ -n $pid ]]; then
      status_line "  haproxy" "pid $pid frontends $INFRA2_IP socket $HAPROXY_SOCK (in its mount namespace)"
      on_infra2 status_servers "$(server_count multinode)" || ok=1
    else
      status_line "  haproxy" "not running"
      ok=1
    fi
  else
    status_line "host $INFRA2" "missing (no network or mount namespace)"
    ok=1
  fi
  st=$(cstate "$COMPUTE_LXC" "$COMPUTE")
  code=-
  [[ $st == RUNNING ]] && code=$(http_code "http://$COMPUTE_IP:$KS_PORT/v3" 2)
  local sshd=-
  [[ $st == RUNNING ]] && sshd=$(la "$COMPUTE_LXC" "$COMPUTE" systemctl is-active ssh 2>/dev/null || true)
  status_line "host $COMPUTE" "$st $COMPUTE_IP /v3:$code sshd:$sshd (lxcpath $COMPUTE_LXC)"
  [[ $st == RUNNING && $code == 200 && $sshd == active ]] || ok=1
  if [[ -e /run/netns/gosalab-$LAPTOP ]] && ns_mounted "$NS_DIR/$LAPTOP.mnt"; then
    status_line "host $LAPTOP" "netns gosalab-$LAPTOP $LAPTOP_IP, mount namespace $NS_DIR/$LAPTOP.mnt"
  else
    status_line "host $LAPTOP" missing
    ok=1
  fi
  status_sshd "$HOST_NAME" "$HOST_IP" "$(cat "$SSH_DIR/aio1-port" 2>/dev/null)" || ok=1
  if [[ -f $MULTI_INVENTORY ]]; then status_line inventory "$MULTI_INVENTORY (multi-node)"; else
    status_line inventory "$MULTI_INVENTORY missing"
    ok=1
  fi
  return $ok
}
