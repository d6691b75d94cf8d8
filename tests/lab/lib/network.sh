# shellcheck shell=bash
# Sourced by tests/lab/lab: the lab's bridge, its only network. The host has
# $HOST_IP on it; there is no NAT and no route out (guards.sh checks the subnet is free).

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    say "created bridge $BRIDGE"
  fi
  [[ $(ip -4 addr show dev "$BRIDGE") == *"inet $HOST_IP/$PREFIXLEN "* ]] ||
    ip addr add "$HOST_IP/$PREFIXLEN" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

remove_bridge() {
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link del "$BRIDGE"
    say "removed bridge $BRIDGE"
  fi
}

status_bridge() {
  if [[ $(ip -4 addr show dev "$BRIDGE" 2>/dev/null) == *"inet $HOST_IP/$PREFIXLEN "* ]]; then
    status_line bridge "$BRIDGE $HOST_IP/$PREFIXLEN"
  else
    status_line bridge "$BRIDGE missing"
    return 1
  fi
}
