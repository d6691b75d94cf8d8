# shellcheck shell=bash
# Sourced by tests/lab/lab: ssh in the lab. Its own keys, known_hosts and client config,
# all under $SSH_DIR (never root's ~/.ssh), and the sshd processes it starts: each by
# absolute path, with a config, host key and authorized key of the lab's, listening only
# on one lab address. `lab env` points git osa at the client config (GIT_OSA_SSH_CONFIG).

SSHD=/usr/sbin/sshd

# The host's own sshd (the laptop's deploy host) listens on the bridge only, on port 22
# unless something the lab did not start holds it there (a system sshd on 0.0.0.0:22).
host_ssh_port() {
  local f=$SSH_DIR/aio1-port
  if [[ -s $f ]]; then
    HOST_SSH_PORT=$(<"$f")
    return 0
  fi
  HOST_SSH_PORT=22
  if port_in_use "$HOST_IP" 22; then
    HOST_SSH_PORT=2222
    say "port 22 on $HOST_IP is taken by a process the lab did not start; the host's lab sshd uses $HOST_SSH_PORT"
  fi
  echo "$HOST_SSH_PORT" >"$f"
}

# The keys (made once per lab), the known_hosts of every lab host, the client config.
ensure_ssh_files() {
  mkdir -p "$SSH_DIR"
  chmod 700 "$SSH_DIR"
  local k
  for k in id_ed25519 "host-$HOST_NAME" "host-$INFRA2" "host-$COMPUTE"; do
    [[ -s $SSH_DIR/$k && -s $SSH_DIR/$k.pub ]] && continue
    rm -f "$SSH_DIR/$k" "$SSH_DIR/$k.pub"
    ssh-keygen -q -t ed25519 -N '' -C "git-osa-lab-$k" -f "$SSH_DIR/$k" </dev/null
  done
  host_ssh_port
  # sshd's StrictModes: the file and every folder above it root's, not group or world
  # writable ($LAB is 0755, $SSH_DIR 0700).
  install -m 600 "$SSH_DIR/id_ed25519.pub" "$SSH_DIR/authorized_keys"
  local aio1=$HOST_IP
  [[ $HOST_SSH_PORT == 22 ]] || aio1="[$HOST_IP]:$HOST_SSH_PORT"
  {
    echo "$aio1 $(cut -d' ' -f1,2 "$SSH_DIR/host-$HOST_NAME.pub")"
    echo "$INFRA2_IP $(cut -d' ' -f1,2 "$SSH_DIR/host-$INFRA2.pub")"
    echo "$COMPUTE_IP $(cut -d' ' -f1,2 "$SSH_DIR/host-$COMPUTE.pub")"
  } >"$SSH_DIR/known_hosts"
  {
    echo "# git-osa lab: ssh to the lab's hosts with the lab's key and known_hosts (ssh -F)."
    echo "# Written by $HERE/lab."
    if [[ $HOST_SSH_PORT != 22 ]]; then
      printf 'Host %s\n  Port %s\n' "$HOST_IP" "$HOST_SSH_PORT"
    fi
    cat <<EOF
Host *
  User root
  IdentityFile $SSH_DIR/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $SSH_DIR/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  BatchMode yes
EOF
  } >"$SSH_DIR/config"
  chmod 600 "$SSH_DIR/config" "$SSH_DIR/known_hosts"
}

# sshd_config_text NAME ADDRESS PORT HOSTKEY: an sshd of the lab's. LogLevel VERBOSE logs
# "Starting session" for each command, which the stories count.
sshd_config_text() {
  cat <<EOF
# git-osa lab: the sshd of $1, started by $HERE/lab
ListenAddress $2:$3
HostKey $4
AuthorizedKeysFile $SSH_DIR/authorized_keys
StrictModes yes
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
MaxSessions 64
MaxStartups 64:30:128
ClientAliveInterval 15
ClientAliveCountMax 4
EOF
}

# ensure_sshd NAME ADDRESS PORT [PREFIX...]: the sshd of NAME, run with PREFIX (nsenter
# into a host's namespaces), tracked by $RUN/sshd-NAME.pid, logging to $LOG/sshd-NAME.log.
ensure_sshd() {
  local name=$1 addr=$2 port=$3 conf=$SSH_DIR/sshd-$1.conf
  shift 3
  local new
  new=$(sshd_config_text "$name" "$addr" "$port" "$SSH_DIR/host-$name")
  if [[ -n $(pid_of "sshd-$name" "-f $conf") ]]; then
    [[ -f $conf && $new == "$(<"$conf")" ]] && return 0
    stop_sshd "$name"
  fi
  printf '%s\n' "$new" >"$conf"
  chmod 600 "$conf"
  # the privilege separation folder, which the packaged unit makes (it is not running)
  [[ -d /run/sshd ]] || install -d -m 755 /run/sshd
  "$@" "$SSHD" -t -f "$conf" >"$LOG/sshd-$name-check.log" 2>&1 ||
    die_log "$LOG/sshd-$name-check.log" "invalid sshd config $conf"
  (cd / && exec setsid "$@" env -i PATH="$SYSPATH" LANG=C.UTF-8 "$SSHD" -D -e -f "$conf" \
    </dev/null >>"$LOG/sshd-$name.log" 2>&1 8>&- 9>&-) &
  echo $! >"$RUN/sshd-$name.pid"
  local i pid=$!
  for i in $(seq 1 50); do
    alive "$pid" || break
    "$@" ss -Hltn 2>/dev/null | awk -v a="$addr:$port" '$4 == a { f = 1 } END { exit !f }' && {
      say "started sshd of $name on $addr:$port (pid $(<"$RUN/sshd-$name.pid"))"
      return 0
    }
    sleep 0.1
  done
  die_log "$LOG/sshd-$name.log" "sshd of $name did not start on $addr:$port"
}

# stop_sshd NAME: the listener, then the connections it started (each a child of it):
# a client that went away with the lab's network would leave them waiting.
stop_sshd() {
  local name=$1 pid kids
  pid=$(pid_of "sshd-$name" "-f $SSH_DIR/sshd-$name.conf")
  if [[ -n $pid ]]; then
    kids=$(pgrep -P "$pid" || true)
    stop_pid "sshd-$name" "-f $SSH_DIR/sshd-$name.conf"
    [[ -z $kids ]] || kill -TERM $kids 2>/dev/null || true
  fi
  rm -f "$RUN/sshd-$name.pid"
}

status_sshd() { # status_sshd NAME ADDRESS PORT
  local pid
  pid=$(pid_of "sshd-$1" "-f $SSH_DIR/sshd-$1.conf")
  if [[ -n $pid ]]; then
    status_line "sshd $1" "pid $pid $2:$3 (log $LOG/sshd-$1.log)"
  else
    status_line "sshd $1" "not running"
    return 1
  fi
}
