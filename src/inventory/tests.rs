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
    let err = Inventory::parse("[1,2]").unwrap_err();
    assert_eq!(err, "the top level is a list, not an object of groups");
    let err = Inventory::parse("{").unwrap_err();
    assert!(
        err.starts_with("it is not JSON (EOF while parsing"),
        "{err}"
    );
}

fn host_with(vars: &str) -> String {
    format!(
        r#"{{"_meta": {{"hostvars": {{"aio1_keystone_container-6c0f3a1e": {{{vars}}}}}}},
           "keystone": {{"hosts": ["aio1_keystone_container-6c0f3a1e"]}}}}"#
    )
}

#[test]
fn hostvars_of_the_wrong_type_name_the_host_and_the_key() {
    for (vars, want) in [
        (
            r#""container_name": 5"#,
            "`container_name` = 5 (a number), not a string",
        ),
        (
            r#""physical_host": []"#,
            "`physical_host` = [] (a list), not a string",
        ),
        (
            r#""management_address": {}"#,
            "`management_address` = {} (an object), not a string",
        ),
        (
            r#""ansible_host": true"#,
            "`ansible_host` = true (a boolean), not a string",
        ),
        (
            r#""is_metal": 1"#,
            "`is_metal` = 1 (a number), not true or false",
        ),
        (
            r#""properties": {"is_metal": [true]}"#,
            "`properties.is_metal` = [true] (a list), not true or false",
        ),
        (
            r#""properties": "x""#,
            "`properties` = \"x\" (a string), not an object",
        ),
    ] {
        let err = Inventory::parse(&host_with(vars)).unwrap_err();
        assert_eq!(
            err,
            format!("host `aio1_keystone_container-6c0f3a1e` in `_meta.hostvars` has {want}")
        );
    }
    let err = Inventory::parse(r#"{"_meta": {"hostvars": {"aio1": ["no", "vars"]}}}"#).unwrap_err();
    assert_eq!(
        err,
        r#"host `aio1` in `_meta.hostvars` is ["no","vars"] (a list), not an object of variables"#
    );
}

#[test]
fn unset_and_unread_hostvars_are_not_checked() {
    let inv = Inventory::parse(&host_with(
        r#""container_name": null, "ansible_host": "172.29.236.11",
           "container_networks": 5, "component": ["anything"]"#,
    ))
    .unwrap();
    let h = &inv.hosts_of("keystone")[0];
    assert_eq!(h.container_name, "aio1_keystone_container-6c0f3a1e");
    assert_eq!(h.address.as_deref(), Some("172.29.236.11"));
}

#[test]
fn groups_of_the_wrong_shape_are_named_not_taken_for_empty() {
    for (group, want) in [
        (
            r#"{"hosts": "aio1"}"#,
            r#"group `keystone_all` has `hosts` = "aio1" (a string), not a list of names"#,
        ),
        (
            r#"{"children": 3}"#,
            "group `keystone_all` has `children` = 3 (a number), not a list of names",
        ),
        (
            r#"{"hosts": ["aio1", 2]}"#,
            r#"group `keystone_all` has `hosts` = ["aio1",2], where 2 (a number) is not a name"#,
        ),
        (
            r#"{"vars": []}"#,
            "group `keystone_all` has `vars` = [] (a list), not an object",
        ),
        (
            "7",
            "group `keystone_all` is 7 (a number), not an object with `hosts` and `children`",
        ),
    ] {
        let err = Inventory::parse(&format!(r#"{{"keystone_all": {group}}}"#)).unwrap_err();
        assert_eq!(err, want);
    }
}

#[test]
fn a_group_may_be_a_bare_list_of_hosts_as_in_ansible() {
    let inv = Inventory::parse(r#"{"keystone": ["aio1_keystone_container-6c0f3a1e"]}"#).unwrap();
    assert_eq!(inv.hosts_of("keystone").len(), 1);
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

/// Where ssh goes for each host of a two-node deployment of the Stein–Train era
/// (`research/multihost.md` §1, from a real inventory, trimmed): no `physical_host_addr`
/// yet, so the physical host's own `ansible_host`, never the container's.
const TWO_NODES_TRAIN: &str = r#"{
  "_meta": {"hostvars": {
    "infra1": {"ansible_host": "10.0.123.11", "container_address": "10.0.123.11",
               "container_name": "infra1", "physical_host": "infra1", "is_metal": true,
               "properties": {"is_metal": true}, "component": "haproxy",
               "physical_host_group": "haproxy_hosts"},
    "compute1": {"ansible_host": "10.0.123.12", "container_name": "compute1",
                 "physical_host": "compute1", "is_metal": true,
                 "component": "nova_compute", "physical_host_group": "compute_hosts",
                 "properties": {"is_metal": true}},
    "infra1_keystone_container-05a6c5bf": {
      "ansible_host": "10.0.121.75", "container_address": "10.0.121.75",
      "physical_host": "infra1", "container_name": "infra1_keystone_container-05a6c5bf",
      "component": "keystone", "physical_host_group": "identity_hosts", "properties": {}}
  }},
  "keystone": {"hosts": ["infra1_keystone_container-05a6c5bf"]},
  "nova_compute": {"hosts": ["compute1"]},
  "haproxy": {"hosts": ["infra1"]},
  "haproxy_hosts": {"hosts": ["infra1"]},
  "all": {"vars": {"internal_lb_vip_address": "10.0.123.9"}}
}"#;

fn machine(name: &str, address: &str) -> Machine {
    Machine {
        local: false,
        name: name.into(),
        address: address.into(),
        user: None,
        port: None,
    }
}

#[test]
fn a_container_is_reached_on_its_physical_host_at_that_hosts_ansible_host() {
    let inv = Inventory::parse(TWO_NODES_TRAIN).unwrap();
    let ks = &inv.hosts_of("keystone")[0];
    assert_eq!(
        inv.machine(&ks.inventory_name),
        Some(machine("infra1", "10.0.123.11"))
    );
}

#[test]
fn a_metal_host_is_its_own_machine() {
    let inv = Inventory::parse(TWO_NODES_TRAIN).unwrap();
    let compute = &inv.hosts_of("nova_compute")[0];
    assert!(compute.metal);
    assert_eq!(
        inv.machine(&compute.inventory_name),
        Some(machine("compute1", "10.0.123.12"))
    );
}

/// Three infra hosts in 2026.1, dashed names, split networks: the deploy host reaches the
/// hosts on their ssh network (`ansible_host`, copied into `physical_host_addr`), not on
/// the management network the services use. infra3 is reached as another user on another
/// port (`host_vars` in openstack_user_config.yml); the load balancers are infra1 and
/// infra2.
const THREE_INFRA_2026: &str = r#"{
  "_meta": {"hostvars": {
    "infra1": {"ansible_host": "203.0.113.11", "management_address": "172.29.236.11",
               "container_name": "infra1", "physical_host": "infra1",
               "physical_host_addr": "203.0.113.11", "is_metal": true,
               "properties": {"is_metal": true}},
    "infra2": {"ansible_host": "203.0.113.12", "management_address": "172.29.236.12",
               "container_name": "infra2", "physical_host": "infra2",
               "physical_host_addr": "203.0.113.12", "is_metal": true,
               "properties": {"is_metal": true}},
    "infra3": {"ansible_host": "203.0.113.13", "management_address": "172.29.236.13",
               "container_name": "infra3", "physical_host": "infra3",
               "physical_host_addr": "203.0.113.13", "is_metal": true,
               "ansible_user": "ubuntu", "ansible_port": "2222",
               "properties": {"is_metal": true}},
    "infra1-keystone-container-0a1b2c3d": {
      "ansible_host": "172.29.236.111", "management_address": "172.29.236.111",
      "container_name": "infra1-keystone-container-0a1b2c3d", "physical_host": "infra1",
      "physical_host_addr": "203.0.113.11", "properties": {}},
    "infra2-keystone-container-5f1e2a3b": {
      "ansible_host": "172.29.236.112", "management_address": "172.29.236.112",
      "container_name": "infra2-keystone-container-5f1e2a3b", "physical_host": "infra2",
      "physical_host_addr": "203.0.113.12", "properties": {}},
    "infra3-keystone-container-9e8d7c6b": {
      "ansible_host": "172.29.236.113", "management_address": "172.29.236.113",
      "container_name": "infra3-keystone-container-9e8d7c6b", "physical_host": "infra3",
      "physical_host_addr": "203.0.113.13", "properties": {}}
  }},
  "keystone": {"hosts": ["infra1-keystone-container-0a1b2c3d",
                         "infra2-keystone-container-5f1e2a3b",
                         "infra3-keystone-container-9e8d7c6b"]},
  "load_balancer_hosts": {"hosts": ["infra2", "infra1"]},
  "haproxy": {"hosts": ["infra1", "infra2"]},
  "haproxy_all": {"children": ["haproxy"]},
  "infra2_host_containers": {"hosts": ["infra2-keystone-container-5f1e2a3b"]}
}"#;

#[test]
fn each_container_is_reached_on_its_own_host_never_on_the_management_network() {
    let inv = Inventory::parse(THREE_INFRA_2026).unwrap();
    let machines: Vec<Machine> = inv
        .hosts_of("keystone")
        .iter()
        .map(|h| inv.machine(&h.inventory_name).unwrap())
        .collect();
    assert_eq!(
        machines,
        [
            machine("infra1", "203.0.113.11"),
            machine("infra2", "203.0.113.12"),
            Machine {
                user: Some("ubuntu".into()),
                port: Some(2222),
                ..machine("infra3", "203.0.113.13")
            },
        ]
    );
}

#[test]
fn the_haproxy_nodes_are_the_haproxy_groups_hosts() {
    let inv = Inventory::parse(THREE_INFRA_2026).unwrap();
    assert_eq!(
        inv.haproxy_nodes(),
        [
            machine("infra1", "203.0.113.11"),
            machine("infra2", "203.0.113.12")
        ]
    );
    let train = Inventory::parse(TWO_NODES_TRAIN).unwrap();
    assert_eq!(train.haproxy_nodes(), [machine("infra1", "10.0.123.11")]);
    assert_eq!(
        Inventory::parse(UPGRADED).unwrap().haproxy_nodes(),
        [],
        "no HAProxy group, no node"
    );
}

#[test]
fn without_a_haproxy_group_its_older_names_are_read() {
    for group in ["haproxy_hosts", "load_balancer_hosts"] {
        let inv = Inventory::parse(&format!(
            r#"{{"_meta": {{"hostvars": {{"lb1": {{"ansible_host": "10.0.0.5",
                 "container_name": "lb1", "physical_host": "lb1"}}}}}},
               "{group}": {{"hosts": ["lb1"]}}}}"#
        ))
        .unwrap();
        assert_eq!(inv.haproxy_nodes(), [machine("lb1", "10.0.0.5")], "{group}");
    }
}

