//! `git osa` / `git osa run`: swap the checkout into its container and run it.
//!
//! Reads first (one probe per container), then builds the whole cycle as a list of
//! [`Step`] values, which `--dry-run` prints and a real run executes.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::catalog::{Runs, Service, Unit};
use crate::cli::RunArgs;
use crate::commands::{restore, status};
use crate::context::{Context, Placement, Project};
use crate::devrun::{self, DevUnit, Pin};
use crate::error::{Error, Result};
use crate::haproxy::Change;
use crate::install;
use crate::lock::{self, Lock};
use crate::lxc::{LxcState, Target};
use crate::pbr;
use crate::plan::{self, Action, Record, Runner, Step};
use crate::probe::{self, Probe};
use crate::state::{self, Disabled, Paths, Session};
use crate::sync;
use crate::systemd::UnitInfo;

const FACTS: &str = "/etc/ansible/facts.d/openstack_ansible.fact";
const DROPIN: &str = "99-git-osa-dev.conf";
const DROPIN_TEXT: &str = "# Written by git-osa for a dev run: log to the terminal, not the journal.\n\
# `git osa restore` removes this file.\n[DEFAULT]\nuse_journal = false\nuse_stderr = true\n";

pub fn run(ctx: &Context, args: &RunArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    let service = &project.service;
    let (placements, _) = ctx.placements(service)?;
    let placement = choose(ctx, &placements, args)?;
    let units = select_units(&placement, &args.services)?;
    if !placement.host.metal {
        let st = ctx.lxc.state(&placement.host.container_name)?;
        if st != LxcState::Running {
            return Err(Error::user(format!(
                "container {} is {st}: nothing was changed",
                placement.host.container_name
            ))
            .hint(status::what_to_do(&placement.host.container_name, &st)));
        }
    }
    let target = placement.target(&ctx.lxc);
    let paths = Paths::new(&service.name);
    let _lock = if args.dry_run {
        None
    } else {
        Some(Lock::acquire(&target, &paths, "run")?)
    };

    let facts = read_target(&target, service, &units, &paths)?;
    let tree = sync::scan(&project.checkout)?;
    let built = build(
        ctx, &project, &placement, &target, &units, &facts, &tree, args,
    )?;

    if args.dry_run {
        print!("{}", plan::print(&built.steps, &ctx.haproxy));
        println!(
            "{:>2}. run in the foreground until Ctrl-C",
            built.steps.len() + 1
        );
        for u in &built.dev_units {
            println!(
                "    in {} as {}: {}",
                target.name,
                u.user,
                crate::lxc::shell_words(&u.argv)
            );
        }
        for p in &built.pins {
            println!(
                "    once {} is healthy in HAProxy: set it ready, put {} in maintenance (undone when the run ends)",
                p.target,
                p.others.join(", ")
            );
        }
        println!("dry run: nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }

    let mut runner = Runner::new(
        &ctx.ui,
        &ctx.haproxy,
        paths.clone(),
        facts.session.clone().unwrap_or_else(|| Session {
            service: service.name.clone(),
            project: project.id.display(),
            container: target.name.clone(),
            started_at: state::now(),
            started_by: lock::whoami(),
            ..Session::default()
        }),
    );
    match &facts.session {
        None => runner.save(&target)?,
        Some(s) if who(&s.started_by) != who(&lock::whoami()) => ctx.ui.warn(format!(
            "{} is in a dev session {} started {}: this run replaces its code",
            target.name,
            s.started_by,
            state::age(s.started_at)
        )),
        Some(_) => {}
    }
    for (i, step) in built.steps.iter().enumerate() {
        let result = runner.run(step);
        let Err(err) = result else { continue };
        if i == built.install_at {
            install_failed(
                ctx,
                &mut runner,
                step,
                err,
                args.allow_public_index.as_deref(),
                &built,
            )?;
            continue;
        }
        return Err(in_dev_mode(err, &target));
    }
    if service.db_sync.is_empty() {
        ctx.ui.step(format!("{} has no db sync", service.name));
    } else if built.db_synced {
        ctx.ui
            .warn("the database schema was upgraded: `git osa restore` does not undo that");
    }

    let outcome = devrun::run(&mut runner, &target, &built.dev_units, built.pins.clone())?;
    if args.restore_on_exit {
        restore::restore_target(ctx, &target, &paths, runner.session)?;
    } else {
        ctx.ui.step(format!(
            "{} stays in dev mode (production units stopped, dev code installed): `git osa restore` puts production back",
            target.name
        ));
    }
    Ok(match outcome.signal {
        Some(_) => ExitCode::from(outcome.code as u8),
        None if outcome.code == 0 => ExitCode::SUCCESS,
        None => {
            return Err(Error::user(format!(
                "the dev process exited with status {}",
                outcome.code
            ))
            .hint("its output is above; fix and run `git osa` again"));
        }
    })
}

/// `user@host` of a `user@host (pid N)`.
fn who(started_by: &str) -> &str {
    started_by.split(" (").next().unwrap_or(started_by)
}

/// A failed step leaves the container in dev mode; say so and how to get out.
fn in_dev_mode(err: Error, target: &Target) -> Error {
    err.hint(format!(
        "{} is in dev mode as far as the cycle got (`git osa status` shows which steps); `git osa restore` puts production back",
        target.name
    ))
}

fn choose(ctx: &Context, placements: &[Placement], args: &RunArgs) -> Result<Placement> {
    let names: Vec<&str> = placements
        .iter()
        .map(|p| p.host.container_name.as_str())
        .collect();
    if let Some(want) = &args.container {
        return placements
            .iter()
            .find(|p| &p.host.container_name == want || &p.host.inventory_name == want)
            .cloned()
            .ok_or_else(|| {
                Error::user(format!(
                    "{want} is not one of the service's containers: {}",
                    names.join(", ")
                ))
                .hint("pick one with --container NAME (see `git osa status`)")
            });
    }
    if placements.len() == 1 {
        return Ok(placements[0].clone());
    }
    if ctx.ui.interactive {
        let choice = dialoguer::Select::new()
            .with_prompt("Which container should run your checkout?")
            .items(&names)
            .default(0)
            .interact_opt()
            .map_err(|e| Error::user(format!("no container chosen: {e}")))?;
        return match choice {
            Some(i) => Ok(placements[i].clone()),
            None => Err(Error::user("no container chosen: nothing was changed")),
        };
    }
    Err(Error::user(format!(
        "the service runs in {} containers: {}",
        placements.len(),
        names.join(", ")
    ))
    .hint(format!(
        "pick one with --container NAME, e.g. `git osa --container {}`",
        names[0]
    )))
}

fn select_units(p: &Placement, wanted: &[String]) -> Result<Vec<Unit>> {
    if wanted.is_empty() {
        return Ok(p.units.clone());
    }
    let mut out = Vec::new();
    for w in wanted {
        let w = w.trim_end_matches(".service");
        match p.units.iter().find(|u| u.name == w) {
            Some(u) => out.push(u.clone()),
            None => {
                let names: Vec<&str> = p.units.iter().map(|u| u.name.as_str()).collect();
                return Err(Error::user(format!(
                    "{w} is not a unit of this service in {}: {}",
                    p.host.container_name,
                    names.join(", ")
                )));
            }
        }
    }
    Ok(out)
}

/// What the target says about itself, read in two round trips.
pub struct Facts {
    pub probe: Probe,
    pub session: Option<Session>,
    pub venv: String,
    pub manifest: sync::Manifest,
    pub constraints: Option<Vec<u8>>,
    pub dropin_dir_exists: bool,
    /// The migration files of the code production runs, until the session's first db sync.
    pub production_migrations: Option<BTreeMap<String, Vec<u8>>>,
}

fn read_target(target: &Target, service: &Service, units: &[Unit], paths: &Paths) -> Result<Facts> {
    let mut unit_names: Vec<String> = units.iter().map(|u| u.name.clone()).collect();
    unit_names.extend(units.iter().map(|u| status::dev_scope(&u.name)));
    unit_names.push(step_scope(&service.name));
    unit_names.push(keep_scope(&service.name));
    let venv_glob = format!("/openstack/venvs/{}-*", service.venv_name());
    let dropin_dir = dropin_dir(service);
    let prod_glob = backup_path(&venv_glob);
    let mut globs = format!(
        "{venv_glob} {venv_glob}/lib/python3*/site-packages {prod_glob}/lib/python3*/site-packages"
    );
    if let Some(d) = &dropin_dir {
        globs = format!("{globs} {d}");
    }
    let p = probe::probe(
        target,
        &unit_names,
        &[paths.session(), FACTS.into(), paths.manifest()],
        &globs,
    )?;
    let session = p.file(&paths.session()).map(Session::parse).transpose()?;
    for u in units {
        if !p.unit(&u.name).is_some_and(|i| i.exists()) {
            return Err(Error::user(format!(
                "{} has no unit {}: nothing was changed",
                target.name, u.name
            ))
            .hint("is this the right container? `git osa status` shows the units found"));
        }
    }
    let venv = match session.as_ref().and_then(|s| s.venv.clone()) {
        Some(v) => v,
        None => find_venv(target, service, &p)?,
    };
    let manifest = p
        .file(&paths.manifest())
        .map(sync::decode_manifest)
        .unwrap_or_default();
    let c = probe::probe(target, &[], &[format!("{venv}/constraints.txt")], "")?;
    // Production's code: the kept copy once the session has one (the venv then holds the
    // dev install), else the venv itself.
    let site_of = |v: &str| {
        p.paths
            .iter()
            .find(|x| x.starts_with(&format!("{v}/lib/python3")) && x.ends_with("/site-packages"))
    };
    let site = site_of(&backup_path(&venv)).or_else(|| site_of(&venv));
    // Until this session ran a db sync, the schema is production's: compare with that.
    let synced = session
        .as_ref()
        .is_some_and(|s| s.migrations_hash.is_some());
    let production_migrations = match site {
        Some(site) if !synced && !service.migrations.is_empty() => {
            Some(production_migrations(target, site, &service.migrations)?)
        }
        _ => None,
    };
    Ok(Facts {
        production_migrations,
        dropin_dir_exists: dropin_dir
            .as_ref()
            .is_some_and(|d| p.paths.iter().any(|x| x == d)),
        constraints: c
            .file(&format!("{venv}/constraints.txt"))
            .map(<[u8]>::to_vec),
        probe: p,
        session,
        venv,
        manifest,
    })
}

/// The `.py` files under the migration folders of the installed (production) code.
fn production_migrations(
    target: &Target,
    site: &str,
    dirs: &[String],
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        r#"cd "$1" && shift && for d; do [ -d "$d" ] && printf '%s\0' "$d"; done | xargs -0r tar -cf -"#
            .into(),
        "git-osa-migrations".into(),
        site.to_string(),
    ];
    argv.extend(dirs.iter().map(|d| d.trim_end_matches('/').to_string()));
    let out = target.run(&argv, None)?;
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    for entry in archive.entries().map_err(anyhow::Error::from)? {
        let mut entry = entry.map_err(anyhow::Error::from)?;
        let path = entry
            .path()
            .map_err(anyhow::Error::from)?
            .to_string_lossy()
            .into_owned();
        if entry.header().entry_type().is_file() && path.ends_with(".py") {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data)?;
            files.insert(path.trim_start_matches("./").to_string(), data);
        }
    }
    Ok(files)
}

