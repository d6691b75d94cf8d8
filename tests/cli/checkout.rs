//! Where git-osa runs: outside a checkout, in one of a project it does not know (unless a
//! config entry makes it known), in a repository libgit2 cannot read.

use std::process::Command;

use crate::harness::{TWO_KEYSTONES, User, checkout, git, git_osa, stderr};

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

/// Regression: as root in a checkout of another user, the error was right but its hint
/// spoke of reftable refs and sha256 objects; git's advice is safe.directory.
#[test]
fn a_checkout_of_another_user_gets_gits_safe_directory_advice() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    let r = repo.path();
    let top = r.display().to_string();
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(r)
        .status()
        .unwrap();
    assert!(chown.success());
    let o = user.git_osa(r, &["status"], &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("is not owned by current user"), "{e}");
    assert!(
        e.contains(&format!(
            "hint: git refuses it too (\"dubious ownership\"); if you trust it, as git says: `git config --global --add safe.directory {top}`"
        )),
        "{e}"
    );
    assert!(!e.contains("reftable"), "{e}");
    // doctor says the same of the checkout.
    let o = user.git_osa(r, &["doctor"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("FAIL  checkout: git-osa cannot open the repository at")
            && out.contains("safe.directory"),
        "{out}"
    );
    // Through sudo from its owner, git and git-osa accept it; so they do once it is safe.
    for env in [&[("SUDO_UID", "65534")][..], &[]] {
        if env.is_empty() {
            user.git(r, &["config", "--global", "--add", "safe.directory", &top]);
        }
        let o = user.git_osa(
            r,
            &["status"],
            &[&[("GIT_OSA_INVENTORY", "/nonexistent/inventory.json")], env].concat(),
        );
        let e = stderr(&o);
        assert!(e.contains("cannot read the OSA inventory"), "{env:?}: {e}");
    }
}
