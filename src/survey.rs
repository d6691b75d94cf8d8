//! Every read a run makes, in one place, before anything is planned or changed: the
//! target's units, session, OSA facts, venvs, constraints and sync manifest, production's
//! migrations, HAProxy's servers, and the checkout's files and pbr version.
//!
//! The result is one plain value, [`Survey`]; `cycle.rs` turns it into a plan without
//! touching anything, so plans can be built (and tested) from a fixture survey.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::catalog::{Service, Unit};
use crate::context::{Context, Placement, Project};
use crate::error::{Error, Result};
use crate::haproxy::Server;
use crate::install;
use crate::inventory::Host;
use crate::layout::{self, FACTS, Paths};
use crate::lock;
use crate::lxc::Target;
use crate::pbr;
use crate::probe::{self, Probe};
use crate::state::Session;
use crate::sync::{self, Manifest, Tree};

/// What the target and the checkout say, read once.
#[derive(Debug, Clone)]
pub struct Survey {
    pub service: Service,
    /// The project as the checkout names it (`openstack/keystone`).
    pub project: String,
    /// The checkout's own package name (setup.cfg), if it has one.
    pub package: Option<String>,
    pub host: Host,
    pub target: Target,
    /// The catalog units this run swaps.
    pub units: Vec<Unit>,
    /// systemd's view of the units and of git-osa's scopes, OSA's facts.
    pub probe: Probe,
    pub session: Option<Session>,
    pub venv: String,
    pub manifest: Manifest,
    pub constraints: Option<Vec<u8>>,
    pub dropin_dir_exists: bool,
    /// The migration files of the code production runs, until the session's first db sync.
    pub production_migrations: Option<BTreeMap<String, Vec<u8>>>,
    /// Every HAProxy server (none when there is no admin socket).
    pub servers: Vec<Server>,
    pub checkout: CheckoutScan,
    /// `user@host (pid N)` of this git-osa.
    pub me: String,
}

/// The checkout as the run sees it.
#[derive(Debug, Clone, Default)]
pub struct CheckoutScan {
    pub root: PathBuf,
    pub tree: Tree,
    pub pbr_version: Option<String>,
    /// The files whose change means the install must run again, with their contents.
    pub install_inputs: Vec<(String, Vec<u8>)>,
    /// The checkout's `.py` files under the service's migration folders.
    pub migrations: BTreeMap<String, Vec<u8>>,
}

pub fn survey(
    ctx: &Context,
    project: &Project,
    placement: &Placement,
    units: Vec<Unit>,
    no_haproxy: bool,
) -> Result<Survey> {
    let service = &project.service;
    let target = placement.target(&ctx.lxc);
    let paths = Paths::new(&service.name);
    let p = probe_target(&target, service, &units, &paths)?;
    let session = p.file(&paths.session()).map(Session::parse).transpose()?;
    for u in &units {
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
        None => find_venv(&target, service, &p)?,
    };
    let manifest = p
        .file(&paths.manifest())
        .map(sync::decode_manifest)
        .unwrap_or_default();
    let c = probe::probe(&target, &[], &[format!("{venv}/constraints.txt")], "")?;
    let production_migrations = read_production_migrations(&target, service, &p, &venv, &session)?;
    let servers = read_servers(ctx, &placement.host.container_name, &units, no_haproxy)?;
    Ok(Survey {
        service: service.clone(),
        project: project.id.display(),
        package: project.id.package.clone(),
        host: placement.host.clone(),
        units,
        dropin_dir_exists: layout::dropin_dir(service.config.as_deref())
            .is_some_and(|d| p.paths.contains(&d)),
        constraints: c
            .file(&format!("{venv}/constraints.txt"))
            .map(<[u8]>::to_vec),
        probe: p,
        session,
        venv,
        manifest,
        servers,
        checkout: scan_checkout(project, production_migrations.is_some())?,
        me: lock::whoami(),
        target,
        production_migrations,
    })
}

