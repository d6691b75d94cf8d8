//! Production back: at the end of a run with `--restore-on-exit`, and by `restore` after a
//! git-osa that was killed.

use std::time::Duration;

use crate::harness::{Lab, NEW, OLD, PINNED, UNIT};

#[test]
#[ignore = "needs the lab: tests/run"]
fn restore_on_exit_puts_production_back_when_the_run_ends() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-once");
    let repo = dir.path().join("keystone");
    let freeze_before = lab.pip_freeze(OLD);
    let mut run = lab.start(&repo, &["--container", OLD, "--restore-on-exit"]);
    run.wait_for(PINNED, Duration::from_secs(240));
    assert!(lab.direct_v3(OLD).contains("git-osa-once"));
    // The checkout's migrations are production's: no db sync, no schema warning.
    let out = run.output();
    assert!(
        out.contains(
            "db sync: keystone-manage db_sync: skipped (the checkout's migrations are production's"
        ),
        "{out}"
    );
    assert!(!out.contains("the database schema was upgraded"), "{out}");
    run.signal(libc::SIGINT);
    assert_eq!(
        run.finish(Duration::from_secs(120)),
        130,
        "{}",
        run.output()
    );
    assert!(
        run.output()
            .contains(&format!("{OLD} runs production again")),
        "{}",
        run.output()
    );
    assert_eq!(lab.unit_state(OLD, UNIT), "active");
    assert!(lab.direct_v3(OLD).contains("\"status\": \"stable\""));
    assert_eq!(lab.pip_freeze(OLD), freeze_before);
    lab.wait_up(OLD);
    lab.wait_up(NEW);
    let o = lab.run(&repo, &["status"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .matches("dev      none (production)")
            .count(),
        2
    );
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn restore_finishes_the_job_after_git_osa_was_killed_during_the_install() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-killed");
    let repo = dir.path().join("keystone");
    let freeze_before = lab.pip_freeze(NEW);
    let original = lab.direct_v3(NEW);
    let mut run = lab.start(&repo, &["--container", NEW]);
    lab.wait_for_pip(&mut run, NEW);
    run.signal(libc::SIGKILL);
    run.finish(Duration::from_secs(10));
    // pip may outlive the killed git-osa (until it next writes to the closed pipe):
    // restore stops its scope before it touches the venv. status says what is half done.
    let o = lab.run(&repo, &["status"]);
    let st = String::from_utf8_lossy(&o.stdout);
    assert!(st.contains("production stopped"), "{st}");
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.pip_freeze(NEW), freeze_before);
    assert_eq!(lab.direct_v3(NEW), original);
    assert_eq!(lab.unit_state(NEW, UNIT), "active");
    lab.wait_up(NEW);
    lab.wait_up(OLD);
    assert_ne!(lab.unit_state(NEW, "git-osa-step-keystone.scope"), "active");
    assert_eq!(
        lab.sh(NEW, "pgrep -f '[b]in/pip install' || true").trim(),
        ""
    );
}
