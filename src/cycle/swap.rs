//! The phases that put the dev code in and run it: sync, install, the log drop-in, the db
//! sync, the runtime folders, and the foreground run.

use crate::catalog::Runs;
use crate::error::{Error, Result};
use crate::install;
use crate::layout::{self, DROPIN, DROPIN_TEXT};
use crate::migrations;
use crate::plan::{Action, DevUnit, Exec, Input, Missing, Pin, Step};
use crate::record::Record;
use crate::state::WithLibrary;
use crate::survey::{CheckoutScan, Library};
use crate::sync;
use crate::sync::SyncPayload;
use crate::systemd;

use super::{Choice, Cycle};

impl Cycle<'_> {
    pub(super) fn sync(&self, constraints: &Option<Vec<u8>>) -> Step {
        let tree = &self.s.checkout.tree;
        let extra = constraints
            .iter()
            .map(|c| ("constraints.txt".to_string(), c.clone()))
            .collect();
        self.sync_into(
            "the checkout",
            &self.paths.dir,
            &self.s.checkout,
            &self.s.manifest,
            extra,
            self.session.synced_at.is_some(),
        )
        .after(Record::Synced {
            commit: tree.commit.clone(),
            dirty: tree.dirty,
            review: self.s.review.clone(),
        })
        .after(Record::Mark("synced"))
    }

    /// One checkout's changes since its last sync into `dir`/src: one tar stream.
    fn sync_into(
        &self,
        what: &str,
        dir: &str,
        checkout: &CheckoutScan,
        manifest: &sync::Manifest,
        extra: Vec<(String, Vec<u8>)>,
        synced_before: bool,
    ) -> Step {
        let tree = &checkout.tree;
        let delta = sync::delta(tree, manifest);
        let changed_bytes: u64 = delta
            .changed
            .iter()
            .filter_map(|p| tree.files.get(p))
            .map(|m| m.size)
            .sum();
        let owner = format!("{}:{}", self.user, self.group);
        let unchanged = delta.is_empty() && synced_before;
        let payload = SyncPayload {
            root: checkout.root.clone(),
            manifest: tree.files.clone(),
            extra,
            changed: delta.changed,
            deleted: delta.deleted,
            session_dir: dir == self.paths.dir,
        };
        Step::exec(
            format!(
                "sync {what} to {dir}/src ({} changed, {} deleted, {changed_bytes} bytes)",
                payload.changed.len(),
                payload.deleted.len(),
            ),
            self.target(),
            Exec::script(sync::UNPACK, "git-osa-sync", &[dir, &owner])
                .with_stdin(Input::Sync(payload))
                .in_scope(self.paths.step_scope()),
        )
        .skip_if(unchanged.then(|| "nothing changed since the last sync".into()))
    }

    /// A library `--with` the service: its checkout synced beside the service's, then
    /// installed editable into the venv (before the service, whose requirements it may
    /// satisfy), again only when what the install depends on changed.
    pub(super) fn with(
        &self,
        lib: &Library,
        constraints: &Option<Vec<u8>>,
        choice: &Choice,
    ) -> [Step; 2] {
        let dir = self.paths.with_dir(&lib.package);
        let last = self.session.with.iter().find(|w| w.package == lib.package);
        let sync = self.sync_into(
            &lib.package,
            &dir,
            &lib.checkout,
            &lib.manifest,
            Vec::new(),
            last.is_some(),
        );
        let hash = install::fingerprint(
            &self.s.venv,
            constraints.as_deref(),
            &lib.checkout.install_inputs,
        );
        let src = format!("{dir}/src");
        let pip = |index: Option<&str>| {
            install::pip_editable(
                &self.s.venv,
                &src,
                constraints.is_some().then(|| self.paths.constraints()),
                index,
                lib.checkout.pbr_version.as_deref(),
                self.paths.step_scope(),
            )
        };
        let title = format!("install {} into the venv, editable", lib.package);
        let install = self.install_step(title, pip, choice);
        let record = WithLibrary {
            package: lib.package.clone(),
            checkout: lib.checkout.root.display().to_string(),
            commit: lib.checkout.tree.commit.clone(),
            dirty: lib.checkout.tree.dirty,
            install_hash: hash.clone(),
        };
        let unchanged = last.is_some_and(|w| w.install_hash == hash);
        [
            sync,
            install
                .skip_if(unchanged.then(|| {
                    "requirements, packaging metadata and entry points unchanged since its last install"
                        .into()
                }))
                .after(Record::With(record)),
        ]
    }

    /// A pip install, with the public index allowed (`--allow-public-index`) or offered
    /// when the repo server lacks a requirement.
    fn install_step(
        &self,
        title: String,
        pip: impl Fn(Option<&str>) -> Exec,
        choice: &Choice,
    ) -> Step {
        match &choice.allow_public_index {
            Some(url) => Step::exec(
                format!("{title} (pip may use {url})"),
                self.target(),
                pip(Some(url)),
            )
            .on_missing(Missing::Allowed { index: url.clone() }),
            None => Step::exec(title, self.target(), pip(None)).on_missing(Missing::Offer {
                index: choice.offer_index.clone(),
                retry: Box::new(pip(Some(&choice.offer_index))),
            }),
        }
    }

    pub(super) fn join(&self) -> Step {
        Step::new(
            "wait for the copy of the production venv",
            self.target(),
            Action::Join,
        )
        .skip_if(self.session.venv_kept().then(|| "kept earlier".into()))
    }

    pub(super) fn install(&self, constraints: &Option<Vec<u8>>, choice: &Choice) -> Step {
        let hash = install::fingerprint(
            &self.s.venv,
            constraints.as_deref(),
            &self.s.checkout.install_inputs,
        );
        let pip = |index: Option<&str>| {
            install::pip(
                &self.s.venv,
                &self.paths,
                index,
                constraints.is_some(),
                self.s.checkout.pbr_version.as_deref(),
            )
        };
        let step = self.install_step("install the checkout into the venv".into(), pip, choice);
        step.skip_if(
            (self.session.install_hash.as_deref() == Some(hash.as_str())).then(|| {
                "requirements, packaging metadata and entry points unchanged since the last install"
                    .into()
            }),
        )
        .before(Record::InstallHash(None))
        .after(Record::InstallHash(Some(hash)))
        .after(Record::Mark("installed"))
    }

    /// Logging to the terminal: an oslo.config drop-in beside the service's config.
    pub(super) fn dropin(&self) -> Option<Step> {
        let dir = layout::dropin_dir(self.s.service.config.as_deref())?;
        let file = format!("{dir}/{DROPIN}");
        let mut created = vec![file.clone()];
        if !self.s.dropin_dir_exists {
            created.push(format!("{dir}/"));
        }
        Some(
            Step::exec(
                format!(
                    "send {}'s logs to the terminal ({file})",
                    self.s.service.name
                ),
                self.target(),
                Exec::script(
                    r#"mkdir -p "$1" && cat > "$2" && chmod 0644 "$2""#,
                    "git-osa-dropin",
                    &[&dir, &file],
                )
                .with_stdin(Input::Bytes(DROPIN_TEXT.as_bytes().to_vec())),
            )
            .skip_if(
                self.session
                    .dropins
                    .contains(&file)
                    .then(|| "in place".into()),
            )
            .before(Record::Dropins(created))
            .after(Record::Mark("log drop-in")),
        )
    }

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
                Exec::new(argv).as_user(&self.user)
            };
            let mut step = Step::exec(
                format!("db sync: {}", cmd.join(" ")),
                self.target(),
                exec.in_scope(self.paths.dbsync_scope()).to_the_end(),
            )
            .skip_if(skip.clone());
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

    /// Runtime folders systemd would have made for the units.
    pub(super) fn runtime_dirs(&self) -> Option<Step> {
        let dirs: Vec<String> = self
            .infos
            .iter()
            .flat_map(|i| i.runtime_directory.iter().map(|d| format!("/run/{d}")))
            .collect();
        if dirs.is_empty() {
            return None;
        }
        let mut argv = vec![
            "install".to_string(),
            "-d".into(),
            "-o".into(),
            self.user.clone(),
            "-g".into(),
            self.group.clone(),
        ];
        argv.extend(dirs);
        Some(Step::exec(
            "create the units' runtime folders",
            self.target(),
            Exec::new(argv),
        ))
    }

    /// The script detached uWSGI masters run before they fork their workers (see
    /// `uwsgi_preload.py`), in the session's folder, which restore removes.
    pub(super) fn uwsgi_preload(&self, detach: bool) -> Option<Step> {
        if !detach || !self.s.units.iter().any(|u| u.runs == Runs::Uwsgi) {
            return None;
        }
        let file = self.paths.uwsgi_preload();
        Some(Step::exec(
            format!("write what the uWSGI masters import before their workers ({file})"),
            self.target(),
            Exec::script(
                r#"cat > "$1.new" && chmod 0644 "$1.new" && mv -f "$1.new" "$1""#,
                "git-osa-preload",
                &[&file],
            )
            .with_stdin(Input::Bytes(systemd::UWSGI_PRELOAD.as_bytes().to_vec())),
        ))
    }

    pub(super) fn foreground(&self, pins: Vec<Pin>, detach: bool) -> Result<Step> {
        let mut units = Vec::new();
        for (u, info) in self.s.units.iter().zip(&self.infos) {
            if u.runs == Runs::Apache {
                return Err(Error::user(format!(
                    "{} runs inside Apache (mod_wsgi); git-osa cannot run it on its own",
                    u.name
                ))
                .hint("use --service to pick the service's other units"));
            }
            if info.exec_start.is_empty() {
                return Err(Error::user(format!(
                    "{} in {} has no ExecStart to run",
                    u.name,
                    self.target().name
                )));
            }
            let mut reload = None;
            let (scope, mut argv) = if detach {
                let service = layout::dev_service(&u.name);
                let mut argv = systemd::detached_argv(info, &service);
                if u.runs == Runs::Uwsgi {
                    let fifo = layout::dev_master_fifo(&u.name);
                    systemd::reloadable_uwsgi(
                        &mut argv,
                        &layout::dev_runtime_dir(&u.name),
                        &fifo,
                        &self.paths.uwsgi_preload(),
                    );
                    reload = Some(fifo);
                }
                (service, argv)
            } else {
                let scope = layout::dev_scope(&u.name);
                let argv = systemd::dev_argv(info, &scope);
                (scope, argv)
            };
            if u.runs == Runs::Console
                && let Some(dir) = layout::dropin_dir(self.s.service.config.as_deref())
            {
                argv.extend(dropin_args(&info.exec_start, &format!("{dir}/{DROPIN}")));
            }
            units.push(DevUnit {
                unit: u.name.clone(),
                argv,
                scope,
                user: info.user.clone().unwrap_or_else(|| "root".into()),
                reload,
                backend: crate::catalog::Service::backend(u),
                stop: systemd::Stop::of(info),
            });
        }
        if detach {
            return Ok(Step::new(
                "start the dev units detached, as systemd services",
                self.target(),
                Action::Detach { units, pins },
            ));
        }
        Ok(Step::new(
            "run in the foreground until Ctrl-C",
            self.target(),
            Action::Foreground { units, pins },
        ))
    }
}

