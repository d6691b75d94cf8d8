//! Development configuration with an undo (the article's step 7, "change the
//! configuration if you need to"): `git osa conf set FILE SECTION.KEY VALUE`, `conf unset`,
//! `conf diff`, and `git osa run --conf`.
//!
//! When a session begins, git-osa notes what the service's configuration holds: its
//! configuration folder (`/etc/heat`) and its units' uWSGI inis, each file's bytes, owner
//! and mode, in `conf-before.tar` in the session's folder (`folder.py`; keys such as
//! fernet's, which rotate on their own, are not configuration files and are left out). A
//! value of the service's own oslo.config file goes into a drop-in beside it
//! (`heat.conf.d/98-git-osa-conf.conf`), so production's file is not touched; another file
//! (a paste ini, a policy, a uWSGI ini) is changed in place, production's copy kept in the
//! note. `conf diff` and `status` compare the note with the folders as they are, so a hand
//! edit in the container shows as well as git-osa's own; restore puts every noted file
//! back as it was and removes the files added since.

pub mod apply;
pub mod edit;

use std::collections::BTreeMap;
use std::io::Read;

use serde::Serialize;

use crate::catalog::{Runs, Service};
use crate::exec::{Exec, Input};
use crate::layout::{self, Paths};
use crate::plan::Step;
use crate::session::{ConfSetting, DevConf, Record, Session};
use crate::systemd::UnitInfo;
use crate::transport::Target;

/// Notes, reads and puts back the configuration (see its comments); Python's, on stdin.
pub const FOLDER_PY: &str = include_str!("folder.py");
/// Says whether an option is one the service knows (see its comments).
const OPTIONS_PY: &str = include_str!("options.py");

/// How `git osa conf` changes a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The service's own oslo.config file: through git-osa's drop-in beside it.
    Oslo,
    /// Another ini file (paste, uWSGI, another oslo.config file): in place.
    Ini,
    /// A YAML policy: in place, a rule a line.
    Yaml,
    /// A JSON policy: in place.
    Json,
}

impl Kind {
    fn of(file: &str, config: Option<&str>) -> Option<Kind> {
        if config == Some(file) {
            return Some(Kind::Oslo);
        }
        let ext = file.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        match ext {
            "conf" | "ini" | "cfg" => Some(Kind::Ini),
            "yaml" | "yml" => Some(Kind::Yaml),
            "json" => Some(Kind::Json),
            _ => None,
        }
    }

    /// A policy file has rules, no sections.
    fn sections(self) -> bool {
        matches!(self, Kind::Oslo | Kind::Ini)
    }
}

/// A value `git osa conf` names: the file (its path in the container), how it is changed,
/// and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub file: String,
    pub kind: Kind,
    pub section: Option<String>,
    pub key: String,
}

impl Named {
    /// `[section] key` or the rule's key, for messages.
    pub fn describe(&self) -> String {
        match &self.section {
            Some(s) => format!("[{s}] {}", self.key),
            None => self.key.clone(),
        }
    }

    pub fn setting(&self, value: &str) -> ConfSetting {
        ConfSetting {
            file: self.file.clone(),
            section: self.section.clone(),
            key: self.key.clone(),
            value: value.to_string(),
        }
    }
}

/// `FILE` and `SECTION.KEY` as the user gave them: FILE a path in the container, or a name
/// in the service's configuration folder (`heat.conf`, `api-paste.ini`); SECTION.KEY
/// (`DEFAULT.debug`) for an ini file, the rule itself for a policy.
pub fn name(service: &Service, file: &str, key: &str) -> crate::error::Result<Named> {
    let folder = service
        .config
        .as_deref()
        .and_then(|c| c.rsplit_once('/'))
        .map(|(d, _)| d.to_string());
    let path = if file.starts_with('/') {
        file.to_string()
    } else if let Some(dir) = &folder {
        format!("{dir}/{file}")
    } else {
        return Err(crate::error::Error::user(format!(
            "the catalog names no configuration folder for {}: give FILE as its path in the container",
            service.name
        )));
    };
    if path.split('/').any(|c| c == ".." || c == ".")
        || path.ends_with('/')
        || path.contains(char::is_whitespace)
        || path.contains(['*', '?', '['])
    {
        return Err(crate::error::Error::user(format!(
            "{file} is not a file's path: nothing was changed"
        ))
        .hint("name a file of the service's configuration, e.g. `heat.conf` or `/etc/heat/api-paste.ini`"));
    }
    let Some(kind) = Kind::of(&path, service.config.as_deref()) else {
        return Err(crate::error::Error::user(format!(
            "git osa conf changes ini files (.conf, .ini, .cfg) and policies (.yaml, .json); {path} is neither: nothing was changed"
        )));
    };
    let (section, key) = if kind.sections() {
        match key.split_once('.') {
            Some((s, k))
                if !s.is_empty()
                    && !k.is_empty()
                    && !k.contains(['=', '\n', '[', ']'])
                    && !s.contains(['\n', '[', ']']) =>
            {
                (Some(s.to_string()), k.to_string())
            }
            _ => {
                return Err(crate::error::Error::user(format!(
                    "`{key}` is not SECTION.KEY: nothing was changed"
                ))
                .hint("name an option by its section and key, e.g. `DEFAULT.debug` or `keystone_authtoken.memcached_servers`"));
            }
        }
    } else {
        if key.is_empty() || key.contains('\n') {
            return Err(crate::error::Error::user(format!(
                "`{key}` is not a policy rule's name: nothing was changed"
            )));
        }
        (None, key.to_string())
    };
    Ok(Named {
        file: path,
        kind,
        section,
        key,
    })
}

