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
