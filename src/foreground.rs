//! The dev run, the last step of a run's plan: the production units' own commands, in the
//! foreground, as the units' users, each inside a transient systemd scope
//! (`git-osa-dev-<unit>.scope`) in the container.
//!
//! The scope is what makes stopping reliable: `lxc-attach` does not forward signals and,
//! without a terminal, ignores SIGINT, leaving the process running in the container. So
//! on SIGINT/SIGTERM/SIGHUP git-osa stops the scopes (systemd kills every process in them
//! with the unit's own KillSignal) and always checks afterwards that nothing is left. On
//! a terminal with one unit, `lxc-attach` gets the terminal and allocates a pty: Ctrl-C
//! and pdb reach the service directly.
//!
//! While it runs, HAProxy traffic is pinned to the target: once the target's server is
//! UP (its health check passes against the dev code), the backend's other servers are put
//! in maintenance; they take traffic again when the dev process stops.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::error::{Error, Result};
use crate::haproxy::Haproxy;
use crate::plan::DevUnit;
use crate::session::Cut;
use crate::session::record::{Journal, Record};
use crate::signals::{self, Interrupts};
use crate::systemd::{Stop, hurry, stop_dev, stop_scopes};
use crate::traffic::{Pin, Traffic};
use crate::transport::Target;
use crate::ui::Ui;

/// How the dev run ended.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// The dev process's exit code, or 128+signal when git-osa was told to stop.
    pub code: i32,
    pub signal: Option<i32>,
}

/// What the run pinned, until it gives it back.
#[derive(Debug, Default)]
struct Pinned {
    pins: Vec<Pin>,
    released: bool,
}

/// How long past the dev process's own stop limit git-osa waits for it before it stops
/// waiting, or after a second Ctrl-C killed it.
const STOP_MARGIN: Duration = Duration::from_secs(30);

/// A stop under way: the units stopping as their units stop, in the container.
struct Stopping {
    child: Option<Child>,
    /// When to stop waiting (None: as long as it takes).
    deadline: Option<Instant>,
    /// Why and which scopes were killed at the user's word.
    hurried: Option<(String, Vec<String>)>,
}

impl Stopping {
    fn done(&mut self) -> bool {
        match &mut self.child {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    fn overdue(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() > d)
    }

    /// Kills the scopes now (the user asked not to wait).
    fn hurry(&mut self, target: &Target, scopes: &[String], sig: i32, ui: &Ui) {
        let why = if sig == libc::SIGINT {
            "a second Ctrl-C".to_string()
        } else {
            format!("a second {}", signals::name(sig))
        };
        let killed = match target.run(&hurry(scopes), None) {
            Ok(out) => killed_scopes(&out.stdout),
            Err(e) => {
                ui.warn(format!("could not kill the dev process: {e}"));
                Vec::new()
            }
        };
        self.hurried = Some((why, killed));
        self.deadline = Some(Instant::now() + STOP_MARGIN);
    }

    /// The scopes the stop had to kill (still running at their limit).
    fn finish(mut self) -> Vec<String> {
        let Some(mut c) = self.child.take() else {
            return Vec::new();
        };
        if matches!(c.try_wait(), Ok(None)) {
            let _ = c.kill();
        }
        let mut out = Vec::new();
        if let Some(mut stdout) = c.stdout.take() {
            use std::io::Read;
            let _ = stdout.read_to_end(&mut out);
        }
        let _ = c.wait();
        killed_scopes(&out)
    }
}

/// The scopes a stop or a kill in the container says it killed (`killed SCOPE` lines).
fn killed_scopes(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .filter_map(|l| l.strip_prefix("killed "))
        .map(|s| s.trim().to_string())
        .collect()
}

/// The units, as a sentence names them.
fn names(units: &[DevUnit]) -> String {
    let names: Vec<&str> = units.iter().map(|u| u.unit.as_str()).collect();
    names.join(", ")
}

/// How the units stop, as the user is told when it starts: `as its unit stops: heat-engine
/// gets SIGTERM on each of its processes and up to 2min to finish its work`.
fn as_units_stop(units: &[DevUnit]) -> String {
    let each: Vec<String> = units.iter().map(|u| u.stop.describe(&u.unit)).collect();
    format!(
        "as {}: {}",
        if units.len() > 1 {
            "their units stop"
        } else {
            "its unit stops"
        },
        each.join("; ")
    )
}

/// What the dev run works with: the target, HAProxy, the session's journal, the signals.
pub struct Dev<'a> {
    pub ui: &'a Ui,
    pub haproxy: &'a Haproxy,
    pub interrupts: &'a Interrupts,
    pub journal: &'a mut Journal,
    pub target: &'a Target,
}

