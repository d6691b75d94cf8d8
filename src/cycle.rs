//! The cycle as a plan: a pure function from what was read ([`Survey`]) and what the user
//! asked ([`Choice`]) to the list of steps a run executes, ending with the foreground run.
//!
//! Nothing here touches a container, HAProxy or the checkout, so every plan can be built
//! and compared with its expected text without a lab (`tests/plans/`). Each phase of the
//! cycle is one function, in the order the steps run.

use crate::catalog::Runs;
use crate::error::{Error, Result};
use crate::haproxy::{Change, servers_of};
use crate::install;
use crate::layout::{self, DROPIN, DROPIN_TEXT, Paths};
use crate::plan::{Action, DevUnit, Exec, Input, Missing, Pin, Record, Step, SyncPayload};
use crate::probe;
use crate::state::{ServerRef, Session};
use crate::survey::Survey;
use crate::sync;
use crate::systemd::UnitInfo;

/// What the user asked for, beyond the target and the units.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// `--allow-public-index URL`: pip may use this index too.
    pub allow_public_index: Option<String>,
    /// The index to offer when the repo server lacks a requirement.
    pub offer_index: String,
}

#[derive(Debug)]
pub struct RunPlan {
    pub steps: Vec<Step>,
    /// Said before the steps run (and shown by a dry run).
    pub notes: Vec<String>,
    /// Warned about before the steps run (and shown by a dry run).
    pub warnings: Vec<String>,
}

/// Builds the run's plan. Fails only when the units cannot run in the foreground.
pub fn plan_run(s: &Survey, choice: &Choice) -> Result<RunPlan> {
    let session = s.session.clone().unwrap_or_default();
    let c = Cycle::new(s, &session);
    let mut steps = Vec::new();
    steps.extend(c.leftovers());
    steps.push(c.keep_venv());
    let (drains, pins) = c.drain();
    steps.extend(drains);
    steps.push(c.stop());
    steps.extend(c.health_down(&pins));
    let constraints = c.constraints();
    steps.push(c.sync(&constraints));
    steps.push(c.join());
    steps.push(c.install(&constraints, choice));
    steps.extend(c.dropin());
    steps.extend(c.db_sync());
    steps.extend(c.runtime_dirs());
    steps.push(c.foreground(pins)?);
    Ok(RunPlan {
        steps,
        notes: c.notes(),
        warnings: c.warnings(),
    })
}

/// One run's inputs, and what follows from them for every phase.
struct Cycle<'a> {
    s: &'a Survey,
    session: &'a Session,
    paths: Paths,
    infos: Vec<&'a UnitInfo>,
    user: String,
    group: String,
    /// The units production runs now (those stopped, and health-checked, by this run).
    active: Vec<String>,
}

