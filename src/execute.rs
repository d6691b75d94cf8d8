//! Runs any plan (a run's, a sync's, a restore's): each step in order, its records written
//! to the session on the target before and after it, long steps stoppable, the foreground
//! run handed to `foreground.rs`, the detached units to `detach.rs`. What a plan says is
//! recorded at its end (a sync's outcome) and what follows it (a restore on exit) is done
//! here too: nothing outside the runner touches its journal.
//!
//! One signal watcher (`signals.rs`) serves every plan of the process: on a signal the
//! runner stops at the next safe point, between steps, or by stopping a long step's scope
//! in the container. The foreground run takes the signal it stops on, so a
//! restore-on-exit after it runs.

use crate::catalog::Unit;
use crate::cycle::{self, RunPlan};
use crate::detach::Detached;
use crate::error::{Error, Result};
use crate::exec::{Exec, Input};
use crate::foreground::{self, Outcome};
use crate::haproxy::{Haproxy, ServerRef};
use crate::install;
use crate::inventory::Host;
use crate::journal;
use crate::layout::Paths;
use crate::lxc::{Lxc, LxcState};
use crate::plan::{Action, DbAhead, Missing, Step};
use crate::session::Session;
use crate::session::record::{Journal, Record};
use crate::signals::Interrupts;
use crate::sync;
use crate::traffic::{self, Health};
use crate::transport::{Running, Target};
use crate::ui::{Progress, Ui};

/// Executes steps in order, keeping the session record on the target up to date.
pub struct Runner<'a> {
    ui: &'a Ui,
    haproxy: &'a Haproxy,
    journal: Journal,
    interrupts: &'static Interrupts,
    pending: Vec<Pending>,
    /// A step's records that only tell what was done wait for the next write (see
    /// [`Journal::note`]); [`Runner::execute`] writes them at the end.
    defer_notes: bool,
    /// What the session says once every step has succeeded (a sync's outcome). When the
    /// last step to run sends the checkout, the session record with these travels in its
    /// stream, renamed into place after the files it describes: one round trip less, and
    /// `settled` then says so.
    outcome: Vec<Record>,
    settled: bool,
    /// The step running is the last of the plan to run.
    last: bool,
}

/// A background step on its way, its spinner beside those of the steps that follow.
struct Pending {
    step: Step,
    argv: Vec<String>,
    running: Running,
    _progress: Progress,
}

