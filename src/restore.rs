//! Putting production back, from the session record alone (so it works after git-osa was
//! killed, and with no network): [`plan_restore`] turns the record, and what runs now,
//! into steps that each undo one kind of change; [`restore_target`] reads, plans and runs
//! them. `git osa restore` and `git osa run --restore-on-exit` both come here.

use crate::catalog::Unit;
use crate::cycle;
use crate::error::Result;
use crate::execute::Runner;
use crate::haproxy::{Change, Haproxy, Server, servers_of};
use crate::inventory::Host;
use crate::layout::{self, Paths};
use crate::lxc::Target;
use crate::plan::{Action, Exec, Step};
use crate::probe;
use crate::record::{Record, Undone};
use crate::state::{ServerRef, Session};
use crate::systemd;
use crate::ui::Ui;

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

/// Puts the copy of the production venv back. Without the copy, the venv is
/// production's when the copy never finished (the install waits for it) or when an earlier
/// restore already moved it back; but a venv holding an editable install has lost its
/// production copy: that is said, not passed over.
const VENV_BACK: &str = r#"
if [ -d "$2" ]; then rm -rf "$1" && mv "$2" "$1" || exit 1
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
    /// A db sync a killed git-osa left running: waited for, never stopped.
    pub db_sync: Option<String>,
    pub servers: Vec<Server>,
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
pub fn read_now(target: &Target, haproxy: &Haproxy, s: &Session, paths: &Paths) -> Result<Now> {
    let scopes = scopes_of(s, paths);
    let dbsync = paths.dbsync_scope();
    let mut ask = scopes.clone();
    ask.push(dbsync.clone());
    let p = probe::probe(target, &ask, &[], "")?;
    let active = |u: &String| p.unit(u).is_some_and(|i| i.active());
    let running = scopes.into_iter().filter(active).collect();
    let db_sync = active(&dbsync).then_some(dbsync);
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
    Ok(Now {
        running,
        db_sync,
        servers,
    })
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
) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(scope) = &now.db_sync {
        steps.push(cycle::await_dbsync(target, scope.clone()));
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
    steps.extend(undo_files(target, s));
    // The schema and rows of before the db sync, before production starts on them.
    if let Some(snap) = &s.db_snapshot {
        steps.push(
            Step::exec(
                format!(
                    "load the database snapshot back into {} (its schema and rows of before the db sync), then remove it",
                    snap.describe()
                ),
                target,
                crate::db::load(snap).in_scope(paths.step_scope()),
            )
            .after(Record::Undone(Undone::DbSnapshot)),
        );
    }
    if !s.stopped_units.is_empty() {
        let units: Vec<String> = s.stopped_units.iter().map(|u| probe::unit_id(u)).collect();
        let units: Vec<&str> = units.iter().map(String::as_str).collect();
        steps.push(
            Step::exec(
                format!(
                    "start production {} (a fresh process, from the production venv)",
                    s.stopped_units.join(", ")
                ),
                target,
                Exec::script(RESTART, "git-osa-restart", &units),
            )
            .after(Record::Undone(Undone::Units)),
        );
    }
    for d in &s.disabled_servers {
        steps.push(
            Step::new(
                format!("let {} take traffic again", d.server),
                target,
                Action::Server {
                    server: d.clone(),
                    change: Change::Ready,
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
                units: s.stopped_units.iter().map(|u| probe::unit_id(u)).collect(),
                servers: healthy_servers(host, units, s, now),
            },
        )
        .after(Record::Undone(Undone::Servers)),
    );
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

/// The production venv back, and the drop-ins gone.
fn undo_files(target: &Target, s: &Session) -> Vec<Step> {
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
                    ],
                ),
            )
            .after(Record::Undone(Undone::Venv)),
        );
    }
    if !s.dropins.is_empty() {
        // Files first, then the folders git-osa created (marked with a trailing '/').
        let mut items: Vec<&str> = s.dropins.iter().map(String::as_str).collect();
        items.sort_by_key(|d| d.ends_with('/'));
        steps.push(
            Step::exec(
                "remove the log drop-ins",
                target,
                Exec::script(REMOVE_DROPINS, "git-osa-dropins", &items),
            )
            .after(Record::Undone(Undone::Dropins)),
        );
    }
    steps
}

/// Healthy means: the units' HAProxy servers in this container UP (unless someone else put
/// them in maintenance), and those git-osa changed UP.
fn healthy_servers(host: &Host, units: &[Unit], s: &Session, now: &Now) -> Vec<ServerRef> {
    let mut servers: Vec<ServerRef> = servers_of(&now.servers, host, units)
        .iter()
        .filter(|sv| !sv.is_disabled())
        .map(Server::reference)
        .collect();
    for d in &s.disabled_servers {
        if !servers.contains(d) {
            servers.push(d.clone());
        }
    }
    servers
}

/// Restores one target: reads what runs, plans, runs the plan.
pub fn restore_target(
    ui: &Ui,
    haproxy: &Haproxy,
    target: &Target,
    host: &Host,
    units: &[Unit],
    paths: &Paths,
    session: Session,
) -> Result<()> {
    let now = read_now(target, haproxy, &session, paths)?;
    for c in &session.cut {
        ui.warn(format!("in {}: {}", target.name, crate::status::cut(c)));
    }
    let steps = plan_restore(target, host, units, paths, &session, &now);
    let mut runner = Runner::new(ui, haproxy, paths.clone(), session);
    runner.run_all(&steps).map_err(|e| {
        e.hint(format!(
            "production in {} is partly restored; `git osa restore` can be run again",
            target.name
        ))
    })?;
    ui.step(format!("{} runs production again", target.name));
    Ok(())
}
