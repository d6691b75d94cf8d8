//! HAProxy traffic during a session, one protocol for every path that moves it (the
//! foreground run, detached units, sync, stop, restore):
//!
//! - [`pins`]: which servers stand for the target in its backends, and each backend's
//!   others that must give their traffic to it;
//! - [`Traffic::pin`]: the target takes all of a backend's traffic, the others go to
//!   maintenance, recorded in the session before it is made;
//! - [`Traffic::hand_back`]: the others take traffic again (waited for, up to
//!   [`HAND_BACK`]) and the target is drained, before the process behind it stops, so no
//!   request is sent to a process that is going away;
//! - [`wait_healthy`]: units active and servers passing HAProxy's checks.
//!
//! What is recorded before a change is what `restore` undoes after a crash; what is
//! recorded after one (a server given back) is what it no longer has to.

use std::time::{Duration, Instant};

use crate::catalog::Unit;
use crate::error::Result;
use crate::haproxy::check::Verdict;
use crate::haproxy::{Change, Haproxy, Server, ServerRef, State, servers_of};
use crate::inventory::Host;
use crate::session::record::{Journal, Record};
use crate::transport::Target;
use crate::ui::Ui;

/// How long the others may take to take traffic again before the target's process stops.
pub const HAND_BACK: Duration = Duration::from_secs(5);

/// How long units and servers may take to be healthy.
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// One backend's traffic moved to the target: the target's server was drained and its
/// health forced down before the swap; once a health check passes again (against the dev
/// code), it takes traffic and the `others` are put in maintenance until the session
/// gives them back.
#[derive(Debug, Clone, PartialEq)]
pub struct Pin {
    pub backend: String,
    pub target: String,
    pub others: Vec<String>,
}

impl Pin {
    fn server(&self, name: &str) -> ServerRef {
        ServerRef {
            backend: self.backend.clone(),
            server: name.to_string(),
        }
    }

    /// The target's server.
    pub fn target_server(&self) -> ServerRef {
        self.server(&self.target)
    }
}

/// The pins of `host`'s servers for `units`: in each of their backends, the other
/// servers that take traffic now, or that this session put in maintenance (`disabled`: a
/// killed git-osa left them so, and the end of the session gives them back). A backend
/// with no such server has no pin: nothing else could take its traffic.
pub fn pins(all: &[Server], host: &Host, units: &[Unit], disabled: &[ServerRef]) -> Vec<Pin> {
    servers_of(all, host, units)
        .iter()
        .filter_map(|mine| {
            let others: Vec<String> = all
                .iter()
                .filter(|o| o.backend == mine.backend && o.name != mine.name)
                .filter(|o| o.takes_traffic() || disabled.contains(&o.reference()))
                .map(|o| o.name.clone())
                .collect();
            (!others.is_empty()).then(|| Pin {
                backend: mine.backend.clone(),
                target: mine.name.clone(),
                others,
            })
        })
        .collect()
}

/// The servers the session took out of rotation (`disabled`) that take traffic again: a
/// HAProxy restarted or reloaded forgets its runtime states. Where HAProxy has several
/// nodes, taking traffic on any of them is lost.
pub fn lost(all: &[Server], disabled: &[ServerRef]) -> Vec<ServerRef> {
    disabled
        .iter()
        .filter(|d| {
            all.iter()
                .any(|s| s.reference() == **d && s.takes_traffic_anywhere())
        })
        .cloned()
        .collect()
}

/// HAProxy's side of a session in one target: each change it makes is recorded in the
/// target's session record.
pub struct Traffic<'a> {
    pub haproxy: &'a Haproxy,
    pub journal: &'a mut Journal,
    pub target: &'a Target,
}

impl Traffic<'_> {
    /// The target takes all of the backend's traffic, the others none: one record, written
    /// before the others are touched, says both.
    pub fn pin(&mut self, p: &Pin) -> Result<()> {
        let mut records = vec![Record::Enable(p.target_server())];
        records.extend(p.others.iter().map(|o| Record::Disable(p.server(o))));
        self.haproxy.set(&p.backend, &p.target, Change::Ready)?;
        self.journal.record(self.target, &records)?;
        for other in &p.others {
            self.haproxy.set(&p.backend, other, Change::Maint)?;
        }
        Ok(())
    }

    /// The others take traffic again (waited for, up to [`HAND_BACK`]), then the targets
    /// are drained: their processes can stop without a request being sent to them.
    pub fn hand_back(&mut self, pins: &[Pin]) -> Result<()> {
        for p in pins {
            for o in &p.others {
                self.haproxy.set(&p.backend, o, Change::Ready)?;
                self.journal
                    .record(self.target, &[Record::Enable(p.server(o))])?;
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
                .record(self.target, &[Record::Disable(p.target_server())])?;
            self.haproxy.set(&p.backend, &p.target, Change::Drain)?;
        }
        Ok(())
    }

    /// The targets down until a check passes against the new process: "UP" must not be
    /// the verdict of a check the old one passed.
    pub fn mark_down(&self, pins: &[Pin]) -> Result<()> {
        for p in pins {
            self.haproxy
                .set(&p.backend, &p.target, Change::HealthDown)?;
        }
        Ok(())
    }

    /// The targets take traffic again beside the others (their checks decide when).
    pub fn ready(&mut self, pins: &[Pin]) -> Result<()> {
        for p in pins {
            self.haproxy.set(&p.backend, &p.target, Change::Ready)?;
            self.journal
                .record(self.target, &[Record::Enable(p.target_server())])?;
        }
        Ok(())
    }
}

