//! `git osa review`, without a lab: a real git server on loopback with a Gerrit-shaped
//! change, a user's checkout with work of their own in it, and the real binary. The
//! deployment is one container that does not exist, so each run stops at the cycle after
//! the change is fetched and checked out: what is checked here is the git side (the
//! change, its worktree, the user's tree untouched) and every refusal. The cycle from the
//! worktree is the lab's story (`tests/lab/review.rs`).

mod gerrit;
#[path = "lab/pty.rs"]
mod pty;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use gerrit::{Gerrit, free_port, git, users_view};

const PROJECT: &str = "openstack/keystone";
const CHANGE: u64 = 12345;
const LIB: &str = "openstack/oslo.middleware";
const MARKED: &str = "keystone/api/discovery.py";
const MIGRATION: &str = "keystone/common/sql/migrations/versions/2026_add_review.py";
const INVENTORY: &str = r#"{"_meta": {"hostvars": {"aio1-keystone-container-b7d24e95": {"container_name": "aio1-keystone-container-b7d24e95", "physical_host": "aio1", "management_address": "172.29.236.12"}}}, "keystone_all": {"hosts": ["aio1-keystone-container-b7d24e95"]}}"#;

/// The server with change 12345 (patchset 1 edits discovery.py; patchset 2 edits it
/// again and adds a migration), and a user's checkout of the project.
struct World {
    _tmp: tempfile::TempDir,
    gerrit: Gerrit,
    upstream: PathBuf,
    user: PathBuf,
    inventory: PathBuf,
    lxc: PathBuf,
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn discovery(status: &str) -> String {
    format!("def v3():\n    return {{\n        'status': '{status}',\n    }}\n")
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let gerrit = Gerrit::start();
        let upstream = base.join("upstream");
        std::fs::create_dir(&upstream).unwrap();
        git(&upstream, &["init", "-q", "-b", "master"]);
        // .gitreview names the loopback server: nothing here may reach another host.
        write(
            &upstream,
            ".gitreview",
            &format!(
                "[gerrit]\nhost=127.0.0.1\nport={}\nscheme=git\nproject={PROJECT}.git\n",
                gerrit.port
            ),
        );
        write(&upstream, "setup.cfg", "[metadata]\nname = keystone\n");
        write(&upstream, "keystone/__init__.py", "");
        write(&upstream, MARKED, &discovery("stable"));
        for i in 0..20 {
            write(
                &upstream,
                &format!("keystone/mod{i}.py"),
                &format!("N = {i}\n"),
            );
        }
        git(&upstream, &["add", "."]);
        git(&upstream, &["commit", "-q", "-m", "keystone"]);
        gerrit.add_project(PROJECT, &upstream);

        let change_id = "Change-Id: I0123456789abcdef0123456789abcdef01234567";
        write(&upstream, MARKED, &discovery("patchset 1"));
        git(
            &upstream,
            &[
                "commit",
                "-q",
                "-am",
                &format!("Say which patchset answers\n\n{change_id}\n"),
            ],
        );
        gerrit.upload(PROJECT, &upstream, "HEAD", CHANGE, 1);
        write(&upstream, MARKED, &discovery("patchset 2"));
        write(&upstream, MIGRATION, "def upgrade():\n    pass\n");
        git(&upstream, &["add", "."]);
        git(
            &upstream,
            &[
                "commit",
                "-q",
                "--amend",
                "-m",
                &format!("Say which patchset answers, with a migration\n\n{change_id}\n"),
            ],
        );
        gerrit.upload(PROJECT, &upstream, "HEAD", CHANGE, 2);

        let user = base.join("keystone");
        git(
            &base,
            &["clone", "-q", &gerrit.url(PROJECT), user.to_str().unwrap()],
        );
        git(&user, &["remote", "add", "gerrit", &gerrit.url(PROJECT)]);
        // Work of the user's own: a branch with a commit, a stash entry, an edit, an
        // untracked file.
        git(&user, &["checkout", "-q", "-b", "my-work"]);
        write(&user, "keystone/mod1.py", "N = 'mine'\n");
        git(&user, &["commit", "-q", "-am", "my work"]);
        write(&user, "keystone/mod2.py", "N = 'stashed'\n");
        git(&user, &["stash", "-q"]);
        write(&user, "keystone/mod3.py", "N = 'editing'\n");
        write(&user, "notes.txt", "untracked\n");

        let inventory = base.join("openstack_inventory.json");
        std::fs::write(&inventory, INVENTORY).unwrap();
        let lxc = base.join("lxc");
        std::fs::create_dir(&lxc).unwrap();
        World {
            _tmp: tmp,
            gerrit,
            upstream,
            user,
            inventory,
            lxc,
        }
    }

