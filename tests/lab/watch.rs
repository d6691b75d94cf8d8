//! Watch mode, in the background: `git osa watch --detach` starts a detached session and
//! returns; an edit saved (no commit) is served through HAProxy, the uWSGI unit's workers
//! reloaded rather than the unit restarted; a gitignored file and
//! `.git/` make no sync; five quick saves make one; a second watcher is refused; `stop`
//! ends the watcher with the units and `restore` puts production back, with nothing of
//! git-osa left on the host or in the container.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{Lab, MARKED_FILE, edit, header};
use crate::pty::Pty;

#[test]
#[ignore = "needs the lab: tests/run"]
fn saves_are_served_through_a_background_watcher_that_stop_and_restore_end() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-watched");
    let repo = dir.path().join("keystone");
    let production = lab.production();

    // No session yet: watch starts one, as `run --detach` would, then watches.
    let o = lab.run(&repo, &["watch", "--detach", "--container", &lab.new.name]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("in the background (pid "), "{err}");
    wait_served(&lab, "git-osa-watched");

    // status says so, as text and as JSON; a second watcher is refused.
    let o = lab.run(&repo, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("watching   since "), "{out}");
    let o = lab.run(&repo, &["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pid = doc["watching"]["pid"]
        .as_u64()
        .expect("status --json names the watcher") as u32;
    assert_eq!(doc["watching"]["background"], true, "{doc}");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("watch\0--in-background"),
        "pid {pid} is not the watcher"
    );
    for args in [&["watch", "--detach"][..], &["watch"]] {
        let o = lab.run(&repo, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("already watched"), "{err}");
    }

    // A saved edit, no commit: served, after one sync, by the same uWSGI master (its
    // workers reloaded, the unit not restarted).
    let master = main_pid(&lab);
    let start = Instant::now();
    edit(&repo, "git-osa-saved");
    wait_served(&lab, "git-osa-saved");
    let saved = start.elapsed();
    wait_syncs(&lab, &repo, 1);
    assert_eq!(
        main_pid(&lab),
        master,
        "the unit was restarted, not reloaded"
    );
    let log = watch_log(&lab, &repo);
    assert!(
        log.contains("reloading keystone-wsgi-public's uWSGI workers"),
        "{log}"
    );
    // The master imported the libraries before its workers, never the checkout's code:
    // had it imported keystone, its new workers would have served the old text above.
    let journal = lab.sh(
        &lab.new,
        "journalctl -u git-osa-dev-keystone-wsgi-public.service -o cat --no-pager | grep '^git-osa: ' || true",
    );
    let preloaded: usize = journal
        .lines()
        .find_map(|l| l.strip_prefix("git-osa: the uWSGI master preloaded "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no preload in the unit's journal:\n{journal}"));
    assert!(preloaded > 500, "{journal}");
    assert!(!journal.contains("imported the dev code"), "{journal}");

    // What git ignores and what is in .git/ is no reason to sync.
    std::fs::write(repo.join("keystone/api/discovery.pyc"), "ignored").unwrap();
    std::fs::write(repo.join("scratch.log"), "ignored").unwrap();
    std::fs::write(repo.join(".git/info/exclude"), "# touched\n").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(syncs(&lab, &repo), 1, "{}", watch_log(&lab, &repo));

    // A burst of five quick saves is one sync; the frontend answers all along (uWSGI's
    // master holds the requests while its new workers load).
    for i in 1..=5 {
        edit(&repo, &format!("git-osa-burst-{i}"));
        std::thread::sleep(Duration::from_millis(20));
    }
    let start = Instant::now();
    loop {
        let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
        assert!(
            h.starts_with("HTTP/1.1 200"),
            "refused during the sync: {h}"
        );
        if body.contains("\"status\": \"git-osa-burst-5\"") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the burst is not served:\n{}",
            watch_log(&lab, &repo)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let log = watch_log(&lab, &repo);
    assert_eq!(syncs(&lab, &repo), 2, "five saves, one sync:\n{log}");
    assert!(
        log.contains("watch: sync 2: keystone/api/discovery.py: ok in "),
        "{log}"
    );

    // An editor's save through a temporary file renamed over the file: the sync names
    // only the file. A file made and removed again between two syncs is no change.
    let file = repo.join(MARKED_FILE);
    let tmp = repo.join("keystone/api/git-osa-save-tmp");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&tmp, text.replace("git-osa-burst-5", "git-osa-renamed")).unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    wait_served(&lab, "git-osa-renamed");
    wait_syncs(&lab, &repo, 3);
    let log = watch_log(&lab, &repo);
    assert!(
        log.contains("watch: sync 3: keystone/api/discovery.py: ok in "),
        "{log}"
    );
    let scratch = repo.join("keystone/git-osa-scratch");
    std::fs::write(&scratch, "x").unwrap();
    std::fs::remove_file(&scratch).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(syncs(&lab, &repo), 3, "{}", watch_log(&lab, &repo));

    // A folder made while watching is followed from then on: a later save in it syncs.
    let new = repo.join("keystone/git_osa_new");
    std::fs::create_dir(&new).unwrap();
    std::fs::write(new.join("a.py"), "A = 1\n").unwrap();
    wait_syncs(&lab, &repo, 4);
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(new.join("a.py"), "A = 2\n").unwrap();
    wait_syncs(&lab, &repo, 5);
    assert_eq!(
        lab.sh(
            &lab.new,
            "cat /var/lib/git-osa/keystone/src/keystone/git_osa_new/a.py"
        ),
        "A = 2\n"
    );

    // stop ends the watcher, then the units: an edit after it is not synced.
    let o = lab.run(&repo, &["stop"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains(&format!("the watcher was pid {pid}")), "{err}");
    assert!(!alive(pid), "the watcher runs on");
    let o = lab.run(&repo, &["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["watching"].is_null(), "{doc}");
    edit(&repo, "git-osa-unwatched");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(syncs(&lab, &repo), 5);

    // restore: production back, nothing of git-osa on the host or in the container.
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&production, &[&lab.new]);
    let left = lab.sh(
        &lab.new,
        "systemctl list-units --all --no-legend --plain 'git-osa-*'; pgrep -a journalctl",
    );
    assert_eq!(left.trim(), "", "left running in the container");
    assert_eq!(watchers_of(&repo), Vec::<u32>::new(), "a watcher runs on");

    eprintln!("timing: save to served through HAProxy, watched: {saved:?}");
}

/// At a terminal: `git osa watch` starts the session, shows the unit's log and one line
/// per sync, and Ctrl-C puts production back, since watch started the session.
#[test]
#[ignore = "needs the lab: tests/run"]
fn at_a_terminal_watch_shows_the_logs_and_its_syncs_and_ctrl_c_puts_production_back() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-watched-tty");
    let repo = dir.path().join("keystone");
    let production = lab.production();
    let mut cmd = lab.git_osa(&repo);
    cmd.args(["watch", "--container", &lab.new.name]);
    let mut pty = Pty::spawn(cmd);
    pty.wait_for("each save is synced", Duration::from_secs(240));
    wait_served(&lab, "git-osa-watched-tty");
    edit(&repo, "git-osa-saved-tty");
    wait_served(&lab, "git-osa-saved-tty");
    pty.wait_for(
        "watch: sync 1: keystone/api/discovery.py",
        Duration::from_secs(30),
    );
    // The unit's own log, from the journal: its reloaded workers loading the app.
    pty.wait_for("WSGI app 0 (mountpoint='') ready", Duration::from_secs(30));
    pty.send(b"\x03");
    let (status, out) = pty.finish(Duration::from_secs(90));
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(
        out.contains("ending the dev session watch started"),
        "{out}"
    );
    lab.assert_production_back(&production, &[&lab.new]);
    assert_eq!(watchers_of(&repo), Vec::<u32>::new(), "a watcher runs on");
    let left = lab.sh(
        &lab.new,
        "systemctl list-units --all --no-legend --plain 'git-osa-*'; pgrep -a journalctl",
    );
    assert_eq!(left.trim(), "", "left running in the container");
}

fn main_pid(lab: &Lab) -> String {
    let pid = lab.sh(
        &lab.new,
        "systemctl show -p MainPID --value git-osa-dev-keystone-wsgi-public.service",
    );
    assert_ne!(pid.trim(), "0", "the dev unit does not run");
    pid.trim().to_string()
}

fn wait_served(lab: &Lab, marker: &str) {
    lab.wait(
        &format!("{marker} through HAProxy"),
        Duration::from_secs(60),
        || {
            let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
            body.contains(&format!("\"status\": \"{marker}\""))
                && header(&h, "x-lab-backend").as_deref() == Some(lab.new.name.as_str())
        },
    );
}

fn watch_log(lab: &Lab, repo: &Path) -> String {
    let o = lab.run(repo, &["logs", "--watch"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The syncs the watcher ran, as its log counts them.
fn syncs(lab: &Lab, repo: &Path) -> usize {
    watch_log(lab, repo)
        .lines()
        .filter(|l| l.starts_with("watch: sync "))
        .count()
}

fn wait_syncs(lab: &Lab, repo: &Path, n: usize) {
    lab.wait(&format!("{n} syncs"), Duration::from_secs(30), || {
        syncs(lab, repo) >= n
    });
}

/// The host's processes running in `repo` with `watch` among their arguments.
fn watchers_of(repo: &Path) -> Vec<u32> {
    let repo = repo.canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cwd.as_deref() == Some(repo.as_path())
                && cmd.split(|&b| b == 0).any(|a| a == b"watch")
                && alive(*pid)
        })
        .collect()
}

/// The process runs: it exists and is not a zombie waiting for whoever adopted it.
pub(crate) fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let state = s[s.rfind(')')? + 1..]
                .split_whitespace()
                .next()?
                .to_string();
            Some(state != "Z")
        })
        .unwrap_or(false)
}