/// The checkout's migrations are exactly production's: its schema is already at their head.
fn same_migrations(
    production: &BTreeMap<String, Vec<u8>>,
    checkout: &BTreeMap<String, Vec<u8>>,
) -> bool {
    !production.is_empty() && production == checkout
}

fn dropin_dir(service: &Service) -> Option<String> {
    service.config.as_ref().map(|c| format!("{c}.d"))
}

/// The service venv: from OSA's facts (`venv_tag`), else the only `/openstack/venvs/<name>-*`.
fn find_venv(target: &Target, service: &Service, p: &Probe) -> Result<String> {
    let prefix = format!("/openstack/venvs/{}-", service.venv_name());
    let candidates: Vec<&String> = p.paths.iter().filter(|x| x.starts_with(&prefix)).collect();
    if let Some(tag) = p.file(FACTS).and_then(|f| {
        crate::project::ini_value(&String::from_utf8_lossy(f), service.venv_name(), "venv_tag")
    }) {
        let v = format!("{prefix}{tag}");
        if candidates.iter().any(|c| **c == v) {
            return Ok(v);
        }
    }
    match candidates.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::user(format!(
            "{} has no {}* venv: is {} installed from source there?",
            target.name, prefix, service.name
        ))),
        many => Err(Error::user(format!(
            "{} has several {} venvs ({}) and {FACTS} does not say which one is in use",
            target.name,
            service.name,
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub struct Built {
    pub steps: Vec<Step>,
    pub dev_units: Vec<DevUnit>,
    pub pins: Vec<Pin>,
    /// Where the install is in `steps` (its failures get their own handling).
    pub install_at: usize,
    pub db_synced: bool,
    pbr_version: Option<String>,
    src: String,
    pip: String,
    constraints: bool,
    scope: String,
}

#[allow(clippy::too_many_arguments)]
fn build(
    ctx: &Context,
    project: &Project,
    placement: &Placement,
    target: &Target,
    units: &[Unit],
    facts: &Facts,
    tree: &sync::Tree,
    args: &RunArgs,
) -> Result<Built> {
    let service = &project.service;
    let paths = Paths::new(&service.name);
    let session = facts.session.clone().unwrap_or_default();
    let infos: Vec<&UnitInfo> = units
        .iter()
        .filter_map(|u| facts.probe.unit(&u.name))
        .collect();
    let user = infos
        .iter()
        .find_map(|i| i.user.clone())
        .unwrap_or_else(|| service.user.clone());
    let group = infos
        .iter()
        .find_map(|i| i.group.clone())
        .unwrap_or_else(|| user.clone());
    let mut steps = Vec::new();

    // We hold the lock: anything of an earlier git-osa still running was orphaned when it
    // was killed (a pip, a copy, a dev process holding the port). Stop it first.
    let mut leftovers: Vec<String> = units.iter().map(|u| status::dev_scope(&u.name)).collect();
    leftovers.extend([step_scope(&service.name), keep_scope(&service.name)]);
    leftovers.retain(|u| facts.probe.unit(u).is_some_and(|i| i.active()));
    if !leftovers.is_empty() {
        steps.push(Step::new(
            "stop what an interrupted git-osa left running",
            target,
            Action::argv(devrun::stop_scopes_argv(&leftovers)),
        ));
    }

    // Keep the production venv: the copy (seconds) overlaps draining, stopping and
    // syncing; production does not write to its venv (it is root's, the service runs as
    // its own user), so the copy is exact.
    let backup = backup_path(&facts.venv);
    let have_backup = session.venv_backup.is_some();
    steps.push(
        Step::new(
            format!("keep an exact copy of the production venv {}", facts.venv),
            target,
            Action::exec(&[
                "sh",
                "-c",
                r#"rm -rf "$2.tmp" && cp -a "$1" "$2.tmp" && mv "$2.tmp" "$2""#,
                "git-osa-keep",
                &facts.venv,
                &backup,
            ])
            .in_scope(keep_scope(&service.name)),
        )
        .in_background()
        .skip_if(have_backup.then(|| format!("kept at {backup} when this session began")))
        .before(Record::VenvBackup {
            venv: facts.venv.clone(),
            backup: backup.clone(),
        })
        .after(Record::Mark("production venv kept")),
    );

    // HAProxy: drain the target while it is swapped, if others can take its traffic.
    let servers = if ctx.haproxy.available() {
        ctx.haproxy.servers()?
    } else {
        Vec::new()
    };
    let mine = status::servers_of(&servers, &placement.host, units);
    let mut pins = Vec::new();
    for s in &mine {
        // The others: those taking traffic now, and those this session put in maintenance
        // (a killed git-osa left them so), which the end of this run gives back.
        let others: Vec<String> = servers
            .iter()
            .filter(|o| o.backend == s.backend && o.name != s.name)
            .filter(|o| {
                o.is_up()
                    || session.disabled_servers.contains(&Disabled {
                        backend: o.backend.clone(),
                        server: o.name.clone(),
                    })
            })
            .map(|o| o.name.clone())
            .collect();
        if others.is_empty() {
            continue;
        }
        let d = Disabled {
            backend: s.backend.clone(),
            server: s.name.clone(),
        };
        let already = session.disabled_servers.contains(&d);
        steps.push(
            Step::new(
                format!("drain {} in HAProxy while it is swapped", s.name),
                target,
                Action::Server {
                    backend: s.backend.clone(),
                    server: s.name.clone(),
                    change: Change::Drain,
                },
            )
            .skip_if(already.then(|| "already drained by this session".into()))
            .before(Record::Disable(d)),
        );
        pins.push(Pin {
            backend: s.backend.clone(),
            target: s.name.clone(),
            others,
        });
    }

    // Stop production.
    let active: Vec<String> = units
        .iter()
        .filter(|u| facts.probe.unit(&u.name).is_some_and(|i| i.active()))
        .map(|u| u.name.clone())
        .collect();
    let mut stop = vec!["systemctl".to_string(), "stop".into()];
    stop.extend(active.iter().map(|u| probe::unit_id(u)));
    steps.push(
        Step::new(
            format!(
                "stop production {}",
                units
                    .iter()
                    .map(|u| u.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            target,
            Action::argv(stop),
        )
        .skip_if(active.is_empty().then(|| "not running".into()))
        .before(Record::StoppedUnits(
            units.iter().map(|u| u.name.clone()).collect(),
        ))
        .after(Record::Mark("production stopped")),
    );
    for p in &pins {
        steps.push(
            Step::new(
                format!(
                    "mark {} down in HAProxy until a health check passes against the dev code",
                    p.target
                ),
                target,
                Action::Server {
                    backend: p.backend.clone(),
                    server: p.target.clone(),
                    change: Change::HealthDown,
                },
            )
            .skip_if(
                active
                    .is_empty()
                    .then(|| "production was not running".into()),
            ),
        );
    }

    // Sync.
    let delta = sync::delta(tree, &facts.manifest);
    let own: Vec<String> = service
        .packages
        .iter()
        .cloned()
        .chain(project.id.package.clone())
        .collect();
    let constraints = facts
        .constraints
        .as_ref()
        .map(|c| install::filter_constraints(&String::from_utf8_lossy(c), &own).into_bytes());
    let mut extra: Vec<(&str, &[u8])> = Vec::new();
    if let Some(c) = &constraints {
        extra.push(("constraints.txt", c));
    }
    let stream = sync::stream(&project.checkout.root, tree, &delta, &extra)?;
    let changed_bytes: u64 = delta
        .changed
        .iter()
        .filter_map(|p| tree.files.get(p))
        .map(|m| m.size)
        .sum();
    let owner = format!("{user}:{group}");
    steps.push(
        Step::new(
            format!(
                "sync the checkout to {} ({} changed, {} deleted, {} bytes)",
                paths.src(),
                delta.changed.len(),
                delta.deleted.len(),
                changed_bytes
            ),
            target,
            Action::argv(vec![
                "sh".into(),
                "-c".into(),
                sync::UNPACK.into(),
                "git-osa-sync".into(),
                paths.dir.clone(),
                owner,
            ])
            .with_stdin(stream)
            .in_scope(step_scope(&service.name)),
        )
        .skip_if(
            (delta.is_empty() && session.synced_at.is_some())
                .then(|| "nothing changed since the last sync".into()),
        )
        .after(Record::Synced {
            commit: tree.commit.clone(),
            dirty: tree.dirty,
        })
        .after(Record::Mark("synced")),
    );

    // Install.
    let mut inputs: Vec<Vec<u8>> = vec![
        facts.venv.as_bytes().to_vec(),
        constraints.clone().unwrap_or_default(),
    ];
    for f in install::INSTALL_INPUTS {
        inputs.push(f.as_bytes().to_vec());
        inputs.push(std::fs::read(project.checkout.root.join(f)).unwrap_or_default());
    }
    let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let install_hash = sync::fingerprint(&refs);
    let pbr_version = pbr::version(&project.checkout.repo);
    let pip = format!("{}/bin/pip", facts.venv);
    let mut built = Built {
        steps: Vec::new(),
        dev_units: Vec::new(),
        pins,
        install_at: 0,
        db_synced: false,
        pbr_version,
        src: paths.src(),
        pip,
        constraints: constraints.is_some(),
        scope: step_scope(&service.name),
    };
    steps.push(
        Step::new(
            "wait for the copy of the production venv",
            target,
            Action::Join,
        )
        .skip_if(have_backup.then(|| "kept earlier".into())),
    );
    let install = built
        .install_step(&paths, args.allow_public_index.as_deref(), target)
        .skip_if(
            (session.install_hash.as_deref() == Some(install_hash.as_str()))
                .then(|| "requirements, packaging metadata and entry points unchanged since the last install".into()),
        )
        .before(Record::InstallHash(None))
        .after(Record::InstallHash(Some(install_hash)))
        .after(Record::Mark("installed"));
    built.install_at = steps.len();
    steps.push(install);

    // Logging to the terminal.
    if let Some(dir) = dropin_dir(service) {
        let file = format!("{dir}/{DROPIN}");
        let mut created = vec![file.clone()];
        if !facts.dropin_dir_exists {
            created.push(format!("{dir}/"));
        }
        steps.push(
            Step::new(
                format!("send {}'s logs to the terminal ({file})", service.name),
                target,
                Action::argv(vec![
                    "sh".into(),
                    "-c".into(),
                    r#"mkdir -p "$1" && cat > "$2" && chmod 0644 "$2""#.into(),
                    "git-osa-dropin".into(),
                    dir.clone(),
                    file.clone(),
                ])
                .with_stdin(DROPIN_TEXT.as_bytes().to_vec()),
            )
            .skip_if(session.dropins.contains(&file).then(|| "in place".into()))
            .before(Record::Dropins(created))
            .after(Record::Mark("log drop-in")),
        );
    }

    // db sync.
    let migrations: Vec<Vec<u8>> = tree
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
    let migrations: Vec<&[u8]> = migrations.iter().map(Vec::as_slice).collect();
    let migrations_hash = sync::fingerprint(&migrations);
    let unchanged = session.migrations_hash.as_deref() == Some(migrations_hash.as_str())
        && !service.migrations.is_empty();
    let as_production = facts.production_migrations.as_ref().is_some_and(|prod| {
        let mine: BTreeMap<String, Vec<u8>> = tree
            .files
            .keys()
            .filter(|p| p.ends_with(".py") && service.is_migration(p))
            .filter_map(|p| {
                Some((
                    p.clone(),
                    std::fs::read(project.checkout.root.join(p)).ok()?,
                ))
            })
            .collect();
        same_migrations(prod, &mine)
    });
    let skip_sync = if unchanged {
        Some("no migration changed since the last db sync".to_string())
    } else if as_production {
        Some(
            "the checkout's migrations are production's: the schema is already at their head"
                .into(),
        )
    } else {
        None
    };
    for (i, cmd) in service.db_sync.iter().enumerate() {
        let mut argv = cmd.clone();
        if !argv[0].starts_with('/') {
            argv[0] = format!("{}/bin/{}", facts.venv, argv[0]);
        }
        let mut step = Step::new(
            format!("db sync: {}", cmd.join(" ")),
            target,
            Action::argv(argv)
                .as_user(user.clone())
                .in_scope(step_scope(&service.name)),
        )
        .skip_if(skip_sync.clone());
        if i + 1 == service.db_sync.len() {
            step = step
                .after(Record::MigrationsHash(migrations_hash.clone()))
                .after(Record::Mark("db synced"));
        }
        steps.push(step);
    }
    built.db_synced = !service.db_sync.is_empty() && skip_sync.is_none();

    // Runtime folders systemd would have made for the units.
    let mut dirs = Vec::new();
    for i in &infos {
        for d in &i.runtime_directory {
            dirs.push(format!("/run/{d}"));
        }
    }
    if !dirs.is_empty() {
        let mut argv = vec![
            "install".to_string(),
            "-d".into(),
            "-o".into(),
            user.clone(),
            "-g".into(),
            group.clone(),
        ];
        argv.extend(dirs);
        steps.push(Step::new(
            "create the units' runtime folders",
            target,
            Action::argv(argv),
        ));
    }

    for (u, info) in units.iter().zip(&infos) {
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
                u.name, target.name
            )));
        }
        let scope = status::dev_scope(&u.name);
        built.dev_units.push(DevUnit {
            unit: u.name.clone(),
            argv: devrun::dev_argv(info, &scope),
            scope,
            user: info.user.clone().unwrap_or_else(|| "root".into()),
        });
    }
    built.steps = steps;
    Ok(built)
}

/// The transient scope long steps of `service` run in (see [`Action::Exec`]).
pub fn step_scope(service: &str) -> String {
    format!("git-osa-step-{service}.scope")
}

/// The transient scope of the venv copy, which runs beside the other steps.
pub fn keep_scope(service: &str) -> String {
    format!("git-osa-keep-{service}.scope")
}

/// Where the exact copy of the production venv lives: beside it (a rename away), hidden
/// from `/openstack/venvs/<service>-*`.
pub fn backup_path(venv: &str) -> String {
    match venv.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.git-osa-prod-{name}"),
        None => format!(".git-osa-prod-{venv}"),
    }
}

