//! git-osa killed (SIGKILL: it cleans nothing up) at each step that records something:
//! during the venv copy, during the sync, after the log drop-in, during the db sync, while
//! uWSGI starts and while the dev process serves. Each time `status` shows the session and
//! what it changed, and `restore` puts production back exactly; so does a rerun after a
//! kill during the copy, which copies again.
//! (Killed during pip: `restore.rs`; a rerun after a kill while serving: `interrupt.rs`.)

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{DROPIN, Lab, Node, PINNED, Production, git};
use crate::running::Running;

/// The scopes git-osa runs its long steps in.
const KEEP_SCOPE: &str = "git-osa-keep-keystone.scope";
const STEP_SCOPE: &str = "git-osa-step-keystone.scope";
const DBSYNC_SCOPE: &str = "git-osa-dbsync-keystone.scope";

fn kill(run: &mut Running) {
    run.signal(libc::SIGKILL);
    run.finish(Duration::from_secs(10));
}

/// After the kill: `status` shows the session with what it `changed` (and not what it
/// did not get to), then `restore` puts production back exactly (with a new process
/// where the run had `stopped` it). Returns restore's output.
fn status_then_restore(
    lab: &Lab,
    repo: &Path,
    target: &Node,
    before: &Production,
    changed: &[&str],
    not_changed: &[&str],
    stopped: bool,
) -> String {
    let (code, block, err) = lab.status_of(repo, target);
    assert_eq!(code, Some(0), "{block}{err}");
    assert!(!block.contains("none (production)"), "{block}");
    let line = block
        .lines()
        .find(|l| l.trim_start().starts_with("changed "))
        .unwrap_or_else(|| panic!("no changed line:\n{block}"));
    for c in changed {
        assert!(line.contains(c), "{c:?} is not in\n{block}");
    }
    for c in not_changed {
        assert!(!line.contains(c), "{c:?} is in\n{block}");
    }
    let o = lab.run(repo, &["restore"]);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("{target} runs production again")),
        "{out}"
    );
    let restarted: &[&Node] = if stopped { &[target] } else { &[] };
    lab.assert_production_back(before, restarted);
    out
}

/// Folders added to the production venv of a story's target (and taken away when it
/// ends): a snapshot of hard links costs a walk of the venv's folders, well under a
/// second for keystone's, too short for a story to kill git-osa in it; with these it
/// lasts seconds. They are production's as much as the rest: restore gives them back too.
struct ManyFolders<'a> {
    lab: &'a Lab,
    node: &'a Node,
    dir: String,
    /// The venv folder's own modification time before: given back when the folders go,
    /// so that later stories (and a rebuilt container) find production's venv as it was.
    mtime: String,
}

/// How many: `cp -al` makes a folder with its mode, owner and times.
const FOLDERS: usize = 60_000;