#[test]
fn the_address_falls_back_through_each_releases_key_to_the_name() {
    let inv = Inventory::parse(
        r#"{"_meta": {"hostvars": {
          "liberty1": {"ansible_ssh_host": "10.1.0.1", "ansible_ssh_user": "stack",
                       "ansible_ssh_port": 2200, "container_name": "liberty1",
                       "physical_host": "liberty1"},
          "liberty1_keystone_container-1": {"ansible_ssh_host": "10.1.0.50",
                       "container_name": "liberty1_keystone_container-1",
                       "physical_host": "liberty1"},
          "c-by-map": {"container_name": "c-by-map", "physical_host": "named",
                       "physical_host_addrs": {"named": "10.2.0.1"}},
          "c-by-name": {"container_name": "c-by-name", "physical_host": "dns-only"},
          "dns-only": {"ansible_user": "root"},
          "c-undescribed": {"container_name": "c-undescribed", "physical_host": "nowhere"},
          "c-nowhere": {"container_name": "c-nowhere"}
        }}}"#,
    )
    .unwrap();
    assert_eq!(
        inv.machine("liberty1_keystone_container-1"),
        Some(Machine {
            user: Some("stack".into()),
            port: Some(2200),
            ..machine("liberty1", "10.1.0.1")
        })
    );
    assert_eq!(inv.machine("c-by-map"), Some(machine("named", "10.2.0.1")));
    assert_eq!(
        inv.machine("c-by-name"),
        Some(Machine {
            user: Some("root".into()),
            ..machine("dns-only", "dns-only")
        })
    );
    assert_eq!(
        inv.machine("c-undescribed"),
        None,
        "a physical host the inventory does not describe: not said"
    );
    assert_eq!(inv.machine("c-nowhere"), None, "no physical host: not said");
}

