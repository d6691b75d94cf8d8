//! The settings a command takes from outside its own arguments, each with where it came
//! from. Highest precedence first: a flag, the environment (`GIT_OSA_*`), git config
//! (`osa.*`), git-osa's TOML config file, the built-in default.
//!
//! git config is read by git itself (`gitconfig`), so every rule of git's counts as it
//! does for `git config`; each value keeps its origin, so `git osa config` can show it the
//! way `git config --show-scope --show-origin` does. Every key is in one list (`keys`),
//! which the man page and the README are generated from.
//!
//! The run's options and the deployment options already merge their environment
//! variable in through clap (`env = ...`); clap's `ValueSource` tells the two apart.

mod gitconfig;
pub mod keys;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::config::Config;
use crate::error::Result;
use gitconfig::{GitConfig, GitValue};
use keys::Key;

/// Where OSA keeps its configuration, the inventory among it, when not in
/// `/etc/openstack_deploy` (OSA's scripts read it too).
const OSA_CONFIG_DIR: &str = "OSA_CONFIG_DIR";

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
    /// `osa.deployHost`: where the inventory is read and through which every host is
    /// reached, when git-osa runs off the deployment.
    pub deploy_host: Setting<Option<String>>,
    /// `osa.sshConfig`: the ssh config file git-osa's ssh reads (`ssh -F`).
    pub ssh_config: Setting<Option<PathBuf>>,
    /// `osa.haproxySocket`.
    pub haproxy_socket: Setting<PathBuf>,
    /// `osa.gerritUrl`: where Gerrit's REST API answers; none: found from the checkout.
    pub gerrit_url: Setting<Option<String>>,
    /// `osa.checkouts`: the folder of the user's checkouts (Depends-On projects).
    pub checkouts: Setting<Option<PathBuf>>,
    /// `osa.rebuildCommand` (multi-valued): the commands `git osa rebuild` runs instead of
    /// OSA's documented ones; none: those.
    pub rebuild_commands: Vec<Setting<String>>,
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

/// Where the option of `key` got its value, if the command line or the environment gave
/// it.
fn option_origin(key: &Key, m: &ArgMatches) -> Option<Origin> {
    let opt = key.option?;
    match m.value_source(opt.id)? {
        ValueSource::CommandLine => Some(Origin::Flag(opt.flag.into())),
        ValueSource::EnvVariable => Some(Origin::Env(key.env?.into())),
        _ => None,
    }
}

/// The value of `key`'s option, if the command line or the environment gave it.
fn option_value<T: Clone + Send + Sync + 'static>(key: &Key, m: &ArgMatches) -> Option<Setting<T>> {
    let origin = option_origin(key, m)?;
    Some(Setting::new(
        m.get_one::<T>(key.option?.id)?.clone(),
        origin,
    ))
}