/// Marks `server` up at once, down only because HAProxy has not checked what runs now
/// yet: when a check has passed against it (`DOWN 1/3`), since the rest of `rise` would
/// only repeat it, one `inter` apart (OSA: 12 s each); or when HAProxy's check, made by
/// git-osa ([`Haproxy::check`]), passes before HAProxy's next one. True when it did; a
/// refusal is left to HAProxy's next checks.
pub fn mark_up_early(haproxy: &Haproxy, server: &Server) -> bool {
    let passed = match server.state() {
        State::GoingUp => true,
        State::Down => haproxy.check(server) == Some(Verdict::Pass),
        _ => false,
    };
    passed
        && haproxy
            .set(&server.backend, &server.name, Change::HealthUp)
            .is_ok()
}

/// What [`wait_healthy`] waits for.
pub struct Wanted<'a> {
    /// Units that must be active.
    pub units: &'a [String],
    /// They are git-osa's transient dev services: systemd collects one that ends, so
    /// any state but active (or on its way) is an end. A production unit has ended
    /// only when it says `failed`.
    pub dev: bool,
    /// HAProxy servers that must pass their checks...
    pub servers: &'a [ServerRef],
    /// ...and take traffic (UP), not only pass checks (a drained server that answers).
    pub taking_traffic: bool,
}

/// How a wait for health ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// `stop` turned true first.
    Stopped,
    /// These units ended (failed) instead.
    Ended(Vec<String>),
    /// Not within [`TIMEOUT`]: whether the units were active, whether the servers were up.
    TimedOut {
        active: bool,
        up: bool,
    },
}

/// Waits until `wanted` is true of `target` and HAProxy, a unit ends, `stop` turns true
/// or [`TIMEOUT`] passes.
pub fn wait_healthy(
    ui: &Ui,
    target: &Target,
    haproxy: &Haproxy,
    wanted: &Wanted,
    stop: &dyn Fn() -> bool,
) -> Result<Health> {
    let _p = ui.progress(if wanted.dev {
        "waiting for the dev units to serve"
    } else {
        "waiting for production to be healthy"
    });
    let start = Instant::now();
    let mut argv = vec!["systemctl".to_string(), "is-active".into()];
    argv.extend(wanted.units.iter().cloned());
    let mut active = wanted.units.is_empty();
    loop {
        if wanted.dev || !active {
            let out = target.output(&argv, None)?;
            let states = String::from_utf8_lossy(&out.stdout).into_owned();
            let ended: Vec<String> = wanted
                .units
                .iter()
                .zip(states.lines())
                .filter(|(_, st)| match (wanted.dev, st.trim()) {
                    (true, st) => !matches!(st, "active" | "activating" | "reloading"),
                    (false, st) => st == "failed",
                })
                .map(|(u, _)| u.clone())
                .collect();
            if !ended.is_empty() {
                return Ok(Health::Ended(ended));
            }
            active = out.status.success();
        }
        let up = wanted.servers.is_empty() || {
            let mut all = haproxy.servers()?;
            let wanted_server = |s: &Server| {
                wanted
                    .servers
                    .iter()
                    .any(|w| s.backend == w.backend && s.name == w.server)
            };
            let mut cut = false;
            for s in all.iter().filter(|s| wanted_server(s)) {
                cut |= active && mark_up_early(haproxy, s);
            }
            if cut {
                all = haproxy.servers()?;
            }
            wanted.servers.iter().all(|w| {
                all.iter().any(|s| {
                    s.backend == w.backend
                        && s.name == w.server
                        && if wanted.taking_traffic {
                            s.is_up()
                        } else {
                            s.is_healthy()
                        }
                })
            })
        };
        if active && up {
            return Ok(Health::Healthy);
        }
        if stop() {
            return Ok(Health::Stopped);
        }
        if start.elapsed() > TIMEOUT {
            return Ok(Health::TimedOut { active, up });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(backend: &str, name: &str, status: &str) -> Server {
        Server {
            backend: backend.into(),
            name: name.into(),
            status: status.into(),
            addr: None,
            elsewhere: None,
        }
    }

    #[test]
    fn the_others_are_those_taking_traffic_and_those_this_session_disabled() {
        let keystone = crate::catalog::Catalog::builtin()
            .by_name("keystone")
            .unwrap()
            .units
            .clone();
        let host = Host {
            inventory_name: "c1".into(),
            container_name: "c1".into(),
            physical_host: None,
            address: None,
            metal: false,
        };
        let b = "keystone_service-back";
        let all = vec![
            server(b, "c1", "UP"),
            server(b, "c2", "UP"),
            server(b, "c3", "MAINT"),
            server(b, "c4", "MAINT"),
            server(b, "c5", "DOWN"),
        ];
        let disabled = [ServerRef {
            backend: b.into(),
            server: "c4".into(),
        }];
        assert_eq!(
            pins(&all, &host, &keystone, &disabled),
            [Pin {
                backend: b.into(),
                target: "c1".into(),
                others: vec!["c2".into(), "c4".into()],
            }],
            "c3 was put in maintenance by someone else, c5 is down: neither is given traffic"
        );
        assert!(
            pins(&all[..1], &host, &keystone, &[]).is_empty(),
            "alone in its backend: nothing to pin"
        );
    }
}