    fn git_osa(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// `git osa ARGS` in the user's checkout, pointed at the fixture's deployment.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_git-osa"));
        cmd.current_dir(&self.user)
            .args(args)
            .env("GIT_OSA_INVENTORY", &self.inventory)
            .env("GIT_OSA_LXC_PATH", &self.lxc)
            .env("XDG_CONFIG_HOME", self.user.join(".no-config"))
            .env("HOME", self.lxc.join("home"))
            .env("XDG_CACHE_HOME", self.base().join("cache"))
            .env_remove("GIT_OSA_CONFIG");
        // The REST queries go to loopback, never through a proxy of the machine's.
        for var in ["ALL_PROXY", "HTTPS_PROXY", "HTTP_PROXY"] {
            cmd.env_remove(var).env_remove(var.to_lowercase());
        }
        cmd
    }

    fn base(&self) -> PathBuf {
        self.user.parent().unwrap().to_path_buf()
    }

    /// A library on the server, `openstack/oslo.middleware`, with change 4242, and keystone
    /// change 12346 whose `Depends-On:` names it. Returns where a checkout of the library
    /// would be beside the user's.
    /// Clones the library from the server into `into`, its remote named `gerrit`, as
    /// git-review leaves a checkout.
    fn clone_library(&self, into: &Path) {
        git(
            into.parent().unwrap(),
            &[
                "clone",
                "-q",
                "--origin",
                "gerrit",
                &self.gerrit.url(LIB),
                into.to_str().unwrap(),
            ],
        );
    }

    fn with_dependency(&self) -> PathBuf {
        self.with_dependency_by("https://127.0.0.1/c/openstack/oslo.middleware/+/4242")
    }

    /// The same, with keystone's footer `Depends-On: <dependency>` (a URL or the library
    /// change's Change-Id, which its message carries).
    fn with_dependency_by(&self, dependency: &str) -> PathBuf {
        let lib = self.base().join("lib-upstream");
        std::fs::create_dir(&lib).unwrap();
        git(&lib, &["init", "-q", "-b", "master"]);
        write(
            &lib,
            ".gitreview",
            &format!(
                "[gerrit]\nhost=127.0.0.1\nport={}\nscheme=git\nproject={LIB}.git\n",
                self.gerrit.port
            ),
        );
        write(&lib, "setup.cfg", "[metadata]\nname = oslo.middleware\n");
        write(
            &lib,
            "oslo_middleware/request_id.py",
            "HEADER = 'x-openstack-request-id'\n",
        );
        git(&lib, &["add", "."]);
        git(&lib, &["commit", "-q", "-m", "oslo.middleware"]);
        self.gerrit.add_project(LIB, &lib);
        write(
            &lib,
            "oslo_middleware/request_id.py",
            "HEADER = 'x-renamed'\n",
        );
        git(
            &lib,
            &[
                "commit",
                "-q",
                "-am",
                &format!("Rename the header\n\nChange-Id: {LIB_CHANGE_ID}\n"),
            ],
        );
        self.gerrit.upload(LIB, &lib, "HEAD", 4242, 1);

        git(&self.upstream, &["checkout", "-q", "master"]);
        write(
            &self.upstream,
            MARKED,
            &discovery("with the renamed header"),
        );
        git(
            &self.upstream,
            &[
                "commit",
                "-q",
                "-am",
                &format!("Use the renamed header\n\nDepends-On: {dependency}\n"),
            ],
        );
        self.gerrit
            .upload(PROJECT, &self.upstream, "HEAD", 12346, 1);
        self.base().join("oslo.middleware")
    }

    fn worktree(&self) -> PathBuf {
        self.user
            .join(".git/osa/worktrees")
            .join(CHANGE.to_string())
    }

    fn own_refs(&self) -> String {
        git(
            &self.user,
            &[
                "for-each-ref",
                "--format=%(refname) %(objectname)",
                "refs/osa",
            ],
        )
    }

    /// Every file of git-osa's worktree with its mtime.
    fn mtimes(&self) -> BTreeMap<String, i128> {
        let wt = self.worktree();
        git(&wt, &["ls-files"])
            .lines()
            .filter_map(|f| {
                let m = std::fs::metadata(wt.join(f)).ok()?;
                Some((
                    f.to_string(),
                    m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
                ))
            })
            .collect()
    }

    /// The worktree's HEAD, status and files: what a refusal must leave as it was.
    fn worktree_state(&self) -> String {
        let wt = self.worktree();
        if !wt.exists() {
            return "no worktree".into();
        }
        format!(
            "{}{}{}",
            git(&wt, &["rev-parse", "HEAD"]),
            git(&wt, &["status", "--short"]),
            std::fs::read_to_string(wt.join(MARKED)).unwrap()
        )
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The run gets as far as the deployment, which has no such container.
fn stopped_at_the_container(o: &Output) {
    assert!(
        stderr(o).contains("container aio1-keystone-container-b7d24e95 is"),
        "{}",
        stderr(o)
    );
}

#[test]
fn review_checks_the_latest_patchset_out_in_its_own_worktree_and_leaves_the_users_tree_alone() {
    let w = World::new();
    let before = users_view(&w.user);
    let o = w.git_osa(&["review", &CHANGE.to_string()]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "change {CHANGE} patchset 2: Say which patchset answers, with a migration (Rev Iewer <rev@git-osa.invalid>), checked out in {}",
            w.worktree().display()
        )),
        "{err}"
    );
    stopped_at_the_container(&o);
    assert_eq!(
        std::fs::read_to_string(w.worktree().join(MARKED)).unwrap(),
        discovery("patchset 2")
    );
    assert!(w.worktree().join(MIGRATION).exists());
    let ps2 = git(&w.upstream, &["rev-parse", "HEAD"]);
    assert_eq!(w.own_refs(), format!("refs/osa/changes/{CHANGE}/2 {ps2}"));
    assert_eq!(users_view(&w.user), before, "the user's repository changed");
    // The user's files, edits and all.
    assert_eq!(
        std::fs::read_to_string(w.user.join("keystone/mod3.py")).unwrap(),
        "N = 'editing'\n"
    );
    assert_eq!(
        std::fs::read_to_string(w.user.join(MARKED)).unwrap(),
        discovery("stable")
    );
}