/// `FILE:SECTION.KEY=VALUE`, as `git osa run --conf` takes it.
pub fn parse_run_option(arg: &str) -> Result<(String, String, String), String> {
    let (file, rest) = arg.split_once(':').ok_or("no `:` after the file")?;
    let (key, value) = rest.split_once('=').ok_or("no `=` before the value")?;
    if file.is_empty() || key.is_empty() {
        return Err("the file or the key is empty".into());
    }
    Ok((file.to_string(), key.to_string(), value.to_string()))
}

/// What a session notes: the folder of the service's configuration file, and the uWSGI
/// ini of each uWSGI unit (its `--ini`).
pub fn roots(service: &Service, units: &[(Runs, &UnitInfo)]) -> Vec<String> {
    let mut roots: Vec<String> = service
        .config
        .as_deref()
        .and_then(|c| c.rsplit_once('/'))
        .map(|(d, _)| d.to_string())
        .into_iter()
        .collect();
    for (runs, info) in units {
        if *runs != Runs::Uwsgi {
            continue;
        }
        let ini = info
            .exec_start
            .windows(2)
            .find(|w| w[0] == "--ini")
            .map(|w| w[1].clone());
        if let Some(ini) = ini
            && !roots.contains(&ini)
        {
            roots.push(ini);
        }
    }
    roots
}

/// Whether `file` is among what a session notes (restore can put it back).
pub fn under(roots: &[String], file: &str) -> bool {
    roots
        .iter()
        .any(|r| file == r || file.starts_with(&format!("{}/", r.trim_end_matches('/'))))
}

/// `python3 - VERB NOTE ROOT...`: `FOLDER_PY` (on stdin) on the session's note of the
/// configuration and the roots.
fn folder_argv(verb: &str, paths: &Paths, roots: &[String]) -> Vec<String> {
    let mut argv = vec![
        "python3".to_string(),
        "-".into(),
        verb.into(),
        paths.conf_before(),
    ];
    argv.extend(roots.iter().cloned());
    argv
}

/// The step that notes what the configuration holds, before anything of it changes.
pub fn note_step(target: &Target, paths: &Paths, roots: &[String]) -> Step {
    let argv = folder_argv("note", paths, roots);
    Step::exec(
        format!(
            "note what the service's configuration holds ({}), for `git osa conf diff` and restore",
            roots.join(", ")
        ),
        target,
        Exec::new(argv).with_stdin(Input::Bytes(FOLDER_PY.as_bytes().to_vec())),
    )
    .after(Record::ConfNoted(roots.to_vec()))
}

/// The step that puts the configuration back as the session found it.
pub fn restore_step(target: &Target, paths: &Paths, conf: &DevConf) -> Step {
    let argv = folder_argv("restore", paths, &conf.roots);
    Step::exec(
        format!(
            "put the service's configuration back as the session found it ({})",
            conf.roots.join(", ")
        ),
        target,
        Exec::new(argv).with_stdin(Input::Bytes(FOLDER_PY.as_bytes().to_vec())),
    )
    .after(Record::Undone(crate::session::record::Undone::Conf))
}

/// Git-osa's drop-in for the service's configuration file `config`.
pub fn dropin_of(config: &str) -> String {
    format!("{config}.d/{}", layout::CONF_DROPIN)
}

