//! A step of the cycle is a value before it is an action: what it does, where, as whom,
//! and what it records in the session state so `restore` can undo it.
//!
//! `--dry-run` prints the steps; running executes the same values. There is one
//! description of the cycle, not two code paths.

use std::fmt::Write as _;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use anyhow::Context;

use crate::error::{Error, Result};
use crate::haproxy::{Change, Haproxy};
use crate::lxc::{Target, shell_words};
use crate::state::{Disabled, Paths, Session};
use crate::ui::Ui;

/// A change to the session record, applied before (write-ahead) or after a step.
#[derive(Debug, Clone)]
pub enum Record {
    Mark(&'static str),
    StoppedUnits(Vec<String>),
    VenvBackup {
        venv: String,
        backup: String,
    },
    Dropins(Vec<String>),
    Synced {
        commit: Option<String>,
        dirty: bool,
    },
    InstallHash(Option<String>),
    MigrationsHash(String),
    Disable(Disabled),
    Enable(Disabled),
    DevUnits(Vec<String>),
    /// Restore undid one kind of change.
    Undone(Undone),
}

#[derive(Debug, Clone, Copy)]
pub enum Undone {
    DevProcess,
    Venv,
    Dropins,
    Units,
    Servers,
}

impl Record {
    pub fn apply(&self, s: &mut Session) {
        match self {
            Record::Mark(m) => s.mark(m),
            Record::StoppedUnits(u) => {
                for unit in u {
                    if !s.stopped_units.contains(unit) {
                        s.stopped_units.push(unit.clone());
                    }
                }
            }
            Record::VenvBackup { venv, backup } => {
                s.venv = Some(venv.clone());
                s.venv_backup = Some(backup.clone());
            }
            Record::Dropins(d) => {
                for p in d {
                    if !s.dropins.contains(p) {
                        s.dropins.push(p.clone());
                    }
                }
            }
            Record::Synced { commit, dirty } => {
                s.commit = commit.clone();
                s.dirty = *dirty;
                s.synced_at = Some(crate::state::now());
            }
            Record::InstallHash(h) => s.install_hash = h.clone(),
            Record::MigrationsHash(h) => s.migrations_hash = Some(h.clone()),
            Record::Disable(d) => {
                if !s.disabled_servers.contains(d) {
                    s.disabled_servers.push(d.clone());
                }
            }
            Record::Enable(d) => s.disabled_servers.retain(|x| x != d),
            Record::DevUnits(u) => s.dev_units = u.clone(),
            Record::Undone(what) => match what {
                Undone::DevProcess => s.dev_units.clear(),
                Undone::Venv => s.venv_backup = None,
                Undone::Dropins => s.dropins.clear(),
                Undone::Units => s.stopped_units.clear(),
                Undone::Servers => s.disabled_servers.clear(),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    /// A command in the target; as root unless `user` is set (then through runuser).
    Exec {
        argv: Vec<String>,
        user: Option<String>,
        env: Vec<(String, String)>,
        stdin: Option<Vec<u8>>,
        /// Long steps (seconds: copies, pip, db sync) run in this transient scope, so that
        /// restore can stop whatever a killed git-osa left running before it touches the
        /// venv; on a terminal they get a spinner.
        scope: Option<String>,
    },
    /// A runtime change through HAProxy's admin socket.
    Server {
        backend: String,
        server: String,
        change: Change,
    },
    /// Wait until the units are active and the servers report UP.
    WaitHealthy {
        units: Vec<String>,
        servers: Vec<Disabled>,
    },
    /// Wait for the steps started in the background, and fail if one failed.
    Join,
}

impl Action {
    /// `argv` in the target, as root, with nothing on stdin.
    pub fn argv(argv: Vec<String>) -> Action {
        Action::Exec {
            argv,
            user: None,
            env: Vec::new(),
            stdin: None,
            scope: None,
        }
    }

    pub fn exec(argv: &[&str]) -> Action {
        Action::argv(argv.iter().map(|s| s.to_string()).collect())
    }

    pub fn as_user(mut self, u: String) -> Action {
        if let Action::Exec { user, .. } = &mut self {
            *user = Some(u);
        }
        self
    }

    pub fn with_env(mut self, e: Vec<(String, String)>) -> Action {
        if let Action::Exec { env, .. } = &mut self {
            *env = e;
        }
        self
    }

    pub fn with_stdin(mut self, data: Vec<u8>) -> Action {
        if let Action::Exec { stdin, .. } = &mut self {
            *stdin = Some(data);
        }
        self
    }

    pub fn in_scope(mut self, s: String) -> Action {
        if let Action::Exec { scope, .. } = &mut self {
            *scope = Some(s);
        }
        self
    }

    /// The argv actually run in the target.
    pub fn full_argv(
        argv: &[String],
        user: &Option<String>,
        env: &[(String, String)],
        scope: &Option<String>,
    ) -> Vec<String> {
        let mut full = Vec::new();
        if let Some(s) = scope {
            full.extend(
                ["systemd-run", "--scope", "--quiet", "--collect"]
                    .iter()
                    .map(|a| a.to_string()),
            );
            full.push(format!("--unit={s}"));
            full.push("--".into());
        }
        if let Some(u) = user {
            full.extend(["runuser".to_string(), "-u".into(), u.clone(), "--".into()]);
        }
        if !env.is_empty() {
            full.push("env".into());
            full.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        }
        full.extend(argv.iter().cloned());
        full
    }
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
    pub before: Vec<Record>,
    pub after: Vec<Record>,
}

impl Step {
    pub fn new(title: impl Into<String>, target: &Target, action: Action) -> Step {
        Step {
            title: title.into(),
            target: target.clone(),
            action,
            skip: None,
            background: false,
            before: Vec::new(),
            after: Vec::new(),
        }
    }

    pub fn in_background(mut self) -> Step {
        self.background = true;
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

    /// What the step does, exactly: the command, where, as whom.
    pub fn describe(&self, haproxy: &Haproxy) -> String {
        match &self.action {
            Action::Exec {
                argv,
                user,
                env,
                stdin,
                scope,
            } => {
                let full = Action::full_argv(argv, user, env, scope);
                let who = user.as_deref().unwrap_or("root");
                let mut s = format!(
                    "{} as {who}: {}",
                    if self.target.metal {
                        "on the host".to_string()
                    } else {
                        format!("in {}", self.target.name)
                    },
                    shell_words(&full)
                );
                if let Some(data) = stdin {
                    let _ = write!(s, "  (stdin: {} bytes)", data.len());
                }
                s
            }
            Action::Server {
                backend,
                server,
                change,
            } => format!(
                "HAProxy {}: set server {backend}/{server} {}",
                haproxy.socket.display(),
                change.words()
            ),
            Action::WaitHealthy { units, servers } => {
                let mut parts: Vec<String> = units.iter().map(|u| format!("{u} active")).collect();
                parts.extend(
                    servers
                        .iter()
                        .map(|d| format!("{}/{} UP", d.backend, d.server)),
                );
                format!("wait until {}", parts.join(", "))
            }
            Action::Join => "wait for the steps running in the background".into(),
        }
    }
}

/// From now on SIGINT, SIGTERM and SIGHUP do not kill git-osa: they are noted, and the
/// runner stops at the next safe point (between steps, or by stopping a long step's scope).
fn watch_signals() -> Arc<AtomicUsize> {
    let flag = Arc::new(AtomicUsize::new(0));
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        let _ = signal_hook::flag::register_usize(sig, flag.clone(), sig as usize);
    }
    flag
}

/// Prints a plan for `--dry-run`.
pub fn print(steps: &[Step], haproxy: &Haproxy) -> String {
    let mut out = String::new();
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(out, "{:>2}. {}", i + 1, s.title);
        match &s.skip {
            Some(why) => {
                let _ = writeln!(out, "    skipped: {why}");
            }
            None => {
                let _ = writeln!(out, "    {}", s.describe(haproxy));
                if s.background {
                    let _ = writeln!(out, "    (in the background, while the next steps run)");
                }
            }
        }
    }
    out
}

/// Executes steps in order, keeping the session record on the target up to date.
pub struct Runner<'a> {
    pub ui: &'a Ui,
    pub haproxy: &'a Haproxy,
    pub paths: Paths,
    pub session: Session,
    /// False for restore's last step, which removes the record itself.
    pub keep_record: bool,
    pending: Vec<Pending>,
    /// The signal that asked git-osa to stop (0: none yet).
    interrupted: Arc<AtomicUsize>,
}

/// A background step on its way.
struct Pending {
    step: Step,
    argv: Vec<String>,
    child: Child,
}

impl<'a> Runner<'a> {
    pub fn new(ui: &'a Ui, haproxy: &'a Haproxy, paths: Paths, session: Session) -> Runner<'a> {
        Runner {
            ui,
            haproxy,
            paths,
            session,
            keep_record: true,
            pending: Vec::new(),
            interrupted: watch_signals(),
        }
    }

