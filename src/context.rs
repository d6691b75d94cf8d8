//! What every command starts from: the options, the catalog, and the mapping from the
//! checkout to its service and from the service to its containers.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::catalog::{Catalog, Service, Unit};
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::haproxy::Haproxy;
use crate::inventory::{self, Host, Inventory, Machine};
use crate::lxc::Lxc;
use crate::project::{Checkout, ProjectId};
use crate::settings::{Origin, Settings};
use crate::site::{Reach, Site};
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
    /// The deployment's machines, as git-osa reaches them.
    pub site: Site,
    /// The inventory, once read.
    inventory: Mutex<Option<Arc<Inventory>>>,
    haproxy: OnceLock<Haproxy>,
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
        global.deploy_host = settings.deploy_host.value.clone();
        let site = Site::new(
            global.lxc_path.clone(),
            global.deploy_host.as_deref(),
            settings.ssh_config.value.clone(),
            std::io::IsTerminal::is_terminal(&std::io::stdin()),
        );
        Ok(Context {
            ui,
            site,
            inventory: Mutex::new(None),
            haproxy: OnceLock::new(),
            global,
            inventory_explicit,
            settings,
            cwd,
            catalog,
        })
    }

    /// The OSA inventory: read on this host, or on the deploy host when one is set; read
    /// once.
    pub fn inventory(&self) -> Result<Arc<Inventory>> {
        let mut cached = self.inventory.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(inv) = &*cached {
            return Ok(inv.clone());
        }
        let path = &self.global.inventory;
        let inv = Arc::new(match self.site.deploy_host() {
            Some(d) => Inventory::load_from(&*self.site.home(), &d.name, path)?,
            None => Inventory::load(path)?,
        });
        *cached = Some(inv.clone());
        Ok(inv)
    }

    /// There is an inventory to read: the file exists, or was named, or is on the deploy
    /// host (where only reading it tells).
    pub fn has_inventory(&self) -> bool {
        self.inventory_explicit
            || self.site.deploy_host().is_some()
            || self.global.inventory.exists()
    }

    /// The machine `host`'s commands run on, as the inventory says; `None` without an
    /// inventory (git-osa's own machine, or the deploy host, then).
    pub fn machine(&self, host: &Host) -> Option<Machine> {
        if !self.has_inventory() {
            return None;
        }
        self.inventory()
            .ok()
            .and_then(|inv| inv.machine(&host.inventory_name))
    }

    /// The LXC of the machine that runs `host`.
    pub fn lxc(&self, host: &Host) -> Lxc {
        self.site.lxc(self.machine(host).as_ref())
    }

    /// The LXC of git-osa's home machine: this one, or the deploy host.
    pub fn home_lxc(&self) -> Lxc {
        self.site.lxc(None)
    }

    /// Where `host`'s commands run: in its container, or on it when metal.
    pub fn target(&self, host: &Host) -> Target {
        self.lxc(host).target(&host.container_name, host.metal)
    }

    /// How the machine of `host` is reached, and its name.
    pub fn reach(&self, host: &Host) -> (Option<String>, Reach) {
        let m = self.machine(host);
        (
            m.as_ref().map(|m| m.name.clone()),
            self.site.reach(m.as_ref()),
        )
    }

    /// The deployment's HAProxy: a node on each host of the inventory's haproxy group, or
    /// the one of git-osa's home machine without one.
    pub fn haproxy(&self) -> &Haproxy {
        self.haproxy.get_or_init(|| {
            let socket = &self.global.haproxy_socket;
            let nodes: Vec<Machine> = if self.has_inventory() {
                self.inventory()
                    .map(|inv| inv.haproxy_nodes())
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            if nodes.is_empty() {
                return Haproxy::new(socket, self.site.home());
            }
            Haproxy::of(
                nodes
                    .iter()
                    .map(|m| crate::haproxy::Node {
                        name: m.name.clone(),
                        socket: socket.clone(),
                        via: self.site.transport(Some(m)),
                    })
                    .collect(),
            )
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
        let inv = self.inventory()?;
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
        let lxc = self.home_lxc();
        let names = lxc.list()?;
        let hosts = inventory::match_container_names(&names, &service.name);
        if hosts.is_empty() {
            return Err(Error::user(format!(
                "no OSA inventory at {} and no LXC container named like *_{}_*_container-* {}",
                self.global.inventory.display(),
                service.name,
                match &lxc.path {
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
