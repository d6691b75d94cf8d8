//! OSA's inventory (`/etc/openstack_deploy/openstack_inventory.json`), read the way
//! Ansible reads it.
//!
//! Groups are `{"hosts": [...], "children": [...]}`; `_meta.hostvars` holds each host's
//! facts. Names come in two eras (`aio1_keystone_container-1a2b3c4d` up to 2023.2,
//! `aio1-keystone-container-1a2b3c4d` from 2024.1; upgraded deployments have both), the
//! container's address sits under a key that changed over the releases, and since 2026.1
//! group names have `-` normalised to `_`. Names are never derived: they are read.
//!
//! Where a host's commands run ([`Machine`]) is read as OSA's connection plugin reads it
//! (`research/multihost.md` §1): ssh goes to a container's physical host, never into the
//! container, at the address Ansible reaches that host at; `management_address` is the
//! services' network, which the deploy host may not reach.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::transport::{Here, Remote, Transport};

/// One inventory host that runs a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The inventory hostname; also the LXC container name and the HAProxy server name.
    pub inventory_name: String,
    pub container_name: String,
    pub physical_host: Option<String>,
    /// Management address of the container (or of the host, when metal).
    pub address: Option<String>,
    /// The component runs on the physical host itself, not in a container.
    pub metal: bool,
}

/// The machine a host's commands run on: a container's physical host, or a metal host
/// itself; the host ssh reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Its inventory name (`infra2`), as messages say it; also what a `Host` entry of
    /// the user's ssh config would be called.
    pub name: String,
    /// Where ssh connects: `physical_host_addr` (2026.1+), else `physical_host_addrs`'
    /// entry for it, else the physical host's own `ansible_host` (`ansible_ssh_host` up to
    /// Liberty), else its name.
    pub address: String,
    /// `ansible_user` (`ansible_ssh_user`): the target's own, as Ansible's connection
    /// takes it, else the physical host's.
    pub user: Option<String>,
    /// `ansible_port` (`ansible_ssh_port`), likewise.
    pub port: Option<u16>,
    /// `ansible_connection: local`: Ansible runs its commands on the machine it runs on,
    /// and so does git-osa.
    pub local: bool,
}

impl Machine {
    /// Whether it is the machine git-osa runs on.
    pub fn is_here(&self, here: &Here) -> bool {
        self.local || here.is(&self.name, &self.address)
    }

    /// How ssh reaches it.
    pub fn remote(&self) -> Remote {
        Remote {
            user: self.user.clone(),
            port: self.port,
            ..Remote::new(&self.name, &self.address)
        }
    }
}

#[derive(Debug, Default)]
pub struct Inventory {
    groups: HashMap<String, (Vec<String>, Vec<String>)>,
    hostvars: HashMap<String, Value>,
}

/// Address keys in the order the releases introduced them, newest first.
const ADDRESS_KEYS: [&str; 4] = [
    "management_address",
    "container_address",
    "ansible_host",
    "ansible_ssh_host",
];

/// The hostvars git-osa reads as strings: the names, the address keys and how ssh
/// reaches a host.
const STRING_KEYS: [&str; 10] = [
    "container_name",
    "physical_host",
    ADDRESS_KEYS[0],
    ADDRESS_KEYS[1],
    ADDRESS_KEYS[2],
    ADDRESS_KEYS[3],
    "physical_host_addr",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_connection",
];

/// The hostvars git-osa reads as port numbers (a number, or digits in a string).
const PORT_KEYS: [&str; 2] = ["ansible_port", "ansible_ssh_port"];

/// The groups of HAProxy's nodes, in the order OSA's playbooks look for them: the
/// component's group, then the physical hosts' (`haproxy_hosts` until 2023.2).
const HAPROXY_GROUPS: [&str; 4] = [
    "haproxy",
    "haproxy_all",
    "haproxy_hosts",
    "load_balancer_hosts",
];

fn normalize_group(g: &str) -> String {
    g.replace('-', "_")
}

impl Inventory {
    pub fn load(path: &Path) -> Result<Inventory> {
        let bytes = std::fs::read(path).map_err(|e| {
            let hint = if path.is_dir() {
                format!(
                    "point --inventory (GIT_OSA_INVENTORY) at the file, e.g. {}",
                    path.join("openstack_inventory.json").display()
                )
            } else {
                "run git osa on the OSA host (deploy host), or point --inventory \
                 (GIT_OSA_INVENTORY) at openstack_inventory.json"
                    .into()
            };
            Error::user(format!(
                "cannot read the OSA inventory {}: {e}",
                path.display()
            ))
            .hint(hint)
        })?;
        Inventory::from_bytes(path, &bytes)
    }

