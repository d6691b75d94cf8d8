//! Every read a run makes, in one place, before anything is planned or changed: the
//! target's units, session, OSA facts, venvs, constraints and sync manifest, production's
//! migrations, HAProxy's servers, and the checkout's files and pbr version.
//!
//! The result is one plain value, [`Survey`]; `cycle.rs` turns it into a plan without
//! touching anything, so plans can be built (and tested) from a fixture survey.

use std::collections::BTreeMap;

use crate::catalog::{Runs, Service, Unit};
use crate::context::{Context, Placement, Project};
use crate::error::{Error, Result};
use crate::haproxy::Server;
use crate::inventory::Host;
use crate::layout::{self, FACTS, Paths};
use crate::migrations;
use crate::probe::{self, Probe};
use crate::session::Session;
use crate::sync::{self, Manifest};
use crate::transport::Target;

mod checkout;

pub use checkout::{CheckoutScan, Library, libraries};
use checkout::{production_migrations, scan_tree, with_migrations};

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
    /// The inventory groups the host is in (`None` without an inventory).
    pub host_groups: Option<Vec<String>>,
    /// Units the run swaps that sit behind no load balancer (an engine, a conductor: they
    /// take their work from the message queue) and that the other containers of the
    /// service run too, with those containers: work may go to them instead.
    pub peers: Vec<(String, Vec<String>)>,
    /// The catalog units this run swaps: those the target has, and that are servers.
    pub units: Vec<Unit>,
    /// The catalog units it leaves alone, and why.
    pub skipped: Vec<LeftAlone>,
    /// systemd's view of the units and of git-osa's scopes, OSA's facts.
    pub probe: Probe,
    pub session: Option<Session>,
    pub venv: String,
    /// The version of the pip in the venv, and whether its site-packages has an
    /// `easy-install.pth`: they decide how production's venv is kept
    /// ([`crate::install::keeping`]).
    pub venv_pip: Option<String>,
    pub easy_install_pth: bool,
    pub manifest: Manifest,
    pub constraints: Option<Vec<u8>>,
    pub dropin_dir_exists: bool,
    /// The migration files of the code production runs, until the session's first db sync.
    pub production_migrations: Option<BTreeMap<String, Vec<u8>>>,
    /// Their fingerprint ([`migrations::digest`]): the session's once recorded (then they
    /// are not read again), else that of the files read.
    pub production_migrations_digest: Option<String>,
    /// Every HAProxy server (none when there is no admin socket).
    pub servers: Vec<Server>,
    pub checkout: CheckoutScan,
    /// `user@host (pid N)` of this git-osa.
    pub me: String,
    /// The Gerrit change the checkout is, when `git osa review` runs the cycle.
    pub review: Option<crate::session::Review>,
    /// The libraries to install `--with` the service, in the order given.
    pub with: Vec<Library>,
    /// The service's database, from the `[database] connection` of its config file in
    /// the target; else what was found instead.
    pub database: std::result::Result<crate::db::Connection, String>,
    /// The snapshot tools the target has ([`DB_TOOLS`]), by path.
    pub db_tools: Vec<String>,
}

/// What a database snapshot may need in the target: mysqldump (and mysql) for MySQL and
/// MariaDB, python3 (its sqlite3 module) for SQLite.
pub const DB_TOOLS: &[&str] = &["/usr/bin/mysqldump", "/usr/bin/mysql", "/usr/bin/python3"];

