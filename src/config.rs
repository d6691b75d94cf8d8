//! The user's configuration: catalog additions (`[[service]]` entries, which come before
//! the built-in ones) and changes (`[[patch]]`, by name), and pip's fallback index.
//!
//! Read from `--config`/`GIT_OSA_CONFIG` if given, else `/etc/git-osa/config.toml` and then
//! `$XDG_CONFIG_HOME/git-osa/config.toml` (`~/.config/...`), later files winning.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::catalog::{Catalog, Patch, Service};
use crate::error::{Error, Result};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    public_index: Option<String>,
    #[serde(default, rename = "service")]
    services: Vec<Service>,
    #[serde(default, rename = "patch")]
    patches: Vec<Patch>,
}

#[derive(Debug, Default)]
pub struct Config {
    /// The index offered when the repo server lacks a requirement.
    pub public_index: Option<String>,
    pub catalog: Option<Catalog>,
    /// Changes to catalog entries, each with the file it came from, in order.
    pub patches: Vec<(Patch, String)>,
}

fn default_paths() -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("/etc/git-osa/config.toml")];
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(x) = xdg {
        paths.push(x.join("git-osa/config.toml"));
    }
    paths
}

impl Config {
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let paths = match explicit {
            Some(p) => {
                if !p.exists() {
                    return Err(
                        Error::user(format!("config file {} does not exist", p.display())).hint(
                            "create it, or give neither --config nor GIT_OSA_CONFIG to read \
                         /etc/git-osa/config.toml and ~/.config/git-osa/config.toml \
                         where they exist",
                        ),
                    );
                }
                vec![p.to_path_buf()]
            }
            None => default_paths().into_iter().filter(|p| p.exists()).collect(),
        };
        let mut config = Config::default();
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::user(format!("cannot read {}: {e}", path.display())))?;
            config.add(&text, &path.display().to_string())?;
        }
        Ok(config)
    }

    fn add(&mut self, text: &str, origin: &str) -> Result<()> {
        let file: File = toml::from_str(text).map_err(|e| {
            Error::user(format!(
                "{origin} is not valid: {}",
                e.to_string().trim_end()
            ))
            .hint(
                "fix it (FILES in `git help osa` says what it holds), or name another file \
                 with --config (GIT_OSA_CONFIG)",
            )
        })?;
        if file.public_index.is_some() {
            self.public_index = file.public_index;
        }
        self.patches
            .extend(file.patches.into_iter().map(|p| (p, origin.to_string())));
        if !file.services.is_empty() {
            let extra = Catalog::checked(file.services, origin)?;
            match &mut self.catalog {
                Some(c) => c.merge(extra),
                None => self.catalog = Some(extra),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_public_index_and_services() {
        let mut c = Config::default();
        c.add(
            "public_index = 'https://pypi.org/simple'\n[[service]]\nname='lib'\nprojects=['openstack/lib']\npackages=['lib']\nuser='root'\n[[service.unit]]\nname='u'\ngroups=['g']\nruns='console'\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.public_index.as_deref(), Some("https://pypi.org/simple"));
        assert_eq!(c.catalog.unwrap().services[0].name, "lib");
    }

    #[test]
    fn an_unknown_key_in_a_service_is_reported_on_its_own_line() {
        let text = "# my services\npublic_index = 'https://pypi.org/simple'\n\n\
                    [[service]]\nname = 'lib'\nprojects = ['openstack/lib']\n\
                    packages = ['lib']\nuser = 'root'\nvenvv = 'lib'\n\
                    [[service.unit]]\nname = 'u'\ngroups = ['g']\nruns = 'console'\n";
        let err = Config::default()
            .add(text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.toml is not valid: TOML parse error at line 9, column 1"),
            "{err}"
        );
        assert!(err.contains("9 | venvv = 'lib'"), "{err}");
        assert!(err.contains("unknown field `venvv`"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_file() {
        let err = Config::default()
            .add("publik_index = 'x'", "/etc/git-osa/config.toml")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/etc/git-osa/config.toml is not valid"),
            "{err}"
        );
    }
}