/// The drop-in's text: every value set for `config`, by section, in the order set.
pub fn dropin_text(config: &str, set: &[ConfSetting]) -> String {
    let mut out = format!(
        "# Written by git-osa (`git osa conf set`) for a dev session: the development\n# configuration of {config}. `git osa restore` removes this file.\n"
    );
    let mut sections: Vec<&str> = Vec::new();
    for s in set.iter().filter(|s| s.file == config) {
        if let Some(sec) = s.section.as_deref()
            && !sections.contains(&sec)
        {
            sections.push(sec);
        }
    }
    for sec in sections {
        out.push_str(&format!("\n[{sec}]\n"));
        for s in set
            .iter()
            .filter(|s| s.file == config && s.section.as_deref() == Some(sec))
        {
            out.push_str(&format!("{} = {}\n", s.key, s.value));
        }
    }
    out
}

/// Writes `text` to `file` as the file was (owner, group, mode), through a new file renamed
/// over it.
const WRITE_IN_PLACE: &str = r#"cat > "$1.git-osa-new" && chown --reference="$1" "$1.git-osa-new" && chmod --reference="$1" "$1.git-osa-new" && mv -f "$1.git-osa-new" "$1""#;

/// Writes the drop-in `$2` in the folder `$1`, readable by the group of the configuration
/// file `$3` (the service's), as the file itself is.
const WRITE_DROPIN: &str = r#"mkdir -p "$1" && cat > "$2.new" && chgrp --reference="$3" "$2.new" && chmod 0640 "$2.new" && mv -f "$2.new" "$2""#;

/// The step that makes the file hold the session's values: for the service's own file,
/// the drop-in written with `set` (every value of the session, the new one included);
/// for another, `content` written in place. `dropin_dir_exists`: the drop-in's folder is
/// there already (else restore removes it too).
pub fn write_step(
    target: &Target,
    named: &Named,
    set: &[ConfSetting],
    content: Option<String>,
    dropin_dir_exists: bool,
    records: Vec<Record>,
) -> Step {
    let mut step = match (named.kind, content) {
        (Kind::Oslo, _) | (_, None) => {
            let file = dropin_of(&named.file);
            let dir = format!("{}.d", named.file);
            let mut made = vec![file.clone()];
            if !dropin_dir_exists {
                made.push(format!("{dir}/"));
            }
            Step::exec(
                format!("write {file}, the dev session's values of {}", named.file),
                target,
                Exec::script(
                    WRITE_DROPIN,
                    "git-osa-conf-dropin",
                    &[&dir, &file, &named.file],
                )
                .with_stdin(Input::Bytes(dropin_text(&named.file, set).into_bytes())),
            )
            .before(Record::Dropins(made))
        }
        (_, Some(text)) => Step::exec(
            format!(
                "change {} in place (production's copy is noted)",
                named.file
            ),
            target,
            Exec::script(WRITE_IN_PLACE, "git-osa-conf-edit", &[&named.file])
                .with_stdin(Input::Bytes(text.into_bytes())),
        ),
    };
    for r in records {
        step = step.before(r);
    }
    step
}

/// `text` with the setting applied.
pub(crate) fn apply(kind: Kind, text: &str, s: &ConfSetting) -> crate::error::Result<String> {
    let bad =
        |e: String| crate::error::Error::user(format!("{}: {e}: nothing was changed", s.file));
    Ok(match (kind, &s.section) {
        (Kind::Yaml, _) => edit::set_policy(text, &s.key, &s.value, false).map_err(bad)?,
        (Kind::Json, _) => edit::set_policy(text, &s.key, &s.value, true).map_err(bad)?,
        (_, Some(sec)) => edit::set(text, sec, &s.key, &s.value),
        (_, None) => text.to_string(),
    })
}

/// `text` with `named` as production has it: production's value (`production`, the noted
/// copy) put back, or the key taken out when production had none.
pub fn unapply(
    named: &Named,
    text: &str,
    production: Option<&str>,
) -> crate::error::Result<String> {
    let json = named.kind == Kind::Json;
    let bad =
        |e: String| crate::error::Error::user(format!("{}: {e}: nothing was changed", named.file));
    Ok(match (&named.section, production) {
        (Some(sec), Some(p)) => match edit::get(p, sec, &named.key) {
            Some(v) => edit::set(text, sec, &named.key, &v),
            None => edit::remove(text, sec, &named.key),
        },
        (Some(sec), None) => edit::remove(text, sec, &named.key),
        (None, p) => {
            let was = p.and_then(|p| {
                edit::policy_rules(p, json)
                    .into_iter()
                    .find(|(k, _)| *k == named.key)
                    .map(|(_, v)| v)
            });
            match was {
                Some(v) => edit::set_policy(text, &named.key, &v, json).map_err(bad)?,
                None => edit::remove_policy(text, &named.key, json).map_err(bad)?,
            }
        }
    })
}

