//! The cycle as a plan: pure functions from what was read ([`Survey`]) and what the user
//! asked ([`Choice`]) to the steps a run executes (ending with the dev units, in the
//! foreground or detached), a sync executes (ending with their reload or restart), and a
//! restore executes (`restore.rs`: ending with the session's end).
//!
//! Nothing here touches a container, HAProxy or the checkout (but [`read_now`], which
//! reads what runs before a restore is planned), so every plan can be built and compared
//! with its expected text without a lab (`tests/`, `tests/plans/`). Each phase of the
//! cycle is one method of [`Cycle`], in the order the steps run, in the file of its part
//! of the cycle: `production.rs` (production out of the way), `deploy.rs` (the dev code
//! in), `database.rs` (the db sync), `dev.rs` (the dev units).

use crate::catalog::{Runs, Unit};
use crate::error::Result;
use crate::exec::Exec;
use crate::inventory::Host;
use crate::layout::Paths;
use crate::plan::{Action, Step};
use crate::session::{Before, LastSync, Record, ServerBefore, Session, UnitBefore};
use crate::survey::Survey;
use crate::transport::Target;

mod conf;
mod database;
mod debug;
mod deploy;
mod dev;
mod production;
mod restore;
#[cfg(test)]
pub(crate) mod tests;

use crate::systemd::{self, UnitInfo};
pub use production::await_dbsync;
pub use restore::{Now, plan_restore, read_now, refusal};

/// What the user asked for, beyond the target and the units.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// `--allow-public-index URL`: pip may use this index too.
    pub allow_public_index: Option<String>,
    /// The index to offer when the repo server lacks a requirement.
    pub offer_index: String,
    /// `--detach`: the dev units run as transient systemd services and the run returns
    /// once they serve.
    pub detach: bool,
    /// `--db-snapshot`: dump the service's database before the session's first db sync,
    /// for restore to load back.
    pub db_snapshot: bool,
    /// `--restore-on-exit`: production back as soon as the foreground run ends.
    pub restore_on_exit: bool,
    /// What a change of the configuration asks of the dev units a sync redeploys.
    pub reconfigure: Reconfigure,
    /// `--debug`, `--debugpy`: the dev units run to be debugged.
    pub debug: Option<Debug>,
    /// `--hot-patch` (with `--detach`): a sync of function bodies only is applied in the
    /// running uWSGI workers instead of reloading them.
    pub hot_patch: bool,
}

/// How the dev units are debugged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Debug {
    /// pdb at the terminal (`breakpoint()`): a uWSGI unit runs one worker, its stdin the
    /// terminal, without harakiri.
    Pdb,
    /// pudb at the terminal, as pdb, with pudb installed into the venv for the session
    /// and `PYTHONBREAKPOINT=pudb.set_trace`.
    Pudb,
    /// debugpy, installed into the venv for the session, listening on the container's
    /// loopback at this port, which git-osa forwards to the developer's machine.
    Debugpy { port: u16 },
}

/// What a change of the service's configuration (`git osa conf set`) asks of its detached
/// dev units: a uWSGI unit's workers load the app again, and its configuration with it,
/// on a reload; a change of a uWSGI ini needs its master started again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reconfigure {
    #[default]
    Nothing,
    Reload,
    Restart,
}

#[derive(Debug)]
pub struct RunPlan {
    /// Where the session is.
    pub target: Target,
    pub steps: Vec<Step>,
    /// Said before the steps run (and shown by a dry run).
    pub notes: Vec<String>,
    /// Warned about before the steps run (and shown by a dry run).
    pub warnings: Vec<String>,
    /// The `user@host (pid N)` of another user whose dev session this run takes over:
    /// asked on a terminal, `--force` otherwise.
    pub takes_over_from: Option<String>,
    /// A sync's outcome, which the session records once the steps have run.
    pub sync: Option<SyncOutcome>,
    /// Production is put back once the foreground run ends (`--restore-on-exit`).
    pub then_restore: Option<ThenRestore>,
}