impl<'a> Runner<'a> {
    pub fn new(ui: &'a Ui, haproxy: &'a Haproxy, paths: Paths, session: Session) -> Runner<'a> {
        Runner {
            ui,
            haproxy,
            journal: Journal::new(paths, session),
            defer_notes: false,
            outcome: Vec::new(),
            settled: false,
            last: false,
            interrupts: Interrupts::watch(),
            pending: Vec::new(),
        }
    }

    /// The session as recorded so far.
    #[cfg(test)]
    pub fn session(&self) -> &Session {
        &self.journal.session
    }

    /// Writes the session record through the holder of `lock` (this git-osa's), rather
    /// than with a command of its own each time.
    pub fn write_through(&mut self, lock: &crate::session::Lock) {
        self.journal.writer = Some(lock.writer());
    }

    /// Writes the session record as it is (a new session, before its first step).
    pub fn save(&mut self, target: &Target) -> Result<()> {
        self.journal.save(target)
    }

    /// Runs a run's or a sync's plan: its steps, then what the plan says follows them (a
    /// sync's outcome recorded, production restored on exit). Returns how the foreground
    /// run ended, if the plan has one.
    pub fn execute(&mut self, plan: &RunPlan) -> Result<Option<Outcome>> {
        let Some(sync) = &plan.sync else {
            let outcome = self.run_all(&plan.steps)?;
            if let (Some(_), Some(r)) = (&outcome, &plan.then_restore) {
                self.restore(&plan.target, &r.host, &r.units, false)?;
            }
            return Ok(outcome);
        };
        // What the steps record goes to the container with the outcome: one write.
        self.defer_notes = true;
        self.outcome = sync.records(crate::clock::now(), None);
        let result = self.run_all(&plan.steps);
        if result.is_ok() && (self.settled || sync.idle(&plan.steps)) {
            self.journal.flush(&plan.target)?;
        } else {
            let error = result
                .as_ref()
                .err()
                .map(|e| e.to_string().lines().next().unwrap_or_default().to_string());
            let records = sync.records(crate::clock::now(), error);
            self.journal.record(&plan.target, &records)?;
        }
        result
    }

    /// Puts production back in `target` from the session record: reads what runs, plans
    /// the restore and runs it. `units` are the catalog's units of the session's service,
    /// whose HAProxy servers must be healthy again.
    /// `discard`: undo the session's migrations even where that loses rows written since
    /// (`--discard-newer-rows`); without, restore refuses before it changes anything.
    pub fn restore(
        &mut self,
        target: &Target,
        host: &Host,
        units: &[Unit],
        discard: bool,
    ) -> Result<()> {
        let paths = self.journal.paths.clone();
        let session = &self.journal.session;
        let now = cycle::read_now(target, self.haproxy, session, &paths, discard)?;
        if let Some(e) = cycle::refusal(target, session, &now, discard) {
            return Err(e);
        }
        for c in &session.cut {
            self.ui
                .warn(format!("in {}: {}", target.name, c.describe()));
        }
        self.say_conf_back(target, &paths);
        for scope in &now.stopping {
            self.ui.warn(format!(
                "in {}: {scope} was still stopping (left by a git-osa that was killed): restore kills it, so work it had under way is cut",
                target.name
            ));
        }
        let steps = cycle::plan_restore(target, host, units, &paths, session, &now, discard);
        self.run_all(&steps).map_err(|e| {
            e.hint(format!(
                "production in {} is partly restored; `git osa restore` can be run again",
                target.name
            ))
        })?;
        self.ui
            .step(format!("{} runs production again", target.name));
        Ok(())
    }

    /// Says what of the configuration restore puts back (`git osa conf diff`): git osa
    /// conf's values and the hand edits made during the session. Said, never a reason not
    /// to restore.
    fn say_conf_back(&self, target: &Target, paths: &Paths) {
        let session = &self.journal.session;
        let Some(conf) = session.conf.as_ref().filter(|c| !c.roots.is_empty()) else {
            return;
        };
        let changes = match crate::devconf::read(target, paths, conf) {
            Ok(both) => crate::devconf::changes(
                Some(&both),
                session,
                crate::devconf::config_of(session).as_deref(),
            ),
            Err(e) => {
                self.ui.warn(format!(
                    "in {}: cannot tell what of the configuration changed: {e}",
                    target.name
                ));
                return;
            }
        };
        if changes.is_empty() {
            return;
        }
        self.ui.step(format!(
            "in {}: restore puts back the configuration the session found:",
            target.name
        ));
        for l in crate::devconf::render(&changes, "  ") {
            self.ui.step(l);
        }
    }

    /// Runs every step; returns how the foreground run ended, if the plan has one.
    pub fn run_all(&mut self, steps: &[Step]) -> Result<Option<Outcome>> {
        let mut outcome = None;
        let last = steps.iter().rposition(|s| s.skip.is_none());
        for (i, step) in steps.iter().enumerate() {
            self.last = Some(i) == last;
            let ran = self.run(step);
            self.last = false;
            outcome = ran?.or(outcome);
        }
        Ok(outcome)
    }

    /// Runs one step. A step that failed because its container stopped under it says
    /// that, not what the command it ran made of it.
    pub fn run(&mut self, step: &Step) -> Result<Option<Outcome>> {
        self.run_step(step).map_err(|e| container_stopped(step, e))
    }

    fn run_step(&mut self, step: &Step) -> Result<Option<Outcome>> {
        self.interrupts.check(&format!("before: {}", step.title))?;
        if let Some(why) = &step.skip {
            self.ui.step(format!("{}: skipped ({why})", step.title));
            return Ok(None);
        }
        self.ui.step(&step.title);
        self.journal.record(&step.target, &step.before)?;
        let mut outcome = None;
        let mut settled = None;
        match &step.action {
            Action::Exec(e) if step.background => self.start(step, e)?,
            Action::Exec(e) => {
                settled = self.settles(step, e);
                if let Err(err) = self.exec(step, e, settled.as_ref()) {
                    match &step.on_db_ahead {
                        Some(ahead) => self.db_ahead(step, e, ahead, err)?,
                        None => self.missing_requirements(step, err)?,
                    }
                }
            }
            Action::Server { server, change } => {
                self.haproxy.set(&server.backend, &server.server, *change)?
            }
            Action::WaitHealthy { units, servers } => {
                self.production_healthy(step, units, servers)?
            }
            Action::Join { of } => self.join(of)?,
            Action::AwaitScope { scope, limit_secs } => {
                self.await_scope(&step.target, scope, *limit_secs)?
            }
            Action::Foreground { units, pins } => {
                let mut dev = foreground::Dev {
                    ui: self.ui,
                    haproxy: self.haproxy,
                    interrupts: self.interrupts,
                    journal: &mut self.journal,
                    target: &step.target,
                };
                outcome = Some(dev.run(units, pins)?)
            }
            Action::Detach { units, pins } => self.detached(&step.target).start(units, pins)?,
            Action::Restart { units, pins, hot } => {
                self.detached(&step.target)
                    .restart(units, pins, hot.as_ref())?
            }
        }
        // A step started in the background has not done its work yet: its records come
        // when it is joined.
        if let Some(session) = settled {
            self.journal.session = session;
            self.journal.unwritten = false;
            self.settled = true;
        } else if !step.background {
            if self.defer_notes && step.after.iter().all(Journal::can_wait) {
                self.journal.note(&step.after);
            } else {
                self.journal.record(&step.target, &step.after)?;
            }
        }
        if let Some(w) = &step.warn {
            self.ui.warn(w);
        }
        Ok(outcome)
    }

    /// The detached dev units of `target`, for the steps that start and restart them.
    pub fn detached<'b>(&'b mut self, target: &'b Target) -> Detached<'b> {
        Detached {
            ui: self.ui,
            haproxy: self.haproxy,
            journal: &mut self.journal,
            target,
            interrupts: self.interrupts,
        }
    }

    /// Starts a background step; [`Action::Join`] waits for it.
    fn start(&mut self, step: &Step, e: &Exec) -> Result<()> {
        let full = e.full_argv();
        let stdin = match &e.stdin {
            None => None,
            Some(Input::Bytes(b)) => Some(b.as_slice()),
            Some(_) => {
                return Err(Error::failed(format!(
                    "git-osa cannot send this input to a step in the background: {}",
                    step.title
                )));
            }
        };
        let running = step.target.spawn(&full, stdin)?;
        self.pending.push(Pending {
            step: step.clone(),
            argv: full,
            running,
            _progress: self.ui.progress(&step.title),
        });
        Ok(())
    }

    /// The background steps' own spinners say what is waited for.
    fn join(&mut self, of: &[&str]) -> Result<()> {
        let (joined, others): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| of.is_empty() || of.contains(&p.step.tag));
        self.pending = others;
        for p in joined {
            let out = p.running.wait()?;
            p.step.target.check(&p.argv, out)?;
            self.journal.record(&p.step.target, &p.step.after)?;
        }
        Ok(())
    }

    /// The session record as it will be once `step`, the last to run, has succeeded,
    /// when that step sends the checkout to the session's folder and carries it.
    fn settles(&self, step: &Step, e: &Exec) -> Option<Session> {
        match &e.stdin {
            Some(Input::Sync(p)) if self.last && p.session_dir && !self.outcome.is_empty() => {
                let mut session = self.journal.session.clone();
                for r in step.after.iter().chain(&self.outcome) {
                    r.apply(&mut session);
                }
                Some(session)
            }
            _ => None,
        }
    }

    /// Runs a command in the target. A long one (in a scope) stops at once when the user
    /// asks: its scope is stopped in the container; a short one just finishes. A sync
    /// carries `settled`, the session record its success makes true.
    fn exec(&self, step: &Step, e: &Exec, settled: Option<&Session>) -> Result<()> {
        let full = e.full_argv();
        let stdin = match &e.stdin {
            None => None,
            Some(Input::Bytes(b)) => Some(b.clone()),
            Some(Input::Sync(p)) => {
                let beside = match settled {
                    Some(s) => vec![(crate::layout::SESSION.to_string(), s.to_json()?)],
                    None => Vec::new(),
                };
                Some(sync::stream(p, &beside)?)
            }
            Some(Input::Secret(secret)) => Some(secret.bytes().to_vec()),
        };
        let out = match &e.scope {
            None => step.target.output(&full, stdin.as_deref())?,
            Some(scope) => {
                let _progress = self.ui.progress(&step.title);
                let stop = || self.interrupts.pending().is_some();
                let abort = || {
                    if e.to_the_end {
                        self.ui.warn(format!(
                            "{} goes on to its end: stopping it could leave the database between two schema versions; git-osa stops after it",
                            step.title
                        ));
                        return;
                    }
                    let _ = step
                        .target
                        .output(&["systemctl", "stop", scope.as_str()], None);
                };
                let (out, aborted) =
                    step.target
                        .output_unless(&full, stdin.as_deref(), &stop, &abort)?;
                if aborted {
                    self.interrupts.check(&format!("during: {}", step.title))?;
                }
                out
            }
        };
        step.target.check(&full, out)?;
        Ok(())
    }

    /// Waits until production's units are active and its servers UP in HAProxy (the
    /// load balancer's own health check, the one that decides where traffic goes).
    fn production_healthy(
        &self,
        step: &Step,
        units: &[String],
        servers: &[ServerRef],
    ) -> Result<()> {
        let target = &step.target;
        let wanted = traffic::Wanted {
            units,
            dev: false,
            servers,
            taking_traffic: true,
        };
        let stop = || self.interrupts.pending().is_some();
        match traffic::wait_healthy(self.ui, target, self.haproxy, &wanted, &stop)? {
            Health::Healthy => Ok(()),
            Health::Stopped => self.interrupts.check(&format!("during: {}", step.title)),
            Health::Ended(failed) => Err(Error::failed(format!(
                "a production unit failed to start in {}: {}\n{}",
                target.name,
                failed.join(", "),
                journal::tail(target, units, 15)
            ))
            .hint("fix the cause (see the journal above), then run `git osa restore` again")),
            Health::TimedOut { active, up } => Err(Error::failed(format!(
                "production in {} is not healthy after {} s (units active: {active}, HAProxy servers UP: {up})",
                target.name,
                traffic::TIMEOUT.as_secs()
            ))
            .hint("look at `git osa status` and the units' journal; `git osa restore` can be run again")),
        }
    }

    /// Waits until `scope` has ended, at most `limit_secs`; it is never stopped.
    fn await_scope(&self, target: &Target, scope: &str, limit_secs: u64) -> Result<()> {
        let _p = self.ui.progress(&format!("waiting for {scope} to end"));
        let start = std::time::Instant::now();
        loop {
            let out = target.output(&["systemctl", "is-active", "-q", scope], None)?;
            if !out.status.success() {
                return Ok(());
            }
            if start.elapsed().as_secs() >= limit_secs {
                return Err(Error::failed(format!(
                    "{scope} in {} is still running after {limit_secs} s",
                    target.name
                ))
                .hint(format!(
                    "look at it with `journalctl -u {scope}` in the container; run this again once it has ended"
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    /// A failed install: if the repo server lacks requirements, name them and offer the
    /// other index the plan holds (a prompt on a terminal, the flag otherwise); a yes
    /// runs the plan's retry. A source pip could not reach is a failure, not a lack.
    /// A db sync that failed because the database is at a revision the checkout lacks:
    /// said, and with the session's snapshot, undoing the session's migrations is offered
    /// (then the db sync runs again).
    fn db_ahead(&mut self, step: &Step, e: &Exec, ahead: &DbAhead, err: Error) -> Result<()> {
        let Some(rev) = crate::db_undo::missing_revision(&err.to_string()) else {
            return Err(err);
        };
        let said = format!(
            "the database of {} is at revision {rev}, which this checkout does not have: a migration of code synced before in this session (another patchset or branch) upgraded it",
            step.target.name
        );
        let DbAhead::Offer {
            snapshot,
            check,
            undo,
        } = ahead
        else {
            return Err(Error::failed(said).hint(
                "the session took no database snapshot, so git-osa cannot undo that migration: sync code that has it (the patchset before), or put the database back from a backup; `--db-snapshot` (the default of `git osa review`) makes the next session undoable",
            ));
        };
        let snap = snapshot.describe();
        let prompt = format!(
            "{said}. Undo the session's migrations with the snapshot of {snap} taken before them (the rows others wrote stay), then run the db sync again?"
        );
        if !self.ui.confirm(&prompt) {
            return Err(Error::failed(said).hint(format!(
                "`git osa restore` undoes the session's migrations with the snapshot of {snap} (the rows others wrote stay); then run this again (on a terminal, git-osa offers to do both)"
            )));
        }
        let stdin = match &check.stdin {
            Some(Input::Bytes(b)) => Some(b.as_slice()),
            _ => None,
        };
        let out = step.target.run(&check.full_argv(), stdin)?;
        let report = crate::db_undo::Report::parse(&out.stdout).map_err(Error::failed)?;
        if let Some(refusal) = report.refusal(&step.target.name, snapshot) {
            return Err(refusal);
        }
        let title = report.title(snapshot);
        self.ui.step(&title);
        let undo_step = Step::exec(title, &step.target, (**undo).clone());
        self.exec(&undo_step, undo, None)?;
        self.ui.step(format!("{} (again)", step.title));
        self.exec(step, e, None)
    }

    fn missing_requirements(&mut self, step: &Step, err: Error) -> Result<()> {
        let Some(on_missing) = &step.on_missing else {
            return Err(err);
        };
        let missing = install::missing_requirements(&err.to_string());
        if missing.is_empty() {
            return Err(err);
        }
        let names = missing.join(", ");
        let unreachable = install::unreachable_sources(&err.to_string());
        if !unreachable.is_empty() {
            return Err(Error::failed(format!(
                "pip could not reach {}, so it found no {names}: {err}",
                unreachable.join(", ")
            ))
            .hint(
                "is the deployment's repo server up? Run `git osa` again once pip can reach it",
            ));
        }
        match on_missing {
            Missing::Allowed { index } => Err(Error::failed(format!(
                "pip found no {names}, neither on the repo server nor on {index}"
            ))),
            Missing::Offer { index, retry } => {
                let prompt = format!("The repo server has no {names}. Let pip use {index} for it?");
                if self.ui.confirm(&prompt) {
                    self.ui
                        .step(format!("{} (pip may use {index})", step.title));
                    return self.exec(step, retry, None);
                }
                Err(Error::user(format!(
                    "the checkout needs {names}, which the deployment's repo server does not have"
                ))
                .hint(format!(
                    "rerun with `--allow-public-index URL` (e.g. --allow-public-index {index}) to let pip fetch it, or add it to the repo server"
                )))
            }
        }
    }
}

/// The error of a step whose container is no longer running: which, in what state, and
/// what to do; `err` itself otherwise (and when the step was interrupted).
fn container_stopped(step: &Step, err: Error) -> Error {
    let t = &step.target;
    if t.metal || matches!(err.kind(), crate::error::Kind::Interrupted(_)) {
        return err;
    }
    let lxc = Lxc {
        path: t.lxc_path.clone(),
        via: t.via.clone(),
    };
    match lxc.state(&t.name) {
        Ok(LxcState::Running) | Err(_) => err,
        Ok(state) => Error::failed(format!(
            "{} is {state}: it stopped during `{}`, which did not finish",
            t.name, step.title
        ))
        .hint(format!(
            "{}; the session is recorded in it: `git osa status` shows it, and once it runs, `git osa sync` goes on or `git osa restore` puts production back",
            state.remedy(&t.name, t.lxc_path.as_deref())
        )),
    }
}
