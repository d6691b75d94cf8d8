//! The steps that change a value of the service's configuration (`git osa conf set`,
//! `unset`, and `git osa run --conf`), each checked first: a file or option the service
//! does not have changes nothing.

use crate::catalog::Runs;
use crate::error::{Error, Result};
use crate::plan::Step;
use crate::probe::{self, Probe};
use crate::session::{ConfSetting, Record, Session};
use crate::systemd::UnitInfo;
use crate::transport::Target;

use super::{Kind, Named};

/// The file as it is in the container; refused, changing nothing, when it is not among
/// what the session notes (restore could not put it back) or not there.
pub(crate) fn file_in(
    target: &Target,
    named: &Named,
    roots: &[String],
    p: &Probe,
) -> Result<String> {
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
pub(crate) fn check(
    target: &Target,
    session: &Session,
    named: &Named,
    current: &str,
) -> Result<()> {
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
