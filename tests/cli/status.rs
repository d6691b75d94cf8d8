//! `git osa status`, as text and as JSON, where the inventory's containers do not exist.

use crate::harness::{
    HostSession, TWO_KEYSTONES, checkout, git, git_osa, stderr, stdout, valid_json,
};

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

/// A git server that takes connections and never answers: what a Gerrit behind a dead
/// VPN or a firewall that drops packets looks like to `git ls-remote`. Counts the
/// connections it took.
fn silent_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let taken = std::sync::Arc::new(AtomicUsize::new(0));
    let count = taken.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(conn);
        }
    });
    (port, taken)
}

/// Regression: during a review session `git osa status` ran `git ls-remote` to Gerrit on
/// every call, with no time limit and nothing against an ssh or credential prompt: a
/// script's `status --json` could hang. Status is local now; `--online` asks, within 5 s.
#[test]
fn status_stays_local_unless_asked_and_then_gives_up_on_a_silent_gerrit_in_seconds() {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    let repo = checkout("openstack/gitosa-status");
    let session = HostSession::new(
        repo.path(),
        "openstack/gitosa-status",
        serde_json::json!({"review": {"change": 12345, "patchset": 1, "subject": "Say hello",
            "owner": "Rev Iewer <rev@example.com>", "server": "gerrit",
            "commit": "0123456789abcdef0123456789abcdef01234567"}}),
    );
    let (port, taken) = silent_server();
    git(
        repo.path(),
        &[
            "remote",
            "add",
            "gerrit",
            &format!("git://127.0.0.1:{port}/openstack/gitosa-status"),
        ],
    );
    let env = session.env();

    for args in [
        &["status", "--json"][..],
        &["status"],
        &["status", "--offline"],
    ] {
        let start = Instant::now();
        let o = git_osa(repo.path(), args, &env);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(start.elapsed() < Duration::from_secs(4), "{args:?}");
        if args.contains(&"--json") {
            let doc = valid_json(&o.stdout);
            let review = &doc["containers"][0]["session"]["review"];
            assert_eq!(review["change"], 12345, "{doc:#}");
            assert!(review.get("latest_patchset").is_none(), "{doc:#}");
            assert!(review.get("latest_patchset_error").is_none(), "{doc:#}");
        } else {
            assert!(
                stdout(&o).contains("  review   change 12345 patchset 1\n"),
                "{}",
                stdout(&o)
            );
        }
    }
    assert_eq!(
        taken.load(Ordering::SeqCst),
        0,
        "status asked Gerrit unasked"
    );

    let start = Instant::now();
    let o = git_osa(repo.path(), &["status", "--json", "--online"], &env);
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(12),
        "{took:?}"
    );
    assert_eq!(taken.load(Ordering::SeqCst), 1);
    let doc = valid_json(&o.stdout);
    let review = &doc["containers"][0]["session"]["review"];
    assert!(review.get("latest_patchset").is_none(), "{doc:#}");
    assert_eq!(
        review["latest_patchset_error"],
        format!(
            "the Gerrit server at remote gerrit (git://127.0.0.1:{port}/openstack/gitosa-status) did not answer within 5 s"
        ),
        "{doc:#}"
    );
}

