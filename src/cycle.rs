//! The cycle as a plan: a pure function from what was read ([`Survey`]) and what the user
//! asked ([`Choice`]) to the list of steps a run executes, ending with the foreground run.
//!
//! Nothing here touches a container, HAProxy or the checkout, so every plan can be built
//! and compared with its expected text without a lab (`tests/plans/`). Each phase of the
//! cycle is one function, in the order the steps run.

use crate::error::Result;
use crate::haproxy::{Change, State, servers_of};
use crate::install;
use crate::layout::{self, Paths};
use crate::plan::{Action, Exec, Pin, Step};
use crate::probe;
use crate::record::Record;
use crate::state::{ServerRef, Session, VENV_KEPT};
use crate::survey::Survey;

mod swap;
use crate::systemd::{self, UnitInfo};

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
}

#[derive(Debug)]
pub struct RunPlan {
    pub steps: Vec<Step>,
    /// Said before the steps run (and shown by a dry run).
    pub notes: Vec<String>,
    /// Warned about before the steps run (and shown by a dry run).
    pub warnings: Vec<String>,
    /// The `user@host (pid N)` of another user whose dev session this run takes over:
    /// asked on a terminal, `--force` otherwise.
    pub takes_over_from: Option<String>,
}

/// What `git osa sync` does in a container in dev mode: send what changed, install and
/// db sync only when their inputs changed, and restart the detached dev units when one
/// of those steps has something to do, or when one of them is not running (it failed).
pub fn plan_sync(s: &Survey, choice: &Choice) -> Result<RunPlan> {
    let session = s.session.clone().unwrap_or_default();
    let c = Cycle::new(s, &session);
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
    let Action::Detach { mut units, pins } = c.foreground(pins, true)?.action else {
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
    if installs || !down.is_empty() {
        for u in &mut units {
            u.reload = None;
        }
    }
    let skip = if session.detached_at.is_none() {
        Some("no detached dev units (`git osa run --detach` starts them)".to_string())
    } else if !changed && down.is_empty() {
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
    let title = if restarted.is_empty() {
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
    steps.push(Step::new(title, c.target(), Action::Restart { units, pins }).skip_if(skip));
    Ok(RunPlan {
        steps,
        notes: Vec::new(),
        warnings: Vec::new(),
        takes_over_from: c.takes_over_from(),
    })
}

/// Builds the run's plan. Fails only when the units cannot run in the foreground.
pub fn plan_run(s: &Survey, choice: &Choice) -> Result<RunPlan> {
    let session = s.session.clone().unwrap_or_default();
    let c = Cycle::new(s, &session);
    let mut steps = Vec::new();
    steps.extend(c.leftovers());
    steps.push(c.keep_venv());
    let (drains, pins) = c.drain();
    steps.extend(drains);
    steps.push(c.stop());
    steps.extend(c.health_down(&pins));
    let constraints = c.constraints();
    steps.push(c.sync(&constraints));
    steps.push(c.join());
    for lib in &s.with {
        steps.extend(c.with(lib, &constraints, choice));
    }
    steps.push(c.install(&constraints, choice));
    steps.extend(c.dropin());
    steps.extend(c.db_sync(choice.db_snapshot)?);
    steps.extend(c.runtime_dirs());
    steps.extend(c.uwsgi_preload(choice.detach));
    steps.push(c.foreground(pins, choice.detach)?);
    Ok(RunPlan {
        steps,
        notes: c.notes(),
        warnings: c.warnings(),
        takes_over_from: c.takes_over_from(),
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

    fn target(&self) -> &crate::lxc::Target {
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
                crate::state::age(other.started_at)
            ));
        }
        notes
    }

    fn takes_over_from(&self) -> Option<String> {
        let other = self.s.session.as_ref()?;
        (who(&other.started_by) != who(&self.s.me)).then(|| other.started_by.clone())
    }

    /// We hold the lock: anything of an earlier git-osa still running was orphaned when
    /// it was killed (a pip, a copy, a dev process holding the port). Stop it first.
    fn leftovers(&self) -> Vec<Step> {
        // A dev process still in its unit's stop holds its scope's name as much as one
        // that runs.
        let active = |u: &String| self.s.probe.unit(u).is_some_and(|i| i.alive());
        let mut steps = Vec::new();
        let dbsync = self.paths.dbsync_scope();
        if active(&dbsync) {
            steps.push(await_dbsync(self.target(), dbsync));
        }
        let mut left: Vec<String> = self
            .s
            .units
            .iter()
            .flat_map(|u| [layout::dev_scope(&u.name), layout::dev_service(&u.name)])
            .collect();
        left.extend([self.paths.step_scope(), self.paths.keep_scope()]);
        left.retain(active);
        if !left.is_empty() {
            // Detached units run on purpose: this run replaces them.
            let title = if left.iter().all(|u| u.ends_with(".service")) {
                "stop the detached dev units (this run replaces them)"
            } else {
                "stop what an interrupted git-osa left running"
            };
            steps.push(Step::exec(
                title,
                self.target(),
                Exec::new(systemd::kill_scopes(&left)),
            ));
        }
        steps
    }

    /// Keep the production venv: the copy (seconds) overlaps draining, stopping and
    /// syncing; production does not write to its venv (it is root's, the service runs as
    /// its own user), so the copy is exact. Until the session records a copy complete,
    /// the venv is production's (the install waits for the copy): a copy a killed git-osa
    /// left, whole or cut, is made again, never nested inside the old one by `mv`.
    fn keep_venv(&self) -> Step {
        let venv = &self.s.venv;
        let backup = layout::backup_path(venv);
        Step::exec(
            format!("keep an exact copy of the production venv {venv}"),
            self.target(),
            Exec::script(
                r#"rm -rf "$2.tmp" "$2" && cp -a "$1" "$2.tmp" && mv "$2.tmp" "$2""#,
                "git-osa-keep",
                &[venv, &backup],
            )
            .in_scope(self.paths.keep_scope()),
        )
        .in_background()
        .skip_if(
            self.session
                .venv_kept()
                .then(|| format!("kept at {backup} when this session began")),
        )
        .before(Record::VenvBackup {
            venv: venv.clone(),
            backup,
        })
        .after(Record::Mark(VENV_KEPT))
    }

    /// HAProxy: drain the target's servers while they are swapped, where others can take
    /// their traffic; each becomes a pin of the foreground run.
    fn drain(&self) -> (Vec<Step>, Vec<Pin>) {
        let all = &self.s.servers;
        let mut steps = Vec::new();
        let mut pins = Vec::new();
        for mine in servers_of(all, &self.s.host, &self.s.units) {
            // The others: those taking traffic now, and those this session put in
            // maintenance (a killed git-osa left them so), which the end of the run gives back.
            let others: Vec<String> = all
                .iter()
                .filter(|o| o.backend == mine.backend && o.name != mine.name)
                .filter(|o| {
                    o.takes_traffic() || self.session.disabled_servers.contains(&o.reference())
                })
                .map(|o| o.name.clone())
                .collect();
            if others.is_empty() {
                continue;
            }
            let r = mine.reference();
            steps.push(
                Step::new(
                    format!("drain {} in HAProxy while it is swapped", mine.name),
                    self.target(),
                    Action::Server {
                        server: r.clone(),
                        change: Change::Drain,
                    },
                )
                .skip_if(
                    self.session
                        .disabled_servers
                        .contains(&r)
                        .then(|| "already drained by this session".into()),
                )
                .before(Record::Disable(r)),
            );
            pins.push(Pin {
                backend: mine.backend.clone(),
                target: mine.name.clone(),
                others,
            });
        }
        (steps, pins)
    }

    fn stop(&self) -> Step {
        let mut argv = vec!["systemctl".to_string(), "stop".into()];
        argv.extend(self.active.iter().map(|u| probe::unit_id(u)));
        let names: Vec<String> = self.s.units.iter().map(|u| u.name.clone()).collect();
        Step::exec(
            format!("stop production {}", names.join(", ")),
            self.target(),
            Exec::new(argv),
        )
        .skip_if(self.active.is_empty().then(|| "not running".into()))
        .before(Record::StoppedUnits(names))
        .after(Record::Mark("production stopped"))
    }

    /// Down until a health check passes against the dev code: "up" then means the new
    /// code answers, not that HAProxy has not noticed yet that the old one stopped (a
    /// rerun right after Ctrl-C finds the server still passing its last checks).
    fn health_down(&self, pins: &[Pin]) -> Vec<Step> {
        pins.iter()
            .map(|p| {
                let down = self.s.servers.iter().any(|s| {
                    s.backend == p.backend
                        && s.name == p.target
                        && matches!(s.state(), State::Down | State::GoingUp)
                });
                Step::new(
                    format!(
                        "mark {} down in HAProxy until a health check passes against the dev code",
                        p.target
                    ),
                    self.target(),
                    Action::Server {
                        server: ServerRef {
                            backend: p.backend.clone(),
                            server: p.target.clone(),
                        },
                        change: Change::HealthDown,
                    },
                )
                .skip_if(down.then(|| "down already".into()))
            })
            .collect()
    }

    /// OSA's constraints without the service's own pin (the checkout replaces it).
    fn constraints(&self) -> Option<Vec<u8>> {
        let own: Vec<String> = self
            .s
            .service
            .packages
            .iter()
            .cloned()
            .chain(self.s.package.clone())
            .chain(self.s.with.iter().map(|l| l.package.clone()))
            .collect();
        self.s
            .constraints
            .as_ref()
            .map(|c| install::filter_constraints(&String::from_utf8_lossy(c), &own).into_bytes())
    }
}

/// `user@host` of a `user@host (pid N)`.
fn who(started_by: &str) -> &str {
    started_by.split(" (").next().unwrap_or(started_by)
}

/// How long a db sync a killed git-osa left running is waited for.
pub const DBSYNC_LIMIT_SECS: u64 = 900;

/// Waits for a db sync that a killed git-osa left running: stopping it could cut a
/// migration in half.
pub fn await_dbsync(target: &crate::lxc::Target, scope: String) -> Step {
    Step::new(
        "wait for the db sync an interrupted git-osa left running",
        target,
        Action::AwaitScope {
            scope,
            limit_secs: DBSYNC_LIMIT_SECS,
        },
    )
}