impl Built {
    fn install_step(&self, paths: &Paths, index: Option<&str>, target: &Target) -> Step {
        let mut argv = vec![
            self.pip.clone(),
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
        if self.constraints {
            argv.extend(["-c".into(), paths.constraints()]);
        }
        argv.extend(["-e".into(), self.src.clone()]);
        if let Some(v) = &self.pbr_version {
            env.push(("PBR_VERSION".into(), v.clone()));
        }
        Step::new(
            match index {
                Some(url) => format!("install the checkout into the venv (pip may use {url})"),
                None => "install the checkout into the venv".into(),
            },
            target,
            Action::argv(argv)
                .with_env(env)
                .in_scope(self.scope.clone()),
        )
    }
}

/// The install failed: if the repo server lacks requirements, name them and offer the
/// other index (prompt on a terminal, the flag otherwise); a yes retries the install.
fn install_failed(
    ctx: &Context,
    runner: &mut Runner,
    step: &Step,
    err: Error,
    allowed: Option<&str>,
    built: &Built,
) -> Result<()> {
    let missing = install::missing_requirements(&err.to_string());
    if missing.is_empty() {
        return Err(in_dev_mode(err, &step.target));
    }
    let names = missing.join(", ");
    if let Some(url) = allowed {
        return Err(in_dev_mode(
            Error::user(format!(
                "pip found no {names}, neither on the repo server nor on {url}"
            )),
            &step.target,
        ));
    }
    let offer = ctx
        .config
        .public_index
        .clone()
        .unwrap_or_else(|| "https://pypi.org/simple".into());
    if ctx.ui.interactive {
        let yes = dialoguer::Confirm::new()
            .with_prompt(format!(
                "The repo server has no {names}. Let pip use {offer} for it?"
            ))
            .default(false)
            .interact()
            .unwrap_or(false);
        if yes {
            let paths = runner.paths.clone();
            let mut retry = built.install_step(&paths, Some(&offer), &step.target);
            retry.before = step.before.clone();
            retry.after = step.after.clone();
            return runner.run(&retry).map_err(|e| in_dev_mode(e, &step.target));
        }
    }
    Err(in_dev_mode(
        Error::user(format!(
            "the checkout needs {names}, which the deployment's repo server does not have"
        ))
        .hint(format!(
            "rerun with `--allow-public-index URL` (e.g. --allow-public-index {offer}) to let pip fetch it, or add it to the repo server"
        )),
        &step.target,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::inventory::Host;

    fn heat_placement() -> Placement {
        Placement {
            host: Host {
                inventory_name: "aio1-heat-api-container-36e270c9".into(),
                container_name: "aio1-heat-api-container-36e270c9".into(),
                physical_host: Some("aio1".into()),
                address: None,
                metal: false,
            },
            units: Catalog::builtin().by_name("heat").unwrap().units.clone(),
        }
    }

    #[test]
    fn service_narrows_the_units_and_unknown_ones_are_named() {
        let p = heat_placement();
        let all = select_units(&p, &[]).unwrap();
        assert_eq!(all.len(), 3);
        let engine = select_units(&p, &["heat-engine.service".into()]).unwrap();
        assert_eq!(
            engine.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["heat-engine"]
        );
        let err = select_units(&p, &["nova-api".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("nova-api is not a unit of this service in aio1-heat-api-container-36e270c9: heat-api, heat-api-cfn, heat-engine"), "{err}");
    }

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
    fn the_venv_copy_sits_beside_the_venv_hidden_from_its_glob() {
        assert_eq!(
            backup_path("/openstack/venvs/keystone-30.0.0"),
            "/openstack/venvs/.git-osa-prod-keystone-30.0.0"
        );
        assert!(!backup_path("/openstack/venvs/heat-33.0.1").starts_with("/openstack/venvs/heat-"));
    }
}