/// What the service says of an option: whether one of its oslo.config namespaces has it,
/// and the names it has that are close.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct OptionCheck {
    pub known: bool,
    #[serde(default)]
    pub like: Vec<String>,
    /// How many namespaces could be loaded (none: it cannot tell).
    pub namespaces: usize,
}

/// Asks the service venv's Python (every oslo.config namespace installed there) about
/// `[section] key`.
pub fn check_option(
    target: &Target,
    venv: &str,
    section: &str,
    key: &str,
) -> crate::error::Result<OptionCheck> {
    let argv = [
        format!("{venv}/bin/python"),
        "-".into(),
        section.to_string(),
        key.to_string(),
    ];
    let out = target.run(&argv, Some(OPTIONS_PY.as_bytes()))?;
    serde_json::from_slice(&out.stdout).map_err(|e| {
        crate::error::Error::failed(format!(
            "cannot tell the options of the service in {}: {e}",
            target.name
        ))
    })
}

/// A file as noted or as it is: its bytes (a link's target), owner and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub data: Vec<u8>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

/// The configuration as the session found it and as it is now, by path.
#[derive(Debug, Default)]
pub struct Both {
    pub before: BTreeMap<String, Seen>,
    pub now: BTreeMap<String, Seen>,
}

/// Reads the note and the configuration as it is now, in one round trip.
pub fn read(target: &Target, paths: &Paths, conf: &DevConf) -> crate::error::Result<Both> {
    let argv = folder_argv("now", paths, &conf.roots);
    let out = target.run(&argv, Some(FOLDER_PY.as_bytes()))?;
    parse_both(&out.stdout).map_err(|e| {
        crate::error::Error::failed(format!(
            "cannot read the noted configuration in {}: {e}",
            target.name
        ))
    })
}

fn parse_both(tar: &[u8]) -> std::io::Result<Both> {
    let mut both = Both::default();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let mut e = entry?;
        let path = e.path()?.to_string_lossy().into_owned();
        let h = e.header();
        let mode = h.mode()?;
        let uid = h.uid()?;
        let gid = h.gid()?;
        let link = h
            .link_name()?
            .map(|l| l.to_string_lossy().into_owned().into_bytes());
        let mut data = Vec::new();
        e.read_to_end(&mut data)?;
        let seen = Seen {
            data: link.unwrap_or(data),
            mode,
            uid,
            gid,
        };
        if let Some(p) = path.strip_prefix("before/") {
            both.before.insert(format!("/{p}"), seen);
        } else if let Some(p) = path.strip_prefix("now/") {
            both.now.insert(format!("/{p}"), seen);
        }
    }
    Ok(both)
}

/// How a file differs from production's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// Changed in place (by git osa conf, by hand, or both).
    Changed,
    /// There now, not when the session began.
    Added,
    /// There when the session began, not now.
    Removed,
    /// Values in git-osa's drop-in beside it (the file itself as production's).
    DropIn,
}

/// A value that differs from production's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    pub key: String,
    /// Production's value (none: production has none).
    pub production: Option<String>,
    /// The value now (none: taken out).
    pub now: Option<String>,
    /// `git osa conf set` set it; else it was changed by hand.
    pub by_git_osa: bool,
}

/// A file that differs from production's, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub path: String,
    pub how: How,
    /// Values changed, for ini files and policies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<EntryChange>,
    /// Lines taken out (`- `) and put in (`+ `), for other files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    /// Owner or mode changed (`mode 0640 -> 0644`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
}

/// The service's own configuration file, as a session's records know it: the one whose
/// git-osa drop-in it made.
pub fn config_of(session: &Session) -> Option<String> {
    let conf = session.conf.as_ref()?;
    conf.set
        .iter()
        .map(|s| s.file.clone())
        .find(|f| session.dropins.contains(&dropin_of(f)))
}

