//! The session record as steps run: each change a step makes is recorded in the session
//! on the target before (write-ahead) or after it, so `restore` can undo whatever was done,
//! even after git-osa was killed between the record and the change.

use crate::error::Result;
use crate::haproxy::ServerRef;
use crate::layout::Paths;
use crate::session::lock::Writer;
use crate::session::{LastSync, Session};
use crate::transport::Target;

/// A change to the session record, applied before (write-ahead) or after a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Mark(&'static str),
    StoppedUnits(Vec<String>),
    VenvBackup {
        venv: String,
        backup: String,
    },
    Dropins(Vec<String>),
    Synced {
        commit: Option<String>,
        dirty: bool,
        review: Option<crate::session::Review>,
    },
    InstallHash(Option<String>),
    /// A library installed `--with` the service (replaces the record of its last install).
    With(crate::session::WithLibrary),
    MigrationsHash(String),
    /// The fingerprint of production's migrations ([`crate::migrations::digest`]).
    ProductionMigrations(String),
    /// A complete snapshot of the service's database (recorded once the dump is whole).
    DbSnapshot(crate::db::Snapshot),
    /// The snapshot's schema and rows were noted (`db_undo`).
    DbNotes,
    Disable(ServerRef),
    Enable(ServerRef),
    DevUnits(Vec<String>),
    /// The dev units run detached since then (None: they stopped).
    Detached(Option<u64>),
    LastSync(LastSync),
    /// A dev process had to be killed while it stopped (replaces the unit's last one).
    Cut(crate::session::Cut),
    /// The service's configuration roots were noted (`git osa conf diff`, restore).
    ConfNoted(Vec<String>),
    /// `git osa conf set` set a value (replaces the one of the same key).
    ConfSet(crate::session::ConfSetting),
    /// `git osa conf unset` took a value back to production's.
    ConfUnset(crate::session::ConfSetting),
    /// The remote debugger installed for the session.
    Debugger(crate::session::Debugger),
    /// The detached dev units start with (or without) the hot-patch agent.
    HotPatch(bool),
    /// Restore undid one kind of change.
    Undone(Undone),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undone {
    DevProcess,
    Venv,
    Dropins,
    Units,
    Servers,
    /// The session's migrations were undone with the database snapshot.
    DbSnapshot,
    /// The configuration was put back as the session found it.
    Conf,
}

impl Record {
    pub fn apply(&self, s: &mut Session) {
        fn add<T: PartialEq + Clone>(list: &mut Vec<T>, items: &[T]) {
            for i in items {
                if !list.contains(i) {
                    list.push(i.clone());
                }
            }
        }
        match self {
            Record::Mark(m) => s.mark(m),
            Record::StoppedUnits(u) => add(&mut s.stopped_units, u),
            Record::VenvBackup { venv, backup } => {
                s.venv = Some(venv.clone());
                s.venv_backup = Some(backup.clone());
            }
            Record::Dropins(d) => add(&mut s.dropins, d),
            Record::With(lib) => {
                s.with.retain(|w| w.package != lib.package);
                s.with.push(lib.clone());
            }
            Record::Synced {
                commit,
                dirty,
                review,
            } => {
                s.review = review.clone();
                s.commit = commit.clone();
                s.dirty = *dirty;
                s.synced_at = Some(crate::clock::now());
            }
            Record::InstallHash(h) => s.install_hash = h.clone(),
            Record::MigrationsHash(h) => s.migrations_hash = Some(h.clone()),
            Record::ProductionMigrations(h) => s.production_migrations = Some(h.clone()),
            Record::DbSnapshot(snap) => {
                s.db_snapshot = Some(snap.clone());
                s.db_snapshot_at = Some(crate::clock::now());
            }
            Record::DbNotes => s.db_notes = true,
            Record::Disable(d) => add(&mut s.disabled_servers, std::slice::from_ref(d)),
            Record::Enable(d) => s.disabled_servers.retain(|x| x != d),
            Record::DevUnits(u) => s.dev_units = u.clone(),
            Record::Detached(at) => {
                s.detached_at = *at;
                if at.is_none() {
                    s.hot_patch = false;
                }
            }
            Record::HotPatch(on) => s.hot_patch = *on,
            Record::LastSync(l) => s.last_sync = Some(l.clone()),
            Record::Cut(c) => {
                s.cut.retain(|x| x.unit != c.unit);
                s.cut.push(c.clone());
            }
            Record::ConfNoted(roots) => {
                let conf = s.conf.get_or_insert_with(Default::default);
                conf.roots = roots.clone();
            }
            Record::ConfSet(c) => {
                let conf = s.conf.get_or_insert_with(Default::default);
                conf.set.retain(|x| !x.same_key(c));
                conf.set.push(c.clone());
            }
            Record::ConfUnset(c) => {
                if let Some(conf) = &mut s.conf {
                    conf.set.retain(|x| !x.same_key(c));
                }
            }
            Record::Debugger(d) => s.debugger = Some(d.clone()),
            Record::Undone(what) => match what {
                Undone::DevProcess => {
                    s.dev_units.clear();
                    s.detached_at = None;
                    s.hot_patch = false;
                }
                Undone::Venv => {
                    s.venv_backup = None;
                    s.debugger = None;
                }
                Undone::Dropins => s.dropins.clear(),
                Undone::Units => s.stopped_units.clear(),
                Undone::Servers => s.disabled_servers.clear(),
                Undone::DbSnapshot => {
                    s.db_snapshot = None;
                    s.db_snapshot_at = None;
                    s.db_notes = false;
                }
                Undone::Conf => s.conf = None,
            },
        }
    }
}