/// What a console script needs so that the log drop-in wins. oslo.config parses the
/// `--config-file`s of the command line after its default folders (`<project>.conf.d`),
/// so when the unit names its config files itself (neutron's agents, a heat-engine
/// started with `--config-file`), its own file would override the drop-in: the drop-in
/// goes last on the command line, as one more `--config-file`.
fn dropin_args(exec_start: &[String], dropin: &str) -> Vec<String> {
    let names_files = exec_start
        .iter()
        .any(|a| a == "--config-file" || a.starts_with("--config-file="));
    let names_dirs = exec_start
        .iter()
        .any(|a| a == "--config-dir" || a.starts_with("--config-dir="));
    if names_files && !names_dirs {
        vec!["--config-file".into(), dropin.into()]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::dropin_args;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn the_dropin_goes_last_when_the_unit_names_its_config_files() {
        let d = "/etc/heat/heat.conf.d/99-git-osa-dev.conf";
        // OSA's heat-engine: oslo.config reads /etc/heat/heat.conf.d itself
        assert!(dropin_args(&argv("/v/bin/heat-engine"), d).is_empty());
        assert_eq!(
            dropin_args(
                &argv("/v/bin/heat-engine --config-file /etc/heat/heat.conf"),
                d
            ),
            argv(&format!("--config-file {d}"))
        );
        assert_eq!(
            dropin_args(
                &argv("/v/bin/neutron-ovn-agent --config-file=/etc/neutron/neutron.conf"),
                d
            ),
            argv(&format!("--config-file {d}"))
        );
        // a unit that names its folders: they come after its files, the drop-in's with them
        assert!(
            dropin_args(
                &argv("/v/bin/x --config-file /etc/x.conf --config-dir /etc/x.conf.d"),
                d
            )
            .is_empty()
        );
    }
}
