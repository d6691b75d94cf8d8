//! Putting production back, from the session record alone (so it works after git-osa was
//! killed, and with no network): [`read_now`] reads what runs, [`plan_restore`] turns the
//! record and that into steps that each undo one kind of change; the runner runs them
//! (`Runner::restore`), for `git osa restore`, `git osa run --restore-on-exit` and the end
//! of a `git osa watch` that started its session.

use crate::catalog::Unit;
use crate::db_undo;
use crate::error::Result;
use crate::exec::Exec;
use crate::haproxy::ServerRef;
use crate::haproxy::{Change, Haproxy, Server, State, servers_of};
use crate::inventory::Host;
use crate::layout::{self, Paths};
use crate::plan::{Action, Step};
use crate::probe;
use crate::session::Session;
use crate::session::record::{Record, Undone};
use crate::systemd;
use crate::transport::Target;

/// Restarts the units and checks that each runs a new process (its main pid changed),
/// started after the production venv went back: a unit that is already active (the
/// container restarted in dev mode, and the enabled unit started from the dev install)
/// must not be left running the dev code.
const RESTART: &str = r#"
pids() { for u; do systemctl show -p MainPID --value "$u"; done; }
old=$(pids "$@")
systemctl restart "$@" || exit 1
new=$(pids "$@")
stale=
for u; do
  o=${old%%
*}; old=${old#*
}
  n=${new%%
*}; new=${new#*
}
  if [ "$n" = 0 ] || [ "$n" = "$o" ]; then stale="$stale $u"; fi
done
[ -z "$stale" ] || { echo "still running a process from before the production venv went back:$stale" >&2; exit 1; }
"#;

/// Puts the kept production venv (`$2`) back at `$1`: the dev venv is renamed aside to
/// `$5.PID` (removed in the background while production starts, [`REMOVE_ASIDE`]), then
/// the kept one renamed into place, so neither is copied nor removed on the way. A rename
/// only: where the dev venv cannot be renamed (an overlay's lower folder), it is removed
/// here. Without the kept venv, the venv is production's when the snapshot never finished
/// (the install waits for it) or when an earlier restore already moved it back; but a
/// venv holding an editable install has lost its production copy: that is said, not
/// passed over.
const VENV_BACK: &str = r#"
if [ -d "$2" ]; then
  if [ -e "$1" ]; then
    # mv would copy what it cannot rename: python3's os.rename never does.
    python3 -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$1" "$5.$$" 2>/dev/null || rm -rf "$1" || exit 1
  fi
  mv "$2" "$1" || exit 1
elif [ "$3" = kept ]; then
  for f in "$1"/lib/python3*/site-packages/__editable__*.pth "$1"/lib/python3*/site-packages/*.egg-link; do
    if [ -e "$f" ]; then
      echo "the copy of the production venv ($2) is gone and $1 holds the dev install ($f): rebuild it with \`openstack-ansible openstack.osa.$4 -e venv_rebuild=true\`" >&2
      exit 1
    fi
  done
fi
rm -rf "$2.tmp"
"#;

/// Removes the dev venvs set aside (`$1.*`: this restore's, and any a killed one left).
const REMOVE_ASIDE: &str =
    r#"for d in "$1".*; do [ ! -e "$d" ] || nice -n 19 rm -rf -- "$d" || exit 1; done"#;

/// Removes the drop-ins (files, then the folders git-osa created, marked with a trailing
/// `/`) and checks that none is left.
const REMOVE_DROPINS: &str = r#"
for f; do case $f in */) rmdir "$f" 2>/dev/null || true;; *) rm -f "$f";; esac; done
for f; do case $f in */) ;; *) [ ! -e "$f" ] || { echo "$f is still there" >&2; exit 1; };; esac; done
"#;

