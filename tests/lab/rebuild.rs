//! `git osa rebuild`: a keystone container whose venv was broken by hand is destroyed and
//! made again by the deployment's own command (the lab's `openstack-ansible`, which
//! answers OSA's playbooks with the lab's provisioning), and ends in production, as
//! `status` says.

use std::time::{Duration, Instant};

use crate::harness::{Lab, var};

#[test]
#[ignore = "needs the lab: tests/run"]
fn rebuild_brings_a_container_with_a_venv_broken_by_hand_back_to_production() {
    let lab = Lab::get();
    let production = lab.production();
    let dir = lab.checkout("git-osa-rebuild");
    let repo = dir.path().join("keystone");
    let target = &lab.new;
    let freeze = lab.pip_freeze(target);
    let path = format!(
        "{}:{}",
        var("GIT_OSA_LAB_BIN"),
        std::env::var("PATH").unwrap()
    );
    let rebuild = |args: &[&str]| {
        lab.git_osa(&repo)
            .env("PATH", &path)
            .arg("rebuild")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };

    // What it would run, changing nothing.
    let o = rebuild(&["--container", &target.name, "--dry-run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{o:?}");
    assert!(
        out.contains(&format!(
            "on the deploy host: openstack-ansible openstack.osa.containers_lxc_destroy --limit localhost,{target} -e force_containers_destroy=true -e force_containers_data_destroy=false"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "openstack.osa.keystone --limit localhost,{target}"
        )),
        "{out}"
    );

    // Broken by hand: keystone's own package gone from the venv, the unit restarted.
    lab.sh(
        target,
        &format!(
            "rm -rf {}/lib/python3*/site-packages/keystone; systemctl restart {}",
            lab.venv, lab.unit
        ),
    );
    lab.wait(
        "keystone to fail in the broken container",
        Duration::from_secs(60),
        || !lab.direct_v3(target).contains("\"status\": \"stable\""),
    );

    let start = Instant::now();
    let o = rebuild(&["--container", &target.name, "--yes"]);
    let took = start.elapsed();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{out}\n{err}");
    // The deployment's command's own output, streamed.
    assert!(out.contains("PLAY [Destroy lxc containers]"), "{out}");
    assert!(out.contains("PLAY [Install keystone]"), "{out}");
    // Then the new container's status: production.
    assert!(out.contains(&format!("{target}\n")), "{out}");
    assert!(
        out.contains(&format!("  unit     {:<28} active (running)", lab.unit)),
        "{out}"
    );
    assert!(out.contains("  dev      none (production)"), "{out}");
    eprintln!("timing: git osa rebuild --yes took {took:?}");
    assert_eq!(lab.pip_freeze(target), freeze, "the venv as production's");
    lab.wait_up(target);
    assert!(lab.direct_v3(target).contains("\"status\": \"stable\""));
    let (code, block, _) = lab.status_of(&repo, target);
    assert_eq!(code, Some(0), "{block}");
    lab.assert_production_rebuilt(&production, target);
}
