//! The vocabulary of plans: a step of the cycle is a value before it is an action (what it
//! does, where, as whom, and what it records in the session so `restore` can undo it).
//!
//! What a step records in the session lives in `session/record.rs`, the commands it runs
//! in `exec.rs`. `cycle/` builds plans from what was read; `execute.rs` runs any plan;
//! [`print`] is the only thing that shows steps (`--dry-run`; a run's or a sync's plan adds
//! its warnings, notes and what follows it, `cycle::RunPlan::text`). The dev units' run is
//! a step like the others, so a dry run shows all of it.

use std::fmt::Write as _;
use std::path::Path;

use crate::exec::{Exec, Input};
use crate::haproxy::Change;
use crate::haproxy::ServerRef;
use crate::session::record::Record;
use crate::traffic::Pin;
use crate::transport::{Target, shell_words};

/// One unit's dev process: the unit's own command, as its user, in its dev scope (or,
/// detached, as its dev service).
#[derive(Debug, Clone, PartialEq)]
pub struct DevUnit {
    pub unit: String,
    /// The transient unit it runs in: `git-osa-dev-<unit>.scope` in the foreground,
    /// `git-osa-dev-<unit>.service` detached.
    pub scope: String,
    pub argv: Vec<String>,
    pub user: String,
    /// A uWSGI unit's master FIFO: a sync reloads its workers through it (the master holds
    /// the requests until the new ones have loaded the code) instead of restarting it.
    pub reload: Option<String>,
    /// Its HAProxy backend, when it has one: a restart hands that backend's traffic to
    /// the other servers, a reload keeps it pinned.
    pub backend: Option<String>,
    /// How its unit stops, which is how it stops.
    pub stop: crate::systemd::Stop,
}

/// How a sync brings the dev units back on the new code: the uWSGI units reload in place,
/// the others restart, handing over the traffic of their own backends (every pin's, when
/// none reloads). A unit that cannot reload after all restarts with every pin.
pub struct Comeback<'a> {
    pub reloaded: Vec<&'a DevUnit>,
    pub restarted: Vec<&'a DevUnit>,
    /// The pins the restart hands over and takes back.
    pub pins: Vec<Pin>,
}

