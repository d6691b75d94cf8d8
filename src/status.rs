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
    /// For a session from `git osa review`: the change's patchsets on its server, or why
    /// they are not known (`None` until asked, and with `--offline`).
    pub review_latest: Option<std::result::Result<u32, String>>,
    /// For a session with a database snapshot: the dump's size in bytes, or why it is
    /// not known (the file is gone, say).
    pub db_snapshot_size: Option<std::result::Result<u64, String>>,
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
            units.extend(p.units.iter().map(|u| layout::dev_service(&u.name)));
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
        let db_snapshot_size = session
            .as_ref()
            .and_then(|s| s.db_snapshot.as_ref())
            .map(|snap| dump_size(&p.target(&ctx.lxc), snap.dump()));
        out.push(TargetStatus {
            service: service.name.clone(),
            servers: servers_of(servers, &p.host, &p.units),
            placement: p.clone(),
            lxc,
            probe,
            session,
            review_latest: None,
            db_snapshot_size,
        });
    }
    Ok(out)
}

/// The size of a snapshot's dump in the target: one `stat` (only sessions that took one).
fn dump_size(target: &crate::lxc::Target, dump: &str) -> std::result::Result<u64, String> {
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

/// Renders one target as text.
pub fn render(out: &mut String, st: &TargetStatus) {
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
    for u in &st.placement.units {
        let state = st.unit(&u.name).map(|i| i.state());
        let _ = writeln!(
            out,
            "  unit     {:<28} {}",
            u.name,
            state.as_deref().unwrap_or("unknown")
        );
    }
    for s in &st.servers {
        let _ = writeln!(out, "  haproxy  {}/{}  {}", s.backend, s.name, s.status);
    }
    render_session(out, st);
    if let Some(r) = st.session.as_ref().and_then(|s| s.review.as_ref()) {
        render_review(out, r, st.review_latest.as_ref());
    }
    for w in st.session.iter().flat_map(|s| &s.with) {
        let commit = w
            .commit
            .as_deref()
            .map_or("(no commit)", |c| &c[..c.len().min(12)]);
        let dirty = if w.dirty {
            " + uncommitted changes"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  with     {} from {} at {commit}{dirty}, editable in the venv until restore",
            w.package,
            w.checkout.trim_end_matches('/')
        );
    }
    if let Some(found) = st.dev_code_outside_session() {
        let _ = writeln!(out, "  code     dev code outside a session: {found}");
    }
}

/// What needs the user's attention in one target, each with what to do.
pub fn problems(st: &TargetStatus, lxc_path: Option<&std::path::Path>) -> Vec<String> {
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

/// The Gerrit change a review session runs, and whether a newer patchset exists.
fn render_review(
    out: &mut String,
    r: &state::Review,
    latest: Option<&std::result::Result<u32, String>>,
) {
    let newer = match latest {
        Some(Ok(l)) if *l > r.patchset => format!(
            "; patchset {l} is out: `git osa review {}` deploys it",
            r.change
        ),
        Some(Ok(_)) => "; the latest".to_string(),
        Some(Err(e)) => format!("; newer patchsets unknown: {e}"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "  review   change {} patchset {}{newer}",
        r.change, r.patchset
    );
    let _ = writeln!(out, "  subject  {}", r.subject);
    let _ = writeln!(out, "  owner    {}", r.owner);
    for d in &r.depends_on {
        let _ = writeln!(
            out,
            "  depends  {} change {} patchset {}: {}",
            d.project, d.change, d.patchset, d.subject
        );
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
            let changes = changes(s);
            let _ = writeln!(
                out,
                "  changed  {}",
                if changes.is_empty() {
                    "nothing yet".to_string()
                } else {
                    changes.join("; ")
                }
            );
            let running = st.dev_running();
            let detached = st.detached();
            let on_dev = st.units_on_dev_install();
            let _ = writeln!(
                out,
                "  process  {}",
                if !detached.is_empty() {
                    format!(
                        "detached: {} (git-osa-dev-*.service), since {} (`git osa logs -f` follows, `git osa stop` ends)",
                        detached.join(", "),
                        s.detached_at
                            .map(state::age)
                            .unwrap_or_else(|| "(unknown)".into())
                    )
                } else if !running.is_empty() {
                    format!("running: {}", running.join(", "))
                } else if !on_dev.is_empty() {
                    format!(
                        "not running, but systemd runs {} from the dev install (`git osa restore` restarts production)",
                        on_dev.join(", ")
                    )
                } else {
                    "not running (`git osa` runs it, `git osa restore` ends the session)"
                        .to_string()
                }
            );
            if let Some(l) = &s.last_sync {
                let _ = writeln!(out, "  sync     {}", last_sync(l));
            }
            if let Some(snap) = &s.db_snapshot {
                let _ = writeln!(
                    out,
                    "  db       {}",
                    db_snapshot(
                        snap,
                        s.db_snapshot_at,
                        st.db_snapshot_size.as_ref(),
                        s.db_notes
                    )
                );
            }
            for c in &s.cut {
                let _ = writeln!(out, "  cut      {}", cut(c));
            }
        }
    }
}

/// The database snapshot of a session: which database, its size, when, where, and what
/// restore does with it.
pub fn db_snapshot(
    snap: &crate::db::Snapshot,
    at: Option<u64>,
    size: Option<&std::result::Result<u64, String>>,
    noted: bool,
) -> String {
    let engine = snap.engine();
    let when = at
        .map(state::age)
        .unwrap_or_else(|| "(when unknown)".into());
    let size = match size {
        Some(Ok(b)) => human_size(*b),
        Some(Err(e)) => format!("size unknown: {e}"),
        None => "size not read".into(),
    };
    format!(
        "snapshot of {} ({engine}), {size}, taken {when}, in {}; `git osa restore` {}",
        snap.describe(),
        snap.dump(),
        if noted {
            "undoes the session's migrations with it, keeping the rows others write"
        } else {
            "loads it back whole"
        }
    )
}

/// A dev process killed while it stopped: which, why, when, and what it means.
pub fn cut(c: &state::Cut) -> String {
    format!(
        "{} was killed (SIGKILL, {}) {}: work it had under way was cut",
        c.unit,
        c.why,
        state::age(c.at)
    )
}

/// `812 bytes`, `20.1 KiB`, `3.4 MiB`.
fn human_size(b: u64) -> String {
    match b {
        0..1024 => format!("{b} bytes"),
        1024..1_048_576 => format!("{:.1} KiB", b as f64 / 1024.0),
        _ => format!("{:.1} MiB", b as f64 / 1_048_576.0),
    }
}

/// The last `git osa sync`: when, which commit, how it ended.
pub fn last_sync(l: &state::LastSync) -> String {
    let commit = l
        .commit
        .as_deref()
        .map(|c| &c[..c.len().min(12)])
        .unwrap_or("(no commit)");
    let dirty = if l.dirty {
        " + uncommitted changes"
    } else {
        ""
    };
    match &l.error {
        None => format!("{commit}{dirty}, {}: ok", state::age(l.at)),
        Some(e) => format!("{commit}{dirty}, {}: FAILED: {e}", state::age(l.at)),
    }
}

/// What the session changed, from its record: each change is recorded before it is
/// made, so a git-osa killed in the middle of a step still shows it.
pub fn changes(s: &Session) -> Vec<String> {
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
    parts
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
            [
                "production venv being copied to /v/.git-osa-prod-k",
                "production keystone-wsgi-public stopped",
                "HAProxy keystone_service-back/c2 out of rotation"
            ]
        );
        s.mark(crate::state::VENV_KEPT);
        assert_eq!(changes(&s)[0], "production venv kept at /v/.git-osa-prod-k");
        assert!(changes(&Session::default()).is_empty());
    }
}
