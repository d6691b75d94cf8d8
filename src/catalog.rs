//! The catalog: which OpenStack services OSA deploys and how, as data.
//!
//! The facts live in `catalog.toml` (embedded in the binary); this module only reads them,
//! merges the user's additions from the config file (an entry with the same `name`
//! replaces the built-in one), checks them, and answers "which service is this checkout?".

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::project::ProjectId;

const BUILTIN: &str = include_str!("catalog.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    pub projects: Vec<String>,
    pub packages: Vec<String>,
    pub user: String,
    #[serde(default)]
    pub venv: Option<String>,
    #[serde(default)]
    pub config: Option<String>,
    #[serde(default)]
    pub migrations: Vec<String>,
    #[serde(default)]
    pub db_sync: Vec<Vec<String>>,
    /// The inventory groups whose hosts have the service's database configured, where OSA
    /// runs the db sync (nova's conductors, neutron's servers); empty means every host.
    #[serde(default)]
    pub db_sync_groups: Vec<String>,
    #[serde(rename = "unit")]
    pub units: Vec<Unit>,
}

/// A change to a catalog entry, by name, from the user's config: drop units the
/// deployment does not have, add its own, change the db sync.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub name: String,
    #[serde(default)]
    pub remove_units: Vec<String>,
    #[serde(default, rename = "unit")]
    pub add_units: Vec<Unit>,
    #[serde(default)]
    pub db_sync: Option<Vec<Vec<String>>>,
    #[serde(default)]
    pub db_sync_groups: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub name: String,
    pub groups: Vec<String>,
    pub runs: Runs,
    #[serde(default)]
    pub haproxy: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runs {
    Uwsgi,
    Console,
    Apache,
}

impl Service {
    /// The venv's name before the tag: `/openstack/venvs/<venv_name>-<tag>`.
    pub fn venv_name(&self) -> &str {
        self.venv.as_deref().unwrap_or(&self.name)
    }

    /// Whether a checkout path lies under one of the service's migration folders.
    pub fn is_migration(&self, path: &str) -> bool {
        self.migrations.iter().any(|m| {
            let m = m.trim_end_matches('/');
            path.strip_prefix(m)
                .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// The HAProxy backend of a unit, in OSA's naming (`<service>-back`).
    pub fn backend(unit: &Unit) -> Option<String> {
        unit.haproxy.as_ref().map(|h| format!("{h}-back"))
    }
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub services: Vec<Service>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default, rename = "service")]
    services: Vec<Service>,
}

/// Lower-case, with runs of `-`, `_` and `.` made one `-` (PEP 503).
pub fn normalize_package(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn normalize_project(name: &str) -> String {
    let name = name.trim().trim_end_matches('/');
    name.strip_suffix(".git").unwrap_or(name).to_lowercase()
}

impl Catalog {
    pub fn builtin() -> Catalog {
        Catalog::parse(BUILTIN, "the built-in catalog").expect("the built-in catalog is valid")
    }

    pub fn parse(text: &str, origin: &str) -> Result<Catalog> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| {
            Error::user(format!(
                "{origin} is not a valid catalog: {}",
                e.to_string().trim_end()
            ))
        })?;
        Catalog::checked(file.services, origin)
    }

    /// The catalog of `services` read from `origin`, once they are checked.
    pub fn checked(services: Vec<Service>, origin: &str) -> Result<Catalog> {
        let catalog = Catalog { services };
        catalog.validate(origin)?;
        Ok(catalog)
    }

    /// Adds the services of `other`, replacing entries of the same name. They go first:
    /// [`Catalog::find`] returns the first match, and a user's entry that claims a project
    /// a built-in one claims too must win.
    pub fn merge(&mut self, other: Catalog) {
        let mut services = other.services;
        self.services
            .retain(|s| !services.iter().any(|o| o.name == s.name));
        services.append(&mut self.services);
        self.services = services;
    }

