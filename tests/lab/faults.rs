//! The machine fails under a run: the repo server goes down while pip needs it, the disk
//! fills up during the copy of the production venv. git-osa says what failed (exit 1), and
//! restore gives production back exactly.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{Lab, Node, git};

/// The lab's repo server, stopped by a story and started again however it ends.
struct RepoServerDown;

fn repo_server(what: &str) -> bool {
    Command::new("tests/lab/lab")
        .args(["repo-server", what])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success()
}

impl RepoServerDown {
    fn stop() -> RepoServerDown {
        assert!(repo_server("stop"), "tests/lab/lab repo-server stop");
        RepoServerDown
    }
}

impl Drop for RepoServerDown {
    fn drop(&mut self) {
        let started = repo_server("start");
        if !std::thread::panicking() {
            assert!(started, "tests/lab/lab repo-server start");
        }
    }
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn the_repo_server_down_during_pip_fails_with_exit_1_and_the_dev_mode_hint() {
    let lab = Lab::get();
    let target = &lab.old;
    let dir = lab.checkout("git-osa-no-repo-server");
    let repo = dir.path().join("keystone");
    // A requirement the venv lacks and the repo server has: pip must fetch it.
    let mut reqs = std::fs::read_to_string(repo.join("requirements.txt")).unwrap();
    reqs.push_str("uWSGI\n");
    std::fs::write(repo.join("requirements.txt"), reqs).unwrap();
    git(
        &repo,
        &["commit", "-q", "-am", "Need a package the venv lacks"],
    );
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    lab.wait_for_pip(&mut run, target);
    let down = RepoServerDown::stop();
    let code = run.finish(Duration::from_secs(180));
    let out = run.output();
    drop(down);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("could not reach"), "{out}");
    assert!(!out.contains("does not have"), "{out}");
    assert!(
        out.contains(&format!(
            "hint: {target} is in dev mode as far as the cycle got"
        )),
        "{out}"
    );
    let (code, block, err) = lab.status_of(&repo, target);
    assert_eq!(code, Some(0), "{block}{err}");
    assert!(
        block.contains("checkout synced") && !block.contains("installed into the venv"),
        "{block}"
    );
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[target]);
}

/// A full disk where the copy of the production venv goes: `/openstack/venvs` seen
/// through an overlay whose writes land in a 20 MB tmpfs (reads still come from the real
/// folder), in the container, until the story ends.
struct FullDisk<'a> {
    lab: &'a Lab,
    node: &'a Node,
}

const SMALL: &str = "/run/git-osa-story-full";

impl<'a> FullDisk<'a> {
    fn mount(lab: &'a Lab, node: &'a Node) -> FullDisk<'a> {
        let o = lab.attach(
            node,
            &[
                "sh",
                "-c",
                r#"set -e
mkdir -p "$1"
mount -t tmpfs -o size=20m git-osa-story "$1"
mkdir "$1/up" "$1/work"
mount -t overlay git-osa-story -o "lowerdir=/openstack/venvs,upperdir=$1/up,workdir=$1/work" /openstack/venvs"#,
                "full-disk",
                SMALL,
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        FullDisk { lab, node }
    }
}

impl Drop for FullDisk<'_> {
    fn drop(&mut self) {
        let o = self.lab.attach(
            self.node,
            &[
                "sh",
                "-c",
                r#"umount /openstack/venvs && umount "$1" && rmdir "$1""#,
                "free-disk",
                SMALL,
            ],
        );
        if !std::thread::panicking() {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    }
}

fn editable_installs(lab: &Lab, node: &Node) -> String {
    lab.sh(
        node,
        &format!(
            "ls {}/lib/python3*/site-packages/ | grep -e __editable__ -e egg-link || true",
            lab.venv
        ),
    )
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_full_disk_during_the_venv_copy_fails_with_the_copy_s_error_and_installs_nothing() {
    let lab = Lab::get();
    let target = &lab.new;
    let dir = lab.checkout("git-osa-disk-full");
    let repo: &Path = &dir.path().join("keystone");
    let before = lab.production();
    let full = FullDisk::mount(&lab, target);
    let o = lab.run(repo, &["--container", &target.name]);
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("No space left on device"), "{e}");
    assert!(
        e.contains(&format!(
            "hint: {target} is in dev mode as far as the cycle got"
        )),
        "{e}"
    );
    assert!(!e.contains("git-osa: install the checkout"), "{e}");
    assert_eq!(editable_installs(&lab, target), "");
    // Production, drained, still runs: it stops only once its venv is kept.
    assert_eq!(lab.unit_state(target, &lab.unit), "active");
    // Space is freed, then production takes traffic again.
    drop(full);
    let (_, block, _) = lab.status_of(repo, target);
    assert!(
        block.contains(&format!("HAProxy {}/{target} out of rotation", lab.backend))
            && !block.contains("stopped"),
        "{block}"
    );
    let o = lab.run(repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[]);
}
