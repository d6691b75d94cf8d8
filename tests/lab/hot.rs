//! Hot patching (`git osa run --detach --hot-patch`): a sync of an edit to a function's
//! body is applied in keystone's running uWSGI workers (the same processes answer the new
//! code, every one of them); an edit of module-level code is refused with its reason and
//! the workers reload; the new workers patch again; stop and restore give production back
//! exactly.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{Lab, Node, PINNED, edit};

const SERVICE: &str = "git-osa-dev-keystone-wsgi-public.service";
const DISCOVERY: &str = "keystone/api/discovery.py";

/// The pids of the uWSGI master's workers, sorted.
fn workers(lab: &Lab, node: &Node) -> Vec<String> {
    let out = lab.sh(
        node,
        &format!("ps -o pid= --ppid \"$(systemctl show -p MainPID --value {SERVICE})\""),
    );
    let mut pids: Vec<String> = out.split_whitespace().map(String::from).collect();
    pids.sort();
    pids
}

/// `git osa sync` after `marker` is saved; its stderr, and how long until it was served.
fn sync(lab: &Lab, repo: &Path, target: &Node, marker: &str) -> (String, Duration) {
    let t = Instant::now();
    let o = lab.run(repo, &["sync"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    while !lab.http(&format!("{}/v3", lab.frontend)).1.contains(marker) {
        if t.elapsed() > Duration::from_secs(30) {
            let journal = lab.sh(target, &format!("journalctl -u {SERVICE} -o cat --no-pager | grep -v '^.pid' | tail -n 30; for f in /var/lib/git-osa/keystone/hot/*; do echo \"$f: $(cat \"$f\")\"; done; ls -la --time-style=full-iso /var/lib/git-osa/keystone/src/keystone/api/discovery.py /var/lib/git-osa/keystone/src/keystone/api/__pycache__/discovery*"));
            panic!("{marker} not served 30 s after the sync:\n{err}\n{journal}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (err, t.elapsed())
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_function_body_is_patched_into_the_running_workers_and_anything_else_reloads_them() {
    let lab = Lab::get();
    let target = &lab.new;
    let dir = lab.checkout("git-osa-hot-1");
    let repo = dir.path().join("keystone");
    let production = lab.production();

    let o = lab.run(
        &repo,
        &[
            "run",
            "--detach",
            "--hot-patch",
            "--container",
            &target.name,
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success() && err.contains(PINNED), "{err}");
    lab.serves(target, "git-osa-hot-1", 10);
    let first = workers(&lab, target);
    assert_eq!(first.len(), 2, "keystone's two uWSGI workers: {first:?}");
    let (code, block, err) = lab.status_of(&repo, target);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        block.contains(", hot patching: a sync of function bodies is patched into the workers"),
        "{block}"
    );
    let json = lab.run(&repo, &["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap_or_default();
    let session = doc["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == target.name.as_str()))
        .map(|c| c["session"].clone())
        .unwrap_or_default();
    assert_eq!(session["hot_patch"], true, "{doc}");

    // A function's body: patched in place, in every worker, none reloaded.
    edit(&repo, "git-osa-hot-2");
    let (err, patched_in) = sync(&lab, &repo, target, "git-osa-hot-2");
    assert!(
        err.contains(&format!(
            "hot-patched keystone-wsgi-public's 2 workers in {}: the code of ",
            target.name
        )) && err.contains("replaced in place, nothing reloaded"),
        "{err}"
    );
    assert!(!err.contains("reloading"), "{err}");
    lab.serves(target, "git-osa-hot-2", 20);
    assert_eq!(workers(&lab, target), first, "the same workers serve");

    // Module-level code: refused with its reason, and the workers reload.
    edit(&repo, "git-osa-hot-3");
    let file = repo.join(DISCOVERY);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\nGIT_OSA_PROBE = 1\n")).unwrap();
    let (err, reloaded_in) = sync(&lab, &repo, target, "git-osa-hot-3");
    assert!(
        err.contains(&format!(
            "warning: not hot-patched: {DISCOVERY}: more than function bodies changed, at line "
        )) && err.contains("reloading the workers instead"),
        "{err}"
    );
    assert!(
        err.contains("reloading keystone-wsgi-public's uWSGI workers"),
        "{err}"
    );
    lab.serves(target, "git-osa-hot-3", 20);
    let second = workers(&lab, target);
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(
        second.iter().all(|p| !first.contains(p)),
        "new workers: {first:?} then {second:?}"
    );

    // The new workers run the agent too.
    edit(&repo, "git-osa-hot-4");
    let (err, _) = sync(&lab, &repo, target, "git-osa-hot-4");
    assert!(err.contains("replaced in place, nothing reloaded"), "{err}");
    lab.serves(target, "git-osa-hot-4", 20);
    assert_eq!(workers(&lab, target), second);

    eprintln!(
        "timing: a hot-patched sync to served {patched_in:?}; a sync that reloads the workers to served {reloaded_in:?}"
    );
    let o = lab.run(&repo, &["stop"]);
    assert!(o.status.success(), "{o:?}");
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&production, &[target]);
}