/// `--online` never lets ssh ask for a host key or a passphrase, nor git for a password:
/// it says it could not ask, at once.
#[test]
fn status_online_never_prompts_and_says_why_it_could_not_ask() {
    let repo = checkout("openstack/gitosa-status");
    let session = HostSession::new(
        repo.path(),
        "openstack/gitosa-status",
        serde_json::json!({"review": {"change": 12345, "patchset": 1, "subject": "Say hello",
            "owner": "Rev Iewer <rev@example.com>", "server": "gerrit",
            "commit": "0123456789abcdef0123456789abcdef01234567"}}),
    );
    // An http server that wants a password: git would prompt on a terminal.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"gerrit\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    git(
        repo.path(),
        &[
            "remote",
            "add",
            "gerrit",
            &format!("http://127.0.0.1:{http}/openstack/gitosa-status"),
        ],
    );
    let start = std::time::Instant::now();
    let o = git_osa(repo.path(), &["status", "--online"], &session.env());
    assert!(start.elapsed() < std::time::Duration::from_secs(4));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    let line = out
        .lines()
        .find(|l| l.starts_with("  review   change 12345 patchset 1; newer patchsets unknown: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("could not be asked"), "{line}");
    assert!(line.contains("terminal prompts disabled"), "{line}");
}

/// Regression: a damaged session record made every command fail with a bare
/// serde message naming no file or container, `status` print nothing and doctor say all
/// was well. It is named, shown as damaged (never as production), and failed by doctor.
#[test]
fn a_damaged_session_record_is_named_shown_and_failed_by_doctor() {
    let repo = checkout("openstack/gitosa-damaged");
    let session = HostSession::new(
        repo.path(),
        "openstack/gitosa-damaged",
        serde_json::json!({}),
    );
    let record = session.dir().join("session.json");
    // Valid JSON of the wrong shape: what can be read is read.
    std::fs::write(
        &record,
        format!(
            r#"{{"service":"{}","stopped_units":["{}-api"],"disabled_servers":"oops"}}"#,
            session.name, session.name
        ),
    )
    .unwrap();
    let env = session.env();
    let o = git_osa(repo.path(), &["status"], &env);
    let (out, e) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(2), "{out}{e}");
    assert!(
        out.contains("  record   DAMAGED: the git-osa session record"),
        "{out}"
    );
    assert!(out.contains("  unread   disabled_servers\n"), "{out}");
    assert!(!out.contains("none (production)"), "{out}");
    assert!(
        out.contains(&format!("production {}-api stopped", session.name)),
        "{out}"
    );
    assert!(
        e.contains(&format!("{} in aio1 is damaged", record.display()))
            && e.contains("git osa restore --container aio1"),
        "{e}"
    );
    let o = git_osa(repo.path(), &["status", "--json"], &env);
    let doc = valid_json(&o.stdout);
    assert_eq!(
        doc["containers"][0]["session_record_damaged"]["unread"],
        serde_json::json!(["disabled_servers"])
    );

    // Not JSON at all: nothing can be read of it, and commands name it.
    std::fs::write(&record, "{\"service\": ").unwrap();
    let o = git_osa(repo.path(), &["sync", "--dry-run"], &env);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!(
            "the git-osa session record {} in aio1 is damaged",
            record.display()
        )),
        "{e}"
    );
    let o = git_osa(repo.path(), &["status"], &env);
    assert!(
        stdout(&o).contains("  unread   the whole record"),
        "{}",
        stdout(&o)
    );

    let o = git_osa(repo.path(), &["doctor"], &env);
    let out = stdout(&o);
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("FAIL  aio1: dev session: the git-osa session record")),
        "{out}"
    );
}

/// Regression: a watcher killed with SIGKILL just disappeared from
/// `status`, with no word that edits were no longer synced.
#[test]
fn a_dead_watcher_is_reported_with_when_it_was_last_seen() {
    let repo = checkout("openstack/gitosa-watcher");
    let session = HostSession::new(
        repo.path(),
        "openstack/gitosa-watcher",
        serde_json::json!({}),
    );
    let state = repo.path().join(".git/git-osa");
    std::fs::create_dir_all(&state).unwrap();
    // What SIGKILL leaves: the record, with no process holding its lock.
    std::fs::write(state.join("watch.pid"), "999999 1 1700000000 background\n").unwrap();
    let env = session.env();
    let o = git_osa(repo.path(), &["status"], &env);
    let (out, e) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(2), "{out}{e}");
    assert!(out.contains("watching   DIED "), "{out}");
    assert!(
        e.contains("the watcher of this checkout (pid 999999) died")
            && e.contains("saves since then are not synced"),
        "{e}"
    );
    let o = git_osa(repo.path(), &["status", "--json"], &env);
    assert_eq!(valid_json(&o.stdout)["watcher_died"]["pid"], 999999);
}

/// Regression: `GIT_DIR`/`GIT_WORK_TREE` (what `git --git-dir` and
/// `--work-tree` export) were ignored: run from inside another checkout, git-osa acted on
/// the current directory's project.
#[test]
fn git_dir_and_work_tree_name_the_checkout_as_git_resolves_them() {
    let keystone = checkout("openstack/keystone");
    let heat = checkout("openstack/heat");
    let session = HostSession::new(keystone.path(), "openstack/keystone", serde_json::json!({}));
    let git_dir = keystone.path().join(".git");
    let env = [
        session.env()[0],
        session.env()[1],
        ("GIT_DIR", git_dir.to_str().unwrap()),
        ("GIT_WORK_TREE", keystone.path().to_str().unwrap()),
    ];
    let o = git_osa(heat.path(), &["status"], &env);
    let out = stdout(&o);
    assert!(
        out.starts_with("project    openstack/keystone"),
        "{out}{}",
        stderr(&o)
    );
    assert!(
        out.contains(&format!("checkout   {}", keystone.path().display())),
        "{out}"
    );
    // Without them, the current directory's checkout, as before: heat, which this
    // inventory does not deploy.
    let o = git_osa(heat.path(), &["status"], &session.env());
    let e = stderr(&o);
    assert!(e.contains("(the groups of heat)"), "{e}");
}