    /// Applies a user's patch to the entry it names.
    pub fn patch(&mut self, p: &Patch, origin: &str) -> Result<()> {
        let known: Vec<String> = self.services.iter().map(|s| s.name.clone()).collect();
        let Some(s) = self.services.iter_mut().find(|s| s.name == p.name) else {
            return Err(Error::user(format!(
                "{origin}: [[patch]] names `{}`, which is no service of the catalog",
                p.name
            ))
            .hint(format!("known services: {}", known.join(", "))));
        };
        for u in &p.remove_units {
            let before = s.units.len();
            s.units.retain(|x| &x.name != u);
            if s.units.len() == before {
                let names: Vec<&str> = s.units.iter().map(|x| x.name.as_str()).collect();
                return Err(Error::user(format!(
                    "{origin}: [[patch]] of `{}` removes `{u}`, which is not one of its units: {}",
                    p.name,
                    names.join(", ")
                )));
            }
        }
        s.units
            .retain(|x| !p.add_units.iter().any(|a| a.name == x.name));
        s.units.extend(p.add_units.iter().cloned());
        if let Some(d) = &p.db_sync {
            s.db_sync = d.clone();
        }
        if let Some(g) = &p.db_sync_groups {
            s.db_sync_groups = g.clone();
        }
        self.validate(origin)
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let bad =
            |what: String, hint: String| Err(Error::user(format!("{origin}: {what}")).hint(hint));
        let mut names = std::collections::HashSet::new();
        for s in &self.services {
            let name = &s.name;
            if !names.insert(name) {
                return bad(
                    format!("service `{name}` appears twice"),
                    "keep one of them: an entry replaces a built-in service of the same \
                     name, not another entry of the same file"
                        .into(),
                );
            }
            if s.projects.is_empty() && s.packages.is_empty() {
                return bad(
                    format!(
                        "service `{name}` needs `projects` or `packages` so a checkout can match it"
                    ),
                    format!(
                        "add the Gerrit project (`projects = [\"openstack/{name}\"]`, as in \
                         .gitreview) or the Python package name (`packages = [\"{name}\"]`)"
                    ),
                );
            }
            if s.units.is_empty() {
                return bad(
                    format!("service `{name}` has no [[service.unit]]"),
                    "add a [[service.unit]] after it with `name` (the systemd unit), \
                     `groups` (the inventory groups that run it) and `runs` \
                     (\"uwsgi\", \"console\" or \"apache\")"
                        .into(),
                );
            }
            for u in &s.units {
                if u.groups.is_empty() {
                    return bad(
                        format!("unit `{}` of `{name}` has no groups", u.name),
                        format!(
                            "list the inventory groups whose hosts run it, e.g. \
                             `groups = [\"{name}_all\"]` \
                             (`openstack-ansible-inventory-manage -G` lists them)"
                        ),
                    );
                }
            }
            if s.db_sync.iter().any(|c| c.is_empty()) {
                return bad(
                    format!("service `{name}` has an empty db_sync command"),
                    format!(
                        "each db_sync command is a list of words, e.g. \
                         `db_sync = [[\"{name}-manage\", \"db_sync\"]]`; drop the empty one"
                    ),
                );
            }
        }
        Ok(())
    }

    /// The service a checkout belongs to: by Gerrit project, then by Python package name,
    /// then by the path of its remote URL.
    pub fn find(&self, id: &ProjectId) -> Option<&Service> {
        let by_project = |p: &str| {
            let p = normalize_project(p);
            self.services
                .iter()
                .find(|s| s.projects.iter().any(|q| normalize_project(q) == p))
        };
        if let Some(s) = id.gerrit_project.as_deref().and_then(by_project) {
            return Some(s);
        }
        if let Some(pkg) = &id.package {
            let pkg = normalize_package(pkg);
            if let Some(s) = self
                .services
                .iter()
                .find(|s| s.packages.iter().any(|p| normalize_package(p) == pkg))
            {
                return Some(s);
            }
        }
        id.remote_project.as_deref().and_then(by_project)
    }