    /// Reads the inventory at `path` on the deploy host `host`, which `via` reaches.
    pub fn load_from(via: &dyn Transport, host: &str, path: &Path) -> Result<Inventory> {
        let bytes = via.read(path)?.ok_or_else(|| {
            Error::user(format!("{host} has no OSA inventory at {}", path.display())).hint(
                "set osa.deployHost (--deploy-host, GIT_OSA_DEPLOY_HOST) to the host that runs \
                 openstack-ansible, or point --inventory (GIT_OSA_INVENTORY) at \
                 openstack_inventory.json there",
            )
        })?;
        Inventory::from_bytes(path, &bytes)
    }

    /// Parses the inventory file `path` holds `bytes`, with errors that say how to repair
    /// it.
    fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Inventory> {
        let parsed = match std::str::from_utf8(bytes) {
            Ok(text) => Inventory::parse(text),
            Err(e) => Err(format!(
                "it is not JSON, not even text (byte {} is not UTF-8)",
                e.valid_up_to()
            )),
        };
        parsed.map_err(|e| {
            let backup = path
                .parent()
                .unwrap_or(Path::new("/"))
                .join("backup_openstack_inventory.tar");
            Error::user(format!("{} is not an OSA inventory: {e}", path.display()))
                .hint(
                    "OSA writes this file (only `openstack-ansible-inventory-manage` should \
                     change it); if --inventory (GIT_OSA_INVENTORY) names another file, point \
                     it at openstack_inventory.json",
                )
                .hint(format!(
                    "to repair it, put back the newest good copy from {} (`tar -tvf` lists \
                     them); do not delete it: OSA would give every container a new name",
                    backup.display()
                ))
        })
    }