/// What a sync records in the session when it ends: its [`LastSync`] (with the error, if it
/// failed) and what it learned, in one write; nothing when it had nothing to do and the
/// last sync said the same.
#[derive(Debug)]
pub struct SyncOutcome {
    pub commit: Option<String>,
    pub dirty: bool,
    /// The fingerprint of production's migrations, read this once: later syncs compare
    /// with it instead of reading them from the container again.
    pub learned: Option<Record>,
    /// How the session's last sync ended.
    pub previous: Option<LastSync>,
}

impl SyncOutcome {
    /// The records of a sync that ended at `at` with `error`.
    pub fn records(&self, at: u64, error: Option<String>) -> Vec<Record> {
        let last = LastSync {
            at,
            commit: self.commit.clone(),
            dirty: self.dirty,
            error,
        };
        std::iter::once(Record::LastSync(last))
            .chain(self.learned.clone())
            .collect()
    }

    /// A sync whose steps were all skipped, which learned nothing, after a last sync
    /// that succeeded on the same tree: the session already says all of it.
    pub fn idle(&self, steps: &[Step]) -> bool {
        self.learned.is_none()
            && steps.iter().all(|s| s.skip.is_some())
            && self.previous.as_ref().is_some_and(|p| {
                p.error.is_none() && p.commit == self.commit && p.dirty == self.dirty
            })
    }
}

/// The target's production, put back after the run: its host and the units whose servers
/// must be healthy again.
#[derive(Debug)]
pub struct ThenRestore {
    pub host: Host,
    pub units: Vec<Unit>,
}

impl RunPlan {
    /// The plan as `--dry-run` shows it: warnings, notes, each step, and what follows.
    pub fn text(&self, socket: &std::path::Path) -> String {
        let mut out = String::new();
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out.push_str(&crate::plan::print(&self.steps, socket));
        if self.then_restore.is_some() {
            out.push_str("then: restore production (--restore-on-exit)\n");
        }
        out
    }
}

/// What a sync in a session whose workers run the hot-patch agent asks of them: the
/// checkout's changed Python files, when nothing but those changed (`steps`: the sync of
/// the checkout and what follows it) and every unit reloads; else why not.
fn hot_patch(
    c: &Cycle,
    units: &[crate::plan::DevUnit],
    steps: &[Step],
    choice: &Choice,
) -> std::result::Result<crate::plan::HotPatch, String> {
    if choice.reconfigure != Reconfigure::Nothing {
        return Err("the configuration changed".into());
    }
    if let Some(u) = units.iter().find(|u| u.reload.is_none()) {
        return Err(format!("{} restarts", u.unit));
    }
    if let Some(st) = steps.iter().skip(1).find(|st| st.skip.is_none()) {
        return Err(format!(
            "more than the checkout's files changed ({})",
            st.title
        ));
    }
    let delta = crate::sync::delta(&c.s.checkout.tree, &c.s.manifest);
    if let Some(p) = delta.deleted.first() {
        return Err(format!("{p} was deleted"));
    }
    if let Some(p) = delta.changed.iter().find(|p| !p.ends_with(".py")) {
        return Err(format!("{p} is not Python source"));
    }
    if let Some(p) = delta
        .changed
        .iter()
        .find(|p| !c.s.manifest.contains_key(*p))
    {
        return Err(format!("{p} is new"));
    }
    // The agent takes where each module's file leads once per worker: a link that
    // changes, or a file that becomes or stops being one, is loaded anew.
    let link = |m: Option<&crate::sync::Meta>| m.is_some_and(|m| m.mode & 0o170000 == 0o120000);
    if let Some(p) = delta
        .changed
        .iter()
        .find(|p| link(c.s.checkout.tree.files.get(*p)) || link(c.s.manifest.get(*p)))
    {
        return Err(format!("{p} is a symbolic link"));
    }
    if delta.changed.is_empty() {
        return Err("no file changed".into());
    }
    Ok(crate::plan::HotPatch {
        dir: c.paths.hot_dir(),
        files: delta
            .changed
            .iter()
            .map(|p| format!("{}/{p}", c.paths.src()))
            .collect(),
    })
}