pub fn survey(
    ctx: &Context,
    project: &Project,
    placement: &Placement,
    others: &[Placement],
    units: Vec<Unit>,
    choice: &Asked,
    lock: Option<&mut crate::session::lock::Lock>,
) -> Result<Survey> {
    let service = &project.service;
    let target = ctx.target(&placement.host);
    let paths = Paths::new(&service.name);
    let libraries = choice.with.clone();
    let lib_manifests: Vec<String> = libraries
        .iter()
        .map(|(name, _)| format!("{}/manifest", paths.with_dir(name)))
        .collect();
    let known_constraints = choice.venv.as_ref().map(|v| format!("{v}/constraints.txt"));
    let mut extra = lib_manifests.clone();
    extra.extend(known_constraints.clone());
    // The checkout is scanned on the host while the target answers the probe.
    let mut lock = lock;
    let (p, scan) = std::thread::scope(|s| {
        let probing = s.spawn(|| {
            probe_target(
                &target,
                lock.as_deref_mut(),
                service,
                &units,
                &paths,
                &extra,
            )
        });
        let scan = scan_tree(&project.checkout, |_| false);
        (probing.join().expect("probing the target panicked"), scan)
    });
    let p = p?;
    let session = p
        .file(&paths.session())
        .map(|b| Session::read(b, &target.name, &paths.session()))
        .transpose()?;
    let with = libraries
        .into_iter()
        .zip(&lib_manifests)
        .map(|((package, scan), m)| Library {
            package,
            checkout: scan,
            manifest: p.file(m).map(sync::decode_manifest).unwrap_or_default(),
        })
        .collect();
    let (units, skipped) = swappable(&target.name, units, &p, choice.explicit_units)?;
    let venv = match session.as_ref().and_then(|s| s.venv.clone()) {
        Some(v) => v,
        None => find_venv(&target, service, &p)?,
    };
    let venv_pip = crate::install::pip_version(&venv, &p.paths);
    let easy_install_pth = p.paths.iter().any(|x| {
        x.starts_with(&format!("{venv}/lib/python3"))
            && x.ends_with("/site-packages/easy-install.pth")
    });
    let manifest = p
        .file(&paths.manifest())
        .map(sync::decode_manifest)
        .unwrap_or_default();
    let constraints_file = format!("{venv}/constraints.txt");
    let constraints = if known_constraints.as_deref() == Some(constraints_file.as_str()) {
        p.file(&constraints_file).map(<[u8]>::to_vec)
    } else {
        let files = std::slice::from_ref(&constraints_file);
        match lock {
            Some(lock) => lock.probe(&[], files, "")?,
            None => probe::probe(&target, &[], files, "")?,
        }
        .file(&constraints_file)
        .map(<[u8]>::to_vec)
    };
    let database = match &service.config {
        Some(conf) => crate::db::connection_of(conf, p.file(conf)),
        None => Err(format!(
            "the catalog names no config file for {}",
            service.name
        )),
    };
    let db_tools = DB_TOOLS
        .iter()
        .filter(|t| p.paths.iter().any(|x| x == *t))
        .map(|t| t.to_string())
        .collect();
    let production_migrations = read_production_migrations(&target, service, &p, &venv, &session)?;
    let production_migrations_digest = match &production_migrations {
        Some(files) => migrations::digest(files),
        None => session
            .as_ref()
            .filter(|s| s.migrations_hash.is_none())
            .and_then(|s| s.production_migrations.clone()),
    };
    let peers = peers(&units, placement, others);
    let servers = read_servers(
        ctx,
        &placement.host.container_name,
        &units,
        choice.no_haproxy,
    )?;
    Ok(Survey {
        service: service.clone(),
        project: project.id.display(),
        package: project.id.package.clone(),
        host: placement.host.clone(),
        host_groups: placement.groups.clone(),
        peers,
        units,
        skipped,
        dropin_dir_exists: layout::dropin_dir(service.config.as_deref())
            .is_some_and(|d| p.paths.contains(&d)),
        constraints,
        probe: p,
        session,
        venv,
        venv_pip,
        easy_install_pth,
        manifest,
        servers,
        checkout: with_migrations(
            scan?,
            project,
            production_migrations.is_some() || production_migrations_digest.is_some(),
        ),
        me: crate::session::lock::whoami(),
        review: choice.review.clone(),
        with,
        target,
        production_migrations,
        production_migrations_digest,
        database,
        db_tools,
    })
}

/// The swapped units behind no load balancer that other containers of the service run too.
fn peers(
    units: &[Unit],
    placement: &Placement,
    others: &[Placement],
) -> Vec<(String, Vec<String>)> {
    units
        .iter()
        .filter(|u| u.haproxy.is_none())
        .filter_map(|u| {
            let hosts: Vec<String> = others
                .iter()
                .filter(|p| p.host.container_name != placement.host.container_name)
                .filter(|p| p.units.iter().any(|o| o.name == u.name))
                .map(|p| p.host.container_name.clone())
                .collect();
            (!hosts.is_empty()).then(|| (u.name.clone(), hosts))
        })
        .collect()
}

