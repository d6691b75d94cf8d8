//! `git osa conf set`, `unset` and `diff` in the container in dev mode, and `git osa run
//! --conf`: the steps that change a value, checked first (a file or option the service
//! does not have changes nothing), then what the dev units need to take it.

use crate::catalog::Runs;
use crate::context::Context;
use crate::cycle::Reconfigure;
use crate::error::{Error, Result};
use crate::execute::Runner;
use crate::layout;
use crate::plan::Step;
use crate::probe::{self, Probe};
use crate::redeploy::{self, Sync};
use crate::session::{self, ConfSetting, Record, Session};
use crate::systemd::UnitInfo;
use crate::transport::Target;

use super::{FileChange, Kind, Named};

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
    let named = super::name(&ctx.project()?.service, &req.file, &req.key)?;
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
        None => super::roots(&service, &infos),
    };
    let current = file_in(&dev.target, &named, &roots, &p)?;
    let mut steps = Vec::new();
    if dev.session.conf.as_ref().is_none_or(|c| c.roots.is_empty()) {
        steps.push(super::note_step(&dev.target, &dev.paths, &roots));
    }
    let mut set: Vec<ConfSetting> = dev
        .session
        .conf
        .as_ref()
        .map(|c| c.set.clone())
        .unwrap_or_default();
    let dropin_dir_exists = p.paths.contains(&dropin_dir);
    let said = match &req.value {
        Some(value) => {
            check(&dev.target, &dev.session, &named, &current)?;
            let setting = named.setting(value);
            set.retain(|s| !s.same_key(&setting));
            set.push(setting.clone());
            let content = match named.kind {
                Kind::Oslo => None,
                k => Some(super::apply(k, &current, &setting)?),
            };
            steps.push(super::write_step(
                &dev.target,
                &named,
                &set,
                content,
                dropin_dir_exists,
                vec![Record::ConfSet(setting)],
            ));
            format!(
                "{}: {} {} = {value} ({}); `git osa restore` puts production's back",
                dev.target.name,
                named.file,
                named.describe(),
                how(&named)
            )
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
                        Some(c) if !c.roots.is_empty() => super::read(&dev.target, &dev.paths, c)?
                            .before
                            .get(&named.file)
                            .map(|s| String::from_utf8_lossy(&s.data).into_owned()),
                        _ => None,
                    };
                    Some(super::unapply(&named, &current, production.as_deref())?)
                }
            };
            steps.push(super::write_step(
                &dev.target,
                &named,
                &set,
                content,
                dropin_dir_exists,
                vec![Record::ConfUnset(setting)],
            ));
            format!(
                "{}: {} {} is production's again",
                dev.target.name,
                named.file,
                named.describe()
            )
        }
    };
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
        Kind::Oslo => format!("through {}", super::dropin_of(&named.file)),
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

/// The file as it is in the container; refused, changing nothing, when it is not among
/// what the session notes (restore could not put it back) or not there.
fn file_in(target: &Target, named: &Named, roots: &[String], p: &Probe) -> Result<String> {
    if !super::under(roots, &named.file) {
        return Err(Error::user(format!(
            "{} is not in the service's configuration ({}), which restore puts back: nothing was changed",
            named.file,
            roots.join(", ")
        )));
    }
    match p.file(&named.file) {
        Some(bytes) => Ok(String::from_utf8_lossy(bytes).into_owned()),
        None => Err(Error::user(format!(
            "{} has no {}: nothing was changed",
            target.name, named.file
        ))
        .hint(format!(
            "name a file of {} (`git osa exec -- ls {}` lists them)",
            roots.join(", "),
            roots.first().map(String::as_str).unwrap_or("/etc")
        ))),
    }
}