#[test]
fn an_upgraded_aios_containers_run_on_aio1_at_its_ansible_host() {
    let inv = Inventory::parse(UPGRADED).unwrap();
    for h in inv.hosts_of("keystone_all") {
        assert_eq!(
            inv.machine(&h.inventory_name),
            Some(machine("aio1", "203.0.113.10"))
        );
    }
    assert_eq!(
        inv.machine("aio1-nova-compute"),
        Some(machine("aio1", "203.0.113.10")),
        "a metal component runs on its physical host"
    );
}

#[test]
fn a_machine_is_here_by_its_name_or_one_of_this_machines_addresses() {
    use crate::transport::Here;
    let here = Here {
        hostname: "infra1".into(),
        addresses: vec!["172.29.236.11".parse().unwrap()],
    };
    assert!(machine("infra1", "203.0.113.11").is_here(&here));
    assert!(machine("aio1", "172.29.236.11").is_here(&here));
    assert!(!machine("infra2", "203.0.113.12").is_here(&here));
    let remote = Machine {
        user: Some("ubuntu".into()),
        port: Some(2222),
        ..machine("infra3", "203.0.113.13")
    }
    .remote();
    assert_eq!(
        (remote.name.as_str(), remote.address.as_str()),
        ("infra3", "203.0.113.13")
    );
    assert_eq!(
        (remote.user.as_deref(), remote.port, remote.jump.as_deref()),
        (Some("ubuntu"), Some(2222), None)
    );
}

#[test]
fn ports_and_users_of_the_wrong_type_name_the_host_and_the_key() {
    for (vars, want) in [
        (
            r#""ansible_port": "ssh""#,
            "`ansible_port` = \"ssh\" (a string), not a port number",
        ),
        (
            r#""ansible_port": 70000"#,
            "`ansible_port` = 70000 (a number), not a port number",
        ),
        (
            r#""ansible_ssh_port": [22]"#,
            "`ansible_ssh_port` = [22] (a list), not a port number",
        ),
        (
            r#""ansible_user": 0"#,
            "`ansible_user` = 0 (a number), not a string",
        ),
        (
            r#""physical_host_addr": {}"#,
            "`physical_host_addr` = {} (an object), not a string",
        ),
        (
            r#""physical_host_addrs": {"infra1": 1}"#,
            "`physical_host_addrs` = {\"infra1\":1} (an object), not an object of addresses",
        ),
    ] {
        let err = Inventory::parse(&host_with(vars)).unwrap_err();
        assert_eq!(
            err,
            format!("host `aio1_keystone_container-6c0f3a1e` in `_meta.hostvars` has {want}")
        );
    }
}
