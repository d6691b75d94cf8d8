# shellcheck shell=bash
# Sourced by tests/lab/lab: output and errors, hashing, helpers every concern uses, and
# the traps that clean up after a failed or interrupted command.

T0=$(date +%s.%N)
say() { printf 'lab: [%5ss] %s\n' "$(elapsed)" "$*" >&2; }
die() {
  printf 'lab: error: %s\n' "$*" >&2
  exit 1
}
# die_log LOGFILE MESSAGE: show the end of a build log, then fail.
die_log() {
  local log=$1
  shift
  if [[ -s $log ]]; then
    printf -- '--- last lines of %s ---\n' "$log" >&2
    tail -n 40 "$log" >&2
    printf -- '---\n' >&2
  fi
  die "$* (full log: $log)"
}
on_err() { printf 'lab: failed at line %s: %s\n' "$1" "$2" >&2; }
trap 'on_err $LINENO "$BASH_COMMAND"' ERR
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
sha() { sha256sum | cut -c1-16; }
# status_line WHAT STATE: one line of `lab status`; each concern prints its own
status_line() { printf '%-14s %s\n' "$1" "$2"; }

umount_under() { # lazily unmount anything left mounted under DIR (failed debootstrap)
  local m
  while read -r m; do
    [[ -n $m ]] && umount -l "$m" 2>/dev/null || true
  done < <(findmnt -rn -o TARGET | awk -v d="$1/" 'index($0, d) == 1' | sort -r)
}

http_code() { curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --max-time "${2:-3}" "$1" 2>/dev/null || true; }

# On any exit: stop the background builds this command started (cache.sh), and remove
# the policy-rc.d it put in place (host.sh).
trap 'stop_stages; remove_policy_rc' EXIT