impl<'a> Cycle<'a> {
    fn new(s: &'a Survey, session: &'a Session) -> Cycle<'a> {
        let infos: Vec<&UnitInfo> = s
            .units
            .iter()
            .filter_map(|u| s.probe.unit(&u.name))
            .collect();
        let user = infos
            .iter()
            .find_map(|i| i.user.clone())
            .unwrap_or_else(|| s.service.user.clone());
        let group = infos
            .iter()
            .find_map(|i| i.group.clone())
            .unwrap_or_else(|| user.clone());
        let active = s
            .units
            .iter()
            .filter(|u| s.probe.unit(&u.name).is_some_and(|i| i.active()))
            .map(|u| u.name.clone())
            .collect();
        Cycle {
            s,
            session,
            paths: Paths::new(&s.service.name),
            infos,
            user,
            group,
            active,
        }
    }

    fn target(&self) -> &crate::lxc::Target {
        &self.s.target
    }

    fn notes(&self) -> Vec<String> {
        let service = &self.s.service;
        let mut notes = Vec::new();
        if service.db_sync.is_empty() {
            notes.push(format!("{} has no db sync", service.name));
        }
        notes
    }

    fn warnings(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(other) = &self.s.session
            && who(&other.started_by) != who(&self.s.me)
        {
            notes.push(format!(
                "{} is in a dev session {} started {}: this run replaces its code",
                self.target().name,
                other.started_by,
                crate::state::age(other.started_at)
            ));
        }
        notes
    }

    /// We hold the lock: anything of an earlier git-osa still running was orphaned when
    /// it was killed (a pip, a copy, a dev process holding the port). Stop it first.
    fn leftovers(&self) -> Option<Step> {
        let mut left: Vec<String> = self
            .s
            .units
            .iter()
            .map(|u| layout::dev_scope(&u.name))
            .collect();
        left.extend([self.paths.step_scope(), self.paths.keep_scope()]);
        left.retain(|u| self.s.probe.unit(u).is_some_and(|i| i.active()));
        (!left.is_empty()).then(|| {
            Step::exec(
                "stop what an interrupted git-osa left running",
                self.target(),
                stop_scopes(&left),
            )
        })
    }

    /// Keep the production venv: the copy (seconds) overlaps draining, stopping and
    /// syncing; production does not write to its venv (it is root's, the service runs as
    /// its own user), so the copy is exact.
    fn keep_venv(&self) -> Step {
        let venv = &self.s.venv;
        let backup = layout::backup_path(venv);
        Step::exec(
            format!("keep an exact copy of the production venv {venv}"),
            self.target(),
            Exec::script(
                r#"rm -rf "$2.tmp" && cp -a "$1" "$2.tmp" && mv "$2.tmp" "$2""#,
                "git-osa-keep",
                &[venv, &backup],
            )
            .in_scope(self.paths.keep_scope()),
        )
        .in_background()
        .skip_if(
            self.session
                .venv_backup
                .is_some()
                .then(|| format!("kept at {backup} when this session began")),
        )
        .before(Record::VenvBackup {
            venv: venv.clone(),
            backup,
        })
        .after(Record::Mark("production venv kept"))
    }

    /// HAProxy: drain the target's servers while they are swapped, where others can take
    /// their traffic; each becomes a pin of the foreground run.
    fn drain(&self) -> (Vec<Step>, Vec<Pin>) {
        let all = &self.s.servers;
        let mut steps = Vec::new();
        let mut pins = Vec::new();
        for mine in servers_of(all, &self.s.host, &self.s.units) {
            // The others: those taking traffic now, and those this session put in
            // maintenance (a killed git-osa left them so), which the end of the run gives back.
            let others: Vec<String> = all
                .iter()
                .filter(|o| o.backend == mine.backend && o.name != mine.name)
                .filter(|o| o.is_up() || self.session.disabled_servers.contains(&o.reference()))
                .map(|o| o.name.clone())
                .collect();
            if others.is_empty() {
                continue;
            }
            let r = mine.reference();
            steps.push(
                Step::new(
                    format!("drain {} in HAProxy while it is swapped", mine.name),
                    self.target(),
                    Action::Server {
                        server: r.clone(),
                        change: Change::Drain,
                    },
                )
                .skip_if(
                    self.session
                        .disabled_servers
                        .contains(&r)
                        .then(|| "already drained by this session".into()),
                )
                .before(Record::Disable(r)),
            );
            pins.push(Pin {
                backend: mine.backend.clone(),
                target: mine.name.clone(),
                others,
            });
        }
        (steps, pins)
    }

    fn stop(&self) -> Step {
        let mut argv = vec!["systemctl".to_string(), "stop".into()];
        argv.extend(self.active.iter().map(|u| probe::unit_id(u)));
        let names: Vec<String> = self.s.units.iter().map(|u| u.name.clone()).collect();
        Step::exec(
            format!("stop production {}", names.join(", ")),
            self.target(),
            Exec::new(argv),
        )
        .skip_if(self.active.is_empty().then(|| "not running".into()))
        .before(Record::StoppedUnits(names))
        .after(Record::Mark("production stopped"))
    }

    /// Down until a health check passes against the dev code: "up" then means the new
    /// code answers, not that HAProxy has not noticed the stop yet.
    fn health_down(&self, pins: &[Pin]) -> Vec<Step> {
        pins.iter()
            .map(|p| {
                Step::new(
                    format!(
                        "mark {} down in HAProxy until a health check passes against the dev code",
                        p.target
                    ),
                    self.target(),
                    Action::Server {
                        server: ServerRef {
                            backend: p.backend.clone(),
                            server: p.target.clone(),
                        },
                        change: Change::HealthDown,
                    },
                )
                .skip_if(
                    self.active
                        .is_empty()
                        .then(|| "production was not running".into()),
                )
            })
            .collect()
    }

    /// OSA's constraints without the service's own pin (the checkout replaces it).
    fn constraints(&self) -> Option<Vec<u8>> {
        let own: Vec<String> = self
            .s
            .service
            .packages
            .iter()
            .cloned()
            .chain(self.s.package.clone())
            .collect();
        self.s
            .constraints
            .as_ref()
            .map(|c| install::filter_constraints(&String::from_utf8_lossy(c), &own).into_bytes())
    }

    fn sync(&self, constraints: &Option<Vec<u8>>) -> Step {
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

    fn join(&self) -> Step {
        Step::new(
            "wait for the copy of the production venv",
            self.target(),
            Action::Join,
        )
        .skip_if(
            self.session
                .venv_backup
                .is_some()
                .then(|| "kept earlier".into()),
        )
    }

    fn install(&self, constraints: &Option<Vec<u8>>, choice: &Choice) -> Step {
        let mut inputs: Vec<&[u8]> = vec![
            self.s.venv.as_bytes(),
            constraints.as_deref().unwrap_or_default(),
        ];
        for (name, data) in &self.s.checkout.install_inputs {
            inputs.push(name.as_bytes());
            inputs.push(data);
        }
        let hash = sync::fingerprint(&inputs);
        let has_constraints = constraints.is_some();
        let pip = |index: Option<&str>| self.pip(index, has_constraints);
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

    /// `pip install -e` of the synced checkout, from the deployment's sources only unless
    /// `index` is allowed.
    fn pip(&self, index: Option<&str>, constraints: bool) -> Exec {
        let mut argv = vec![
            format!("{}/bin/pip", self.s.venv),
            "install".into(),
            "--no-input".into(),
            "--disable-pip-version-check".into(),
            "--no-build-isolation".into(),
        ];
        let mut env = Vec::new();
        match index {
            // pip.conf may say no-index (OSA before Stein, and the lab); the environment
            // outranks the config file.
            Some(url) => {
                argv.extend(["--index-url".into(), url.to_string()]);
                env.push(("PIP_NO_INDEX".to_string(), "0".to_string()));
            }
            None => argv.push("--no-index".into()),
        }
        if constraints {
            argv.extend(["-c".into(), self.paths.constraints()]);
        }
        argv.extend(["-e".into(), self.paths.src()]);
        if let Some(v) = &self.s.checkout.pbr_version {
            env.push(("PBR_VERSION".into(), v.clone()));
        }
        Exec::new(argv)
            .with_env(env)
            .in_scope(self.paths.step_scope())
    }

    /// Logging to the terminal: an oslo.config drop-in beside the service's config.
    fn dropin(&self) -> Option<Step> {
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
        if self.session.migrations_hash.as_deref() == Some(migrations_hash)
            && !service.migrations.is_empty()
        {
            return Some("no migration changed since the last db sync".into());
        }
        let same = self
            .s
            .production_migrations
            .as_ref()
            .is_some_and(|prod| same_migrations(prod, &self.s.checkout.migrations));
        same.then(|| {
            "the checkout's migrations are production's: the schema is already at their head".into()
        })
    }

    fn db_sync(&self) -> Vec<Step> {
        let service = &self.s.service;
        if service.db_sync.is_empty() {
            return Vec::new();
        }
        let fingerprint: Vec<Vec<u8>> = self
            .s
            .checkout
            .tree
            .files
            .iter()
            .filter(|(p, _)| service.is_migration(p))
            .flat_map(|(p, m)| {
                [
                    p.as_bytes().to_vec(),
                    format!("{}:{}", m.size, m.mtime_ns).into_bytes(),
                ]
            })
            .collect();
        let fingerprint: Vec<&[u8]> = fingerprint.iter().map(Vec::as_slice).collect();
        let hash = sync::fingerprint(&fingerprint);
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
                    .in_scope(self.paths.step_scope()),
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
    fn runtime_dirs(&self) -> Option<Step> {
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

    fn foreground(&self, pins: Vec<Pin>) -> Result<Step> {
        let mut units = Vec::new();
        for (u, info) in self.s.units.iter().zip(&self.infos) {
            if u.runs == Runs::Apache {
                return Err(Error::user(format!(
                    "{} runs inside Apache (mod_wsgi); git-osa cannot run it in the foreground",
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
            let scope = layout::dev_scope(&u.name);
            units.push(DevUnit {
                unit: u.name.clone(),
                argv: dev_argv(info, &scope),
                scope,
                user: info.user.clone().unwrap_or_else(|| "root".into()),
            });
        }
        Ok(Step::new(
            "run in the foreground until Ctrl-C",
            self.target(),
            Action::Foreground { units, pins },
        ))
    }
}

/// `user@host` of a `user@host (pid N)`.
fn who(started_by: &str) -> &str {
    started_by.split(" (").next().unwrap_or(started_by)
}

/// The checkout's migrations are exactly production's: its schema is already at their head.
fn same_migrations(
    production: &std::collections::BTreeMap<String, Vec<u8>>,
    checkout: &std::collections::BTreeMap<String, Vec<u8>>,
) -> bool {
    !production.is_empty() && production == checkout
}

/// Stops those of `scopes` that are active. A scope that ends on its own meanwhile (a
/// pip dying on its closed pipe) is not an error: it is what stopping it wanted.
pub fn stop_scopes(scopes: &[String]) -> Exec {
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        r#"for u; do if systemctl is-active -q "$u"; then systemctl stop "$u"; fi; done; exit 0"#
            .into(),
        "git-osa-stop".into(),
    ];
    argv.extend(scopes.iter().cloned());
    Exec::new(argv)
}

/// The argv that runs `info`'s command like systemd would, in a scope named `scope`.
pub fn dev_argv(info: &UnitInfo, scope: &str) -> Vec<String> {
    let user = info.user.clone().unwrap_or_else(|| "root".into());
    let mut argv: Vec<String> = vec![
        "systemd-run".into(),
        "--scope".into(),
        "--quiet".into(),
        "--collect".into(),
        format!("--unit={scope}"),
        "-p".into(),
        format!(
            "KillSignal={}",
            info.kill_signal.as_deref().unwrap_or("SIGTERM")
        ),
        "-p".into(),
        "TimeoutStopSec=15".into(),
        "--".into(),
        "runuser".into(),
        "-u".into(),
        user,
    ];
    if let Some(g) = &info.group {
        argv.extend(["-g".into(), g.clone()]);
    }
    argv.extend(["--".into(), "env".into()]);
    if let Some(wd) = &info.working_directory {
        argv.extend([
            "-C".into(),
            wd.trim_start_matches(['-', '!', '~']).to_string(),
        ]);
    }
    argv.push("PYTHONUNBUFFERED=1".into());
    argv.extend(info.environment.iter().cloned());
    argv.extend(info.exec_start.iter().cloned());
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn migrations_match_only_when_every_file_is_the_same() {
        let m = |files: &[(&str, &str)]| -> BTreeMap<String, Vec<u8>> {
            files
                .iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
                .collect()
        };
        let prod = m(&[
            ("k/migrations/versions/a.py", "a"),
            ("k/migrations/env.py", "e"),
        ]);
        assert!(same_migrations(&prod, &prod.clone()));
        assert!(!same_migrations(
            &prod,
            &m(&[("k/migrations/versions/a.py", "a")])
        ));
        assert!(!same_migrations(
            &prod,
            &m(&[
                ("k/migrations/versions/a.py", "a"),
                ("k/migrations/env.py", "E")
            ])
        ));
        assert!(
            !same_migrations(&BTreeMap::new(), &BTreeMap::new()),
            "nothing to compare proves nothing"
        );
    }

    #[test]
    fn dev_argv_keeps_the_units_command_user_and_environment() {
        let info = UnitInfo {
            user: Some("keystone".into()),
            group: Some("keystone".into()),
            exec_start: vec![
                "/v/bin/uwsgi".into(),
                "--ini".into(),
                "/etc/uwsgi/k.ini".into(),
            ],
            environment: vec!["A=1".into()],
            kill_signal: Some("SIGQUIT".into()),
            working_directory: Some("-/var/lib/keystone".into()),
            ..Default::default()
        };
        let argv = dev_argv(&info, "git-osa-dev-k.scope");
        let text = argv.join(" ");
        assert!(text.starts_with(
            "systemd-run --scope --quiet --collect --unit=git-osa-dev-k.scope -p KillSignal=SIGQUIT"
        ));
        assert!(text.ends_with(
            "-- runuser -u keystone -g keystone -- env -C /var/lib/keystone PYTHONUNBUFFERED=1 A=1 /v/bin/uwsgi --ini /etc/uwsgi/k.ini"
        ));
    }
}
