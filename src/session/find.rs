//! Finding dev sessions: the one a command of the checkout acts on ([`find`]: `sync`,
//! `stop`, `logs`, `watch`), and those `restore` puts back, in the project's containers or
//! in every container of the host; running ones by asking them, stopped ones by reading
//! their files on the host (a stopped container in dev mode holds a session that cannot be
//! reached, and must not read as "nothing to restore").

use crate::catalog::Unit;
use crate::context::{Context, Placement, Project};
use crate::error::{Error, Result};
use crate::inventory::Host;
use crate::layout::{self, Paths};
use crate::lxc::{Lxc, LxcState};
use crate::probe;
use crate::select;
use crate::session::{Lock, Session};
use crate::transport::Target;

/// Lists the sessions in a target, whatever their service.
const LIST: &str = r#"for f in "$1"/*/session.json; do [ -f "$f" ] && printf '%s\n' "${f%/session.json}"; done; exit 0"#;

/// A container and service that may have a session.
pub struct Candidate {
    pub host: Host,
    pub service: String,
    pub units: Vec<Unit>,
}

/// The containers to restore: those running, and those stopped (which may hold a
/// session that cannot be reached).
#[derive(Default)]
pub struct Todo {
    pub running: Vec<Candidate>,
    pub stopped: Vec<(Candidate, LxcState)>,
}

/// The session of `paths`' service in a running target, if it has one.
pub fn read(target: &Target, paths: &Paths) -> Result<Option<Session>> {
    read_raw(target, paths)?
        .map(|b| Session::read(&b, &target.name, &paths.session()))
        .transpose()
}

/// The session record of `paths`' service in a running target as it is, if it has one.
pub fn read_raw(target: &Target, paths: &Paths) -> Result<Option<Vec<u8>>> {
    let p = probe::probe(target, &[], &[paths.session()], "")?;
    Ok(p.file(&paths.session()).map(<[u8]>::to_vec))
}

/// Stopped containers that hold a session (read from their files on the host): an
/// error saying how to reach them, or a warning when the host cannot see their files.
pub fn unreachable(ctx: &Context, stopped: &[(Candidate, LxcState)]) -> Option<Error> {
    let mut found = Vec::new();
    for (c, state) in stopped {
        let name = &c.host.container_name;
        let session = Paths::new(&c.service).session();
        let lxc = ctx.lxc(&c.host);
        if lxc.rootfs_dirs(name).is_empty() {
            ctx.ui.warn(format!(
                "{name} is {state}: git-osa cannot tell whether it holds a dev session; {}",
                state.remedy(name, ctx.global.lxc_path.as_deref())
            ));
        } else if lxc.read_stopped(name, &session).ok().flatten().is_some() {
            found.push((name, state, &c.service));
        }
    }
    let ((first, state, service), rest) = found.split_first()?;
    let mut err = Error::user(format!(
        "{first} is {state} and holds a {service} dev session: nothing of it was restored"
    ))
    .hint(format!(
        "{}, then run `git osa restore` again",
        state.remedy(first, ctx.global.lxc_path.as_deref())
    ));
    for (name, state, _) in rest {
        err = err.hint(format!(
            "{name} is {state} and holds a dev session too: {}",
            state.remedy(name, ctx.global.lxc_path.as_deref())
        ));
    }
    Some(err)
}

/// The project's placements, or the one `container` names.
fn placements_named(
    ctx: &Context,
    project: &Project,
    container: Option<&str>,
) -> Result<Vec<Placement>> {
    let (placements, _) = ctx.placements(&project.service)?;
    Ok(match container {
        Some(c) => vec![select::named(&project.service, &placements, c)?.clone()],
        None => placements,
    })
}