/// A dry run changes nothing: a change not fetched yet is named with what a review would
/// fetch (as `git fetch --dry-run` says it); once fetched and checked out, its plan comes
/// from the worktree as it is.
#[test]
fn a_review_dry_run_fetches_nothing_and_names_what_a_review_would_fetch() {
    let w = World::new();
    let before = users_view(&w.user);
    let o = w.git_osa(&["review", &CHANGE.to_string(), "--dry-run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "would fetch refs/changes/{:02}/{CHANGE}/2 (the change {CHANGE} patchset 2) from ",
            CHANGE % 100
        )) && out.contains(&format!(
            "into refs/osa/changes/{CHANGE}/2 and check it out in {}",
            w.worktree().display()
        )) && out.ends_with("dry run: nothing was changed (the plan needs the change's code)\n"),
        "{out}"
    );
    assert_eq!(w.own_refs(), "", "nothing fetched");
    assert_eq!(w.worktree_state(), "no worktree");
    assert_eq!(users_view(&w.user), before, "the user's repository changed");
    // With --json there is no plan to print: said, exit 2.
    let o = w.git_osa(&["review", &CHANGE.to_string(), "--dry-run", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("a dry run changes nothing: there is no plan to show"));
    // Fetched and checked out by a review, the dry run plans from the worktree as it is.
    w.git_osa(&["review", &CHANGE.to_string()]);
    let (refs, mtimes) = (w.own_refs(), w.mtimes());
    let o = w.git_osa(&["review", &CHANGE.to_string(), "--dry-run"]);
    assert!(
        stderr(&o).contains(&format!(
            "change {CHANGE} patchset 2: Say which patchset answers, with a migration (Rev Iewer <rev@git-osa.invalid>), checked out in {} already",
            w.worktree().display()
        )),
        "{}",
        stderr(&o)
    );
    stopped_at_the_container(&o);
    assert_eq!(
        (w.own_refs(), w.mtimes()),
        (refs.clone(), mtimes),
        "nothing written"
    );
    // Another patchset is not checked out: named, not fetched.
    let o = w.git_osa(&["review", &format!("{CHANGE},1"), "--dry-run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("(the change {CHANGE} patchset 1)")),
        "{out}"
    );
    assert_eq!(w.own_refs(), refs);
}

#[test]
fn another_patchset_reuses_the_worktree_and_rewrites_only_the_files_that_differ() {
    let w = World::new();
    w.git_osa(&["review", &CHANGE.to_string()]);
    let before = w.mtimes();
    let view = users_view(&w.user);
    // Old enough that a rewrite shows in the mtime even on a coarse clock.
    std::thread::sleep(std::time::Duration::from_millis(20));

    let o = w.git_osa(&["review", &format!("{CHANGE},1")]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "change {CHANGE} patchset 1 (the latest is 2): Say which patchset answers (Rev Iewer"
        )),
        "{err}"
    );
    stopped_at_the_container(&o);
    assert_eq!(
        std::fs::read_to_string(w.worktree().join(MARKED)).unwrap(),
        discovery("patchset 1")
    );
    assert!(!w.worktree().join(MIGRATION).exists());
    let after = w.mtimes();
    let touched: Vec<&String> = before
        .iter()
        .filter(|(f, t)| after.get(*f) != Some(t))
        .map(|(f, _)| f)
        .collect();
    // What the sync compares (size and mtime) changed for the two files of the change,
    // and for no other of the tree's 25.
    assert_eq!(
        touched,
        [MARKED, MIGRATION],
        "files rewritten by the switch"
    );
    assert_eq!(before.len(), 25);
    assert_eq!(users_view(&w.user), view);
    let refs = w.own_refs();
    assert!(
        refs.contains(&format!("refs/osa/changes/{CHANGE}/1 ")),
        "{refs}"
    );
    assert!(
        refs.contains(&format!("refs/osa/changes/{CHANGE}/2 ")),
        "{refs}"
    );
}

