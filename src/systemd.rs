//! Service control: what a systemd unit runs and in which state it is, read from
//! `systemctl show`, and the argv that start and stop it.
//!
//! The dev run takes the production unit's own command line, user, group, environment
//! and working directory from here ([`dev_argv`]), so nothing about how OSA runs a service
//! is hard-coded in git-osa; git-osa's own scopes are stopped with [`stop_scopes`].

use std::collections::HashMap;

/// The properties `systemctl show` is asked for.
pub const PROPERTIES: &str = "Id,LoadState,ActiveState,SubState,Type,User,Group,ExecStart,Environment,WorkingDirectory,KillSignal,KillMode,TimeoutStopUSec,RuntimeDirectory";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitInfo {
    pub id: String,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    /// The service's `Type=` (`simple`, `notify`, `oneshot`...).
    pub service_type: Option<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub exec_start: Vec<String>,
    pub environment: Vec<String>,
    pub working_directory: Option<String>,
    pub kill_signal: Option<String>,
    /// `control-group`, `mixed`, `process` or `none`.
    pub kill_mode: Option<String>,
    /// How long a stop may take before SIGKILL, as systemd prints it (`2min`, `1min 30s`,
    /// `infinity`).
    pub timeout_stop: Option<String>,
    /// Folders under /run that systemd creates for the unit (and removes when it stops).
    pub runtime_directory: Vec<String>,
}

impl UnitInfo {
    pub fn exists(&self) -> bool {
        self.load_state == "loaded"
    }

    /// A job that runs and exits (`Type=oneshot`, usually started by a timer), not a
    /// server: never run in the foreground.
    pub fn is_job(&self) -> bool {
        self.service_type.as_deref() == Some("oneshot")
    }

    pub fn active(&self) -> bool {
        self.active_state == "active" || self.active_state == "activating"
    }

    /// Its processes still run: it is active, or stopping (`deactivating`, which a dev
    /// process stays in for as long as its unit's stop takes).
    pub fn alive(&self) -> bool {
        self.active() || self.active_state == "deactivating"
    }

    /// `active (running)` as `systemctl status` shows it.
    pub fn state(&self) -> String {
        if !self.exists() {
            return self.load_state.clone();
        }
        format!("{} ({})", self.active_state, self.sub_state)
    }
}