/// A value the service cannot have is refused, changing nothing: an option of its own
/// oslo.config file must be one its code (or production's file) knows; a section of
/// another ini file must be there.
fn check(target: &Target, session: &Session, named: &Named, current: &str) -> Result<()> {
    let Some(section) = named.section.as_deref() else {
        return Ok(());
    };
    match named.kind {
        Kind::Oslo => {
            if super::edit::get(current, section, &named.key).is_some() {
                return Ok(());
            }
            let Some(venv) = session.venv.as_deref() else {
                return Ok(());
            };
            let said = super::check_option(target, venv, section, &named.key)?;
            if said.known || said.namespaces == 0 {
                return Ok(());
            }
            let err = Error::user(format!(
                "neither {} nor the service's code knows an option {}: nothing was changed",
                named.file,
                named.describe()
            ));
            Err(match said.like.as_slice() {
                [] => err.hint("`oslo-config-generator` lists a service's options, by section"),
                like => err.hint(format!("did you mean {}?", like.join(", "))),
            })
        }
        Kind::Ini if !super::edit::has_section(current, section) => {
            let sections: Vec<String> = super::edit::entries(current)
                .into_iter()
                .map(|e| e.section)
                .fold(Vec::new(), |mut v, s| {
                    if !v.contains(&s) {
                        v.push(s);
                    }
                    v
                });
            Err(Error::user(format!(
                "{} has no section [{section}]: nothing was changed",
                named.file
            ))
            .hint(format!("its sections: {}", sections.join(", "))))
        }
        _ => Ok(()),
    }
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
        .map(|c| super::read(&dev.target, &dev.paths, c))
        .transpose()?;
    Ok(Diff {
        container: dev.target.name.clone(),
        started_at: dev.session.started_at,
        noted: noted.is_some(),
        changes: super::changes(
            both.as_ref(),
            &dev.session,
            dev.project.service.config.as_deref(),
        ),
    })
}

/// The steps of `git osa run --conf FILE:SECTION.KEY=VALUE...`, each checked first, to
/// run before the dev units start. `conf`: the option's values.
pub fn run_steps(
    target: &Target,
    s: &crate::survey::Survey,
    session: &Session,
    conf: &[String],
) -> Result<Vec<Step>> {
    let named = run_options(&s.service, conf)?;
    let mut files: Vec<String> = named.iter().map(|(n, _)| n.file.clone()).collect();
    files.sort();
    files.dedup();
    let dirs: Vec<String> = files.iter().map(|f| format!("{f}.d")).collect();
    let p = probe::probe(target, &[], &files, &dirs.join(" "))?;
    let infos: Vec<(Runs, &UnitInfo)> = s
        .units
        .iter()
        .filter_map(|u| s.probe.unit(&u.name).map(|i| (u.runs, i)))
        .collect();
    let roots = match session.conf.as_ref().filter(|c| !c.roots.is_empty()) {
        Some(c) => c.roots.clone(),
        None => super::roots(&s.service, &infos),
    };
    let mut set: Vec<ConfSetting> = session
        .conf
        .as_ref()
        .map(|c| c.set.clone())
        .unwrap_or_default();
    let mut contents: std::collections::BTreeMap<String, String> = Default::default();
    let mut check_session = session.clone();
    check_session.venv = Some(s.venv.clone());
    for (n, value) in &named {
        let current = match contents.get(&n.file) {
            Some(c) => c.clone(),
            None => file_in(target, n, &roots, &p)?,
        };
        check(target, &check_session, n, &current)?;
        let setting = n.setting(value);
        set.retain(|x| !x.same_key(&setting));
        set.push(setting.clone());
        if n.kind != Kind::Oslo {
            contents.insert(n.file.clone(), super::apply(n.kind, &current, &setting)?);
        }
    }
    let mut steps = Vec::new();
    let mut done: Vec<&str> = Vec::new();
    for (n, _) in &named {
        if done.contains(&n.file.as_str()) {
            continue;
        }
        done.push(&n.file);
        let records = set
            .iter()
            .filter(|x| x.file == n.file)
            .cloned()
            .map(Record::ConfSet)
            .collect();
        steps.push(super::write_step(
            target,
            n,
            &set,
            contents.get(&n.file).cloned(),
            p.paths.contains(&format!("{}.d", n.file)),
            records,
        ));
    }
    Ok(steps)
}

/// What `--conf FILE:SECTION.KEY=VALUE...` names, checked for its form only.
pub fn run_options(
    service: &crate::catalog::Service,
    conf: &[String],
) -> Result<Vec<(Named, String)>> {
    conf.iter()
        .map(|arg| {
            let (file, key, value) = super::parse_run_option(arg).map_err(|why| {
                Error::user(format!("--conf {arg}: {why}: nothing was changed")).hint(
                    "give it as FILE:SECTION.KEY=VALUE, e.g. --conf heat.conf:DEFAULT.debug=True",
                )
            })?;
            Ok((super::name(service, &file, &key)?, value))
        })
        .collect()
}
