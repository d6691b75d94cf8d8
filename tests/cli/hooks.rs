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

/// What the hooks of `r` have done: the lines of their log that say a redeploy ran, and
/// those that say one waits for a git operation's end.
fn hook_log(r: &Path) -> (usize, usize) {
    let log = std::fs::read_to_string(r.join(".git/git-osa/hooks.log")).unwrap_or_default();
    (
        log.lines()
            .filter(|l| l.starts_with("--- redeploy "))
            .count(),
        log.lines()
            .filter(|l| l.contains("the redeploy waits for its end"))
            .count(),
    )
}

/// Waits until the hooks' worker of `r` is done: its lock free, and still free a moment
/// later (a worker the last hook started may not hold it yet).
fn hooks_quiet(r: &Path) {
    let lock = r.join(".git/git-osa/lock");
    let free = || {
        std::fs::File::open(&lock)
            .map(|f| f.try_lock().is_ok())
            .unwrap_or(true)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if free() {
            std::thread::sleep(std::time::Duration::from_millis(400));
            if free() {
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the hooks' worker never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Regression: redeploys ran in the middle of a rebase, one deploying a tree
/// with conflict markers. The commits and checkouts of a rebase, a merge or a bisect in
/// progress now only note the wish; the operation's end redeploys once.
#[test]
fn no_redeploy_while_a_git_operation_is_in_progress_and_one_when_it_ends() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    let r = repo.path();
    let inventory = r.join("no-inventory.json");
    let env = [("GIT_OSA_INVENTORY", inventory.to_str().unwrap())];
    // git as the user, whatever its exit status (a rebase that stops on a conflict).
    let git = |args: &[&str]| {
        let bin = Path::new(env!("CARGO_BIN_EXE_git-osa")).parent().unwrap();
        in_dir("git", r)
            .args(args)
            .envs(user.env())
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("GIT_OSA_INVENTORY", inventory.to_str().unwrap())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_EDITOR", "true")
            .output()
            .unwrap()
    };
    let commit = |file: &str, text: &str| {
        std::fs::write(r.join(file), text).unwrap();
        user.git_with(r, &["add", file], &env);
        user.git_with(r, &["commit", "-q", "-m", text], &env);
        hooks_quiet(r);
    };
    commit("a.py", "a = 0\n");
    let o = user.git_osa(r, &["hooks", "install"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let main = String::from_utf8_lossy(&git(&["branch", "--show-current"]).stdout)
        .trim()
        .to_string();
    user.git_with(r, &["checkout", "-q", "-b", "topic"], &env);
    hooks_quiet(r);
    commit("a.py", "a = 1\n");
    commit("b.py", "b = 1\n");
    user.git_with(r, &["checkout", "-q", &main], &env);
    hooks_quiet(r);
    commit("a.py", "a = 2\n");
    user.git_with(r, &["checkout", "-q", "topic"], &env);
    hooks_quiet(r);

    // A rebase that stops on a conflict: its checkout waits.
    let (ran, waited) = hook_log(r);
    let o = git(&["rebase", &main]);
    assert!(!o.status.success(), "the rebase stops on the conflict");
    hooks_quiet(r);
    let (ran_during, waited_during) = hook_log(r);
    assert_eq!(ran_during, ran, "no redeploy during the rebase");
    assert!(waited_during > waited, "the rebase's hooks noted the wish");
    std::fs::write(r.join("a.py"), "a = 3\n").unwrap();
    user.git_with(r, &["add", "a.py"], &env);
    let o = git(&["rebase", "--continue"]);
    assert!(o.status.success(), "{}", stderr(&o));
    hooks_quiet(r);
    let (ran_after, _) = hook_log(r);
    assert!(ran_after > ran, "the rebase's end redeployed");

    // A merge that stops on a conflict: nothing is deployed until its commit.
    let (ran, _) = hook_log(r);
    user.git_with(
        r,
        &["checkout", "-q", "-b", "other", &format!("{main}~1")],
        &env,
    );
    hooks_quiet(r);
    commit("b.py", "b = 2\n");
    let (ran, _) = (hook_log(r).0.max(ran), ());
    user.git_with(r, &["checkout", "-q", "topic"], &env);
    hooks_quiet(r);
    let ran = hook_log(r).0.max(ran);
    let o = git(&["merge", "other"]);
    assert!(!o.status.success(), "the merge stops on the conflict");
    hooks_quiet(r);
    assert_eq!(hook_log(r).0, ran, "no redeploy during the merge");
    std::fs::write(r.join("b.py"), "b = 3\n").unwrap();
    user.git_with(r, &["add", "b.py"], &env);
    user.git_with(r, &["commit", "-q", "--no-edit"], &env);
    hooks_quiet(r);
    assert!(hook_log(r).0 > ran, "the merge's commit redeployed");

    // A bisect: its checkouts wait; once it is reset, the next hook redeploys (the
    // checkout is back where it was, which is what is deployed).
    let ran = hook_log(r).0;
    let head = git(&["rev-parse", "HEAD"]).stdout;
    git(&["bisect", "start", "HEAD", &format!("{main}~1")]);
    hooks_quiet(r);
    git(&["bisect", "good"]);
    hooks_quiet(r);
    assert_eq!(hook_log(r).0, ran, "no redeploy during the bisect");
    git(&["bisect", "reset"]);
    hooks_quiet(r);
    assert_eq!(git(&["rev-parse", "HEAD"]).stdout, head);
    commit("c.py", "c = 1\n");
    assert!(hook_log(r).0 > ran, "the next commit redeployed");
}

/// Regression: with a core.hooksPath shared with an unrelated repository,
/// git-osa's hooks wrote `.git/git-osa/` into that repository. Nothing is written there.
#[test]
fn hooks_shared_through_core_hooks_path_write_nothing_in_another_repository() {
    let user = User::new();
    let shared = tempfile::tempdir().unwrap();
    let shared_dir = shared.path().display().to_string();
    let ours = checkout("openstack/keystone");
    let other = checkout("openstack/keystone");
    for r in [ours.path(), other.path()] {
        user.git(r, &["config", "core.hooksPath", &shared_dir]);
    }
    let o = user.git_osa(ours.path(), &["hooks", "install"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(shared.path().join("post-commit").exists());
    let r = other.path();
    std::fs::write(r.join("c.py"), "c = 1\n").unwrap();
    user.git(r, &["add", "c.py"]);
    user.git(r, &["commit", "-q", "-m", "c"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        !r.join(".git/git-osa").exists(),
        "the unrelated repository was written to"
    );
}