/// What `git osa sync` does in a container in dev mode: send what changed, install and
/// db sync only when their inputs changed, and restart the detached dev units when one
/// of those steps has something to do, or when one of them is not running (it failed).
pub fn plan_sync(s: &Survey, choice: &Choice) -> Result<RunPlan> {
    let session = s.session.clone().unwrap_or_default();
    let c = Cycle::new(s, &session);
    let repairs = c.repairs();
    let mut steps = Vec::new();
    let step_scope = c.paths.step_scope();
    if c.s.probe.unit(&step_scope).is_some_and(|i| i.active()) {
        steps.push(Step::exec(
            "stop what an interrupted git-osa left running",
            c.target(),
            Exec::new(systemd::kill_scopes(&[step_scope])),
        ));
    }
    let constraints = c.constraints();
    let synced_at = steps.len();
    steps.push(c.sync(&constraints));
    // The session's --with libraries travel too, each before the checkout's install, as
    // in a run.
    // A pip install may have changed the libraries a uWSGI master imported before its
    // workers (see `uwsgi_preload.py`): those units then restart, with a new master.
    let mut installs = false;
    for lib in &s.with {
        let [sync, install] = c.with(lib, &constraints, choice);
        installs |= install.skip.is_none();
        steps.extend([sync, install]);
    }
    let install = c.install(&constraints, choice);
    installs |= install.skip.is_none();
    steps.push(install);
    steps.extend(c.db_sync(choice.db_snapshot)?);
    let changed = steps.iter().any(|st| st.skip.is_none());
    let (_, pins) = c.drain();
    let Action::Detach { mut units, pins } = c.foreground(pins, true, session.hot_patch)?.action
    else {
        unreachable!("a detached foreground step is Action::Detach")
    };
    let down: Vec<String> = units
        .iter()
        .filter(|u| !c.s.probe.unit(&u.scope).is_some_and(|i| i.active()))
        .map(|u| u.unit.clone())
        .collect();
    // Only a running uWSGI can reload, and only when all are running: a restart of one
    // that failed hands its traffic to the other servers, and the others' too. The units
    // that cannot (heat-engine beside heat's APIs) restart, handing over the traffic of
    // their own backends only.
    if installs || !down.is_empty() || choice.reconfigure == Reconfigure::Restart {
        for u in &mut units {
            u.reload = None;
        }
    }
    let skip = if session.detached_at.is_none() {
        Some("no detached dev units (`git osa run --detach` starts them)".to_string())
    } else if !changed && down.is_empty() && choice.reconfigure == Reconfigure::Nothing {
        Some("nothing changed since the last sync".to_string())
    } else {
        None
    };
    let names = |reload: bool| -> String {
        let names: Vec<&str> = units
            .iter()
            .filter(|u| u.reload.is_some() == reload)
            .map(|u| u.unit.as_str())
            .collect();
        names.join(", ")
    };
    let (reloaded, restarted) = (names(true), names(false));
    let hot = match session.hot_patch {
        false => None,
        true => Some(hot_patch(&c, &units, &steps[synced_at..], choice)),
    };
    let title = if let Some(Ok(_)) = &hot {
        format!(
            "hot-patch {reloaded}'s uWSGI workers (reload them if the edits are more than function bodies)"
        )
    } else if let Some(Err(why)) = &hot
        && restarted.is_empty()
    {
        format!("reload {reloaded}'s uWSGI workers on the new code (not hot-patched: {why})")
    } else if restarted.is_empty() {
        format!("reload {reloaded}'s uWSGI workers on the new code")
    } else if !reloaded.is_empty() {
        format!("reload {reloaded}'s uWSGI workers and restart {restarted} on the new code")
    } else if down.is_empty() {
        format!("restart {restarted} on the new code")
    } else {
        format!(
            "restart {restarted} on the new code ({} not running)",
            down.join(", ")
        )
    };
    let hot = hot.and_then(|h| h.ok());
    steps.push(Step::new(title, c.target(), Action::Restart { units, pins, hot }).skip_if(skip));
    let steps = repairs.into_iter().chain(steps).collect();
    let learned = match (&s.production_migrations, &s.production_migrations_digest) {
        (Some(_), Some(d)) => Some(Record::ProductionMigrations(d.clone())),
        _ => None,
    };
    Ok(RunPlan {
        target: s.target.clone(),
        steps,
        notes: Vec::new(),
        warnings: Vec::new(),
        takes_over_from: c.takes_over_from(),
        sync: Some(SyncOutcome {
            commit: s.checkout.tree.commit.clone(),
            dirty: s.checkout.tree.dirty,
            learned,
            previous: session.last_sync.clone(),
        }),
        then_restore: None,
    })
}