impl<'a> Comeback<'a> {
    pub fn of(units: &'a [DevUnit], pins: &[Pin]) -> Comeback<'a> {
        let (reloaded, restarted): (Vec<&DevUnit>, Vec<&DevUnit>) =
            units.iter().partition(|u| u.reload.is_some());
        let pins = pins
            .iter()
            .filter(|p| {
                reloaded.is_empty()
                    || restarted
                        .iter()
                        .any(|u| u.backend.as_deref() == Some(&p.backend))
            })
            .cloned()
            .collect();
        Comeback {
            reloaded,
            restarted,
            pins,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Exec(Exec),
    /// A runtime change through HAProxy's admin socket.
    Server {
        server: ServerRef,
        change: Change,
    },
    /// Wait until the units are active and the servers report UP.
    WaitHealthy {
        units: Vec<String>,
        servers: Vec<ServerRef>,
    },
    /// Wait for steps started in the background, and fail if one failed: those started
    /// as one of `of` ([`Step::in_background_as`]), all of them when `of` is empty.
    Join {
        of: Vec<&'static str>,
    },
    /// Wait, at most `limit_secs`, until a scope that must not be stopped (a db sync a
    /// killed git-osa left running) has ended.
    AwaitScope {
        scope: String,
        limit_secs: u64,
    },
    /// Run the dev units in the foreground until they stop or the user stops them,
    /// pinning HAProxy traffic to the target meanwhile.
    Foreground {
        units: Vec<DevUnit>,
        pins: Vec<Pin>,
    },
    /// Start the dev units as transient services that outlive git-osa, wait until they
    /// are active and their servers UP, pin HAProxy traffic to the target, and return.
    Detach {
        units: Vec<DevUnit>,
        pins: Vec<Pin>,
    },
    /// Restart the running dev services on the new code (`git osa sync`): the other
    /// servers take the traffic meanwhile, and it is pinned back once the target is UP.
    Restart {
        units: Vec<DevUnit>,
        pins: Vec<Pin>,
        /// First, the edits applied in the running workers (`run --detach --hot-patch`);
        /// the reload follows only when a worker cannot apply them.
        hot: Option<HotPatch>,
    },
}

/// A sync's edits applied in the running uWSGI workers by git-osa's hot-patch agent
/// (`hot_patch.py`): each function's code replaced in place, when the edits change only
/// function bodies.
#[derive(Debug, Clone, PartialEq)]
pub struct HotPatch {
    /// Where the request goes and the workers answer (`hot/`).
    pub dir: String,
    /// The changed files, as the container has them.
    pub files: Vec<String>,
}

/// What an install does when pip cannot find a requirement on the deployment's repo
/// server: the offer is part of the plan, not a step rebuilt after the failure.
#[derive(Debug, Clone, PartialEq)]
pub enum Missing {
    /// Name the requirements and offer `index`: a prompt on a terminal (a yes runs
    /// `retry`), the `--allow-public-index` hint otherwise.
    Offer { index: String, retry: Box<Exec> },
    /// The user allowed `index` already: pip found the requirement on neither.
    Allowed { index: String },
}

/// What a db sync does when the database is at a revision the checkout lacks (alembic's
/// "Can't locate revision"): a migration of code synced before in the session (another
/// patchset, another branch) upgraded it.
#[derive(Debug, Clone, PartialEq)]
pub enum DbAhead {
    /// The session's snapshot, with its notes, can undo the session's migrations: a prompt
    /// on a terminal; a yes runs `check` (would undoing lose rows written since?), then
    /// `undo`, then the db sync again.
    Offer {
        snapshot: crate::db::Snapshot,
        check: Box<Exec>,
        undo: Box<Exec>,
    },
    /// The session took no snapshot to undo them with: said.
    NoSnapshot,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub title: String,
    pub target: Target,
    pub action: Action,
    /// Why the step is not needed this time; it is shown, not run.
    pub skip: Option<String>,
    /// Started, not waited for: it overlaps the next steps until an [`Action::Join`].
    pub background: bool,
    /// What a join that waits for some background steps names this one by.
    pub tag: &'static str,
    pub before: Vec<Record>,
    pub after: Vec<Record>,
    pub on_missing: Option<Missing>,
    pub on_db_ahead: Option<DbAhead>,
    /// A warning to show once the step ran.
    pub warn: Option<String>,
}

impl Step {
    pub fn new(title: impl Into<String>, target: &Target, action: Action) -> Step {
        Step {
            title: title.into(),
            target: target.clone(),
            action,
            skip: None,
            background: false,
            tag: "",
            before: Vec::new(),
            after: Vec::new(),
            on_missing: None,
            on_db_ahead: None,
            warn: None,
        }
    }

    pub fn exec(title: impl Into<String>, target: &Target, exec: Exec) -> Step {
        Step::new(title, target, Action::Exec(exec))
    }

    /// A pip install (`pip` makes it for an index, or for none), with the public index
    /// allowed (`--allow-public-index`), or `offer`ed when the repo server lacks a
    /// requirement.
    pub fn pip(
        title: String,
        target: &Target,
        pip: impl Fn(Option<&str>) -> Exec,
        allowed: Option<&str>,
        offer: &str,
    ) -> Step {
        match allowed {
            Some(url) => Step::exec(
                format!("{title} (pip may use {url})"),
                target,
                pip(Some(url)),
            )
            .on_missing(Missing::Allowed {
                index: url.to_string(),
            }),
            None => Step::exec(title, target, pip(None)).on_missing(Missing::Offer {
                index: offer.to_string(),
                retry: Box::new(pip(Some(offer))),
            }),
        }
    }

    pub fn in_background(mut self) -> Step {
        self.background = true;
        self
    }

    /// In the background, named `tag` for the join that waits for it.
    pub fn in_background_as(mut self, tag: &'static str) -> Step {
        self.background = true;
        self.tag = tag;
        self
    }

    pub fn skip_if(mut self, reason: Option<String>) -> Step {
        self.skip = reason;
        self
    }

    pub fn before(mut self, r: Record) -> Step {
        self.before.push(r);
        self
    }

    pub fn after(mut self, r: Record) -> Step {
        self.after.push(r);
        self
    }

    pub fn on_db_ahead(mut self, a: DbAhead) -> Step {
        self.on_db_ahead = Some(a);
        self
    }

    pub fn on_missing(mut self, m: Missing) -> Step {
        self.on_missing = Some(m);
        self
    }

    pub fn warn(mut self, w: impl Into<String>) -> Step {
        self.warn = Some(w.into());
        self
    }

    fn place(&self) -> String {
        if self.target.metal {
            "on the host".to_string()
        } else {
            format!("in {}", self.target.name)
        }
    }

    /// What the step does, exactly: the commands, where, as whom; one line each.
    pub fn describe(&self, socket: &Path) -> Vec<String> {
        match &self.action {
            Action::Exec(e) => {
                let who = e.user.as_deref().unwrap_or("root");
                let mut s = format!("{} as {who}: {}", self.place(), shell_words(&e.full_argv()));
                match &e.stdin {
                    Some(Input::Bytes(data)) => {
                        let _ = write!(s, "  (stdin: {} bytes)", data.len());
                    }
                    Some(Input::Sync(p)) => {
                        let _ = write!(
                            s,
                            "  (stdin: a tar of {} files and the manifest)",
                            p.changed.len()
                        );
                    }
                    Some(Input::Secret(secret)) => {
                        let _ = write!(s, "  (stdin: {})", secret.what);
                    }
                    None => {}
                }
                vec![s]
            }
            Action::Server { server, change } => vec![format!(
                "HAProxy {}: set server {}/{} {}",
                socket.display(),
                server.backend,
                server.server,
                change.words()
            )],
            Action::WaitHealthy { units, servers } => {
                let mut parts: Vec<String> = units.iter().map(|u| format!("{u} active")).collect();
                parts.extend(
                    servers
                        .iter()
                        .map(|d| format!("{}/{} UP", d.backend, d.server)),
                );
                vec![format!("wait until {}", parts.join(", "))]
            }
            Action::Join { of } if of.is_empty() => {
                vec!["wait for the steps running in the background".into()]
            }
            Action::Join { of } => vec![format!(
                "wait for the background step {} (the others run on)",
                of.join(", ")
            )],
            Action::AwaitScope { scope, limit_secs } => vec![format!(
                "{}: wait until {scope} has ended (at most {limit_secs} s; it is never stopped)",
                self.place()
            )],
            Action::Foreground { units, pins } => {
                let mut lines: Vec<String> = units
                    .iter()
                    .map(|u| format!("{} as {}: {}", self.place(), u.user, shell_words(&u.argv)))
                    .collect();
                lines.extend(pins.iter().map(|p| {
                    format!(
                        "once {} is healthy in HAProxy: set it ready, put {} in maintenance (undone when the run ends)",
                        p.target,
                        p.others.join(", ")
                    )
                }));
                lines
            }
            Action::Detach { units, pins } => {
                let mut lines: Vec<String> = units
                    .iter()
                    .map(|u| format!("{} as root: {}", self.place(), shell_words(&u.argv)))
                    .collect();
                let services: Vec<&str> = units.iter().map(|u| u.scope.as_str()).collect();
                lines.push(format!("wait until {} active", services.join(", ")));
                lines.extend(pins.iter().map(|p| {
                    format!(
                        "once {} is UP in HAProxy: set it ready, put {} in maintenance (undone by `git osa stop`)",
                        p.target,
                        p.others.join(", ")
                    )
                }));
                lines
            }
            Action::Restart { units, pins, hot } => {
                let back = Comeback::of(units, pins);
                let mut lines: Vec<String> = hot
                    .iter()
                    .map(|h| {
                        let services: Vec<&str> =
                            back.reloaded.iter().map(|u| u.scope.as_str()).collect();
                        format!(
                            "{} as root: ask the hot-patch agent in each worker of {} to replace the code of the functions of {} in place ({}/request), and wait for every worker's answer; if one cannot (the edits are more than function bodies), reload as follows",
                            self.place(),
                            services.join(", "),
                            h.files.join(", "),
                            h.dir
                        )
                    })
                    .collect();
                lines.extend(back
                    .reloaded
                    .iter()
                    .filter_map(|u| {
                        let fifo = u.reload.as_deref()?;
                        Some(format!(
                            "{} as root: write `w` to {fifo} (uWSGI reloads its workers) and wait until the journal of {} says each new one loaded the app",
                            self.place(),
                            u.scope
                        ))
                    }));
                let (restarted, pins) = if back.reloaded.is_empty() {
                    (back.restarted, back.pins)
                } else if back.restarted.is_empty() {
                    lines.push("if it cannot reload: restart, as follows".to_string());
                    (back.reloaded, pins.clone())
                } else {
                    lines.push(
                        "then restart the others, as follows (one that cannot reload restarts with them)".to_string(),
                    );
                    (back.restarted, back.pins)
                };
                lines.extend(pins.iter().map(|p| {
                    format!(
                        "HAProxy: {} take the traffic meanwhile",
                        p.others.join(", ")
                    )
                }));
                let services: Vec<&str> = restarted.iter().map(|u| u.scope.as_str()).collect();
                lines.push(format!(
                    "{} as root: systemctl stop {}",
                    self.place(),
                    services.join(" ")
                ));
                lines.extend(
                    restarted
                        .iter()
                        .map(|u| format!("{} as root: {}", self.place(), shell_words(&u.argv))),
                );
                lines.extend(pins.iter().map(|p| {
                    format!(
                        "once {} is UP with the new code: all of {} goes to it again",
                        p.target, p.backend
                    )
                }));
                lines
            }
        }
    }
}

/// The plan as `--dry-run` shows it.
pub fn print(steps: &[Step], socket: &Path) -> String {
    let mut out = String::new();
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(out, "{:>2}. {}", i + 1, s.title);
        if let Some(why) = &s.skip {
            let _ = writeln!(out, "    skipped: {why}");
            continue;
        }
        for line in s.describe(socket) {
            let _ = writeln!(out, "    {line}");
        }
        if s.background {
            let _ = writeln!(out, "    (in the background, while the next steps run)");
        }
        if let Some(Missing::Offer { index, .. }) = &s.on_missing {
            let _ = writeln!(
                out,
                "    if the repo server lacks a requirement: name it and offer {index} (a prompt on a terminal, --allow-public-index otherwise)"
            );
        }
        if let Some(DbAhead::Offer { snapshot, .. }) = &s.on_db_ahead {
            let _ = writeln!(
                out,
                "    if the database is at a revision this checkout lacks: say so and offer to undo the session's migrations with the snapshot of {}, then db sync again (a prompt on a terminal)",
                snapshot.describe()
            );
        }
        if let Some(w) = &s.warn {
            let _ = writeln!(out, "    then: warning: {w}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lxc::Lxc;

    #[test]
    fn dry_run_names_the_container_the_user_and_the_exact_command() {
        let t = Lxc::default().target("aio1_keystone_container-6c0f3a1e", false);
        let steps = vec![
            Step::exec(
                "db sync",
                &t,
                Exec::new(vec![
                    "/openstack/venvs/keystone-30.0.0/bin/keystone-manage".into(),
                    "db_sync".into(),
                ])
                .run_as("keystone"),
            ),
            Step::exec(
                "install",
                &t,
                Exec::new(vec!["pip".into(), "install".into()]),
            )
            .skip_if(Some("nothing changed".into())),
        ];
        let text = print(&steps, Path::new("/run/h.sock"));
        assert_eq!(
            text,
            " 1. db sync\n    in aio1_keystone_container-6c0f3a1e as keystone: runuser -u keystone -- /openstack/venvs/keystone-30.0.0/bin/keystone-manage db_sync\n 2. install\n    skipped: nothing changed\n"
        );
    }
}
