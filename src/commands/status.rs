//! `git osa status`: where the checkout's service runs, in what state, and which dev
//! sessions are open.

use std::fmt::Write as _;

use crate::catalog::Unit;
use crate::cli::StatusArgs;
use crate::context::{Context, Placement, Source};
use crate::error::{Error, Result};
use crate::haproxy::Server;
use crate::inventory::Host;
use crate::lxc::LxcState;
use crate::probe::{self, Probe};
use crate::state::{self, Paths, Session};

/// What one target looks like now.
pub struct TargetStatus {
    pub placement: Placement,
    pub lxc: LxcState,
    pub probe: Option<Probe>,
    pub session: Option<Session>,
    pub servers: Vec<Server>,
}

/// The dev scope's name for a unit.
pub fn dev_scope(unit: &str) -> String {
    format!("git-osa-dev-{unit}.scope")
}

/// Reads the state of every placement: one `lxc-info` and one probe per container, one
/// HAProxy query in all.
pub fn gather(
    ctx: &Context,
    service: &crate::catalog::Service,
    placements: &[Placement],
) -> Result<Vec<TargetStatus>> {
    let servers = if ctx.haproxy.available() {
        ctx.haproxy.servers().unwrap_or_default()
    } else {
        Vec::new()
    };
    let paths = Paths::new(&service.name);
    let mut out = Vec::new();
    for p in placements {
        let lxc = if p.host.metal {
            LxcState::Running
        } else {
            ctx.lxc.state(&p.host.container_name)?
        };
        let (probe, session) = if lxc == LxcState::Running {
            let mut units: Vec<String> = p.units.iter().map(|u| u.name.clone()).collect();
            units.extend(p.units.iter().map(|u| dev_scope(&u.name)));
            let probe = probe::probe(&p.target(&ctx.lxc), &units, &[paths.session()], "")?;
            let session = match probe.file(&paths.session()) {
                Some(b) => Some(Session::parse(b)?),
                None => None,
            };
            (Some(probe), session)
        } else {
            (None, None)
        };
        let servers = servers_of(&servers, &p.host, &p.units);
        out.push(TargetStatus {
            placement: p.clone(),
            lxc,
            probe,
            session,
            servers,
        });
    }
    Ok(out)
}

/// The HAProxy servers that stand for `host` in the backends of `units`: named after it
/// (OSA names servers after inventory hosts) or at its address.
pub fn servers_of(all: &[Server], host: &Host, units: &[Unit]) -> Vec<Server> {
    let backends: Vec<String> = units
        .iter()
        .filter_map(crate::catalog::Service::backend)
        .collect();
    let at_host = |s: &Server| {
        let addr = s
            .addr
            .as_deref()
            .and_then(|a| a.rsplit_once(':'))
            .map(|(ip, _)| ip);
        s.name == host.inventory_name
            || s.name == host.container_name
            || (addr.is_some() && addr == host.address.as_deref())
    };
    all.iter()
        .filter(|s| backends.contains(&s.backend) && at_host(s))
        .cloned()
        .collect()
}

pub fn run(ctx: &Context, _args: &StatusArgs) -> Result<()> {
    let project = ctx.project()?;
    let (placements, source) = ctx.placements(&project.service)?;
    let statuses = gather(ctx, &project.service, &placements)?;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "project    {} (service {})",
        project.id.display(),
        project.service.name
    );
    let _ = writeln!(
        out,
        "checkout   {}",
        project
            .checkout
            .root
            .display()
            .to_string()
            .trim_end_matches('/')
    );
    match source {
        Source::Inventory(p) => {
            let _ = writeln!(out, "inventory  {}", p.display());
        }
        Source::ContainerNames => {
            let _ = writeln!(
                out,
                "inventory  none at {}; containers matched by name",
                ctx.global.inventory.display()
            );
        }
    }
    let mut problems = Vec::new();
    for st in &statuses {
        render(&mut out, st, &mut problems);
    }
    print!("{out}");
    if problems.is_empty() {
        return Ok(());
    }
    let mut err = Error::user(problems.remove(0));
    for p in problems {
        err = err.hint(p);
    }
    Err(err)
}

/// How to get a container that is not running back.
pub fn what_to_do(name: &str, state: &LxcState) -> String {
    match state {
        LxcState::Missing => format!(
            "rebuild it with `openstack-ansible openstack.osa.containers_lxc_create --limit localhost,lxc_hosts,{name}` and rerun the service's playbook"
        ),
        _ => format!("start it with `lxc-start -n {name}`"),
    }
}

