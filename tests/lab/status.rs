//! What `git osa` tells about the lab before it changes anything: `status` of healthy
//! containers, and a stopped container named with what to do.

use std::process::Command;
use std::time::Duration;

use crate::harness::Lab;

#[test]
#[ignore = "needs the lab: tests/run"]
fn status_shows_both_keystone_containers_their_units_and_haproxy_servers() {
    let lab = Lab::get();
    let (old, new) = (&lab.old, &lab.new);
    let dir = lab.checkout("status-only");
    let repo = dir.path().join("keystone");
    let o = lab.run(&repo, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("project    openstack/keystone (service keystone)"),
        "{out}"
    );
    for node in [old, new] {
        let block = out
            .split("\n\n")
            .find(|b| b.starts_with(&node.name))
            .unwrap_or_else(|| panic!("no {node} in\n{out}"));
        assert!(
            block.contains(&format!("address  {}", node.address)),
            "{block}"
        );
        assert!(block.contains(&format!("host     {}", lab.host)), "{block}");
        assert!(block.contains("lxc      RUNNING"), "{block}");
        assert!(
            block.contains(&format!("unit     {:<28} active (running)", lab.unit)),
            "{block}"
        );
        assert!(
            block.contains(&format!("haproxy  {}/{node}  UP", lab.backend)),
            "{block}"
        );
        assert!(block.contains("dev      none (production)"), "{block}");
    }
    // Both containers answer through the HAProxy frontend.
    let mut backends = std::collections::BTreeSet::new();
    for _ in 0..8 {
        let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
        assert!(h.starts_with("HTTP/1.1 200"), "{h}");
        assert!(
            body.contains("\"id\": \"v3.14\"") && body.contains("\"status\": \"stable\""),
            "{body}"
        );
        if let Some(b) = h.lines().find_map(|l| {
            l.strip_prefix("x-lab-backend: ")
                .or_else(|| l.strip_prefix("X-Lab-Backend: "))
        }) {
            backends.insert(b.trim().to_string());
        }
    }
    assert_eq!(
        backends.into_iter().collect::<Vec<_>>(),
        [&old.name, &new.name]
            .map(String::from)
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_stopped_container_is_named_with_what_to_do_and_nothing_changes() {
    let lab = Lab::get();
    let old = &lab.old;
    let dir = lab.checkout("git-osa-never");
    let repo = dir.path().join("keystone");
    let st = Command::new("lxc-stop")
        .args(["-P", &lab.lxc_path, "-n", &old.name])
        .status()
        .unwrap();
    assert!(st.success());
    let restart = || {
        let _ = Command::new("lxc-start")
            .args(["-P", &lab.lxc_path, "-n", &old.name])
            .status();
    };
    let o = lab.run(&repo, &["status"]);
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let o2 = lab.run(&repo, &["--container", &old.name]);
    let e2 = String::from_utf8_lossy(&o2.stderr).into_owned();
    restart();
    assert_eq!(o.status.code(), Some(2), "{out}{e}");
    assert!(
        out.contains(&format!("{old}\n")) && out.contains("lxc      STOPPED"),
        "{out}"
    );
    assert!(
        e.contains(&format!(
            "container {old} is STOPPED: start it with `lxc-start -P {} -n {old}`",
            lab.lxc_path
        )),
        "{e}"
    );
    assert_eq!(o2.status.code(), Some(2), "{e2}");
    assert!(
        e2.contains(&format!("container {old} is STOPPED: nothing was changed")),
        "{e2}"
    );
    lab.wait("the restarted keystone", Duration::from_secs(120), || {
        lab.direct_v3(old).contains("v3.14")
    });
    lab.ensure_production();
}