/// What restore reads before it plans: which of git-osa's scopes run now, and HAProxy.
#[derive(Debug, Default)]
pub struct Now {
    /// git-osa's scopes (dev processes, long steps) that are active.
    pub running: Vec<String>,
    /// Of those, dev processes a killed git-osa left still stopping (their unit's stop
    /// under way): killed, so work they had under way is cut.
    pub stopping: Vec<String>,
    /// A db sync a killed git-osa left running: waited for, never stopped.
    pub db_sync: Option<String>,
    pub servers: Vec<Server>,
    /// What undoing the session's migrations takes, when it took a database snapshot
    /// and noted its rows (read now: others write to the database until restore).
    pub db_undo: Option<db_undo::Report>,
}

/// Every scope a session of `service` may have left running.
pub fn scopes_of(s: &Session, paths: &Paths) -> Vec<String> {
    let mut scopes: Vec<String> = s.dev_units.clone();
    scopes.extend(s.stopped_units.iter().map(|u| layout::dev_scope(u)));
    scopes.extend(s.stopped_units.iter().map(|u| layout::dev_service(u)));
    // A git-osa killed mid-step may have left its pip or copy running: stop it before
    // the venv is touched.
    scopes.push(paths.step_scope());
    scopes.push(paths.keep_scope());
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Reads what runs now: done at restore time, not earlier (restore-on-exit comes after a
/// run).
pub fn read_now(
    target: &Target,
    haproxy: &Haproxy,
    s: &Session,
    paths: &Paths,
    discard: bool,
) -> Result<Now> {
    let scopes = scopes_of(s, paths);
    let dbsync = paths.dbsync_scope();
    let mut ask = scopes.clone();
    ask.push(dbsync.clone());
    let p = probe::probe(target, &ask, &[], "")?;
    let alive = |u: &String| p.unit(u).is_some_and(|i| i.alive());
    let stopping = scopes
        .iter()
        .filter(|u| s.dev_units.contains(u) || u.starts_with("git-osa-dev-"))
        .filter(|u| p.unit(u).is_some_and(|i| !i.active() && i.alive()))
        .cloned()
        .collect();
    let running = scopes.into_iter().filter(alive).collect();
    let db_sync = alive(&dbsync).then_some(dbsync);
    // Servers to put back need HAProxy; without any, its health is only waited for when
    // it can be read.
    let servers = match haproxy.servers() {
        Ok(servers) => servers,
        Err(_) if s.disabled_servers.is_empty() => Vec::new(),
        Err(e) => {
            return Err(e
                .hint(format!(
                    "restore must put {} back into rotation",
                    s.disabled_servers
                        .iter()
                        .map(|d| format!("{}/{}", d.backend, d.server))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .hint(haproxy.hint()));
        }
    };
    let db_undo = match (&s.db_snapshot, &s.venv) {
        (Some(snap), Some(venv)) if s.db_notes => {
            Some(read_db_undo(target, paths, venv, snap, discard)?)
        }
        _ => None,
    };
    Ok(Now {
        running,
        stopping,
        db_sync,
        servers,
        db_undo,
    })
}

/// Compares the database with the snapshot's notes: what undoing the session's
/// migrations takes, and what it would cost others. Changes nothing.
fn read_db_undo(
    target: &Target,
    paths: &Paths,
    venv: &str,
    snap: &crate::db::Snapshot,
    discard: bool,
) -> Result<db_undo::Report> {
    let exec = db_undo::check(paths, venv, snap, discard);
    let cannot = |why: String| {
        crate::error::Error::failed(format!(
            "cannot compare {} with the snapshot of the session in {}: {why}",
            snap.describe(),
            target.name
        ))
        .hint("restore undoes the session's migrations from that comparison: once the database answers, run `git osa restore` again")
    };
    let stdin = match &exec.stdin {
        Some(crate::exec::Input::Bytes(b)) => Some(b.as_slice()),
        _ => None,
    };
    let out = target
        .run(&exec.full_argv(), stdin)
        .map_err(|e| cannot(e.to_string()))?;
    db_undo::Report::parse(&out.stdout).map_err(cannot)
}

/// Restore stops before it changes anything when undoing the session's migrations would
/// lose rows written since, unless told it may (`--discard-newer-rows`).
pub fn refusal(
    target: &Target,
    s: &Session,
    now: &Now,
    discard: bool,
) -> Option<crate::error::Error> {
    let snap = s.db_snapshot.as_ref()?;
    if discard {
        return None;
    }
    match &now.db_undo {
        Some(report) => report.refusal(&target.name, snap),
        None if !s.db_notes => Some(db_undo::legacy_refusal(&target.name, snap)),
        None => None,
    }
}

/// The restore, as steps: each one undoes one kind of change and says so in the record.
/// `units` are the catalog's units of the session's service: whose HAProxy servers must be
/// UP again.
pub fn plan_restore(
    target: &Target,
    host: &Host,
    units: &[Unit],
    paths: &Paths,
    s: &Session,
    now: &Now,
    discard: bool,
) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(scope) = &now.db_sync {
        steps.push(super::await_dbsync(target, scope.clone()));
    }
    steps.push(
        Step::exec(
            "stop the dev process and anything git-osa left running",
            target,
            Exec::new(systemd::kill_scopes(&now.running)),
        )
        .skip_if(now.running.is_empty().then(|| "not running".into()))
        .after(Record::Undone(Undone::DevProcess)),
    );
    steps.extend(undo_files(target, paths, s));
    if let Some(conf) = s.conf.as_ref().filter(|c| !c.roots.is_empty()) {
        steps.push(crate::devconf::restore_step(target, paths, conf));
    }
    // The schema of before the db sync, before production starts on it.
    if let Some(snap) = &s.db_snapshot {
        steps.push(undo_db(target, paths, s, snap, now, discard));
    }
    // Production as it was: the units that ran before the session run again, the others
    // stay stopped.
    let started = ran_before(s);
    if !started.is_empty() {
        let ids: Vec<String> = started.iter().map(|u| probe::unit_id(u)).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        steps.push(
            Step::exec(
                format!(
                    "start production {} (a fresh process, from the production venv)",
                    started.join(", ")
                ),
                target,
                Exec::script(RESTART, "git-osa-restart", &ids),
            )
            .after(Record::Undone(Undone::Units)),
        );
    }
    for d in &s.disabled_servers {
        let (title, change) = match s.before.as_ref().and_then(|b| b.server(d)) {
            Some(State::Maint) => (
                format!(
                    "keep {} in maintenance, as it was before the session",
                    d.server
                ),
                Change::Maint,
            ),
            Some(State::Draining) => (
                format!("leave {} drained, as it was before the session", d.server),
                Change::Drain,
            ),
            _ => (
                format!("let {} take traffic again", d.server),
                Change::Ready,
            ),
        };
        steps.push(
            Step::new(
                title,
                target,
                Action::Server {
                    server: d.clone(),
                    change,
                },
            )
            .after(Record::Enable(d.clone())),
        );
    }
    steps.push(
        Step::new(
            "wait until production is healthy",
            target,
            Action::WaitHealthy {
                units: started.iter().map(|u| probe::unit_id(u)).collect(),
                servers: healthy_servers(host, units, s, now),
            },
        )
        .after(Record::Undone(Undone::Servers)),
    );
    if s.venv.is_some() {
        steps.push(Step::new(
            "wait for the dev venv's removal",
            target,
            Action::Join { of: Vec::new() },
        ));
    }
    // No record after this one: it removes the record itself.
    steps.push(Step::exec(
        "end the dev session (its state and synced source)",
        target,
        Exec::script(
            r#"rm -rf "$1"; rmdir "$2" 2>/dev/null; exit 0"#,
            "git-osa-end",
            &[&paths.dir, layout::ROOT],
        ),
    ));
    steps
}

/// The session's migrations undone: from the notes, only what they changed; without
/// notes (a snapshot of an older git-osa), the snapshot loaded back whole.
fn undo_db(
    target: &Target,
    paths: &Paths,
    s: &Session,
    snap: &crate::db::Snapshot,
    now: &Now,
    discard: bool,
) -> Step {
    let step = match (&s.venv, s.db_notes) {
        (Some(venv), true) => Step::exec(
            match &now.db_undo {
                Some(report) => report.title(snap),
                None => format!(
                    "undo the session's migrations in {}: drop what they added, put back from the snapshot the rows they changed",
                    snap.describe()
                ),
            },
            target,
            // As a db sync: never cut in half, and waited for by a restore after a kill.
            db_undo::undo(paths, venv, snap, discard)
                .in_scope(paths.dbsync_scope())
                .runs_to_the_end(),
        ),
        _ => Step::exec(
            format!(
                "load the database snapshot back into {} whole (taken without notes of its rows: rows written since are lost), then remove it",
                snap.describe()
            ),
            target,
            crate::db::load(snap).in_scope(paths.step_scope()),
        ),
    };
    step.after(Record::Undone(Undone::DbSnapshot))
}

/// The production venv back, and the drop-ins gone.
fn undo_files(target: &Target, paths: &Paths, s: &Session) -> Vec<Step> {
    let mut steps = Vec::new();
    if let (Some(venv), Some(backup)) = (&s.venv, &s.venv_backup) {
        steps.push(
            Step::exec(
                format!("put the production venv back ({venv})"),
                target,
                Exec::script(
                    VENV_BACK,
                    "git-osa-venv",
                    &[
                        venv,
                        backup,
                        if s.venv_kept() { "kept" } else { "cut" },
                        &s.service,
                        &layout::aside_path(venv),
                    ],
                ),
            )
            .after(Record::Undone(Undone::Venv)),
        );
    }
    if let Some(venv) = &s.venv {
        // Also when an earlier restore put the venv back already: it may have been killed
        // before the dev venv was gone.
        steps.push(
            Step::exec(
                "remove the dev venv set aside, while production starts",
                target,
                Exec::script(REMOVE_ASIDE, "git-osa-aside", &[&layout::aside_path(venv)])
                    .in_scope(paths.keep_scope()),
            )
            .in_background(),
        );
    }
    if !s.dropins.is_empty() {
        // Files first, then the folders git-osa created (marked with a trailing '/').
        let mut items: Vec<&str> = s.dropins.iter().map(String::as_str).collect();
        items.sort_by_key(|d| d.ends_with('/'));
        steps.push(
            Step::exec(
                "remove git-osa's drop-ins (the log's, git osa conf's)",
                target,
                Exec::script(REMOVE_DROPINS, "git-osa-dropins", &items),
            )
            .after(Record::Undone(Undone::Dropins)),
        );
    }
    steps
}

/// The units the session stopped that ran before it (all of them, for a session an older
/// git-osa began without recording that).
fn ran_before(s: &Session) -> Vec<String> {
    s.stopped_units
        .iter()
        .filter(|u| s.before.as_ref().is_none_or(|b| b.was_active(u)))
        .cloned()
        .collect()
}

/// Healthy means: the units' HAProxy servers in this container UP (unless someone else put
/// them in maintenance), and those git-osa changed UP; where the session recorded how
/// production looked, only those that took traffic then (a server already down stays so).
fn healthy_servers(host: &Host, units: &[Unit], s: &Session, now: &Now) -> Vec<ServerRef> {
    let took_traffic = |r: &ServerRef| match s.before.as_ref().and_then(|b| b.server(r)) {
        Some(state) => matches!(state, State::Up | State::GoingDown),
        None => true,
    };
    let mut servers: Vec<ServerRef> = servers_of(&now.servers, host, units)
        .iter()
        .filter(|sv| !sv.is_disabled())
        .map(Server::reference)
        .filter(took_traffic)
        .collect();
    for d in &s.disabled_servers {
        if !servers.contains(d) && took_traffic(d) {
            servers.push(d.clone());
        }
    }
    servers
}