    /// Reads an inventory, refusing the shapes Ansible's script inventory refuses (and
    /// `children` that is not a list, which Ansible would iterate letter by letter) and
    /// any hostvar git-osa reads that has the wrong type: a half-read inventory would show
    /// (or target) the wrong container rather than fail.
    pub fn parse(text: &str) -> std::result::Result<Inventory, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("it is not JSON ({e})"))?;
        let obj = doc
            .as_object()
            .ok_or_else(|| format!("the top level is {}, not an object of groups", kind(&doc)))?;
        let mut inv = Inventory::default();
        for (name, group) in obj {
            if name == "_meta" {
                inv.hostvars = hostvars(group)?;
                continue;
            }
            let (hosts, children) = group_members(name, group)?;
            let entry = inv.groups.entry(normalize_group(name)).or_default();
            entry.0.extend(hosts);
            entry.1.extend(children.iter().map(|c| normalize_group(c)));
        }
        Ok(inv)
    }

    /// The hosts of `group` and of its children, recursively, sorted by name.
    pub fn hosts_of(&self, group: &str) -> Vec<Host> {
        let mut names = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut todo = vec![normalize_group(group)];
        while let Some(g) = todo.pop() {
            if !seen.insert(g.clone()) {
                continue;
            }
            if let Some((hosts, children)) = self.groups.get(&g) {
                names.extend(hosts.iter().cloned());
                todo.extend(children.iter().cloned());
            }
        }
        names.into_iter().map(|n| self.host(&n)).collect()
    }

    /// The groups `host` is in, directly or through a child group, sorted.
    pub fn groups_of(&self, host: &str) -> Vec<String> {
        let mut groups: Vec<String> = self
            .groups
            .keys()
            .filter(|g| self.hosts_of(g).iter().any(|h| h.inventory_name == host))
            .cloned()
            .collect();
        groups.sort();
        groups
    }

    /// Every host that is a container (for `restore --all`).
    pub fn all_containers(&self) -> Vec<Host> {
        let mut names: BTreeSet<String> = self.hostvars.keys().cloned().collect();
        for (hosts, _) in self.groups.values() {
            names.extend(hosts.iter().cloned());
        }
        names
            .into_iter()
            .map(|n| self.host(&n))
            .filter(|h| !h.metal)
            .collect()
    }

    /// Where the host `name`'s commands run, as OSA's connection plugin finds it: its
    /// physical host, or itself when metal. `None` for a container whose physical host the
    /// inventory does not say, or names without describing it (no hostvars, no address):
    /// such an inventory is a hand-made one for the machine it is on, and git-osa's home
    /// machine runs it.
    pub fn machine(&self, name: &str) -> Option<Machine> {
        let empty = Value::Null;
        let hv = self.hostvars.get(name).unwrap_or(&empty);
        let host = self.host(name);
        let physical = match (&host.physical_host, host.metal) {
            (Some(p), _) => p.clone(),
            (None, true) => name.to_string(),
            (None, false) => return None,
        };
        let phys = self.hostvars.get(&physical).unwrap_or(&empty);
        let s = |vars: &Value, k: &str| vars.get(k).and_then(Value::as_str).map(String::from);
        // A metal host's own `ansible_host` is the machine's; a container's is its own.
        let own = |k: &str| if host.metal { s(hv, k) } else { None };
        let address = s(hv, "physical_host_addr")
            .or_else(|| s(hv.get("physical_host_addrs").unwrap_or(&empty), &physical))
            .or_else(|| s(phys, "ansible_host"))
            .or_else(|| s(phys, "ansible_ssh_host"))
            .or_else(|| own("ansible_host"))
            .or_else(|| own("ansible_ssh_host"));
        let address = match address {
            Some(a) => a,
            None if self.hostvars.contains_key(&physical) => physical.clone(),
            None => return None,
        };
        // The target's own first, as Ansible's connection takes it, then its host's.
        let first = |keys: &[&str]| {
            [hv, phys].into_iter().find_map(|vars| {
                keys.iter()
                    .find_map(|k| vars.get(*k).filter(|v| !v.is_null()))
            })
        };
        let user = first(&["ansible_user", "ansible_ssh_user"])
            .and_then(Value::as_str)
            .map(String::from);
        let port = first(&PORT_KEYS).and_then(port);
        let local = first(&["ansible_connection"]).and_then(Value::as_str) == Some("local");
        Some(Machine {
            name: physical,
            address,
            user,
            port,
            local,
        })
    }

    /// The nodes that run HAProxy: the hosts of the first of OSA's HAProxy groups that
    /// has any, as machines, by name.
    pub fn haproxy_nodes(&self) -> Vec<Machine> {
        let Some(hosts) = HAPROXY_GROUPS
            .iter()
            .map(|g| self.hosts_of(g))
            .find(|hosts| !hosts.is_empty())
        else {
            return Vec::new();
        };
        let mut nodes: Vec<Machine> = Vec::new();
        for h in hosts {
            if let Some(m) = self.machine(&h.inventory_name)
                && !nodes.iter().any(|n| n.name == m.name)
            {
                nodes.push(m);
            }
        }
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        nodes
    }

    fn host(&self, name: &str) -> Host {
        let empty = Value::Null;
        let hv = self.hostvars.get(name).unwrap_or(&empty);
        let s = |k: &str| hv.get(k).and_then(Value::as_str).map(String::from);
        let truthy = |v: Option<&Value>| match v {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => matches!(s.to_lowercase().as_str(), "true" | "yes" | "1"),
            _ => false,
        };
        let container_name = s("container_name");
        let physical_host = s("physical_host");
        let metal = truthy(hv.get("is_metal"))
            || truthy(hv.get("properties").and_then(|p| p.get("is_metal")))
            || (container_name.is_some() && container_name == physical_host)
            || (container_name.is_none() && !name.contains("container"));
        Host {
            inventory_name: name.to_string(),
            container_name: container_name.unwrap_or_else(|| name.to_string()),
            physical_host,
            address: ADDRESS_KEYS.iter().find_map(|k| s(k)),
            metal,
        }
    }
}

/// `hosts` and `children` of one group, in the shapes Ansible's script inventory takes: an
/// object with lists of names, or a bare list of host names.
fn group_members(
    name: &str,
    group: &Value,
) -> std::result::Result<(Vec<String>, Vec<String>), String> {
    let names = |key: &str| match group.get(key) {
        None => Ok(Vec::new()),
        Some(v) => names_in(v).map_err(|why| format!("group `{name}` has `{key}` = {why}")),
    };
    match group {
        Value::Object(o) => {
            if let Some(vars) = o.get("vars").filter(|v| !v.is_object()) {
                return Err(format!(
                    "group `{name}` has `vars` = {} ({}), not an object",
                    shown(vars),
                    kind(vars)
                ));
            }
            Ok((names("hosts")?, names("children")?))
        }
        Value::Array(_) => names_in(group)
            .map(|hosts| (hosts, Vec::new()))
            .map_err(|why| format!("group `{name}` = {why}")),
        other => Err(format!(
            "group `{name}` is {} ({}), not an object with `hosts` and `children`",
            shown(other),
            kind(other)
        )),
    }
}

