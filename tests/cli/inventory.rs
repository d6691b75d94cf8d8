//! OSA's inventory: missing, absent with no LXC container to fall back on, or not an
//! inventory at all; each is named with what to do.

use std::path::Path;

use crate::harness::{checkout, git_osa, stderr};

#[test]
fn an_inventory_given_but_missing_is_an_error() {
    let repo = checkout("openstack/keystone");
    let o = git_osa(
        repo.path(),
        &["status"],
        &[("GIT_OSA_INVENTORY", "/nonexistent/openstack_inventory.json")],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("cannot read the OSA inventory /nonexistent/openstack_inventory.json"),
        "{e}"
    );
    assert!(e.contains("GIT_OSA_INVENTORY"), "{e}");
}

#[test]
fn without_inventory_or_matching_containers_the_error_names_both() {
    let repo = checkout("openstack/keystone");
    let empty = tempfile::tempdir().unwrap();
    assert!(
        !Path::new("/etc/openstack_deploy/openstack_inventory.json").exists(),
        "this test needs a host without a real OSA inventory"
    );
    let o = git_osa(
        repo.path(),
        &["status"],
        &[("GIT_OSA_LXC_PATH", empty.path().to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("no OSA inventory at /etc/openstack_deploy/openstack_inventory.json and no LXC container named like *_keystone_*_container-*"),
        "{e}"
    );
}

#[test]
fn an_inventory_that_is_not_json_is_named() {
    let repo = checkout("openstack/keystone");
    let inv = repo.path().join("inv.json");
    std::fs::write(&inv, "not json").unwrap();
    let o = git_osa(
        repo.path(),
        &["status", "--inventory", inv.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is not an OSA inventory"),
        "{}",
        stderr(&o)
    );
}

/// Regression: wrong types in hostvars were read as "unset", so the container showed as
/// "host (this host)", "address (unknown)" without a word.
#[test]
fn hostvars_of_the_wrong_type_are_an_error_naming_file_host_and_key() {
    let repo = checkout("openstack/keystone");
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("inv.json");
    std::fs::write(
        &inv,
        r#"{"_meta": {"hostvars": {"aio1_keystone_container-6c0f3a1e":
              {"container_name": 5, "physical_host": [], "management_address": {}}}},
            "keystone_all": {"hosts": ["aio1_keystone_container-6c0f3a1e"]}}"#,
    )
    .unwrap();
    let o = git_osa(
        repo.path(),
        &["status", "--inventory", inv.to_str().unwrap()],
        &[("GIT_OSA_LXC_PATH", elsewhere.path().to_str().unwrap())],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!(
            "{} is not an OSA inventory: host `aio1_keystone_container-6c0f3a1e` in `_meta.hostvars` has `container_name` = 5 (a number), not a string",
            inv.display()
        )),
        "{e}"
    );
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Regression: `"hosts": "aio1"` or `"children": 3` were skipped, and the inventory was
/// then said to have no hosts for the service.
#[test]
fn a_group_of_the_wrong_shape_is_a_malformed_inventory_not_an_empty_one() {
    let repo = checkout("openstack/keystone");
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("inv.json");
    for (group, want) in [
        (
            r#"{"hosts": "aio1"}"#,
            r#"group `keystone_all` has `hosts` = "aio1" (a string), not a list of names"#,
        ),
        (
            r#"{"children": 3}"#,
            "group `keystone_all` has `children` = 3 (a number), not a list of names",
        ),
    ] {
        std::fs::write(&inv, format!(r#"{{"keystone_all": {group}}}"#)).unwrap();
        let o = git_osa(
            repo.path(),
            &["status", "--inventory", inv.to_str().unwrap()],
            &[],
        );
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains(want), "{e}");
        assert!(!e.contains("has no hosts"), "{e}");
    }
}

/// Regression: a file of random bytes was "cannot read" with the hint to run on the OSA
/// host, which is where the user already was.
#[test]
fn an_inventory_of_random_bytes_gets_the_hint_to_restore_it_from_osa_backups() {
    let repo = checkout("openstack/keystone");
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("openstack_inventory.json");
    let noise: Vec<u8> = (0u32..512).map(|i| (i * 7919 % 251) as u8 | 0x80).collect();
    std::fs::write(&inv, noise).unwrap();
    let o = git_osa(
        repo.path(),
        &["status", "--inventory", inv.to_str().unwrap()],
        &[],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!(
            "{} is not an OSA inventory: it is not JSON, not even text",
            inv.display()
        )),
        "{e}"
    );
    assert!(e.contains("openstack-ansible-inventory-manage"), "{e}");
    assert!(
        e.contains(&format!(
            "{}/backup_openstack_inventory.tar",
            elsewhere.path().display()
        )),
        "{e}"
    );
    assert!(!e.contains("run git osa on the OSA host"), "{e}");
}