    pub fn by_name(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(gerrit: Option<&str>, pkg: Option<&str>, remote: Option<&str>) -> ProjectId {
        ProjectId {
            gerrit_project: gerrit.map(String::from),
            package: pkg.map(String::from),
            remote_project: remote.map(String::from),
        }
    }

    #[test]
    fn builtin_catalog_parses_and_covers_the_default_aio() {
        let c = Catalog::builtin();
        for name in ["keystone", "heat"] {
            assert!(c.by_name(name).is_some(), "{name} missing");
        }
    }

    #[test]
    fn every_builtin_unit_says_how_it_runs_and_balanced_units_have_ports() {
        for s in Catalog::builtin().services {
            for u in &s.units {
                if u.haproxy.is_some() {
                    assert!(
                        u.port.is_some(),
                        "{}/{} balanced without a port",
                        s.name,
                        u.name
                    );
                }
            }
        }
    }

    #[test]
    fn finds_by_gerrit_project_with_or_without_dot_git() {
        let c = Catalog::builtin();
        let s = c
            .find(&id(Some("openstack/keystone.git"), None, None))
            .unwrap();
        assert_eq!(s.name, "keystone");
        let s = c.find(&id(Some("openstack/heat"), None, None)).unwrap();
        assert_eq!(s.name, "heat");
    }

    #[test]
    fn finds_by_normalized_package_name() {
        let c = Catalog::builtin();
        let s = c.find(&id(None, Some("OpenStack_Heat"), None)).unwrap();
        assert_eq!(s.name, "heat");
    }

    #[test]
    fn falls_back_to_remote_path() {
        let c = Catalog::builtin();
        let s = c.find(&id(None, None, Some("openstack/keystone"))).unwrap();
        assert_eq!(s.name, "keystone");
        assert!(
            c.find(&id(Some("x/unknown"), Some("unknown"), None))
                .is_none()
        );
    }

    #[test]
    fn user_entries_add_and_replace() {
        let mut c = Catalog::builtin();
        let extra = Catalog::parse(
            r#"
            [[service]]
            name = "keystone"
            projects = ["me/keystone-fork"]
            packages = ["keystone"]
            user = "ks"
            [[service.unit]]
            name = "keystone-dev"
            groups = ["keystone_all"]
            runs = "console"

            [[service]]
            name = "mylib"
            projects = ["openstack/mylib"]
            packages = ["mylib"]
            user = "root"
            [[service.unit]]
            name = "thing"
            groups = ["thing_all"]
            runs = "console"
            "#,
            "test",
        )
        .unwrap();
        let before = c.services.len();
        c.merge(extra);
        assert_eq!(c.services.len(), before + 1);
        assert_eq!(c.by_name("keystone").unwrap().user, "ks");
        assert_eq!(
            c.find(&id(Some("openstack/mylib"), None, None))
                .unwrap()
                .name,
            "mylib"
        );
    }

    #[test]
    fn invalid_entries_are_rejected_with_the_reason() {
        let err = Catalog::parse(
            "[[service]]\nname='x'\nprojects=['a/x']\npackages=['x']\nuser='x'\nunit=[]\n",
            "cfg.toml",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("cfg.toml: service `x` has no [[service.unit]]")
        );
        let err = Catalog::parse("[[service]]\nname='x'\nbogus=1\n", "cfg.toml").unwrap_err();
        assert!(err.to_string().contains("unknown field `bogus`"), "{err}");
    }

    #[test]
    fn migration_folders_match_whole_path_components() {
        let ks = Catalog::builtin().by_name("keystone").unwrap().clone();
        assert!(ks.is_migration("keystone/common/sql/migrations/env.py"));
        assert!(ks.is_migration("keystone/common/sql/migrations/versions/2024.1/a.py"));
        assert!(!ks.is_migration("keystone/common/sql/migrations_old/a.py"));
        assert!(!ks.is_migration("keystone/common/sql/upgrades.py"));
    }

    #[test]
    fn package_names_normalize_like_pep503() {
        assert_eq!(normalize_package("Openstack_Heat"), "openstack-heat");
        assert_eq!(normalize_package("oslo.config"), "oslo-config");
        assert_eq!(normalize_package("a--b__c"), "a-b-c");
    }

    /// Regression: a user's entry under a new name that claims `openstack/nova` was
    /// appended after the built-in one and silently ignored.
    #[test]
    fn a_users_entry_wins_over_the_built_in_one_that_claims_the_same_project() {
        let mut c = Catalog::builtin();
        let mine = Catalog::parse(
            "[[service]]\nname = 'my-nova'\nprojects = ['openstack/nova']\npackages = []\nuser = 'nova'\n\
             [[service.unit]]\nname = 'nova-api-os-compute'\ngroups = ['nova_api_os_compute']\nruns = 'uwsgi'\n",
            "mine.toml",
        )
        .unwrap();
        c.merge(mine);
        let found = c.find(&id(Some("openstack/nova"), None, None)).unwrap();
        assert_eq!(found.name, "my-nova");
        assert!(
            c.by_name("nova").is_some(),
            "the built-in entry stays, second"
        );
    }

    #[test]
    fn a_patch_removes_and_adds_units_of_a_built_in_entry_by_name() {
        let mut c = Catalog::builtin();
        let patch: Patch = toml::from_str(
            "name = 'nova'\nremove_units = ['nova-spicehtml5proxy']\n\
             [[unit]]\nname = 'nova-purge-deleted'\ngroups = ['nova_conductor']\nruns = 'console'\n",
        )
        .unwrap();
        c.patch(&patch, "mine.toml").unwrap();
        let nova = c.by_name("nova").unwrap();
        let names: Vec<&str> = nova.units.iter().map(|u| u.name.as_str()).collect();
        assert!(!names.contains(&"nova-spicehtml5proxy"), "{names:?}");
        assert!(names.contains(&"nova-purge-deleted"), "{names:?}");
        assert!(
            names.contains(&"nova-conductor"),
            "the rest stays: {names:?}"
        );

        let bad: Patch = toml::from_str("name = 'nova'\nremove_units = ['nova-nope']\n").unwrap();
        let err = c.patch(&bad, "mine.toml").unwrap_err().to_string();
        assert!(
            err.contains("removes `nova-nope`, which is not one of its units"),
            "{err}"
        );
        let unknown: Patch = toml::from_str("name = 'novaa'\n").unwrap();
        assert_eq!(c.patch(&unknown, "mine.toml").unwrap_err().exit_code(), 2);
    }
}
