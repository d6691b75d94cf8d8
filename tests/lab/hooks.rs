//! Git hooks that redeploy on commit: installed beside a hook of the user's own in a
//! core.hooksPath folder, quiet while no dev session runs, then each commit served
//! through HAProxy with nothing more typed; a rebase of ten commits coalesces; uninstall
//! gives the folder back byte for byte.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Lab, edit, git, header};

#[test]
#[ignore = "needs the lab: tests/run"]
fn commits_are_served_through_the_hooks_and_uninstall_leaves_the_hooks_as_they_were() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-hooked");
    let repo = dir.path().join("keystone");
    let production = lab.production();

    // The user's own hooks folder (core.hooksPath, outside the checkout), with a
    // post-commit of theirs.
    let hooks = dir.path().join("my-hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(
        hooks.join("post-commit"),
        "#!/bin/sh\necho \"mine $(git rev-parse --short HEAD)\" >> \"$(git rev-parse --git-dir)/mine.log\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        hooks.join("post-commit"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    git(
        &repo,
        &["config", "core.hooksPath", hooks.to_str().unwrap()],
    );
    let before = snapshot(&hooks);

    let o = lab.run(&repo, &["hooks", "install"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = lab.run(&repo, &["hooks", "status"]);
    let status = String::from_utf8_lossy(&o.stdout);
    assert!(
        status.contains("post-commit    installed (the earlier hook runs first)"),
        "{status}"
    );

    // No dev session: a commit deploys nothing and says nothing; the user's hook runs.
    let out = commit(&repo, "git-osa-no-session");
    assert!(!out.contains("git-osa:"), "a quiet hook spoke: {out}");
    let log = wait_for_log(&lab, &repo, "nothing to do", 1);
    assert!(
        log.contains("no container of keystone is in dev mode"),
        "{log}"
    );
    let mine = std::fs::read_to_string(repo.join(".git/mine.log")).unwrap();
    assert_eq!(mine.lines().count(), 1, "{mine}");
    lab.assert_untouched(&production);

    // A detached session of this checkout: each commit is served, nothing more typed.
    let o = lab.run(&repo, &["run", "--detach", "--container", &lab.new.name]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hook = median_hook_return(&repo);
    let start = Instant::now();
    commit(&repo, "git-osa-committed");
    let returned = start.elapsed();
    wait_served(&lab, "git-osa-committed");
    let served = start.elapsed();
    assert!(
        hook < Duration::from_millis(200),
        "the hook took {hook:?} (median of 20)"
    );

    // A commit that breaks keystone: the redeploy fails, the other server serves
    // meanwhile, status and the next hook say so, and the fix is served.
    commit(&repo, "git-osa-broken'");
    wait_for_log(&lab, &repo, "--- redeploy failed", 1);
    let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
    assert!(h.starts_with("HTTP/1.1 200"), "{h}");
    assert!(body.contains("\"status\": \"stable\""), "{body}");
    let (_, block, _) = lab.status_of(&repo, &lab.new);
    assert!(block.contains(": FAILED: "), "{block}");
    let out = commit(&repo, "git-osa-fixed");
    assert!(out.contains("git-osa: the last redeploy failed"), "{out}");
    wait_served(&lab, "git-osa-fixed");

    // Ten commits rewritten by a rebase: at most two redeploys, of the final tree.
    for i in 1..=10 {
        edit(&repo, &format!("git-osa-rebase-{i}"));
        let o = git_cmd(&repo)
            .args(["commit", "-q", "-am", &format!("Step {i}")])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    wait_served(&lab, "git-osa-rebase-10");
    settle(&repo);
    let redeploys_before = redeploys(&repo);
    let o = git_cmd(&repo)
        .args(["rebase", "-q", "--force-rebase", "HEAD~10"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    settle(&repo);
    wait_served(&lab, "git-osa-rebase-10");
    let during_rebase = redeploys(&repo) - redeploys_before;
    assert!(
        (1..=2).contains(&during_rebase),
        "a rebase of 10 commits made {during_rebase} redeploys:\n{}",
        hook_log(&lab, &repo)
    );
    let last = git(&repo, &["rev-parse", "--short=12", "HEAD"]);
    let o = lab.run(&repo, &["hooks", "status"]);
    let status = String::from_utf8_lossy(&o.stdout);
    assert!(status.contains(&format!("deployed {last}")), "{status}");

    // The session ends; the hooks are removed: the folder is as it was.
    for args in [&["stop"][..], &["restore"]] {
        let o = lab.run(&repo, args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    lab.assert_production_back(&production, &[&lab.new]);
    let o = lab.run(&repo, &["hooks", "uninstall"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(snapshot(&hooks), before, "the hooks folder after uninstall");

    eprintln!(
        "timing: hook return median of 20 {hook:?}; git commit returned after {returned:?}; commit to served through HAProxy {served:?}; rebase of 10 commits: {during_rebase} redeploys"
    );
}

/// `git commit -am` of an edit; its output (the hooks' words among it).
fn commit(repo: &Path, marker: &str) -> String {
    edit(repo, marker);
    let o = git_cmd(repo)
        .args(["commit", "-am", &format!("Say {marker}")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// git with the test's identity and the git-osa under test on PATH (`git osa`).
fn git_cmd(repo: &Path) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_git-osa")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut c = Command::new("git");
    c.current_dir(repo)
        .env("PATH", path)
        .env("GIT_AUTHOR_NAME", "git-osa test")
        .env("GIT_AUTHOR_EMAIL", "test@git-osa.invalid")
        .env("GIT_COMMITTER_NAME", "git-osa test")
        .env("GIT_COMMITTER_EMAIL", "test@git-osa.invalid");
    c
}

/// The installed post-commit, run as git runs it, 20 times: the median of its return.
fn median_hook_return(repo: &Path) -> Duration {
    let mut times: Vec<Duration> = (0..20)
        .map(|_| {
            let start = Instant::now();
            let o = git_cmd(repo)
                .arg("hook")
                .args(["run", "post-commit"])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[10]
}

fn wait_served(lab: &Lab, marker: &str) {
    lab.wait(
        &format!("{marker} through HAProxy"),
        Duration::from_secs(120),
        || {
            let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
            body.contains(&format!("\"status\": \"{marker}\""))
                && header(&h, "x-lab-backend").as_deref() == Some(lab.new.name.as_str())
        },
    );
}

fn state(repo: &Path) -> PathBuf {
    repo.join(".git/git-osa")
}

/// Waits until no redeploy is wanted or running.
fn settle(repo: &Path) {
    let start = Instant::now();
    loop {
        let idle = !state(repo).join("pending").exists()
            && std::fs::File::open(state(repo).join("lock"))
                .map(|f| f.try_lock().is_ok())
                .unwrap_or(true);
        if idle {
            // Twice, a moment apart: a worker may be between two looks.
            std::thread::sleep(Duration::from_millis(700));
            if !state(repo).join("pending").exists() {
                return;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "redeploys never settled"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn redeploys(repo: &Path) -> usize {
    std::fs::read_to_string(state(repo).join("hooks.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("--- redeploy ok `git osa sync`"))
        .count()
}

fn hook_log(lab: &Lab, repo: &Path) -> String {
    let o = lab.run(repo, &["logs", "--hooks"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Waits until `git osa logs --hooks` has `count` lines with `text`.
fn wait_for_log(lab: &Lab, repo: &Path, text: &str, count: usize) -> String {
    let start = Instant::now();
    loop {
        let log = hook_log(lab, repo);
        if log.matches(text).count() >= count {
            return log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no {text:?} in the hook log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every file of a folder: name, mode and bytes.
fn snapshot(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let md = e.path().symlink_metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                md.permissions().mode(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}
