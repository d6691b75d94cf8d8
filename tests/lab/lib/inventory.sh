# shellcheck shell=bash
# Sourced by tests/lab/lab: the lab's inventory, in OSA's format (inventory.py writes
# it), so that git osa finds the containers the way it does on a real deployment.

write_inventory() {
  local specs=() i
  mkdir -p "${INVENTORY%/*}"
  for i in "${!NODES[@]}"; do specs+=("${NODES[$i]}=${NODE_IPS[$i]}:${NODE_STYLES[$i]}:keystone"); done
  specs+=("$GALERA=$GALERA_IP:new:galera" "$RABBIT=$RABBIT_IP:new:rabbit_mq")
  for i in "${!HEAT_NODES[@]}"; do specs+=("${HEAT_NODES[$i]}=${HEAT_NODE_IPS[$i]}:new:heat"); done
  /usr/bin/python3 "$HERE/inventory.py" "$INVENTORY" "$HOST_NAME" "$HOST_IP" "$BRIDGE" "${specs[@]}"
}

status_inventory() {
  if [[ -f $INVENTORY ]]; then
    status_line inventory "$INVENTORY"
  else
    status_line inventory missing
    return 1
  fi
}

# The multi-node inventory, beside the single-host one: infra2 holds a keystone container
# of the old naming era and a heat container of the new, both HAProxy nodes are in the
# haproxy group, compute1 is a metal host running keystone; each entry has its release's
# keys (physical_host_addr only from 2026.1, so the old era's entries have none).
write_multi_inventory() {
  local specs=() i
  mkdir -p "${MULTI_INVENTORY%/*}"
  for i in "${!NODES[@]}"; do specs+=("${NODES[$i]}=${NODE_IPS[$i]}:${NODE_STYLES[$i]}:keystone"); done
  specs+=("$GALERA=$GALERA_IP:new:galera" "$RABBIT=$RABBIT_IP:new:rabbit_mq")
  for i in "${!HEAT_NODES[@]}"; do specs+=("${HEAT_NODES[$i]}=${HEAT_NODE_IPS[$i]}:new:heat"); done
  specs+=("$INFRA2_KEYSTONE=$INFRA2_KEYSTONE_IP:old:keystone@$INFRA2" "$INFRA2_HEAT=$INFRA2_HEAT_IP:new:heat@$INFRA2")
  /usr/bin/python3 "$HERE/inventory.py" "$MULTI_INVENTORY" "$HOST_NAME" "$HOST_IP" "$BRIDGE" --release-keys \
    --host "$INFRA2=$INFRA2_IP" --metal "$COMPUTE=$COMPUTE_IP:keystone" "${specs[@]}"
}
