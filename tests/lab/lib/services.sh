# shellcheck shell=bash
# Sourced by tests/lab/lab: the processes the lab starts on the host, each tracked by a
# pid file in $RUN and ended only after its command line is checked. Here the two HTTP
# servers: the repo server (the wheelhouse, the containers' only package source) and the
# index standing for the public one. HAProxy (haproxy.sh) is tracked the same way.

# pid_of NAME PATTERN: the pid in $RUN/NAME.pid (NAME itself when it is a path) if that
# process is alive and its command line contains PATTERN; nothing otherwise.
pid_of() {
  local f=$RUN/$1.pid pid
  [[ $1 == /* ]] && f=$1
  [[ -s $f ]] || return 0
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 0
  [[ $(tr '\0' ' ' <"/proc/$pid/cmdline") == *"$2"* ]] && echo "$pid"
  return 0
}

# alive PID: running (a zombie waiting for PID 1 to reap it is not)
alive() {
  local st
  st=$(sed -n 's/^.*) \([A-Z]\).*$/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

stop_pid() { # stop_pid NAME PATTERN
  local pid i
  pid=$(pid_of "$1" "$2")
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      alive "$pid" || break
      sleep 0.1
    done
    [[ -n $(pid_of "$1" "$2") ]] && kill -KILL "$pid" 2>/dev/null || true
    say "stopped ${1##*/} (pid $pid)"
  fi
  if [[ $1 == /* ]]; then rm -f "$1"; else rm -f "$RUN/$1.pid"; fi
}

server_pattern() { echo "http.server $2 --bind $HOST_IP --directory $3"; } # NAME PORT DIR

ensure_http_server() { # ensure_http_server NAME PORT DIR
  local name=$1 port=$2 dir=$3 pat i
  pat=$(server_pattern "$name" "$port" "$dir")
  [[ -n $(pid_of "$name" "$pat") ]] && return 0
  # ours, but serving another directory (an older cache entry)
  stop_pid "$name" "http.server $port --bind $HOST_IP"
  port_in_use "$HOST_IP" "$port" && die "port $HOST_IP:$port is already in use by a process the lab did not start"
  mkdir -p "$RUN" "$LOG"
  (cd / && exec setsid env -i PATH="$SYSPATH" LANG=C.UTF-8 /usr/bin/python3 -m http.server "$port" \
    --bind "$HOST_IP" --directory "$dir" </dev/null >>"$LOG/$name.log" 2>&1 8>&- 9>&-) &
  echo $! >"$RUN/$name.pid"
  for i in $(seq 1 50); do
    port_in_use "$HOST_IP" "$port" && [[ -n $(pid_of "$name" "$pat") ]] && {
      say "started $name on http://$HOST_IP:$port/ (pid $(<"$RUN/$name.pid"))"
      return 0
    }
    sleep 0.1
  done
  die_log "$LOG/$name.log" "$name did not start on $HOST_IP:$port"
}

ensure_http_servers() {
  ensure_http_server repo-server "$REPO_PORT" "$REPO"
  ensure_http_server public-index "$PUB_PORT" "$PUBINDEX"
}

stop_http_servers() {
  stop_pid repo-server "http.server $REPO_PORT --bind $HOST_IP"
  stop_pid public-index "http.server $PUB_PORT --bind $HOST_IP"
}

status_http_servers() {
  local n pid ok=0
  for n in repo-server:$REPO_PORT public-index:$PUB_PORT; do
    pid=$(pid_of "${n%%:*}" "http.server ${n##*:} --bind $HOST_IP")
    if [[ -n $pid ]]; then status_line "${n%%:*}" "pid $pid http://$HOST_IP:${n##*:}/"; else
      status_line "${n%%:*}" "not running"
      ok=1
    fi
  done
  return $ok
}
