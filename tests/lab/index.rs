//! A checkout that needs a package the deployment's repo server lacks.

use std::time::Duration;

use crate::harness::{Lab, PINNED, git, var};

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_requirement_only_the_public_index_has_needs_the_flag() {
    let lab = Lab::get();
    let old = &lab.old;
    let dir = lab.checkout("git-osa-dev");
    let repo = dir.path().join("keystone");
    let pkg = var("GIT_OSA_LAB_PUBLIC_ONLY");
    let index = var("GIT_OSA_LAB_PUBLIC_INDEX");
    let freeze_before = lab.pip_freeze(old);
    let mut reqs = std::fs::read_to_string(repo.join("requirements.txt")).unwrap();
    reqs.push_str(&format!("{pkg}\n"));
    std::fs::write(repo.join("requirements.txt"), reqs).unwrap();
    git(
        &repo,
        &[
            "commit",
            "-q",
            "-am",
            "Need a package the repo server lacks",
        ],
    );

    let o = lab.run(&repo, &["--container", &old.name]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!(
            "the checkout needs {pkg}, which the deployment's repo server does not have"
        )),
        "{e}"
    );
    assert!(e.contains("--allow-public-index URL"), "{e}");
    assert!(e.contains("git osa restore"), "{e}");

    let mut run = lab.start(
        &repo,
        &["--container", &old.name, "--allow-public-index", &index],
    );
    run.wait_for(PINNED, Duration::from_secs(240));
    assert!(
        lab.pip_freeze(old)
            .to_lowercase()
            .contains(&pkg.to_lowercase())
    );
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130);
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.pip_freeze(old), freeze_before);
}
