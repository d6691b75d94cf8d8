//! Where git-osa runs: outside a checkout, in one of a project it does not know (unless a
//! config entry makes it known), in a repository libgit2 cannot read.

use std::process::Command;

use crate::harness::{TWO_KEYSTONES, checkout, git, git_osa, stderr};

#[test]
fn outside_a_checkout_every_command_says_so() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["status"][..], &[], &["restore"]] {
        let o = git_osa(dir.path(), args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("is not in a git checkout"),
            "{}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("hint: run git osa from a checkout"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn unknown_project_names_what_it_saw_and_the_known_services() {
    let repo = checkout("openstack/not-a-service");
    let o = git_osa(repo.path(), &["status"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("is not a project git-osa knows (.gitreview project openstack/not-a-service"),
        "{e}"
    );
    assert!(
        e.contains("known services:") && e.contains("keystone"),
        "{e}"
    );
    assert!(e.contains("[[service]]"), "{e}");
}

#[test]
fn a_config_entry_makes_an_unknown_project_known() {
    let repo = checkout("openstack/mylib");
    let cfg = repo.path().join("cfg.toml");
    std::fs::write(
        &cfg,
        "[[service]]\nname='mylib'\nprojects=['openstack/mylib']\npackages=['mylib']\nuser='root'\n\
         [[service.unit]]\nname='mylib-api'\ngroups=['mylib_all']\nruns='console'\n",
    )
    .unwrap();
    let inv = repo.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let o = git_osa(
        repo.path(),
        &[
            "status",
            "--config",
            cfg.to_str().unwrap(),
            "--inventory",
            inv.to_str().unwrap(),
        ],
        &[],
    );
    // Known now: the error is about the inventory, which has no mylib hosts.
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("has no hosts in mylib_all (the groups of mylib)"),
        "{e}"
    );
}

/// Regression: a repository libgit2 cannot read was reported as "not in a git checkout",
/// hiding libgit2's own reason (git 3.0 plans reftable as the default).
#[test]
fn a_repository_libgit2_cannot_read_is_named_with_libgit2s_reason() {
    let dir = tempfile::tempdir().unwrap();
    let sha = dir.path().join("sha");
    git(dir.path(), &["init", "-q", "--object-format=sha256", "sha"]);
    let o = git_osa(&sha, &["status"], &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("cannot open the repository"), "{e}");
    assert!(e.contains("sha256"), "{e}");
    assert!(!e.contains("is not in a git checkout"), "{e}");
    // reftable needs git 2.45 or later to make one.
    let reftable = dir.path().join("reftable");
    let made = Command::new("git")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .args(["init", "-q", "--ref-format=reftable"])
        .arg(&reftable)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let o = git_osa(&reftable, &["status"], &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains("refstorage"), "{e}");
    }
}
