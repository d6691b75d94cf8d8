//! `git osa hooks`: installed beside a hook of the user's, and what `hooks status` says,
//! as text and as JSON.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{User, checkout, stderr, valid_json};

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
