//! The dev session: its record, kept on the target (`/var/lib/git-osa/<service>/`), so a
//! second terminal or another developer sees it, and `restore` can finish the job after
//! git-osa was killed at any point; how the record changes as steps run (`record.rs`);
//! finding the session a command acts on (`find.rs`); and the lock that lets one git-osa
//! at a time change it (`lock.rs`).
//!
//! The record is written *before* each change it describes (write-ahead): a crash between
//! the record and the change leaves a step that restore undoes idempotently.

pub mod find;
pub mod lock;
pub mod record;

pub use find::InDev;
pub use lock::Lock;
pub use record::Record;

use serde::{Deserialize, Serialize};

use crate::clock::now;
use crate::error::Result;
use crate::haproxy::{ServerRef, State};
use crate::layout::Paths;
use crate::transport::Target;

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
    /// How production looked when the session began, for restore to put back as it was
    /// (absent in a session an older git-osa began: restore then brings every unit and
    /// server up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Before>,
    /// The service's configuration as the session found it, and what `git osa conf`
    /// changed since (absent in a session an older git-osa began).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conf: Option<DevConf>,
    /// The remote debugger installed into the venv for the session (`--debugpy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debugger: Option<Debugger>,
    /// The detached uWSGI units run git-osa's hot-patch agent (`run --detach
    /// --hot-patch`): a sync of function bodies only is applied in their workers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hot_patch: bool,
}

/// The service's configuration in a session: what its configuration folders held when the
/// session began (noted in `conf-before.tar` in the session's folder, which restore puts
/// back), and what `git osa conf set` changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevConf {
    /// The folders and files noted: the service's configuration folder, its units'
    /// uWSGI inis.
    pub roots: Vec<String>,
    /// What `git osa conf set` set, in order.
    #[serde(default)]
    pub set: Vec<ConfSetting>,
}

/// One value `git osa conf set` set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfSetting {
    /// The file it belongs to (the service's oslo.config file's go into git-osa's drop-in
    /// beside it; another file is changed in place).
    pub file: String,
    /// The ini section; none for a policy rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    pub key: String,
    pub value: String,
}

impl ConfSetting {
    /// Whether `other` names the same value (file, section and key).
    pub fn same_key(&self, other: &ConfSetting) -> bool {
        self.file == other.file && self.section == other.section && self.key == other.key
    }
}

/// A remote debugger in the session's venv: the dev process listens on the container's
/// loopback, and the git-osa that runs it forwards the port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debugger {
    /// `debugpy`.
    pub kind: String,
    /// Its port on the container's loopback, and on the developer's machine.
    pub port: u16,
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

impl Cut {
    /// What it means, as status and restore say it.
    pub fn describe(&self) -> String {
        format!(
            "{} was killed (SIGKILL, {}) {}: work it had under way was cut",
            self.unit,
            self.why,
            crate::clock::age(self.at)
        )
    }
}

