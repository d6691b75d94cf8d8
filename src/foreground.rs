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
use crate::session::record::{Journal, Record};
use crate::signals::{self, Interrupts};
use crate::systemd::{DEV_STOP_TIMEOUT_SECS, stop_scopes};
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
    /// reads the same state (children, pins, the stop deadline).
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
        let mut stop_at: Option<Instant> = None;
        let mut got_signal: Option<i32> = None;
        let mut exit_code: Option<i32> = None;
        let mut last_pin_check = Instant::now() - Duration::from_secs(1);
        let mut stopping: Option<Child> = None;
        let mut asked_again = false;
        loop {
            if let Some(sig) = self.interrupts.take() {
                match got_signal {
                    None => {
                        got_signal = Some(sig);
                        ui.step(format!(
                            "stopping the dev process ({}): the unit's own stop may take up to {} s",
                            signals::name(sig),
                            DEV_STOP_TIMEOUT_SECS
                        ));
                        stop_at = Some(Instant::now());
                        stopping = self.stop(&scopes, &mut pinned);
                    }
                    Some(_) if !asked_again => {
                        asked_again = true;
                        ui.warn("still waiting for the dev process to stop; Ctrl-C once more to stop waiting (`git osa restore` then ends what is left)");
                    }
                    Some(_) => return Err(abandon(children, stopping, sig)),
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
            if all_done {
                break;
            }
            // One unit ended on its own: end the others too, the run is over.
            if exit_code.is_some() && stop_at.is_none() {
                stop_at = Some(Instant::now());
                stopping = self.stop(&scopes, &mut pinned);
            }
            if let Some(t) = stop_at
                && t.elapsed() > Duration::from_secs(30)
            {
                for (_, child) in children.iter_mut() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                break;
            }
            if stop_at.is_none()
                && !pins.is_empty()
                && last_pin_check.elapsed() >= Duration::from_millis(250)
            {
                last_pin_check = Instant::now();
                pins = self.pin_ready(pins, &mut pinned);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(mut c) = stopping {
            let _ = c.wait();
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
    /// back to the others, then the dev process stopped. The stop goes on while the run's
    /// loop watches for another Ctrl-C: the returned child is it.
    fn stop(&mut self, scopes: &[String], pinned: &mut Pinned) -> Option<Child> {
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
        let stopping = self.target.command(&stop_scopes(scopes)).and_then(|mut c| {
            Ok(c.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?)
        });
        match stopping {
            Ok(child) => Some(child),
            Err(e) => {
                self.ui
                    .warn(format!("could not stop the dev process yet: {e}"));
                None
            }
        }
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
        let (ready, waiting): (Vec<Pin>, Vec<Pin>) = pins.into_iter().partition(|p| {
            servers
                .iter()
                .any(|s| s.backend == p.backend && s.name == p.target && s.is_healthy())
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
        cmd.stdin(if on_terminal {
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
fn abandon(children: Vec<(String, Child)>, stopping: Option<Child>, sig: i32) -> Error {
    for (_, mut child) in children
        .into_iter()
        .chain(stopping.map(|c| (String::new(), c)))
    {
        let _ = child.kill();
        let _ = child.wait();
    }
    Error::interrupted(sig, "stopped waiting for the dev process to stop")
        .hint("`git osa restore` ends what is left of it and puts production back")
}
