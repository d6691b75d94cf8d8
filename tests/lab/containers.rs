//! A container in dev mode that restarts, or stops: restore never leaves the dev code
//! serving, and never says "nothing to restore" about a session it cannot reach.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{Lab, Node, PINNED};

/// A dev session left in `target` by a run stopped with Ctrl-C: production stopped, the
/// dev install in the venv, the unit still enabled.
fn leave_in_dev_mode(lab: &Lab, repo: &std::path::Path, target: &Node) {
    let mut run = lab.start(repo, &["--container", &target.name]);
    run.wait_for(PINNED, Duration::from_secs(240));
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
    assert!(
        run.output().contains("stays in dev mode"),
        "{}",
        run.output()
    );
}

fn lxc(lab: &Lab, tool: &str, node: &Node) {
    let st = Command::new(tool)
        .args(["-P", &lab.lxc_path, "-n", &node.name])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "{tool} {node}");
}

/// A container stopped by a story, started again however the story ends.
struct Stopped<'a> {
    lab: &'a Lab,
    node: &'a Node,
}

impl<'a> Stopped<'a> {
    fn stop(lab: &'a Lab, node: &'a Node) -> Stopped<'a> {
        lxc(lab, "lxc-stop", node);
        Stopped { lab, node }
    }
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new("lxc-start")
                .args(["-P", &self.lab.lxc_path, "-n", &self.node.name])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            return;
        }
        lxc(self.lab, "lxc-start", self.node);
    }
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_container_restarted_in_dev_mode_gets_production_back_not_the_dev_code() {
    let lab = Lab::get();
    let target = &lab.old;
    let dir = lab.checkout("git-osa-restarted");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    leave_in_dev_mode(&lab, &repo, target);
    drop(Stopped::stop(&lab, target));
    // The enabled unit started at boot, from the dev install.
    lab.wait(
        "the dev code after the restart",
        Duration::from_secs(120),
        || lab.direct_v3(target).contains("git-osa-restarted"),
    );
    // status says so: no dev process, yet the unit serves the dev code.
    let (code, block, err) = lab.status_of(&repo, target);
    assert_eq!(code, Some(0), "{block}{err}");
    assert!(
        block.contains(&format!(
            "process  not running, but systemd runs {} from the dev install",
            lab.unit
        )),
        "{block}"
    );
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(lab.direct_v3(target).contains("\"status\": \"stable\""));
    lab.assert_production_back(&before, &[target]);
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_container_stopped_in_dev_mode_is_named_with_how_to_start_it_then_restored() {
    let lab = Lab::get();
    let target = &lab.new;
    let dir = lab.checkout("git-osa-stopped");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    leave_in_dev_mode(&lab, &repo, target);
    let stopped = Stopped::stop(&lab, target);
    let o = lab.run(&repo, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!(
            "container {target} is STOPPED: start it with `lxc-start -P {} -n {target}`",
            lab.lxc_path
        )),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for args in [
        vec!["restore"],
        vec!["restore", "--container", &target.name],
        vec!["restore", "--all"],
    ] {
        let o = lab.run(&repo, &args);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(
            e.contains(&format!(
                "{target} is STOPPED and holds a keystone dev session"
            )),
            "{args:?}: {e}"
        );
        assert!(
            e.contains(&format!("lxc-start -P {} -n {target}", lab.lxc_path)),
            "{args:?}: {e}"
        );
    }
    drop(stopped);
    lab.wait("the container back", Duration::from_secs(120), || {
        lab.direct_v3(target).contains("git-osa-stopped")
    });
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[target]);
}

/// Regression: a stopped container holding a detached session showed "dev
/// none (production)" and not that the backend had no server up; once started, its
/// enabled production unit took the port at boot and `git osa sync` failed on uWSGI's
/// `bind(): Address already in use`.
#[test]
#[ignore = "needs the lab: tests/run"]
fn a_detached_session_in_a_container_stopped_and_started_again_is_shown_then_synced() {
    let lab = Lab::get();
    let (target, other) = (&lab.new, &lab.old);
    let dir = lab.checkout("git-osa-stopped-detached");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let o = lab.run(&repo, &["run", "--detach", "--container", &target.name]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.server(other), "MAINT");

    let stopped = Stopped::stop(&lab, target);
    // HAProxy finds the server down after its checks fail (`fall` of them).
    lab.wait(
        "HAProxy to mark the stopped container DOWN",
        Duration::from_secs(60),
        || lab.server(target).starts_with("DOWN"),
    );
    let (code, block, err) = lab.status_of(&repo, target);
    assert_eq!(code, Some(2), "{block}{err}");
    assert!(block.contains("lxc      STOPPED"), "{block}");
    assert!(
        block.contains("record   read from the stopped container's files"),
        "{block}"
    );
    assert!(!block.contains("none (production)"), "{block}");
    assert!(block.contains("changed  production venv kept"), "{block}");
    assert!(
        err.contains(&format!(
            "HAProxy {} has no server that takes traffic",
            lab.backend
        )),
        "{err}"
    );
    drop(stopped);

    // Started again: the enabled production unit runs, from the dev install.
    lab.wait(
        "keystone-wsgi-public active after the start",
        Duration::from_secs(120),
        || lab.unit_state(target, &lab.unit) == "active",
    );
    let o = lab.run(&repo, &["sync"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains("stop production keystone-wsgi-public: it started again with the container"),
        "{e}"
    );
    lab.wait(
        "the frontend serving the checkout again",
        Duration::from_secs(60),
        || {
            lab.http(&format!("{}/v3", lab.frontend))
                .1
                .contains("git-osa-stopped-detached")
        },
    );
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[target]);
}