impl Dev<'_> {
    /// Runs the units until one ends or a signal arrives, then ends them all and gives the
    /// pinned servers back. Longer than 80 lines because it is one loop whose every branch
    /// reads the same state (children, pins, the stop under way).
    pub fn run(&mut self, units: &[DevUnit], pins: &[Pin]) -> Result<Outcome> {
        let ui = self.ui;
        let target = self.target;
        let scopes: Vec<String> = units.iter().map(|u| u.scope.clone()).collect();
        self.journal.record(
            target,
            &[
                Record::DevUnits(scopes.clone()),
                Record::Mark("dev process started"),
            ],
        )?;
        let mut children = spawn(ui, target, units)?;
        let mut pins = pins.to_vec();
        let mut pinned = Pinned::default();
        let mut stop: Option<Stopping> = None;
        let mut got_signal: Option<i32> = None;
        let mut exit_code: Option<i32> = None;
        let mut last_pin_check = Instant::now() - Duration::from_secs(1);
        loop {
            if let Some(sig) = self.interrupts.take() {
                match &mut stop {
                    None => {
                        got_signal = Some(sig);
                        ui.step(format!(
                            "stopping the dev process ({}) {}; Ctrl-C again to kill {} now",
                            signals::name(sig),
                            as_units_stop(units),
                            if units.len() > 1 { "them" } else { "it" }
                        ));
                        stop = Some(self.stop(units, &mut pinned));
                    }
                    Some(s) if s.hurried.is_none() => {
                        got_signal.get_or_insert(sig);
                        ui.step(format!(
                            "killing {} now (SIGKILL): work under way is cut; Ctrl-C once more stops waiting (`git osa restore` then ends what is left)",
                            names(units)
                        ));
                        s.hurry(self.target, &scopes, sig, ui);
                    }
                    Some(_) => return Err(abandon(children, stop, sig)),
                }
            }
            let mut all_done = true;
            for (unit, child) in children.iter_mut() {
                match child.try_wait()? {
                    Some(status) => {
                        if exit_code.is_none() {
                            exit_code = Some(status.code().unwrap_or(1));
                            if got_signal.is_none() {
                                ui.step(format!("{unit} exited ({status})"));
                            }
                        }
                    }
                    None => all_done = false,
                }
            }
            // One unit ended on its own: end the others too, the run is over.
            if exit_code.is_some() && stop.is_none() {
                if !all_done {
                    ui.step(format!(
                        "stopping the others {}; Ctrl-C to kill them now",
                        as_units_stop(units)
                    ));
                }
                stop = Some(self.stop(units, &mut pinned));
            }
            if let Some(s) = &mut stop {
                all_done &= s.done();
                if s.overdue() {
                    for (_, child) in children.iter_mut() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    break;
                }
            }
            if all_done {
                break;
            }
            if stop.is_none()
                && !pins.is_empty()
                && last_pin_check.elapsed() >= Duration::from_millis(250)
            {
                last_pin_check = Instant::now();
                pins = self.pin_ready(pins, &mut pinned);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(s) = stop {
            self.report_cut(units, s)?;
        }
        // Whatever ended the run, the other servers take traffic again and nothing of it
        // may stay in the container; a failure here is reported after every cleanup ran.
        let failed = self.release(&mut pinned).err();
        let failed = failed.or(target.run(&stop_scopes(&scopes), None).err());
        if let Some(e) = failed {
            return Err(e.hint("`git osa restore` stops what is left and puts HAProxy back"));
        }
        self.journal
            .record(target, &[Record::DevUnits(Vec::new())])?;
        Ok(Outcome {
            code: match got_signal {
                Some(sig) => 128 + sig,
                None => exit_code.unwrap_or(0),
            },
            signal: got_signal,
        })
    }

    /// Ends the run in an order that never sends a request to a dead server: traffic
    /// back to the others, then the dev process stopped as its unit stops. The stop goes
    /// on while the run's loop watches for another Ctrl-C.
    fn stop(&mut self, units: &[DevUnit], pinned: &mut Pinned) -> Stopping {
        if let Err(e) = self.release(pinned) {
            let others: Vec<String> = pinned
                .pins
                .iter()
                .flat_map(|p| p.others.iter().map(|o| format!("{}/{o}", p.backend)))
                .collect();
            self.ui.warn(format!(
                "HAProxy could not be put back ({e}): {} may stay in maintenance, and requests fail once the dev process stops; `git osa restore` puts HAProxy back once its socket answers",
                others.join(", ")
            ));
        }
        let each: Vec<(&str, &Stop)> = units.iter().map(|u| (u.scope.as_str(), &u.stop)).collect();
        // Past the longest of the units' limits, systemd has killed what was left; the
        // margin covers a container too busy to say so at once.
        let deadline = units
            .iter()
            .map(|u| u.stop.limit())
            .collect::<Option<Vec<Duration>>>()
            .and_then(|l| l.into_iter().max())
            .map(|l| Instant::now() + l + STOP_MARGIN);
        let stopping = self.target.command(&stop_dev(&each)).and_then(|mut c| {
            Ok(c.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()?)
        });
        let child = match stopping {
            Ok(child) => Some(child),
            Err(e) => {
                self.ui
                    .warn(format!("could not stop the dev process yet: {e}"));
                None
            }
        };
        Stopping {
            child,
            deadline,
            hurried: None,
        }
    }

    /// Says which dev processes had to be killed, so work they had under way was cut,
    /// and records it in the session for `git osa status`.
    fn report_cut(&mut self, units: &[DevUnit], stop: Stopping) -> Result<()> {
        let mut killed: Vec<(String, String)> = Vec::new();
        if let Some((why, scopes)) = &stop.hurried {
            for scope in scopes {
                killed.push((scope.clone(), why.clone()));
            }
        }
        for scope in stop.finish() {
            if !killed.iter().any(|(s, _)| *s == scope) {
                let timeout = units
                    .iter()
                    .find(|u| u.scope == scope)
                    .map(|u| u.stop.timeout.as_str())
                    .unwrap_or("?");
                killed.push((
                    scope,
                    format!("still running after its unit's TimeoutStopSec of {timeout}"),
                ));
            }
        }
        let mut records = Vec::new();
        for (scope, why) in killed {
            let Some(u) = units.iter().find(|u| u.scope == scope) else {
                continue;
            };
            self.ui.warn(format!(
                "{} was killed (SIGKILL, {why}): work it had under way was cut; `git osa status` says so until `git osa restore`",
                u.unit
            ));
            records.push(Record::Cut(Cut {
                unit: u.unit.clone(),
                why,
                at: crate::clock::now(),
            }));
        }
        if records.is_empty() {
            return Ok(());
        }
        self.journal.record(self.target, &records)
    }

    /// Gives the pinned traffic back ([`Traffic::hand_back`]), once.
    fn release(&mut self, pinned: &mut Pinned) -> Result<()> {
        if std::mem::replace(&mut pinned.released, true) || pinned.pins.is_empty() {
            return Ok(());
        }
        self.traffic().hand_back(&pinned.pins)?;
        let names: Vec<&str> = pinned
            .pins
            .iter()
            .flat_map(|p| p.others.iter().map(String::as_str))
            .collect();
        self.ui.step(format!(
            "HAProxy: {} take traffic again; {} drained",
            names.join(", "),
            self.target.name
        ));
        Ok(())
    }

    /// Pins the backends whose target passes its health check; returns those still waiting.
    fn pin_ready(&mut self, pins: Vec<Pin>, pinned: &mut Pinned) -> Vec<Pin> {
        let ui = self.ui;
        let target = self.target;
        let servers = match self.haproxy.servers() {
            Ok(s) => s,
            Err(e) => {
                ui.warn(format!(
                    "HAProxy: {e}; traffic is not pinned to {}",
                    target.name
                ));
                return Vec::new();
            }
        };
        let haproxy = self.haproxy;
        let (ready, waiting): (Vec<Pin>, Vec<Pin>) = pins.into_iter().partition(|p| {
            servers.iter().any(|s| {
                s.backend == p.backend
                    && s.name == p.target
                    && (s.is_healthy() || crate::traffic::mark_up_early(haproxy, s))
            })
        });
        for p in ready {
            match self.traffic().pin(&p) {
                Ok(()) => ui.step(format!(
                    "HAProxy: {} is UP with the dev code; all of {} now goes to it ({} disabled)",
                    p.target,
                    p.backend,
                    p.others.join(", ")
                )),
                Err(e) => ui.warn(format!(
                    "HAProxy: {e}; traffic of {} is not pinned to {}",
                    p.backend, p.target
                )),
            }
            // Given back at the end even when the pin failed half way: whatever of it was
            // made is undone.
            pinned.pins.push(p);
        }
        waiting
    }

    fn traffic(&mut self) -> Traffic<'_> {
        Traffic {
            haproxy: self.haproxy,
            journal: self.journal,
            target: self.target,
        }
    }
}