/// Production as the survey found it, for a new session to record: the units it swaps
/// (running or not), and every server of the service's backends (as HAProxy says it,
/// those of units the run leaves alone too), which restore puts back as they were.
pub fn before(s: &Survey) -> Before {
    let backends: Vec<String> = crate::haproxy::servers_of(&s.servers, &s.host, &s.service.units)
        .into_iter()
        .map(|sv| sv.backend)
        .collect();
    Before {
        units: s
            .units
            .iter()
            .map(|u| UnitBefore {
                unit: u.name.clone(),
                active: s.probe.unit(&u.name).is_some_and(|i| i.active()),
            })
            .collect(),
        servers: s
            .servers
            .iter()
            .filter(|sv| backends.contains(&sv.backend))
            .map(|sv| ServerBefore {
                backend: sv.backend.clone(),
                server: sv.name.clone(),
                status: sv.status.clone(),
            })
            .collect(),
    }
}

/// What the joins that wait for some background steps name them by.
const KEEP: &str = "keep";
const BUILD: &str = "build";
const STOP: &str = "stop";
const NOTE: &str = "note";

/// Builds the run's plan. Fails only when the units cannot run in the foreground.
pub fn plan_run(s: &Survey, choice: &Choice) -> Result<RunPlan> {
    let session = s.session.clone().unwrap_or_default();
    let c = Cycle::new(s, &session);
    let mut steps = Vec::new();
    steps.extend(c.leftovers());
    steps.push(c.keep_venv());
    // In the background: nothing reads the configuration's note before the drop-in.
    let noted = c.note_conf().map(|n| n.in_background_as(NOTE));
    let join_note = noted.as_ref().map(|_| {
        Step::new(
            "wait for the note of the service's configuration",
            c.target(),
            Action::Join { of: vec![NOTE] },
        )
    });
    steps.extend(noted);
    let (drains, pins) = c.drain();
    steps.extend(drains);
    let constraints = c.constraints();
    match c.stop() {
        // Production serves no request (drained) but runs on while the checkout travels
        // and its venv is kept, and stops while the wheel is built and pip runs (see
        // `Cycle::stop`); it is marked down in HAProxy once it has stopped.
        production::Stop::BesidePip(stop, stopped) => {
            steps.push(c.sync(&constraints));
            steps.extend(c.build_ahead(&constraints));
            steps.push(c.join());
            steps.push(stop);
            steps.extend(c.join_build(&constraints));
            for lib in &s.with {
                steps.extend(c.with(lib, &constraints, choice));
            }
            steps.push(c.install(&constraints, choice));
            steps.push(stopped);
            steps.extend(c.health_down(&pins));
        }
        // It stops gracefully while its venv is kept and the checkout travels; pip waits
        // for its end.
        production::Stop::BesideSync(stop, stopped) => {
            steps.push(stop);
            steps.push(c.sync(&constraints));
            steps.extend(c.build_ahead(&constraints));
            steps.push(c.join());
            steps.extend(c.join_build(&constraints));
            steps.push(stopped);
            steps.extend(c.health_down(&pins));
            for lib in &s.with {
                steps.extend(c.with(lib, &constraints, choice));
            }
            steps.push(c.install(&constraints, choice));
        }
        // Nothing of production runs.
        production::Stop::Now(stop) => {
            steps.push(stop);
            steps.extend(c.health_down(&pins));
            steps.push(c.sync(&constraints));
            steps.extend(c.build_ahead(&constraints));
            steps.push(c.join());
            steps.extend(c.join_build(&constraints));
            for lib in &s.with {
                steps.extend(c.with(lib, &constraints, choice));
            }
            steps.push(c.install(&constraints, choice));
        }
    }
    steps.extend(join_note);
    steps.extend(c.dropin());
    steps.extend(c.db_sync(choice.db_snapshot)?);
    steps.extend(c.runtime_dirs());
    steps.extend(c.uwsgi_preload(choice.detach));
    steps.extend(c.uwsgi_app_load());
    let hot = choice.detach && choice.hot_patch;
    steps.extend(c.hot_patch_agent(hot));
    let mut foreground = c.foreground(pins, choice.detach, hot)?;
    if choice.detach && hot != session.hot_patch {
        // Before the units start: a sync then knows whether their workers can be patched.
        foreground = foreground.before(Record::HotPatch(hot));
    }
    if let Some(d) = choice.debug {
        steps.extend(c.debugger(d, &constraints, choice));
        c.debugged(&mut foreground, d)?;
    }
    steps.push(foreground);
    let mut notes = c.notes();
    if hot && let Some(u) = s.units.iter().find(|u| u.runs != Runs::Uwsgi) {
        notes.push(format!(
            "{} is not a uWSGI unit: a sync restarts it, and its backend's uWSGI units with it (--hot-patch patches only uWSGI workers)",
            u.name
        ));
    }
    Ok(RunPlan {
        target: s.target.clone(),
        steps,
        notes,
        warnings: c.warnings(),
        takes_over_from: c.takes_over_from(),
        sync: None,
        // Detached, no git-osa process stays to restore anything on exit.
        then_restore: (choice.restore_on_exit && !choice.detach).then(|| ThenRestore {
            host: s.host.clone(),
            units: s.units.clone(),
        }),
    })
}

