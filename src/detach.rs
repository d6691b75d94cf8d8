//! Detached dev mode: the dev units as transient systemd services in the container
//! (`git-osa-dev-<unit>.service`), which outlive the terminal that started them and log
//! to the journal.
//!
//! [`start`] is the last step of `git osa run --detach`, [`restart`] the last of `git osa
//! sync` (uWSGI units reload their workers in place, other units restart), [`stop`] is `git osa stop`. Unlike the foreground run, no git-osa process stays
//! to give HAProxy back when the units end: the pins live in the session record
//! (the others' maintenance recorded before it is made), and `stop` or `restore` undo
//! them from there.

use crate::error::{Error, Result};
use crate::exec;
use crate::haproxy::{Haproxy, ServerRef};
use crate::hot_patch::{self, Answer};
use crate::plan::{Comeback, DevUnit, HotPatch};
use crate::session::record::{Journal, Record};
use crate::signals::Interrupts;
use crate::systemd::{RELOAD_WORKERS, stop_scopes};
use crate::traffic::{self, Health, Pin, Traffic};
use crate::transport::Target;
use crate::ui::Ui;

/// What the detached steps work with.
pub struct Detached<'a> {
    pub ui: &'a Ui,
    pub haproxy: &'a Haproxy,
    pub journal: &'a mut Journal,
    pub target: &'a Target,
    pub interrupts: &'a Interrupts,
}

