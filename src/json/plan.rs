//! The `run-plan` and `restore-plan` documents: each step, where, as whom, the argv.

use std::path::Path;

use serde::Serialize;

use crate::cycle;
use crate::exec::{Exec, Input};
use crate::plan::{self, Action, Missing};
use crate::survey::Survey;
use crate::transport::Target;

use super::{Document, Server, display};

/// `git osa run --dry-run --json`.
#[derive(Serialize)]
pub struct RunPlan {
    pub project: String,
    pub service: String,
    #[serde(rename = "where")]
    pub place: Where,
    /// The units swapped.
    pub units: Vec<String>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    pub steps: Vec<Step>,
    /// Production is restored once the dev process stops (`--restore-on-exit`).
    pub restore_on_exit: bool,
}

impl Document for RunPlan {
    const KIND: &'static str = "run-plan";
}

impl RunPlan {
    pub fn new(survey: &Survey, plan: &cycle::RunPlan, socket: &Path) -> RunPlan {
        RunPlan {
            project: survey.project.clone(),
            service: survey.service.name.clone(),
            place: Where::new(&survey.target),
            units: survey.units.iter().map(|u| u.name.clone()).collect(),
            notes: plan.notes.clone(),
            warnings: plan.warnings.clone(),
            steps: steps(&plan.steps, socket),
            restore_on_exit: plan.then_restore.is_some(),
        }
    }
}

/// `git osa restore --dry-run --json`: a plan per container that holds a session (none:
/// nothing to restore).
#[derive(Serialize)]
pub struct RestorePlan {
    pub targets: Vec<RestoreTarget>,
}

impl Document for RestorePlan {
    const KIND: &'static str = "restore-plan";
}

#[derive(Serialize)]
pub struct RestoreTarget {
    #[serde(rename = "where")]
    pub place: Where,
    pub service: String,
    pub steps: Vec<Step>,
}

impl RestoreTarget {
    pub fn new(target: &Target, service: &str, plan: &[plan::Step], socket: &Path) -> Self {
        RestoreTarget {
            place: Where::new(target),
            service: service.to_string(),
            steps: steps(plan, socket),
        }
    }
}

/// Where a step runs: in a container, or on the host (an `is_metal` service).
#[derive(Serialize)]
pub struct Where {
    /// `container` or `host`.
    pub kind: &'static str,
    pub name: String,
}

impl Where {
    fn new(t: &Target) -> Where {
        Where {
            kind: if t.metal { "host" } else { "container" },
            name: t.name.clone(),
        }
    }
}

/// One step of a plan: what `--dry-run` prints, as values.
#[derive(Serialize)]
pub struct Step {
    /// 1-based, as the text numbers it.
    pub number: usize,
    pub title: String,
    /// `command`, `haproxy`, `wait-healthy`, `join`, `await-scope` or `foreground`.
    pub action: &'static str,
    #[serde(rename = "where")]
    pub place: Where,
    /// The commands run in the target (`command`: one; `foreground`: one per unit).
    pub commands: Vec<Command>,
    /// The change made on HAProxy's admin socket (`haproxy`).
    pub haproxy: Option<HaproxyChange>,
    /// What is waited for (`wait-healthy`).
    pub wait: Option<Wait>,
    /// The scope waited for, never stopped (`await-scope`).
    pub await_scope: Option<AwaitScope>,
    /// Traffic pinned to the target while the dev process runs (`foreground`).
    pub pins: Vec<Pin>,
    /// Why the step is not needed this time: it is shown, not run.
    pub skip: Option<String>,
    /// Started and not waited for until a `join` step.
    pub background: bool,
    /// What an install does when the repo server lacks a requirement.
    pub on_missing: Option<OnMissing>,
    /// A warning shown once the step ran.
    pub warning: Option<String>,
    /// `restart` with `--hot-patch`: the edits the workers are asked to apply in place
    /// before any reload (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hot_patch: Option<HotPatch>,
}

#[derive(Serialize)]
pub struct HotPatch {
    /// Where the request goes and each worker answers.
    pub dir: String,
    /// The changed files, as the container has them.
    pub files: Vec<String>,
}