fn spawn(ui: &Ui, target: &Target, units: &[DevUnit]) -> Result<Vec<(String, Child)>> {
    let on_terminal = ui.interactive && units.len() == 1;
    let several = units.len() > 1;
    let mut children = Vec::new();
    for u in units {
        ui.step(format!(
            "running {} as {} in {} (Ctrl-C stops it){}",
            u.unit,
            u.user,
            target.name,
            if several {
                "; each of their log lines starts with the unit"
            } else {
                ""
            }
        ));
        let mut cmd = target.command(&u.argv)?;
        // Over ssh the dev process has no terminal (ssh runs it in a process group of its
        // own, see `Process::own_group`): Ctrl-C is git-osa's to handle, which stops it
        // as its unit stops.
        cmd.stdin(if on_terminal && !target.via.remote() {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
        if several {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", target.describe(&u.argv)))?;
        if several {
            prefix_lines(&u.unit, child.stdout.take());
            prefix_lines(&u.unit, child.stderr.take());
        }
        children.push((u.unit.clone(), child));
    }
    Ok(children)
}

/// With several units running at once, each line of their output says whose it is.
fn prefix_lines(unit: &str, stream: Option<impl std::io::Read + Send + 'static>) {
    let Some(stream) = stream else { return };
    let unit = unit.to_string();
    std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        for line in std::io::BufReader::new(stream)
            .split(b'\n')
            .map_while(|l| l.ok())
        {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{unit}| ");
            let _ = err.write_all(&line);
            let _ = err.write_all(b"\n");
        }
    });
}

/// The user asked a third time: stop waiting. What is left in the container is the
/// session's, and restore ends it.
fn abandon(children: Vec<(String, Child)>, stop: Option<Stopping>, sig: i32) -> Error {
    for (_, mut child) in children
        .into_iter()
        .chain(stop.and_then(|s| s.child).map(|c| (String::new(), c)))
    {
        let _ = child.kill();
        let _ = child.wait();
    }
    Error::interrupted(sig, "stopped waiting for the dev process to stop")
        .hint("`git osa restore` ends what is left of it and puts production back")
}
