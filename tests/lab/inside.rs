//! The service's environment from the checkout: `git osa exec` runs a command as keystone
//! in the synced tree with the venv active, `git osa shell` opens one at the terminal,
//! `git osa test` syncs and runs keystone's own unit tests in the container, in a venv
//! layered on the service's, and the service's venv is as before.

use std::time::{Duration, Instant};

use crate::harness::{Lab, git, var};
use crate::pty::Pty;

const TEST_FILE: &str = "keystone/tests/unit/test_exception.py";

#[test]
#[ignore = "needs the lab: tests/run"]
fn exec_shell_and_test_run_in_the_services_environment_on_the_synced_tree() {
    let lab = Lab::get();
    let production = lab.production();
    let dir = lab.checkout("git-osa-inside");
    let repo = dir.path().join("keystone");
    let target = &lab.new;

    // Without a session: production's code, in the container named.
    let o = lab.run(
        &repo,
        &[
            "exec",
            "--container",
            &target.name,
            "--",
            "python",
            "-c",
            "import keystone; print(keystone.__file__)",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        out.trim(),
        format!(
            "{}/lib/python3.11/site-packages/keystone/__init__.py",
            lab.venv
        ),
        "production's keystone"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("on production's code (no dev session)"),
        "{o:?}"
    );

    let o = lab.run(&repo, &["run", "--detach", "--container", &target.name]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let freeze = lab.pip_freeze(target);

    // The synced tree, as keystone, the venv active, the exit status passed through.
    let o = lab.run(
        &repo,
        &[
            "exec",
            "--",
            "python",
            "-c",
            "import keystone; print(keystone.__file__)",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "/var/lib/git-osa/keystone/src/keystone/__init__.py\n"
    );
    let o = lab.run(
        &repo,
        &[
            "exec",
            "--",
            "sh",
            "-c",
            r#"echo "$(id -un) $(pwd) $VIRTUAL_ENV $(command -v keystone-manage)"; exit 3"#,
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!(
            "keystone /var/lib/git-osa/keystone/src {v} {v}/bin/keystone-manage",
            v = lab.venv
        )
    );

    // A shell at the terminal.
    let mut shell = lab.git_osa(&repo);
    shell.arg("shell");
    let mut pty = Pty::spawn(shell);
    pty.wait_for("(git-osa keystone) keystone@", Duration::from_secs(60));
    pty.send(b"echo in=$PWD; exit 7\r");
    let (status, out) = pty.finish(Duration::from_secs(30));
    assert_eq!(status.code(), Some(7), "{out}");
    assert!(out.contains("in=/var/lib/git-osa/keystone/src"), "{out}");

    // The unit tests: a subset that passes, then one the checkout adds that fails. Their
    // requirements come from the public index, as on a deployment whose repo server
    // builds wheels for what it deploys only.
    let index = var("GIT_OSA_LAB_PUBLIC_INDEX");
    let start = Instant::now();
    let o = lab.run(
        &repo,
        &[
            "test",
            "--allow-public-index",
            &index,
            "keystone.tests.unit.test_exception",
        ],
    );
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("Passed: "), "{out}");
    assert!(err.contains("a venv layered on"), "{err}");
    eprintln!(
        "timing: the first `git osa test` took {:?}",
        start.elapsed()
    );

    let path = repo.join(TEST_FILE);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(
        "\n\nclass GitOsaProbe(unit.BaseTestCase):\n    def test_fails_in_the_container(self):\n        self.assertEqual('checkout', 'production')\n",
    );
    std::fs::write(&path, text).unwrap();
    git(&repo, &["commit", "-q", "-am", "A test that fails"]);
    let start = Instant::now();
    let o = lab.run(
        &repo,
        &[
            "test",
            "--allow-public-index",
            &index,
            "keystone.tests.unit.test_exception.GitOsaProbe",
        ],
    );
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("test_fails_in_the_container"), "{out}");
    assert!(out.contains("Failed: 1"), "{out}");
    assert!(
        err.contains("is up to date"),
        "the test venv is kept: {err}"
    );
    eprintln!(
        "timing: the second `git osa test` took {:?}",
        start.elapsed()
    );
    assert_eq!(
        lab.pip_freeze(target),
        freeze,
        "the service's venv is as it was"
    );

    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&production, &[target]);
}