#[derive(Serialize)]
pub struct Command {
    /// The user it runs as (`root` unless the step says otherwise).
    #[serde(rename = "as")]
    pub user: String,
    /// The full argv run in the target, wrappers (systemd-run, runuser, env) included.
    pub argv: Vec<String>,
    pub stdin: Option<Stdin>,
    /// The transient scope it runs in, which restore or Ctrl-C stops.
    pub scope: Option<String>,
    /// Once started it runs to its end (a db sync): a signal is acted on after it.
    pub to_the_end: bool,
    /// The unit whose dev process this is (`foreground`).
    pub unit: Option<String>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Stdin {
    /// Fixed bytes (a file's content).
    Bytes { bytes: usize },
    /// The sync's tar stream: the changed files, the deletions and the manifest.
    Sync { files: usize },
    /// A secret (the database password), named by what it is; neither it nor its length
    /// is shown.
    Secret { what: String },
}

#[derive(Serialize)]
pub struct HaproxyChange {
    pub socket: String,
    pub backend: String,
    pub server: String,
    /// The exact runtime command sent on the socket.
    pub command: String,
}

#[derive(Serialize)]
pub struct Wait {
    /// systemd units that must be active.
    pub units: Vec<String>,
    /// HAProxy servers that must report UP.
    pub servers: Vec<Server>,
}

#[derive(Serialize)]
pub struct AwaitScope {
    pub scope: String,
    pub limit_secs: u64,
}

#[derive(Serialize)]
pub struct Pin {
    pub backend: String,
    /// Set ready once a health check passes against the dev code.
    pub server: String,
    /// Put in maintenance meanwhile, given back when the run ends.
    pub others: Vec<String>,
}

#[derive(Serialize)]
pub struct OnMissing {
    /// `offer`: name the requirement and offer `index` (a prompt on a terminal,
    /// `--allow-public-index` otherwise); `allowed`: `index` is allowed already.
    pub kind: &'static str,
    pub index: String,
    /// What runs when the offer is accepted.
    pub retry: Option<Command>,
}

fn steps(plan: &[plan::Step], socket: &Path) -> Vec<Step> {
    plan.iter()
        .enumerate()
        .map(|(i, s)| Step::new(i + 1, s, socket))
        .collect()
}

impl Command {
    fn exec(e: &Exec) -> Command {
        Command {
            user: e.user.clone().unwrap_or_else(|| "root".into()),
            argv: e.full_argv(),
            stdin: e.stdin.as_ref().map(|i| match i {
                Input::Bytes(b) => Stdin::Bytes { bytes: b.len() },
                Input::Sync(p) => Stdin::Sync {
                    files: p.changed.len(),
                },
                Input::Secret(secret) => Stdin::Secret {
                    what: secret.what.clone(),
                },
            }),
            scope: e.scope.clone(),
            to_the_end: e.to_the_end,
            unit: None,
        }
    }
}

impl Step {
    fn new(number: usize, s: &plan::Step, socket: &Path) -> Step {
        let mut step = Step {
            number,
            title: s.title.clone(),
            action: "",
            place: Where::new(&s.target),
            commands: Vec::new(),
            haproxy: None,
            wait: None,
            await_scope: None,
            pins: Vec::new(),
            hot_patch: None,
            skip: s.skip.clone(),
            background: s.background,
            on_missing: s.on_missing.as_ref().map(|m| match m {
                Missing::Offer { index, retry } => OnMissing {
                    kind: "offer",
                    index: index.clone(),
                    retry: Some(Command::exec(retry)),
                },
                Missing::Allowed { index } => OnMissing {
                    kind: "allowed",
                    index: index.clone(),
                    retry: None,
                },
            }),
            warning: s.warn.clone(),
        };
        match &s.action {
            Action::Exec(e) => {
                step.action = "command";
                step.commands.push(Command::exec(e));
            }
            Action::Server { server, change } => {
                step.action = "haproxy";
                step.haproxy = Some(HaproxyChange {
                    socket: display(socket),
                    backend: server.backend.clone(),
                    server: server.server.clone(),
                    command: change.command(&server.backend, &server.server),
                });
            }
            Action::WaitHealthy { units, servers } => {
                step.action = "wait-healthy";
                step.wait = Some(Wait {
                    units: units.clone(),
                    servers: servers.iter().map(Server::from).collect(),
                });
            }
            Action::Join { .. } => step.action = "join",
            Action::AwaitScope { scope, limit_secs } => {
                step.action = "await-scope";
                step.await_scope = Some(AwaitScope {
                    scope: scope.clone(),
                    limit_secs: *limit_secs,
                });
            }
            Action::Detach { units, pins }
            | Action::Foreground { units, pins }
            | Action::Restart { units, pins, .. } => {
                if let Action::Restart { hot: Some(h), .. } = &s.action {
                    step.hot_patch = Some(HotPatch {
                        dir: h.dir.clone(),
                        files: h.files.clone(),
                    });
                }
                step.action = match s.action {
                    Action::Detach { .. } => "detach",
                    Action::Foreground { .. } => "foreground",
                    _ => "restart",
                };
                step.commands = units
                    .iter()
                    .map(|u| Command {
                        user: u.user.clone(),
                        argv: u.argv.clone(),
                        stdin: None,
                        scope: Some(u.scope.clone()),
                        to_the_end: false,
                        unit: Some(u.unit.clone()),
                    })
                    .collect();
                step.pins = pins
                    .iter()
                    .map(|p| Pin {
                        backend: p.backend.clone(),
                        server: p.target.clone(),
                        others: p.others.clone(),
                    })
                    .collect();
            }
        }
        step
    }
}
