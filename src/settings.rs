//! The settings a command takes from outside its own arguments, each with where it came
//! from. Highest precedence first: a flag, the environment (`GIT_OSA_*`), git config
//! (`osa.*`), git-osa's TOML config file, the built-in default.
//!
//! git config is read through libgit2, from the checkout's repository when there is one
//! (else the user's and the system's files), so `--system`, `--global`, `--local`,
//! `--worktree`, `include` and `includeIf` count as they do for git; `git -c osa.X=Y osa`
//! counts too, through `GIT_CONFIG_PARAMETERS` (which git sets for its subcommands and
//! libgit2 does not read), and so does `GIT_CONFIG_NOSYSTEM`. Each value keeps its
//! origin, so `git osa config` can show it the way `git config --show-scope
//! --show-origin` does.
//!
//! The run's options and the deployment options already merge their environment
//! variable in through clap (`env = ...`); clap's `ValueSource` tells the two apart.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::config::Config;
use crate::error::{Error, Result};

/// The index offered when the deployment's repo server lacks a requirement.
const DEFAULT_PUBLIC_INDEX: &str = "https://pypi.org/simple";

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line option (`--inventory`).
    Flag(String),
    /// An environment variable (`GIT_OSA_INVENTORY`).
    Env(String),
    /// git config, with its scope (`global`, `local`...) and file when it has one.
    Git {
        scope: &'static str,
        file: Option<PathBuf>,
    },
    /// git-osa's TOML config file.
    Toml(PathBuf),
    Default,
}

impl Origin {
    /// `git config --show-scope`'s first column, with ours added: `flag`, `env`, `toml`,
    /// `default`.
    pub fn scope(&self) -> &'static str {
        match self {
            Origin::Flag(_) => "flag",
            Origin::Env(_) => "env",
            Origin::Git { scope, .. } => scope,
            Origin::Toml(_) => "toml",
            Origin::Default => "default",
        }
    }

    /// Says where a value the user did not type came from, for an error it led to.
    pub fn hint(&self, key: &str) -> Option<String> {
        let from = match self {
            Origin::Flag(_) | Origin::Default => return None,
            Origin::Env(var) => format!("the environment ({var})"),
            Origin::Git { scope, .. } => format!(
                "git config ({scope}, {})",
                self.source().unwrap_or_default()
            ),
            Origin::Toml(file) => format!("{}", file.display()),
        };
        Some(format!(
            "{key} comes from {from}; `git osa config` shows every setting and its origin"
        ))
    }

    /// The option, the variable, or the file (as `file:PATH`, like git).
    pub fn source(&self) -> Option<String> {
        match self {
            Origin::Flag(s) | Origin::Env(s) => Some(s.clone()),
            Origin::Git {
                file: Some(file), ..
            }
            | Origin::Toml(file) => Some(format!("file:{}", file.display())),
            Origin::Git { file: None, .. } => Some("command line:".into()),
            Origin::Default => None,
        }
    }
}

/// One value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Setting<T> {
    fn new(value: T, origin: Origin) -> Setting<T> {
        Setting { value, origin }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Setting<U> {
        Setting::new(f(self.value), self.origin)
    }
}

/// Every setting, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `osa.container`: the container a run uses when the service has several.
    pub container: Setting<Option<String>>,
    /// `osa.service` (multi-valued): the units a run swaps; none: all of them. Each value
    /// has its own origin (git config values add up across files, as git's do).
    pub services: Vec<Setting<String>>,
    /// `osa.publicIndex`: the index offered (never used unasked) when the repo server
    /// lacks a requirement.
    pub public_index: Setting<String>,
    /// `osa.restoreOnExit`: a run restores production once the dev process stops.
    pub restore_on_exit: Setting<bool>,
    /// `osa.inventory`.
    pub inventory: Setting<PathBuf>,
    /// `osa.lxcPath`; none: LXC's default.
    pub lxc_path: Setting<Option<PathBuf>>,
    /// `osa.haproxySocket`.
    pub haproxy_socket: Setting<PathBuf>,
}

/// A setting as `git osa config` lists it: a value per line.
pub struct Line {
    pub key: &'static str,
    pub value: Value,
    pub origin: Origin,
}

/// A value as `git osa config` shows it.
pub enum Value {
    Text(String),
    Bool(bool),
    Unset,
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Unset => Ok(()),
        }
    }
}

/// A command-line option that sets a setting, and its environment variable.
struct Opt {
    /// clap's id (the field of `cli.rs`).
    id: &'static str,
    flag: &'static str,
    env: &'static str,
}