/// Every difference from production's configuration: what the note and the folders show
/// (`both`, when the session noted them), and git-osa's drop-in values. `config`: the
/// service's own oslo.config file.
pub fn changes(both: Option<&Both>, session: &Session, config: Option<&str>) -> Vec<FileChange> {
    let set: &[ConfSetting] = session.conf.as_ref().map_or(&[], |c| &c.set);
    let mut out = Vec::new();
    if let Some(config) = config {
        let production = both
            .and_then(|b| b.before.get(config))
            .map(|s| String::from_utf8_lossy(&s.data).into_owned());
        let entries: Vec<EntryChange> = set
            .iter()
            .filter(|s| s.file == config)
            .map(|s| EntryChange {
                section: s.section.clone(),
                key: s.key.clone(),
                production: production
                    .as_deref()
                    .and_then(|p| edit::get(p, s.section.as_deref().unwrap_or("DEFAULT"), &s.key)),
                now: Some(s.value.clone()),
                by_git_osa: true,
            })
            .collect();
        if !entries.is_empty() {
            out.push(FileChange {
                path: config.to_string(),
                how: How::DropIn,
                entries,
                lines: Vec::new(),
                meta: None,
            });
        }
    }
    let Some(both) = both else {
        return out;
    };
    let mut paths: Vec<&String> = both.before.keys().chain(both.now.keys()).collect();
    paths.sort();
    paths.dedup();
    for path in paths {
        let kind = Kind::of(path, config);
        match (both.before.get(path), both.now.get(path)) {
            (Some(_), None) => out.push(FileChange {
                path: path.clone(),
                how: How::Removed,
                entries: Vec::new(),
                lines: Vec::new(),
                meta: None,
            }),
            (None, Some(n)) => out.push(FileChange {
                path: path.clone(),
                how: How::Added,
                entries: Vec::new(),
                lines: String::from_utf8_lossy(&n.data)
                    .lines()
                    .map(|l| format!("+ {l}"))
                    .collect(),
                meta: None,
            }),
            (Some(b), Some(n)) if b != n => {
                let (bt, nt) = (
                    String::from_utf8_lossy(&b.data),
                    String::from_utf8_lossy(&n.data),
                );
                let meta = ((b.mode, b.uid, b.gid) != (n.mode, n.uid, n.gid)).then(|| {
                    format!(
                        "owner {}:{} mode {:04o} -> owner {}:{} mode {:04o}",
                        b.uid, b.gid, b.mode, n.uid, n.gid, n.mode
                    )
                });
                let (entries, lines) = if b.data == n.data {
                    (Vec::new(), Vec::new())
                } else {
                    match kind {
                        Some(k @ (Kind::Oslo | Kind::Ini)) => {
                            (ini_changes(path, &bt, &nt, set, k), Vec::new())
                        }
                        Some(k @ (Kind::Yaml | Kind::Json)) => (
                            rule_changes(path, &bt, &nt, set, k == Kind::Json),
                            Vec::new(),
                        ),
                        None => (Vec::new(), line_changes(&bt, &nt)),
                    }
                };
                out.push(FileChange {
                    path: path.clone(),
                    how: How::Changed,
                    entries,
                    lines,
                    meta,
                });
            }
            _ => {}
        }
    }
    out
}

fn by_git_osa(
    set: &[ConfSetting],
    file: &str,
    section: Option<&str>,
    key: &str,
    now: Option<&str>,
) -> bool {
    set.iter().any(|s| {
        s.file == file
            && s.section.as_deref() == section
            && s.key == key
            && Some(s.value.as_str()) == now
    })
}

fn ini_changes(
    file: &str,
    before: &str,
    now: &str,
    set: &[ConfSetting],
    _kind: Kind,
) -> Vec<EntryChange> {
    let map = |t: &str| -> BTreeMap<(String, String), String> {
        edit::entries(t)
            .into_iter()
            .map(|e| ((e.section, e.key), e.value))
            .collect()
    };
    let (b, n) = (map(before), map(now));
    let mut keys: Vec<&(String, String)> = b.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != n.get(*k))
        .map(|(sec, key)| {
            let now = n.get(&(sec.clone(), key.clone())).cloned();
            EntryChange {
                by_git_osa: by_git_osa(set, file, Some(sec), key, now.as_deref()),
                section: Some(sec.clone()),
                key: key.clone(),
                production: b.get(&(sec.clone(), key.clone())).cloned(),
                now,
            }
        })
        .collect()
}

