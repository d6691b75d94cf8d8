//! The binary's answers to bad input, with real git repositories and no containers:
//! each names the problem, says what to do, exits non-zero and changes nothing.

use std::path::Path;
use std::process::{Command, Output};

/// A command that runs git (or git-osa, which asks git for its colours) in `dir` only.
///
/// Regression: run from `git rebase --exec` (or a hook), the tests inherited its GIT_DIR;
/// `git init` and `git commit` in a temp dir then wrote to the repository under test,
/// commits and config alike.
fn in_dir(program: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_PREFIX",
        "GIT_CONFIG_PARAMETERS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn git(dir: &Path, args: &[&str]) {
    let st = in_dir("git", dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?}");
}

/// A checkout whose .gitreview names `project`.
fn checkout(project: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "master"]);
    std::fs::write(
        dir.path().join(".gitreview"),
        format!("[gerrit]\nhost=review.opendev.org\nport=29418\nproject={project}.git\n"),
    )
    .unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "init"]);
    dir
}

/// Runs git-osa in `dir`, with none of the user's settings: no GIT_OSA_* variables, no
/// git config but the repository's own (a `HOME` of nothing, no system file), no TOML
/// config file; `env` adds some.
fn git_osa(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = in_dir(env!("CARGO_BIN_EXE_git-osa"), dir);
    cmd.args(args);
    for var in [
        "GIT_OSA_INVENTORY",
        "GIT_OSA_LXC_PATH",
        "GIT_OSA_HAPROXY_SOCKET",
        "GIT_OSA_CONFIG",
        "GIT_OSA_CONTAINER",
        "GIT_OSA_SERVICE",
        "GIT_OSA_RESTORE_ON_EXIT",
        "GIT_OSA_PUBLIC_INDEX",
        "GIT_OSA_LOG",
        "NO_COLOR",
        "GIT_CONFIG_PARAMETERS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", dir.join(".no-config"))
        .env("HOME", dir.join(".no-home"))
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const TWO_KEYSTONES: &str = r#"{
  "_meta": {"hostvars": {
    "aio1_keystone_container-6c0f3a1e": {"container_name": "aio1_keystone_container-6c0f3a1e",
       "physical_host": "aio1", "container_address": "172.29.236.11"},
    "aio1-keystone-container-b7d24e95": {"container_name": "aio1-keystone-container-b7d24e95",
       "physical_host": "aio1", "management_address": "172.29.236.12"}}},
  "keystone_all": {"children": ["keystone"], "hosts": []},
  "keystone": {"hosts": ["aio1_keystone_container-6c0f3a1e", "aio1-keystone-container-b7d24e95"]}
}"#;

