# shellcheck shell=bash
# Sourced by tests/lab/lab: never clobber what the lab did not create. Paths, the
# subnet, the bridge and the ports are checked before the lab takes them; one lab
# command runs at a time.

require_root() { [[ $(id -u) == 0 ]] || die "must run as root (LXC, bridge, HAProxy on privileged ports)"; }

guard_dir() { # guard_dir DIR MARKER WHAT
  local dir=$1 mark=$2 what=$3 real
  [[ $dir == /* ]] || die "$what path must be absolute: $dir"
  real=$(readlink -m "$dir")
  case $real in
  / | /bin | /boot | /dev | /etc | /home | /lib | /lib64 | /opt | /proc | /root | /run | /sbin | /srv | /sys | /tmp | /usr | /var | /var/cache | /var/lib | /var/run | /var/tmp | /usr/local)
    die "refusing to use $real as the lab's $what" ;;
  /etc/* | /usr/* | /proc/* | /sys/* | /dev/* | /boot/* | /var/lib/lxc | /var/lib/lxc/* | /etc/openstack_deploy* | /etc/haproxy* | /var/run/* | /run/haproxy*)
    die "refusing to use $real as the lab's $what: it belongs to the system or to a real OSA deployment" ;;
  esac
  # the marker is created before anything else: test it after the contents
  if [[ -e $real ]] && [[ -n $(ls -A "$real" 2>/dev/null) ]] && [[ ! -e $mark ]]; then
    die "$real exists, is not empty and was not created by the lab (no ${mark##*/}); set GIT_OSA_LAB_DIR/GIT_OSA_LAB_CACHE elsewhere or remove it"
  fi
}

guard_paths() {
  guard_dir "$LAB" "$LAB_MARK" "state dir"
  guard_dir "$CACHE" "$CACHE_MARK" "cache"
  local l c
  l=$(readlink -m "$LAB")
  c=$(readlink -m "$CACHE")
  [[ $l != "$c" && $l != "$c"/* && $c != "$l"/* ]] || die "the state dir ($l) and the cache ($c) must be separate"
}

lab_is_ours() { [[ -e $LAB_MARK ]]; }

# The lab's subnet must be free: on a host with a real OSA deployment br-mgmt
# holds 172.29.236.0/22 and the lab must not take it over.
guard_network() {
  local line
  while read -r line; do
    set -- $line
    [[ $2 == "$BRIDGE" ]] && continue
    [[ ${4%/*} =~ $NET_RE ]] && die "interface $2 already has ${4} in the lab's subnet 172.29.236.0/22 (a real OSA br-mgmt?); refusing to create $BRIDGE"
  done < <(ip -4 -o addr show)
  if ip link show "$BRIDGE" >/dev/null 2>&1 && ! lab_is_ours; then
    die "$BRIDGE exists but the lab has no record of creating it (no $LAB_MARK); if it is a leftover, remove it with: ip link del $BRIDGE"
  fi
  while read -r line; do
    [[ -z $line ]] && continue
    [[ $line == *"dev $BRIDGE"* ]] && continue
    die "a route to the lab's subnet already exists ($line); refusing to create $BRIDGE"
  done < <(ip -4 route show | grep -E '^172\.29\.23[6-9]\.' || true)
}

# is a TCP port on ADDR (or the wildcard) listened on by anybody?
port_in_use() { # port_in_use ADDR PORT
  ss -Hltn 2>/dev/null | awk -v a="$1" -v p="$2" '
    { n = split($4, f, ":"); port = f[n]; addr = substr($4, 1, length($4) - length(port) - 1) }
    port == p && (addr == a || addr == "0.0.0.0" || addr == "*" || addr == "[::]") { found = 1 }
    END { exit !found }'
}

# Everything the lab leaves running (containers, servers, HAProxy) is started
# with fds 8 and 9 closed, so that it does not hold these locks.
take_lock() {
  mkdir -p "${LOCK%/*}"
  exec 9>"$LOCK"
  flock -w 900 9 || die "another lab command holds $LOCK"
}
