//! Several git-osa at once: two users on one container, a restore racing a run, and a
//! restore where there is nothing to restore, which must leave production untouched.

use std::time::Duration;

use crate::harness::{Lab, PINNED};
use crate::running::Running;

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_second_user_is_refused_naming_the_first_and_taking_over_a_session_asks_and_warns() {
    let lab = Lab::get();
    let target = &lab.new;
    let dir = lab.checkout("git-osa-two-users");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let as_user = |user: &str| {
        let mut cmd = lab.git_osa(&repo);
        cmd.env("SUDO_USER", user)
            .args(["--container", &target.name]);
        cmd
    };
    let mut alice = Running::spawn(as_user("alice"));
    alice.wait_for(PINNED, Duration::from_secs(240));

    let o = as_user("bob").output().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(75), "{e}");
    assert!(
        e.contains(&format!("{target} is in use by another git-osa: alice@")),
        "{e}"
    );
    assert!(e.contains("running `git osa run`"), "{e}");
    // Refused: alice's run goes on, untouched.
    assert!(
        lab.http(&format!("{}/v3", lab.frontend))
            .1
            .contains("git-osa-two-users")
    );

    alice.signal(libc::SIGINT);
    assert_eq!(alice.finish(Duration::from_secs(60)), 130);
    // alice's session stays: bob's run does not take it over unasked...
    let o = as_user("bob").output().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!("{target} is in a dev session alice@"))
            && e.contains("nothing was changed")
            && e.contains("--force"),
        "{e}"
    );
    // ...and taking it over with --force, is told so.
    let mut cmd = as_user("bob");
    cmd.arg("--force");
    let mut bob = Running::spawn(cmd);
    bob.wait_for(PINNED, Duration::from_secs(240));
    let out = bob.output();
    assert!(
        out.contains(&format!(
            "git-osa: warning: {target} is in a dev session alice@"
        )) && out.contains("this run replaces its code"),
        "{out}"
    );
    bob.signal(libc::SIGINT);
    assert_eq!(bob.finish(Duration::from_secs(60)), 130);
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[target]);
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn restore_while_a_run_is_in_its_steps_is_busy_and_the_run_goes_on() {
    let lab = Lab::get();
    let target = &lab.old;
    let dir = lab.checkout("git-osa-restore-races");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    // The session exists (it is saved before the first step) and pip runs.
    lab.wait_for_pip(&mut run, target);
    let o = lab.run(&repo, &["restore"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(75), "{e}");
    assert!(
        e.contains(&format!("{target} is in use by another git-osa")),
        "{e}"
    );
    run.wait_for(PINNED, Duration::from_secs(240));
    lab.wait("the run's /v3", Duration::from_secs(30), || {
        lab.http(&format!("{}/v3", lab.frontend))
            .1
            .contains("git-osa-restore-races")
    });
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[target]);
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn restore_without_a_session_leaves_nothing_in_production_containers() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-nothing");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    for args in [
        vec!["restore"],
        vec!["restore", "--container", &lab.old.name],
        vec!["restore", "--all"],
    ] {
        let o = lab.run(&repo, &args);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{args:?}: {out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.contains("nothing to restore"), "{args:?}: {out}");
    }
    lab.assert_untouched(&before);
}