const CONTAINER: Opt = Opt {
    id: "container",
    flag: "--container",
    env: "GIT_OSA_CONTAINER",
};
const SERVICE: Opt = Opt {
    id: "services",
    flag: "--service",
    env: "GIT_OSA_SERVICE",
};
const RESTORE_ON_EXIT: Opt = Opt {
    id: "restore_on_exit",
    flag: "--restore-on-exit",
    env: "GIT_OSA_RESTORE_ON_EXIT",
};
const INVENTORY: Opt = Opt {
    id: "inventory",
    flag: "--inventory",
    env: "GIT_OSA_INVENTORY",
};
const LXC_PATH: Opt = Opt {
    id: "lxc_path",
    flag: "--lxc-path",
    env: "GIT_OSA_LXC_PATH",
};
const HAPROXY_SOCKET: Opt = Opt {
    id: "haproxy_socket",
    flag: "--haproxy-socket",
    env: "GIT_OSA_HAPROXY_SOCKET",
};
/// The public index has no option: `--allow-public-index URL` allows an index, which is
/// more than offering one.
const PUBLIC_INDEX_ENV: &str = "GIT_OSA_PUBLIC_INDEX";

impl Opt {
    /// Where the option's value came from, if the command line or the environment gave it.
    fn origin(&self, m: &ArgMatches) -> Option<Origin> {
        match m.value_source(self.id)? {
            ValueSource::CommandLine => Some(Origin::Flag(self.flag.into())),
            ValueSource::EnvVariable => Some(Origin::Env(self.env.into())),
            _ => None,
        }
    }

    fn get<T: Clone + Send + Sync + 'static>(&self, m: &ArgMatches) -> Option<Setting<T>> {
        let origin = self.origin(m)?;
        Some(Setting::new(m.get_one::<T>(self.id)?.clone(), origin))
    }
}

impl Settings {
    /// Resolves every setting. `matches` are the whole command line's: the run's options
    /// are read from `git osa run`'s when that is the subcommand, else from `git osa`'s own
    /// (which, before another subcommand, hold only what the environment set); the
    /// deployment options are global, so `git osa`'s hold them wherever they were given.
    pub fn resolve(matches: &ArgMatches, cwd: &Path) -> Result<Settings> {
        let run = matches.subcommand_matches("run").unwrap_or(matches);
        let git = GitConfig::open(cwd)?;

        let container = match CONTAINER.get::<String>(run) {
            Some(s) => s.map(Some),
            // An empty value unsets one from a wider scope (`git config osa.container ""`).
            None => match git.last("osa.container")? {
                Some(v) => v.text().map(|c| (!c.is_empty()).then_some(c)),
                None => Setting::new(None, Origin::Default),
            },
        };
        let services = match SERVICE.origin(run) {
            Some(origin) => run
                .get_many::<String>(SERVICE.id)
                .into_iter()
                .flatten()
                .map(|s| Setting::new(s.clone(), origin.clone()))
                .collect(),
            None => git
                .all("osa.service")?
                .into_iter()
                .map(GitValue::text)
                .collect(),
        };
        let public_index = match std::env::var(PUBLIC_INDEX_ENV) {
            Ok(v) if !v.is_empty() => Setting::new(v, Origin::Env(PUBLIC_INDEX_ENV.into())),
            _ => match git.last("osa.publicIndex")? {
                Some(v) => v.text(),
                None => {
                    toml_public_index(matches.get_one::<PathBuf>("config"))?.unwrap_or_else(|| {
                        Setting::new(DEFAULT_PUBLIC_INDEX.to_string(), Origin::Default)
                    })
                }
            },
        };
        let restore_on_exit =
            if run.value_source("no_restore_on_exit") == Some(ValueSource::CommandLine) {
                Setting::new(false, Origin::Flag("--no-restore-on-exit".into()))
            } else {
                match RESTORE_ON_EXIT.get::<bool>(run) {
                    Some(s) => s,
                    None => match git.last("osa.restoreOnExit")? {
                        Some(v) => v.bool()?,
                        None => Setting::new(false, Origin::Default),
                    },
                }
            };
        // The deployment paths' defaults are clap's (`default_value`, shown by --help).
        let path = |opt: &Opt, key: &'static str| -> Result<Setting<Option<PathBuf>>> {
            if let Some(s) = opt.get::<PathBuf>(matches) {
                return Ok(s.map(Some));
            }
            if let Some(v) = git.last(key)? {
                return Ok(v.path().map(Some));
            }
            let default = matches.get_one::<PathBuf>(opt.id).cloned();
            Ok(Setting::new(default, Origin::Default))
        };
        let inventory = path(&INVENTORY, "osa.inventory")?.map(Option::unwrap_or_default);
        let lxc_path = path(&LXC_PATH, "osa.lxcPath")?;
        let haproxy_socket =
            path(&HAPROXY_SOCKET, "osa.haproxySocket")?.map(Option::unwrap_or_default);
        Ok(Settings {
            container,
            services,
            public_index,
            restore_on_exit,
            inventory,
            lxc_path,
            haproxy_socket,
        })
    }

    /// Every setting, a line per value, in a fixed order (`osa.service`: one per unit,
    /// or one unset line).
    pub fn lines(&self) -> Vec<Line> {
        fn text<T: AsRef<OsStr>>(key: &'static str, s: &Setting<T>) -> Line {
            Line {
                key,
                value: Value::Text(s.value.as_ref().to_string_lossy().into_owned()),
                origin: s.origin.clone(),
            }
        }
        fn optional<T: AsRef<OsStr>>(key: &'static str, s: &Setting<Option<T>>) -> Line {
            Line {
                key,
                value: match &s.value {
                    Some(v) => Value::Text(v.as_ref().to_string_lossy().into_owned()),
                    None => Value::Unset,
                },
                origin: s.origin.clone(),
            }
        }
        let mut lines = vec![optional("osa.container", &self.container)];
        if self.services.is_empty() {
            lines.push(Line {
                key: "osa.service",
                value: Value::Unset,
                origin: Origin::Default,
            });
        }
        lines.extend(self.services.iter().map(|s| text("osa.service", s)));
        lines.push(text("osa.publicIndex", &self.public_index));
        lines.push(Line {
            key: "osa.restoreOnExit",
            value: Value::Bool(self.restore_on_exit.value),
            origin: self.restore_on_exit.origin.clone(),
        });
        lines.push(text("osa.inventory", &self.inventory));
        lines.push(optional("osa.lxcPath", &self.lxc_path));
        lines.push(text("osa.haproxySocket", &self.haproxy_socket));
        lines
    }

    /// The units named by `osa.service` (or `--service`).
    pub fn service_names(&self) -> Vec<String> {
        self.services.iter().map(|s| s.value.clone()).collect()
    }
}

