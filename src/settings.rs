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

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::config::Config;
use crate::error::Result;
use crate::gitconfig::{GitConfig, GitValue};

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
    pub(crate) fn new(value: T, origin: Origin) -> Setting<T> {
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
    /// `osa.detach`: a run starts the dev units detached (`git osa run --detach`).
    pub detach: Setting<bool>,
    /// `osa.dbSnapshot`: dump the service's database before the session's first db sync
    /// (the default of `git osa review`).
    pub db_snapshot: Setting<bool>,
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
const DETACH: Opt = Opt {
    id: "detach",
    flag: "--detach",
    env: "GIT_OSA_DETACH",
};
const DB_SNAPSHOT: Opt = Opt {
    id: "db_snapshot",
    flag: "--db-snapshot",
    env: "GIT_OSA_DB_SNAPSHOT",
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
    /// are read from `git osa run`'s (or `git osa review`'s, which runs the cycle too) when
    /// that is the subcommand, else from `git osa`'s own
    /// (which, before another subcommand, hold only what the environment set); the
    /// deployment options are global, so `git osa`'s hold them wherever they were given.
    pub fn resolve(matches: &ArgMatches, cwd: &Path) -> Result<Settings> {
        let run = matches
            .subcommand_matches("run")
            .or_else(|| matches.subcommand_matches("review"))
            .unwrap_or(matches);
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
        let detach = match DETACH.get::<bool>(run) {
            Some(s) => s,
            None => match git.last("osa.detach")? {
                Some(v) => v.bool()?,
                None => Setting::new(false, Origin::Default),
            },
        };
        let db_snapshot = if run.value_source("no_db_snapshot") == Some(ValueSource::CommandLine) {
            Setting::new(false, Origin::Flag("--no-db-snapshot".into()))
        } else {
            match DB_SNAPSHOT.get::<bool>(run) {
                Some(s) => s,
                None => match git.last("osa.dbSnapshot")? {
                    Some(v) => v.bool()?,
                    // A review runs someone else's migrations: undoable by default.
                    None => Setting::new(
                        matches.subcommand_matches("review").is_some(),
                        Origin::Default,
                    ),
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
            detach,
            db_snapshot,
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
        lines.push(Line {
            key: "osa.detach",
            value: Value::Bool(self.detach.value),
            origin: self.detach.origin.clone(),
        });
        lines.push(Line {
            key: "osa.dbSnapshot",
            value: Value::Bool(self.db_snapshot.value),
            origin: self.db_snapshot.origin.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A review runs someone else's migrations: it snapshots the database unless told not
    /// to; a run does only when told to.
    #[test]
    fn a_review_snapshots_the_database_by_default() {
        use clap::CommandFactory;
        let dir = std::env::temp_dir();
        let db_snapshot = |args: &[&str]| {
            let m = crate::cli::Cli::command()
                .try_get_matches_from(args)
                .unwrap();
            let s = Settings::resolve(&m, &dir).unwrap().db_snapshot;
            (s.value, s.origin.scope())
        };
        if std::env::var_os("GIT_OSA_DB_SNAPSHOT").is_some() {
            return;
        }
        assert_eq!(
            db_snapshot(&["git-osa", "review", "12345"]),
            (true, "default")
        );
        assert_eq!(
            db_snapshot(&["git-osa", "review", "12345", "--no-db-snapshot"]),
            (false, "flag")
        );
        assert_eq!(db_snapshot(&["git-osa", "run"]), (false, "default"));
        assert_eq!(
            db_snapshot(&["git-osa", "run", "--db-snapshot"]),
            (true, "flag")
        );
    }

    /// The options' ids, names and variables here are those of `cli.rs`.
    #[test]
    fn options_are_those_of_the_command_line() {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        for opt in [
            CONTAINER,
            SERVICE,
            RESTORE_ON_EXIT,
            DETACH,
            DB_SNAPSHOT,
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
}