impl Detached<'_> {
    /// Starts the units as services, waits until they are active and their servers UP
    /// (the health check passing against the dev code), then pins the traffic.
    pub fn start(&mut self, units: &[DevUnit], pins: &[Pin]) -> Result<()> {
        let services: Vec<String> = units.iter().map(|u| u.scope.clone()).collect();
        self.journal.record(
            self.target,
            &[
                Record::DevUnits(services.clone()),
                Record::Detached(Some(crate::clock::now())),
                Record::Mark("dev units started detached"),
            ],
        )?;
        for u in units {
            self.ui.step(format!(
                "starting {} as {} in {} ({})",
                u.unit, u.user, self.target.name, u.scope
            ));
            if let Err(e) = self.target.run(&u.argv, None) {
                return Err(self.failed(e, &services));
            }
        }
        self.healthy(&services, pins)?;
        for p in pins {
            self.traffic().pin(p)?;
            self.ui.step(format!(
                "HAProxy: {} is UP with the dev code; all of {} now goes to it ({} disabled)",
                p.target,
                p.backend,
                p.others.join(", ")
            ));
        }
        Ok(())
    }

    /// Restarts the units on the new code while the others serve, then pins again. A
    /// unit is stopped and started anew, not `systemctl restart`ed: one that failed is
    /// gone (systemd collected it), and starts again the same way.
    /// With `hot` (`--hot-patch`), the workers are asked to apply the edits in place
    /// first, and reload only when one cannot.
    pub fn restart(
        &mut self,
        units: &[DevUnit],
        pins: &[Pin],
        hot: Option<&HotPatch>,
    ) -> Result<()> {
        let back = Comeback::of(units, pins);
        if let Some(hot) = hot
            && back.restarted.is_empty()
            && !back.reloaded.is_empty()
        {
            match self.hot_patch(hot, &back.reloaded)? {
                None => return Ok(()),
                Some(why) => self.ui.warn(format!(
                    "not hot-patched: {why}; reloading the workers instead"
                )),
            }
        }
        let (units, pins) = if back.reloaded.is_empty() {
            (back.restarted, back.pins)
        } else {
            match self.reload(&back.reloaded) {
                Ok(()) if back.restarted.is_empty() => return Ok(()),
                Ok(()) => (back.restarted, back.pins),
                Err(e) => {
                    self.ui.warn(format!("{e}; restarting instead"));
                    (units.iter().collect(), pins.to_vec())
                }
            }
        };
        let pins = &pins[..];
        let services: Vec<String> = units.iter().map(|u| u.scope.clone()).collect();
        self.traffic().hand_back(pins)?;
        self.target.run(&stop_scopes(&services), None)?;
        self.traffic().mark_down(pins)?;
        for u in units {
            if let Err(e) = self.target.run(&u.argv, None) {
                return Err(self.failed(e, &services));
            }
        }
        self.traffic().ready(pins)?;
        self.healthy(&services, pins)?;
        for p in pins {
            self.traffic().pin(p)?;
        }
        Ok(())
    }

    /// Asks the workers of `units` to apply `hot` in place: None when every worker did,
    /// else why not (the units then reload).
    fn hot_patch(&mut self, hot: &HotPatch, units: &[&DevUnit]) -> Result<Option<String>> {
        let names: Vec<&str> = units.iter().map(|u| u.unit.as_str()).collect();
        let scopes: Vec<&str> = units.iter().map(|u| u.scope.as_str()).collect();
        let id = format!(
            "{}-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
            std::process::id()
        );
        let out = self
            .target
            .output(&hot_patch::ask(hot, &id, &scopes)?, None)?;
        Ok(match hot_patch::answer(&out) {
            Answer::Patched { functions, workers } => {
                self.ui.step(format!(
                    "hot-patched {}'s {workers} workers in {}: the code of {functions} function{} replaced in place, nothing reloaded",
                    names.join(", "),
                    self.target.name,
                    if functions == 1 { "" } else { "s" }
                ));
                None
            }
            Answer::Refused(why) => Some(why),
        })
    }

    /// Reloads uWSGI units' workers in place: traffic stays pinned to the target, whose
    /// master holds the requests that come meanwhile until the new workers have loaded
    /// the new code (faster than a restart, which waits for HAProxy's health checks).
    fn reload(&mut self, units: &[&DevUnit]) -> Result<()> {
        for u in units {
            let Some(fifo) = u.reload.as_deref() else {
                continue;
            };
            self.ui.step(format!(
                "reloading {}'s uWSGI workers in {} (requests wait for the new ones, none is refused)",
                u.unit, self.target.name
            ));
            let out = self.target.output(
                &exec::sh(RELOAD_WORKERS, "git-osa-reload", &[fifo, &u.scope]),
                None,
            )?;
            let said = String::from_utf8_lossy(&out.stderr);
            let why = match out.status.code() {
                Some(0) => continue,
                Some(3) => format!(
                    "a new worker of {} could not load the new code{}",
                    u.unit,
                    if said.trim().is_empty() {
                        String::new()
                    } else {
                        format!(":\n{}", said.trim_end())
                    }
                ),
                Some(4) => format!(
                    "{} cannot reload in place (it runs without git-osa's master FIFO)",
                    u.unit
                ),
                Some(6) => format!(
                    "{}'s uWSGI master imported some of the code under development (its journal says which): its new workers would run that version",
                    u.unit
                ),
                _ => format!("{} did not finish reloading within a minute", u.unit),
            };
            return Err(Error::failed(why));
        }
        Ok(())
    }

    /// Waits until the services are active and the pins' targets pass HAProxy's checks.
    /// The services are collected by systemd once they end, so one that is no longer
    /// active has failed: that is said at once, with the end of its journal.
    fn healthy(&mut self, services: &[String], pins: &[Pin]) -> Result<()> {
        let servers: Vec<ServerRef> = pins.iter().map(Pin::target_server).collect();
        let wanted = traffic::Wanted {
            units: services,
            dev: true,
            servers: &servers,
            taking_traffic: false,
        };
        let stop = || self.interrupts.pending().is_some();
        match traffic::wait_healthy(self.ui, self.target, self.haproxy, &wanted, &stop)? {
            Health::Healthy => Ok(()),
            Health::Ended(ended) => Err(self.failed(
                Error::failed(format!(
                    "{} ended as it started in {}",
                    ended.join(", "),
                    self.target.name
                )),
                services,
            )),
            Health::Stopped => Err(Error::interrupted(
                self.interrupts.pending().unwrap_or(libc::SIGINT),
                "stopped waiting for the detached dev units",
            )
            .hint("they go on starting; `git osa stop` ends them, `git osa restore` puts production back")),
            Health::TimedOut { active, up } => Err(Error::failed(format!(
                "the dev units in {} do not serve after {} s (active: {active}, HAProxy UP: {up})",
                self.target.name,
                traffic::TIMEOUT.as_secs()
            ))
            .hint("`git osa logs` shows their output; `git osa stop` ends them")),
        }
    }

    fn traffic(&mut self) -> Traffic<'_> {
        Traffic {
            haproxy: self.haproxy,
            journal: self.journal,
            target: self.target,
        }
    }

    /// Ends the detached units: traffic back to the others first, then the services
    /// stopped (each with its unit's own KillSignal). The container stays in dev mode.
    pub fn stop(&mut self, services: &[String], pins: &[Pin]) -> Result<()> {
        self.traffic().hand_back(pins)?;
        self.target.run(&stop_scopes(services), None)?;
        self.journal.record(
            self.target,
            &[
                Record::DevUnits(Vec::new()),
                Record::Detached(None),
                Record::Mark("dev units stopped"),
            ],
        )?;
        Ok(())
    }

    /// A unit that did not come up: the end of its journal, and what to do.
    fn failed(&self, err: Error, services: &[String]) -> Error {
        let log = crate::journal::tail(self.target, services, 20);
        let err = if log.is_empty() {
            err
        } else {
            Error::failed(format!(
                "{err}\nthe end of {}'s journal in {}:\n{log}",
                services.join(", "),
                self.target.name,
            ))
        };
        err.hint("`git osa logs` shows their whole output; fix and `git osa sync`, or `git osa restore` to put production back")
    }
}
