//! OSA's inventory (`/etc/openstack_deploy/openstack_inventory.json`), read the way
//! Ansible reads it.
//!
//! Groups are `{"hosts": [...], "children": [...]}`; `_meta.hostvars` holds each host's
//! facts. Names come in two eras (`aio1_keystone_container-1a2b3c4d` up to 2023.2,
//! `aio1-keystone-container-1a2b3c4d` from 2024.1; upgraded deployments have both), the
//! container's address sits under a key that changed over the releases, and since 2026.1
//! group names have `-` normalised to `_`. Names are never derived: they are read.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

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

fn normalize_group(g: &str) -> String {
    g.replace('-', "_")
}

impl Inventory {
    pub fn load(path: &Path) -> Result<Inventory> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::user(format!(
                "cannot read the OSA inventory {}: {e}",
                path.display()
            ))
            .hint(
                "run git osa on the OSA host (deploy host), or point --inventory \
                 (GIT_OSA_INVENTORY) at openstack_inventory.json",
            )
        })?;
        Inventory::parse(&text)
            .map_err(|e| Error::user(format!("{} is not an OSA inventory: {e}", path.display())))
    }

    pub fn parse(text: &str) -> std::result::Result<Inventory, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let obj = doc
            .as_object()
            .ok_or("the top level is not a JSON object")?;
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut inv = Inventory::default();
        for (name, group) in obj {
            if name == "_meta" {
                if let Some(hv) = group.get("hostvars").and_then(Value::as_object) {
                    inv.hostvars = hv.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                }
                continue;
            }
            let hosts = strings(group.get("hosts"));
            let children: Vec<String> = strings(group.get("children"))
                .iter()
                .map(|c| normalize_group(c))
                .collect();
            let entry = inv.groups.entry(normalize_group(name)).or_default();
            entry.0.extend(hosts);
            entry.1.extend(children);
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
mod tests {
    use super::*;

    /// An upgraded AIO: one container from before 2024.1 with Queens-era hostvars, one
    /// created after, plus the metal host and a dashed (pre-2026.1) group name.
    const UPGRADED: &str = r#"{
      "_meta": {"hostvars": {
        "aio1": {"ansible_host": "203.0.113.10", "management_address": "172.29.236.100",
                 "is_metal": true, "properties": {"is_metal": true}},
        "aio1_keystone_container-6c0f3a1e": {
          "ansible_host": "172.29.236.11", "container_address": "172.29.236.11",
          "container_name": "aio1_keystone_container-6c0f3a1e", "physical_host": "aio1",
          "component": "keystone", "properties": {"service_name": "keystone"}},
        "aio1-keystone-container-b7d24e95": {
          "ansible_host": "172.29.236.12", "management_address": "172.29.236.12",
          "container_name": "aio1-keystone-container-b7d24e95", "physical_host": "aio1",
          "component": "keystone", "properties": {}},
        "aio1_heat_engine_container-36e270c9": {
          "ansible_ssh_host": "172.29.239.171", "physical_host": "aio1",
          "container_name": "aio1_heat_engine_container-36e270c9"},
        "aio1-nova-compute": {"container_name": "aio1", "physical_host": "aio1",
                              "management_address": "172.29.236.100"}
      }},
      "all": {"vars": {"container_cidr": "172.29.236.0/22"}},
      "keystone_all": {"children": ["keystone"], "hosts": []},
      "keystone": {"children": [], "hosts": ["aio1_keystone_container-6c0f3a1e",
                                             "aio1-keystone-container-b7d24e95"]},
      "heat_all": {"children": ["heat-engine"], "hosts": []},
      "heat-engine": {"hosts": ["aio1_heat_engine_container-36e270c9"]},
      "nova_compute": {"hosts": ["aio1"]},
      "loop_a": {"children": ["loop_b"]},
      "loop_b": {"children": ["loop_a"], "hosts": ["aio1"]}
    }"#;

    #[test]
    fn recurses_into_children_and_reads_both_naming_eras() {
        let inv = Inventory::parse(UPGRADED).unwrap();
        let hosts = inv.hosts_of("keystone_all");
        let names: Vec<_> = hosts.iter().map(|h| h.container_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "aio1-keystone-container-b7d24e95",
                "aio1_keystone_container-6c0f3a1e"
            ]
        );
        assert!(hosts.iter().all(|h| !h.metal));
        assert!(
            hosts
                .iter()
                .all(|h| h.physical_host.as_deref() == Some("aio1"))
        );
    }

    #[test]
    fn address_comes_from_the_key_of_each_release() {
        let inv = Inventory::parse(UPGRADED).unwrap();
        let addr = |g: &str| inv.hosts_of(g)[0].address.clone().unwrap();
        let ks = inv.hosts_of("keystone");
        assert_eq!(ks[0].address.as_deref(), Some("172.29.236.12")); // management_address
        assert_eq!(ks[1].address.as_deref(), Some("172.29.236.11")); // container_address
        assert_eq!(addr("heat_all"), "172.29.239.171"); // ansible_ssh_host (Liberty)
    }

    #[test]
    fn dashed_group_names_are_normalised() {
        let inv = Inventory::parse(UPGRADED).unwrap();
        assert_eq!(inv.hosts_of("heat_engine").len(), 1);
        assert_eq!(inv.hosts_of("heat_all").len(), 1);
        assert_eq!(inv.hosts_of("heat-engine").len(), 1);
    }

    #[test]
    fn metal_hosts_are_recognised() {
        let inv = Inventory::parse(UPGRADED).unwrap();
        let compute = inv.hosts_of("nova_compute");
        assert!(compute[0].metal);
        assert_eq!(compute[0].container_name, "aio1");
        assert!(inv.all_containers().iter().all(|h| !h.metal));
        assert_eq!(inv.all_containers().len(), 3);
    }

    #[test]
    fn cycles_and_unknown_groups_are_harmless() {
        let inv = Inventory::parse(UPGRADED).unwrap();
        assert_eq!(inv.hosts_of("loop_a").len(), 1);
        assert!(inv.hosts_of("no_such_group").is_empty());
    }

    #[test]
    fn rejects_what_is_not_an_inventory() {
        assert!(Inventory::parse("[1,2]").is_err());
        assert!(Inventory::parse("{").is_err());
    }

    #[test]
    fn falls_back_to_container_names_of_both_eras() {
        let names: Vec<String> = [
            "aio1_keystone_container-6c0f3a1e",
            "aio1-keystone-container-b7d24e95",
            "aio1-heat-api-container-36e270c9",
            "keystone-scratch",
            "git-osa-lab-golden",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let ks = match_container_names(&names, "keystone");
        assert_eq!(ks.len(), 2);
        assert_eq!(match_container_names(&names, "heat").len(), 1);
        assert!(match_container_names(&names, "nova").is_empty());
    }
}