/// Regression: review's --container was ignored (the settings read only `run`'s options),
/// so with two containers the run asked which one.
#[test]
fn the_options_of_run_apply_to_review() {
    let w = World::new();
    let two = r#"{"_meta": {"hostvars": {"aio1_keystone_container-6c0f3a1e": {"container_name": "aio1_keystone_container-6c0f3a1e", "physical_host": "aio1", "container_address": "172.29.236.11"}, "aio1-keystone-container-b7d24e95": {"container_name": "aio1-keystone-container-b7d24e95", "physical_host": "aio1", "management_address": "172.29.236.12"}}}, "keystone_all": {"hosts": ["aio1_keystone_container-6c0f3a1e", "aio1-keystone-container-b7d24e95"]}}"#;
    std::fs::write(&w.inventory, two).unwrap();
    let o = w.git_osa(&[
        "review",
        &CHANGE.to_string(),
        "--container",
        "aio1-keystone-container-b7d24e95",
    ]);
    stopped_at_the_container(&o);
}

#[test]
fn without_a_gerrit_remote_the_server_comes_from_gitreview() {
    let w = World::new();
    git(&w.user, &["remote", "remove", "gerrit"]);
    let o = w.git_osa(&[
        "review",
        &format!("https://127.0.0.1/c/{PROJECT}/+/{CHANGE}/1"),
    ]);
    stopped_at_the_container(&o);
    assert_eq!(
        std::fs::read_to_string(w.worktree().join(MARKED)).unwrap(),
        discovery("patchset 1")
    );
}

/// Each refusal: exit 2, the message, and nothing changed (the user's repository,
/// git-osa's refs and its worktree).
fn refused(w: &World, args: &[&str], says: &str) {
    let view = users_view(&w.user);
    let refs = w.own_refs();
    let wt = w.worktree_state();
    let o = w.git_osa(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    assert_eq!(
        users_view(&w.user),
        view,
        "{args:?} changed the user's repository"
    );
    assert_eq!(w.own_refs(), refs, "{args:?} changed git-osa's refs");
    assert_eq!(
        w.worktree_state(),
        wt,
        "{args:?} changed git-osa's worktree"
    );
}

#[test]
fn what_review_cannot_do_it_refuses_with_exit_2_and_changes_nothing() {
    let w = World::new();
    let url = w.gerrit.url(PROJECT);
    refused(
        &w,
        &["review", "99999"],
        &format!("no change 99999 at remote gerrit ({url}): nothing was changed"),
    );
    refused(
        &w,
        &["review", &format!("{CHANGE},7")],
        &format!("change {CHANGE} has no patchset 7 (it has 1, 2): nothing was changed"),
    );
    refused(
        &w,
        &[
            "review",
            &format!("https://127.0.0.1/c/openstack/nova/+/{CHANGE}"),
        ],
        &format!("change {CHANGE} is a change of openstack/nova, and this checkout is {PROJECT}"),
    );

    refused(
        &w,
        &[
            "review",
            &CHANGE.to_string(),
            "--with",
            w.user.to_str().unwrap(),
        ],
        &format!(
            "--with {}: that is keystone, the service itself; nothing was changed",
            w.user.display()
        ),
    );

    // Edits in git-osa's worktree are the user's: kept, and how to keep them said.
    w.git_osa(&["review", &CHANGE.to_string()]);
    write(&w.worktree(), MARKED, "# my fix\n");
    refused(
        &w,
        &["review", &format!("{CHANGE},1")],
        "has local edits; git-osa does not overwrite them: nothing was changed",
    );
    assert_eq!(
        std::fs::read_to_string(w.worktree().join(MARKED)).unwrap(),
        "# my fix\n"
    );

    // The server down: the URL tried is named.
    let dead = format!("git://127.0.0.1:{}/{PROJECT}", free_port());
    git(&w.user, &["remote", "set-url", "gerrit", &dead]);
    refused(
        &w,
        &["review", "4242"],
        &format!("cannot reach the Gerrit server at remote gerrit ({dead}):"),
    );
}

#[test]
fn a_depends_on_change_of_another_project_is_checked_out_in_that_projects_checkout() {
    let w = World::new();
    let beside = w.with_dependency();
    w.clone_library(&beside);
    let lib_view = users_view(&beside);
    let view = users_view(&w.user);
    let o = w.git_osa(&["review", "12346"]);
    let err = stderr(&o);
    the_library_change_is_checked_out(&err, &beside);
    stopped_at_the_container(&o);
    assert_eq!(
        users_view(&beside),
        lib_view,
        "the library checkout changed"
    );
    assert_eq!(users_view(&w.user), view);
}

#[test]
fn a_missing_dependency_checkout_is_cloned_only_with_consent() {
    let w = World::new();
    w.with_dependency();
    let cached = w.base().join("cache/git-osa/checkouts").join(LIB);
    let url = "https://127.0.0.1/c/openstack/oslo.middleware/+/4242";
    refused(
        &w,
        &["review", "12346"],
        &format!(
            "Depends-On: {url}: no checkout of {LIB} (looked in {}, {}); nothing was changed",
            w.base().join("oslo.middleware").display(),
            cached.display()
        ),
    );
    assert!(!cached.exists());
    let o = w.git_osa(&["review", "12346", "--clone-dependencies"]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "cloning {} into {}",
            w.gerrit.url(LIB),
            cached.display()
        )),
        "{err}"
    );
    stopped_at_the_container(&o);
    assert_eq!(
        std::fs::read_to_string(
            cached.join(".git/osa/worktrees/4242/oslo_middleware/request_id.py")
        )
        .unwrap(),
        "HEADER = 'x-renamed'\n"
    );
}

