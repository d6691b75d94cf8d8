//! What `git osa status` shows: each container of the service, its units, its HAProxy
//! servers and its dev session, read in one `lxc-info` and one probe per container and
//! one HAProxy query in all ([`report`]); rendered as text by `render.rs`, as JSON by
//! `json/status.rs`.

mod render;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::catalog::Service;
use crate::context::{Context, Placement, Source};
use crate::error::{Error, Result};
use crate::haproxy::{Server, servers_of};
use crate::layout::{self, Paths};
use crate::lxc::LxcState;
use crate::probe::{self, Probe};
use crate::project::{Checkout, ProjectId};
use crate::session::Session;
use crate::watch::Watcher;

pub use render::{changes, render};

/// What `git osa status` found for the checkout's service.
pub struct Report {
    pub project: ProjectId,
    pub service: String,
    /// The checkout's folder, without a trailing `/`.
    pub checkout: String,
    /// The checkout's watcher, if one runs.
    pub watcher: Option<Watcher>,
    /// The checkout's watcher, if it died without ending (its record is there).
    pub dead_watcher: Option<crate::watch::Dead>,
    pub source: Source,
    /// HAProxy could not be read, when a unit of the service is balanced.
    pub haproxy_problem: Option<String>,
    pub statuses: Vec<TargetStatus>,
    /// What needs the user's attention, each with what to do; the containers' first.
    pub problems: Vec<String>,
}

/// Reads the state of the checkout's service everywhere it runs. `online`: also ask
/// Gerrit whether a reviewed change has a newer patchset.
pub fn report(ctx: &Context, online: bool) -> Result<Report> {
    let project = ctx.project()?;
    let (placements, source) = ctx.placements(&project.service)?;
    // One HAProxy query in all; a socket that cannot be reached is said, when a unit of
    // the service is balanced.
    let balanced = project.service.units.iter().any(|u| u.haproxy.is_some());
    // HAProxy's nodes are read while the targets answer: neither waits for the other.
    let (read, statuses) = std::thread::scope(|scope| {
        let read = scope.spawn(|| ctx.haproxy().servers());
        let statuses = gather(ctx, &project.service, &placements);
        let read = read
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (read, statuses)
    });
    let (servers, haproxy_problem) = match read {
        Ok(servers) => (servers, None),
        Err(e) if balanced => (Vec::new(), Some(e.to_string())),
        Err(_) => (Vec::new(), None),
    };
    let mut statuses = statuses?;
    for st in &mut statuses {
        st.servers = servers_of(&servers, &st.placement.host, &st.placement.units);
        st.lost_pins = st
            .session
            .as_ref()
            .map(|s| crate::traffic::lost(&servers, &s.disabled_servers))
            .unwrap_or_default();
    }
    if online {
        latest_patchsets(&project.checkout, &mut statuses);
    }
    // The containers' problems first: a missing container matters more than HAProxy.
    let mut problems = Vec::new();
    for st in &statuses {
        problems.extend(problems_of(st, ctx.global.lxc_path.as_deref()));
    }
    if let Some(e) = &haproxy_problem {
        problems.push(format!(
            "HAProxy cannot be read: {e}; a run would not know where traffic goes"
        ));
        problems.push(ctx.haproxy().hint());
    }
    problems.extend(no_server_up(&project.service, &servers));
    let hooks = crate::hooks::Hooks::of(&project.checkout.root).ok();
    let watcher = hooks.as_ref().and_then(|h| crate::watch::running(&h.state));
    let dead_watcher = hooks.as_ref().and_then(|h| crate::watch::dead(&h.state));
    if let Some(d) = &dead_watcher {
        problems.push(format!(
            "the watcher of this checkout (pid {}) died {}: saves since then are not synced; `git osa watch` starts a new one, `git osa sync` sends them now",
            d.pid,
            crate::clock::age(d.last_seen)
        ));
    }
    Ok(Report {
        checkout: project
            .checkout
            .root
            .display()
            .to_string()
            .trim_end_matches('/')
            .to_string(),
        service: project.service.name.clone(),
        project: project.id,
        watcher,
        dead_watcher,
        source,
        haproxy_problem,
        statuses,
        problems,
    })
}

