//! What `git osa status` shows: each container of the service, its units, its HAProxy
//! servers and its dev session, read in one `lxc-info` and one probe per container and
//! one HAProxy query in all, and rendered as text.

use std::fmt::Write as _;

use crate::catalog::Service;
use crate::context::{Context, Placement};
use crate::error::Result;
use crate::haproxy::{Server, servers_of};
use crate::layout::{self, Paths};
use crate::lxc::LxcState;
use crate::probe::{self, Probe};
use crate::state::{self, Session};

/// What one target looks like now.
pub struct TargetStatus {
    pub service: String,
    pub placement: Placement,
    pub lxc: LxcState,
    pub probe: Option<Probe>,
    pub session: Option<Session>,
    pub servers: Vec<Server>,
}

/// Reads the state of every placement; `servers` are HAProxy's (read once for all).
pub fn gather(
    ctx: &Context,
    service: &Service,
    placements: &[Placement],
    servers: &[Server],
) -> Result<Vec<TargetStatus>> {
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
            units.extend(p.units.iter().map(|u| layout::dev_scope(&u.name)));
            let probe = probe::probe(
                &p.target(&ctx.lxc),
                &units,
                &[paths.session()],
                &dev_install_globs(service),
            )?;
            let session = probe
                .file(&paths.session())
                .map(Session::parse)
                .transpose()?;
            (Some(probe), session)
        } else {
            (None, None)
        };
        out.push(TargetStatus {
            service: service.name.clone(),
            servers: servers_of(servers, &p.host, &p.units),
            placement: p.clone(),
            lxc,
            probe,
            session,
        });
    }
    Ok(out)
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

/// Renders one target; what needs the user's attention goes to `problems`.
pub fn render(
    out: &mut String,
    st: &TargetStatus,
    lxc_path: Option<&std::path::Path>,
    problems: &mut Vec<String>,
) {
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
            st.lxc.remedy(&h.container_name, lxc_path)
        )),
        _ => problems.push(format!(
            "container {} is {}: {}",
            h.container_name,
            st.lxc,
            st.lxc.remedy(&h.container_name, lxc_path)
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
    render_session(out, st);
    if st.session.is_none()
        && let Some(found) = st.probe.as_ref().and_then(|p| p.paths.first())
    {
        let _ = writeln!(out, "  code     dev code outside a session: {found}");
        problems.push(format!(
            "{} runs dev code without a git-osa session ({found}): `git osa restore` has no record to undo it",
            h.container_name
        ));
        problems.push(format!(
            "rebuild the venv: `openstack-ansible openstack.osa.{} -e venv_rebuild=true` (or rename the `.git-osa-prod-*` copy beside it back)",
            st.service
        ));
    }
}

/// The dev session of a target, if it has one.
fn render_session(out: &mut String, st: &TargetStatus) {
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
            let _ = writeln!(out, "  changed  {}", changes(s));
            let running: Vec<&str> = st
                .placement
                .units
                .iter()
                .filter(|u| {
                    st.probe
                        .as_ref()
                        .and_then(|p| p.unit(&layout::dev_scope(&u.name)))
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

/// What the session changed, from its record: each change is recorded before it is
/// made, so a git-osa killed in the middle of a step still shows it.
fn changes(s: &Session) -> String {
    let mut parts = Vec::new();
    if let Some(b) = &s.venv_backup {
        parts.push(if s.venv_kept() {
            format!("production venv kept at {b}")
        } else {
            format!("production venv being copied to {b}")
        });
    }
    if !s.stopped_units.is_empty() {
        parts.push(format!("production {} stopped", s.stopped_units.join(", ")));
    }
    if !s.disabled_servers.is_empty() {
        let servers: Vec<String> = s
            .disabled_servers
            .iter()
            .map(|d| format!("{}/{}", d.backend, d.server))
            .collect();
        parts.push(format!("HAProxy {} out of rotation", servers.join(", ")));
    }
    if s.synced_at.is_some() {
        parts.push("checkout synced".into());
    }
    if s.applied.iter().any(|m| m == "installed") {
        parts.push("installed into the venv".into());
    }
    if !s.dropins.is_empty() {
        parts.push("log drop-in".into());
    }
    if s.migrations_hash.is_some() {
        parts.push("db synced".into());
    }
    if parts.is_empty() {
        return "nothing yet".into();
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ServerRef;

    /// Regression: after a kill during the venv copy, status said "applied nothing yet"
    /// while the unit was stopped and its server draining.
    #[test]
    fn changes_come_from_the_record_written_before_each_change() {
        let mut s = Session {
            venv_backup: Some("/v/.git-osa-prod-k".into()),
            stopped_units: vec!["keystone-wsgi-public".into()],
            disabled_servers: vec![ServerRef {
                backend: "keystone_service-back".into(),
                server: "c2".into(),
            }],
            ..Session::default()
        };
        assert_eq!(
            changes(&s),
            "production venv being copied to /v/.git-osa-prod-k; production keystone-wsgi-public stopped; HAProxy keystone_service-back/c2 out of rotation"
        );
        s.mark(crate::state::VENV_KEPT);
        assert!(changes(&s).starts_with("production venv kept at /v/.git-osa-prod-k;"));
        assert_eq!(changes(&Session::default()), "nothing yet");
    }
}
