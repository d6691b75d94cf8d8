//! Exit statuses a script or a git hook can act on: a command that failed is 1, whatever
//! hint comes with it (the wrong directory is 2, busy 75 and Ctrl-C 130: `cli`, `cycle`).

use crate::harness::{Lab, git};

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_db_sync_that_fails_exits_1_with_the_dev_mode_hint() {
    let lab = Lab::get();
    let new = &lab.new;
    let dir = lab.checkout("git-osa-broken-migration");
    let repo = dir.path().join("keystone");
    let env_py = repo.join("keystone/common/sql/migrations/env.py");
    let mut text = std::fs::read_to_string(&env_py).unwrap();
    text.push_str("\nraise RuntimeError('a broken migration, on purpose')\n");
    std::fs::write(&env_py, text).unwrap();
    git(&repo, &["commit", "-q", "-am", "Break the migrations"]);
    let freeze_before = lab.pip_freeze(new);

    let o = lab.run(&repo, &["--container", &new.name]);
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("keystone-manage db_sync"), "{e}");
    assert!(e.contains("a broken migration, on purpose"), "{e}");
    assert!(
        e.contains(&format!(
            "hint: {new} is in dev mode as far as the cycle got"
        )),
        "{e}"
    );
    // The run stopped at the db sync: nothing of the dev process started.
    assert!(!e.contains("running keystone-wsgi-public"), "{e}");
    assert_ne!(lab.unit_state(new, &lab.scope), "active");

    let r = lab.run(&repo, &["restore"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(lab.unit_state(new, &lab.unit), "active");
    assert_eq!(lab.pip_freeze(new), freeze_before);
    lab.wait_up(new);
    assert!(lab.direct_v3(new).contains("\"status\": \"stable\""));
}
