//! A container's status as `git osa status` prints it.

use std::fmt::Write as _;

use super::TargetStatus;
use crate::haproxy::ServerRef;
use crate::session::{self, Session};

/// Renders one target as text.
pub fn render(out: &mut String, st: &TargetStatus) {
    let h = &st.placement.host;
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", h.container_name);
    let host = st
        .machine
        .as_deref()
        .or(h.physical_host.as_deref())
        .unwrap_or("(this host)");
    let _ = match &st.reach {
        crate::site::Reach::Here => writeln!(out, "  host     {host}"),
        ssh => writeln!(out, "  host     {host} ({ssh})"),
    };
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
        let _ = match &s.elsewhere {
            None => writeln!(out, "  haproxy  {}/{}  {}", s.backend, s.name, s.status),
            Some((node, status)) => writeln!(
                out,
                "  haproxy  {}/{}  {} ({status} on {node})",
                s.backend, s.name, s.status
            ),
        };
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

/// The Gerrit change a review session runs, and whether a newer patchset exists.
fn render_review(
    out: &mut String,
    r: &session::Review,
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
    if let Some((why, unread)) = &st.damaged {
        let _ = writeln!(out, "  record   DAMAGED: {why}");
        let _ = writeln!(out, "  unread   {}", unread.join(", "));
    }
    if st.from_rootfs {
        let _ = writeln!(
            out,
            "  record   read from the stopped container's files (git-osa acts on it once the container runs)"
        );
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
            // A damaged record may not say when, or who.
            let since = match (s.started_at, s.started_by.as_str()) {
                (0, "") => String::new(),
                (0, by) => format!(", by {by}"),
                (at, by) => format!(", since {} by {by}", crate::clock::age(at)),
            };
            let _ = writeln!(out, "  dev      {commit}{dirty}{since}");
            let changes = changes(s, &st.lost_pins);
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
                        "detached: {} (git-osa-dev-*.service), since {}{} (`git osa logs -f` follows, `git osa stop` ends)",
                        detached.join(", "),
                        s.detached_at
                            .map(crate::clock::age)
                            .unwrap_or_else(|| "(unknown)".into()),
                        if s.hot_patch {
                            ", hot patching: a sync of function bodies is patched into the workers"
                        } else {
                            ""
                        }
                    )
                } else if !st.unattended.is_empty() {
                    format!(
                        "running: {}, with no git-osa attached: the one that ran it ended without stopping it (killed, or its connection lost); `git osa logs -f` follows it, `git osa restore` ends the session",
                        running.join(", ")
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
            if let Some(d) = &s.debugger {
                let _ = writeln!(
                    out,
                    "  debugger {} in the venv until restore; the dev process listens on 127.0.0.1:{} in the container while `git osa --debugpy={}` runs (forwarded to 127.0.0.1:{} there)",
                    d.kind, d.port, d.port, d.port
                );
            }
            match &st.conf {
                Some(Ok(changes)) => {
                    for l in crate::devconf::render(changes, "") {
                        let _ = writeln!(out, "  config   {l}");
                    }
                }
                Some(Err(e)) => {
                    let _ = writeln!(
                        out,
                        "  config   cannot be compared with what the session found: {e}"
                    );
                }
                None => {}
            }
            for c in &s.cut {
                let _ = writeln!(out, "  cut      {}", c.describe());
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
        .map(crate::clock::age)
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

/// `812 bytes`, `20.1 KiB`, `3.4 MiB`.
fn human_size(b: u64) -> String {
    match b {
        0..1024 => format!("{b} bytes"),
        1024..1_048_576 => format!("{:.1} KiB", b as f64 / 1024.0),
        _ => format!("{:.1} MiB", b as f64 / 1_048_576.0),
    }
}

/// The last `git osa sync`: when, which commit, how it ended.
pub fn last_sync(l: &session::LastSync) -> String {
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
        None => format!("{commit}{dirty}, {}: ok", crate::clock::age(l.at)),
        Some(e) => format!("{commit}{dirty}, {}: FAILED: {e}", crate::clock::age(l.at)),
    }
}

/// What the session changed, from its record: each change is recorded before it is
/// made, so a git-osa killed in the middle of a step still shows it.
/// `lost`: the servers HAProxy took back into rotation since (see [`crate::traffic::lost`]),
/// which are not said to be out of it.
pub fn changes(s: &Session, lost: &[ServerRef]) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(b) = &s.venv_backup {
        parts.push(if s.venv_kept() {
            format!("production venv kept at {b}")
        } else {
            format!("production venv being kept at {b} (unfinished)")
        });
    }
    if !s.stopped_units.is_empty() {
        parts.push(format!("production {} stopped", s.stopped_units.join(", ")));
    }
    if !s.disabled_servers.is_empty() {
        let (out, back): (Vec<&ServerRef>, Vec<&ServerRef>) =
            s.disabled_servers.iter().partition(|d| !lost.contains(d));
        let names = |l: &[&ServerRef]| -> String {
            let n: Vec<String> = l
                .iter()
                .map(|d| format!("{}/{}", d.backend, d.server))
                .collect();
            n.join(", ")
        };
        if !out.is_empty() {
            parts.push(format!("HAProxy {} out of rotation", names(&out)));
        }
        if !back.is_empty() {
            parts.push(format!(
                "HAProxy {} taken out of rotation, and back in it: HAProxy forgot (restarted or reloaded)",
                names(&back)
            ));
        }
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
            changes(&s, &[]),
            [
                "production venv being kept at /v/.git-osa-prod-k (unfinished)",
                "production keystone-wsgi-public stopped",
                "HAProxy keystone_service-back/c2 out of rotation"
            ]
        );
        s.mark(crate::session::VENV_KEPT);
        assert_eq!(
            changes(&s, &[])[0],
            "production venv kept at /v/.git-osa-prod-k"
        );
        assert!(changes(&Session::default(), &[]).is_empty());
    }
}
