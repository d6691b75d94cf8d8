//! `git osa conf set`, `unset` and `diff`: a value of the service's configuration changed
//! in the container in dev mode, with what the dev units need to take it (a reload, a
//! restart through a sync), and every difference from production's configuration. The
//! steps themselves, and their checks, are `devconf`'s.

use crate::catalog::Runs;
use crate::context::Context;
use crate::cycle::Reconfigure;
use crate::devconf::apply::{check, file_in};
use crate::devconf::{self, FileChange, Kind, Named};
use crate::error::{Error, Result};
use crate::execute::Runner;
use crate::layout;
use crate::probe::{self, Probe};
use crate::redeploy::{self, Sync};
use crate::session::{self, ConfSetting, Record};
use crate::systemd::UnitInfo;

/// What `git osa conf set` or `unset` asks.
pub struct Change {
    pub container: Option<String>,
    pub file: String,
    pub key: String,
    /// None: unset (production's value back).
    pub value: Option<String>,
}

/// Sets or unsets a value in the container in dev mode, then has the dev units take it;
/// returns what the user is told.
pub fn change(ctx: &Context, req: &Change) -> Result<String> {
    // What it names is checked before any container is asked.
    let named = devconf::name(&ctx.project()?.service, &req.file, &req.key)?;
    let (dev, lock) = session::find::find_locked(ctx, req.container.as_deref(), "conf")?;
    let service = dev.project.service.clone();
    let units: Vec<String> = dev.placement.units.iter().map(|u| u.name.clone()).collect();
    let mut ask = units.clone();
    ask.extend(units.iter().map(|u| layout::dev_scope(u)));
    ask.extend(units.iter().map(|u| layout::dev_service(u)));
    let dropin_dir = format!("{}.d", named.file);
    let p = probe::probe(
        &dev.target,
        &ask,
        std::slice::from_ref(&named.file),
        &dropin_dir,
    )?;
    let infos = unit_infos(&dev.placement.units, &p);
    let roots = match dev.session.conf.as_ref().filter(|c| !c.roots.is_empty()) {
        Some(c) => c.roots.clone(),
        None => devconf::roots(&service, &infos),
    };
    let current = file_in(&dev.target, &named, &roots, &p)?;
    let mut steps = Vec::new();
    if dev.session.conf.as_ref().is_none_or(|c| c.roots.is_empty()) {
        steps.push(devconf::note_step(&dev.target, &dev.paths, &roots));
    }
    let mut set: Vec<ConfSetting> = dev
        .session
        .conf
        .as_ref()
        .map(|c| c.set.clone())
        .unwrap_or_default();
    let dropin_dir_exists = p.paths.contains(&dropin_dir);
    let (content, record, said) = match &req.value {
        Some(value) => {
            check(&dev.target, &dev.session, &named, &current)?;
            let setting = named.setting(value);
            set.retain(|s| !s.same_key(&setting));
            set.push(setting.clone());
            let content = match named.kind {
                Kind::Oslo => None,
                k => Some(devconf::apply(k, &current, &setting)?),
            };
            let said = format!(
                "{}: {} {} = {value} ({}); `git osa restore` puts production's back",
                dev.target.name,
                named.file,
                named.describe(),
                how(&named)
            );
            (content, Record::ConfSet(setting), said)
        }
        None => {
            let setting = named.setting("");
            let was_set = set.iter().any(|s| s.same_key(&setting));
            set.retain(|s| !s.same_key(&setting));
            let content = match named.kind {
                Kind::Oslo if !was_set => {
                    return Err(Error::user(format!(
                        "git osa conf set nothing as {} of {} in {}: nothing to unset",
                        named.describe(),
                        named.file,
                        dev.target.name
                    ))
                    .hint("`git osa conf diff` shows what differs from production"));
                }
                Kind::Oslo => None,
                _ => {
                    let production = match dev.session.conf.as_ref() {
                        Some(c) if !c.roots.is_empty() => {
                            devconf::read(&dev.target, &dev.paths, c)?
                                .before
                                .get(&named.file)
                                .map(|s| String::from_utf8_lossy(&s.data).into_owned())
                        }
                        _ => None,
                    };
                    Some(devconf::unapply(&named, &current, production.as_deref())?)
                }
            };
            let said = format!(
                "{}: {} {} is production's again",
                dev.target.name,
                named.file,
                named.describe()
            );
            (content, Record::ConfUnset(setting), said)
        }
    };
    steps.push(devconf::write_step(
        &dev.target,
        &named,
        &set,
        content,
        dropin_dir_exists,
        vec![record],
    ));
    let mut runner = Runner::new(
        &ctx.ui,
        ctx.haproxy(),
        dev.paths.clone(),
        dev.session.clone(),
    );
    runner.run_all(&steps)?;
    drop(lock);
    ctx.ui.step(&said);
    let running = |name: &str| p.unit(name).is_some_and(|i| i.active());
    let detached =
        dev.session.detached_at.is_some() && units.iter().any(|u| running(&layout::dev_service(u)));
    let foreground: Vec<&String> = units
        .iter()
        .filter(|u| running(&layout::dev_scope(u)))
        .collect();
    if detached {
        let reconfigure = if is_uwsgi_ini(&infos, &named.file) {
            Reconfigure::Restart
        } else {
            Reconfigure::Reload
        };
        redeploy::sync(
            ctx,
            &Sync {
                container: Some(dev.target.name.clone()),
                reconfigure,
                ..Sync::default()
            },
        )?;
        return Ok(format!("the dev units run with it in {}", dev.target.name));
    }
    if !foreground.is_empty() {
        return Ok(format!(
            "{} run in the foreground in {}: they take it when they start again (Ctrl-C there, then `git osa`)",
            foreground
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            dev.target.name
        ));
    }
    Ok("the dev units take it when they start (`git osa run`)".to_string())
}

