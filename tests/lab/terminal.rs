//! A user at a terminal: the prompt for the container, progress drawn, Ctrl-C.

use std::time::Duration;

use crate::harness::{Lab, PINNED};
use crate::pty::Pty;

#[test]
#[ignore = "needs the lab: tests/run"]
fn on_a_terminal_it_prompts_for_the_container_and_ctrl_c_stops_the_run() {
    let lab = Lab::get();
    let (old, new) = (&lab.old, &lab.new);
    let dir = lab.checkout("git-osa-tty");
    let repo = dir.path().join("keystone");
    let mut pty = Pty::spawn(lab.git_osa(&repo));
    pty.wait_for(
        "Which container should run your checkout?",
        Duration::from_secs(30),
    );
    // The first choice is the first name in order: the new one ("-" sorts before "_").
    pty.send(b"\r");
    pty.wait_for(PINNED, Duration::from_secs(240));
    lab.wait("the tty run's /v3", Duration::from_secs(30), || {
        lab.http(&format!("{}/v3", lab.frontend))
            .1
            .contains("git-osa-tty")
    });
    pty.send(b"\x03");
    let (status, out) = pty.finish(Duration::from_secs(60));
    assert!(out.contains("stays in dev mode"), "{out} {status}");
    // On a terminal, long steps show a spinner with their elapsed time (`(1.2s)`), redrawn
    // in place.
    assert!(
        out.lines().any(|l| l.contains("\x1b[2K")
            && (l.contains("keep the production venv") || l.contains("install the checkout"))
            && l.contains("s)")),
        "no progress drawn:\n{out}"
    );
    assert_ne!(lab.unit_state(new, &lab.scope), "active");
    assert_eq!(lab.sh(new, "pgrep -u keystone -l || true").trim(), "");
    lab.wait_up(old);
    let o = lab.run(&repo, &["restore", "--all"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.unit_state(new, &lab.unit), "active");
}
