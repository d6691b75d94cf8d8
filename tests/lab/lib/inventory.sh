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