/// A catalog unit a run leaves alone.
#[derive(Debug, Clone)]
pub struct LeftAlone {
    pub unit: String,
    pub why: String,
}

/// What the user asked for that the survey needs.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    /// The units were named with `--service`: each must be there.
    pub explicit_units: bool,
    /// `--no-haproxy`: go on when HAProxy cannot be reached.
    pub no_haproxy: bool,
    /// `--with PATH`: the library checkouts to install with the service, by package name
    /// ([`libraries`]).
    pub with: Vec<(String, CheckoutScan)>,
    /// The venv the session records, when the caller read the session already (a sync):
    /// its constraints are read in the same round trip as the rest.
    pub venv: Option<String>,
    /// The Gerrit change the checkout is (`git osa review`), recorded with the sync.
    pub review: Option<crate::session::Review>,
}

/// The units to swap: the catalog's units that the target has (OSA creates many only
/// when a feature is on: nova's console proxies, cinder-backup, neutron's agents...) and
/// that are servers, not jobs run by a timer. Named units must all be there; otherwise
/// it refuses only when none is, naming what it looked for.
pub fn swappable(
    target: &str,
    units: Vec<Unit>,
    p: &Probe,
    explicit: bool,
) -> Result<(Vec<Unit>, Vec<LeftAlone>)> {
    let looked_for: Vec<String> = units.iter().map(|u| u.name.clone()).collect();
    let mut swap = Vec::new();
    let mut skipped = Vec::new();
    for u in units {
        match p.unit(&u.name) {
            Some(i) if i.exists() && i.is_job() => skipped.push(LeftAlone {
                unit: u.name,
                why: "a job run by a timer, not a server: it runs the dev code when it next fires"
                    .into(),
            }),
            Some(i) if i.exists() => swap.push(u),
            _ if explicit => {
                return Err(Error::user(format!(
                    "{target} has no unit {}: nothing was changed",
                    u.name
                ))
                .hint("is this the right container? `git osa status` shows the units found"));
            }
            _ => skipped.push(LeftAlone {
                unit: u.name,
                why: format!("not on {target}"),
            }),
        }
    }
    // A unit inside Apache cannot run in the foreground: with others to swap, it is left
    // alone (horizon's apache2 beside its uWSGI unit); alone, the run refuses it.
    if !explicit && swap.iter().any(|u| u.runs != Runs::Apache) {
        let (apache, rest): (Vec<Unit>, Vec<Unit>) =
            swap.into_iter().partition(|u| u.runs == Runs::Apache);
        swap = rest;
        skipped.extend(apache.into_iter().map(|u| LeftAlone {
            unit: u.name,
            why: "runs inside Apache (mod_wsgi), which git-osa cannot run in the foreground".into(),
        }));
    }
    if swap.is_empty() {
        return Err(Error::user(format!(
            "{target} runs none of the service's units (looked for {}): nothing was changed",
            looked_for.join(", ")
        ))
        .hint("is this the right container? `git osa status` shows the units found"));
    }
    Ok((swap, skipped))
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
    match ctx.haproxy().servers() {
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
        .hint(ctx.haproxy().hint())
        .hint("or pass --no-haproxy to go on without HAProxy, knowingly")),
    }
}

