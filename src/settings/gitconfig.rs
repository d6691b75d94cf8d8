//! git config, read by git itself: one `git config --get-regexp '^osa\.'` in the directory
//! git-osa runs in. git applies every rule it has (the system, global, local and worktree
//! files, `GIT_CONFIG_GLOBAL`, `GIT_CONFIG_SYSTEM`, `GIT_CONFIG_NOSYSTEM`, `include` and
//! `includeIf`, `git -c` and `GIT_CONFIG_COUNT`, `safe.directory`), so git-osa sees what
//! `git config` sees, and keeps each value's scope and file for `git osa config`. It costs
//! one process, once per command: about 2.5 ms on a 2-core VM.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// One `osa.*` entry as git printed it.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    /// As git prints it: section and name in lower case.
    key: String,
    value: Option<String>,
    scope: &'static str,
    file: Option<PathBuf>,
}

/// git's `osa.*` configuration as git reads it from `cwd`, lowest precedence first.
pub(crate) struct GitConfig {
    entries: Vec<Entry>,
}

impl GitConfig {
    pub(crate) fn read(cwd: &Path) -> Result<GitConfig> {
        let out = match Command::new("git")
            .current_dir(cwd)
            .args([
                "config",
                "--includes",
                "--show-scope",
                "--show-origin",
                "-z",
                "--get-regexp",
                r"^osa\.",
            ])
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) => out,
            // Without git there is no git config to read; `git osa doctor` says git is
            // missing.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                log::debug!("no git on PATH: git config not read");
                return Ok(GitConfig {
                    entries: Vec::new(),
                });
            }
            Err(e) => return Err(Error::failed(format!("cannot run git config: {e}"))),
        };
        match out.status.code() {
            Some(0) => {}
            // No key matched.
            Some(1) if out.stdout.is_empty() => {
                return Ok(GitConfig {
                    entries: Vec::new(),
                });
            }
            _ => {
                let why = String::from_utf8_lossy(&out.stderr);
                let why = why.trim().trim_start_matches("fatal: ");
                let err = Error::user(format!("cannot read git config: {why}"));
                return Err(if why.contains("show-scope") {
                    err.hint("git-osa needs git 2.31 or later")
                } else {
                    err
                });
            }
        }
        // git prints the repository's own files relative to the folder it moved to: the
        // top of the worktree (the git folder of a bare repository).
        let top = git2::Repository::discover(cwd)
            .ok()
            .map(|r| r.workdir().unwrap_or(r.path()).to_path_buf())
            .unwrap_or_else(|| cwd.to_path_buf());
        let entries = parse(&out.stdout, &top).ok_or_else(|| {
            Error::failed(format!(
                "cannot read what `git config --get-regexp` printed: {}",
                String::from_utf8_lossy(&out.stdout)
            ))
        })?;
        Ok(GitConfig { entries })
    }

    /// Every value of `key`, lowest precedence first.
    fn values(&self, key: &'static str) -> Vec<GitValue> {
        self.entries
            .iter()
            .filter(|e| e.key.eq_ignore_ascii_case(key))
            .map(|e| GitValue {
                key,
                value: e.value.clone(),
                origin: Origin::Git {
                    scope: e.scope,
                    file: e.file.clone(),
                },
            })
            .collect()
    }

    /// The value of `key` that wins: the last one, as for git.
    pub(crate) fn last(&self, key: &'static str) -> Option<GitValue> {
        self.values(key).pop()
    }

    /// The values of a list: all of them, except that an empty value forgets those
    /// before it (git's convention for lists, as for `credential.helper`).
    pub(crate) fn all(&self, key: &'static str) -> Vec<GitValue> {
        let mut values = self.values(key);
        if let Some(reset) = values.iter().rposition(|v| v.value.as_deref() == Some("")) {
            values.drain(..=reset);
        }
        values
    }
}

/// `git config -z --show-scope --show-origin --get-regexp` output: per entry
/// `SCOPE\0ORIGIN\0KEY\nVALUE\0`, or `SCOPE\0ORIGIN\0KEY\0` for a key without a value.
/// Relative files are taken from `top`.
fn parse(out: &[u8], top: &Path) -> Option<Vec<Entry>> {
    let text = String::from_utf8_lossy(out);
    let mut fields: Vec<&str> = text.split('\0').collect();
    // Every entry ends with a NUL: the last field is the empty one after it.
    if !fields.pop()?.is_empty() || !fields.len().is_multiple_of(3) {
        return None;
    }
    fields
        .chunks(3)
        .map(|f| {
            let (key, value) = match f[2].split_once('\n') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (f[2], None),
            };
            Some(Entry {
                key: key.to_string(),
                value,
                scope: scope_name(f[0]),
                file: f[1].strip_prefix("file:").map(|file| top.join(file)),
            })
        })
        .collect()
}

/// `--show-scope`'s names, as the static strings [`Origin`] keeps.
fn scope_name(scope: &str) -> &'static str {
    match scope {
        "system" => "system",
        "global" => "global",
        "local" => "local",
        "worktree" => "worktree",
        "command" => "command",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_as_git_prints_them_with_and_without_a_value() {
        let out = b"local\0file:.git/config\0osa.restoreonexit\0\
global\0file:/home/u/.gitconfig\0osa.service\nheat-engine\nand a second line\0\
command\0command line:\0osa.container\n\0";
        let entries = parse(out, Path::new("/src/heat")).unwrap();
        assert_eq!(
            entries,
            [
                Entry {
                    key: "osa.restoreonexit".into(),
                    value: None,
                    scope: "local",
                    file: Some("/src/heat/.git/config".into()),
                },
                Entry {
                    key: "osa.service".into(),
                    value: Some("heat-engine\nand a second line".into()),
                    scope: "global",
                    file: Some("/home/u/.gitconfig".into()),
                },
                Entry {
                    key: "osa.container".into(),
                    value: Some(String::new()),
                    scope: "command",
                    file: None,
                },
            ]
        );
        assert_eq!(parse(b"", Path::new("/")), Some(Vec::new()));
        assert_eq!(parse(b"local\0file:x\0", Path::new("/")), None);
    }
}
