# shellcheck shell=bash
# Sourced by tests/lab/lab: OSA's infrastructure and heat. The galera (MariaDB) and
# rabbit_mq (RabbitMQ) containers, overlay snapshots of the bare rootfs; the heat golden
# container (built once into the cache like keystone's); the two heat containers,
# snapshots of it, each with its own heat.conf; heat's database, user and vhost, created
# as os_heat creates them (tasks/main.yml: db_setup, mq_setup), and its db sync.

# The bare rootfs as a never-booted container, the lower dir of galera's and rabbit's
# overlays.
build_base() {
  set -x
  local tmp=$BASE_PATH.tmp r=$BASE_PATH.tmp/$BASE/rootfs
  rm -rf --one-file-system "$tmp"
  mkdir -p "$r"
  zstd -q -dc "$ROOTFS_TAR" | tar -C "$r" --numeric-owner -xpf -
  container_config "$tmp" "$BASE" "$GOLDEN_IP" "$BASE" "dir:$r"
  rm -rf --one-file-system "$BASE_PATH"
  mv "$tmp" "$BASE_PATH"
  container_config "$BASE_PATH" "$BASE" "$GOLDEN_IP" "$BASE" "dir:$BASE_PATH/$BASE/rootfs"
  touch "$BASE_PATH/.complete"
  prune 'base-*' "$BASE_PATH"
}

build_heat_golden() {
  set -x
  local tmp=$HEAT_GOLDEN_PATH.tmp
  golden_boot "$tmp" "$HEAT_GOLDEN" "$HEAT_GOLDEN_IP"
  la "$tmp" "$HEAT_GOLDEN" sh -c 'cat >/root/provision-heat.sh' <"$HERE/provision-heat.sh"
  la "$tmp" "$HEAT_GOLDEN" bash /root/provision-heat.sh "$HV" "$HEAT_GOLDEN_IP" "$HOST_IP" </dev/null
  golden_seal "$tmp" "$HEAT_GOLDEN_PATH" "$HEAT_GOLDEN" "$HEAT_GOLDEN_IP"
  prune 'heat-golden-*' "$HEAT_GOLDEN_PATH"
}

# The heat golden and the base are built next to keystone's golden (start_*), and waited
# for before the nodes (wait_*).
HEAT_STAGES=()
start_heat_builds() {
  HEAT_STAGES=()
  if [[ ! -e $BASE_PATH/.complete ]]; then
    stage base build_base
    HEAT_STAGES+=("base:$STAGE_PID")
  fi
  if [[ ! -e $HEAT_GOLDEN_PATH/.complete || $(cat "$LAB/heat-golden-key" 2>/dev/null) != "$HEAT_GOLDEN_KEY" ]]; then
    local n
    for n in "${HEAT_NODES[@]}"; do stop_destroy "$LXCPATH" "$n"; done
    infra2_drop "$INFRA2_HEAT"
  fi
  if [[ ! -e $HEAT_GOLDEN_PATH/.complete ]]; then
    stage heat-golden build_heat_golden
    HEAT_STAGES+=("heat-golden:$STAGE_PID")
  fi
  return 0
}
wait_heat_builds() {
  local s
  for s in "${HEAT_STAGES[@]}"; do wait_stage "${s%%:*}" "${s##*:}"; done
  HEAT_STAGES=()
  rm -f "$HEAT_GOLDEN_PATH/$HEAT_GOLDEN/lxc_snapshots" "$BASE_PATH/$BASE/lxc_snapshots"
  echo "$HEAT_GOLDEN_KEY" >"$LAB/heat-golden-key"
}

# heat's secrets: the keystone ones come with keystone's golden, the database's and
# RabbitMQ's are the lab's own (made once per lab)
heat_secrets() {
  local f
  for f in heat-db-password heat-rabbit-password; do
    [[ -s $LAB/$f ]] || (umask 077 && secret >"$LAB/$f")
  done
  HEAT_DB_PW=$(<"$LAB/heat-db-password")
  HEAT_RABBIT_PW=$(<"$LAB/heat-rabbit-password")
  HEAT_KS_PW=$(<"$LAB/heat-password")
  HEAT_DOMAIN_PW=$(<"$LAB/stack-domain-password")
}