/// The names in a list of names, or what is wrong with it.
fn names_in(v: &Value) -> std::result::Result<Vec<String>, String> {
    let Some(items) = v.as_array() else {
        return Err(format!("{} ({}), not a list of names", shown(v), kind(v)));
    };
    items
        .iter()
        .map(|n| {
            n.as_str().map(String::from).ok_or_else(|| {
                format!(
                    "{}, where {} ({}) is not a name",
                    shown(v),
                    shown(n),
                    kind(n)
                )
            })
        })
        .collect()
}

/// `_meta.hostvars`, with the keys git-osa reads checked for their type. JSON `null`
/// counts as unset: Ansible passes hostvars through untyped, and null is how an unset
/// variable comes out of a YAML override.
fn hostvars(meta: &Value) -> std::result::Result<HashMap<String, Value>, String> {
    let Some(meta) = meta.as_object() else {
        return Err(format!(
            "`_meta` is {} ({}), not an object",
            shown(meta),
            kind(meta)
        ));
    };
    let Some(all) = meta.get("hostvars") else {
        return Ok(HashMap::new());
    };
    let all = all.as_object().ok_or_else(|| {
        format!(
            "`_meta.hostvars` is {} ({}), not an object of hosts",
            shown(all),
            kind(all)
        )
    })?;
    for (host, vars) in all {
        let wrong = |key: &str, v: &Value, want: &str| {
            Err(format!(
                "host `{host}` in `_meta.hostvars` has `{key}` = {} ({}), not {want}",
                shown(v),
                kind(v)
            ))
        };
        let Some(vars) = vars.as_object() else {
            return Err(format!(
                "host `{host}` in `_meta.hostvars` is {} ({}), not an object of variables",
                shown(vars),
                kind(vars)
            ));
        };
        let set = |key: &str| vars.get(key).filter(|v| !v.is_null());
        for key in STRING_KEYS {
            if let Some(v) = set(key).filter(|v| !v.is_string()) {
                return wrong(key, v, "a string");
            }
        }
        for key in PORT_KEYS {
            if let Some(v) = set(key).filter(|v| port(v).is_none()) {
                return wrong(key, v, "a port number");
            }
        }
        if let Some(addrs) = set("physical_host_addrs")
            && !addrs
                .as_object()
                .is_some_and(|a| a.values().all(Value::is_string))
        {
            return wrong("physical_host_addrs", addrs, "an object of addresses");
        }
        if let Some(v) = set("is_metal").filter(|v| !is_flag(v)) {
            return wrong("is_metal", v, "true or false");
        }
        if let Some(props) = set("properties") {
            let Some(p) = props.as_object() else {
                return wrong("properties", props, "an object");
            };
            if let Some(v) = p.get("is_metal").filter(|v| !v.is_null() && !is_flag(v)) {
                return wrong("properties.is_metal", v, "true or false");
            }
        }
    }
    Ok(all.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// A TCP port as Ansible takes one: a number, or its digits in a string.
fn port(v: &Value) -> Option<u16> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .filter(|p| *p != 0)
}

fn is_flag(v: &Value) -> bool {
    v.is_boolean() || v.is_string()
}

/// What a JSON value is, for an error message.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A JSON value as the file has it, cut short when long.
fn shown(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

/// Without an inventory: LXC container names that belong to `service`, in either naming
/// era (`<host>_<service>_..._container-<hex>` or `<host>-<service>-...-container-<hex>`).
pub fn match_container_names(names: &[String], service: &str) -> Vec<Host> {
    let token = format!("_{}_", normalize_group(service));
    names
        .iter()
        .filter(|n| {
            let norm = n.replace('-', "_");
            norm.contains(&token) && norm.contains("_container_")
        })
        .map(|n| Host {
            inventory_name: n.clone(),
            container_name: n.clone(),
            physical_host: None,
            address: None,
            metal: false,
        })
        .collect()
}

#[cfg(test)]
mod tests;