/// `--no-restore-on-exit` and the like, given on the command line.
fn negated(key: &Key, m: &ArgMatches) -> Option<Setting<bool>> {
    let opt = key.option?;
    let id = opt.negated?;
    (m.value_source(id) == Some(ValueSource::CommandLine))
        .then(|| Setting::new(false, Origin::Flag(format!("--no-{}", &opt.flag[2..]))))
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
        let git = GitConfig::read(cwd)?;
        let bool_setting = |key: &Key, m: &ArgMatches, default: bool| -> Result<Setting<bool>> {
            if let Some(s) = negated(key, m).or_else(|| option_value(key, m)) {
                return Ok(s);
            }
            match git.last(key.name) {
                Some(v) => v.bool(),
                None => Ok(Setting::new(default, Origin::Default)),
            }
        };

        let container = match option_value::<String>(&keys::CONTAINER, run) {
            Some(s) => s.map(Some),
            // An empty value unsets one from a wider scope (`git config osa.container ""`).
            None => match git.last(keys::CONTAINER.name) {
                Some(v) => v.text().map(|c| (!c.is_empty()).then_some(c)),
                None => Setting::new(None, Origin::Default),
            },
        };
        let services = match option_origin(&keys::SERVICE, run) {
            Some(origin) => run
                .get_many::<String>("services")
                .into_iter()
                .flatten()
                .map(|s| Setting::new(s.clone(), origin.clone()))
                .collect(),
            None => git
                .all(keys::SERVICE.name)
                .into_iter()
                .map(GitValue::text)
                .collect(),
        };
        let public_index_env = keys::PUBLIC_INDEX.env.unwrap_or_default();
        let public_index = match std::env::var(public_index_env) {
            Ok(v) if !v.is_empty() => Setting::new(v, Origin::Env(public_index_env.into())),
            _ => match git.last(keys::PUBLIC_INDEX.name) {
                Some(v) => v.text(),
                None => {
                    toml_public_index(matches.get_one::<PathBuf>("config"))?.unwrap_or_else(|| {
                        Setting::new(DEFAULT_PUBLIC_INDEX.to_string(), Origin::Default)
                    })
                }
            },
        };
        let restore_on_exit = bool_setting(&keys::RESTORE_ON_EXIT, run, false)?;
        let detach = bool_setting(&keys::DETACH, run, false)?;
        // A review runs someone else's migrations: undoable by default.
        let db_snapshot = bool_setting(
            &keys::DB_SNAPSHOT,
            run,
            matches.subcommand_matches("review").is_some(),
        )?;
        // The deployment paths' defaults are clap's (`default_value`, shown by --help).
        let path = |key: &Key| -> Setting<Option<PathBuf>> {
            if let Some(s) = option_value::<PathBuf>(key, matches) {
                return s.map(Some);
            }
            if let Some(v) = git.last(key.name) {
                return v.path().map(Some);
            }
            let default = key
                .option
                .and_then(|o| matches.get_one::<PathBuf>(o.id).cloned());
            Setting::new(default, Origin::Default)
        };
        let inventory = match path(&keys::INVENTORY) {
            // OSA's own scripts find their configuration in OSA_CONFIG_DIR.
            s if s.origin == Origin::Default => match std::env::var_os(OSA_CONFIG_DIR) {
                Some(dir) if !dir.is_empty() => Setting::new(
                    PathBuf::from(dir).join("openstack_inventory.json"),
                    Origin::Env(OSA_CONFIG_DIR.into()),
                ),
                _ => s.map(Option::unwrap_or_default),
            },
            s => s.map(Option::unwrap_or_default),
        };
        let lxc_path = path(&keys::LXC_PATH);
        let deploy_host = match option_value::<String>(&keys::DEPLOY_HOST, matches) {
            Some(s) => s.map(|h| (!h.is_empty()).then_some(h)),
            None => match git.last(keys::DEPLOY_HOST.name) {
                Some(v) => v.text().map(|h| (!h.is_empty()).then_some(h)),
                None => Setting::new(None, Origin::Default),
            },
        };
        let ssh_config = match std::env::var_os(keys::SSH_CONFIG.env.unwrap_or_default()) {
            Some(v) if !v.is_empty() => Setting::new(
                Some(PathBuf::from(v)),
                Origin::Env(keys::SSH_CONFIG.env.unwrap_or_default().into()),
            ),
            _ => match git.last(keys::SSH_CONFIG.name) {
                Some(v) => v.path().map(|p| (!p.as_os_str().is_empty()).then_some(p)),
                None => Setting::new(None, Origin::Default),
            },
        };
        let haproxy_socket = path(&keys::HAPROXY_SOCKET).map(Option::unwrap_or_default);
        let gerrit_url = match git.last(keys::GERRIT_URL.name) {
            Some(v) => v.text().map(|u| (!u.is_empty()).then_some(u)),
            None => Setting::new(None, Origin::Default),
        };
        let checkouts = match git.last(keys::CHECKOUTS.name) {
            Some(v) => v.path().map(|p| (!p.as_os_str().is_empty()).then_some(p)),
            None => Setting::new(None, Origin::Default),
        };
        let rebuild_commands = git
            .all(keys::REBUILD_COMMAND.name)
            .into_iter()
            .map(GitValue::text)
            .collect();
        Ok(Settings {
            rebuild_commands,
            container,
            services,
            public_index,
            restore_on_exit,
            detach,
            db_snapshot,
            inventory,
            lxc_path,
            deploy_host,
            ssh_config,
            haproxy_socket,
            gerrit_url,
            checkouts,
        })
    }

    /// Every setting, a line per value, in the order of [`keys::KEYS`] (`osa.service`:
    /// one per unit, or one unset line).
    pub fn lines(&self) -> Vec<Line> {
        fn text<T: AsRef<OsStr>>(key: &Key, s: &Setting<T>) -> Line {
            Line {
                key: key.name,
                value: Value::Text(s.value.as_ref().to_string_lossy().into_owned()),
                origin: s.origin.clone(),
            }
        }
        fn optional<T: AsRef<OsStr>>(key: &Key, s: &Setting<Option<T>>) -> Line {
            Line {
                key: key.name,
                value: match &s.value {
                    Some(v) => Value::Text(v.as_ref().to_string_lossy().into_owned()),
                    None => Value::Unset,
                },
                origin: s.origin.clone(),
            }
        }
        fn boolean(key: &Key, s: &Setting<bool>) -> Line {
            Line {
                key: key.name,
                value: Value::Bool(s.value),
                origin: s.origin.clone(),
            }
        }
        let mut lines = vec![optional(&keys::CONTAINER, &self.container)];
        if self.services.is_empty() {
            lines.push(Line {
                key: keys::SERVICE.name,
                value: Value::Unset,
                origin: Origin::Default,
            });
        }
        lines.extend(self.services.iter().map(|s| text(&keys::SERVICE, s)));
        lines.extend([
            text(&keys::PUBLIC_INDEX, &self.public_index),
            boolean(&keys::RESTORE_ON_EXIT, &self.restore_on_exit),
            boolean(&keys::DETACH, &self.detach),
            boolean(&keys::DB_SNAPSHOT, &self.db_snapshot),
            text(&keys::INVENTORY, &self.inventory),
            optional(&keys::LXC_PATH, &self.lxc_path),
            optional(&keys::DEPLOY_HOST, &self.deploy_host),
            optional(&keys::SSH_CONFIG, &self.ssh_config),
            text(&keys::HAPROXY_SOCKET, &self.haproxy_socket),
            optional(&keys::GERRIT_URL, &self.gerrit_url),
            optional(&keys::CHECKOUTS, &self.checkouts),
        ]);
        if self.rebuild_commands.is_empty() {
            lines.push(Line {
                key: keys::REBUILD_COMMAND.name,
                value: Value::Unset,
                origin: Origin::Default,
            });
        }
        lines.extend(
            self.rebuild_commands
                .iter()
                .map(|s| text(&keys::REBUILD_COMMAND, s)),
        );
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
        let arg = |id: &str| {
            cli.get_arguments()
                .find(|a| a.get_id() == id)
                .unwrap_or_else(|| panic!("no option {id}"))
        };
        for key in keys::KEYS {
            let Some(opt) = key.option else {
                continue;
            };
            let a = arg(opt.id);
            assert_eq!(Some(&opt.flag[2..]), a.get_long(), "{}", key.name);
            assert_eq!(key.env.map(OsStr::new), a.get_env(), "{}", key.name);
            if let Some(no) = opt.negated {
                assert_eq!(
                    Some(format!("no-{}", &opt.flag[2..]).as_str()),
                    arg(no).get_long(),
                    "{}",
                    key.name
                );
            }
        }
    }

    /// `git osa config` lists every key of the one list, in its order, and no other.
    #[test]
    fn config_lists_every_key_in_order() {
        use clap::CommandFactory;
        let m = crate::cli::Cli::command()
            .try_get_matches_from(["git-osa", "config"])
            .unwrap();
        let lines = Settings::resolve(&m, &std::env::temp_dir())
            .unwrap()
            .lines();
        let mut listed: Vec<&str> = lines.iter().map(|l| l.key).collect();
        listed.dedup();
        let keys: Vec<&str> = keys::KEYS.iter().map(|k| k.name).collect();
        assert_eq!(listed, keys);
    }
}