    fn check_interrupted(&self, during: &str) -> Result<()> {
        match self.interrupted.load(Ordering::Relaxed) {
            0 => Ok(()),
            sig => Err(Error::Interrupted {
                message: format!("interrupted {during}"),
                signal: sig as i32,
                hints: Vec::new(),
            }),
        }
    }

    pub fn save(&self, target: &Target) -> Result<()> {
        if self.keep_record {
            self.session.save(target, &self.paths)?;
        }
        Ok(())
    }

    pub fn record(&mut self, target: &Target, records: &[Record]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        for r in records {
            r.apply(&mut self.session);
        }
        self.save(target)
    }

    pub fn run(&mut self, step: &Step) -> Result<()> {
        self.check_interrupted(&format!("before: {}", step.title))?;
        if let Some(why) = &step.skip {
            self.ui.step(format!("{}: skipped ({why})", step.title));
            return Ok(());
        }
        self.ui.step(&step.title);
        self.record(&step.target, &step.before)?;
        if step.background
            && let Action::Exec {
                argv,
                user,
                env,
                scope,
                ..
            } = &step.action
        {
            let full = Action::full_argv(argv, user, env, scope);
            let child = step
                .target
                .command(&full)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .with_context(|| format!("starting {}", step.target.describe(&full)))?;
            self.pending.push(Pending {
                step: step.clone(),
                argv: full,
                child,
            });
            return Ok(());
        }
        match &step.action {
            Action::Exec {
                argv,
                user,
                env,
                stdin,
                scope,
            } => {
                let full = Action::full_argv(argv, user, env, scope);
                let progress = scope.is_some().then(|| self.ui.progress(&step.title));
                // A long step stops at once when the user asks: its scope is stopped in
                // the container (a short one just finishes).
                let out = match scope {
                    None => step.target.output(&full, stdin.as_deref())?,
                    Some(s) => {
                        let flag = self.interrupted.clone();
                        let stop = || flag.load(Ordering::Relaxed) != 0;
                        let abort = || {
                            let _ = step.target.output(&["systemctl", "stop", s.as_str()], None);
                        };
                        let (out, aborted) =
                            step.target
                                .output_unless(&full, stdin.as_deref(), &stop, &abort)?;
                        if aborted {
                            self.check_interrupted(&format!("during: {}", step.title))?;
                        }
                        out
                    }
                };
                drop(progress);
                step.target.check(&full, out)?;
            }
            Action::Server {
                backend,
                server,
                change,
            } => self.haproxy.set(backend, server, *change)?,
            Action::WaitHealthy { units, servers } => {
                let flag = self.interrupted.clone();
                let stop = move || flag.load(Ordering::Relaxed) != 0;
                if !crate::health::wait(&stop, self.ui, &step.target, self.haproxy, units, servers)?
                {
                    self.check_interrupted(&format!("during: {}", step.title))?;
                }
            }
            Action::Join => {
                let _p = self.ui.progress(&step.title);
                for p in std::mem::take(&mut self.pending) {
                    let out = p.child.wait_with_output()?;
                    p.step.target.check(&p.argv, out)?;
                    self.record(&p.step.target, &p.step.after)?;
                }
            }
        }
        self.record(&step.target, &step.after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lxc::Lxc;

    #[test]
    fn dry_run_names_the_container_the_user_and_the_exact_command() {
        let t = Lxc::default().target("aio1_keystone_container-6c0f3a1e", false);
        let steps = vec![
            Step::new(
                "db sync",
                &t,
                Action::Exec {
                    argv: vec![
                        "/openstack/venvs/keystone-30.0.0/bin/keystone-manage".into(),
                        "db_sync".into(),
                    ],
                    user: Some("keystone".into()),
                    env: vec![],
                    stdin: None,
                    scope: None,
                },
            ),
            Step::new("install", &t, Action::exec(&["pip", "install"]))
                .skip_if(Some("nothing changed".into())),
        ];
        let text = print(&steps, &Haproxy::new("/run/h.sock".as_ref()));
        assert_eq!(
            text,
            " 1. db sync\n    in aio1_keystone_container-6c0f3a1e as keystone: runuser -u keystone -- /openstack/venvs/keystone-30.0.0/bin/keystone-manage db_sync\n 2. install\n    skipped: nothing changed\n"
        );
    }

    #[test]
    fn records_are_idempotent() {
        let mut s = Session::default();
        let d = Disabled {
            backend: "b".into(),
            server: "s".into(),
        };
        for _ in 0..2 {
            Record::Disable(d.clone()).apply(&mut s);
            Record::StoppedUnits(vec!["u".into()]).apply(&mut s);
        }
        assert_eq!(s.disabled_servers.len(), 1);
        assert_eq!(s.stopped_units, ["u"]);
        Record::Enable(d).apply(&mut s);
        assert!(s.disabled_servers.is_empty());
    }
}
