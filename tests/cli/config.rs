//! `git osa config` and the settings it shows: their precedence, git config read as git
//! reads it, and a value that cannot be read.

use crate::harness::{TWO_KEYSTONES, User, checkout, stderr, valid_json};

#[test]
fn a_flag_beats_the_environment_beats_git_config_beats_the_toml_file() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    let r = repo.path();
    let local = r.join(".git/config").display().to_string();
    let global = user.home().join(".gitconfig").display().to_string();
    let setting = |args: &[&str], env: &[(&str, &str)], key: &str| user.setting(r, args, env, key);

    assert_eq!(
        setting(&[], &[], "osa.inventory"),
        "default\tbuilt-in\tosa.inventory=/etc/openstack_deploy/openstack_inventory.json"
    );
    user.git(r, &["config", "--global", "osa.inventory", "/global.json"]);
    assert_eq!(
        setting(&[], &[], "osa.inventory"),
        format!("global\tfile:{global}\tosa.inventory=/global.json")
    );
    user.git(r, &["config", "osa.inventory", "/local.json"]);
    assert_eq!(
        setting(&[], &[], "osa.inventory"),
        format!("local\tfile:{local}\tosa.inventory=/local.json")
    );
    let env = [("GIT_OSA_INVENTORY", "/env.json")];
    assert_eq!(
        setting(&[], &env, "osa.inventory"),
        "env\tGIT_OSA_INVENTORY\tosa.inventory=/env.json"
    );
    assert_eq!(
        setting(&["--inventory", "/flag.json"], &env, "osa.inventory"),
        "flag\t--inventory\tosa.inventory=/flag.json"
    );

    // The public index: the TOML file under the rest.
    assert_eq!(
        setting(&[], &[], "osa.publicIndex"),
        "default\tbuilt-in\tosa.publicIndex=https://pypi.org/simple"
    );
    let toml = user.home().join(".config/git-osa/config.toml");
    std::fs::create_dir_all(toml.parent().unwrap()).unwrap();
    std::fs::write(&toml, "public_index = 'http://toml.example/simple'\n").unwrap();
    assert_eq!(
        setting(&[], &[], "osa.publicIndex"),
        format!(
            "toml\tfile:{}\tosa.publicIndex=http://toml.example/simple",
            toml.display()
        )
    );
    user.git(
        r,
        &["config", "osa.publicIndex", "http://git.example/simple"],
    );
    assert_eq!(
        setting(&[], &[], "osa.publicIndex"),
        format!("local\tfile:{local}\tosa.publicIndex=http://git.example/simple")
    );
    assert_eq!(
        setting(
            &[],
            &[("GIT_OSA_PUBLIC_INDEX", "http://env.example/simple")],
            "osa.publicIndex"
        ),
        "env\tGIT_OSA_PUBLIC_INDEX\tosa.publicIndex=http://env.example/simple"
    );

    // A boolean, as git reads them.
    user.git(r, &["config", "--global", "osa.restoreOnExit", "yes"]);
    assert_eq!(
        setting(&[], &[], "osa.restoreOnExit"),
        format!("global\tfile:{global}\tosa.restoreOnExit=true")
    );
    assert_eq!(
        setting(
            &[],
            &[("GIT_OSA_RESTORE_ON_EXIT", "false")],
            "osa.restoreOnExit"
        ),
        "env\tGIT_OSA_RESTORE_ON_EXIT\tosa.restoreOnExit=false"
    );
    // Detached runs as the default: git config, then the environment over it.
    assert_eq!(
        setting(&[], &[], "osa.detach"),
        "default\tbuilt-in\tosa.detach=false"
    );
    user.git(r, &["config", "--global", "osa.detach", "true"]);
    assert_eq!(
        setting(&[], &[], "osa.detach"),
        format!("global\tfile:{global}\tosa.detach=true")
    );
    assert_eq!(
        setting(&[], &[("GIT_OSA_DETACH", "0")], "osa.detach"),
        "env\tGIT_OSA_DETACH\tosa.detach=false"
    );
    assert_eq!(
        setting(&[], &[], "osa.dbSnapshot"),
        "default\tbuilt-in\tosa.dbSnapshot=false"
    );
    user.git(r, &["config", "osa.dbSnapshot", "on"]);
    assert_eq!(
        setting(&[], &[], "osa.dbSnapshot"),
        format!("local\tfile:{local}\tosa.dbSnapshot=true")
    );
    assert_eq!(
        setting(&[], &[("GIT_OSA_DB_SNAPSHOT", "0")], "osa.dbSnapshot"),
        "env\tGIT_OSA_DB_SNAPSHOT\tosa.dbSnapshot=false"
    );

    // The same as JSON, checked against the schema.
    let o = user.git_osa(r, &["config", "--json"], &env);
    let doc = valid_json(&o.stdout);
    let inventory = doc["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "osa.inventory")
        .unwrap();
    assert_eq!(
        inventory,
        &serde_json::json!({"key": "osa.inventory", "value": "/env.json", "scope": "env", "origin": "GIT_OSA_INVENTORY"})
    );
}