/// The first round trip: the units and git-osa's scopes, the session, OSA's facts, the
/// sync manifest, the venvs and the drop-in folder. Through `lock`'s holder when the
/// caller holds the lock (a run, a sync): no round trip of its own.
fn probe_target(
    target: &Target,
    lock: Option<&mut crate::session::lock::Lock>,
    service: &Service,
    units: &[Unit],
    paths: &Paths,
    extra_files: &[String],
) -> Result<Probe> {
    let mut unit_names: Vec<String> = units.iter().map(|u| u.name.clone()).collect();
    unit_names.extend(units.iter().map(|u| layout::dev_scope(&u.name)));
    unit_names.extend(units.iter().map(|u| layout::dev_service(&u.name)));
    unit_names.push(paths.step_scope());
    unit_names.push(paths.dbsync_scope());
    unit_names.push(paths.keep_scope());
    let venv_glob = format!("/openstack/venvs/{}-*", service.venv_name());
    let prod_glob = layout::backup_path(&venv_glob);
    // The venv's pip and easy-install.pth decide how it is kept.
    let site = format!("{venv_glob}/lib/python3*/site-packages");
    let mut globs = format!(
        "{venv_glob} {site} {prod_glob}/lib/python3*/site-packages {site}/pip-*.dist-info {site}/easy-install.pth"
    );
    if let Some(d) = layout::dropin_dir(service.config.as_deref()) {
        globs = format!("{globs} {d}");
    }
    for t in DB_TOOLS {
        globs = format!("{globs} {t}");
    }
    let mut files = vec![paths.session(), FACTS.into(), paths.manifest()];
    // Its [database] connection, for a snapshot of the database.
    files.extend(service.config.clone());
    files.extend(extra_files.iter().cloned());
    match lock {
        Some(lock) => lock.probe(&unit_names, &files, &globs),
        None => probe::probe(target, &unit_names, &files, &globs),
    }
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
    let known = session
        .as_ref()
        .is_some_and(|s| s.production_migrations.is_some());
    if synced || known || service.migrations.is_empty() {
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

/// The service venv: from OSA's facts (`venv_tag`), else the only `/openstack/venvs/<name>-*`
/// the probe found. Without one, the candidates (none, or several).
pub fn choose_venv(service: &Service, p: &Probe) -> std::result::Result<String, Vec<String>> {
    let prefix = format!("/openstack/venvs/{}-", service.venv_name());
    let candidates: Vec<&String> = p.paths.iter().filter(|x| x.starts_with(&prefix)).collect();
    let tagged = p.file(FACTS).and_then(|f| {
        crate::project::ini_value(&String::from_utf8_lossy(f), service.venv_name(), "venv_tag")
    });
    if let Some(v) = tagged.map(|tag| format!("{prefix}{tag}"))
        && candidates.contains(&&v)
    {
        return Ok(v);
    }
    match candidates.as_slice() {
        [one] => Ok((*one).clone()),
        many => Err(many.iter().map(|s| s.to_string()).collect()),
    }
}

fn find_venv(target: &Target, service: &Service, p: &Probe) -> Result<String> {
    choose_venv(service, p).map_err(|candidates| match candidates.as_slice() {
        [] => Error::user(format!(
            "{} has no /openstack/venvs/{}-* venv: is {} installed from source there?",
            target.name,
            service.venv_name(),
            service.name
        )),
        many => Error::user(format!(
            "{} has several {} venvs ({}) and {FACTS} does not say which one is in use",
            target.name,
            service.name,
            many.join(", ")
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Runs;

    fn unit(name: &str, haproxy: Option<&str>) -> Unit {
        Unit {
            name: name.into(),
            groups: vec![],
            runs: Runs::Console,
            haproxy: haproxy.map(Into::into),
            port: None,
        }
    }

    fn placement(name: &str, units: &[&str]) -> Placement {
        Placement {
            host: Host {
                inventory_name: name.into(),
                container_name: name.into(),
                physical_host: None,
                address: None,
                metal: false,
            },
            units: units.iter().map(|u| unit(u, None)).collect(),
            groups: None,
        }
    }

    #[test]
    fn peers_are_the_other_containers_running_a_unit_behind_no_load_balancer() {
        let units = [
            unit("heat-api", Some("heat_api")),
            unit("heat-engine", None),
        ];
        let a = placement("heat-a", &["heat-api", "heat-engine"]);
        let b = placement("heat-b", &["heat-api", "heat-engine"]);
        let c = placement("heat-c", &["heat-api"]);
        let all = [a.clone(), b, c];
        assert_eq!(
            peers(&units, &a, &all),
            vec![("heat-engine".to_string(), vec!["heat-b".to_string()])]
        );
        // alone in the deployment: no peer
        assert!(peers(&units, &a, std::slice::from_ref(&a)).is_empty());
    }
}
