//! Finding dev sessions: in the project's containers or in every container of the host,
//! running ones by asking them, stopped ones by reading their files on the host (a stopped
//! container in dev mode holds a session that cannot be reached, and must not read as
//! "nothing to restore").

use crate::catalog::Unit;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::inventory::{Host, Inventory};
use crate::layout::{self, Paths};
use crate::lxc::LxcState;
use crate::probe;
use crate::select;
use crate::state::Session;
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
    let p = probe::probe(target, &[], &[paths.session()], "")?;
    p.file(&paths.session()).map(Session::parse).transpose()
}

/// Stopped containers that hold a session (read from their files on the host): an
/// error saying how to reach them, or a warning when the host cannot see their files.
pub fn unreachable(ctx: &Context, stopped: &[(Candidate, LxcState)]) -> Option<Error> {
    let mut found = Vec::new();
    for (c, state) in stopped {
        let name = &c.host.container_name;
        let layers = ctx.lxc.rootfs_dirs(name);
        let session = Paths::new(&c.service).session();
        if layers.is_empty() {
            ctx.ui.warn(format!(
                "{name} is {state}: git-osa cannot tell whether it holds a dev session; {}",
                state.remedy(name, ctx.lxc.path.as_deref())
            ));
        } else if layers
            .iter()
            .any(|l| l.join(session.trim_start_matches('/')).exists())
        {
            found.push((name, state, &c.service));
        }
    }
    let ((first, state, service), rest) = found.split_first()?;
    let mut err = Error::user(format!(
        "{first} is {state} and holds a {service} dev session: nothing of it was restored"
    ))
    .hint(format!(
        "{}, then run `git osa restore` again",
        state.remedy(first, ctx.lxc.path.as_deref())
    ));
    for (name, state, _) in rest {
        err = err.hint(format!(
            "{name} is {state} and holds a dev session too: {}",
            state.remedy(name, ctx.lxc.path.as_deref())
        ));
    }
    Some(err)
}

/// The current project's containers (or the one `--container` names).
pub fn project_containers(ctx: &Context, container: Option<&str>) -> Result<Todo> {
    let project = ctx.project()?;
    let (placements, _) = ctx.placements(&project.service)?;
    let placements = match container {
        Some(c) => vec![select::named(&placements, c).cloned().ok_or_else(|| {
            Error::user(format!("{c} is not one of the service's containers"))
                .hint("`git osa status` lists them")
        })?],
        None => placements,
    };
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
            ctx.lxc.state(&c.host.container_name)?
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
    let hosts: Vec<Host> = if ctx.global.inventory.exists() {
        Inventory::load(&ctx.global.inventory)?.all_containers()
    } else {
        ctx.lxc
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
            ctx.lxc.state(&host.container_name)?
        };
        if state != LxcState::Running {
            // Which service's session it may hold is unknown: look for any.
            for service in stopped_sessions(ctx, &host.container_name) {
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
        let t = ctx.lxc.target(&host.container_name, host.metal);
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
fn stopped_sessions(ctx: &Context, name: &str) -> Vec<String> {
    let mut services = Vec::new();
    for layer in ctx.lxc.rootfs_dirs(name) {
        let Ok(dirs) = std::fs::read_dir(layer.join(layout::ROOT.trim_start_matches('/'))) else {
            continue;
        };
        for d in dirs.flatten() {
            let service = d.file_name().to_string_lossy().into_owned();
            if d.path().join("session.json").exists() && !services.contains(&service) {
                services.push(service);
            }
        }
    }
    services
}