impl<'a> ManyFolders<'a> {
    fn add(lab: &'a Lab, node: &'a Node) -> ManyFolders<'a> {
        let dir = format!("{}/git-osa-story-folders", lab.venv);
        let o = lab.attach(
            node,
            &[
                "sh",
                "-c",
                r#"set -e; stat -c %.9Y "$3"; mkdir "$1"; cd "$1"; seq 1 "$2" | xargs mkdir"#,
                "many-folders",
                &dir,
                &FOLDERS.to_string(),
                &lab.venv,
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mtime = String::from_utf8_lossy(&o.stdout).trim().to_string();
        ManyFolders {
            lab,
            node,
            dir,
            mtime,
        }
    }
}

impl Drop for ManyFolders<'_> {
    fn drop(&mut self) {
        let o = self.lab.attach(
            self.node,
            &[
                "sh",
                "-c",
                r#"rm -rf -- "$1" && touch -m -d "@$3" -- "$2""#,
                "many-folders-gone",
                &self.dir,
                &self.lab.venv,
                &self.mtime,
            ],
        );
        if !std::thread::panicking() {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    }
}

/// Starts a run in `target` and kills it while the snapshot of the production venv is
/// being made. Production, drained, still runs then: it stops only once its venv is kept.
fn kill_during_the_copy(lab: &Lab, repo: &Path, target: &Node) {
    let mut run = lab.start(repo, &["--container", &target.name]);
    // The snapshot runs in the background while the next steps drain the target: the
    // kill comes once both are under way, as the stories' status expects.
    lab.wait("the venv's snapshot", Duration::from_secs(60), || {
        lab.unit_state(target, KEEP_SCOPE) == "active" && lab.server(target) == "DRAIN"
    });
    kill(&mut run);
    assert_eq!(
        lab.unit_state(target, &lab.unit),
        "active",
        "production stopped before its venv was kept"
    );
}

/// A rerun, then Ctrl-C, then restore: production back exactly.
fn rerun_then_restore(lab: &Lab, repo: &Path, target: &Node, before: &Production) -> String {
    let mut again = lab.start(repo, &["--container", &target.name]);
    again.wait_for(PINNED, Duration::from_secs(240));
    again.signal(libc::SIGINT);
    assert_eq!(
        again.finish(Duration::from_secs(60)),
        130,
        "{}",
        again.output()
    );
    let o = lab.run(repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(before, &[target]);
    again.output()
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn killed_during_the_venv_copy_restore_gives_production_back_exactly() {
    let lab = Lab::get();
    let target = &lab.new;
    let dir = lab.checkout("git-osa-killed-copy");
    let repo = dir.path().join("keystone");
    let _folders = ManyFolders::add(&lab, target);
    let before = lab.production();
    kill_during_the_copy(&lab, &repo, target);
    status_then_restore(
        &lab,
        &repo,
        target,
        &before,
        &[
            "production venv being kept at /openstack/venvs/.git-osa-prod-keystone-",
            &format!("HAProxy {}/{target} out of rotation", lab.backend),
        ],
        &["installed", "stopped"],
        false,
    );
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_rerun_right_after_a_kill_during_the_venv_copy_copies_again() {
    let lab = Lab::get();
    let target = &lab.old;
    let dir = lab.checkout("git-osa-copy-cut");
    let repo = dir.path().join("keystone");
    let _folders = ManyFolders::add(&lab, target);
    let before = lab.production();
    kill_during_the_copy(&lab, &repo, target);
    // The rerun stops the copy the killed run left running: it must copy again, or the
    // dev install would go into the production venv with no copy to restore.
    let out = rerun_then_restore(&lab, &repo, target, &before);
    assert!(
        out.contains("git-osa: stop what an interrupted git-osa left running"),
        "{out}"
    );
    assert!(
        out.contains("git-osa: keep the production venv")
            && !out.contains(&format!("keep the production venv {}: skipped", lab.venv)),
        "{out}"
    );
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_rerun_after_the_killed_run_s_copy_ended_on_its_own_keeps_one_exact_copy() {
    let lab = Lab::get();
    let target = &lab.new;
    let dir = lab.checkout("git-osa-copy-orphan");
    let repo = dir.path().join("keystone");
    let _folders = ManyFolders::add(&lab, target);
    let before = lab.production();
    kill_during_the_copy(&lab, &repo, target);
    lab.wait("the orphaned copy's end", Duration::from_secs(120), || {
        lab.unit_state(target, KEEP_SCOPE) != "active"
    });
    rerun_then_restore(&lab, &repo, target, &before);
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn killed_during_the_sync_restore_gives_production_back_exactly() {
    let lab = Lab::get();
    let target = &lab.old;
    let dir = lab.checkout("git-osa-killed-sync");
    let repo = dir.path().join("keystone");
    // A big file in the tree (untracked, not ignored: it is synced) makes the sync last.
    std::fs::write(repo.join("big-blob.bin"), vec![7u8; 400 << 20]).unwrap();
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    run.wait_for("git-osa: sync the checkout", Duration::from_secs(60));
    lab.wait("the sync in its scope", Duration::from_secs(20), || {
        lab.unit_state(target, STEP_SCOPE) == "active"
    });
    kill(&mut run);
    assert!(
        !run.output()
            .contains("wait for the production venv to be kept"),
        "{}",
        run.output()
    );
    status_then_restore(
        &lab,
        &repo,
        target,
        &before,
        &[&format!("HAProxy {}/{target} out of rotation", lab.backend)],
        // Production stops only once its venv is kept and the checkout is there.
        &["checkout synced", "installed", "stopped"],
        false,
    );
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn killed_after_the_log_drop_in_restore_removes_it_and_gives_production_back_exactly() {
    let lab = Lab::get();
    let target = &lab.new;
    let dir = lab.checkout("git-osa-killed-dropin");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    run.wait_for("git-osa: send keystone's logs", Duration::from_secs(120));
    lab.wait("the drop-in in place", Duration::from_secs(10), || {
        lab.sh(target, &format!("test -e {DROPIN} && echo yes"))
            .trim()
            == "yes"
    });
    kill(&mut run);
    status_then_restore(
        &lab,
        &repo,
        target,
        &before,
        &["checkout synced", "installed into the venv", "log drop-in"],
        &["db synced"],
        true,
    );
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn killed_during_the_db_sync_restore_waits_for_it_to_end_and_says_so() {
    let lab = Lab::get();
    let target = &lab.old;
    let dir = lab.checkout("git-osa-killed-dbsync");
    let repo = dir.path().join("keystone");
    // A migration change (so the db sync runs) that makes it last, and says it ended.
    let ended = "/tmp/git-osa-story-dbsync-ended";
    lab.sh(target, &format!("rm -f {ended}"));
    let env_py = repo.join("keystone/common/sql/migrations/env.py");
    let mut text = std::fs::read_to_string(&env_py).unwrap();
    text.push_str(&format!(
        "\n# A slow migration, for the git-osa fault stories.\nimport time as _t\n_t.sleep(4)\nwith open('{ended}', 'a') as _f:\n    _f.write('ended\\n')\n"
    ));
    std::fs::write(&env_py, text).unwrap();
    git(&repo, &["commit", "-q", "-am", "A slow migration"]);
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    run.wait_for(
        "git-osa: db sync: keystone-manage db_sync",
        Duration::from_secs(120),
    );
    lab.wait("the db sync in its scope", Duration::from_secs(20), || {
        lab.unit_state(target, DBSYNC_SCOPE) == "active"
    });
    kill(&mut run);
    assert_eq!(
        lab.sh(target, &format!("cat {ended} 2>/dev/null")),
        "",
        "the db sync ended before the kill"
    );
    let out = status_then_restore(
        &lab,
        &repo,
        target,
        &before,
        &["installed into the venv", "log drop-in"],
        &["db synced"],
        true,
    );
    assert!(
        out.contains("wait for the db sync an interrupted git-osa left running"),
        "{out}"
    );
    // Not stopped: it ran to its end.
    assert!(
        lab.sh(target, &format!("cat {ended}")).contains("ended"),
        "the db sync did not run to its end:\n{out}"
    );
    lab.sh(target, &format!("rm -f {ended}"));
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn killed_while_the_dev_process_serves_restore_gives_production_back_exactly() {
    let lab = Lab::get();
    let (target, other) = (&lab.new, &lab.old);
    let dir = lab.checkout("git-osa-killed-serving");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    run.wait_for(PINNED, Duration::from_secs(240));
    kill(&mut run);
    // The dev process outlives git-osa, still serving every request.
    assert!(
        lab.http(&format!("{}/v3", lab.frontend))
            .1
            .contains("git-osa-killed-serving")
    );
    let (_, block, _) = lab.status_of(&repo, target);
    assert!(
        block.contains(&format!("process  running: {}", lab.unit)),
        "{block}"
    );
    status_then_restore(
        &lab,
        &repo,
        target,
        &before,
        &[
            "checkout synced",
            "installed into the venv",
            "log drop-in",
            &format!("HAProxy {}/{other} out of rotation", lab.backend),
        ],
        &["db synced"],
        true,
    );
}

/// Regression: a graceful stop of a uWSGI that was still starting waited out its stop
/// timeout, and restore took 18 s.
#[test]
#[ignore = "needs the lab: tests/run"]
fn restore_after_a_kill_while_uwsgi_starts_kills_it_at_once() {
    let lab = Lab::get();
    let target = &lab.old;
    let dir = lab.checkout("git-osa-killed-starting");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    run.wait_for(
        &format!("running {} as", lab.unit),
        Duration::from_secs(240),
    );
    kill(&mut run);
    let start = Instant::now();
    let o = lab.run(&repo, &["-v", "restore"]);
    let took = start.elapsed();
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    eprintln!("timing: restore after a kill while uWSGI starts {took:?}");
    // A graceful stop of a uWSGI still starting waited out its 15 s stop timeout (restore
    // took 18 s); the orphan is killed now. The kill step's own time, from `-v`'s log, is
    // what is measured: the rest of restore (the venv's rm -rf) depends on the disk.
    let kill_step = log
        .lines()
        .find(|l| l.contains("git-osa-kill") && l.contains(", exit "))
        .unwrap_or_else(|| panic!("no logged kill of the orphaned dev process:\n{log}"));
    let ms = step_millis(kill_step);
    assert!(ms < 3000, "stopping the orphan took {ms} ms: {kill_step}");
    assert!(
        took < Duration::from_secs(60),
        "restore took {took:?}:\n{log}"
    );
    lab.assert_production_back(&before, &[target]);
}

/// The duration of a command `-v` logged: `(412 ms, exit 0)` or `(1.52 s, exit 0)`.
fn step_millis(line: &str) -> u64 {
    let t = line
        .rsplit_once(" (")
        .and_then(|(_, t)| t.split_once(", exit "))
        .map(|(t, _)| t)
        .unwrap_or_else(|| panic!("no duration in {line}"));
    match t.split_once(' ') {
        Some((n, "ms")) => n.parse().unwrap(),
        Some((n, "s")) => (n.parse::<f64>().unwrap() * 1000.0) as u64,
        _ => panic!("no duration in {line}"),
    }
}
