//! `git osa` / `git osa run` refusing what it cannot do: no container chosen, options in
//! the wrong place, a JSON plan without --dry-run; the working tree stays as it was.

use crate::harness::{TWO_KEYSTONES, checkout, git_osa, in_dir, stderr};

#[test]
fn several_containers_without_a_terminal_lists_them_and_the_flag() {
    let repo = checkout("openstack/keystone");
    let inv = repo.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let o = git_osa(repo.path(), &["--inventory", inv.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("the service runs in 2 containers: aio1-keystone-container-b7d24e95, aio1_keystone_container-6c0f3a1e"),
        "{e}"
    );
    assert!(e.contains("--container NAME"), "{e}");
    let o = git_osa(
        repo.path(),
        &[
            "run",
            "--inventory",
            inv.to_str().unwrap(),
            "--container",
            "nope",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("nope is not one of keystone's containers"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_working_tree_is_untouched_by_failed_runs() {
    let repo = checkout("openstack/keystone");
    std::fs::write(repo.path().join("local.py"), "uncommitted = 1\n").unwrap();
    let before = in_dir("git", repo.path())
        .args(["status", "--porcelain"])
        .output()
        .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let o = git_osa(repo.path(), &["--inventory", inv.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    let after = in_dir("git", repo.path())
        .args(["status", "--porcelain"])
        .output()
        .unwrap();
    assert_eq!(before.stdout, after.stdout);
}

/// `git osa --container X` is `git osa run --container X`, but a run option before
/// another subcommand would be ignored by it: `git osa --dry-run restore` must not restore.
#[test]
fn run_options_before_another_subcommand_are_refused() {
    let repo = checkout("openstack/keystone");
    for (args, option, sub) in [
        (&["--dry-run", "restore"][..], "'--dry-run'", "'restore'"),
        (
            &["--container", "c1", "status"],
            "'--container <NAME>'",
            "'status'",
        ),
        (&["--service", "u", "run"], "'--service <UNIT>'", "'run'"),
    ] {
        let o = git_osa(repo.path(), args, &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(
            e.contains(&format!(
                "{option} is an option of `git osa run`: it cannot come before the subcommand {sub}"
            )),
            "{args:?}: {e}"
        );
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn json_plans_need_dry_run() {
    let repo = checkout("openstack/keystone");
    for args in [&["--json"][..], &["run", "--json"], &["restore", "--json"]] {
        let o = git_osa(repo.path(), args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("--dry-run"), "{args:?}: {}", stderr(&o));
    }
}

/// `-n` is `--dry-run`, as for git-review (`git review -n`) and git (`git clean -n`).
#[test]
fn dash_n_is_dry_run_as_in_git_review() {
    use clap::Parser;
    use git_osa::cli::{Cli, Command};
    let dry = |args: &[&str]| {
        let cli = Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        match cli.command {
            Some(Command::Review(r)) => r.run.dry_run,
            Some(Command::Run(r)) => r.dry_run,
            Some(Command::Restore(r)) => r.dry_run,
            Some(Command::Sync(s)) => s.dry_run,
            None => cli.run.dry_run,
            _ => panic!("{args:?}"),
        }
    };
    for args in [
        &["git-osa", "review", "-n", "12345"][..],
        &["git-osa", "-n"],
        &["git-osa", "run", "-n"],
        &["git-osa", "restore", "-n"],
        &["git-osa", "sync", "-n"],
    ] {
        assert!(dry(args), "{args:?}");
    }
    assert!(!dry(&["git-osa", "review", "12345"]));
}