/// At a terminal, git-osa asks before it clones a missing Depends-On checkout: no leaves
/// everything as it was, yes clones it and goes on.
#[test]
fn at_a_terminal_the_clone_of_a_missing_dependency_is_asked() {
    let w = World::new();
    w.with_dependency();
    let cached = w.base().join("cache/git-osa/checkouts").join(LIB);
    let question = format!(
        "Depends-On: https://127.0.0.1/c/{LIB}/+/4242 needs a checkout of {LIB}; clone {} into {}?",
        w.gerrit.url(LIB),
        cached.display()
    );
    let at_a_terminal = |answer: &[u8]| {
        let mut t = pty::Pty::spawn(w.command(&["review", "12346"]));
        t.wait_for(&question, Duration::from_secs(60));
        t.send(answer);
        let (status, out) = t.finish(Duration::from_secs(60));
        let code = status.code();
        (code, out)
    };

    let view = users_view(&w.user);
    let refs = w.own_refs();
    let (code, out) = at_a_terminal(b"n");
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!("no checkout of {LIB} (looked in"))
            && out.contains("nothing was changed"),
        "{out}"
    );
    assert!(!cached.exists(), "a no cloned it");
    assert_eq!(users_view(&w.user), view);
    assert_eq!(w.own_refs(), refs, "a no left a ref of git-osa's");

    let (_, out) = at_a_terminal(b"y");
    assert!(
        out.contains(&format!(
            "cloning {} into {}",
            w.gerrit.url(LIB),
            cached.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("container aio1-keystone-container-b7d24e95 is"),
        "the review went on to the deployment: {out}"
    );
    assert_eq!(
        std::fs::read_to_string(
            cached.join(".git/osa/worktrees/4242/oslo_middleware/request_id.py")
        )
        .unwrap(),
        "HEADER = 'x-renamed'\n"
    );
    assert_eq!(users_view(&w.user), view);
}

#[test]
fn osa_checkouts_names_the_folder_of_the_users_checkouts() {
    let w = World::new();
    w.with_dependency();
    let src = w.base().join("src");
    std::fs::create_dir(&src).unwrap();
    let lib = src.join("oslo.middleware");
    w.clone_library(&lib);
    git(&w.user, &["config", "osa.checkouts", src.to_str().unwrap()]);
    let o = w.git_osa(&["review", "12346"]);
    stopped_at_the_container(&o);
    assert!(
        lib.join(".git/osa/worktrees/4242/oslo_middleware/request_id.py")
            .exists()
    );
}

const CHANGE_ID: &str = "I0123456789abcdef0123456789abcdef01234567";
const LIB_CHANGE_ID: &str = "I4242424242424242424242424242424242424242";

impl World {
    /// Points the checkout at the loopback Gerrit's REST API.
    fn with_rest(&self) {
        git(
            &self.user,
            &["config", "osa.gerritUrl", &self.gerrit.rest_url()],
        );
    }

    /// Keystone change `number` whose message ends with `footer`.
    fn keystone_change(&self, number: u64, footer: &str) {
        git(&self.upstream, &["checkout", "-q", "master"]);
        write(
            &self.upstream,
            MARKED,
            &discovery(&format!("change {number}")),
        );
        git(
            &self.upstream,
            &[
                "commit",
                "-q",
                "-am",
                &format!("Change {number}\n\n{footer}\n"),
            ],
        );
        self.gerrit
            .upload(PROJECT, &self.upstream, "HEAD", number, 1);
    }
}

#[test]
fn a_change_id_is_looked_up_with_gerrits_rest_api_and_its_owner_is_gerrits() {
    let w = World::new();
    w.with_rest();
    let before = users_view(&w.user);
    let t = std::time::Instant::now();
    let o = w.git_osa(&["review", CHANGE_ID]);
    let by_id = t.elapsed();
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "Change-Id {CHANGE_ID} is change {CHANGE} of {PROJECT} (branch master) at {}",
            w.gerrit.rest_url()
        )),
        "{err}"
    );
    // The owner is Gerrit's account, not the commit's author (Rev Iewer).
    assert!(
        err.contains(&format!(
            "change {CHANGE} patchset 2: Say which patchset answers, with a migration ({} <{}>), checked out in {}",
            gerrit::OWNER.0,
            gerrit::OWNER.1,
            w.worktree().display()
        )),
        "{err}"
    );
    stopped_at_the_container(&o);
    assert_eq!(
        std::fs::read_to_string(w.worktree().join(MARKED)).unwrap(),
        discovery("patchset 2")
    );
    assert_eq!(users_view(&w.user), before);
    // Again by Change-Id, then by number, the worktree there already: what the lookup adds.
    let timed = |change: &str| {
        let t = std::time::Instant::now();
        stopped_at_the_container(&w.git_osa(&["review", change]));
        t.elapsed()
    };
    let again = timed(CHANGE_ID);
    let by_number = timed(&CHANGE.to_string());
    eprintln!(
        "timing: review by Change-Id {by_id:?} (the worktree made), again {again:?}, by number {by_number:?}"
    );
}

