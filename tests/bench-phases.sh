# Sourced by tests/bench and tests/bench-heat: where a timed `git osa` spends its time.
# A run's output is stamped line by line as it arrives (`stamp`); each line of git-osa's
# own ("git-osa: STEP") starts a phase that lasts until the next one, the last one until
# the end the bench measured (the frontend answering the new code, or the command's
# return). Phases are kept per round and printed as medians by their place in the run.
export LC_ALL=C

now() { printf '%s\n' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# stamp: every line read, prefixed with the time it arrived.
stamp() { while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }

# phases NAME LOG T0 TEND: appends one line per phase of the stamped LOG of a command
# started at T0 and measured until TEND to $phases_dir/NAME: place, milliseconds, title.
# Skipped steps take no time and are left out; so are lines after TEND.
phases() {
  awk -v t0="$3" -v tend="$4" '
    { t = $1 + 0; line = substr($0, length($1) + 2) }
    t > tend { next }
    line ~ /^git-osa: / && line !~ /: skipped \(/ {
      if (n) d[n] = t - s[n]; else first = t - t0
      n++; s[n] = t; title[n] = substr(line, 10, 90)
    }
    END {
      printf "0\t%d\t(git-osa starting: survey and plan)\n", (n ? first : tend - t0) * 1000
      if (n) d[n] = tend - s[n]
      for (i = 1; i <= n; i++) printf "%d\t%d\t%s\n", i, d[i] * 1000, title[i]
    }' "$2" >>"$phases_dir/$1"
}

# print_phases NAME: each phase's median over the rounds (and each round's), in ms.
print_phases() {
  [ -s "$phases_dir/$1" ] || return 0
  awk -F '\t' '
    { k = $1; v[k] = v[k] " " $2; c[k]++; if (!(k in title)) title[k] = $3; if (k > max) max = k }
    function median(s,   a, n, i, j, x) {
      n = split(substr(s, 2), a, " ")
      for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END { for (k = 0; k <= max; k++) if (k in c) printf "  %6.0f ms  %-90s (runs:%s)\n", median(v[k]), title[k], v[k] }' "$phases_dir/$1"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
