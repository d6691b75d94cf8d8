//! What every command starts from: the options, the catalog, and the mapping from the
//! checkout to its service and from the service to its containers.

use std::path::PathBuf;

use crate::catalog::{Catalog, Service, Unit};
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::haproxy::Haproxy;
use crate::inventory::{self, Host, Inventory};
use crate::lxc::Lxc;
use crate::project::{Checkout, ProjectId};
use crate::settings::{Origin, Settings};
use crate::transport::Target;
use crate::ui::Ui;

pub struct Context {
    pub ui: Ui,
    /// The deployment options, with the values [`Settings`] resolved.
    pub global: GlobalArgs,
    /// The inventory path was given (flag, environment or git config), not defaulted: a
    /// missing file is then an error rather than a reason to fall back to container names.
    pub inventory_explicit: bool,
    /// Every setting, with where it came from.
    pub settings: Settings,
    pub cwd: PathBuf,

    pub catalog: Catalog,
    pub lxc: Lxc,
    pub haproxy: Haproxy,
}

pub struct Project {
    pub checkout: Checkout,
    pub id: ProjectId,
    pub service: Service,
}

/// A host of the service, with the catalog units it runs.
#[derive(Debug, Clone)]
pub struct Placement {
    pub host: Host,
    pub units: Vec<Unit>,
    /// The inventory groups the host is in; `None` without an inventory.
    pub groups: Option<Vec<String>>,
}

impl Placement {
    pub fn target(&self, lxc: &Lxc) -> Target {
        lxc.target(&self.host.container_name, self.host.metal)
    }
}

/// Where the placements came from, for the user.
pub enum Source {
    Inventory(PathBuf),
    ContainerNames,
}

impl Context {
    pub fn new(ui: Ui, mut global: GlobalArgs, settings: Settings) -> Result<Context> {
        global.inventory = settings.inventory.value.clone();
        global.lxc_path = settings.lxc_path.value.clone();
        global.haproxy_socket = settings.haproxy_socket.value.clone();
        let inventory_explicit = settings.inventory.origin != Origin::Default;
        let config = Config::load(global.config.as_deref())?;
        let mut catalog = Catalog::builtin();
        if let Some(extra) = &config.catalog {
            catalog.merge(extra.clone());
        }
        for (patch, origin) in &config.patches {
            catalog.patch(patch, origin)?;
        }
        let cwd = std::env::current_dir()?;
        // Everything runs on this host: its containers, its HAProxy.
        let lxc = Lxc::local(global.lxc_path.clone());
        Ok(Context {
            ui,
            haproxy: Haproxy::new(&global.haproxy_socket, lxc.via.clone()),
            lxc,
            global,
            inventory_explicit,
            settings,
            cwd,
            catalog,
        })
    }

    /// The checkout in the current directory and the service it belongs to.
    pub fn project(&self) -> Result<Project> {
        self.identify(Checkout::current(&self.cwd)?)
    }

    /// The checkout at `dir` and the service it belongs to.
    pub fn project_at(&self, dir: &std::path::Path) -> Result<Project> {
        self.identify(Checkout::discover(dir)?)
    }

    fn identify(&self, checkout: Checkout) -> Result<Project> {
        let id = checkout.identify();
        let Some(service) = self.catalog.find(&id).cloned() else {
            let mut known: Vec<&str> = self
                .catalog
                .services
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            known.sort_unstable();
            let mut seen = Vec::new();
            if let Some(p) = &id.gerrit_project {
                seen.push(format!(".gitreview project {p}"));
            }
            if let Some(p) = &id.package {
                seen.push(format!("package {p}"));
            }
            if let Some(p) = &id.remote_project {
                seen.push(format!("remote {p}"));
            }
            let seen = if seen.is_empty() {
                "no .gitreview, setup.cfg, pyproject.toml or remote names it".to_string()
            } else {
                seen.join(", ")
            };
            return Err(Error::user(format!(
                "{} is not a project git-osa knows ({seen})",
                checkout.root.display()
            ))
            .hint(format!("known services: {}", known.join(", ")))
            .hint(
                "describe it in a [[service]] entry of ~/.config/git-osa/config.toml \
                 (see `git help osa`, FILES)",
            ));
        };
        Ok(Project {
            checkout,
            id,
            service,
        })
    }

    /// The hosts that run the service's units, from the inventory (or, without one, from
    /// LXC container names).
    pub fn placements(&self, service: &Service) -> Result<(Vec<Placement>, Source)> {
        let path = &self.global.inventory;
        if !path.exists() && !self.inventory_explicit {
            return self.placements_by_name(service);
        }
        let inv = Inventory::load(path)?;
        let mut placements: Vec<Placement> = Vec::new();
        for unit in &service.units {
            for group in &unit.groups {
                for host in inv.hosts_of(group) {
                    match placements.iter_mut().find(|p| p.host == host) {
                        Some(p) => {
                            if !p.units.iter().any(|u| u.name == unit.name) {
                                p.units.push(unit.clone());
                            }
                        }
                        None => placements.push(Placement {
                            groups: Some(inv.groups_of(&host.inventory_name)),
                            host,
                            units: vec![unit.clone()],
                        }),
                    }
                }
            }
        }
        if placements.is_empty() {
            let groups: Vec<&str> = service
                .units
                .iter()
                .flat_map(|u| u.groups.iter().map(String::as_str))
                .collect();
            return Err(Error::user(format!(
                "the inventory {} has no hosts in {} (the groups of {})",
                path.display(),
                groups.join(", "),
                service.name
            ))
            .hint(format!(
                "is {} deployed here? `openstack-ansible-inventory-manage -G` lists the groups",
                service.name
            )));
        }
        placements.sort_by(|a, b| a.host.container_name.cmp(&b.host.container_name));
        Ok((placements, Source::Inventory(path.clone())))
    }

    fn placements_by_name(&self, service: &Service) -> Result<(Vec<Placement>, Source)> {
        let names = self.lxc.list()?;
        let hosts = inventory::match_container_names(&names, &service.name);
        if hosts.is_empty() {
            return Err(Error::user(format!(
                "no OSA inventory at {} and no LXC container named like *_{}_*_container-* {}",
                self.global.inventory.display(),
                service.name,
                match &self.lxc.path {
                    Some(p) => format!("in {}", p.display()),
                    None => "in LXC's default path".into(),
                }
            ))
            .hint("run git osa on the OSA host, or point --inventory (GIT_OSA_INVENTORY) at openstack_inventory.json"));
        }
        let placements = hosts
            .into_iter()
            .map(|host| Placement {
                host,
                groups: None,
                units: service.units.clone(),
            })
            .collect();
        Ok((placements, Source::ContainerNames))
    }
}
