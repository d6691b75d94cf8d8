//! Detached dev mode: the dev units as transient systemd services in the container
//! (`git-osa-dev-<unit>.service`), which outlive the terminal that started them and log
//! to the journal.
//!
//! [`start`] is the last step of `git osa run --detach`, [`restart`] the last of `git osa
//! sync` (uWSGI units reload their workers in place, other units restart), [`stop`] is `git osa stop`. Unlike the foreground run, no git-osa process stays
//! to give HAProxy back when the units end: the pins live in the session record
//! (the others' maintenance recorded before it is made), and `stop` or `restore` undo
//! them from there.

use std::time::{Duration, Instant};

use crate::context::{Context, Placement, Project};
use crate::error::{Error, Result};
use crate::haproxy::{Change, Haproxy, Server, servers_of};
use crate::health;
use crate::layout::Paths;
use crate::lock::Lock;
use crate::lxc::{LxcState, Target};
use crate::plan::{Comeback, DevUnit, Pin};
use crate::record::{Journal, Record};
use crate::select;
use crate::sessions;
use crate::signals::Interrupts;
use crate::state::{ServerRef, Session};
use crate::systemd::{RELOAD_WORKERS, stop_scopes};
use crate::ui::Ui;

/// How long the others may take to take traffic again before the target's units stop.
const HAND_BACK: Duration = Duration::from_secs(5);

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
                Record::Detached(Some(crate::state::now())),
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
            self.pin(p)?;
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
    pub fn restart(&mut self, units: &[DevUnit], pins: &[Pin]) -> Result<()> {
        let back = Comeback::of(units, pins);
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
        self.unpin(pins)?;
        self.target.run(&stop_scopes(&services), None)?;
        for p in pins {
            // Down until a check passes against the new process: "UP" must not be the
            // verdict of a check the old one passed.
            self.haproxy
                .set(&p.backend, &p.target, Change::HealthDown)?;
        }
        for u in units {
            if let Err(e) = self.target.run(&u.argv, None) {
                return Err(self.failed(e, &services));
            }
        }
        for p in pins {
            self.haproxy.set(&p.backend, &p.target, Change::Ready)?;
            self.journal
                .record(self.target, &[Record::Enable(server(p, &p.target))])?;
        }
        self.healthy(&services, pins)?;
        for p in pins {
            self.pin(p)?;
        }
        Ok(())
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
                &["sh", "-c", RELOAD_WORKERS, "git-osa-reload", fifo, &u.scope],
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

    /// Waits until the services are active and the pins' targets UP in HAProxy. The
    /// services are collected by systemd once they end, so one that is no longer active
    /// has failed: that is said at once, with the end of its journal.
    fn healthy(&mut self, services: &[String], pins: &[Pin]) -> Result<()> {
        let _p = self.ui.progress("waiting for the dev units to serve");
        let start = Instant::now();
        let mut argv = vec!["systemctl".to_string(), "is-active".into()];
        argv.extend(services.iter().cloned());
        loop {
            let out = self.target.output(&argv, None)?;
            let states = String::from_utf8_lossy(&out.stdout).into_owned();
            let ended: Vec<&String> = services
                .iter()
                .zip(states.lines())
                .filter(|(_, st)| !matches!(st.trim(), "active" | "activating" | "reloading"))
                .map(|(s, _)| s)
                .collect();
            if !ended.is_empty() {
                let names: Vec<&str> = ended.iter().map(|s| s.as_str()).collect();
                return Err(self.failed(
                    Error::failed(format!(
                        "{} ended as it started in {}",
                        names.join(", "),
                        self.target.name
                    )),
                    services,
                ));
            }
            let active = out.status.success();
            let up = pins.is_empty() || {
                let all = self.haproxy.servers()?;
                pins.iter().all(|p| {
                    all.iter()
                        .any(|s| s.backend == p.backend && s.name == p.target && s.is_healthy())
                })
            };
            if active && up {
                return Ok(());
            }
            if let Some(sig) = self.interrupts.pending() {
                return Err(Error::interrupted(
                    sig,
                    "stopped waiting for the detached dev units",
                )
                .hint("they go on starting; `git osa stop` ends them, `git osa restore` puts production back"));
            }
            if start.elapsed() > health::TIMEOUT {
                return Err(Error::failed(format!(
                    "the dev units in {} do not serve after {} s (active: {active}, HAProxy UP: {up})",
                    self.target.name,
                    health::TIMEOUT.as_secs()
                ))
                .hint("`git osa logs` shows their output; `git osa stop` ends them"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The target takes all of the backend's traffic; the others' maintenance is recorded
    /// before it is made.
    fn pin(&mut self, p: &Pin) -> Result<()> {
        let mut records = vec![Record::Enable(server(p, &p.target))];
        records.extend(p.others.iter().map(|o| Record::Disable(server(p, o))));
        self.haproxy.set(&p.backend, &p.target, Change::Ready)?;
        self.journal.record(self.target, &records)?;
        for other in &p.others {
            self.haproxy.set(&p.backend, other, Change::Maint)?;
        }
        Ok(())
    }

    /// The others take traffic again (waited for, up to [`HAND_BACK`]) and the target is
    /// drained, before its units stop: no request is sent to a process that is going away.
    fn unpin(&mut self, pins: &[Pin]) -> Result<()> {
        for p in pins {
            for o in &p.others {
                self.haproxy.set(&p.backend, o, Change::Ready)?;
                self.journal
                    .record(self.target, &[Record::Enable(server(p, o))])?;
            }
        }
        let start = Instant::now();
        while start.elapsed() < HAND_BACK {
            let all = self.haproxy.servers()?;
            let back = pins.iter().all(|p| {
                p.others.iter().all(|o| {
                    all.iter()
                        .any(|s| s.backend == p.backend && s.name == *o && s.takes_traffic())
                })
            });
            if back {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for p in pins {
            self.journal
                .record(self.target, &[Record::Disable(server(p, &p.target))])?;
            self.haproxy.set(&p.backend, &p.target, Change::Drain)?;
        }
        Ok(())
    }

    /// Ends the detached units: traffic back to the others first, then the services
    /// stopped (each with its unit's own KillSignal). The container stays in dev mode.
    pub fn stop(&mut self, services: &[String], pins: &[Pin]) -> Result<()> {
        self.unpin(pins)?;
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
        let mut argv = vec![
            "journalctl".to_string(),
            "--no-pager".into(),
            "-o".into(),
            "cat".into(),
            "-n".into(),
            "20".into(),
        ];
        for s in services {
            argv.extend(["-u".into(), s.clone()]);
        }
        let log = self
            .target
            .output(&argv, None)
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let err = if log.trim().is_empty() {
            err
        } else {
            Error::failed(format!(
                "{err}\nthe end of {}'s journal in {}:\n{}",
                services.join(", "),
                self.target.name,
                log.trim_end()
            ))
        };
        err.hint("`git osa logs` shows their whole output; fix and `git osa sync`, or `git osa restore` to put production back")
    }
}

fn server(p: &Pin, name: &str) -> ServerRef {
    ServerRef {
        backend: p.backend.clone(),
        server: name.to_string(),
    }
}

/// The project's container in dev mode, and its session.
pub struct InDev {
    pub project: Project,
    pub placement: Placement,
    pub target: Target,
    pub paths: Paths,
    pub session: Session,
}

impl InDev {
    /// The detached dev services the session records.
    pub fn services(&self) -> Vec<String> {
        self.session
            .dev_units
            .iter()
            .filter(|u| u.ends_with(".service"))
            .cloned()
            .collect()
    }

    /// The pins of the target's servers: the other servers of each backend, those taking
    /// traffic now and those the session put in maintenance.
    pub fn pins(&self, servers: &[Server]) -> Vec<Pin> {
        let mine = servers_of(servers, &self.placement.host, &self.placement.units);
        mine.iter()
            .filter_map(|m| {
                let others: Vec<String> = servers
                    .iter()
                    .filter(|o| o.backend == m.backend && o.name != m.name)
                    .filter(|o| {
                        o.takes_traffic() || self.session.disabled_servers.contains(&o.reference())
                    })
                    .map(|o| o.name.clone())
                    .collect();
                (!others.is_empty()).then(|| Pin {
                    backend: m.backend.clone(),
                    target: m.name.clone(),
                    others,
                })
            })
            .collect()
    }
}

/// Finds the container of the checkout's service that is in dev mode: the one named, or
/// the only one with a session.
pub fn find(ctx: &Context, container: Option<&str>) -> Result<InDev> {
    let read = |t: &Target, p: &Paths| Ok(sessions::read(t, p)?.map(|s| (s, ())));
    Ok(find_with(ctx, container, read)?.0)
}

/// [`find`], holding the lock of the container found: taken where a session is, in the
/// round trip that reads it (under the lock).
pub fn find_locked(ctx: &Context, container: Option<&str>, doing: &str) -> Result<(InDev, Lock)> {
    find_with(ctx, container, |t, p| {
        crate::lock::waiting_for_redeploy(&ctx.ui, &ctx.cwd, || Lock::acquire_session(t, p, doing))?
            .map(|(lock, record)| Ok((Session::parse(&record)?, lock)))
            .transpose()
    })
}

/// The one container whose `read` finds a session, with what else it returned.
fn find_with<T: Send>(
    ctx: &Context,
    container: Option<&str>,
    read: impl Fn(&Target, &Paths) -> Result<Option<(Session, T)>> + Sync,
) -> Result<(InDev, T)> {
    let project = ctx.project()?;
    let service = project.service.name.clone();
    let (placements, _) = ctx.placements(&project.service)?;
    let placements = match container {
        Some(c) => vec![select::named(&placements, c).cloned().ok_or_else(|| {
            Error::user(format!("{c} is not one of {service}'s containers"))
                .hint("`git osa status` lists them")
        })?],
        None => placements,
    };
    let paths = Paths::new(&service);
    // One round trip per container, all at once: a sync or a hook without --container
    // waits for the slowest container, not for the sum of them.
    type Found<T> = (Placement, Target, Session, T);
    let read_one = |p: Placement| -> Result<Option<Found<T>>> {
        if !p.host.metal && ctx.lxc.state(&p.host.container_name)? != LxcState::Running {
            return Ok(None);
        }
        let target = p.target(&ctx.lxc);
        Ok(read(&target, &paths)?.map(|(session, t)| (p, target, session, t)))
    };
    let answers: Vec<Result<Option<Found<T>>>> = std::thread::scope(|s| {
        let reading: Vec<_> = placements
            .into_iter()
            .map(|p| s.spawn(|| read_one(p)))
            .collect();
        reading
            .into_iter()
            .map(|r| r.join().expect("reading a container's session panicked"))
            .collect()
    });
    let mut found = Vec::new();
    for answer in answers {
        found.extend(answer?);
    }
    if found.len() > 1 {
        let names: Vec<String> = found.iter().map(|f| f.1.name.clone()).collect();
        return Err(Error::user(format!(
            "several containers of {service} are in dev mode: {}",
            names.join(", ")
        ))
        .hint("name one with --container"));
    }
    let Some((placement, target, session, t)) = found.pop() else {
        return Err(Error::user(format!(
            "no container of {service} is in dev mode{}",
            container
                .map(|c| format!(" ({c} is not)"))
                .unwrap_or_default()
        ))
        .hint("`git osa run --detach` swaps the checkout in and runs it detached"));
    };
    Ok((
        InDev {
            project,
            placement,
            target,
            paths,
            session,
        },
        t,
    ))
}
