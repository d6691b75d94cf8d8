//! git config as git reads it, through libgit2: the checkout's repository when there is
//! one (else the user's and the system's files), `GIT_CONFIG_NOSYSTEM`, and `git -c`
//! (`GIT_CONFIG_PARAMETERS`, which git sets for its subcommands and libgit2 does not
//! read); each value keeps its scope and file, for `git osa config`.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::settings::{Origin, Setting};

/// A value from git config, with the file it came from.
pub(crate) struct GitValue {
    key: &'static str,
    /// `None` for a key without `=` (`[osa] restoreOnExit`), which git reads as true.
    value: Option<String>,
    origin: Origin,
}

impl GitValue {
    pub(crate) fn text(self) -> Setting<String> {
        Setting::new(self.value.unwrap_or_default(), self.origin)
    }

    /// git's booleans: true/yes/on/1, false/no/off/0/empty, and a key without a value.
    pub(crate) fn bool(self) -> Result<Setting<bool>> {
        let value = match &self.value {
            None => true,
            Some(v) => git2::Config::parse_bool(v.as_str()).map_err(|_| {
                Error::user(format!(
                    "{} = {v:?} {} is not a boolean",
                    self.key,
                    self.where_()
                ))
                .hint(format!("use true or false: `git config {} true`", self.key))
            })?,
        };
        Ok(Setting::new(value, self.origin))
    }

    /// A path, with `~/` expanded as git's `--type=path` does.
    pub(crate) fn path(self) -> Setting<PathBuf> {
        let v = self.value.as_deref().unwrap_or("");
        let path = match (v.strip_prefix("~/"), std::env::var_os("HOME")) {
            (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
            _ => PathBuf::from(v),
        };
        Setting::new(path, self.origin)
    }

    fn where_(&self) -> String {
        match self.origin.source() {
            Some(s) => format!("in {s}"),
            None => String::new(),
        }
    }
}

/// git's configuration as git would read it from `cwd`.
pub(crate) struct GitConfig {
    config: git2::Config,
    /// `git -c key=value`: what git passes its subcommands in `GIT_CONFIG_PARAMETERS`.
    command_line: Vec<(String, Option<String>)>,
    /// `GIT_CONFIG_NOSYSTEM`, which git honours and libgit2 does not.
    no_system: bool,
}

impl GitConfig {
    pub(crate) fn open(cwd: &Path) -> Result<GitConfig> {
        // Outside a checkout (e.g. `git osa restore --all`), the user's and system's files.
        let config = match git2::Repository::discover(cwd) {
            Ok(repo) => repo.config(),
            Err(_) => git2::Config::open_default(),
        }
        .map_err(|e| Error::user(format!("cannot read git config: {}", e.message())))?;
        let command_line = match std::env::var("GIT_CONFIG_PARAMETERS") {
            Ok(p) => parse_parameters(&p).ok_or_else(|| {
                Error::user(format!(
                    "cannot read the `git -c` options GIT_CONFIG_PARAMETERS holds: {p}"
                ))
            })?,
            Err(_) => Vec::new(),
        };
        let no_system = std::env::var("GIT_CONFIG_NOSYSTEM")
            .is_ok_and(|v| git2::Config::parse_bool(v).unwrap_or(false));
        Ok(GitConfig {
            config,
            command_line,
            no_system,
        })
    }

    /// Every value of `key`, lowest precedence first: the files (libgit2 goes from the
    /// system's to the worktree's, includes where they are included), then `git -c`.
    fn entries(&self, key: &'static str) -> Result<Vec<GitValue>> {
        let mut values = Vec::new();
        let mut entries = self.config.multivar(key, None).map_err(git_error)?;
        while let Some(entry) = entries.next() {
            let entry = entry.map_err(git_error)?;
            if self.no_system && scope(entry.level()) == "system" {
                continue;
            }
            values.push(GitValue {
                key,
                value: entry
                    .has_value()
                    .then(|| String::from_utf8_lossy(entry.value_bytes()).into_owned()),
                origin: Origin::Git {
                    scope: scope(entry.level()),
                    file: origin_file(entry),
                },
            });
        }
        values.extend(
            self.command_line
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| GitValue {
                    key,
                    value: v.clone(),
                    origin: Origin::Git {
                        scope: "command",
                        file: None,
                    },
                }),
        );
        Ok(values)
    }