/// By number, the change is found with git; its owner is asked of the REST API only where
/// osa.gerritUrl names it, and an API that does not answer leaves the author.
#[test]
fn by_number_the_owner_is_gerrits_where_osa_gerrit_url_names_the_api() {
    let w = World::new();
    w.with_rest();
    let o = w.git_osa(&["review", &CHANGE.to_string()]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "change {CHANGE} patchset 2: Say which patchset answers, with a migration ({} <{}>)",
            gerrit::OWNER.0,
            gerrit::OWNER.1
        )),
        "{err}"
    );
    stopped_at_the_container(&o);
    let down = format!("http://127.0.0.1:{}/", free_port());
    git(&w.user, &["config", "osa.gerritUrl", &down]);
    let o = w.git_osa(&["review", &CHANGE.to_string()]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("warning: cannot reach Gerrit's REST API at {down}changes/?q=change:{CHANGE}&o=DETAILED_ACCOUNTS")),
        "{err}"
    );
    assert!(
        err.contains("; the owner shown is the patchset's author"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "change {CHANGE} patchset 2: Say which patchset answers, with a migration (Rev Iewer <rev@git-osa.invalid>)"
        )),
        "{err}"
    );
    stopped_at_the_container(&o);
}

/// git-osa said it checked the library's change 4242 out in its own worktree of the
/// checkout `beside`, and that worktree holds the change.
fn the_library_change_is_checked_out(err: &str, beside: &Path) {
    let lib_wt = beside.join(".git/osa/worktrees/4242");
    assert!(
        err.contains(&format!(
            "Depends-On: {LIB} change 4242 patchset 1: Rename the header, checked out in {}",
            lib_wt.display()
        )),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(lib_wt.join("oslo_middleware/request_id.py")).unwrap(),
        "HEADER = 'x-renamed'\n"
    );
}

#[test]
fn a_depends_on_by_change_id_is_the_library_change_rest_names() {
    let w = World::new();
    w.with_rest();
    let beside = w.with_dependency_by(LIB_CHANGE_ID);
    w.clone_library(&beside);
    let o = w.git_osa(&["review", "12346"]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "Depends-On: {LIB_CHANGE_ID} is change 4242 of {LIB} (branch master) at {}",
            w.gerrit.rest_url()
        )),
        "{err}"
    );
    the_library_change_is_checked_out(&err, &beside);
    stopped_at_the_container(&o);
}

/// A footer's Change-Id on two branches of the library: the one on the reviewed change's
/// branch (as Gerrit names it) is taken; when neither is, the footer is refused.
#[test]
fn a_depends_on_change_id_on_two_branches_follows_the_reviewed_changes_branch() {
    let w = World::new();
    w.with_rest();
    let beside = w.with_dependency_by(LIB_CHANGE_ID);
    w.clone_library(&beside);
    // The library change cherry-picked to a stable branch, Change-Id and all.
    let lib = w.base().join("lib-upstream");
    w.gerrit.upload(LIB, &lib, "HEAD", 4243, 1);
    w.gerrit.set_meta(4243, "stable/2026.1", "NEW");
    let o = w.git_osa(&["review", "12346"]);
    assert!(
        stderr(&o).contains(&format!(
            "Depends-On: {LIB_CHANGE_ID} is change 4242 of {LIB} (branch master)"
        )),
        "{}",
        stderr(&o)
    );
    stopped_at_the_container(&o);
    // The keystone change on a third branch: the choice is not git-osa's.
    w.gerrit.set_meta(12346, "stable/2025.2", "NEW");
    refused(
        &w,
        &["review", "12346"],
        &format!(
            "Depends-On: {LIB_CHANGE_ID}: 2 changes at {} have this Change-Id, and git-osa cannot tell which one is meant: nothing was changed",
            w.gerrit.rest_url()
        ),
    );
}

