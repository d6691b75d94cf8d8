//! The phases that put the dev code in and run it: sync, install, the log drop-in, the db
//! sync, the runtime folders, and the foreground run.

use crate::catalog::Runs;
use crate::error::{Error, Result};
use crate::install;
use crate::layout::{self, DROPIN, DROPIN_TEXT};
use crate::migrations;
use crate::plan::{Action, DevUnit, Exec, Input, Missing, Pin, Step};
use crate::record::Record;
use crate::sync;
use crate::sync::SyncPayload;
use crate::systemd;

use super::{Choice, Cycle};

impl Cycle<'_> {
    pub(super) fn sync(&self, constraints: &Option<Vec<u8>>) -> Step {
        let tree = &self.s.checkout.tree;
        let delta = sync::delta(tree, &self.s.manifest);
        let changed_bytes: u64 = delta
            .changed
            .iter()
            .filter_map(|p| tree.files.get(p))
            .map(|m| m.size)
            .sum();
        let owner = format!("{}:{}", self.user, self.group);
        let unchanged = delta.is_empty() && self.session.synced_at.is_some();
        let payload = SyncPayload {
            root: self.s.checkout.root.clone(),
            manifest: tree.files.clone(),
            extra: constraints
                .iter()
                .map(|c| ("constraints.txt".to_string(), c.clone()))
                .collect(),
            changed: delta.changed,
            deleted: delta.deleted,
        };
        Step::exec(
            format!(
                "sync the checkout to {} ({} changed, {} deleted, {} bytes)",
                self.paths.src(),
                payload.changed.len(),
                payload.deleted.len(),
                changed_bytes
            ),
            self.target(),
            Exec::script(sync::UNPACK, "git-osa-sync", &[&self.paths.dir, &owner])
                .with_stdin(Input::Sync(payload))
                .in_scope(self.paths.step_scope()),
        )
        .skip_if(unchanged.then(|| "nothing changed since the last sync".into()))
        .after(Record::Synced {
            commit: tree.commit.clone(),
            dirty: tree.dirty,
        })
        .after(Record::Mark("synced"))
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
        let step = match &choice.allow_public_index {
            Some(url) => Step::exec(
                format!("install the checkout into the venv (pip may use {url})"),
                self.target(),
                pip(Some(url)),
            )
            .on_missing(Missing::Allowed { index: url.clone() }),
            None => Step::exec(
                "install the checkout into the venv",
                self.target(),
                pip(None),
            )
            .on_missing(Missing::Offer {
                index: choice.offer_index.clone(),
                retry: Box::new(pip(Some(&choice.offer_index))),
            }),
        };
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
        let same = self
            .s
            .production_migrations
            .as_ref()
            .is_some_and(|prod| migrations::same(prod, &self.s.checkout.migrations));
        same.then(|| {
            "the checkout's migrations are production's: the schema is already at their head".into()
        })
    }

    pub(super) fn db_sync(&self) -> Vec<Step> {
        let service = &self.s.service;
        if service.db_sync.is_empty() {
            return Vec::new();
        }
        let hash = migrations::fingerprint(service, &self.s.checkout.tree);
        let skip = self.db_sync_skip(&hash);
        let last = service.db_sync.len() - 1;
        let mut steps = Vec::new();
        for (i, cmd) in service.db_sync.iter().enumerate() {
            let mut argv = cmd.clone();
            if !argv[0].starts_with('/') {
                argv[0] = format!("{}/bin/{}", self.s.venv, argv[0]);
            }
            let mut step = Step::exec(
                format!("db sync: {}", cmd.join(" ")),
                self.target(),
                Exec::new(argv)
                    .as_user(&self.user)
                    .in_scope(self.paths.dbsync_scope())
                    .to_the_end(),
            )
            .skip_if(skip.clone());
            if i == last {
                step = step
                    .after(Record::MigrationsHash(hash.clone()))
                    .after(Record::Mark("db synced"))
                    .warn("the database schema was upgraded: `git osa restore` does not undo that");
            }
            steps.push(step);
        }
        steps
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
            let (scope, argv) = if detach {
                let service = layout::dev_service(&u.name);
                let argv = systemd::detached_argv(info, &service);
                (service, argv)
            } else {
                let scope = layout::dev_scope(&u.name);
                let argv = systemd::dev_argv(info, &scope);
                (scope, argv)
            };
            units.push(DevUnit {
                unit: u.name.clone(),
                argv,
                scope,
                user: info.user.clone().unwrap_or_else(|| "root".into()),
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