/// `public_index` from the TOML files `Config::load` reads (the last that sets it wins),
/// with the file it came from. These are config.rs's files, read one at a time: that
/// module merges them and keeps no origin.
fn toml_public_index(explicit: Option<&PathBuf>) -> Result<Option<Setting<String>>> {
    let files = match explicit {
        Some(p) => vec![p.clone()],
        None => {
            let mut files = vec![PathBuf::from("/etc/git-osa/config.toml")];
            let xdg = std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
            files.extend(xdg.map(|x| x.join("git-osa/config.toml")));
            files.retain(|f| f.exists());
            files
        }
    };
    let mut found = None;
    for file in files {
        if let Some(index) = Config::load(Some(&file))?.public_index {
            found = Some(Setting::new(index, Origin::Toml(file)));
        }
    }
    Ok(found)
}

/// A value from git config, with the file it came from.
struct GitValue {
    key: &'static str,
    /// `None` for a key without `=` (`[osa] restoreOnExit`), which git reads as true.
    value: Option<String>,
    origin: Origin,
}

impl GitValue {
    fn text(self) -> Setting<String> {
        Setting::new(self.value.unwrap_or_default(), self.origin)
    }

    /// git's booleans: true/yes/on/1, false/no/off/0/empty, and a key without a value.
    fn bool(self) -> Result<Setting<bool>> {
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
    fn path(self) -> Setting<PathBuf> {
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
struct GitConfig {
    config: git2::Config,
    /// `git -c key=value`: what git passes its subcommands in `GIT_CONFIG_PARAMETERS`.
    command_line: Vec<(String, Option<String>)>,
    /// `GIT_CONFIG_NOSYSTEM`, which git honours and libgit2 does not.
    no_system: bool,
}

impl GitConfig {
    fn open(cwd: &Path) -> Result<GitConfig> {
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
    fn last(&self, key: &'static str) -> Result<Option<GitValue>> {
        Ok(self.entries(key)?.pop())
    }

    /// The values of a list: all of them, except that an empty value forgets those
    /// before it (git's convention for lists, as for `credential.helper`).
    fn all(&self, key: &'static str) -> Result<Vec<GitValue>> {
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

    /// The options' ids, names and variables here are those of `cli.rs`.
    #[test]
    fn options_are_those_of_the_command_line() {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        for opt in [
            CONTAINER,
            SERVICE,
            RESTORE_ON_EXIT,
            INVENTORY,
            LXC_PATH,
            HAPROXY_SOCKET,
        ] {
            let arg = cli
                .get_arguments()
                .find(|a| a.get_id() == opt.id)
                .unwrap_or_else(|| panic!("no option {}", opt.id));
            assert_eq!(Some(&opt.flag[2..]), arg.get_long(), "{}", opt.id);
            assert_eq!(Some(OsStr::new(opt.env)), arg.get_env(), "{}", opt.id);
        }
    }

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