/// How a value of `named`'s file is set.
fn how(named: &Named) -> String {
    match named.kind {
        Kind::Oslo => format!("through {}", devconf::dropin_of(&named.file)),
        _ => "in place; production's copy is noted".to_string(),
    }
}

/// The units the container has, with their systemd properties.
fn unit_infos<'a>(units: &[crate::catalog::Unit], p: &'a Probe) -> Vec<(Runs, &'a UnitInfo)> {
    units
        .iter()
        .filter_map(|u| p.unit(&u.name).filter(|i| i.exists()).map(|i| (u.runs, i)))
        .collect()
}

/// Whether `file` is a uWSGI unit's ini: its master reads it when it starts, only.
fn is_uwsgi_ini(infos: &[(Runs, &UnitInfo)], file: &str) -> bool {
    infos.iter().any(|(runs, i)| {
        *runs == Runs::Uwsgi
            && i.exec_start
                .windows(2)
                .any(|w| w[0] == "--ini" && w[1] == file)
    })
}

/// What `git osa conf diff` found: where, since when, and every difference.
pub struct Diff {
    pub container: String,
    pub started_at: u64,
    /// The session noted the configuration when it began (else only git osa conf's own
    /// values are known).
    pub noted: bool,
    pub changes: Vec<FileChange>,
}

/// Every difference from production's configuration in the container in dev mode.
pub fn diff(ctx: &Context, container: Option<&str>) -> Result<Diff> {
    let dev = session::find::find(ctx, container)?;
    let noted = dev.session.conf.as_ref().filter(|c| !c.roots.is_empty());
    let both = noted
        .map(|c| devconf::read(&dev.target, &dev.paths, c))
        .transpose()?;
    Ok(Diff {
        container: dev.target.name.clone(),
        started_at: dev.session.started_at,
        noted: noted.is_some(),
        changes: devconf::changes(
            both.as_ref(),
            &dev.session,
            dev.project.service.config.as_deref(),
        ),
    })
}