#[test]
fn git_config_is_read_as_git_reads_it_includes_worktrees_and_git_c() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    let r = repo.path();
    let home = user.home().display().to_string();

    // includeIf: the included file is the origin; its `~/` is expanded as for --type=path.
    let inc = user.home().join("work.inc");
    std::fs::write(&inc, "[osa]\n\tlxcPath = ~/lxc\n").unwrap();
    user.git(
        r,
        &[
            "config",
            "--global",
            &format!("includeIf.gitdir:{}/.path", r.display()),
            inc.to_str().unwrap(),
        ],
    );
    assert_eq!(
        user.setting(r, &[], &[], "osa.lxcPath"),
        format!("global\tfile:{}\tosa.lxcPath={home}/lxc", inc.display())
    );
    let other = checkout("openstack/keystone");
    assert_eq!(
        user.setting(other.path(), &[], &[], "osa.lxcPath"),
        "default\tbuilt-in\tosa.lxcPath="
    );

    // osa.service adds up across files; an empty value starts the list again.
    user.git(
        r,
        &[
            "config",
            "--global",
            "--add",
            "osa.service",
            "keystone-wsgi-public",
        ],
    );
    user.git(
        r,
        &["config", "--add", "osa.service", "keystone-wsgi-admin"],
    );
    let o = user.git(r, &["osa", "config"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let services: Vec<&str> = out.lines().filter(|l| l.contains("osa.service=")).collect();
    assert_eq!(
        services,
        [
            format!("global\tfile:{home}/.gitconfig\tosa.service=keystone-wsgi-public"),
            format!(
                "local\tfile:{}\tosa.service=keystone-wsgi-admin",
                r.join(".git/config").display()
            ),
        ],
        "{out}"
    );
    // `git -c` reaches `git osa` as git passes it on (GIT_CONFIG_PARAMETERS).
    let o = user.git(
        r,
        &[
            "-c",
            "osa.service=",
            "-c",
            "osa.service=u1",
            "-c",
            "osa.container=c-cli",
            "osa",
            "config",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("command\tcommand line:\tosa.container=c-cli\n"),
        "{out}"
    );
    let services: Vec<&str> = out.lines().filter(|l| l.contains("osa.service=")).collect();
    assert_eq!(
        services,
        ["command\tcommand line:\tosa.service=u1"],
        "{out}"
    );

    // A linked worktree reads the repository's config, and its own with --worktree.
    user.git(r, &["config", "osa.container", "c-local"]);
    let wt_parent = tempfile::tempdir().unwrap();
    let wt = wt_parent.path().join("wt");
    user.git(r, &["worktree", "add", "-q", wt.to_str().unwrap()]);
    let local = format!(
        "local\tfile:{}\tosa.container=c-local",
        r.join(".git/config").display()
    );
    assert_eq!(user.setting(&wt, &[], &[], "osa.container"), local);
    user.git(&wt, &["config", "extensions.worktreeConfig", "true"]);
    user.git(&wt, &["config", "--worktree", "osa.container", "c-wt"]);
    assert_eq!(
        user.setting(&wt, &[], &[], "osa.container"),
        format!(
            "worktree\tfile:{}\tosa.container=c-wt",
            r.join(".git/worktrees/wt/config.worktree").display()
        )
    );
    assert_eq!(user.setting(r, &[], &[], "osa.container"), local);
}

#[test]
fn git_config_osa_container_picks_the_container_without_a_prompt_or_a_flag() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    let r = repo.path();
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    // The deployment from git config too; an LXC path without containers, so the run
    // stops at its first look at the chosen one, naming it.
    user.git(r, &["config", "osa.inventory", inv.to_str().unwrap()]);
    user.git(
        r,
        &["config", "osa.lxcPath", elsewhere.path().to_str().unwrap()],
    );

    let o = user.git_osa(r, &["--dry-run"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the service runs in 2 containers"),
        "{}",
        stderr(&o)
    );

    user.git(
        r,
        &[
            "config",
            "osa.container",
            "aio1_keystone_container-6c0f3a1e",
        ],
    );
    let o = user.git_osa(r, &["--dry-run"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("container aio1_keystone_container-6c0f3a1e is MISSING: nothing was changed"),
        "{}",
        stderr(&o)
    );
    // The flag still wins.
    let o = user.git_osa(
        r,
        &[
            "run",
            "--dry-run",
            "--container",
            "aio1-keystone-container-b7d24e95",
        ],
        &[],
    );
    assert!(
        stderr(&o)
            .contains("container aio1-keystone-container-b7d24e95 is MISSING: nothing was changed"),
        "{}",
        stderr(&o)
    );
    // A name that is not one of them says where it came from.
    user.git(r, &["config", "osa.container", "nope"]);
    let o = user.git_osa(r, &["--dry-run"], &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        e.contains("nope is not one of keystone's containers"),
        "{e}"
    );
    assert!(
        e.contains(&format!(
            "hint: osa.container comes from git config (local, file:{})",
            r.join(".git/config").display()
        )),
        "{e}"
    );
    // An empty value unsets it: the choice is the user's again.
    user.git(r, &["config", "osa.container", ""]);
    let o = user.git_osa(r, &["--dry-run"], &[]);
    assert!(
        stderr(&o).contains("the service runs in 2 containers"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_git_config_value_that_is_not_a_boolean_names_its_file() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    user.git(repo.path(), &["config", "osa.restoreOnExit", "maybe"]);
    let o = user.git_osa(repo.path(), &["config"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!(
            "osa.restoreOnExit = \"maybe\" in file:{} is not a boolean",
            repo.path().join(".git/config").display()
        )),
        "{}",
        stderr(&o)
    );
}

/// Regression: git config was read through libgit2, which knows neither
/// `GIT_CONFIG_COUNT` (git 2.31) nor `GIT_CONFIG_GLOBAL` and `GIT_CONFIG_SYSTEM` (2.32):
/// git saw the value, `git osa config` the default.
#[test]
fn git_config_from_the_environment_counts_as_git_counts_it() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    let r = repo.path();
    let count = [
        ("GIT_CONFIG_COUNT", "2"),
        ("GIT_CONFIG_KEY_0", "osa.container"),
        ("GIT_CONFIG_VALUE_0", "from-count"),
        ("GIT_CONFIG_KEY_1", "osa.restoreOnExit"),
        ("GIT_CONFIG_VALUE_1", "yes"),
    ];
    assert_eq!(
        user.setting(r, &[], &count, "osa.container"),
        "command\tcommand line:\tosa.container=from-count"
    );
    assert_eq!(
        user.setting(r, &[], &count, "osa.restoreOnExit"),
        "command\tcommand line:\tosa.restoreOnExit=true"
    );

    let files = tempfile::tempdir().unwrap();
    let global = files.path().join("global");
    std::fs::write(&global, "[osa]\n\tcontainer = from-global\n").unwrap();
    let global_env = [("GIT_CONFIG_GLOBAL", global.to_str().unwrap())];
    assert_eq!(
        user.setting(r, &[], &global_env, "osa.container"),
        format!(
            "global\tfile:{}\tosa.container=from-global",
            global.display()
        )
    );
    let system = files.path().join("system");
    std::fs::write(&system, "[osa]\n\tlxcPath = /from/system\n").unwrap();
    let system_env = [
        ("GIT_CONFIG_SYSTEM", system.to_str().unwrap()),
        ("GIT_CONFIG_NOSYSTEM", "0"),
    ];
    assert_eq!(
        user.setting(r, &[], &system_env, "osa.lxcPath"),
        format!(
            "system\tfile:{}\tosa.lxcPath=/from/system",
            system.display()
        )
    );
    // GIT_CONFIG_NOSYSTEM still wins over GIT_CONFIG_SYSTEM, as for git.
    assert_eq!(
        user.setting(r, &[], &system_env[..1], "osa.lxcPath"),
        "default\tbuilt-in\tosa.lxcPath="
    );
}

/// Regression: `osa.gerritUrl` and `osa.checkouts`, which `git osa review` reads, were
/// missing from `git osa config`.
#[test]
fn config_shows_the_keys_review_reads() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    let r = repo.path();
    assert_eq!(
        user.setting(r, &[], &[], "osa.gerritUrl"),
        "default\tbuilt-in\tosa.gerritUrl="
    );
    assert_eq!(
        user.setting(r, &[], &[], "osa.checkouts"),
        "default\tbuilt-in\tosa.checkouts="
    );
    user.git(r, &["config", "osa.gerritUrl", "https://review.example/"]);
    user.git(r, &["config", "--global", "osa.checkouts", "~/src"]);
    assert_eq!(
        user.setting(r, &[], &[], "osa.gerritUrl"),
        format!(
            "local\tfile:{}\tosa.gerritUrl=https://review.example/",
            r.join(".git/config").display()
        )
    );
    assert_eq!(
        user.setting(r, &[], &[], "osa.checkouts"),
        format!(
            "global\tfile:{0}/.gitconfig\tosa.checkouts={0}/src",
            user.home().display()
        )
    );
}

/// OSA's own scripts find the inventory in OSA_CONFIG_DIR (default /etc/openstack_deploy);
/// so does git-osa, under every setting of its own.
#[test]
fn osa_config_dir_moves_the_inventorys_default() {
    let user = User::new();
    let repo = checkout("openstack/keystone");
    let r = repo.path();
    let osa = tempfile::tempdir().unwrap();
    let inv = osa.path().join("openstack_inventory.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let dir = [("OSA_CONFIG_DIR", osa.path().to_str().unwrap())];
    assert_eq!(
        user.setting(r, &[], &dir, "osa.inventory"),
        format!("env\tOSA_CONFIG_DIR\tosa.inventory={}", inv.display())
    );
    // It is the inventory a command reads.
    let o = user.git_osa(r, &["status"], &dir);
    assert!(
        stderr(&o).contains("container aio1-keystone-container-b7d24e95 does not exist"),
        "{}",
        stderr(&o)
    );
    // git-osa's own settings come first.
    user.git(r, &["config", "osa.inventory", "/from/git.json"]);
    assert_eq!(
        user.setting(r, &[], &dir, "osa.inventory"),
        format!(
            "local\tfile:{}\tosa.inventory=/from/git.json",
            r.join(".git/config").display()
        )
    );
}
