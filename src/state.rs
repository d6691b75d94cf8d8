//! The dev session's state, kept on the target (`/var/lib/git-osa/<service>/`), so a second
//! terminal or another developer sees it, and `restore` can finish the job after git-osa
//! was killed at any point.
//!
//! The record is written *before* each change it describes (write-ahead): a crash between
//! the record and the change leaves a step that restore undoes idempotently.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::layout::Paths;
use crate::lxc::Target;

/// One server of one HAProxy backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRef {
    pub backend: String,
    pub server: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Session {
    pub service: String,
    pub project: String,
    pub container: String,
    /// Unix seconds.
    pub started_at: u64,
    pub started_by: String,
    pub commit: Option<String>,
    pub dirty: bool,
    pub synced_at: Option<u64>,
    /// Production units git-osa stopped (started again on restore).
    #[serde(default)]
    pub stopped_units: Vec<String>,
    pub venv: Option<String>,
    /// The exact copy of the production venv, renamed back on restore.
    pub venv_backup: Option<String>,
    #[serde(default)]
    pub dropins: Vec<String>,
    #[serde(default)]
    pub disabled_servers: Vec<ServerRef>,
    /// Fingerprint of what the last install depended on.
    pub install_hash: Option<String>,
    /// Fingerprint of the migrations at the last db sync.
    pub migrations_hash: Option<String>,
    /// Fingerprint of production's migration files (paths and contents), read once:
    /// production's code does not change while the session lasts, so later syncs compare
    /// the checkout's migrations with it instead of reading them from the container again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_migrations: Option<String>,
    /// Transient units (scopes) of the dev processes.
    #[serde(default)]
    pub dev_units: Vec<String>,
    /// The checkout (its folder on the host) the session runs: the one whose git hooks
    /// redeploy it.
    #[serde(default)]
    pub checkout: Option<String>,
    /// When the dev units were started detached (`git osa run --detach`), if they were.
    #[serde(default)]
    pub detached_at: Option<u64>,
    /// The last `git osa sync` (by hand or from a git hook), and how it ended.
    #[serde(default)]
    pub last_sync: Option<LastSync>,
    /// Steps applied so far, in order, for `status`.
    #[serde(default)]
    pub applied: Vec<String>,
    /// Libraries installed `--with` the service, editable, from their own checkouts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<WithLibrary>,
    /// The Gerrit change the synced code is, when `git osa review` deployed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
    /// The database snapshot taken before the session's first db sync (`--db-snapshot`):
    /// restore undoes the session's migrations with it before production starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_snapshot: Option<crate::db::Snapshot>,
    /// When that snapshot was complete (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_snapshot_at: Option<u64>,
    /// The snapshot's schema and rows are noted beside it (`db_undo`), and so is what
    /// each db sync since changed: restore undoes only that. Without notes (a snapshot of
    /// an older git-osa), it can only load the snapshot back whole.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub db_notes: bool,
    /// Dev processes that had to be killed while they stopped (the last time of each
    /// unit): the work they had under way was cut.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cut: Vec<Cut>,
}

/// A dev process killed while it stopped, before it finished its work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    pub unit: String,
    /// Why it was killed: `a second Ctrl-C`, `still running after its unit's
    /// TimeoutStopSec of 2min`.
    pub why: String,
    /// Unix seconds.
    pub at: u64,
}

/// A library installed `--with` the service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithLibrary {
    pub package: String,
    /// The checkout on the host it came from.
    pub checkout: String,
    pub commit: Option<String>,
    pub dirty: bool,
    /// Fingerprint of what its last install depended on.
    pub install_hash: String,
}

/// A Gerrit change's patchset, as `git osa review` fetched it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub change: u64,
    pub patchset: u32,
    pub subject: String,
    /// Gerrit's owner of the change when its REST API answered (a lookup by Change-Id),
    /// else the patchset commit's author (`Name <email>`).
    pub owner: String,
    /// What git fetched from: a remote of the checkout (`gerrit`) or a URL.
    pub server: String,
    pub commit: String,
    /// The changes of other projects its `Depends-On:` footers name, installed with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Dependency>,
}

/// A change of another project a reviewed change depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub project: String,
    pub change: u64,
    pub patchset: u32,
    pub subject: String,
}

/// How the last `git osa sync` ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSync {
    /// Unix seconds, when it ended.
    pub at: u64,
    pub commit: Option<String>,
    pub dirty: bool,
    /// None when it succeeded; the error's first line otherwise.
    pub error: Option<String>,
}

/// The mark of a finished copy of the production venv: a copy cut short by a kill has
/// the record of the copy (written before it) but not this.
pub const VENV_KEPT: &str = "production venv kept";

impl Session {
    /// The exact copy of the production venv is complete.
    pub fn venv_kept(&self) -> bool {
        self.venv_backup.is_some() && self.applied.iter().any(|m| m == VENV_KEPT)
    }

    /// A session starting now, before anything is changed.
    pub fn new(service: &str, project: &str, container: &str, started_by: &str) -> Session {
        Session {
            service: service.into(),
            project: project.into(),
            container: container.into(),
            started_at: now(),
            started_by: started_by.into(),
            ..Session::default()
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<Session> {
        serde_json::from_slice(bytes)
            .map_err(|e| anyhow::anyhow!("unreadable git-osa session state: {e}").into())
    }

    pub fn mark(&mut self, step: &str) {
        if !self.applied.iter().any(|s| s == step) {
            self.applied.push(step.to_string());
        }
    }

    /// The record as it is written in the target.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec_pretty(self).map_err(anyhow::Error::from)?)
    }

    /// Writes the state atomically (temp file + rename) in the target.
    pub fn save(&self, target: &Target, paths: &Paths) -> Result<()> {
        let json = self.to_json()?;
        target.run(
            &[
                "sh",
                "-c",
                r#"mkdir -p -m 0755 "$1" && cat > "$2.tmp" && mv -f "$2.tmp" "$2""#,
                "git-osa-save",
                &paths.dir,
                &paths.session(),
            ],
            Some(&json),
        )?;
        Ok(())
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `3 min ago` style ages for status.
pub fn age(since: u64) -> String {
    let secs = now().saturating_sub(since);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86399 => format!("{} h {} min ago", secs / 3600, secs % 3600 / 60),
        _ => format!("{} days ago", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_tolerates_missing_lists() {
        let mut s = Session {
            service: "keystone".into(),
            container: "c1".into(),
            ..Default::default()
        };
        s.mark("units stopped");
        s.mark("units stopped");
        assert_eq!(s.applied, ["units stopped"]);
        let back = Session::parse(&serde_json::to_vec(&s).unwrap()).unwrap();
        assert_eq!(back.applied, s.applied);
        let old =
            br#"{"service":"k","project":"p","container":"c","started_at":1,"started_by":"me",
                       "commit":null,"dirty":false,"synced_at":null,"venv":null,"venv_backup":null,
                       "install_hash":null,"migrations_hash":null}"#;
        assert!(Session::parse(old).unwrap().stopped_units.is_empty());
        assert!(Session::parse(b"not json").is_err());
    }
}