/// The service's backends in which no server takes traffic: every request to them fails.
fn no_server_up(service: &Service, servers: &[Server]) -> Vec<String> {
    let mut backends: Vec<String> = service.units.iter().filter_map(Service::backend).collect();
    backends.dedup();
    backends
        .into_iter()
        .filter(|b| {
            let of: Vec<&Server> = servers.iter().filter(|s| &s.backend == b).collect();
            !of.is_empty() && !of.iter().any(|s| s.takes_traffic())
        })
        .map(|b| {
            format!("HAProxy {b} has no server that takes traffic: every request to it fails (a container stopped? `git osa restore` puts production back)")
        })
        .collect()
}

/// For each review session, the newest patchset of its change: one query a change.
fn latest_patchsets(checkout: &Checkout, statuses: &mut [TargetStatus]) {
    let mut asked: BTreeMap<(String, u64), std::result::Result<u32, String>> = BTreeMap::new();
    for st in statuses.iter_mut() {
        let Some(r) = st.session.as_ref().and_then(|s| s.review.clone()) else {
            continue;
        };
        let latest = asked
            .entry((r.server.clone(), r.change))
            .or_insert_with(|| crate::gerrit::repo::latest_patchset(checkout, &r))
            .clone();
        st.review_latest = Some(latest);
    }
}

impl Report {
    /// The report as `git osa status` prints it; `inventory` is where the inventory was
    /// looked for.
    pub fn text(&self, inventory: &std::path::Path) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "project    {} (service {})",
            self.project.display(),
            self.service
        );
        let _ = writeln!(out, "checkout   {}", self.checkout);
        if let Some(w) = &self.watcher {
            let _ = writeln!(
                out,
                "watching   since {} (pid {}, {})",
                crate::clock::age(w.since),
                w.pid,
                if w.background {
                    "in the background: `git osa logs --watch` shows it"
                } else {
                    "on a terminal"
                }
            );
        }
        if let Some(d) = &self.dead_watcher {
            let _ = writeln!(
                out,
                "watching   DIED {} (pid {}, watching since {}): saves since then are not synced",
                crate::clock::age(d.last_seen),
                d.pid,
                crate::clock::age(d.since)
            );
        }
        match &self.source {
            Source::Inventory(p) => {
                let _ = writeln!(out, "inventory  {}", p.display());
            }
            Source::ContainerNames => {
                let _ = writeln!(
                    out,
                    "inventory  none at {}; containers matched by name",
                    inventory.display()
                );
            }
        }
        if let Some(e) = &self.haproxy_problem {
            let _ = writeln!(out, "haproxy    {e}");
        }
        for st in &self.statuses {
            render(&mut out, st);
        }
        out
    }

    /// The problems as the command's error (exit 2), each with what to do; none: success.
    pub fn verdict(&self) -> Result<()> {
        verdict(&self.problems)
    }
}

/// Problems found, as an error: the first its message, the others its hints; none, Ok.
pub fn verdict(problems: &[String]) -> Result<()> {
    let Some((first, rest)) = problems.split_first() else {
        return Ok(());
    };
    let mut err = Error::user(first.clone());
    for p in rest {
        err = err.hint(p.clone());
    }
    Err(err)
}