/// Parses the output of `systemctl show -p ... UNIT...` (blocks separated by blank lines).
pub fn parse_show(text: &str) -> Vec<UnitInfo> {
    let mut units = Vec::new();
    for block in text.split("\n\n") {
        let props: HashMap<&str, &str> = block.lines().filter_map(|l| l.split_once('=')).collect();
        if props.is_empty() {
            continue;
        }
        let opt = |k: &str| {
            props
                .get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let signal = opt("KillSignal").map(|s| signal_name(&s));
        units.push(UnitInfo {
            id: opt("Id").unwrap_or_default(),
            load_state: opt("LoadState").unwrap_or_default(),
            active_state: opt("ActiveState").unwrap_or_default(),
            sub_state: opt("SubState").unwrap_or_default(),
            service_type: opt("Type"),
            user: opt("User"),
            group: opt("Group"),
            exec_start: props
                .get("ExecStart")
                .map(|v| parse_exec(v))
                .unwrap_or_default(),
            environment: props
                .get("Environment")
                .map(|v| split_words(v))
                .unwrap_or_default(),
            working_directory: opt("WorkingDirectory").filter(|w| w != "!/" && w != "/"),
            kill_signal: signal,
            kill_mode: opt("KillMode"),
            timeout_stop: opt("TimeoutStopUSec"),
            runtime_directory: props
                .get("RuntimeDirectory")
                .map(|v| split_words(v))
                .unwrap_or_default(),
        });
    }
    units
}

/// systemctl prints KillSignal as a number on older releases and as a name on newer.
fn signal_name(s: &str) -> String {
    match s {
        "1" => "SIGHUP".into(),
        "2" => "SIGINT".into(),
        "3" => "SIGQUIT".into(),
        "9" => "SIGKILL".into(),
        "15" => "SIGTERM".into(),
        other if other.starts_with("SIG") => other.into(),
        other => format!("SIG{other}"),
    }
}

/// The argv of the first command in `ExecStart={ path=... ; argv[]=... ; ... }`.
pub fn parse_exec(value: &str) -> Vec<String> {
    let Some(start) = value.find("argv[]=") else {
        return Vec::new();
    };
    let rest = &value[start + "argv[]=".len()..];
    let end = rest.find(" ; ").unwrap_or(rest.len());
    split_words(&rest[..end])
}

/// Splits a command line with systemd's (and the shell's) quoting rules: single and
/// double quotes group, backslash escapes.
pub fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Stops those of `scopes` that are active. A scope that ends on its own meanwhile (a
/// pip dying on its closed pipe) is not an error: it is what stopping it wanted.
pub fn stop_scopes(scopes: &[String]) -> Vec<String> {
    crate::exec::sh(
        r#"for u; do if systemctl is-active -q "$u"; then systemctl stop "$u"; fi; done; exit 0"#,
        "git-osa-stop",
        scopes,
    )
}

/// Kills those of `scopes` that still run (active, or still stopping), at once
/// (SIGKILL): for what a killed git-osa left behind, which nothing waits for (a dev
/// process, a pip, a copy). A graceful stop of a uWSGI that is still starting waits out
/// its unit's stop timeout.
pub fn kill_scopes(scopes: &[String]) -> Vec<String> {
    crate::exec::sh(
        r#"for u; do case $(systemctl show -p ActiveState --value "$u") in active|activating|deactivating|reloading) systemctl kill --signal=SIGKILL "$u"; systemctl stop "$u" 2>/dev/null;; esac; done; exit 0"#,
        "git-osa-kill",
        scopes,
    )
}

/// How a unit stops, as systemd stops it; its dev process gets the same: the same signal,
/// to the same processes, and as long to finish its work before SIGKILL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// The unit's KillSignal (`SIGTERM`).
    pub signal: String,
    /// `control-group` (the signal to every process of the unit) or `mixed` (to its main
    /// process, SIGKILL to the others once it ended). A unit's `process` or `none` would
    /// leave processes behind, which a dev run never does: they stop as `mixed`.
    pub mode: String,
    /// The unit's TimeoutStopSec as systemd prints it (`2min`, `1min 30s`), `infinity`
    /// when it has none.
    pub timeout: String,
}

/// systemd's own default TimeoutStopSec, for a unit that does not say.
const DEFAULT_TIMEOUT_STOP: &str = "90s";

impl Stop {
    pub fn of(info: &UnitInfo) -> Stop {
        let mode = match info.kill_mode.as_deref() {
            None | Some("control-group") => "control-group",
            Some(_) => "mixed",
        };
        Stop {
            signal: info.kill_signal.clone().unwrap_or_else(|| "SIGTERM".into()),
            mode: mode.into(),
            timeout: info
                .timeout_stop
                .clone()
                .unwrap_or_else(|| DEFAULT_TIMEOUT_STOP.into()),
        }
    }

    /// How long the stop may take before SIGKILL; None: as long as it takes.
    pub fn limit(&self) -> Option<std::time::Duration> {
        parse_timespan(&self.timeout)
    }

    /// The same stop for a transient unit, as `systemd-run` properties.
    pub fn properties(&self) -> [String; 6] {
        [
            "-p".into(),
            format!("KillSignal={}", self.signal),
            "-p".into(),
            format!("KillMode={}", self.mode),
            "-p".into(),
            format!("TimeoutStopSec={}", self.timeout),
        ]
    }

    /// What `unit`'s stop waits for, as the user is told when it starts.
    pub fn describe(&self, unit: &str) -> String {
        let whom = if self.mode == "control-group" {
            "each of its processes"
        } else {
            "its main process (SIGKILL to the others once it ended)"
        };
        let how_long = match self.limit() {
            Some(_) => format!("up to {}", self.timeout),
            None => "as long as it takes".into(),
        };
        format!(
            "{unit} gets {} on {whom} and {how_long} to finish its work",
            self.signal
        )
    }

    /// The argument [`STOP_DEV`] takes for the stop's limit: whole seconds, rounded
    /// up, or empty for none.
    fn limit_arg(&self) -> String {
        self.limit()
            .map(|d| d.as_secs_f64().ceil().to_string())
            .unwrap_or_default()
    }
}

/// A systemd time span as `systemctl show` prints it (`2min`, `1min 30s`, `500ms`,
/// `infinity`); None for `infinity` (and anything it cannot read, which waits as long as
/// it takes).
pub fn parse_timespan(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    if s.is_empty() || s == "infinity" {
        return None;
    }
    let mut total = 0f64;
    for word in s.split_whitespace() {
        let at = word
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(word.len());
        let (n, unit) = word.split_at(at);
        let n: f64 = n.parse().ok()?;
        let secs = match unit {
            "us" | "usec" => 1e-6,
            "ms" | "msec" => 1e-3,
            "" | "s" | "sec" | "second" | "seconds" => 1.0,
            "m" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "week" | "weeks" => 604_800.0,
            "M" | "month" | "months" => 2_629_800.0,
            "y" | "year" | "years" => 31_557_600.0,
            _ => return None,
        };
        total += n * secs;
    }
    (total > 0.0).then(|| std::time::Duration::from_secs_f64(total))
}

/// Stops dev scopes as their units would stop, each alongside the others, and prints
/// `killed SCOPE` for each that was still running at its limit (systemd then SIGKILLed
/// it). Its arguments come in fours: the scope, its KillMode, its KillSignal, its limit
/// in seconds (empty: none).
///
/// systemd gives a scope no main process, so for `mixed` the scope's first process (the
/// one whose parent is outside it) gets the signal here, as a service's main process
/// would, and `systemctl stop` then ends what is left.
pub const STOP_DEV: &str = r#"
now() { read -r up _ < /proc/uptime; echo "$up"; }
late() { awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { exit !(l != "" && b - a >= l - 0.2) }'; }
main_of() {
  for f in /proc/[0-9]*/cgroup; do
    grep -q "/$1\$" "$f" 2>/dev/null || continue
    p=${f#/proc/}; p=${p%/cgroup}
    pp=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
    grep -q "/$1\$" "/proc/$pp/cgroup" 2>/dev/null || { echo "$p"; return; }
  done
}
stop_one() {
  u=$1 mode=$2 sig=$3 limit=$4
  systemctl is-active -q "$u" || return 0
  t0=$(now)
  if [ "$mode" = mixed ] && main=$(main_of "$u") && [ -n "$main" ]; then
    kill -s "${sig#SIG}" "$main" 2>/dev/null
    while kill -0 "$main" 2>/dev/null && ! late "$t0" "$(now)" "$limit"; do sleep 0.2; done
    kill -0 "$main" 2>/dev/null && echo "killed $u"
    systemctl kill --signal=SIGKILL "$u" 2>/dev/null
    systemctl stop "$u" 2>/dev/null
    return 0
  fi
  systemctl stop "$u"
  late "$t0" "$(now)" "$limit" && echo "killed $u"
  return 0
}
while [ $# -ge 4 ]; do stop_one "$1" "$2" "$3" "$4" & shift 4; done
wait
exit 0
"#;

/// The argv that stops `units` (scope and stop each) with [`STOP_DEV`].
pub fn stop_dev(units: &[(&str, &Stop)]) -> Vec<String> {
    let args: Vec<String> = units
        .iter()
        .flat_map(|(scope, stop)| {
            [
                scope.to_string(),
                stop.mode.clone(),
                stop.signal.clone(),
                stop.limit_arg(),
            ]
        })
        .collect();
    crate::exec::sh(STOP_DEV, "git-osa-stop-dev", &args)
}

/// Kills those of `scopes` that still run, now, and prints `killed SCOPE` for each: the
/// user asked not to wait for their stop. A scope that is stopping is `deactivating`,
/// which `systemctl is-active` does not count as running.
pub fn hurry(scopes: &[String]) -> Vec<String> {
    crate::exec::sh(
        r#"for u; do case $(systemctl show -p ActiveState --value "$u") in active|activating|deactivating|reloading) systemctl kill --signal=SIGKILL "$u" && echo "killed $u";; esac; done; exit 0"#,
        "git-osa-hurry",
        scopes,
    )
}

/// The argv that runs `info`'s command like systemd would, in a scope named `scope`: in
/// the unit's working directory (`/` by default, as systemd's), as
/// the unit's user through systemd-run's own `--uid`/`--gid` (no wrapper process of its
/// own between the scope and the server, such as runuser, which kills its child two
/// seconds after a SIGTERM), stopped as the unit is ([`Stop`]).
pub fn dev_argv(info: &UnitInfo, scope: &str) -> Vec<String> {
    let user = info.user.clone().unwrap_or_else(|| "root".into());
    let mut argv = crate::exec::scope_prefix(scope);
    argv.extend(Stop::of(info).properties());
    argv.push(format!("--uid={user}"));
    if let Some(g) = &info.group {
        argv.push(format!("--gid={g}"));
    }
    // The unit's working directory, else systemd's for a system unit, `/`: never where
    // the command happens to start (over ssh, root's home, which the unit's user cannot
    // read, and uWSGI puts `.` on sys.path).
    let wd = info.working_directory.as_deref().unwrap_or("/");
    argv.extend([
        "--".into(),
        "env".into(),
        "-C".into(),
        wd.trim_start_matches(['-', '!', '~']).to_string(),
    ]);
    argv.push("PYTHONUNBUFFERED=1".into());
    argv.extend(info.environment.iter().cloned());
    argv.extend(info.exec_start.iter().cloned());
    argv
}

/// The argv that starts `info`'s command as the transient service `service`: the same
/// command, user, group, environment and working directory as the production unit, set
/// as systemd properties rather than through `runuser`, so that the service's main
/// process is the server itself (a `Type=notify` server such as uWSGI then tells systemd
/// when it is ready, and `systemd-run` returns at that moment). Its output goes to the
/// journal under `service`; it outlives the terminal that started it.
pub fn detached_argv(info: &UnitInfo, service: &str) -> Vec<String> {
    // A forking or oneshot server would not stay the service's main process.
    let kind = info
        .service_type
        .as_deref()
        .filter(|t| matches!(*t, "simple" | "exec" | "notify"))
        .unwrap_or("exec");
    let mut argv: Vec<String> = vec![
        "systemd-run".into(),
        "--quiet".into(),
        "--collect".into(),
        format!("--unit={service}"),
        format!("--service-type={kind}"),
        format!("--uid={}", info.user.as_deref().unwrap_or("root")),
    ];
    if let Some(g) = &info.group {
        argv.push(format!("--gid={g}"));
    }
    if let Some(wd) = &info.working_directory {
        argv.push(format!(
            "--working-directory={}",
            wd.trim_start_matches(['-', '!', '~'])
        ));
    }
    argv.extend(Stop::of(info).properties());
    argv.push("--setenv=PYTHONUNBUFFERED=1".into());
    argv.extend(info.environment.iter().map(|e| format!("--setenv={e}")));
    argv.push("--".into());
    argv.extend(info.exec_start.iter().cloned());
    argv
}

/// Makes a detached uWSGI unit reloadable in place: systemd gives it a runtime folder of
/// its user's, and uWSGI listens on a master FIFO there, where `w` gracefully reloads the
/// workers. With lazy-apps the workers load the app, never the master, so new workers run
/// the new code; the master keeps the listening socket, so a request that comes while they
/// load waits for them instead of being refused, and HAProxy's pins stay as they are.
/// OSA's `exit-on-reload` only concerns a reload of the master, which this is not.
///
/// With git-osa's `preload` script (`uwsgi_preload.py`), the master imports every
/// module the app imports except the code under development before it forks, so a new
/// worker imports only that: keystone's workers load in about 0.4 s instead of 2 s. The
/// workers then end without tearing the interpreter down (`--skip-atexit-teardown`):
/// finalizing two thousand modules held each reload about a second.
///
/// uWSGI guards against a fork bomb: when more workers than it has are respawned, each
/// within a second of the one before, its master sleeps two seconds, FIFO and all. Two
/// syncs a second apart (two saves under `watch`) are just that: the second reload and
/// the one after it waited those two seconds. Here every respawn is a reload git-osa
/// asked for, so the master does not sleep (`--forkbomb-delay 0`); a worker that fails
/// to load the app still ends the unit (OSA's `need-app`), as without it.
///
/// Each worker that has loaded the app and accepts requests adds a line to `accepting`
/// beside the FIFO (`--hook-accepting`): [`RELOAD_WORKERS`] counts them.
/// Options given on the command line after `--ini` add to the ini.
pub fn reloadable_uwsgi(argv: &mut Vec<String>, runtime_dir: &str, fifo: &str, preload: &str) {
    if let Some(at) = argv.iter().position(|a| a == "--") {
        argv.insert(at, format!("--property=RuntimeDirectory={runtime_dir}"));
    }
    argv.extend([
        "--lazy-apps".to_string(),
        "--master-fifo".into(),
        fifo.to_string(),
        "--shared-import".into(),
        preload.to_string(),
        "--skip-atexit-teardown".into(),
        "--forkbomb-delay".into(),
        "0".into(),
        "--hook-accepting".into(),
        format!(
            "appendn:{}/accepting",
            fifo.rsplit_once('/').map_or(".", |(dir, _)| dir)
        ),
    ]);
}

/// Has a dev uWSGI's workers load the app with Python's garbage collector off, on again
/// once the app has loaded (`uwsgi_app_load.py`, imported just before the app):
/// keystone's app imported in 1.24 s instead of 1.87 s. An ini's own imports come first.
pub fn collector_quiet_uwsgi(argv: &mut Vec<String>, app_load: &str) {
    argv.extend(["--import".to_string(), app_load.to_string()]);
}

/// The script a dev uWSGI's workers import before the app (`--import`): see its comments.
pub const UWSGI_APP_LOAD: &str = concat!(
    include_str!("uwsgi_app.py"),
    include_str!("uwsgi_app_load.py")
);

/// How long a dev uWSGI worker may take to end once its master asks (a stop, a reload).
/// A worker still loading the app when the master stops ignores the request until
/// uWSGI's mercy runs out, 60 s by default: a Ctrl-C right after the first worker
/// served, while the second still loaded, took 62 s to end the run. uWSGI's stop signal
/// (SIGQUIT) ends the workers without finishing their requests in any case.
pub const UWSGI_WORKER_MERCY_SECS: u32 = 5;

/// Bounds how long a dev uWSGI's workers may take to end ([`UWSGI_WORKER_MERCY_SECS`]).
pub fn merciful_uwsgi(argv: &mut Vec<String>) {
    argv.extend([
        "--worker-reload-mercy".to_string(),
        UWSGI_WORKER_MERCY_SECS.to_string(),
    ]);
}

/// Gives a detached uWSGI unit git-osa's hot-patch agent (`hot_patch.py`), run by its
/// master after the preload, and the threads its workers answer the agent's requests in.
/// A request's environ is a new dict each time (`holy`): uWSGI's default reuses one and
/// fails the request ("unable to set environ") when anything else holds it, as the
/// agent's walk of the garbage collector's objects does for a moment.
pub fn hot_patching_uwsgi(argv: &mut Vec<String>, agent: &str) {
    argv.extend([
        "--shared-import".to_string(),
        agent.to_string(),
        "--enable-threads".into(),
        "--wsgi-env-behaviour".into(),
        "holy".into(),
    ]);
}

/// The script a detached uWSGI unit's master runs (`--shared-import`): see its comments.
pub const UWSGI_PRELOAD: &str = concat!(
    include_str!("uwsgi_app.py"),
    include_str!("uwsgi_preload.py")
);

/// Shell functions that find a unit's processes without `systemctl` (whose start cost
/// 7-20 ms in the lab's containers, on the critical path of a reload and a hot patch):
/// `master_of UNIT` sets `master` to the unit's main process (of the processes whose
/// cgroup ends in `/UNIT`, the one whose parent is not among them) or fails when none
/// runs; `children_of " PIDS "` sets `kids` to the processes whose parent is one of PIDS;
/// `ppid_of PID` sets `pp` to its parent or fails when it is gone. Reads /proc only,
/// with the shell's own `read`: no process is started.
macro_rules! unit_processes {
    () => {
        r#"
ppid_of() {
  local st
  { read -r st < "/proc/$1/stat"; } 2>/dev/null || return 1
  set -- ${st##*) }
  pp=$2
}
master_of() {
  local procs d l p
  procs=" "
  for d in /proc/[0-9]*; do
    { while IFS= read -r l; do
        case $l in */"$1") procs="$procs${d#/proc/} "; break ;; esac
      done < "$d/cgroup"; } 2>/dev/null
  done
  master=
  for p in $procs; do
    ppid_of "$p" || continue
    case $procs in *" $pp "*) ;; *) master=$p ;; esac
  done
  [ -n "$master" ]
}
children_of() {
  local d
  kids=
  for d in /proc/[0-9]*; do
    ppid_of "${d#/proc/}" || continue
    case $1 in *" $pp "*) kids="$kids ${d#/proc/}" ;; esac
  done
}
"#
    };
}
pub(crate) use unit_processes;

/// In the container: reloads the workers of the uWSGI unit `$2` through its master FIFO
/// `$1` and waits until as many new workers as the master had (its children) have
/// loaded the app and accept requests: each says so by a line in the `accepting` file
/// beside the FIFO ([`reloadable_uwsgi`]'s hook). Its journal is followed meanwhile, for
/// a worker that could not load the app or a unit that ended, and for a unit started by
/// a git-osa without that hook, whose workers are counted ready from the journal. The
/// journal alone is late: journald tells its followers of new lines only every quarter
/// second, and a reload waited 0.3 s more than its workers took. Exits 4 when the unit
/// cannot reload (no FIFO: started by an older git-osa), 6 when its master holds some of
/// the dev code (the preload says so beside the FIFO), 3 when a new worker could not
/// load the app or the unit ended, 5 after a minute.
///
/// The FIFO is opened without creating it (`dd conv=nocreat`): the master makes it anew
/// after each writer, and a redirection landing in between would leave a plain file in
/// its place. The master notices its old workers' end only at its next check, up to a
/// second later; a newline, which is no command, wakes it at once, so one is sent every
/// 50 ms until the new workers are there.
pub const RELOAD_WORKERS: &str = concat!(
    unit_processes!(),
    r#"
fifo=$1; unit=$2
ready=${fifo%/*}/accepting
[ -p "$fifo" ] || exit 4
[ -e "${fifo%/*}/master-holds-dev-code" ] && exit 6
master_of "$unit" || exit 4
children_of " $master "
set -- $kids
workers=$#
before=-1
[ -f "$ready" ] && before=$(wc -l < "$ready")
cursor=$(journalctl -u "$unit" -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
[ -n "$cursor" ] || exit 4
tmp=$(mktemp -d) || exit 1
mkfifo "$tmp/journal"
journalctl -u "$unit" -f -o cat --no-pager --after-cursor="$cursor" > "$tmp/journal" & j=$!
( timeout 60 awk '
  { last[NR % 20] = $0 }
  /failed loading app|GAME OVER|Main process exited|Failed with result|Deactivated successfully/ {
    for (i = NR - 19; i <= NR; i++) if (i > 0) print last[i % 20] > "/dev/stderr"
    exit 3
  }
  /^Respawned uWSGI worker/ { respawned++ }
  /^WSGI app .* ready in / { ready++ }
  respawned > 0 && ready >= respawned { exit 0 }
' < "$tmp/journal"; echo $? > "$tmp/rc.new"; mv "$tmp/rc.new" "$tmp/rc" ) & a=$!
if ! printf w | timeout 5 dd of="$fifo" conv=nocreat status=none; then
  kill "$j" "$a" 2>/dev/null; rm -rf "$tmp"; exit 4
fi
( while sleep 0.05; do echo | timeout 1 dd of="$fifo" conv=nocreat status=none 2>/dev/null; done ) & w=$!
while :; do
  if [ -f "$tmp/rc" ]; then rc=$(cat "$tmp/rc"); break; fi
  # The file goes with the runtime folder when the unit ends: the journal says why.
  if [ "$before" -ge 0 ] && [ "$workers" -gt 0 ] && [ $(($(wc -l 2>/dev/null < "$ready") - before)) -ge "$workers" ]; then
    rc=0; break
  fi
  sleep 0.02
done
kill "$w" "$j" 2>/dev/null; wait "$a" 2>/dev/null; rm -rf "$tmp"
case $rc in 0|3) exit "$rc" ;; *) exit 5 ;; esac
"#
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The shell functions of the reload and the hot patch, run by the host's `sh`: a
    /// shell's children, its parent, and no main process for a unit that does not run.
    #[test]
    fn the_unit_process_functions_read_proc_as_ps_would() {
        let script = concat!(
            unit_processes!(),
            r#"
sleep 30 & a=$!
sleep 30 & b=$!
children_of " $$ "
kill "$a" "$b"
echo "started $a $b"
echo "kids$kids"
ppid_of $$ && echo "parent $pp"
wait
ppid_of "$a" && echo "gone $pp"
master_of git-osa-no-such-unit.service && echo "master $master"
exit 0
"#
        );
        let out = std::process::Command::new("sh")
            .args(["-c", script, "test"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let words = |key: &str| -> Vec<String> {
            let mut w: Vec<String> = text
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect();
            w.sort();
            w
        };
        assert_eq!(words("started "), words("kids"), "{text}");
        assert_eq!(words("started ").len(), 2, "{text}");
        assert_eq!(words("parent "), [std::process::id().to_string()], "{text}");
        assert!(
            !text.contains("gone ") && !text.contains("master "),
            "{text}"
        );
    }

    const SHOW: &str = "Id=keystone-wsgi-public.service\n\
LoadState=loaded\nActiveState=active\nSubState=running\nUser=keystone\nGroup=keystone\n\
ExecStart={ path=/openstack/venvs/uwsgi-30.0.0-python3/bin/uwsgi ; argv[]=/openstack/venvs/uwsgi-30.0.0-python3/bin/uwsgi --autoload --ini /etc/uwsgi/keystone-wsgi-public.ini ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n\
Environment=PYTHONUNBUFFERED=1 \"GREETING=hello world\"\nWorkingDirectory=!/\nKillSignal=3\nKillMode=control-group\nTimeoutStopUSec=1min 30s\n\n\
Id=heat-engine.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUser=\nGroup=\nExecStart=\nEnvironment=\nWorkingDirectory=\nKillSignal=15\n";

    #[test]
    fn parses_units_from_one_show_call() {
        let units = parse_show(SHOW);
        assert_eq!(units.len(), 2);
        let ks = &units[0];
        assert_eq!(ks.id, "keystone-wsgi-public.service");
        assert!(ks.exists() && ks.active());
        assert_eq!(ks.state(), "active (running)");
        assert_eq!(ks.user.as_deref(), Some("keystone"));
        assert_eq!(
            ks.exec_start,
            [
                "/openstack/venvs/uwsgi-30.0.0-python3/bin/uwsgi",
                "--autoload",
                "--ini",
                "/etc/uwsgi/keystone-wsgi-public.ini"
            ]
        );
        assert_eq!(
            ks.environment,
            ["PYTHONUNBUFFERED=1", "GREETING=hello world"]
        );
        assert_eq!(ks.working_directory, None);
        assert_eq!(ks.kill_signal.as_deref(), Some("SIGQUIT"));
        assert_eq!(ks.kill_mode.as_deref(), Some("control-group"));
        assert_eq!(ks.timeout_stop.as_deref(), Some("1min 30s"));
        let heat = &units[1];
        assert!(!heat.exists());
        assert_eq!(heat.state(), "not-found");
        assert!(heat.exec_start.is_empty() && heat.user.is_none());
    }

    #[test]
    fn quoted_arguments_stay_whole() {
        assert_eq!(
            split_words(r#"uwsgi --pyargv "--config-file /etc/neutron/neutron.conf" 'a b' c\ d"#),
            [
                "uwsgi",
                "--pyargv",
                "--config-file /etc/neutron/neutron.conf",
                "a b",
                "c d"
            ]
        );
        assert_eq!(split_words("  "), Vec::<String>::new());
        assert_eq!(split_words("''"), [""]);
    }

    #[test]
    fn a_reloadable_uwsgi_gets_its_runtime_folder_from_systemd_and_its_fifo_from_the_command_line()
    {
        let mut argv: Vec<String> = [
            "systemd-run",
            "--unit=x.service",
            "--",
            "uwsgi",
            "--ini",
            "k.ini",
        ]
        .map(String::from)
        .to_vec();
        reloadable_uwsgi(
            &mut argv,
            "git-osa-dev-k",
            "/run/git-osa-dev-k/master.fifo",
            "/var/lib/git-osa/k/uwsgi-preload.py",
        );
        assert_eq!(
            argv.join(" "),
            "systemd-run --unit=x.service --property=RuntimeDirectory=git-osa-dev-k -- uwsgi --ini k.ini --lazy-apps --master-fifo /run/git-osa-dev-k/master.fifo --shared-import /var/lib/git-osa/k/uwsgi-preload.py --skip-atexit-teardown --forkbomb-delay 0 --hook-accepting appendn:/run/git-osa-dev-k/accepting"
        );
    }

    #[test]
    fn dev_argv_keeps_the_units_command_user_and_environment() {
        let info = UnitInfo {
            user: Some("keystone".into()),
            group: Some("keystone".into()),
            exec_start: vec![
                "/v/bin/uwsgi".into(),
                "--ini".into(),
                "/etc/uwsgi/k.ini".into(),
            ],
            environment: vec!["A=1".into()],
            kill_signal: Some("SIGQUIT".into()),
            working_directory: Some("-/var/lib/keystone".into()),
            ..Default::default()
        };
        let argv = dev_argv(&info, "git-osa-dev-k.scope");
        assert_eq!(
            argv.join(" "),
            "systemd-run --scope --quiet --collect --unit=git-osa-dev-k.scope \
             -p KillSignal=SIGQUIT -p KillMode=control-group -p TimeoutStopSec=90s \
             --uid=keystone --gid=keystone -- env -C /var/lib/keystone PYTHONUNBUFFERED=1 A=1 /v/bin/uwsgi --ini /etc/uwsgi/k.ini"
        );
        assert!(
            !argv.iter().any(|a| a == "runuser" || a == "su"),
            "no wrapper of its own between the scope and the server: {argv:?}"
        );
    }

    /// Regression: the dev process was stopped with `TimeoutStopSec=15` and `runuser`
    /// killed it two seconds after SIGTERM, while its unit gives it two minutes.
    #[test]
    fn the_dev_process_stops_as_its_unit_stops() {
        let engine = UnitInfo {
            kill_signal: Some("SIGTERM".into()),
            kill_mode: Some("control-group".into()),
            timeout_stop: Some("2min".into()),
            ..Default::default()
        };
        let stop = Stop::of(&engine);
        assert_eq!(
            stop.properties().join(" "),
            "-p KillSignal=SIGTERM -p KillMode=control-group -p TimeoutStopSec=2min"
        );
        assert_eq!(stop.limit(), Some(std::time::Duration::from_secs(120)));
        assert_eq!(
            stop.describe("heat-engine"),
            "heat-engine gets SIGTERM on each of its processes and up to 2min to finish its work"
        );
        let mixed = Stop::of(&UnitInfo {
            kill_mode: Some("process".into()),
            timeout_stop: Some("infinity".into()),
            ..Default::default()
        });
        assert_eq!(mixed.mode, "mixed", "nothing of a dev run is left behind");
        assert_eq!(mixed.limit(), None);
        assert_eq!(
            mixed.describe("x"),
            "x gets SIGTERM on its main process (SIGKILL to the others once it ended) and as long as it takes to finish its work"
        );
        assert_eq!(
            stop_dev(&[("git-osa-dev-heat-engine.scope", &stop), ("s", &mixed)])[4..],
            [
                "git-osa-dev-heat-engine.scope",
                "control-group",
                "SIGTERM",
                "120",
                "s",
                "mixed",
                "SIGTERM",
                ""
            ]
        );
    }

    #[test]
    fn time_spans_as_systemctl_prints_them() {
        let secs = |s: &str| parse_timespan(s).map(|d| d.as_secs_f64());
        assert_eq!(secs("2min"), Some(120.0));
        assert_eq!(secs("1min 30s"), Some(90.0));
        assert_eq!(secs("500ms"), Some(0.5));
        assert_eq!(secs("1h 2min 3s"), Some(3723.0));
        assert_eq!(secs("infinity"), None);
        assert_eq!(secs("soon"), None);
    }

    #[test]
    fn a_detached_unit_is_the_production_command_under_systemds_own_user_and_environment() {
        let info = UnitInfo {
            service_type: Some("notify".into()),
            user: Some("keystone".into()),
            group: Some("keystone".into()),
            exec_start: vec!["/v/bin/uwsgi".into(), "--ini".into(), "/etc/k.ini".into()],
            environment: vec!["GREETING=hello world".into()],
            kill_signal: Some("SIGQUIT".into()),
            timeout_stop: Some("2min".into()),
            working_directory: Some("-/var/lib/keystone".into()),
            ..Default::default()
        };
        assert_eq!(
            detached_argv(&info, "git-osa-dev-k.service"),
            [
                "systemd-run",
                "--quiet",
                "--collect",
                "--unit=git-osa-dev-k.service",
                "--service-type=notify",
                "--uid=keystone",
                "--gid=keystone",
                "--working-directory=/var/lib/keystone",
                "-p",
                "KillSignal=SIGQUIT",
                "-p",
                "KillMode=control-group",
                "-p",
                "TimeoutStopSec=2min",
                "--setenv=PYTHONUNBUFFERED=1",
                "--setenv=GREETING=hello world",
                "--",
                "/v/bin/uwsgi",
                "--ini",
                "/etc/k.ini"
            ]
        );
        let forking = UnitInfo {
            service_type: Some("forking".into()),
            exec_start: vec!["/bin/x".into()],
            ..Default::default()
        };
        let argv = detached_argv(&forking, "s");
        assert!(argv.contains(&"--service-type=exec".to_string()));
        assert!(argv.contains(&"--uid=root".to_string()));
    }

    /// The app-load script as a uWSGI worker imports it before the app, with the host's
    /// Python: the app's packages and module load with the collector off, and it is on
    /// again once the app has loaded, or failed to load (in the module or a package above
    /// it), with the load's own error; an app given as a file is left as it is.
    #[test]
    fn the_app_loads_with_the_collector_off_and_it_is_on_again_however_the_load_ends() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        let record = "import gc, sys\nsys.modules['record'].seen[__name__] = gc.isenabled()\n";
        let files: &[(&str, String)] = &[
            (
                "uwsgi.py",
                "import json, os\nopt = {k: v.encode() for k, v in json.loads(os.environ['OPT']).items()}\n".into(),
            ),
            ("record.py", "seen = {}\n".into()),
            ("good/__init__.py", record.into()),
            ("good/api.py", format!("{record}application = object()\n")),
            ("bad/__init__.py", record.into()),
            ("bad/api.py", format!("{record}raise RuntimeError('the app is broken')\n")),
            ("broken/__init__.py", format!("{record}raise ValueError('the package is broken')\n")),
            ("app_load.py", UWSGI_APP_LOAD.into()),
            // As the hot-patch agent's finder: asks the finders after it, this one too,
            // and gives the dev code a loader of its own.
            (
                "agent.py",
                "import sys\nfrom importlib.machinery import SourceFileLoader\n\
                 class Own(SourceFileLoader):\n    pass\n\
                 class Agent:\n    busy = False\n\
                 \x20   def find_spec(self, name, path=None, target=None):\n\
                 \x20       if self.busy:\n            return None\n\
                 \x20       self.busy = True\n\
                 \x20       try:\n\
                 \x20           for f in sys.meta_path:\n\
                 \x20               if f is self or not hasattr(f, 'find_spec'):\n                    continue\n\
                 \x20               spec = f.find_spec(name, path, target)\n\
                 \x20               if spec is not None:\n\
                 \x20                   if type(spec.loader) is SourceFileLoader:\n\
                 \x20                       spec.loader = Own(spec.loader.name, spec.loader.path)\n\
                 \x20                   return spec\n\
                 \x20       finally:\n            self.busy = False\n\
                 sys.meta_path.insert(0, Agent())\n"
                    .into(),
            ),
        ];
        for (path, text) in files {
            let path = site.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        // As uWSGI's `--import` of a file, then its load of the app's module.
        let driver = "import gc, importlib, json, sys\n\
            sys.path[:0] = [sys.argv[1]]\n\
            import record\n\
            if len(sys.argv) > 3:\n    import agent\n\
            import app_load\n\
            err = None\n\
            try:\n    importlib.import_module(sys.argv[2])\n\
            except Exception as e:\n    err = repr(e)\n\
            print(json.dumps({'seen': record.seen, 'after': gc.isenabled(), 'err': err,\n\
                'finders': [type(f).__name__ for f in sys.meta_path if type(f).__name__ == 'Around']}))\n";
        let load_with = |opt: serde_json::Value, module: &str, agent: bool| {
            let out = std::process::Command::new("python3")
                .args(["-c", driver])
                .arg(&site)
                .arg(module)
                .args(agent.then_some("agent"))
                .env("OPT", opt.to_string())
                .output()
                .expect("python3 runs (the host's, as on the lab's machines)");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
        };
        let load = |opt, module: &str| load_with(opt, module, false);
        let wsgi = |app: &str| serde_json::json!({ "wsgi": format!("{app}:application") });

        let got = load(wsgi("good.api"), "good.api");
        assert_eq!(
            got,
            serde_json::json!({
                "seen": {"good": false, "good.api": false},
                "after": true, "err": null, "finders": []
            })
        );
        let got = load(wsgi("bad.api"), "bad.api");
        assert_eq!(
            got["seen"],
            serde_json::json!({"bad": false, "bad.api": false})
        );
        assert_eq!(got["after"], true);
        assert_eq!(got["err"], "RuntimeError('the app is broken')");
        assert_eq!(got["finders"], serde_json::json!([]));
        let got = load(wsgi("broken.api"), "broken.api");
        assert_eq!(got["seen"], serde_json::json!({"broken": false}));
        assert_eq!(got["after"], true);
        assert_eq!(got["err"], "ValueError('the package is broken')");
        assert_eq!(got["finders"], serde_json::json!([]));
        // Behind a finder that asks the others, and replaces the loader they found.
        let got = load_with(wsgi("good.api"), "good.api", true);
        assert_eq!(
            got,
            serde_json::json!({
                "seen": {"good": false, "good.api": false},
                "after": true, "err": null, "finders": []
            })
        );
        // A file uWSGI loads itself: no finder would see its end, so nothing changes.
        let got = load(serde_json::json!({ "wsgi-file": "/x/good.py" }), "good.api");
        assert_eq!(
            got["seen"],
            serde_json::json!({"good": true, "good.api": true})
        );
        assert_eq!(got["after"], true);
    }

    /// The preload as a uWSGI master runs it, with the host's Python: an app that imports
    /// a plain library, a library that needs the dev code, one that takes it optionally,
    /// and the dev code itself (under the script's folder, as git-osa syncs it); then an
    /// app whose library loads a dev file by its path, past any finder.
    #[test]
    fn the_preload_imports_the_apps_libraries_and_nothing_that_reaches_the_dev_code() {
        let tmp = tempfile::tempdir().unwrap();
        let session = tmp.path().join("session");
        let dev = session.join("src");
        let run = tmp.path().join("run");
        let files: &[(&str, &str)] = &[
            (
                "site/uwsgi.py",
                "import json, os\nopt = {k: v.encode() for k, v in json.loads(os.environ['OPT']).items()}\n",
            ),
            ("site/plain/__init__.py", "VALUE = 1\n"),
            ("site/plain/sub.py", "VALUE = 2\n"),
            ("site/libhard.py", "import devpkg\n"),
            (
                "site/libopt.py",
                "try:\n    import devpkg\n    HAVE = True\nexcept ImportError:\n    HAVE = False\n",
            ),
            (
                "site/appmod.py",
                "import plain\nimport libopt\ntry:\n    import libhard\nexcept ImportError:\n    pass\nimport devpkg\nimport plain.sub\napplication = devpkg.app\n",
            ),
            (
                "site/sneaky.py",
                "import importlib.util, os, sys\n\
                 spec = importlib.util.spec_from_file_location('devsneak', os.path.join(os.environ['DEV'], 'devsneak.py'))\n\
                 m = importlib.util.module_from_spec(spec)\nsys.modules['devsneak'] = m\nspec.loader.exec_module(m)\n",
            ),
            (
                "site/appsneaky.py",
                "import plain\nimport sneaky\napplication = None\n",
            ),
            ("session/src/devpkg/__init__.py", "app = object()\n"),
            ("session/src/devsneak.py", "X = 1\n"),
        ];
        for (path, text) in files {
            let path = tmp.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::create_dir_all(&run).unwrap();
        let script = session.join("uwsgi-preload.py");
        std::fs::write(&script, UWSGI_PRELOAD).unwrap();
        // As uWSGI's `--shared-import` of a file: compiled, run as a module named after it.
        let driver = "import importlib.util, json, sys\n\
            sys.path[:0] = [sys.argv[1], sys.argv[2]]\n\
            spec = importlib.util.spec_from_file_location('preload', sys.argv[3])\n\
            spec.loader.exec_module(importlib.util.module_from_spec(spec))\n\
            names = ['plain', 'plain.sub', 'libopt', 'libhard', 'devpkg', 'appmod', 'devsneak']\n\
            got = {n: n in sys.modules for n in names}\n\
            import gc\n\
            got['frozen'] = gc.get_freeze_count() > 0\n\
            got['collecting'] = gc.isenabled()\n\
            print(json.dumps(got))\n";
        let preload = |app: &str| {
            let opt = serde_json::json!({
                "wsgi": format!("{app}:application"),
                "master-fifo": run.join("master.fifo"),
            });
            let out = std::process::Command::new("python3")
                .args(["-c", driver])
                .arg(tmp.path().join("site"))
                .arg(&dev)
                .arg(&script)
                .env("OPT", opt.to_string())
                .env("DEV", &dev)
                .output()
                .expect("python3 runs (the host's, as on the lab's machines)");
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "{err}");
            let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            (got, err)
        };
        let mark = run.join("master-holds-dev-code");

        let (got, err) = preload("appmod");
        assert_eq!(
            got,
            serde_json::json!({
                "plain": true, "plain.sub": true, "libopt": false, "libhard": false,
                "devpkg": false, "appmod": false, "devsneak": false,
                "frozen": true, "collecting": true
            }),
            "{err}"
        );
        assert!(
            err.contains("git-osa: the uWSGI master preloaded 2 modules in ")
                && err.contains(" s (frozen for the garbage collector); "),
            "{err}"
        );
        assert!(!err.contains("imported the dev code"), "{err}");
        assert!(!mark.exists());

        // Past the finder: said, and marked beside the FIFO, so a sync restarts instead.
        let (got, err) = preload("appsneaky");
        assert_eq!(got["devsneak"], true, "{err}");
        // Its objects stay collectable: the unit restarts on each sync, and a hot patch
        // must find every function of the dev code.
        assert_eq!(got["frozen"], false, "{err}");
        assert_eq!(got["collecting"], true, "{err}");
        assert!(
            err.contains("git-osa: the uWSGI master imported the dev code (devsneak): a sync restarts this unit"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&mark).unwrap(), "devsneak\n");
    }
}