fn rule_changes(
    file: &str,
    before: &str,
    now: &str,
    set: &[ConfSetting],
    json: bool,
) -> Vec<EntryChange> {
    let (b, n): (BTreeMap<String, String>, BTreeMap<String, String>) = (
        edit::policy_rules(before, json).into_iter().collect(),
        edit::policy_rules(now, json).into_iter().collect(),
    );
    let mut keys: Vec<&String> = b.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != n.get(*k))
        .map(|k| EntryChange {
            by_git_osa: by_git_osa(set, file, None, k, n.get(k).map(String::as_str)),
            section: None,
            key: k.clone(),
            production: b.get(k).cloned(),
            now: n.get(k).cloned(),
        })
        .collect()
}

/// The lines only one side has, in order: `- ` production's, `+ ` now's.
fn line_changes(before: &str, now: &str) -> Vec<String> {
    let b: Vec<&str> = before.lines().collect();
    let n: Vec<&str> = now.lines().collect();
    let mut out: Vec<String> = b
        .iter()
        .filter(|l| !n.contains(l))
        .map(|l| format!("- {l}"))
        .collect();
    out.extend(
        n.iter()
            .filter(|l| !b.contains(l))
            .map(|l| format!("+ {l}")),
    );
    out
}

/// The changes as `git osa conf diff` and `status` say them, a line each (indent
/// included).
pub fn render(changes: &[FileChange], indent: &str) -> Vec<String> {
    let mut out = Vec::new();
    for c in changes {
        let what = match c.how {
            How::DropIn => format!("through {}", dropin_of(&c.path)),
            How::Added => "added during the session (restore removes it)".into(),
            How::Removed => "removed during the session (restore puts it back)".into(),
            How::Changed => {
                let by_hand = c.entries.iter().any(|e| !e.by_git_osa)
                    || !c.lines.is_empty()
                    || c.meta.is_some();
                let by_us = c.entries.iter().any(|e| e.by_git_osa);
                match (by_us, by_hand) {
                    (true, true) => "changed by git osa conf and by hand".into(),
                    (true, false) => "changed by git osa conf".into(),
                    _ => "changed by hand".into(),
                }
            }
        };
        out.push(format!("{indent}{}  {what}", c.path));
        for e in &c.entries {
            let name = match &e.section {
                Some(s) => format!("[{s}] {}", e.key),
                None => e.key.clone(),
            };
            let show = |v: &Option<String>| match v {
                Some(v) => format!("{v:?}"),
                None => "(none)".into(),
            };
            out.push(format!(
                "{indent}  {name}: {} -> {}",
                show(&e.production),
                show(&e.now)
            ));
        }
        if c.how != How::Added {
            out.extend(c.lines.iter().map(|l| format!("{indent}  {l}")));
        }
        if let Some(m) = &c.meta {
            out.push(format!("{indent}  {m}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn heat() -> Service {
        Catalog::builtin().by_name("heat").unwrap().clone()
    }

    #[test]
    fn a_file_is_named_by_its_path_or_its_name_in_the_configuration_folder() {
        let h = heat();
        let n = name(&h, "heat.conf", "DEFAULT.debug").unwrap();
        assert_eq!(n.file, "/etc/heat/heat.conf");
        assert_eq!(n.kind, Kind::Oslo);
        assert_eq!(n.describe(), "[DEFAULT] debug");
        let n = name(&h, "/etc/heat/api-paste.ini", "pipeline:heat-api.pipeline").unwrap();
        assert_eq!(
            (n.kind, n.section.as_deref()),
            (Kind::Ini, Some("pipeline:heat-api"))
        );
        let n = name(&h, "policy.yaml", "stacks:create").unwrap();
        assert_eq!(
            (n.kind, n.key.as_str(), n.section),
            (Kind::Yaml, "stacks:create", None)
        );
        for (file, key, says) in [
            (
                "heat.conf",
                "debug",
                "`debug` is not SECTION.KEY: nothing was changed",
            ),
            (
                "../passwd",
                "a.b",
                "../passwd is not a file's path: nothing was changed",
            ),
            (
                "heat*.conf",
                "a.b",
                "heat*.conf is not a file's path: nothing was changed",
            ),
            (
                "heat-engine",
                "a.b",
                "git osa conf changes ini files (.conf, .ini, .cfg) and policies (.yaml, .json); /etc/heat/heat-engine is neither: nothing was changed",
            ),
        ] {
            let err = name(&h, file, key).unwrap_err();
            assert_eq!(err.to_string(), says);
            assert_eq!(err.exit_code(), 2);
        }
        assert_eq!(
            parse_run_option("heat.conf:DEFAULT.debug=True").unwrap(),
            ("heat.conf".into(), "DEFAULT.debug".into(), "True".into())
        );
        assert!(parse_run_option("heat.conf=True").is_err());
    }

    #[test]
    fn the_roots_are_the_configuration_folder_and_the_uwsgi_inis() {
        let api = UnitInfo {
            exec_start: [
                "/v/bin/uwsgi",
                "--autoload",
                "--ini",
                "/etc/uwsgi/heat-api.ini",
            ]
            .map(String::from)
            .to_vec(),
            ..Default::default()
        };
        let engine = UnitInfo {
            exec_start: vec!["/v/bin/heat-engine".into()],
            ..Default::default()
        };
        let roots = roots(&heat(), &[(Runs::Uwsgi, &api), (Runs::Console, &engine)]);
        assert_eq!(roots, ["/etc/heat", "/etc/uwsgi/heat-api.ini"]);
        assert!(under(&roots, "/etc/heat/api-paste.ini"));
        assert!(under(&roots, "/etc/uwsgi/heat-api.ini"));
        assert!(!under(&roots, "/etc/heatx/a.conf"));
        assert!(!under(&roots, "/etc/uwsgi/keystone.ini"));
    }

    fn seen(text: &str) -> Seen {
        Seen {
            data: text.as_bytes().to_vec(),
            mode: 0o640,
            uid: 0,
            gid: 111,
        }
    }

    /// A hand edit and git-osa's own values, each said for what it is.
    #[test]
    fn every_difference_from_production_is_listed_and_who_made_it() {
        let h = heat();
        let conf = "[DEFAULT]\ndebug = False\n";
        let paste = "[pipeline:heat-api]\npipeline = cors apiv1app\n";
        let mut both = Both::default();
        both.before.insert("/etc/heat/heat.conf".into(), seen(conf));
        both.before
            .insert("/etc/heat/api-paste.ini".into(), seen(paste));
        both.before
            .insert("/etc/heat/gone.yaml".into(), seen("a: b\n"));
        both.now.insert(
            "/etc/heat/heat.conf".into(),
            seen(&conf.replace("False", "True")),
        );
        both.now.insert(
            "/etc/heat/api-paste.ini".into(),
            seen(&paste.replace("cors ", "")),
        );
        both.now
            .insert("/etc/heat/new.conf".into(), seen("[x]\ny = 1\n"));
        let session = Session {
            conf: Some(DevConf {
                roots: vec!["/etc/heat".into()],
                set: vec![
                    ConfSetting {
                        file: "/etc/heat/heat.conf".into(),
                        section: Some("DEFAULT".into()),
                        key: "use_stderr".into(),
                        value: "True".into(),
                    },
                    ConfSetting {
                        file: "/etc/heat/api-paste.ini".into(),
                        section: Some("pipeline:heat-api".into()),
                        key: "pipeline".into(),
                        value: "apiv1app".into(),
                    },
                ],
            }),
            ..Session::default()
        };
        let c = changes(Some(&both), &session, h.config.as_deref());
        let text = render(&c, "").join("\n");
        assert_eq!(
            text,
            "/etc/heat/heat.conf  through /etc/heat/heat.conf.d/98-git-osa-conf.conf\n  [DEFAULT] use_stderr: (none) -> \"True\"\n\
             /etc/heat/api-paste.ini  changed by git osa conf\n  [pipeline:heat-api] pipeline: \"cors apiv1app\" -> \"apiv1app\"\n\
             /etc/heat/gone.yaml  removed during the session (restore puts it back)\n\
             /etc/heat/heat.conf  changed by hand\n  [DEFAULT] debug: \"False\" -> \"True\"\n\
             /etc/heat/new.conf  added during the session (restore removes it)"
        );
        // Nothing changed: nothing said.
        let mut same = Both::default();
        same.before.insert("/etc/heat/heat.conf".into(), seen(conf));
        same.now.insert("/etc/heat/heat.conf".into(), seen(conf));
        assert!(changes(Some(&same), &Session::default(), h.config.as_deref()).is_empty());
    }

    #[test]
    fn the_dropin_holds_the_sessions_values_of_its_file_by_section() {
        let set = vec![
            ConfSetting {
                file: "/etc/heat/heat.conf".into(),
                section: Some("DEFAULT".into()),
                key: "debug".into(),
                value: "True".into(),
            },
            ConfSetting {
                file: "/etc/heat/api-paste.ini".into(),
                section: Some("x".into()),
                key: "y".into(),
                value: "z".into(),
            },
            ConfSetting {
                file: "/etc/heat/heat.conf".into(),
                section: Some("oslo_policy".into()),
                key: "enforce_scope".into(),
                value: "True".into(),
            },
        ];
        let text = dropin_text("/etc/heat/heat.conf", &set);
        assert!(
            text.ends_with("\n[DEFAULT]\ndebug = True\n\n[oslo_policy]\nenforce_scope = True\n"),
            "{text}"
        );
        assert_eq!(
            edit::get(&text, "DEFAULT", "debug").as_deref(),
            Some("True")
        );
    }

    /// Unset puts production's value back, or takes out a key production had not.
    #[test]
    fn unset_puts_productions_value_back() {
        let h = heat();
        let n = name(&h, "api-paste.ini", "app:apiv1app.x").unwrap();
        let production = "[app:apiv1app]\nheat.app_factory = f\n";
        let now = "[app:apiv1app]\nheat.app_factory = f\nx = 1\n";
        assert_eq!(unapply(&n, now, Some(production)).unwrap(), production);
        let n = name(&h, "api-paste.ini", "app:apiv1app.heat.app_factory").unwrap();
        assert_eq!(
            unapply(
                &n,
                "[app:apiv1app]\nheat.app_factory = g\n",
                Some(production)
            )
            .unwrap(),
            production
        );
    }

    /// The script the container runs, on this host: notes a folder (keys left out), then
    /// sees a hand edit, an added and a removed file, then puts everything back.
    #[test]
    fn folder_py_notes_compares_and_puts_back() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc/heat");
        std::fs::create_dir_all(etc.join("heat.conf.d")).unwrap();
        std::fs::write(etc.join("heat.conf"), "[DEFAULT]\ndebug = False\n").unwrap();
        std::fs::write(etc.join("policy.yaml"), "\"a\": \"b\"\n").unwrap();
        std::fs::write(etc.join("fernet-key-0"), "secret").unwrap();
        std::fs::write(etc.join("heat.conf.d/99-git-osa-dev.conf"), "[DEFAULT]\n").unwrap();
        let before = dir.path().join("before.tar");
        let root = etc.to_str().unwrap();
        let py = |args: &[&str]| {
            let mut c = std::process::Command::new("python3");
            c.arg("-").args(args).stdin(std::process::Stdio::piped());
            c.stdout(std::process::Stdio::piped());
            let mut child = c.spawn().unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(FOLDER_PY.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{out:?}");
            out.stdout
        };
        let b = before.to_str().unwrap();
        assert_eq!(py(&["note", b, root]), b"noted 2 files\n");
        std::fs::write(etc.join("heat.conf"), "[DEFAULT]\ndebug = True\n").unwrap();
        std::fs::remove_file(etc.join("policy.yaml")).unwrap();
        std::fs::write(etc.join("heat.conf.d/50-mine.conf"), "[x]\n").unwrap();
        std::fs::write(etc.join("fernet-key-0"), "rotated").unwrap();
        let both = parse_both(&py(&["now", b, root])).unwrap();
        let conf = format!("{root}/heat.conf");
        assert_eq!(both.before[&conf].data, b"[DEFAULT]\ndebug = False\n");
        assert_eq!(both.now[&conf].data, b"[DEFAULT]\ndebug = True\n");
        assert!(
            both.now
                .contains_key(&format!("{root}/heat.conf.d/50-mine.conf"))
        );
        assert!(
            !both
                .now
                .keys()
                .any(|k| k.contains("fernet") || k.contains("99-git-osa"))
        );
        let said = String::from_utf8(py(&["restore", b, root])).unwrap();
        assert!(
            said.contains("removed ") && said.contains("50-mine.conf"),
            "{said}"
        );
        assert!(
            said.contains(&format!("put back {conf} (changed during the session)")),
            "{said}"
        );
        assert!(
            said.contains("policy.yaml (removed during the session)"),
            "{said}"
        );
        assert_eq!(
            std::fs::read_to_string(&conf).unwrap(),
            "[DEFAULT]\ndebug = False\n"
        );
        assert_eq!(
            std::fs::read_to_string(etc.join("fernet-key-0")).unwrap(),
            "rotated"
        );
        assert!(
            etc.join("heat.conf.d/99-git-osa-dev.conf").exists(),
            "git-osa's own stays for its record"
        );
        assert_eq!(py(&["restore", b, root]), b"", "once back, nothing to do");
    }
}