heat_conf() { # heat_conf NODE_IP
  cat <<CONF
# Modelled on openstack-ansible-os_heat templates/heat.conf.j2
[DEFAULT]
use_journal = True
use_stderr = False
debug = False
host = heat-$1
heat_metadata_server_url = http://$HOST_IP:8000
heat_waitcondition_server_url = http://$HOST_IP:8000/v1/waitcondition
num_engine_workers = 1
deferred_auth_method = trusts
stack_user_domain_name = heat
stack_domain_admin = stack_domain_admin
stack_domain_admin_password = $HEAT_DOMAIN_PW
transport_url = rabbit://heat:$HEAT_RABBIT_PW@$RABBIT_IP:5672//heat

[database]
connection = mysql+pymysql://heat:$HEAT_DB_PW@$GALERA_IP/heat?charset=utf8
max_retries = -1

[oslo_messaging_notifications]
driver = noop

[paste_deploy]
api_paste_config = /etc/heat/api-paste.ini

[clients_keystone]
auth_uri = http://$HOST_IP:$KS_PORT

[keystone_authtoken]
www_authenticate_uri = http://$HOST_IP:$KS_PORT
auth_url = http://$HOST_IP:$KS_PORT
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = service
username = heat
password = $HEAT_KS_PW
region_name = RegionOne
service_token_roles_required = True

[trustee]
auth_type = password
auth_url = http://$HOST_IP:$KS_PORT
username = heat
password = $HEAT_KS_PW
user_domain_id = default

[heat_api]
bind_host = $1
bind_port = 8004

[heat_api_cfn]
bind_host = $1
bind_port = 8000

[oslo_policy]
enforce_scope = False
enforce_new_defaults = False
CONF
}

