//! Production back: at the end of a run with `--restore-on-exit`, and by `restore` after a
//! git-osa that was killed.

use std::time::Duration;

use crate::harness::{Lab, PINNED};

#[test]
#[ignore = "needs the lab: tests/run"]
fn restore_on_exit_puts_production_back_when_the_run_ends() {
    let lab = Lab::get();
    let (old, new) = (&lab.old, &lab.new);
    let dir = lab.checkout("git-osa-once");
    let repo = dir.path().join("keystone");
    let freeze_before = lab.pip_freeze(old);
    let mut run = lab.start(&repo, &["--container", &old.name, "--restore-on-exit"]);
    run.wait_for(PINNED, Duration::from_secs(240));
    assert!(lab.direct_v3(old).contains("git-osa-once"));
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
            .contains(&format!("{old} runs production again")),
        "{}",
        run.output()
    );
    assert_eq!(lab.unit_state(old, &lab.unit), "active");
    assert!(lab.direct_v3(old).contains("\"status\": \"stable\""));
    assert_eq!(lab.pip_freeze(old), freeze_before);
    lab.wait_up(old);
    lab.wait_up(new);
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
    let (old, new) = (&lab.old, &lab.new);
    let dir = lab.checkout("git-osa-killed");
    let repo = dir.path().join("keystone");
    let freeze_before = lab.pip_freeze(new);
    let original = lab.direct_v3(new);
    let mut run = lab.start(&repo, &["--container", &new.name]);
    lab.wait_for_pip(&mut run, new);
    run.signal(libc::SIGKILL);
    run.finish(Duration::from_secs(10));
    // pip may outlive the killed git-osa (until it next writes to the closed pipe):
    // restore stops its scope before it touches the venv. status says what is half done.
    let o = lab.run(&repo, &["status"]);
    let st = String::from_utf8_lossy(&o.stdout);
    assert!(
        st.contains(&format!("production {} stopped", lab.unit)),
        "{st}"
    );
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.pip_freeze(new), freeze_before);
    assert_eq!(lab.direct_v3(new), original);
    assert_eq!(lab.unit_state(new, &lab.unit), "active");
    lab.wait_up(new);
    lab.wait_up(old);
    assert_ne!(lab.unit_state(new, "git-osa-step-keystone.scope"), "active");
    assert_eq!(
        lab.sh(new, "pgrep -f '[b]in/pip install' || true").trim(),
        ""
    );
}

/// Restore without the copy of the production venv, while the venv holds the dev install:
/// it says so and fails, rather than report production back; with the copy back, it
/// finishes the job.
#[test]
#[ignore = "needs the lab: tests/run"]
fn restore_without_the_production_copy_says_the_venv_holds_the_dev_install() {
    let lab = Lab::get();
    let new = &lab.new;
    let dir = lab.checkout("git-osa-copy-gone");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &new.name]);
    run.wait_for(PINNED, Duration::from_secs(240));
    run.signal(libc::SIGINT);
    assert_eq!(
        run.finish(Duration::from_secs(120)),
        130,
        "{}",
        run.output()
    );
    let (dir_of_venvs, name) = lab.venv.rsplit_once('/').unwrap();
    let copy = format!("{dir_of_venvs}/.git-osa-prod-{name}");
    let aside = format!("{copy}.aside");
    lab.sh(new, &format!("mv '{copy}' '{aside}'"));

    let o = lab.run(&repo, &["restore"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("is gone and"), "{e}");
    assert!(e.contains("holds the dev install"), "{e}");
    assert!(e.contains("venv_rebuild=true"), "{e}");

    lab.sh(new, &format!("mv '{aside}' '{copy}'"));
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[new]);
}

/// Regression: a damaged session record made every command fail with a
/// bare serde message; `restore --all` aborted at the first, and dev code kept serving.
/// Restore puts production back from what can be read of it and from the container.
#[test]
#[ignore = "needs the lab: tests/run"]
fn restore_puts_production_back_from_a_damaged_record() {
    let lab = Lab::get();
    let target = &lab.new;
    let dir = lab.checkout("git-osa-damaged");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    run.wait_for(PINNED, Duration::from_secs(240));
    run.signal(libc::SIGINT);
    assert_eq!(
        run.finish(Duration::from_secs(120)),
        130,
        "{}",
        run.output()
    );
    // Cut in half, as a full disk or a hand edit leaves it.
    let record = "/var/lib/git-osa/keystone/session.json";
    lab.sh(
        target,
        &format!("head -c 200 {record} > {record}.cut && mv {record}.cut {record}"),
    );
    let (code, block, err) = lab.status_of(&repo, target);
    assert_eq!(code, Some(2), "{block}{err}");
    assert!(block.contains("record   DAMAGED"), "{block}");
    assert!(!block.contains("none (production)"), "{block}");
    assert!(
        err.contains(&format!("{record} in {target} is damaged")),
        "{err}"
    );

    let o = lab.run(&repo, &["restore", "--all"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("Restoring from what can be read"), "{e}");
    lab.assert_production_back(&before, &[target]);
}
