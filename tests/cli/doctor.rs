//! `git osa doctor`: each failed check with its fix, and the exit status.

use std::path::Path;

use std::process::Command;

use crate::harness::{fake_haproxy, git, git_osa, git_osa_command, stderr, stdout, valid_json};

#[test]
fn doctor_with_an_empty_path_names_the_missing_tools_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let o = git_osa(dir.path(), &["doctor"], &[("PATH", "")]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(
        out.contains("FAIL  LXC tools: lxc-attach, lxc-info, lxc-ls not on PATH\n      fix: install LXC (apt-get install lxc)"),
        "{out}"
    );
    assert!(
        out.contains("FAIL  systemd-run on the host: not on PATH"),
        "{out}"
    );
    assert!(
        stderr(&o).contains("checks failed\n  hint: each FAIL line above says how to fix it"),
        "{}",
        stderr(&o)
    );
    let o = git_osa(dir.path(), &["doctor", "-q"], &[("PATH", "")]);
    assert!(!stdout(&o).contains("ok    "), "-q shows only failures");
    assert!(stdout(&o).contains("FAIL  LXC tools"));
}

#[test]
fn doctor_names_a_missing_inventory_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let o = git_osa(
        dir.path(),
        &["doctor"],
        &[("GIT_OSA_INVENTORY", "/nonexistent/openstack_inventory.json")],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "FAIL  inventory: cannot read the OSA inventory /nonexistent/openstack_inventory.json"
        ),
        "{out}"
    );
    assert!(out.contains("fix: run git osa on the OSA host"), "{out}");
    assert!(
        out.contains("skip  inventory against LXC: the inventory cannot be read"),
        "{out}"
    );
}

#[test]
fn doctor_tells_an_absent_haproxy_socket_from_one_that_answers_and_its_level() {
    let dir = tempfile::tempdir().unwrap();
    let line = |socket: &Path| {
        let o = git_osa(
            dir.path(),
            &["doctor"],
            &[("GIT_OSA_HAPROXY_SOCKET", socket.to_str().unwrap())],
        );
        stdout(&o)
            .lines()
            .skip_while(|l| !l.contains("HAProxy admin socket"))
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let absent = dir.path().join("absent.sock");
    assert_eq!(
        line(&absent),
        format!(
            "FAIL  HAProxy admin socket: no socket at {0}\n      fix: point --haproxy-socket (or GIT_OSA_HAPROXY_SOCKET) at the `stats socket ... level admin` of haproxy.cfg (OSA: /var/run/haproxy.stat); it is {0} now",
            absent.display()
        )
    );
    let admin = fake_haproxy(dir.path(), true);
    assert!(
        line(&admin).starts_with(&format!(
            "ok    HAProxy admin socket: {} at admin level (show stat: 1 servers; set server allowed)",
            admin.display()
        )),
        "{}",
        line(&admin)
    );
    let user = fake_haproxy(dir.path(), false);
    assert!(
        line(&user).contains("answers, but not at admin level: `set server` is not allowed"),
        "{}",
        line(&user)
    );
}

/// `doctor --json`: every check with its result, the fix of a failure, and the exit status
/// of the text.
#[test]
fn doctor_json_lists_every_check_with_its_result_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let o = git_osa(dir.path(), &["doctor", "--json"], &[("PATH", "")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("checks failed\n  hint: each failed check says how to fix it (`fix`)"),
        "{}",
        stderr(&o)
    );
    let doc = valid_json(&o.stdout);
    assert_eq!(doc["kind"], "doctor");
    let checks = doc["checks"].as_array().unwrap();
    let lxc = checks.iter().find(|c| c["check"] == "LXC tools").unwrap();
    assert_eq!(
        lxc,
        &serde_json::json!({
            "target": null, "check": "LXC tools", "result": "fail",
            "detail": "lxc-attach, lxc-info, lxc-ls not on PATH",
            "fix": "install LXC (apt-get install lxc), or run git osa on the OSA host"
        })
    );
    let failed = checks.iter().filter(|c| c["result"] == "fail").count();
    assert_eq!(doc["failed"], failed);
    // Outside a checkout, the containers are skipped and say why.
    let skipped = checks.iter().find(|c| c["check"] == "containers").unwrap();
    assert_eq!(skipped["result"], "skip");
    assert!(skipped["fix"].is_null());
}

/// The user nobody runs as (an unprivileged uid that exists everywhere).
const NOBODY: u32 = 65534;

/// Regression: for a user other than root, HAProxy's socket (root's, mode 600 on OSA)
/// failed with "point --haproxy-socket at the stats socket", though the path was right:
/// the fix is running as root. And doctor did not check that this user reads the
/// checkout, which every sync reads whole.
#[test]
fn doctor_as_another_user_says_to_be_root_and_names_the_files_it_cannot_read() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let repo = dir.path().join("keystone");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("api.py"), "x = 1\n").unwrap();
    let chown = Command::new("chown")
        .args(["-R", &format!("{NOBODY}:{NOBODY}")])
        .arg(&repo)
        .status()
        .unwrap();
    assert!(chown.success());
    // A file of root's, which only root reads.
    std::fs::write(repo.join("secret.py"), "y = 2\n").unwrap();
    std::fs::set_permissions(
        repo.join("secret.py"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let socket = fake_haproxy(dir.path(), true);

    let o = git_osa_command(
        &repo,
        &["doctor"],
        &[("GIT_OSA_HAPROXY_SOCKET", socket.to_str().unwrap())],
    )
    .uid(NOBODY)
    .gid(NOBODY)
    .output()
    .unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    let haproxy = out
        .lines()
        .skip_while(|l| !l.starts_with("FAIL  HAProxy admin socket: "))
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        haproxy,
        format!(
            "      fix: {} is there, but this user may not use it (OSA's haproxy.cfg makes it `mode 600`, root's alone): run git osa as root, as every OSA operation (sudo -E git osa ...)",
            socket.display()
        )
    );
    assert!(
        out.contains(&format!(
            "FAIL  checkout: uid {NOBODY} cannot read 1 of the 3 files and folders a sync sends from {}: secret.py\n      fix: run git osa as a user who can read them",
            repo.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("ok    inotify watches: `git osa watch` follows 1 folders"),
        "{out}"
    );
    assert!(out.contains("ok    git: "), "{out}");

    // As root, the same socket passes.
    let o = git_osa(
        &repo,
        &["doctor"],
        &[("GIT_OSA_HAPROXY_SOCKET", socket.to_str().unwrap())],
    );
    let out = stdout(&o);
    assert!(out.contains("ok    HAProxy admin socket: "), "{out}");
}