fn render(out: &mut String, st: &TargetStatus, problems: &mut Vec<String>) {
    let h = &st.placement.host;
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", h.container_name);
    let _ = writeln!(
        out,
        "  host     {}",
        h.physical_host.as_deref().unwrap_or("(this host)")
    );
    let _ = writeln!(
        out,
        "  address  {}",
        h.address.as_deref().unwrap_or("(unknown)")
    );
    if h.metal {
        let _ = writeln!(out, "  lxc      none (runs on the host: is_metal)");
    } else {
        let _ = writeln!(out, "  lxc      {}", st.lxc);
    }
    match st.lxc {
        LxcState::Running => {}
        LxcState::Missing => problems.push(format!(
            "container {} does not exist: {}",
            h.container_name,
            what_to_do(&h.container_name, &st.lxc)
        )),
        _ => problems.push(format!(
            "container {} is {}: {}",
            h.container_name,
            st.lxc,
            what_to_do(&h.container_name, &st.lxc)
        )),
    }
    for u in &st.placement.units {
        let state = st
            .probe
            .as_ref()
            .and_then(|p| p.unit(&u.name))
            .map(|i| i.state())
            .unwrap_or_else(|| "unknown".into());
        let _ = writeln!(out, "  unit     {:<28} {state}", u.name);
    }
    for s in &st.servers {
        let _ = writeln!(out, "  haproxy  {}/{}  {}", s.backend, s.name, s.status);
    }
    match &st.session {
        None => {
            let _ = writeln!(out, "  dev      none (production)");
        }
        Some(s) => {
            let commit = s
                .commit
                .as_deref()
                .map(|c| &c[..c.len().min(12)])
                .unwrap_or("(no commit)");
            let dirty = if s.dirty {
                " + uncommitted changes"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  dev      {commit}{dirty}, since {} by {}",
                state::age(s.started_at),
                s.started_by
            );
            let _ = writeln!(
                out,
                "  applied  {}",
                if s.applied.is_empty() {
                    "nothing yet".into()
                } else {
                    s.applied.join(", ")
                }
            );
            let running: Vec<&str> = st
                .placement
                .units
                .iter()
                .filter(|u| {
                    st.probe
                        .as_ref()
                        .and_then(|p| p.unit(&dev_scope(&u.name)))
                        .is_some_and(|i| i.active())
                })
                .map(|u| u.name.as_str())
                .collect();
            let _ = writeln!(
                out,
                "  process  {}",
                if running.is_empty() {
                    "not running (`git osa` runs it, `git osa restore` ends the session)"
                        .to_string()
                } else {
                    format!("running: {}", running.join(", "))
                }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn server(backend: &str, name: &str, addr: &str) -> Server {
        Server {
            backend: backend.into(),
            name: name.into(),
            status: "UP".into(),
            addr: Some(addr.into()),
        }
    }

    #[test]
    fn servers_are_those_of_the_chosen_units_backends_by_name_or_address() {
        let heat = Catalog::builtin().by_name("heat").unwrap().clone();
        let host = Host {
            inventory_name: "aio1_heat_api_container-36e270c9".into(),
            container_name: "aio1_heat_api_container-36e270c9".into(),
            physical_host: None,
            address: Some("172.29.238.60".into()),
            metal: false,
        };
        let all = vec![
            server(
                "heat_api-back",
                "aio1_heat_api_container-36e270c9",
                "172.29.238.60:8004",
            ),
            server("heat_api_cfn-back", "renamed-by-hand", "172.29.238.60:8000"),
            server(
                "heat_api-back",
                "aio1_heat_api_container-99999999",
                "172.29.238.61:8004",
            ),
            server(
                "keystone_service-back",
                "aio1_heat_api_container-36e270c9",
                "172.29.238.60:5000",
            ),
        ];
        let names = |units: &[Unit]| -> Vec<String> {
            servers_of(&all, &host, units)
                .into_iter()
                .map(|s| format!("{}/{}", s.backend, s.name))
                .collect()
        };
        assert_eq!(
            names(&heat.units),
            [
                "heat_api-back/aio1_heat_api_container-36e270c9",
                "heat_api_cfn-back/renamed-by-hand"
            ]
        );
        let engine: Vec<Unit> = heat
            .units
            .iter()
            .filter(|u| u.name == "heat-engine")
            .cloned()
            .collect();
        assert!(
            names(&engine).is_empty(),
            "heat-engine is not balanced: nothing to drain"
        );
    }
}
