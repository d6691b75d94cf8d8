# shellcheck shell=bash
# Sourced by tests/lab/lab: HAProxy on the host, with OSA's frontend, backend and server
# names and an admin socket, started and stopped by pid like the lab's other servers
# (services.sh).

# haproxy_cfg_text ADDRESS MODE: the config of a node whose frontends bind ADDRESS (and
# 127.0.0.1); MODE multinode puts infra2's containers in the backends too
# Each server's checks as OSA's service.j2 writes them (`rise 3`: three passing checks
# bring a server up), one second apart instead of OSA's twelve (`inter 12000`), and
# `fall 2` instead of 3, so that the stories' own waits stay short.
haproxy_cfg_text() {
  local addr=$1 i
  local ks=("${NODES[@]}") ks_ips=("${NODE_IPS[@]}") heat=("${HEAT_NODES[@]}") heat_ips=("${HEAT_NODE_IPS[@]}")
  if [[ $2 == multinode ]]; then
    ks+=("$INFRA2_KEYSTONE") ks_ips+=("$INFRA2_KEYSTONE_IP") heat+=("$INFRA2_HEAT") heat_ips+=("$INFRA2_HEAT_IP")
  fi
  cat <<EOF
# git-osa lab HAProxy, modelled on openstack-ansible-haproxy_server
# (templates/haproxy.cfg.j2 and service.j2). Started by $HERE/lab.
global
        daemon
        maxconn 256
        stats socket $HAPROXY_SOCK level admin mode 600
        stats timeout 30s

defaults
        option dontlognull
        option redispatch
        retries 3
        timeout client 90s
        timeout connect 5s
        timeout http-request 10s
        timeout server 90s
        timeout check 2s
        maxconn 256

frontend keystone_service-front-1
        bind 127.0.0.1:$KS_PORT
        bind $addr:$KS_PORT
        mode http
        option httplog
        option forwardfor except 127.0.0.0/8
        default_backend $BACKEND

backend $BACKEND
        mode http
        balance roundrobin
        option forwardfor
        option httpchk GET /v3
        http-check expect status 200
        http-response set-header X-Lab-Backend %s
EOF
  for i in "${!ks[@]}"; do
    echo "        server ${ks[$i]} ${ks_ips[$i]}:$KS_PORT check port $KS_PORT inter 1s rise 3 fall 2"
  done
  # os_heat's haproxy_heat_api and haproxy_heat_api_cfn services: the version document
  # answers 300 Multiple Choices
  local svc port
  for svc in heat_api:8004 heat_api_cfn:8000; do
    port=${svc#*:}
    svc=${svc%:*}
    cat <<EOF

frontend $svc-front-1
        bind 127.0.0.1:$port
        bind $addr:$port
        mode http
        option httplog
        option forwardfor except 127.0.0.0/8
        default_backend $svc-back

backend $svc-back
        mode http
        balance roundrobin
        option forwardfor
        option httpchk GET /
        http-check expect status 300
        http-response set-header X-Lab-Backend %s
EOF
    for i in "${!heat[@]}"; do
      echo "        server ${heat[$i]} ${heat_ips[$i]}:$port check port $port inter 1s rise 3 fall 2"
    done
  done
}

ensure_haproxy() {
  local new pid
  mkdir -p "${HAPROXY_CFG%/*}" "$RUN" "$LOG"
  new=$(haproxy_cfg_text "$HOST_IP" "$(haproxy_mode)")
  pid=$(pid_of haproxy "$HAPROXY_CFG")
  if [[ -n $pid && -f $HAPROXY_CFG && $new == "$(<"$HAPROXY_CFG")" && -S $HAPROXY_SOCK ]]; then
    return 0
  fi
  [[ -n $pid ]] && stop_pid haproxy "$HAPROXY_CFG"
  printf '%s\n' "$new" >"$HAPROXY_CFG"
  local a port
  for a in 127.0.0.1 "$HOST_IP"; do
    for port in "$KS_PORT" 8004 8000; do
      port_in_use "$a" "$port" && die "port $a:$port is already in use by a process the lab did not start"
    done
  done
  /usr/sbin/haproxy -c -q -f "$HAPROXY_CFG" >"$LOG/haproxy-check.log" 2>&1 ||
    die_log "$LOG/haproxy-check.log" "invalid HAProxy config $HAPROXY_CFG"
  rm -f "$HAPROXY_SOCK"
  env -i PATH="$SYSPATH" /usr/sbin/haproxy -D -p "$RUN/haproxy.pid" -f "$HAPROXY_CFG" \
    </dev/null >>"$LOG/haproxy.log" 2>&1 8>&- 9>&- || die_log "$LOG/haproxy.log" "HAProxy did not start"
  say "started haproxy (pid $(<"$RUN/haproxy.pid"))"
}

# hasock COMMAND: talk to HAProxy's admin socket (socat is not installed on OSA hosts);
# on_infra2 hasock: to infra2's, at the same path in its mount namespace
hasock() {
  "${AT[@]}" /usr/bin/python3 - "$HAPROXY_SOCK" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
EOF
}

BACKENDS=("$BACKEND" heat_api-back heat_api_cfn-back)
# server_states: "BACKEND/NAME OP_STATE ADMIN_STATE" per server of the lab's backends
server_states() {
  local b
  for b in "${BACKENDS[@]}"; do
    hasock "show servers state $b" 2>/dev/null | awk -v b="$b" 'NF > 10 && $1 ~ /^[0-9]+$/ { print b "/" $4, $6, $7 }'
  done
}
# server_count MODE: how many servers the backends have
server_count() {
  local extra=0
  [[ $1 == multinode ]] && extra=1
  echo $((${#NODES[@]} + extra + 2 * (${#HEAT_NODES[@]} + extra)))
}

# wait_healthy: keystone and heat answer in every container, and HAProxy has every server UP
wait_healthy() {
  local i n code
  for i in "${!NODES[@]}"; do
    n=${NODES[$i]}
    for _ in $(seq 1 240); do
      code=$(http_code "http://${NODE_IPS[$i]}:$KS_PORT/v3")
      [[ $code == 200 ]] && break
      sleep 0.25
    done
    [[ $code == 200 ]] || die "keystone in $n does not answer http://${NODE_IPS[$i]}:$KS_PORT/v3 (last HTTP code: ${code:-none}); see: lxc-attach -P $LXCPATH -n $n --clear-env -- journalctl -u $UNIT"
  done
  # heat's APIs answer their version document (300) in every heat container
  local url
  for i in "${!HEAT_NODES[@]}"; do
    for url in "http://${HEAT_NODE_IPS[$i]}:8004/" "http://${HEAT_NODE_IPS[$i]}:8000/"; do
      for _ in $(seq 1 240); do
        code=$(http_code "$url")
        [[ $code == 300 ]] && break
        sleep 0.25
      done
      [[ $code == 300 ]] || die "heat in ${HEAT_NODES[$i]} does not answer $url (last HTTP code: ${code:-none}); see: lxc-attach -P $LXCPATH -n ${HEAT_NODES[$i]} --clear-env -- journalctl -u 'heat-*'"
    done
  done
  wait_servers_up "$(server_count "$(haproxy_mode)")" "$HOST_NAME"
}

# wait_servers_up COUNT NODE: servers left in maintenance or drain (e.g. by an interrupted
# test) are put back, then HAProxy has COUNT servers UP
wait_servers_up() {
  local name op adm ok
  while read -r name op adm; do
    [[ -n $name && $adm != 0 ]] && { hasock "set server $name state ready" >/dev/null; say "set $name back to ready in HAProxy on $2"; }
  done < <(server_states)
  for _ in $(seq 1 120); do
    ok=0
    while read -r name op adm; do [[ $op == 2 ]] && ok=$((ok + 1)); done < <(server_states)
    ((ok == $1)) && return 0
    sleep 0.25
  done
  server_states >&2
  die "HAProxy on $2 does not report every server UP"
}

stop_haproxy() { stop_pid haproxy "$HAPROXY_CFG"; }

status_haproxy() {
  local pid
  pid=$(pid_of haproxy "$HAPROXY_CFG")
  if [[ -z $pid ]]; then
    status_line haproxy "not running"
    return 1
  fi
  status_line haproxy "pid $pid socket $HAPROXY_SOCK ($(haproxy_mode) backends)"
  status_servers "$(server_count "$(haproxy_mode)")"
}

# status_servers COUNT: a line per server; fails unless COUNT are there, each UP and ready
status_servers() {
  local name op adm st seen=0 ok=0
  while read -r name op adm; do
    seen=$((seen + 1))
    case $op in 0) st=DOWN ;; 1) st=STARTING ;; 2) st=UP ;; 3) st=STOPPING ;; *) st=$op ;; esac
    [[ $adm != 0 ]] && st="$st (admin state $adm)"
    status_line "  server" "$name $st"
    [[ $op == 2 && $adm == 0 ]] || ok=1
  done < <(server_states)
  ((seen == $1)) || ok=1
  return $ok
}
