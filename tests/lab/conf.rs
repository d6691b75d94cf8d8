//! Development configuration with an undo, on keystone: a hand edit in the container
//! during a session is listed by `status` and `conf diff` and undone by restore, which
//! says so; an option keystone does not know, or a file it does not have, is refused and
//! changes nothing.

use crate::harness::Lab;

const CONF: &str = "/etc/keystone/keystone.conf";

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_hand_edit_to_keystone_conf_is_listed_by_status_and_undone_by_restore() {
    let lab = Lab::get();
    let production = lab.production();
    let dir = lab.checkout("git-osa-conf");
    let repo = dir.path().join("keystone");
    let target = &lab.new;
    let before = lab.sh(
        target,
        &format!("stat -c '%U:%G %a' {CONF}; sha256sum {CONF}"),
    );
    let o = lab.run(&repo, &["run", "--detach", "--container", &target.name]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // By hand, in the container, as the article's developer would.
    let o = lab.attach(
        target,
        &["sed", "-i", "s/^debug = False$/debug = True/", CONF],
    );
    assert!(o.status.success(), "{o:?}");
    let (_, block, _) = lab.status_of(&repo, target);
    assert!(
        block.contains(&format!("  config   {CONF}  changed by hand\n  config     [DEFAULT] debug: \"False\" -> \"True\"")),
        "{block}"
    );
    let o = lab.run(&repo, &["conf", "diff", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["kind"], "conf-diff");
    assert_eq!(doc["files"][0]["path"], CONF);
    assert_eq!(doc["files"][0]["entries"][0]["by_git_osa"], false);

    // What keystone does not have is refused, and changes nothing.
    let o = lab.run(
        &repo,
        &["conf", "set", "keystone.conf", "DEFAULT.debgu", "True"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("neither /etc/keystone/keystone.conf nor the service's code knows an option [DEFAULT] debgu: nothing was changed"),
        "{err}"
    );
    assert!(err.contains("did you mean DEFAULT.debug?"), "{err}");
    let o = lab.run(&repo, &["conf", "set", "nosuch.conf", "DEFAULT.x", "1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{target} has no /etc/keystone/nosuch.conf: nothing was changed"
        )),
        "{err}"
    );
    assert_eq!(
        lab.sh(target, "ls /etc/keystone/keystone.conf.d"),
        "99-git-osa-dev.conf\n",
        "no drop-in of git osa conf's"
    );

    let o = lab.run(&repo, &["restore"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("restore puts back the configuration the session found:"),
        "{err}"
    );
    assert!(err.contains(&format!("{CONF}  changed by hand")), "{err}");
    assert_eq!(
        lab.sh(
            target,
            &format!("stat -c '%U:%G %a' {CONF}; sha256sum {CONF}")
        ),
        before,
        "keystone.conf as production had it, owner and mode too"
    );
    lab.assert_production_back(&production, &[target]);
}