/// The session record on the target, kept up to date as steps run: each change is
/// written before (write-ahead) or after the step it describes.
#[derive(Debug)]
pub struct Journal {
    pub paths: Paths,
    pub session: Session,
    /// Records applied to `session` and not written yet ([`Journal::note`]).
    pub unwritten: bool,
    /// Writes through the holder of the target's lock, where the lock is held by this
    /// git-osa: no command of its own per write.
    pub writer: Option<Writer>,
}

impl Journal {
    pub fn new(paths: Paths, session: Session) -> Journal {
        Journal {
            paths,
            session,
            unwritten: false,
            writer: None,
        }
    }

    pub fn save(&mut self, target: &Target) -> Result<()> {
        let through_lock = match &self.writer {
            Some(w) if w.target == target.name => w.save(&self.session.to_json()?)?,
            _ => false,
        };
        if !through_lock {
            self.session.save(target, &self.paths)?;
        }
        self.unwritten = false;
        Ok(())
    }

    pub fn record(&mut self, target: &Target, records: &[Record]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        for r in records {
            r.apply(&mut self.session);
        }
        self.save(target)
    }

    /// Applies records that only tell what was done (what a sync sent, an install's or db
    /// sync's inputs), leaving their write to the next record, or to [`Journal::flush`]:
    /// one round trip to the target instead of two. Lost with a crash, they only cost a
    /// redundant install or db sync next time; what restore needs is always written
    /// before the change it describes.
    pub fn note(&mut self, records: &[Record]) {
        for r in records {
            r.apply(&mut self.session);
            self.unwritten = true;
        }
    }

    pub fn flush(&mut self, target: &Target) -> Result<()> {
        if self.unwritten {
            self.save(target)?;
        }
        Ok(())
    }

    /// A record that can wait for the next write: it says what was done, and nothing of it
    /// is needed to undo it.
    pub fn can_wait(record: &Record) -> bool {
        matches!(
            record,
            Record::Mark(_)
                | Record::Synced { .. }
                | Record::InstallHash(_)
                | Record::MigrationsHash(_)
                | Record::ProductionMigrations(_)
                | Record::LastSync(_)
                // The note is only read once something changed the configuration, and
                // every such change is recorded before it is made.
                | Record::ConfNoted(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_records_that_tell_what_was_done_can_wait_for_the_next_write() {
        let mut j = Journal::new(Paths::new("keystone"), Session::default());
        j.note(&[
            Record::InstallHash(Some("h".into())),
            Record::Mark("installed"),
        ]);
        assert!(j.unwritten);
        assert_eq!(j.session.install_hash.as_deref(), Some("h"));
        let d = ServerRef {
            backend: "b".into(),
            server: "s".into(),
        };
        // What restore needs to undo a change is written before the change, never later.
        for r in [
            Record::Disable(d),
            Record::StoppedUnits(vec!["u".into()]),
            Record::DevUnits(vec!["u.service".into()]),
            Record::VenvBackup {
                venv: "v".into(),
                backup: "b".into(),
            },
            Record::Dropins(vec!["d".into()]),
        ] {
            assert!(!Journal::can_wait(&r), "{r:?}");
        }
        assert!(Journal::can_wait(&Record::Mark("synced")));
    }

    #[test]
    fn records_are_idempotent() {
        let mut s = Session::default();
        let d = ServerRef {
            backend: "b".into(),
            server: "s".into(),
        };
        for _ in 0..2 {
            Record::Disable(d.clone()).apply(&mut s);
            Record::StoppedUnits(vec!["u".into()]).apply(&mut s);
        }
        assert_eq!(s.disabled_servers.len(), 1);
        assert_eq!(s.stopped_units, ["u"]);
        Record::Enable(d).apply(&mut s);
        assert!(s.disabled_servers.is_empty());
    }
}
