//! The production venv is kept as a snapshot of hard links (every file of the snapshot is
//! production's own file) and renamed back on restore. That is exact only if nothing
//! git-osa runs writes into an existing file in place: these stories prove it with the
//! content hash of every file, read before the session, of the snapshot once pip has
//! replaced production's files, and of the venv after restore.

use std::time::Duration;

use crate::harness::{Lab, PINNED, git};
use crate::review::{LIBRARY, keystone_checkout, library_checkout};

/// The version the library checkout is tagged with: none that production has.
const NEW_VERSION: &str = "99.0.0";

/// keystone's checkout needs an oslo.middleware production does not have; the library's
/// checkout at that version comes `--with` it. pip uninstalls production's oslo.middleware
/// and keystone (their files move out of the venv) and installs the checkout's, editable:
/// the snapshot still holds every production file with its content, and restore gives
/// the venv back file for file (list, modes, content hashes).
#[test]
#[ignore = "needs the lab: tests/run"]
fn a_dependency_at_another_version_replaces_production_s_files_and_restore_is_exact() {
    let lab = Lab::get();
    let target = &lab.new;
    let before = lab.production();
    let dir = tempfile::tempdir().unwrap();
    let user = keystone_checkout(dir.path());
    let lib = library_checkout(&lab, target, dir.path());
    git(&lib, &["tag", "-a", "-m", NEW_VERSION, NEW_VERSION]);
    let reqs = user.join("requirements.txt");
    let mut text = std::fs::read_to_string(&reqs).unwrap();
    text.push_str(&format!("{LIBRARY}>={NEW_VERSION}\n"));
    std::fs::write(&reqs, text).unwrap();
    git(
        &user,
        &["commit", "-q", "-am", "Need the new oslo.middleware"],
    );

    let mut run = lab.start(
        &user,
        &["--with", lib.to_str().unwrap(), "--container", &target.name],
    );
    run.wait_for(PINNED, Duration::from_secs(240));
    let out = run.output();
    assert!(
        out.contains("as a snapshot of hard links"),
        "the production venv was not linked:\n{out}"
    );
    // pip replaced production's oslo.middleware with the checkout's version.
    let freeze = lab.pip_freeze(target);
    assert!(
        freeze.contains(&format!("{LIBRARY}=={NEW_VERSION}"))
            || freeze.contains(&format!(
                "# Editable install with no version control ({LIBRARY}=={NEW_VERSION})"
            )),
        "{freeze}"
    );
    let site = lab.sh(
        target,
        &format!(
            "ls -d {}/lib/python3*/site-packages/oslo_middleware* {}/lib/python3*/site-packages/__editable__*oslo_middleware* 2>/dev/null | sed 's|.*/||'",
            lab.venv, lab.venv
        ),
    );
    assert!(
        !site.lines().any(|l| l == "oslo_middleware"),
        "production's oslo_middleware is still in the venv:\n{site}"
    );
    // Every production file, in the snapshot, as it was: pip wrote into none of them.
    let kept = format!(
        "{}/.git-osa-prod-{}",
        lab.venv.rsplit_once('/').unwrap().0,
        lab.venv.rsplit_once('/').unwrap().1
    );
    assert_eq!(
        lab.hashes(target, &kept),
        before.hashes(target),
        "a file of the snapshot changed while pip ran"
    );
    // A snapshot of links: the files pip left alone are one file in two folders; those it
    // replaced are the snapshot's alone. Its disk is that of its folders.
    let counts = lab.sh(
        target,
        &format!(
            "find {kept} -type f -links 1 | wc -l; find {kept} -type f -links +1 | wc -l; du -sk {} | cut -f1; du -sk {} {kept} | tail -1 | cut -f1",
            lab.venv, lab.venv
        ),
    );
    let n: Vec<u64> = counts
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let [alone, shared, venv_kib, snapshot_kib] = n[..] else {
        panic!("{counts}")
    };
    eprintln!(
        "disk: snapshot {snapshot_kib} KiB beside the dev venv's {venv_kib} KiB ({alone} files only in the snapshot, {shared} shared)"
    );
    assert!(alone > 0, "pip replaced no production file: {counts}");
    assert!(shared > alone, "the snapshot is not linked: {counts}");

    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
    let o = lab.run(&user, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The venv's file list, modes, owners, mtimes and content hashes, pip freeze: as before.
    lab.assert_production_back(&before, &[target]);
}