/// Production as the session found it: the units it swaps, and the HAProxy servers of
/// their backends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Before {
    #[serde(default)]
    pub units: Vec<UnitBefore>,
    #[serde(default)]
    pub servers: Vec<ServerBefore>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitBefore {
    pub unit: String,
    pub active: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerBefore {
    pub backend: String,
    pub server: String,
    /// As HAProxy said it (`UP`, `DOWN`, `MAINT`...).
    pub status: String,
}

impl Before {
    /// Whether `unit` ran before the session; unknown units did.
    pub fn was_active(&self, unit: &str) -> bool {
        self.units
            .iter()
            .find(|u| u.unit == unit)
            .is_none_or(|u| u.active)
    }

    /// `server`'s state before the session, when it was recorded.
    pub fn server(&self, server: &ServerRef) -> Option<State> {
        self.servers
            .iter()
            .find(|s| s.backend == server.backend && s.server == server.server)
            .map(|s| State::parse(&s.status))
    }
}

/// A damaged record, as much of it as could be read.
#[derive(Debug, Clone)]
pub struct Salvaged {
    pub session: Session,
    /// The fields that could not be read (`the whole record` when none could).
    pub unread: Vec<&'static str>,
}

/// The error of a damaged record: which, where, and what still works.
pub fn damaged(container: &str, path: &str, why: &str) -> crate::error::Error {
    crate::error::Error::user(format!(
        "the git-osa session record {path} in {container} is damaged: {why}"
    ))
    .hint(format!(
        "`git osa status` shows what can be read of it; `git osa restore --container {container}` puts production back from that and from what the container holds"
    ))
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

    /// The record `path` of `container`, or an error that names both and the way out.
    pub fn read(bytes: &[u8], container: &str, path: &str) -> Result<Session> {
        serde_json::from_slice(bytes).map_err(|e| damaged(container, path, &e.to_string()))
    }

    /// What can be read of a damaged record, field by field: each field that parses is
    /// kept, each that does not is named in [`Salvaged::unread`]; of a record that is not
    /// a JSON object, nothing.
    pub fn salvage(bytes: &[u8]) -> Salvaged {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(bytes) else {
            return Salvaged {
                session: Session::default(),
                unread: vec!["the whole record"],
            };
        };
        let mut s = Session::default();
        let mut unread = Vec::new();
        macro_rules! fields {
            ($($f:ident),* $(,)?) => {$(
                if let Some(v) = map.get(stringify!($f)) {
                    match serde_json::from_value(v.clone()) {
                        Ok(x) => s.$f = x,
                        Err(_) => unread.push(stringify!($f)),
                    }
                }
            )*};
        }
        fields!(
            service,
            project,
            container,
            started_at,
            started_by,
            commit,
            dirty,
            synced_at,
            stopped_units,
            venv,
            venv_backup,
            dropins,
            disabled_servers,
            install_hash,
            migrations_hash,
            production_migrations,
            dev_units,
            checkout,
            detached_at,
            last_sync,
            applied,
            with,
            review,
            db_snapshot,
            db_snapshot_at,
            db_notes,
            cut,
            before,
            conf,
            debugger,
            hot_patch,
        );
        Salvaged { session: s, unread }
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
            &crate::exec::sh(
                r#"mkdir -p -m 0755 "$1" && cat > "$2.tmp" && mv -f "$2.tmp" "$2""#,
                "git-osa-save",
                &[&paths.dir, &paths.session()],
            ),
            Some(&json),
        )?;
        Ok(())
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
        let back = Session::read(&serde_json::to_vec(&s).unwrap(), "c", "f").unwrap();
        assert_eq!(back.applied, s.applied);
        let old =
            br#"{"service":"k","project":"p","container":"c","started_at":1,"started_by":"me",
                       "commit":null,"dirty":false,"synced_at":null,"venv":null,"venv_backup":null,
                       "install_hash":null,"migrations_hash":null}"#;
        assert!(
            Session::read(old, "c", "f")
                .unwrap()
                .stopped_units
                .is_empty()
        );
        let err = Session::read(b"not json", "c1", "/var/lib/git-osa/k/session.json").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "the git-osa session record /var/lib/git-osa/k/session.json in c1 is damaged: "
            ),
            "{err}"
        );
        assert!(
            err.hints()[0].contains("git osa restore --container c1"),
            "{:?}",
            err.hints()
        );
    }

    /// A record of the wrong shape keeps what can be read of it, field by field; one that
    /// is not JSON keeps nothing.
    #[test]
    fn a_damaged_record_is_salvaged_field_by_field() {
        let bad = br#"{"service":"keystone","stopped_units":["keystone-wsgi-public"],
            "venv":"/openstack/venvs/keystone-30.0.0","disabled_servers":"oops",
            "started_at":"yesterday"}"#;
        assert!(Session::read(bad, "c", "f").is_err());
        let s = Session::salvage(bad);
        assert_eq!(s.session.stopped_units, ["keystone-wsgi-public"]);
        assert_eq!(
            s.session.venv.as_deref(),
            Some("/openstack/venvs/keystone-30.0.0")
        );
        assert_eq!(s.unread, ["started_at", "disabled_servers"]);
        let truncated = br#"{"service":"keystone","stopped_un"#;
        assert_eq!(Session::salvage(truncated).unread, ["the whole record"]);
    }

    /// Regression: the cut and the database notes of a damaged record were dropped by
    /// salvage, so restore loaded the snapshot back whole instead of undoing only the
    /// session's migrations.
    #[test]
    fn salvage_keeps_every_field_a_sound_record_has() {
        let mut sound = Session {
            service: "heat".into(),
            db_notes: true,
            cut: vec![Cut {
                unit: "heat-engine".into(),
                why: "a second Ctrl-C".into(),
                at: 1_700_000_000,
            }],
            before: Some(Before::default()),
            ..Session::default()
        };
        sound.mark("db synced");
        let bytes = sound.to_json().unwrap();
        let salvaged = Session::salvage(&bytes);
        assert!(salvaged.unread.is_empty(), "{:?}", salvaged.unread);
        assert_eq!(
            salvaged.session.to_json().unwrap(),
            Session::read(&bytes, "c", "f").unwrap().to_json().unwrap()
        );
    }
}
