//! The dev code in: the checkout (and the `--with` libraries) synced into the session's
//! folder, installed editable into the service's venv under production's constraints.

use super::{BUILD, Choice, Cycle, KEEP};
use crate::exec::{Exec, Input};
use crate::install;
use crate::plan::{Action, Step};
use crate::session::{Record, WithLibrary};
use crate::survey::{CheckoutScan, Library};
use crate::sync::{self, SyncPayload};

impl Cycle<'_> {
    /// OSA's constraints without the service's own pin (the checkout replaces it).
    pub(super) fn constraints(&self) -> Option<Vec<u8>> {
        let own: Vec<String> = self
            .s
            .service
            .packages
            .iter()
            .cloned()
            .chain(self.s.package.clone())
            .chain(self.s.with.iter().map(|l| l.package.clone()))
            .collect();
        self.s
            .constraints
            .as_ref()
            .map(|c| install::filter_constraints(&String::from_utf8_lossy(c), &own).into_bytes())
    }

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
                &format!("{dir}/editable"),
                false,
                install::Editable {
                    constraints: constraints.is_some().then(|| self.paths.constraints()),
                    index,
                    pbr_version: lib.checkout.pbr_version.as_deref(),
                },
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
    pub(super) fn install_step(
        &self,
        title: String,
        pip: impl Fn(Option<&str>) -> Exec,
        choice: &Choice,
    ) -> Step {
        Step::pip(
            title,
            self.target(),
            pip,
            choice.allow_public_index.as_deref(),
            &choice.offer_index,
        )
    }

    pub(super) fn join(&self) -> Step {
        Step::new(
            "wait for the production venv to be kept",
            self.target(),
            Action::Join { of: vec![KEEP] },
        )
        .skip_if(self.session.venv_kept().then(|| "kept earlier".into()))
    }

    /// The install's fingerprint, and whether the session installed with it last.
    fn installed(&self, constraints: &Option<Vec<u8>>) -> (String, bool) {
        let hash = install::fingerprint(
            &self.s.venv,
            constraints.as_deref(),
            &self.s.checkout.install_inputs,
        );
        let same = self.session.install_hash.as_deref() == Some(hash.as_str());
        (hash, same)
    }

    /// Whether the checkout's editable wheel is built beside the venv's keeping: when the
    /// install will run and the venv is kept in this run (a join for the keeping follows,
    /// then one for the build). Otherwise the install builds it.
    fn builds_ahead(&self, constraints: &Option<Vec<u8>>) -> bool {
        !self.installed(constraints).1 && !self.session.venv_kept()
    }

    /// The checkout's editable wheel, built in the background once it is synced, while
    /// the venv is kept and production stops: pip then only installs it. It runs in the
    /// step scope, which nothing else uses until the join that waits for it.
    pub(super) fn build_ahead(&self, constraints: &Option<Vec<u8>>) -> Option<Step> {
        if !self.builds_ahead(constraints) {
            return None;
        }
        Some(
            Step::exec(
                "build the checkout's editable wheel",
                self.target(),
                install::build_editable(
                    &self.s.venv,
                    &self.paths.src(),
                    &self.paths.editable(),
                    self.s.checkout.pbr_version.as_deref(),
                    self.paths.step_scope(),
                ),
            )
            .in_background_as(BUILD),
        )
    }

    /// The wait for the editable wheel built ahead, if it is.
    pub(super) fn join_build(&self, constraints: &Option<Vec<u8>>) -> Option<Step> {
        self.builds_ahead(constraints).then(|| {
            Step::new(
                "wait for the editable wheel to be built",
                self.target(),
                Action::Join { of: vec![BUILD] },
            )
        })
    }

    pub(super) fn install(&self, constraints: &Option<Vec<u8>>, choice: &Choice) -> Step {
        let (hash, same) = self.installed(constraints);
        let built = self.builds_ahead(constraints);
        let pip = |index: Option<&str>| {
            install::pip(
                &self.s.venv,
                &self.paths,
                index,
                constraints.is_some(),
                self.s.checkout.pbr_version.as_deref(),
                built,
            )
        };
        let step = self.install_step("install the checkout into the venv".into(), pip, choice);
        step.skip_if(same.then(|| {
            "requirements, packaging metadata and entry points unchanged since the last install"
                .into()
        }))
        .before(Record::InstallHash(None))
        .after(Record::InstallHash(Some(hash)))
        .after(Record::Mark("installed"))
    }
}