    /// The value of `key` that wins: the last one, as for git.
    pub(crate) fn last(&self, key: &'static str) -> Result<Option<GitValue>> {
        Ok(self.entries(key)?.pop())
    }

    /// The values of a list: all of them, except that an empty value forgets those
    /// before it (git's convention for lists, as for `credential.helper`).
    pub(crate) fn all(&self, key: &'static str) -> Result<Vec<GitValue>> {
        let mut values = self.entries(key)?;
        if let Some(reset) = values.iter().rposition(|v| v.value.as_deref() == Some("")) {
            values.drain(..=reset);
        }
        Ok(values)
    }
}

fn git_error(e: git2::Error) -> Error {
    Error::user(format!("cannot read git config: {}", e.message()))
}

/// `git config --show-scope`'s names for libgit2's levels.
fn scope(level: git2::ConfigLevel) -> &'static str {
    match level {
        git2::ConfigLevel::ProgramData | git2::ConfigLevel::System => "system",
        git2::ConfigLevel::XDG | git2::ConfigLevel::Global => "global",
        git2::ConfigLevel::Local => "local",
        git2::ConfigLevel::Worktree => "worktree",
        git2::ConfigLevel::App | git2::ConfigLevel::Highest => "command",
    }
}

/// The file an entry was read from, included files too (`git config --show-origin`).
/// git2 0.21 does not expose it; libgit2 keeps it in the entry.
fn origin_file(entry: &git2::ConfigEntry<'_>) -> Option<PathBuf> {
    use git2::Binding as _;
    // SAFETY: `raw()` is the entry libgit2 handed out for this iteration step, valid while
    // `entry` is borrowed; libgit2 1.9's `git_config_entry.origin_path` is null or a
    // NUL-terminated string owned by the entry's backend, which outlives the entry.
    let path = unsafe {
        let raw = entry.raw();
        if raw.is_null() || (*raw).origin_path.is_null() {
            return None;
        }
        CStr::from_ptr((*raw).origin_path).to_bytes().to_vec()
    };
    Some(PathBuf::from(OsStr::from_bytes(&path)))
}

/// `GIT_CONFIG_PARAMETERS` as git writes it: shell-quoted words, `'key'='value'` (git
/// 2.31 on), `'key=value'` (before), or `'key'` for a key without a value; a `'` in a word
/// is written `'\''`.
fn parse_parameters(text: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (first, after) = quoted(rest)?;
        let (pair, after) = match after.strip_prefix('=') {
            Some(value) => {
                let (value, after) = quoted(value)?;
                ((first, Some(value)), after)
            }
            None => match first.split_once('=') {
                Some((k, v)) => ((k.to_string(), Some(v.to_string())), after),
                None => ((first, None), after),
            },
        };
        out.push(pair);
        rest = after.trim_start();
    }
    Some(out)
}

/// One `'...'` word (with `\'` between quoted parts), and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut word = String::new();
    let mut rest = text;
    loop {
        let inner = rest.strip_prefix('\'')?;
        let end = inner.find('\'')?;
        word.push_str(&inner[..end]);
        rest = &inner[end + 1..];
        match rest.strip_prefix("\\'") {
            Some(after) => {
                word.push('\'');
                rest = after;
            }
            None => return Some((word, rest)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_c_parameters_in_both_of_gits_formats() {
        assert_eq!(
            parse_parameters("'osa.container'='c1' 'osa.service=a' 'osa.restoreOnExit'"),
            Some(vec![
                ("osa.container".into(), Some("c1".into())),
                ("osa.service".into(), Some("a".into())),
                ("osa.restoreOnExit".into(), None),
            ])
        );
        assert_eq!(
            parse_parameters(r"'osa.publicIndex'='it'\''s'"),
            Some(vec![("osa.publicIndex".into(), Some("it's".into()))])
        );
        assert_eq!(parse_parameters(""), Some(Vec::new()));
        assert_eq!(parse_parameters("'unterminated"), None);
    }
}
