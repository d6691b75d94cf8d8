//! A run interrupted: Ctrl-C during the install, and a rerun after git-osa was killed.

use std::time::Duration;

use crate::harness::{Lab, PINNED, edit};

#[test]
#[ignore = "needs the lab: tests/run"]
fn ctrl_c_during_the_install_stops_pip_at_once_and_says_how_to_go_on() {
    let lab = Lab::get();
    let old = &lab.old;
    let dir = lab.checkout("git-osa-ctrl-c");
    let repo = dir.path().join("keystone");
    let freeze_before = lab.pip_freeze(old);
    let mut run = lab.start(&repo, &["--container", &old.name]);
    lab.wait_for_pip(&mut run, old);
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(20)), 130, "{}", run.output());
    let out = run.output();
    assert!(
        // During pip, or, if pip won the race, before the next step.
        out.contains("git-osa: error: interrupted during: install the checkout into the venv")
            || out.contains("git-osa: error: interrupted before: "),
        "{out}"
    );
    assert!(
        out.contains("`git osa restore` puts production back"),
        "{out}"
    );
    assert_ne!(lab.unit_state(old, "git-osa-step-keystone.scope"), "active");
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.pip_freeze(old), freeze_before);
    assert_eq!(lab.unit_state(old, &lab.unit), "active");
    lab.wait_up(old);
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_rerun_after_git_osa_was_killed_stops_the_orphans_and_carries_on() {
    let lab = Lab::get();
    let (old, new) = (&lab.old, &lab.new);
    let dir = lab.checkout("git-osa-rerun");
    let repo = dir.path().join("keystone");
    let mut run = lab.start(&repo, &["--container", &new.name]);
    run.wait_for(PINNED, Duration::from_secs(240));
    run.signal(libc::SIGKILL);
    run.finish(Duration::from_secs(10));
    // The dev process outlives git-osa, still serving, the other server still out.
    assert_eq!(lab.unit_state(new, &lab.scope), "active");
    assert_eq!(lab.server(old), "MAINT");
    let o = lab.run(&repo, &["status"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("process  running: {}", lab.unit))
    );

    edit(&repo, "git-osa-rerun-2");
    let mut again = lab.start(&repo, &["--container", &new.name]);
    again.wait_for(PINNED, Duration::from_secs(240));
    let out = again.output();
    assert!(
        out.contains("git-osa: stop what an interrupted git-osa left running"),
        "{out}"
    );
    // No db sync ran in this session and the migrations are still production's.
    assert!(
        out.contains(
            "db sync: keystone-manage db_sync: skipped (the checkout's migrations are production's"
        ),
        "{out}"
    );
    lab.wait("the rerun's /v3", Duration::from_secs(30), || {
        lab.http(&format!("{}/v3", lab.frontend))
            .1
            .contains("git-osa-rerun-2")
    });
    assert_eq!(lab.server(old), "MAINT");
    again.signal(libc::SIGINT);
    assert_eq!(again.finish(Duration::from_secs(60)), 130);
    // This run's end gives the other server back, though an earlier run took it.
    lab.wait_up(old);
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.unit_state(new, &lab.unit), "active");
    lab.wait_up(new);
}