/// What one target looks like now.
pub struct TargetStatus {
    pub service: String,
    pub placement: Placement,
    pub lxc: LxcState,
    pub probe: Option<Probe>,
    /// The dev session: as recorded, or what could be read of a damaged record.
    pub session: Option<Session>,
    /// The session record does not parse: why, and the fields that could not be read.
    pub damaged: Option<(String, Vec<&'static str>)>,
    /// The session was read from the files of the stopped container, on the host.
    pub from_rootfs: bool,
    pub servers: Vec<Server>,
    /// The machine that runs it, as the inventory names it, and how it is reached.
    pub machine: Option<String>,
    pub reach: crate::site::Reach,
    /// Servers the session took out of rotation that take traffic again (HAProxy
    /// restarted or reloaded and forgot it).
    pub lost_pins: Vec<crate::haproxy::ServerRef>,
    /// Foreground dev processes that run with no git-osa attached: the one that ran them
    /// ended without stopping them (killed, or its ssh connection lost).
    pub unattended: Vec<String>,
    /// For a session from `git osa review`: the change's patchsets on its server, or why
    /// they are not known (`None` unless asked: `git osa status --online`).
    pub review_latest: Option<std::result::Result<u32, String>>,
    /// For a session with a database snapshot: the dump's size in bytes, or why it is
    /// not known (the file is gone, say).
    pub db_snapshot_size: Option<std::result::Result<u64, String>>,
    /// For a session of a running container: every difference from the configuration it
    /// found (`git osa conf diff`), or why it could not be read.
    pub conf: Option<std::result::Result<Vec<crate::devconf::FileChange>, String>>,
}

/// Reads the state of every placement; HAProxy's view of it (`servers`, `lost_pins`) is
/// the caller's to fill in, from HAProxy read once for all.
pub fn gather(
    ctx: &Context,
    service: &Service,
    placements: &[Placement],
) -> Result<Vec<TargetStatus>> {
    let paths = Paths::new(&service.name);
    // Each target answers on its own (a round trip or two to its host, over ssh for
    // another one): all at once, so that status on several hosts costs about one host's.
    let one = |p: &Placement| -> Result<TargetStatus> {
        let lxc = if p.host.metal {
            LxcState::Running
        } else {
            ctx.lxc(&p.host).state(&p.host.container_name)?
        };
        let (probe, session) = if lxc == LxcState::Running {
            let mut units: Vec<String> = p.units.iter().map(|u| u.name.clone()).collect();
            units.extend(p.units.iter().map(|u| layout::dev_scope(&u.name)));
            units.extend(p.units.iter().map(|u| layout::dev_service(&u.name)));
            let probe = probe::probe(
                &ctx.target(&p.host),
                &units,
                &[paths.session()],
                &dev_install_globs(service),
            )?;
            let record = probe.file(&paths.session()).map(<[u8]>::to_vec);
            (Some(probe), record)
        } else {
            // A stopped container's session is in its files on the host.
            let record = ctx
                .lxc(&p.host)
                .read_stopped(&p.host.container_name, &paths.session())
                .ok()
                .flatten();
            (None, record)
        };
        let from_rootfs = lxc != LxcState::Running && session.is_some();
        let (session, damaged) = match session {
            None => (None, None),
            Some(bytes) => match Session::read(&bytes, &p.host.container_name, &paths.session()) {
                Ok(s) => (Some(s), None),
                Err(e) => {
                    let salvaged = Session::salvage(&bytes);
                    (
                        Some(salvaged.session),
                        Some((e.to_string(), salvaged.unread)),
                    )
                }
            },
        };
        let db_snapshot_size = session
            .as_ref()
            .and_then(|s| s.db_snapshot.as_ref())
            .map(|snap| dump_size(&ctx.target(&p.host), snap.dump()));
        let foreground: Vec<String> = match (&probe, &session) {
            (Some(probe), Some(_)) => p
                .units
                .iter()
                .filter(|u| {
                    probe
                        .unit(&layout::dev_scope(&u.name))
                        .is_some_and(|i| i.active())
                })
                .map(|u| u.name.clone())
                .collect(),
            _ => Vec::new(),
        };
        // Only then a second round trip: is a git-osa holding the lock?
        let unattended = if !foreground.is_empty()
            && lock_free(&ctx.target(&p.host), &paths.lock()).unwrap_or(false)
        {
            foreground
        } else {
            Vec::new()
        };
        let conf = match (&session, lxc == LxcState::Running) {
            (Some(s), true) => Some(conf_changes(&ctx.target(&p.host), &paths, s, service)),
            _ => None,
        };
        let (machine, reach) = ctx.reach(&p.host);
        Ok(TargetStatus {
            conf,
            machine,
            reach,
            service: service.name.clone(),
            servers: Vec::new(),
            placement: p.clone(),
            lxc,
            probe,
            session,
            damaged,
            from_rootfs,
            lost_pins: Vec::new(),
            unattended,
            review_latest: None,
            db_snapshot_size,
        })
    };
    std::thread::scope(|scope| {
        let asked: Vec<_> = placements.iter().map(|p| scope.spawn(|| one(p))).collect();
        asked
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// A session's differences from the configuration it found: one more round trip, for a
/// session that noted it.
fn conf_changes(
    target: &crate::transport::Target,
    paths: &Paths,
    s: &Session,
    service: &Service,
) -> std::result::Result<Vec<crate::devconf::FileChange>, String> {
    let both = match s.conf.as_ref().filter(|c| !c.roots.is_empty()) {
        Some(c) => Some(crate::devconf::read(target, paths, c).map_err(|e| e.to_string())?),
        None => None,
    };
    Ok(crate::devconf::changes(
        both.as_ref(),
        s,
        service.config.as_deref(),
    ))
}

/// The size of a snapshot's dump in the target: one `stat` (only sessions that took one).
fn dump_size(target: &crate::transport::Target, dump: &str) -> std::result::Result<u64, String> {
    let out = target
        .output(&["stat", "-c", "%s", "--", dump], None)
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{dump} is gone"));
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| format!("cannot read the size of {dump}"))
}

/// Where an editable (dev) install shows in the service's venvs: pip's PEP 660 `.pth`
/// files and setuptools' older `.egg-link`s. Production venvs have neither.
fn dev_install_globs(service: &Service) -> String {
    let site = format!(
        "/openstack/venvs/{}-*/lib/python3*/site-packages",
        service.venv_name()
    );
    format!("{site}/__editable__*.pth {site}/*.egg-link")
}

/// What needs the user's attention in one target, each with what to do.
/// No git-osa holds the lock of `lock` in `target` (opened read-only: nothing is made
/// where there is none).
fn lock_free(target: &crate::transport::Target, lock: &str) -> Result<bool> {
    let out = target.output(
        &crate::exec::sh(
            r#"exec 9<"$1" 2>/dev/null || exit 0; flock -n 9 && exit 0; exit 1"#,
            "git-osa-lock-free",
            &[lock],
        ),
        None,
    )?;
    Ok(out.status.success())
}

pub fn problems_of(st: &TargetStatus, lxc_path: Option<&std::path::Path>) -> Vec<String> {
    let h = &st.placement.host;
    let mut problems = Vec::new();
    match st.lxc {
        LxcState::Running => {}
        LxcState::Missing => problems.push(format!(
            "container {} does not exist: {}",
            h.container_name,
            st.lxc.remedy(&h.container_name, lxc_path)
        )),
        _ => problems.push(format!(
            "container {} is {}: {}",
            h.container_name,
            st.lxc,
            st.lxc.remedy(&h.container_name, lxc_path)
        )),
    }
    if let Some((why, _)) = &st.damaged {
        problems.push(format!(
            "{why}: `git osa restore --container {}` puts production back from what can be read of it and from what the container holds",
            h.container_name
        ));
    }
    for lost in &st.lost_pins {
        problems.push(format!(
            "HAProxy {}/{}: the dev session in {} took it out of rotation, yet it takes traffic: HAProxy forgot (restarted or reloaded); `git osa sync` or `git osa run` puts it back",
            lost.backend, lost.server, h.container_name
        ));
    }
    if let Some(found) = st.dev_code_outside_session() {
        problems.push(format!(
            "{} runs dev code without a git-osa session ({found}): `git osa restore` has no record to undo it",
            h.container_name
        ));
        problems.push(format!(
            "rebuild the venv: `openstack-ansible openstack.osa.{} -e venv_rebuild=true` (or rename the `.git-osa-prod-*` copy beside it back)",
            st.service
        ));
    }
    problems
}

impl TargetStatus {
    /// A unit's state as systemd reports it, when the target could be asked.
    pub fn unit(&self, name: &str) -> Option<&crate::systemd::UnitInfo> {
        self.probe.as_ref().and_then(|p| p.unit(name))
    }

    /// The units whose dev process runs now (their dev scope, or detached dev service, is
    /// active).
    pub fn dev_running(&self) -> Vec<&str> {
        self.placement
            .units
            .iter()
            .filter(|u| {
                [layout::dev_scope(&u.name), layout::dev_service(&u.name)]
                    .iter()
                    .any(|n| self.unit(n).is_some_and(|i| i.active()))
            })
            .map(|u| u.name.as_str())
            .collect()
    }

    /// The units whose dev process runs detached now.
    pub fn detached(&self) -> Vec<&str> {
        self.placement
            .units
            .iter()
            .filter(|u| {
                self.unit(&layout::dev_service(&u.name))
                    .is_some_and(|i| i.active())
            })
            .map(|u| u.name.as_str())
            .collect()
    }

    /// The units the session stopped that run again from the venv holding the dev
    /// install, started by systemd rather than git-osa (a container restarted in dev
    /// mode starts its enabled units at boot).
    pub fn units_on_dev_install(&self) -> Vec<&str> {
        let Some(s) = &self.session else {
            return Vec::new();
        };
        if s.venv_backup.is_none() || !s.applied.iter().any(|m| m == "installed") {
            return Vec::new();
        }
        self.placement
            .units
            .iter()
            .filter(|u| s.stopped_units.contains(&u.name))
            .filter(|u| self.unit(&u.name).is_some_and(|i| i.active()))
            .map(|u| u.name.as_str())
            .collect()
    }

    /// An editable install found in the venvs while no session records one.
    pub fn dev_code_outside_session(&self) -> Option<&str> {
        if self.session.is_some() {
            return None;
        }
        self.probe
            .as_ref()
            .and_then(|p| p.paths.first())
            .map(String::as_str)
    }
}