/// One run's inputs, and what follows from them for every phase.
struct Cycle<'a> {
    s: &'a Survey,
    session: &'a Session,
    paths: Paths,
    infos: Vec<&'a UnitInfo>,
    user: String,
    group: String,
    /// The units production runs now (those stopped, and health-checked, by this run).
    active: Vec<String>,
}

impl<'a> Cycle<'a> {
    fn new(s: &'a Survey, session: &'a Session) -> Cycle<'a> {
        let infos: Vec<&UnitInfo> = s
            .units
            .iter()
            .filter_map(|u| s.probe.unit(&u.name))
            .collect();
        let user = infos
            .iter()
            .find_map(|i| i.user.clone())
            .unwrap_or_else(|| s.service.user.clone());
        let group = infos
            .iter()
            .find_map(|i| i.group.clone())
            .unwrap_or_else(|| user.clone());
        let active = s
            .units
            .iter()
            .filter(|u| s.probe.unit(&u.name).is_some_and(|i| i.active()))
            .map(|u| u.name.clone())
            .collect();
        Cycle {
            s,
            session,
            paths: Paths::new(&s.service.name),
            infos,
            user,
            group,
            active,
        }
    }

    fn target(&self) -> &Target {
        &self.s.target
    }

    fn notes(&self) -> Vec<String> {
        let service = &self.s.service;
        let mut notes: Vec<String> = self
            .s
            .skipped
            .iter()
            .map(|l| format!("{} is left alone: {}", l.unit, l.why))
            .collect();
        if service.db_sync.is_empty() {
            notes.push(format!("{} has no db sync", service.name));
        }
        for (unit, hosts) in &self.s.peers {
            notes.push(format!(
                "{unit} also runs in {}: it takes its work from the message queue, so some of \
                 it may go there instead of to this run (stop {unit} there to send it all here)",
                hosts.join(", ")
            ));
        }
        notes
    }

    fn warnings(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let (Some(other), Some(_)) = (&self.s.session, self.takes_over_from()) {
            notes.push(format!(
                "{} is in a dev session {} started {}: this run replaces its code",
                self.target().name,
                other.started_by,
                crate::clock::age(other.started_at)
            ));
        }
        notes
    }

    fn takes_over_from(&self) -> Option<String> {
        let other = self.s.session.as_ref()?;
        (who(&other.started_by) != who(&self.s.me)).then(|| other.started_by.clone())
    }
}

/// `user@host` of a `user@host (pid N)`.
fn who(started_by: &str) -> &str {
    started_by.split(" (").next().unwrap_or(started_by)
}
