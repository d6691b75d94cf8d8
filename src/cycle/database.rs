//! The database: the service's db sync, when a migration changed, after a snapshot of
//! the database when one is asked for.

use super::Cycle;
use crate::error::{Error, Result};
use crate::exec::Exec;
use crate::migrations;
use crate::plan::Step;
use crate::session::Record;

impl Cycle<'_> {
    /// Why the db sync is not needed, if it is not.
    fn db_sync_skip(&self, migrations_hash: &str) -> Option<String> {
        let service = &self.s.service;
        let wanted = &service.db_sync_groups;
        if let Some(groups) = &self.s.host_groups
            && !wanted.is_empty()
            && !wanted.iter().any(|g| groups.contains(g))
        {
            return Some(format!(
                "OSA runs it on hosts of {} (where the database is configured); {} is not one",
                wanted.join(", "),
                self.s.host.container_name
            ));
        }
        if self.session.migrations_hash.as_deref() == Some(migrations_hash)
            && !service.migrations.is_empty()
        {
            return Some("no migration changed since the last db sync".into());
        }
        let same = match (
            &self.s.production_migrations,
            &self.s.production_migrations_digest,
        ) {
            (Some(prod), _) => migrations::same(prod, &self.s.checkout.migrations),
            (None, Some(prod)) => {
                migrations::digest(&self.s.checkout.migrations).as_ref() == Some(prod)
            }
            (None, None) => false,
        };
        same.then(|| {
            "the checkout's migrations are production's: the schema is already at their head".into()
        })
    }

    /// The db sync commands, after a snapshot of the database when one is asked for and
    /// the session has none yet. Fails (before anything changed) when a snapshot is
    /// needed and cannot be taken.
    pub(super) fn db_sync(&self, snapshot: bool) -> Result<Vec<Step>> {
        let service = &self.s.service;
        if service.db_sync.is_empty() {
            return Ok(Vec::new());
        }
        let hash = migrations::fingerprint(service, &self.s.checkout.tree);
        let skip = self.db_sync_skip(&hash);
        let mut steps = Vec::new();
        let taken = self.session.db_snapshot.as_ref();
        if snapshot {
            steps.extend(self.db_snapshot(skip.as_ref(), taken)?);
        }
        // The snapshot's rows are noted before any db sync runs on them, then what each
        // db sync changes, so that restore undoes only that.
        let snapshotted = taken.is_some() || (snapshot && skip.is_none());
        let notes_now = snapshotted
            && skip.is_none()
            && !self.session.db_notes
            && self.session.migrations_hash.is_none();
        if notes_now {
            steps.extend(self.db_notes());
        }
        let noted = notes_now || (taken.is_some() && self.session.db_notes);
        let warning = match (snapshot && skip.is_none(), taken) {
            (_, Some(t)) if noted => format!(
                "the database schema was upgraded: `git osa restore` undoes it with the snapshot of {} taken before it, and keeps the rows others write meanwhile",
                t.describe()
            ),
            (_, Some(t)) => format!(
                "the database schema was upgraded: `git osa restore` loads the snapshot of {} taken before it",
                t.describe()
            ),
            (true, None) => "the database schema was upgraded: `git osa restore` undoes it with the snapshot taken before it, and keeps the rows others write meanwhile".into(),
            (false, None) => "the database schema was upgraded: `git osa restore` does not undo that".into(),
        };
        let last = service.db_sync.len() - 1;
        for (i, cmd) in service.db_sync.iter().enumerate() {
            let mut argv = cmd.clone();
            if !argv[0].starts_with('/') {
                argv[0] = format!("{}/bin/{}", self.s.venv, argv[0]);
            }
            let exec = if noted {
                crate::db_undo::noted_db_sync(&self.paths, &self.s.venv, &self.user, &argv)
            } else {
                Exec::new(argv).run_as(&self.user)
            };
            let mut step = Step::exec(
                format!("db sync: {}", cmd.join(" ")),
                self.target(),
                exec.in_scope(self.paths.dbsync_scope()).runs_to_the_end(),
            )
            .skip_if(skip.clone())
            .on_db_ahead(self.db_ahead());
            if i == last {
                step = step
                    .after(Record::MigrationsHash(hash.clone()))
                    .after(Record::Mark("db synced"))
                    .warn(warning.clone());
            }
            steps.push(step);
        }
        Ok(steps)
    }

    /// `--db-snapshot`: the service's database, dumped into the session's folder through
    /// its own `[database] connection`, before the first db sync of the session.
    fn db_snapshot(
        &self,
        db_sync_skipped: Option<&String>,
        taken: Option<&crate::db::Snapshot>,
    ) -> Result<Option<Step>> {
        // Not needed: shown skipped, as the command it would be (when the connection can
        // be read; else there is nothing to show).
        let skipped = |why: String| {
            self.s.database.as_ref().ok().map(|c| {
                let (exec, snap) = crate::db::snapshot(&self.paths, c);
                self.snapshot_step(exec, snap).skip_if(Some(why))
            })
        };
        if let Some(t) = taken {
            return Ok(skipped(format!(
                "taken before this session's first db sync ({})",
                t.dump()
            )));
        }
        if let Some(why) = db_sync_skipped {
            return Ok(skipped(format!("no db sync: {why}")));
        }
        let c = self.s.database.as_ref().map_err(|found| {
            Error::user(format!(
                "--db-snapshot: cannot read the database of {} in {}: {found}; nothing was changed",
                self.s.service.name,
                self.target().name
            ))
            .hint("pass --no-db-snapshot to run the db sync without a snapshot (restore then cannot undo a schema upgrade)")
        })?;
        let need: &[&str] = match c {
            crate::db::Connection::Mysql { .. } => &["/usr/bin/mysqldump", "/usr/bin/mysql"],
            crate::db::Connection::Sqlite { .. } => &["/usr/bin/python3"],
        };
        let missing: Vec<&str> = need
            .iter()
            .copied()
            .filter(|t| !self.s.db_tools.iter().any(|x| x == t))
            .collect();
        if !missing.is_empty() {
            let install = match c {
                crate::db::Connection::Mysql { .. } => "mariadb-client",
                crate::db::Connection::Sqlite { .. } => "python3",
            };
            return Err(Error::user(format!(
                "--db-snapshot: {} has no {}: nothing was changed",
                self.target().name,
                missing.join(", ")
            ))
            .hint(format!(
                "install {install} in {} (`apt-get install {install}`), or pass --no-db-snapshot",
                self.target().name
            )));
        }
        let (exec, snap) = crate::db::snapshot(&self.paths, c);
        Ok(Some(self.snapshot_step(exec, snap)))
    }

    /// What a db sync offers when the database is at a revision this checkout lacks:
    /// undoing the session's migrations, when its snapshot was noted before them.
    fn db_ahead(&self) -> crate::plan::DbAhead {
        let (Some(snap), true) = (&self.session.db_snapshot, self.session.db_notes) else {
            return crate::plan::DbAhead::NoSnapshot;
        };
        let venv = &self.s.venv;
        crate::plan::DbAhead::Offer {
            snapshot: snap.clone(),
            check: Box::new(crate::db_undo::check(&self.paths, venv, snap, false)),
            undo: Box::new(
                crate::db_undo::undo(&self.paths, venv, snap, false)
                    .in_scope(self.paths.dbsync_scope())
                    .runs_to_the_end(),
            ),
        }
    }

    /// The snapshot's schema and every row's fingerprint, noted beside it with the
    /// service venv's own Python, which reads the database's URL from the service's
    /// config file itself.
    fn db_notes(&self) -> Option<Step> {
        let c = self.s.database.as_ref().ok()?;
        let config = self.s.service.config.as_deref()?;
        let (_, snap) = crate::db::snapshot(&self.paths, c);
        Some(
            Step::exec(
                format!(
                    "note the schema and rows of {} beside the snapshot, so that restore tells what the db sync changes from what others write",
                    snap.describe()
                ),
                self.target(),
                crate::db_undo::note_base(&self.paths, &self.s.venv, config)
                    .in_scope(self.paths.step_scope()),
            )
            .after(Record::DbNotes),
        )
    }

    fn snapshot_step(&self, exec: Exec, snap: crate::db::Snapshot) -> Step {
        Step::exec(
            format!(
                "snapshot the database {} before the db sync (--db-snapshot)",
                snap.describe()
            ),
            self.target(),
            exec.in_scope(self.paths.step_scope()),
        )
        .after(Record::DbSnapshot(snap))
    }
}