#[test]
fn a_change_id_on_two_branches_is_the_users_choice_unless_the_checkouts_branch_tells() {
    let w = World::new();
    w.with_rest();
    // The same change cherry-picked to a stable branch keeps its Change-Id.
    let ps2 = git(&w.upstream, &["rev-parse", "HEAD"]);
    w.gerrit.upload(PROJECT, &w.upstream, ps2.trim(), 12350, 1);
    w.gerrit.set_meta(12350, "stable/2026.1", "NEW");
    // The user is on my-work, which tracks nothing.
    refused(
        &w,
        &["review", CHANGE_ID],
        &format!(
            "{CHANGE_ID}: 2 changes at {} have this Change-Id, and git-osa cannot tell which one is meant: nothing was changed\n  \
             {CHANGE} ({PROJECT}, branch master, new): Say which patchset answers, with a migration\n  \
             12350 ({PROJECT}, branch stable/2026.1, new): Say which patchset answers, with a migration",
            w.gerrit.rest_url()
        ),
    );
    let o = w.git_osa(&["review", CHANGE_ID]);
    assert!(
        stderr(&o).contains(&format!(
            "hint: pass the number of the one to review: `git osa review {CHANGE}`"
        )),
        "{}",
        stderr(&o)
    );
    // An abandoned one is left out.
    w.gerrit.set_meta(12350, "stable/2026.1", "ABANDONED");
    let o = w.git_osa(&["review", CHANGE_ID]);
    assert!(
        stderr(&o).contains(&format!(
            "Change-Id {CHANGE_ID} is change {CHANGE} of {PROJECT}"
        )),
        "{}",
        stderr(&o)
    );
    stopped_at_the_container(&o);
    // Both open again: on master, the checkout's branch decides.
    w.gerrit.set_meta(12350, "stable/2026.1", "NEW");
    git(&w.user, &["checkout", "-q", "master"]);
    let o = w.git_osa(&["review", CHANGE_ID]);
    assert!(
        stderr(&o).contains(&format!(
            "Change-Id {CHANGE_ID} is change {CHANGE} of {PROJECT} (branch master)"
        )),
        "{}",
        stderr(&o)
    );
    stopped_at_the_container(&o);
}

#[test]
fn a_change_id_gerrit_cannot_resolve_is_refused_with_exit_2_and_changes_nothing() {
    let w = World::new();
    w.with_rest();
    let rest = w.gerrit.rest_url();
    let unknown = "Iffffffffffffffffffffffffffffffffffffffff";
    refused(
        &w,
        &["review", unknown],
        &format!("{unknown}: no change has this Change-Id at {rest}: nothing was changed"),
    );
    // A footer naming a Change-Id no change has: the footer is named.
    w.keystone_change(12347, &format!("Depends-On: {unknown}"));
    refused(
        &w,
        &["review", "12347"],
        &format!(
            "Depends-On: {unknown}: no change has this Change-Id at {rest}: nothing was changed"
        ),
    );
    // A Change-Id of another project than the checkout's.
    w.with_dependency_by(LIB_CHANGE_ID);
    refused(
        &w,
        &["review", LIB_CHANGE_ID],
        &format!(
            "change 4242 is a change of {LIB}, and this checkout is {PROJECT}: nothing was changed"
        ),
    );
    // An address that is a web server but not Gerrit.
    let not_gerrit = format!("{rest}not-gerrit/");
    git(&w.user, &["config", "osa.gerritUrl", &not_gerrit]);
    refused(
        &w,
        &["review", CHANGE_ID],
        &format!(
            "{not_gerrit}changes/?q=change:{CHANGE_ID}&o=DETAILED_ACCOUNTS did not answer as Gerrit's REST API does (a JSON list of changes), but `<html><body>Not Gerrit</body></html>`: nothing was changed"
        ),
    );
    // The server down: the URL tried is named.
    let down = format!("http://127.0.0.1:{}/", free_port());
    git(&w.user, &["config", "osa.gerritUrl", &down]);
    refused(
        &w,
        &["review", CHANGE_ID],
        &format!(
            "cannot reach Gerrit's REST API at {down}changes/?q=change:{CHANGE_ID}&o=DETAILED_ACCOUNTS: "
        ),
    );
}

/// The user's hooks are theirs: git-osa's fetch and checkouts do not fire them (a
/// post-checkout hook that redeploys must not run because git-osa moved its worktree).
#[test]
fn the_users_hooks_do_not_fire_for_git_osas_worktree() {
    let w = World::new();
    let fired = w.base().join("hook-fired");
    let hooks = w.user.join(".git/hooks");
    for hook in ["post-checkout", "reference-transaction", "post-merge"] {
        let path = hooks.join(hook);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho {hook} >> '{}'\n", fired.display()),
        )
        .unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
    }
    // The hooks work: git itself fires them.
    git(&w.user, &["checkout", "-q", "master"]);
    assert!(fired.exists());
    std::fs::remove_file(&fired).unwrap();

    let o = w.git_osa(&["review", &CHANGE.to_string()]);
    stopped_at_the_container(&o);
    let o = w.git_osa(&["review", &format!("{CHANGE},1")]);
    stopped_at_the_container(&o);
    assert!(
        !fired.exists(),
        "hooks fired: {}",
        std::fs::read_to_string(&fired).unwrap_or_default()
    );
}

