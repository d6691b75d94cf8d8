//! `git osa status`, as text and as JSON, where the inventory's containers do not exist.

use crate::harness::{TWO_KEYSTONES, checkout, git_osa, stderr, valid_json};

#[test]
fn containers_the_inventory_names_but_lxc_lacks_are_reported_missing() {
    let repo = checkout("openstack/keystone");
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let o = git_osa(
        repo.path(),
        &["status", "--inventory", inv.to_str().unwrap()],
        &[("GIT_OSA_LXC_PATH", elsewhere.path().to_str().unwrap())],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{e}");
    assert_eq!(out.matches("lxc      MISSING").count(), 2, "{out}");
    assert!(
        e.contains("container aio1-keystone-container-b7d24e95 does not exist: rebuild it with `openstack-ansible openstack.osa.containers_lxc_create"),
        "{e}"
    );
    assert!(
        e.contains("aio1_keystone_container-6c0f3a1e does not exist"),
        "{e}"
    );
    let o = git_osa(
        repo.path(),
        &[
            "--inventory",
            inv.to_str().unwrap(),
            "--container",
            "aio1_keystone_container-6c0f3a1e",
        ],
        &[("GIT_OSA_LXC_PATH", elsewhere.path().to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("container aio1_keystone_container-6c0f3a1e is MISSING: nothing was changed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn status_json_says_what_the_text_says_and_errors_stay_on_stderr() {
    let repo = checkout("openstack/keystone");
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let env = [("GIT_OSA_LXC_PATH", elsewhere.path().to_str().unwrap())];
    let o = git_osa(
        repo.path(),
        &["status", "--json", "--inventory", inv.to_str().unwrap()],
        &env,
    );
    // Exit status and stderr as without --json; the document on stdout all the same.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("container aio1-keystone-container-b7d24e95 does not exist"),
        "{}",
        stderr(&o)
    );
    let doc = valid_json(&o.stdout);
    assert_eq!(doc["project"], "openstack/keystone");
    assert_eq!(doc["service"], "keystone");
    assert_eq!(doc["inventory"]["source"], "inventory");
    assert_eq!(doc["inventory"]["path"], inv.to_str().unwrap());
    let containers = doc["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0]["name"], "aio1-keystone-container-b7d24e95");
    assert_eq!(containers[0]["address"], "172.29.236.12");
    assert_eq!(containers[0]["lxc_state"], "MISSING");
    assert!(containers[0]["session"].is_null());
    // No HAProxy here: said, as the text says it.
    assert!(doc["haproxy"]["error"].is_string(), "{doc:#}");
    let problems = doc["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("HAProxy cannot be read")),
        "{problems:?}"
    );
    let missing = problems
        .iter()
        .filter(|p| p.as_str().unwrap().contains("does not exist"))
        .count();
    assert_eq!(missing, 2, "{problems:?}");

    // A restore plan: no session anywhere, nothing to restore.
    let o = git_osa(
        repo.path(),
        &[
            "restore",
            "--dry-run",
            "--json",
            "--inventory",
            inv.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(valid_json(&o.stdout)["targets"], serde_json::json!([]));

    // A run that cannot choose its container: the error, and nothing on stdout.
    let o = git_osa(
        repo.path(),
        &["--dry-run", "--json", "--inventory", inv.to_str().unwrap()],
        &env,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("the service runs in 2 containers"));
}
