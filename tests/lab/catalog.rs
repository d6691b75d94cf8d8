//! The catalog against what a container really has: OSA creates many units only when a
//! feature is on, so a run swaps those the container has and says which it leaves alone.

use std::time::Duration;

use crate::harness::{Lab, PINNED};

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_unit_the_catalog_lists_but_the_container_lacks_is_left_alone_and_said() {
    let lab = Lab::get();
    let new = &lab.new;
    let dir = lab.checkout("git-osa-partial");
    let repo = dir.path().join("keystone");
    // keystone-wsgi-admin: a unit older OSA releases had, and this container has not.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[[patch]]\nname = \"keystone\"\n\n[[patch.unit]]\nname = \"keystone-wsgi-admin\"\n\
         groups = [\"keystone_all\"]\nruns = \"uwsgi\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let freeze_before = lab.pip_freeze(new);
    let mut run = lab.start(
        &repo,
        &[
            "--config",
            config,
            "--container",
            &new.name,
            "--restore-on-exit",
        ],
    );
    run.wait_for(PINNED, Duration::from_secs(240));
    let out = run.output();
    assert!(
        out.contains(&format!("keystone-wsgi-admin is left alone: not on {new}")),
        "{out}"
    );
    assert!(lab.direct_v3(new).contains("git-osa-partial"), "{out}");
    run.signal(libc::SIGINT);
    assert_eq!(
        run.finish(Duration::from_secs(120)),
        130,
        "{}",
        run.output()
    );
    assert_eq!(lab.unit_state(new, &lab.unit), "active");
    assert_eq!(lab.pip_freeze(new), freeze_before);
    lab.wait_up(new);

    // Named with --service, a unit the container lacks is refused, nothing changed.
    let before = lab.snapshot(new);
    let o = lab.run(
        &repo,
        &[
            "--config",
            config,
            "--container",
            &new.name,
            "--service",
            "keystone-wsgi-admin",
        ],
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!("{new} has no unit keystone-wsgi-admin")),
        "{e}"
    );
    assert_eq!(
        lab.snapshot(new),
        before,
        "a refused run changed the container"
    );
}

/// keystone as os_keystone deploys it today: Apache on the container's `:5000` proxying to
/// the `keystone-wsgi-public` uWSGI socket on 127.0.0.1:35358. A run swaps the uWSGI unit
/// and leaves Apache running, the same process; the dev code answers through it.
#[test]
#[ignore = "needs the lab: tests/run"]
fn keystone_behind_apache_runs_the_checkout_and_apache_stays_as_it_was() {
    let lab = Lab::get();
    let new = &lab.new;
    let listening = lab.sh(new, "ss -Hltnp");
    assert!(
        listening
            .lines()
            .any(|l| l.contains(&format!("{}:5000", new.address)) && l.contains("apache2")),
        "Apache on {}:5000 in {new}:\n{listening}",
        new.address
    );
    assert!(
        listening
            .lines()
            .any(|l| l.contains("127.0.0.1:35358") && l.contains("uwsgi")),
        "uWSGI on 127.0.0.1:35358 in {new}:\n{listening}"
    );
    let apache = lab.sh(new, "systemctl show -p MainPID apache2");
    let dir = lab.checkout("git-osa-apache");
    let repo = dir.path().join("keystone");
    let mut run = lab.start(&repo, &["--container", &new.name, "--restore-on-exit"]);
    run.wait_for(PINNED, Duration::from_secs(240));
    let (head, body) = lab.http(&format!("{}/v3", lab.frontend));
    assert!(body.contains("git-osa-apache"), "{head}\n{body}");
    assert!(
        crate::harness::header(&head, "server").is_some_and(|s| s.starts_with("Apache")),
        "the answer came through Apache: {head}"
    );
    assert_eq!(
        lab.sh(new, "systemctl show -p MainPID apache2"),
        apache,
        "Apache was restarted"
    );
    let out = run.output();
    assert!(!out.contains("stop production apache2"), "{out}");
    run.signal(libc::SIGINT);
    assert_eq!(
        run.finish(Duration::from_secs(120)),
        130,
        "{}",
        run.output()
    );
    assert_eq!(lab.unit_state(new, &lab.unit), "active");
    assert_eq!(lab.sh(new, "systemctl show -p MainPID apache2"), apache);
    lab.wait_up(new);
}