/// The current project's containers (or the one `--container` names).
pub fn project_containers(ctx: &Context, container: Option<&str>) -> Result<Todo> {
    let project = ctx.project()?;
    let placements = placements_named(ctx, &project, container)?;
    let mut todo = Todo::default();
    for p in placements {
        let c = Candidate {
            host: p.host,
            service: project.service.name.clone(),
            units: p.units,
        };
        let state = if c.host.metal {
            LxcState::Running
        } else {
            ctx.lxc(&c.host).state(&c.host.container_name)?
        };
        match state {
            LxcState::Running => todo.running.push(c),
            state => todo.stopped.push((c, state)),
        }
    }
    Ok(todo)
}

/// Every session in every container of this host.
pub fn every_container(ctx: &Context) -> Result<Todo> {
    let hosts: Vec<Host> = if ctx.has_inventory() {
        ctx.inventory()?.all_containers()
    } else {
        ctx.home_lxc()
            .list()?
            .into_iter()
            .map(|n| Host {
                inventory_name: n.clone(),
                container_name: n,
                physical_host: None,
                address: None,
                metal: false,
            })
            .collect()
    };
    let mut todo = Todo::default();
    for host in hosts {
        let state = if host.metal {
            LxcState::Running
        } else {
            ctx.lxc(&host).state(&host.container_name)?
        };
        if state != LxcState::Running {
            // Which service's session it may hold is unknown: look for any.
            for service in stopped_sessions(&ctx.lxc(&host), &host.container_name) {
                todo.stopped.push((
                    Candidate {
                        units: units_of(ctx, &service),
                        host: host.clone(),
                        service,
                    },
                    state.clone(),
                ));
            }
            continue;
        }
        let t = ctx.target(&host);
        let found = t.run(
            &crate::exec::sh(LIST, "git-osa-list", &[layout::ROOT]),
            None,
        )?;
        for dir in String::from_utf8_lossy(&found.stdout).lines() {
            if let Some(service) = dir.rsplit('/').next() {
                todo.running.push(Candidate {
                    host: host.clone(),
                    service: service.to_string(),
                    units: units_of(ctx, service),
                });
            }
        }
    }
    Ok(todo)
}

fn units_of(ctx: &Context, service: &str) -> Vec<Unit> {
    ctx.catalog
        .by_name(service)
        .map(|s| s.units.clone())
        .unwrap_or_default()
}

/// The services with a session in a stopped container's files.
fn stopped_sessions(lxc: &Lxc, name: &str) -> Vec<String> {
    let services = lxc.list_stopped(name, layout::ROOT).unwrap_or_default();
    services
        .into_iter()
        .filter(|s| {
            let session = Paths::new(s).session();
            lxc.read_stopped(name, &session).ok().flatten().is_some()
        })
        .collect()
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
}

/// Finds the container of the checkout's service that is in dev mode: the one named, or
/// the only one with a session.
pub fn find(ctx: &Context, container: Option<&str>) -> Result<InDev> {
    let read = |t: &Target, p: &Paths| Ok(read(t, p)?.map(|s| (s, ())));
    Ok(find_with(ctx, container, read)?.0)
}

/// [`find`], holding the lock of the container found: taken where a session is, in the
/// round trip that reads it (under the lock).
pub fn find_locked(ctx: &Context, container: Option<&str>, doing: &str) -> Result<(InDev, Lock)> {
    find_with(ctx, container, |t, p| {
        super::lock::waiting_for_redeploy(&ctx.ui, &ctx.cwd, || Lock::acquire_session(t, p, doing))?
            .map(|(lock, record)| Ok((Session::read(&record, &t.name, &p.session())?, lock)))
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
    let placements = placements_named(ctx, &project, container)?;
    let paths = Paths::new(&service);
    // One round trip per container, all at once: a sync or a hook without --container
    // waits for the slowest container, not for the sum of them.
    type Found<T> = (Placement, Target, Session, T);
    let read_one = |p: Placement| -> Result<Option<Found<T>>> {
        if !p.host.metal && ctx.lxc(&p.host).state(&p.host.container_name)? != LxcState::Running {
            return Ok(None);
        }
        let target = ctx.target(&p.host);
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