make_heat_node() { make_heat_node_at "${HEAT_NODES[$1]}" "${HEAT_NODE_IPS[$1]}"; } # INDEX
make_heat_node_at() { # make_heat_node_at NAME IP
  local n=$1 ip=$2 u port
  snapshot "$n" "$ip" "$HEAT_GOLDEN_PATH" "$HEAT_GOLDEN"
  heat_conf "$ip" | write_in_node "$n" /etc/heat/heat.conf 640 heat
  for u in heat-api:8004 heat-api-cfn:8000; do
    port=${u#*:}
    u=${u%:*}
    sed "s/^http-socket = .*/http-socket = $ip:$port/" "$HEAT_GOLDEN_PATH/$HEAT_GOLDEN/rootfs/etc/uwsgi/$u.ini" |
      write_in_node "$n" "/etc/uwsgi/$u.ini" 644
  done
}

# The containers are created and started first (start_infra, start_heat_nodes), and
# configured once they booted (ensure_infra, ensure_heat_nodes): their boots, RabbitMQ's
# start (6 s) and keystone's overlap.
STARTED=()
start_infra() {
  local spec n ip
  STARTED=()
  heat_secrets
  for spec in "$GALERA=$GALERA_IP" "$RABBIT=$RABBIT_IP"; do
    n=${spec%%=*} ip=${spec#*=}
    if ! cexists "$LXCPATH" "$n" || ! grep -q "ipv4.address = $ip/" "$LXCPATH/$n/config"; then
      snapshot "$n" "$ip" "$BASE_PATH" "$BASE"
    fi
    if [[ $(cstate "$LXCPATH" "$n") != RUNNING ]]; then
      start_container "$LXCPATH" "$n"
      STARTED+=("$n")
    fi
  done
}

start_heat_nodes() {
  local i n
  for i in "${!HEAT_NODES[@]}"; do
    n=${HEAT_NODES[$i]}
    if ! cexists "$LXCPATH" "$n" || ! grep -q "ipv4.address = ${HEAT_NODE_IPS[$i]}/" "$LXCPATH/$n/config"; then
      make_heat_node "$i"
    fi
    if [[ $(cstate "$LXCPATH" "$n") != RUNNING ]]; then
      start_container "$LXCPATH" "$n"
      STARTED+=("$n")
    fi
  done
}

# BOOTED: how many of them this `up` started; none on a lab that is already up
BOOTED=0
wait_started() {
  local n
  for n in "${STARTED[@]}"; do wait_booted "$LXCPATH" "$n"; done
  BOOTED=${#STARTED[@]}
  STARTED=()
}
# what a lab that is up and was set up needs again: nothing
heat_set_up() { ((BOOTED == 0)) && [[ -e $LAB/heat-ready ]]; }

# Each container the way its role leaves it; a running service is left as it is.
ensure_infra() {
  heat_set_up && return 0
  if ! la "$LXCPATH" "$RABBIT" systemctl is-active --quiet rabbitmq-server; then
    la "$LXCPATH" "$RABBIT" systemctl enable --now --no-block rabbitmq-server >/dev/null 2>&1
  fi
  if ! la "$LXCPATH" "$GALERA" systemctl is-active --quiet mariadb; then
    la "$LXCPATH" "$GALERA" systemctl enable --now mariadb >/dev/null 2>&1 ||
      die "MariaDB does not start in $GALERA; see: lxc-attach -P $LXCPATH -n $GALERA --clear-env -- journalctl -u mariadb"
  fi
  # os_heat db_setup: the database, and its user from anywhere on the management network
  la "$LXCPATH" "$GALERA" mysql --batch <<SQL
CREATE DATABASE IF NOT EXISTS heat;
CREATE USER IF NOT EXISTS 'heat'@'%' IDENTIFIED BY '$HEAT_DB_PW';
ALTER USER 'heat'@'%' IDENTIFIED BY '$HEAT_DB_PW';
GRANT ALL PRIVILEGES ON heat.* TO 'heat'@'%';
SQL
  ensure_keystone_db
}

# os_keystone db_setup, then its first db_sync and bootstrap: here the golden container's
# database (its dump, made at the golden's build), loaded once into the galera container.
ensure_keystone_db() {
  local pw
  pw=$(<"$GOLDEN_PATH/keystone-db-password")
  if [[ -z $(la "$LXCPATH" "$GALERA" mysql --batch --skip-column-names \
    -e "SHOW DATABASES LIKE 'keystone'") ]]; then
    zstd -q -dc "$GOLDEN_DB" | la "$LXCPATH" "$GALERA" sh -c \
      'mysql --batch -e "CREATE DATABASE keystone" && mysql --batch keystone' >"$LOG/keystone-db-load.log" 2>&1 ||
      die_log "$LOG/keystone-db-load.log" "keystone's database does not load into $GALERA"
  fi
  la "$LXCPATH" "$GALERA" mysql --batch <<SQL
CREATE USER IF NOT EXISTS 'keystone'@'%' IDENTIFIED BY '$pw';
ALTER USER 'keystone'@'%' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'%';
SQL
}

ensure_rabbit() {
  local s=""
  for _ in $(seq 1 240); do
    s=$(la "$LXCPATH" "$RABBIT" systemctl is-active rabbitmq-server 2>/dev/null || true)
    [[ $s == active || $s == failed ]] && break
    sleep 0.25
  done
  [[ $s == active ]] ||
    die "RabbitMQ does not start in $RABBIT ($s); see: lxc-attach -P $LXCPATH -n $RABBIT --clear-env -- journalctl -u rabbitmq-server"
  # os_heat mq_setup: vhost /heat, user heat with every permission on it
  la "$LXCPATH" "$RABBIT" sh -c '
    rabbitmqctl -q list_vhosts | grep -qx /heat || rabbitmqctl -q add_vhost /heat
    rabbitmqctl -q list_users | grep -q "^heat\b" || rabbitmqctl -q add_user heat "$1"
    rabbitmqctl -q change_password heat "$1"
    rabbitmqctl -q set_permissions -p /heat heat ".*" ".*" ".*"' rabbit-setup "$HEAT_RABBIT_PW" >/dev/null
}

HEAT_UNITS=(heat-api heat-api-cfn heat-engine)
ensure_heat_nodes() {
  local n
  if heat_set_up; then
    for n in "${HEAT_NODES[@]}"; do ensure_active "$n" "${HEAT_UNITS[@]}"; done
    return 0
  fi
  # os_heat runs the db sync once, on the first heat host; then the units are enabled
  la "$LXCPATH" "${HEAT_NODES[0]}" runuser -u heat -- "/openstack/venvs/heat-$HV/bin/heat-manage" \
    --config-file /etc/heat/heat.conf db_sync >"$LOG/heat-db-sync.log" 2>&1 ||
    die_log "$LOG/heat-db-sync.log" "heat-manage db_sync failed in ${HEAT_NODES[0]}"
  ensure_rabbit
  for n in "${HEAT_NODES[@]}"; do
    la "$LXCPATH" "$n" systemctl enable --quiet --now "${HEAT_UNITS[@]}" ||
      die "heat's units do not start in $n; see: lxc-attach -P $LXCPATH -n $n --clear-env -- journalctl -u 'heat-*'"
    ensure_active "$n" "${HEAT_UNITS[@]}"
  done
  touch "$LAB/heat-ready"
}

status_heat() {
  local n code8004 code8000 st ok=0 i
  for n in "$GALERA" "$RABBIT"; do
    st=$(cstate "$LXCPATH" "$n")
    status_line container "$n $st"
    [[ $st == RUNNING ]] || ok=1
  done
  for i in "${!HEAT_NODES[@]}"; do
    n=${HEAT_NODES[$i]}
    st=$(cstate "$LXCPATH" "$n")
    code8004=- code8000=-
    if [[ $st == RUNNING ]]; then
      code8004=$(http_code "http://${HEAT_NODE_IPS[$i]}:8004/" 2)
      code8000=$(http_code "http://${HEAT_NODE_IPS[$i]}:8000/" 2)
    fi
    status_line container "$n $st ${HEAT_NODE_IPS[$i]} :8004:$code8004 :8000:$code8000"
    [[ $st == RUNNING && $code8004 == 300 && $code8000 == 300 ]] || ok=1
  done
  return $ok
}