/// HAProxy's servers, when a unit is balanced: a socket that cannot be reached is an
/// error (traffic would split between dev and production without a word), unless the
/// user said to go on without HAProxy.
fn read_servers(
    ctx: &Context,
    container: &str,
    units: &[Unit],
    no_haproxy: bool,
) -> Result<Vec<Server>> {
    let backends: Vec<String> = units.iter().filter_map(Service::backend).collect();
    if backends.is_empty() {
        return Ok(Vec::new());
    }
    match ctx.haproxy.servers() {
        Ok(servers) => Ok(servers),
        Err(e) if no_haproxy => {
            ctx.ui.warn(format!(
                "HAProxy: {e}; going on without it (--no-haproxy): {} keeps sending requests to every server, dev and production",
                backends.join(", ")
            ));
            Ok(Vec::new())
        }
        Err(e) => Err(Error::user(format!(
            "{e}: git-osa cannot move the traffic of {} to {container}, so requests would reach dev and production alike; nothing was changed",
            backends.join(", ")
        ))
        .hint(ctx.haproxy.hint())
        .hint("or pass --no-haproxy to go on without HAProxy, knowingly")),
    }
}

/// The first round trip: the units and git-osa's scopes, the session, OSA's facts, the
/// sync manifest, the venvs and the drop-in folder.
fn probe_target(
    target: &Target,
    service: &Service,
    units: &[Unit],
    paths: &Paths,
) -> Result<Probe> {
    let mut unit_names: Vec<String> = units.iter().map(|u| u.name.clone()).collect();
    unit_names.extend(units.iter().map(|u| layout::dev_scope(&u.name)));
    unit_names.push(paths.step_scope());
    unit_names.push(paths.dbsync_scope());
    unit_names.push(paths.keep_scope());
    let venv_glob = format!("/openstack/venvs/{}-*", service.venv_name());
    let prod_glob = layout::backup_path(&venv_glob);
    let mut globs = format!(
        "{venv_glob} {venv_glob}/lib/python3*/site-packages {prod_glob}/lib/python3*/site-packages"
    );
    if let Some(d) = layout::dropin_dir(service.config.as_deref()) {
        globs = format!("{globs} {d}");
    }
    probe::probe(
        target,
        &unit_names,
        &[paths.session(), FACTS.into(), paths.manifest()],
        &globs,
    )
}

/// Production's migrations, until this session ran a db sync (the schema is production's
/// until then): from the kept copy once the session has one (the venv then holds the dev
/// install), else from the venv itself.
fn read_production_migrations(
    target: &Target,
    service: &Service,
    p: &Probe,
    venv: &str,
    session: &Option<Session>,
) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
    let synced = session
        .as_ref()
        .is_some_and(|s| s.migrations_hash.is_some());
    if synced || service.migrations.is_empty() {
        return Ok(None);
    }
    let site_of = |v: &str| {
        p.paths
            .iter()
            .find(|x| x.starts_with(&format!("{v}/lib/python3")) && x.ends_with("/site-packages"))
    };
    match site_of(&layout::backup_path(venv)).or_else(|| site_of(venv)) {
        Some(site) => Ok(Some(production_migrations(
            target,
            site,
            &service.migrations,
        )?)),
        None => Ok(None),
    }
}

/// The checkout's files, and what of them the install and the db sync depend on (its
/// migrations are read only when there are production's to compare them with).
fn scan_checkout(project: &Project, read_migrations: bool) -> Result<CheckoutScan> {
    let root = project.checkout.root.clone();
    let tree = sync::scan(&project.checkout)?;
    let install_inputs = install::INSTALL_INPUTS
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read(root.join(f)).unwrap_or_default(),
            )
        })
        .collect();
    let migrations = tree
        .files
        .keys()
        .filter(|p| read_migrations && p.ends_with(".py") && project.service.is_migration(p))
        .filter_map(|p| Some((p.clone(), std::fs::read(root.join(p)).ok()?)))
        .collect();
    Ok(CheckoutScan {
        pbr_version: pbr::version(&project.checkout.repo),
        root,
        tree,
        install_inputs,
        migrations,
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