#[test]
fn outside_a_checkout_every_command_says_so() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["status"][..], &[], &["restore"]] {
        let o = git_osa(dir.path(), args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("is not in a git checkout"),
            "{}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("hint: run git osa from a checkout"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn unknown_project_names_what_it_saw_and_the_known_services() {
    let repo = checkout("openstack/not-a-service");
    let o = git_osa(repo.path(), &["status"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("is not a project git-osa knows (.gitreview project openstack/not-a-service"),
        "{e}"
    );
    assert!(
        e.contains("known services:") && e.contains("keystone"),
        "{e}"
    );
    assert!(e.contains("[[service]]"), "{e}");
}

#[test]
fn a_config_entry_makes_an_unknown_project_known() {
    let repo = checkout("openstack/mylib");
    let cfg = repo.path().join("cfg.toml");
    std::fs::write(
        &cfg,
        "[[service]]\nname='mylib'\nprojects=['openstack/mylib']\npackages=['mylib']\nuser='root'\n\
         [[service.unit]]\nname='mylib-api'\ngroups=['mylib_all']\nruns='console'\n",
    )
    .unwrap();
    let inv = repo.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let o = git_osa(
        repo.path(),
        &[
            "status",
            "--config",
            cfg.to_str().unwrap(),
            "--inventory",
            inv.to_str().unwrap(),
        ],
        &[],
    );
    // Known now: the error is about the inventory, which has no mylib hosts.
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("has no hosts in mylib_all (the groups of mylib)"),
        "{e}"
    );
}

#[test]
fn an_inventory_given_but_missing_is_an_error() {
    let repo = checkout("openstack/keystone");
    let o = git_osa(
        repo.path(),
        &["status"],
        &[("GIT_OSA_INVENTORY", "/nonexistent/openstack_inventory.json")],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("cannot read the OSA inventory /nonexistent/openstack_inventory.json"),
        "{e}"
    );
    assert!(e.contains("GIT_OSA_INVENTORY"), "{e}");
}

#[test]
fn without_inventory_or_matching_containers_the_error_names_both() {
    let repo = checkout("openstack/keystone");
    let empty = tempfile::tempdir().unwrap();
    assert!(
        !Path::new("/etc/openstack_deploy/openstack_inventory.json").exists(),
        "this test needs a host without a real OSA inventory"
    );
    let o = git_osa(
        repo.path(),
        &["status"],
        &[("GIT_OSA_LXC_PATH", empty.path().to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("no OSA inventory at /etc/openstack_deploy/openstack_inventory.json and no LXC container named like *_keystone_*_container-*"),
        "{e}"
    );
}

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
fn an_inventory_that_is_not_json_is_named() {
    let repo = checkout("openstack/keystone");
    let inv = repo.path().join("inv.json");
    std::fs::write(&inv, "not json").unwrap();
    let o = git_osa(
        repo.path(),
        &["status", "--inventory", inv.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is not an OSA inventory"),
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

#[test]
fn containers_the_inventory_names_but_lxc_lacks_are_reported_missing() {
    let repo = checkout("openstack/keystone");
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let o = git_osa(
        repo.path(),
        &["status", "--inventory", inv.to_str().unwrap()],
        &[("GIT_OSA_LXC_PATH", elsewhere.path().to_str().unwrap())],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{e}");
    assert_eq!(out.matches("lxc      MISSING").count(), 2, "{out}");
    assert!(
        e.contains("container aio1-keystone-container-b7d24e95 does not exist: rebuild it with `openstack-ansible openstack.osa.containers_lxc_create"),
        "{e}"
    );
    assert!(
        e.contains("aio1_keystone_container-6c0f3a1e does not exist"),
        "{e}"
    );
    let o = git_osa(
        repo.path(),
        &[
            "--inventory",
            inv.to_str().unwrap(),
            "--container",
            "aio1_keystone_container-6c0f3a1e",
        ],
        &[("GIT_OSA_LXC_PATH", elsewhere.path().to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("container aio1_keystone_container-6c0f3a1e is MISSING: nothing was changed"),
        "{}",
        stderr(&o)
    );
}

/// Regression: `git osa --inventory X status` was refused ("the subcommand 'status' cannot
/// be used with '--inventory <PATH>'"): clap's `args_conflicts_with_subcommands` counts
/// the global options too.
#[test]
fn deployment_options_go_before_or_after_the_subcommand() {
    let repo = checkout("openstack/keystone");
    let inv = repo.path().join("inv.json");
    std::fs::write(&inv, "not json").unwrap();
    let inv = inv.to_str().unwrap();
    for args in [
        &["--inventory", inv, "status"][..],
        &["status", "--inventory", inv],
        &["--inventory", inv, "run", "--dry-run"],
        &["--inventory", inv, "--dry-run"],
    ] {
        let o = git_osa(repo.path(), args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("is not an OSA inventory"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
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

/// The document on stdout, checked against the committed schema.
fn valid_json(stdout: &[u8]) -> serde_json::Value {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/git-osa-json.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)));
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{doc:#}\n{}", errors.join("\n"));
    doc
}

#[test]
fn status_json_says_what_the_text_says_and_errors_stay_on_stderr() {
    let repo = checkout("openstack/keystone");
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let env = [("GIT_OSA_LXC_PATH", elsewhere.path().to_str().unwrap())];
    let o = git_osa(
        repo.path(),
        &["status", "--json", "--inventory", inv.to_str().unwrap()],
        &env,
    );
    // Exit status and stderr as without --json; the document on stdout all the same.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("container aio1-keystone-container-b7d24e95 does not exist"),
        "{}",
        stderr(&o)
    );
    let doc = valid_json(&o.stdout);
    assert_eq!(doc["project"], "openstack/keystone");
    assert_eq!(doc["service"], "keystone");
    assert_eq!(doc["inventory"]["source"], "inventory");
    assert_eq!(doc["inventory"]["path"], inv.to_str().unwrap());
    let containers = doc["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0]["name"], "aio1-keystone-container-b7d24e95");
    assert_eq!(containers[0]["address"], "172.29.236.12");
    assert_eq!(containers[0]["lxc_state"], "MISSING");
    assert!(containers[0]["session"].is_null());
    // No HAProxy here: said, as the text says it.
    assert!(doc["haproxy"]["error"].is_string(), "{doc:#}");
    let problems = doc["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("HAProxy cannot be read")),
        "{problems:?}"
    );
    let missing = problems
        .iter()
        .filter(|p| p.as_str().unwrap().contains("does not exist"))
        .count();
    assert_eq!(missing, 2, "{problems:?}");

    // A restore plan: no session anywhere, nothing to restore.
    let o = git_osa(
        repo.path(),
        &[
            "restore",
            "--dry-run",
            "--json",
            "--inventory",
            inv.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(valid_json(&o.stdout)["targets"], serde_json::json!([]));

    // A run that cannot choose its container: the error, and nothing on stdout.
    let o = git_osa(
        repo.path(),
        &["--dry-run", "--json", "--inventory", inv.to_str().unwrap()],
        &env,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("the service runs in 2 containers"));
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

/// A user of their own: a home for git's global config and git-osa's TOML file
/// (`~/.config/git-osa/config.toml`), and no system git config.
struct User {
    home: tempfile::TempDir,
}

impl User {
    fn new() -> User {
        User {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOME", self.home().display().to_string()),
            (
                "XDG_CONFIG_HOME",
                self.home().join(".config").display().to_string(),
            ),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
        ]
    }

    /// git as this user, with git-osa on PATH (for `git osa`).
    fn git(&self, dir: &Path, args: &[&str]) -> Output {
        let bin = Path::new(env!("CARGO_BIN_EXE_git-osa")).parent().unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        let o = in_dir("git", dir)
            .args(args)
            .envs(self.env())
            .env("PATH", path)
            .env_remove("GIT_OSA_INVENTORY")
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
        o
    }

    fn git_osa(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mine = self.env();
        let mut all: Vec<(&str, &str)> = mine.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(env);
        git_osa(dir, args, &all)
    }

    /// What `git osa config` says of `key` (its first line).
    fn setting(&self, dir: &Path, args: &[&str], env: &[(&str, &str)], key: &str) -> String {
        let mut all = vec!["config"];
        all.extend_from_slice(args);
        let o = self.git_osa(dir, &all, env);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        out.lines()
            .find(|l| l.contains(&format!("\t{key}=")))
            .unwrap_or_else(|| panic!("no {key} in\n{out}"))
            .to_string()
    }
}

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

/// Regression: wrong types in hostvars were read as "unset", so the container showed as
/// "host (this host)", "address (unknown)" without a word.
#[test]
fn hostvars_of_the_wrong_type_are_an_error_naming_file_host_and_key() {
    let repo = checkout("openstack/keystone");
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("inv.json");
    std::fs::write(
        &inv,
        r#"{"_meta": {"hostvars": {"aio1_keystone_container-6c0f3a1e":
              {"container_name": 5, "physical_host": [], "management_address": {}}}},
            "keystone_all": {"hosts": ["aio1_keystone_container-6c0f3a1e"]}}"#,
    )
    .unwrap();
    let o = git_osa(
        repo.path(),
        &["status", "--inventory", inv.to_str().unwrap()],
        &[("GIT_OSA_LXC_PATH", elsewhere.path().to_str().unwrap())],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!(
            "{} is not an OSA inventory: host `aio1_keystone_container-6c0f3a1e` in `_meta.hostvars` has `container_name` = 5 (a number), not a string",
            inv.display()
        )),
        "{e}"
    );
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Regression: `"hosts": "aio1"` or `"children": 3` were skipped, and the inventory was
/// then said to have no hosts for the service.
#[test]
fn a_group_of_the_wrong_shape_is_a_malformed_inventory_not_an_empty_one() {
    let repo = checkout("openstack/keystone");
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("inv.json");
    for (group, want) in [
        (
            r#"{"hosts": "aio1"}"#,
            r#"group `keystone_all` has `hosts` = "aio1" (a string), not a list of names"#,
        ),
        (
            r#"{"children": 3}"#,
            "group `keystone_all` has `children` = 3 (a number), not a list of names",
        ),
    ] {
        std::fs::write(&inv, format!(r#"{{"keystone_all": {group}}}"#)).unwrap();
        let o = git_osa(
            repo.path(),
            &["status", "--inventory", inv.to_str().unwrap()],
            &[],
        );
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains(want), "{e}");
        assert!(!e.contains("has no hosts"), "{e}");
    }
}

/// Regression: a file of random bytes was "cannot read" with the hint to run on the OSA
/// host, which is where the user already was.
#[test]
fn an_inventory_of_random_bytes_gets_the_hint_to_restore_it_from_osa_backups() {
    let repo = checkout("openstack/keystone");
    let elsewhere = tempfile::tempdir().unwrap();
    let inv = elsewhere.path().join("openstack_inventory.json");
    let noise: Vec<u8> = (0u32..512).map(|i| (i * 7919 % 251) as u8 | 0x80).collect();
    std::fs::write(&inv, noise).unwrap();
    let o = git_osa(
        repo.path(),
        &["status", "--inventory", inv.to_str().unwrap()],
        &[],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!(
            "{} is not an OSA inventory: it is not JSON, not even text",
            inv.display()
        )),
        "{e}"
    );
    assert!(e.contains("openstack-ansible-inventory-manage"), "{e}");
    assert!(
        e.contains(&format!(
            "{}/backup_openstack_inventory.tar",
            elsewhere.path().display()
        )),
        "{e}"
    );
    assert!(!e.contains("run git osa on the OSA host"), "{e}");
}

/// Regression: a repository libgit2 cannot read was reported as "not in a git checkout",
/// hiding libgit2's own reason (git 3.0 plans reftable as the default).
#[test]
fn a_repository_libgit2_cannot_read_is_named_with_libgit2s_reason() {
    let dir = tempfile::tempdir().unwrap();
    let sha = dir.path().join("sha");
    git(dir.path(), &["init", "-q", "--object-format=sha256", "sha"]);
    let o = git_osa(&sha, &["status"], &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("cannot open the repository"), "{e}");
    assert!(e.contains("sha256"), "{e}");
    assert!(!e.contains("is not in a git checkout"), "{e}");
    // reftable needs git 2.45 or later to make one.
    let reftable = dir.path().join("reftable");
    let made = Command::new("git")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .args(["init", "-q", "--ref-format=reftable"])
        .arg(&reftable)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let o = git_osa(&reftable, &["status"], &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains("refstorage"), "{e}");
    }
}

/// A HAProxy admin socket served by a thread: `show stat` lists one keystone server, `help`
/// lists `set server` only at admin level.
fn fake_haproxy(dir: &Path, admin: bool) -> std::path::PathBuf {
    use std::io::{BufRead, BufReader, Write};
    let path = dir.join(if admin { "admin.sock" } else { "user.sock" });
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&conn).read_line(&mut line);
            let answer = match line.trim() {
                "show stat" => "# pxname,svname,status,addr\n\
keystone_service-back,aio1,UP,172.29.236.100:5000\n\
keystone_service-back,BACKEND,UP,\n"
                    .to_string(),
                "help" => format!(
                    "The following commands are valid at this level:\n  show stat : report counters\n{}",
                    if admin {
                        "  set server <bk>/<srv> [opts] : change a server's state\n"
                    } else {
                        ""
                    }
                ),
                _ => "Unknown command.\n".to_string(),
            };
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    path
}

/// keystone on the host itself (`is_metal`): its commands run on this machine, read only.
const METAL_KEYSTONE: &str = r#"{
  "_meta": {"hostvars": {"aio1": {"is_metal": true, "management_address": "172.29.236.100"}}},
  "keystone_all": {"hosts": ["aio1"]}
}"#;

/// A folder of stand-ins for the host tools doctor looks for; `lxc-ls` lists `names`.
fn fake_tools(dir: &Path, names: &[&str]) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["lxc-attach", "lxc-info", "lxc-ls", "systemd-run"] {
        let body = if tool == "lxc-ls" {
            format!("#!/bin/sh\nprintf '%s\\n' {}\n", names.join(" "))
        } else {
            "#!/bin/sh\nexit 0\n".to_string()
        };
        let path = bin.join(tool);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn verbose_logs_each_command_where_as_whom_how_long_and_how_it_ended() {
    let repo = checkout("openstack/keystone");
    let inv = repo.path().join("inv.json");
    std::fs::write(&inv, METAL_KEYSTONE).unwrap();
    let sock = fake_haproxy(repo.path(), true);
    let base = [
        ("GIT_OSA_INVENTORY", inv.to_str().unwrap()),
        ("GIT_OSA_HAPROXY_SOCKET", sock.to_str().unwrap()),
    ];
    let probe_line = |e: &str| {
        e.lines()
            .find(|l| l.starts_with("git-osa: debug: on the host as root: sh -c "))
            .map(String::from)
    };
    for (args, env) in [
        (&["status", "-v"][..], &[][..]),
        (&["-v", "status"], &[]),
        (&["status"], &[("GIT_OSA_LOG", "debug")]),
    ] {
        let env: Vec<_> = base.iter().chain(env).copied().collect();
        let o = git_osa(repo.path(), args, &env);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{e}");
        let line = probe_line(&e).unwrap_or_else(|| panic!("{args:?} {env:?}:\n{e}"));
        assert!(line.contains("<script> git-osa-probe"), "{line}");
        assert!(
            line.contains(" /var/lib/git-osa/keystone/session.json ("),
            "{line}"
        );
        let (_, took) = line.rsplit_once(" (").unwrap();
        let ms = took.strip_suffix(" ms, exit 0)").expect(&line);
        assert!(ms.parse::<u64>().is_ok(), "{line}");
        assert!(
            e.contains("git-osa: debug: HAProxy ") && e.contains(": show stat ("),
            "{e}"
        );
    }
    let o = git_osa(repo.path(), &["status", "-vv"], &base);
    assert!(
        stderr(&o).contains("props=$1; units=$2"),
        "-vv shows scripts whole:\n{}",
        stderr(&o)
    );
    let o = git_osa(repo.path(), &["status"], &base);
    assert_eq!(stderr(&o), "", "without -v nothing is logged");
    assert!(stdout(&o).contains("unit     keystone-wsgi-public"));
}

#[test]
fn quiet_prints_nothing_on_success_and_still_the_error() {
    assert!(
        std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false),
        "doctor passes only for root: run the tests as root"
    );
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let bin = fake_tools(
        dir.path(),
        &[
            "aio1_keystone_container-6c0f3a1e",
            "aio1-keystone-container-b7d24e95",
        ],
    );
    let sock = fake_haproxy(dir.path(), true);
    let env = [
        ("PATH", bin.to_str().unwrap()),
        ("GIT_OSA_INVENTORY", inv.to_str().unwrap()),
        ("GIT_OSA_HAPROXY_SOCKET", sock.to_str().unwrap()),
    ];
    let o = git_osa(dir.path(), &["doctor"], &env);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o).matches("\nok    ").count() + 1,
        6,
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("ok    inventory against LXC: all 2 containers it names exist"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("skip  containers: "), "{}", stdout(&o));
    let o = git_osa(dir.path(), &["doctor", "-q"], &env);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!((stdout(&o), stderr(&o)), (String::new(), String::new()));
    let o = git_osa(dir.path(), &["-q", "status"], &env);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("git-osa: error: ")
            && stderr(&o).contains("is not in a git checkout"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn doctor_with_an_empty_path_names_the_missing_tools_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let o = git_osa(dir.path(), &["doctor"], &[("PATH", "")]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(
        out.contains("FAIL  LXC tools: lxc-attach, lxc-info, lxc-ls not on PATH\n      fix: install LXC (apt-get install lxc)"),
        "{out}"
    );
    assert!(
        out.contains("FAIL  systemd-run on the host: not on PATH"),
        "{out}"
    );
    assert!(
        stderr(&o).contains("checks failed\n  hint: each FAIL line above says how to fix it"),
        "{}",
        stderr(&o)
    );
    let o = git_osa(dir.path(), &["doctor", "-q"], &[("PATH", "")]);
    assert!(!stdout(&o).contains("ok    "), "-q shows only failures");
    assert!(stdout(&o).contains("FAIL  LXC tools"));
}

#[test]
fn doctor_names_a_missing_inventory_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let o = git_osa(
        dir.path(),
        &["doctor"],
        &[("GIT_OSA_INVENTORY", "/nonexistent/openstack_inventory.json")],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "FAIL  inventory: cannot read the OSA inventory /nonexistent/openstack_inventory.json"
        ),
        "{out}"
    );
    assert!(out.contains("fix: run git osa on the OSA host"), "{out}");
    assert!(
        out.contains("skip  inventory against LXC: the inventory cannot be read"),
        "{out}"
    );
}

#[test]
fn doctor_tells_an_absent_haproxy_socket_from_one_that_answers_and_its_level() {
    let dir = tempfile::tempdir().unwrap();
    let line = |socket: &Path| {
        let o = git_osa(
            dir.path(),
            &["doctor"],
            &[("GIT_OSA_HAPROXY_SOCKET", socket.to_str().unwrap())],
        );
        stdout(&o)
            .lines()
            .skip_while(|l| !l.contains("HAProxy admin socket"))
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let absent = dir.path().join("absent.sock");
    assert_eq!(
        line(&absent),
        format!(
            "FAIL  HAProxy admin socket: no socket at {0}\n      fix: point --haproxy-socket (or GIT_OSA_HAPROXY_SOCKET) at the `stats socket ... level admin` of haproxy.cfg (OSA: /var/run/haproxy.stat); it is {0} now",
            absent.display()
        )
    );
    let admin = fake_haproxy(dir.path(), true);
    assert!(
        line(&admin).starts_with(&format!(
            "ok    HAProxy admin socket: {} at admin level (show stat: 1 servers; set server allowed)",
            admin.display()
        )),
        "{}",
        line(&admin)
    );
    let user = fake_haproxy(dir.path(), false);
    assert!(
        line(&user).contains("answers, but not at admin level: `set server` is not allowed"),
        "{}",
        line(&user)
    );
}

/// What the binary writes to stderr when stderr is a terminal (a pty), stdout piped.
fn stderr_on_a_terminal(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = in_dir(env!("CARGO_BIN_EXE_git-osa"), dir);
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env_remove("GIT_OSA_LOG")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(slave);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.status().unwrap();
    assert!(!status.success());
    // The child is gone and our copy of the slave went with `cmd`: reading ends with EIO.
    drop(cmd);
    let mut text = Vec::new();
    let mut master = std::fs::File::from(master);
    let mut buf = [0u8; 4096];
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[test]
fn colour_follows_the_terminal_term_no_color_color_ui_and_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let esc = |s: &str| s.contains('\x1b');
    // Not a terminal: plain, unless asked.
    let o = git_osa(dir.path(), &["status"], &[]);
    assert!(!esc(&stderr(&o)) && stderr(&o).contains("git-osa: error: "));
    let o = git_osa(dir.path(), &["status", "--color=always"], &[]);
    assert!(
        stderr(&o).contains("git-osa: \x1b[1m\x1b[31merror:\x1b[0m "),
        "{:?}",
        stderr(&o)
    );
    assert!(esc(stderr(&o).lines().nth(1).unwrap()), "the hint too");
    let o = git_osa(
        dir.path(),
        &["status"],
        &[("GIT_CONFIG_PARAMETERS", "'color.ui'='always'")],
    );
    assert!(esc(&stderr(&o)), "git -c color.ui=always osa");
    // A terminal: colour, unless TERM=dumb, NO_COLOR, git's color.ui or the flag say no.
    let tty = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = vec!["status"];
        all.extend(args);
        stderr_on_a_terminal(dir.path(), &all, env)
    };
    let xterm = ("TERM", "xterm");
    assert!(esc(&tty(&[xterm], &[])), "{:?}", tty(&[xterm], &[]));
    assert!(!esc(&tty(&[("TERM", "dumb")], &[])));
    assert!(!esc(&tty(&[xterm, ("NO_COLOR", "1")], &[])));
    assert!(!esc(&tty(
        &[xterm, ("GIT_CONFIG_PARAMETERS", "'color.ui'='never'")],
        &[]
    )));
    assert!(!esc(&tty(&[xterm], &["--color=never"])));
    assert!(esc(&tty(&[("TERM", "dumb")], &["--color=always"])));
}