/// Regression: `sudo git osa review` left root's objects, refs and worktree in the user's
/// repository: the user's own git then could not update, prune or remove them.
#[test]
fn a_review_through_sudo_leaves_the_users_repository_all_theirs() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    let w = World::new();
    let nobody = 65534;
    std::fs::set_permissions(
        w.user.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let chown = Command::new("chown")
        .args(["-R", &format!("{nobody}:{nobody}")])
        .arg(&w.user)
        .status()
        .unwrap();
    assert!(chown.success());
    let o = w
        .command(&["review", &CHANGE.to_string()])
        .env("SUDO_UID", nobody.to_string())
        .env("SUDO_GID", nobody.to_string())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    stopped_at_the_container(&o);
    assert!(w.worktree().join(MARKED).exists());
    let mut roots = Vec::new();
    let mut todo = vec![w.user.clone()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.uid() == 0 {
            roots.push(p.clone());
        }
        if meta.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
        }
    }
    assert_eq!(roots, Vec::<PathBuf>::new());
    // The user's own git removes git-osa's worktree and ref.
    for args in [
        &[
            "worktree",
            "remove",
            "--force",
            w.worktree().to_str().unwrap(),
        ][..],
        &["update-ref", "-d", &format!("refs/osa/changes/{CHANGE}/2")],
    ] {
        let o = Command::new("git")
            .current_dir(&w.user)
            .args(args)
            .uid(nobody)
            .gid(nobody)
            .env("HOME", w.user.parent().unwrap())
            .env_remove("GIT_DIR")
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    }
}

/// Gerrit's REST API behind TLS, with a certificate of a CA of the test's own (an
/// internal CA): a Python TLS front on loopback passing each GET to the plain REST
/// server. Ended by its pid when dropped.
struct TlsRest {
    child: std::process::Child,
    port: u16,
    /// The CA's certificate, as a bundle the system would hold.
    ca: PathBuf,
}

const TLS_FRONT: &str = r#"
import http.server, ssl, sys, urllib.request
cert, key, upstream = sys.argv[1], sys.argv[2], sys.argv[3]
class Front(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with urllib.request.urlopen(upstream + self.path.lstrip("/")) as r:
            body = r.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Front)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
server.socket = tls.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

impl TlsRest {
    fn start(dir: &Path, upstream: &str) -> TlsRest {
        use std::io::BufRead;
        let openssl = |args: &[&str]| {
            let o = Command::new("openssl")
                .current_dir(dir)
                .args(args)
                .output()
                .expect("openssl");
            assert!(o.status.success(), "openssl {args:?}: {}", stderr(&o));
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=git-osa test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ]);
        let mut child = Command::new("python3")
            .current_dir(dir)
            .args(["-c", TLS_FRONT, "server.pem", "server.key", upstream])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the TLS front's port");
        TlsRest {
            child,
            port,
            ca: dir.join("ca.pem"),
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.port)
    }
}

impl Drop for TlsRest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Regression: the Change-Id lookup trusted only the public CAs compiled into git-osa,
/// while `git fetch` from the same Gerrit trusts the system's: a Gerrit with a
/// certificate of an internal CA the system trusts was refused. The system's CAs count
/// now (here through SSL_CERT_FILE, as OpenSSL and git read it; /etc/ssl/certs on Debian).
#[test]
fn the_rest_api_is_trusted_as_the_system_trusts_it() {
    let w = World::new();
    let certs = tempfile::tempdir().unwrap();
    let tls = TlsRest::start(certs.path(), &w.gerrit.rest_url());
    git(&w.user, &["config", "osa.gerritUrl", &tls.url()]);

    // A CA the system does not know: refused, for its certificate.
    let o = w
        .command(&["review", CHANGE_ID])
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("cannot reach Gerrit's REST API at {}", tls.url()))
            && err.contains("certificate"),
        "{err}"
    );
    // The system trusts it: the lookup goes through.
    let o = w
        .command(&["review", CHANGE_ID])
        .env("SSL_CERT_FILE", &tls.ca)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "Change-Id {CHANGE_ID} is change {CHANGE} of {PROJECT} (branch master) at {}",
            tls.url()
        )),
        "{err}"
    );
    stopped_at_the_container(&o);
}

/// Regression: the Gerrit remote was always the one named `gerrit`; git-review names it
/// with git config `gitreview.remote`, else `.gitreview`'s `defaultremote`.
#[test]
fn the_gerrit_remote_is_the_one_git_review_names() {
    let w = World::new();
    git(&w.user, &["remote", "rename", "gerrit", "review"]);
    let url = w.gerrit.url(PROJECT);
    let absent = |o: &Output| {
        let err = stderr(o);
        assert!(
            err.contains(&format!("no change 99999 at remote review ({url})")),
            "{err}"
        );
    };
    git(&w.user, &["config", "gitreview.remote", "review"]);
    absent(&w.git_osa(&["review", "99999"]));
    git(&w.user, &["config", "--unset", "gitreview.remote"]);
    let gitreview = std::fs::read_to_string(w.user.join(".gitreview")).unwrap();
    std::fs::write(
        w.user.join(".gitreview"),
        format!("{gitreview}defaultremote=review\n"),
    )
    .unwrap();
    absent(&w.git_osa(&["review", "99999"]));
    // And the change itself comes from there.
    let o = w.git_osa(&["review", &CHANGE.to_string()]);
    stopped_at_the_container(&o);
    assert_eq!(
        std::fs::read_to_string(w.worktree().join(MARKED)).unwrap(),
        discovery("patchset 2")
    );
}
