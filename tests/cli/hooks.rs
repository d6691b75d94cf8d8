//! `git osa hooks`: installed beside a hook of the user's, and what `hooks status` says,
//! as text and as JSON.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::harness::{User, checkout, in_dir, stderr, valid_json};

#[test]
fn hooks_status_json_says_which_hooks_are_git_osas_and_how_the_last_redeploy_ended() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    let r = repo.path();
    let status = || {
        let o = user.git_osa(r, &["hooks", "status", "--json"], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        valid_json(&o.stdout)
    };
    let doc = status();
    assert_eq!(doc["kind"], "hooks-status");
    assert_eq!(doc["dir"], r.join(".git/hooks").display().to_string());
    assert!(
        doc["hooks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["state"] == "absent"),
        "{doc:#}"
    );
    assert!(doc["last"].is_null());

    // A post-commit of the user's: kept, and run first.
    let mine = r.join(".git/hooks/post-commit");
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&mine, std::fs::Permissions::from_mode(0o755)).unwrap();
    let doc = status();
    assert_eq!(doc["hooks"][0]["name"], "post-commit");
    assert_eq!(doc["hooks"][0]["state"], "other");
    let o = user.git_osa(r, &["hooks", "install"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = status();
    assert_eq!(
        doc["hooks"][0],
        serde_json::json!({"name": "post-commit", "state": "installed", "chained": true})
    );
    assert_eq!(
        doc["hooks"][1],
        serde_json::json!({"name": "post-merge", "state": "installed", "chained": false})
    );
    assert_eq!(doc["starts_sessions"], false);

    // A commit's redeploy finds no deployment: nothing to do, said as the last outcome.
    std::fs::write(r.join("a.py"), "a = 1\n").unwrap();
    user.git(r, &["add", "a.py"]);
    let inventory = r.join("no-inventory.json");
    user.git_with(
        r,
        &["commit", "-q", "-m", "a"],
        &[("GIT_OSA_INVENTORY", inventory.to_str().unwrap())],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let doc = loop {
        let doc = status();
        if !doc["last"].is_null() || std::time::Instant::now() > deadline {
            break doc;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(doc["last"]["ok"], true, "{doc:#}");
    assert!(
        doc["last"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("nothing to do: cannot read the OSA inventory"),
        "{doc:#}"
    );
}

/// The paths under `dir` that root owns.
fn roots(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.uid() == 0 {
            found.push(p.clone());
        }
        if meta.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
        }
    }
    found
}

/// Regression: `sudo git osa hooks install` left the hooks and `.git/git-osa` root's, so
/// the user's next commit ran a hook that could not write its state: nothing redeployed.
#[test]
fn hooks_installed_through_sudo_are_the_users_and_work_for_the_user() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    let r = repo.path();
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(r)
        .status()
        .unwrap();
    assert!(chown.success());
    let sudo = [("SUDO_UID", "65534"), ("SUDO_GID", "65534")];
    let o = user.git_osa(r, &["hooks", "install"], &sudo);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(roots(r), Vec::<PathBuf>::new());
    assert!(r.join(".git/git-osa").exists());

    // The user commits (as themselves): their hook marks the redeploy and its worker
    // records how it ended, in the state root made.
    std::fs::write(r.join("a.py"), "a = 1\n").unwrap();
    let home = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_git-osa")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for args in [&["add", "a.py"][..], &["commit", "-q", "-m", "a"]] {
        let o = in_dir("git", r)
            .args(args)
            .uid(65534)
            .gid(65534)
            .env("HOME", home.path())
            .env("PATH", &path)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_OSA_INVENTORY", "/nonexistent/inventory.json")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    }
    let last = r.join(".git/git-osa/last");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !last.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&last).unwrap_or_default();
    assert!(
        text.starts_with("ok nothing to do: cannot read the OSA inventory"),
        "{text:?}"
    );
    assert_eq!(std::fs::metadata(&last).unwrap().uid(), 65534);
}
