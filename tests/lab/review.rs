//! The reviewer's story: a keystone change with two patchsets on a Gerrit-shaped git
//! server on loopback (`tests/gerrit`), reviewed with `git osa review` from a checkout
//! that holds work of the reviewer's own. Patchset 2 serves through HAProxy, then
//! patchset 1 with only the differing files sent; status names the change; restore gives
//! production back; `review --clean` takes git-osa's worktree and refs away; the
//! reviewer's repository is the same from start to end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::gerrit::{Gerrit, git, users_view};
use crate::harness::{Lab, Node, PINNED, edit};

const CHANGE: &str = "12345";

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_reviewer_runs_patchset_2_then_1_and_their_own_tree_stays_as_it_was() {
    let lab = Lab::get();
    let production = lab.production();
    let dir = tempfile::tempdir().unwrap();
    let story = Review::new(&lab, dir.path());
    let view = users_view(&story.user);

    let first = story.patchset_2_serves_through_haproxy();
    story.status_names_the_change(2, "; the latest");
    let switch = story.patchset_1_sends_only_the_files_that_differ();
    story.status_names_the_change(1, "; patchset 2 is out: `git osa review 12345` deploys it");
    // Without --online, status asks nobody.
    let o = lab.run(&story.user, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("review   change 12345 patchset 1\n"), "{out}");

    story.clean_keeps_the_deployed_change();

    let o = lab.run(&story.user, &["restore"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    lab.assert_production_back(&production, &[story.target]);
    assert!(
        err.contains("change 12345: worktree and 2 ref(s) removed"),
        "{err}"
    );
    story.nothing_of_git_osa_is_left();
    let baseline = story.git_review_d_then_git_osa();
    let o = lab.run(&story.user, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&production, &[story.target]);
    assert_eq!(
        users_view(&story.user),
        view,
        "the reviewer's repository changed"
    );
    eprintln!(
        "timing: git osa review to served {first:?}; switch to patchset 1 to served {switch:?}; \
         git review -d's fetch and checkout, then git osa, to served {baseline:?}"
    );
}

struct Review<'a> {
    lab: &'a Lab,
    /// Serves the change for as long as the story runs.
    _gerrit: Gerrit,
    user: PathBuf,
    target: &'a Node,
}

impl<'a> Review<'a> {
    /// The lab's keystone on the server, change 12345: patchset 1 says `review-ps1` on
    /// /v3; patchset 2 says `review-ps2` and also edits the README. The reviewer's
    /// checkout has the server as its `gerrit` remote, a branch of their own, a stash
    /// entry, an edit and an untracked file.
    fn new(lab: &'a Lab, dir: &Path) -> Review<'a> {
        let user = keystone_checkout(dir);
        let gerrit = Gerrit::start();
        gerrit.add_project("openstack/keystone", &user);
        let upstream = dir.join("upstream");
        git(
            dir,
            &[
                "clone",
                "-q",
                user.to_str().unwrap(),
                upstream.to_str().unwrap(),
            ],
        );
        let change_id = "Change-Id: I5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
        edit(&upstream, "review-ps1");
        git(
            &upstream,
            &[
                "commit",
                "-q",
                "-am",
                &format!("Say review-ps1\n\n{change_id}\n"),
            ],
        );
        gerrit.upload("openstack/keystone", &upstream, "HEAD", 12345, 1);
        edit(&upstream, "review-ps2");
        let readme = upstream.join("README.rst");
        let mut text = std::fs::read_to_string(&readme).unwrap();
        text.push_str("\nReviewed with git osa.\n");
        std::fs::write(&readme, text).unwrap();
        git(
            &upstream,
            &[
                "commit",
                "-q",
                "-a",
                "--amend",
                "-m",
                &format!("Say review-ps2\n\n{change_id}\n"),
            ],
        );
        gerrit.upload("openstack/keystone", &upstream, "HEAD", 12345, 2);

        git(
            &user,
            &["remote", "add", "gerrit", &gerrit.url("openstack/keystone")],
        );
        git(&user, &["checkout", "-q", "-b", "my-work"]);
        edit(&user, "my-work");
        git(&user, &["commit", "-q", "-am", "my work"]);
        edit(&user, "stashed");
        git(&user, &["stash", "-q"]);
        edit(&user, "editing");
        std::fs::write(user.join("notes.txt"), "untracked\n").unwrap();
        Review {
            lab,
            _gerrit: gerrit,
            user,
            target: &lab.new,
        }
    }

    fn served(&self, marker: &str) {
        let lab = self.lab;
        lab.wait(
            &format!("{marker} through HAProxy"),
            Duration::from_secs(30),
            || lab.http(&format!("{}/v3", lab.frontend)).1.contains(marker),
        );
        for _ in 0..10 {
            let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
            assert!(h.starts_with("HTTP/1.1 200"), "{h}");
            assert!(
                body.contains(&format!("\"status\": \"{marker}\"")),
                "{body}"
            );
        }
    }

    fn patchset_2_serves_through_haproxy(&self) -> Duration {
        let lab = self.lab;
        let mut run = lab.start(
            &self.user,
            &["review", CHANGE, "--container", &self.target.name],
        );
        run.wait_for(PINNED, Duration::from_secs(240));
        let t = run.started.elapsed();
        self.served("review-ps2");
        let out = run.output();
        assert!(
            out.contains(
                "change 12345 patchset 2: Say review-ps2 (Rev Iewer <rev@git-osa.invalid>)"
            ),
            "{out}"
        );
        run.signal(libc::SIGINT);
        assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
        t
    }

    /// Between the two patchsets, discovery.py and README.rst differ: the sync sends
    /// those two files, and pip has nothing to do.
    fn patchset_1_sends_only_the_files_that_differ(&self) -> Duration {
        let lab = self.lab;
        let mut run = lab.start(
            &self.user,
            &[
                "review",
                &format!("{CHANGE},1"),
                "--container",
                &self.target.name,
            ],
        );
        run.wait_for(PINNED, Duration::from_secs(120));
        let t = run.started.elapsed();
        let out = run.output();
        let sync = out
            .lines()
            .find(|l| l.contains("sync the checkout to"))
            .unwrap_or_else(|| panic!("no sync line:\n{out}"));
        let bytes = std::fs::metadata(self.worktree().join("keystone/api/discovery.py"))
            .unwrap()
            .len()
            + std::fs::metadata(self.worktree().join("README.rst"))
                .unwrap()
                .len();
        assert!(
            sync.contains(&format!("(2 changed, 0 deleted, {bytes} bytes)")),
            "{sync}"
        );
        assert!(
            out.contains("install the checkout into the venv: skipped"),
            "{out}"
        );
        eprintln!("patchset switch: {sync}");
        self.served("review-ps1");
        run.signal(libc::SIGINT);
        assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
        t
    }

    fn status_names_the_change(&self, ps: u32, newer: &str) {
        let (code, block, err) = self.lab.status_with(&self.user, self.target, &["--online"]);
        assert_eq!(code, Some(0), "{err}");
        let lines: Vec<&str> = block.lines().collect();
        for want in [
            format!("  review   change 12345 patchset {ps}{newer}"),
            format!("  subject  Say review-ps{ps}"),
            "  owner    Rev Iewer <rev@git-osa.invalid>".to_string(),
        ] {
            assert!(lines.contains(&want.as_str()), "{want:?} in\n{block}");
        }
    }

    fn worktree(&self) -> PathBuf {
        self.user.join(".git/osa/worktrees").join(CHANGE)
    }

    /// After restore no container runs the change: --clean takes its worktree and refs.
    /// The way before `git osa review`, timed the same way from production: what `git
    /// review -d 12345` does with git (fetch the patchset, check it out on a new branch,
    /// in the reviewer's own tree: a clone here, so the story's tree stays untouched;
    /// git-review's REST query is left out, so this is its lower bound), then `git osa`.
    fn git_review_d_then_git_osa(&self) -> Duration {
        let lab = self.lab;
        let other = self.user.parent().unwrap().join("keystone-git-review");
        git(
            self.user.parent().unwrap(),
            &[
                "clone",
                "-q",
                self.user.to_str().unwrap(),
                other.to_str().unwrap(),
            ],
        );
        git(
            &other,
            &[
                "remote",
                "add",
                "gerrit",
                &self._gerrit.url("openstack/keystone"),
            ],
        );
        let start = std::time::Instant::now();
        git(
            &other,
            &["fetch", "-q", "gerrit", "refs/changes/45/12345/2"],
        );
        git(
            &other,
            &[
                "checkout",
                "-q",
                "-b",
                "review/rev_iewer/12345",
                "FETCH_HEAD",
            ],
        );
        let mut run = lab.start(&other, &["--container", &self.target.name]);
        run.wait_for(PINNED, Duration::from_secs(240));
        let t = start.elapsed();
        self.served("review-ps2");
        run.signal(libc::SIGINT);
        assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
        t
    }

    /// While a container runs the change, --clean keeps its worktree and refs.
    fn clean_keeps_the_deployed_change(&self) {
        let refs = git(&self.user, &["for-each-ref", "refs/osa"]);
        let o = self.lab.run(&self.user, &["review", "--clean"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(err.contains("change 12345: deployed, kept"), "{err}");
        assert!(self.worktree().join("README.rst").exists());
        assert_eq!(git(&self.user, &["for-each-ref", "refs/osa"]), refs);
    }

    /// Restore took git-osa's worktree and refs away: --clean has nothing left to do.
    fn nothing_of_git_osa_is_left(&self) {
        let o = self.lab.run(&self.user, &["review", "--clean"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(
            err.contains("git-osa holds no change in this repository"),
            "{err}"
        );
        assert!(!self.worktree().exists());
        assert_eq!(git(&self.user, &["for-each-ref", "refs/osa"]), "");
        assert!(
            !git(&self.user, &["worktree", "list", "--porcelain"]).contains("/.git/osa/"),
            "git still lists git-osa's worktree"
        );
    }
}

/// The library the `--with` story changes: oslo.middleware, whose RequestId middleware
/// keystone runs on every request (it names the `x-openstack-request-id` header).
pub(crate) const LIBRARY: &str = "oslo.middleware";
const RENAMED_HEADER: &str = "x-git-osa-with-request-id";

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_library_checkout_runs_inside_keystone_with_with_and_restore_takes_it_out() {
    let lab = Lab::get();
    let production = lab.production();
    let target = &lab.new;
    let dir = tempfile::tempdir().unwrap();
    let user = keystone_checkout(dir.path());
    let lib = library_checkout(&lab, target, dir.path());
    let (h, _) = lab.http(&format!("{}/v3", lab.frontend));
    assert!(h.contains("x-openstack-request-id"), "{h}");

    let lib_arg = lib.to_str().unwrap();
    let mut run = lab.start(&user, &["--with", lib_arg, "--container", &target.name]);
    run.wait_for(PINNED, Duration::from_secs(240));
    let out = run.output();
    assert!(
        out.contains(&format!("install {LIBRARY} into the venv, editable")),
        "{out}"
    );
    // Every answer through HAProxy went through the library's changed middleware.
    for _ in 0..10 {
        let (h, _) = lab.http(&format!("{}/v3", lab.frontend));
        assert!(h.starts_with("HTTP/1.1 200"), "{h}");
        assert!(h.to_lowercase().contains(RENAMED_HEADER), "{h}");
    }
    // What the venv imports, asked inside the container.
    let venv_python = format!("{}/bin/python", lab.venv);
    let o = lab.attach(
        target,
        &[&venv_python, "-c", "import oslo_middleware.request_id as r; print(r.__file__); print(r.HTTP_RESP_HEADER_REQUEST_ID)"],
    );
    let seen = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        seen,
        format!(
            "/var/lib/git-osa/keystone/with/{LIBRARY}/src/oslo_middleware/request_id.py\n{RENAMED_HEADER}\n"
        ),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (code, block, err) = lab.status_of(&user, target);
    assert_eq!(code, Some(0), "{err}");
    let head = git(&lib, &["rev-parse", "HEAD"]);
    assert!(
        block.contains(&format!(
            "with     {LIBRARY} from {} at {}, editable in the venv until restore",
            lib.display(),
            &head.trim()[..12]
        )),
        "{block}"
    );
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());

    // A second run with an edit of the library: that one file travels, no pip.
    let file = lib.join("oslo_middleware/request_id.py");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace(RENAMED_HEADER, "x-git-osa-with-2")).unwrap();
    let mut run = lab.start(&user, &["--with", lib_arg, "--container", &target.name]);
    run.wait_for(PINNED, Duration::from_secs(120));
    let out = run.output();
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(
        out.contains(&format!("sync {LIBRARY} to /var/lib/git-osa/keystone/with/{LIBRARY}/src (1 changed, 0 deleted, {size} bytes)")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "install {LIBRARY} into the venv, editable: skipped"
        )),
        "{out}"
    );
    let (h, _) = lab.http(&format!("{}/v3", lab.frontend));
    assert!(h.to_lowercase().contains("x-git-osa-with-2"), "{h}");
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());

    // Detached: `git osa sync` sends an edit of the library too, and the workers it
    // reloads run it. Their master imported the libraries the app needs before forking
    // them, but never a synced one: it would have kept serving the old header.
    let o = lab.run(
        &user,
        &[
            "run",
            "--detach",
            "--with",
            lib_arg,
            "--container",
            &target.name,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let master = || {
        lab.sh(
            target,
            "systemctl show -p MainPID --value git-osa-dev-keystone-wsgi-public.service",
        )
    };
    let before = master();
    std::fs::write(&file, text.replace(RENAMED_HEADER, "x-git-osa-with-3")).unwrap();
    let o = lab.run(&user, &["sync"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "sync {LIBRARY} to /var/lib/git-osa/keystone/with/{LIBRARY}/src (1 changed, 0 deleted"
        )),
        "{err}"
    );
    assert!(
        err.contains("reloading keystone-wsgi-public's uWSGI workers"),
        "{err}"
    );
    let (h, _) = lab.http(&format!("{}/v3", lab.frontend));
    assert!(h.to_lowercase().contains("x-git-osa-with-3"), "{h}");
    assert_eq!(master(), before, "the unit was restarted, not reloaded");
    // A watcher follows the library's checkout too: a save there is served.
    let o = lab.run(&user, &["watch", "--detach", "--container", &target.name]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(&file, text.replace(RENAMED_HEADER, "x-git-osa-with-4")).unwrap();
    lab.wait(
        "the library's saved edit through HAProxy",
        Duration::from_secs(60),
        || {
            let (h, _) = lab.http(&format!("{}/v3", lab.frontend));
            h.to_lowercase().contains("x-git-osa-with-4")
        },
    );
    lab.wait("the watcher's sync line", Duration::from_secs(10), || {
        let o = lab.run(&user, &["logs", "--watch"]);
        String::from_utf8_lossy(&o.stdout)
            .contains(&format!("{LIBRARY}: oslo_middleware/request_id.py: ok in "))
    });
    // `restore --all`, from outside any checkout, ends the session's watcher too.
    let pid = std::fs::read_to_string(user.join(".git/git-osa/watch.pid")).unwrap();
    let pid: u32 = pid.split_whitespace().next().unwrap().parse().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let o = lab.run(elsewhere.path(), &["restore", "--all"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains(&format!("the watcher was pid {pid}")), "{err}");
    assert!(!crate::watch::alive(pid), "the watcher runs on");
    // pip freeze --all and every venv file as before; the header is production's again.
    lab.assert_production_back(&production, &[target]);
    let (h, _) = lab.http(&format!("{}/v3", lab.frontend));
    assert!(
        h.contains("x-openstack-request-id") && !h.contains("x-git-osa"),
        "{h}"
    );
}

/// oslo.middleware as a developer's checkout of it would be: its package and
/// entry points as the venv has them (read from the container), a pbr setup, tagged with
/// its version, and one commit on top that renames the request id header.
pub(crate) fn library_checkout(lab: &Lab, node: &Node, dir: &Path) -> PathBuf {
    let o = lab.attach(
        node,
        &[
            "sh",
            "-c",
            r#"cd "$1"/lib/python3*/site-packages && tar -cf - --exclude=__pycache__ oslo_middleware oslo_middleware-*.dist-info"#,
            "read-library",
            &lab.venv,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lib = dir.join(LIBRARY);
    std::fs::create_dir_all(&lib).unwrap();
    tar_unpack(&o.stdout, &lib);
    let info = std::fs::read_dir(&lib)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "dist-info"))
        .unwrap();
    let version = info
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_start_matches("oslo_middleware-")
        .trim_end_matches(".dist-info")
        .to_string();
    let entry_points = std::fs::read_to_string(info.join("entry_points.txt")).unwrap();
    let requirements: String = std::fs::read_to_string(info.join("METADATA"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("Requires-Dist: "))
        .filter(|r| !r.contains(';'))
        .map(|r| format!("{r}\n"))
        .collect();
    std::fs::remove_dir_all(&info).unwrap();
    // entry_points.txt's sections, as pbr reads them from setup.cfg.
    let mut cfg = format!(
        "[metadata]\nname = {LIBRARY}\n\n[files]\npackages =\n    oslo_middleware\n\n[entry_points]\n"
    );
    let mut group = String::new();
    for line in entry_points.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(g) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            group = g.to_string();
            cfg.push_str(&format!("{group} =\n"));
        } else {
            assert!(!group.is_empty(), "{entry_points}");
            cfg.push_str(&format!("    {}\n", line.trim()));
        }
    }
    std::fs::write(lib.join("setup.cfg"), cfg).unwrap();
    std::fs::write(
        lib.join("setup.py"),
        "import setuptools\n\nsetuptools.setup(setup_requires=['pbr>=2.0.0'], pbr=True)\n",
    )
    .unwrap();
    std::fs::write(lib.join("requirements.txt"), requirements).unwrap();
    git(dir, &["init", "-q", "-b", "master", lib.to_str().unwrap()]);
    git(&lib, &["add", "."]);
    git(
        &lib,
        &["commit", "-q", "-m", &format!("{LIBRARY} {version}")],
    );
    git(&lib, &["tag", "-a", "-m", &version, &version]);
    let file = lib.join("oslo_middleware/request_id.py");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("'x-openstack-request-id'"), "{text}");
    std::fs::write(
        &file,
        text.replace("'x-openstack-request-id'", &format!("'{RENAMED_HEADER}'")),
    )
    .unwrap();
    git(
        &lib,
        &[
            "commit",
            "-q",
            "-am",
            &format!("Rename the request id header\n\nChange-Id: {LIBRARY_CHANGE_ID}\n"),
        ],
    );
    lib
}

/// The Change-Id of the library's change, which the keystone change's footer names.
const LIBRARY_CHANGE_ID: &str = "I4242424242424242424242424242424242424242";

/// The lab's keystone checkout, with history, in `dir`/keystone.
pub(crate) fn keystone_checkout(dir: &Path) -> PathBuf {
    let user = dir.join("keystone");
    let st = Command::new("tests/lab/lab")
        .arg("checkout")
        .arg(&user)
        .status()
        .unwrap();
    assert!(st.success(), "tests/lab/lab checkout");
    user
}

fn tar_unpack(data: &[u8], into: &Path) {
    let mut child = Command::new("tar")
        .args(["-x", "-f", "-", "-C"])
        .arg(into)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), data).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

/// A keystone change whose `Depends-On:` names an oslo.middleware change by its Change-Id
/// (looked up with Gerrit's REST API, the test's on loopback): both are
/// fetched (the library in its checkout beside keystone's), the library is installed into
/// keystone's venv before keystone, and both changes answer through HAProxy.
#[test]
#[ignore = "needs the lab: tests/run"]
fn a_change_runs_with_the_library_change_its_depends_on_names() {
    let lab = Lab::get();
    let production = lab.production();
    let target = &lab.new;
    let dir = tempfile::tempdir().unwrap();
    let user = keystone_checkout(dir.path());
    let gerrit = Gerrit::start();
    gerrit.add_project("openstack/keystone", &user);
    git(
        &user,
        &["remote", "add", "gerrit", &gerrit.url("openstack/keystone")],
    );
    // The footer names the library's change by Change-Id: Gerrit's REST API (the test's,
    // on loopback) says which change that is.
    git(&user, &["config", "osa.gerritUrl", &gerrit.rest_url()]);

    // The library's change is the last commit of the made-up checkout; the project holds
    // the commit before it.
    let lib_upstream = library_checkout(&lab, target, &dir.path().join("upstream"));
    git(&lib_upstream, &["checkout", "-q", "HEAD~1"]);
    gerrit.add_project("openstack/oslo.middleware", &lib_upstream);
    git(&lib_upstream, &["checkout", "-q", "master"]);
    gerrit.upload("openstack/oslo.middleware", &lib_upstream, "HEAD", 4242, 1);
    let beside = dir.path().join(LIBRARY);
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--origin",
            "gerrit",
            &gerrit.url("openstack/oslo.middleware"),
            beside.to_str().unwrap(),
        ],
    );

    let upstream = dir.path().join("ks-upstream");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            user.to_str().unwrap(),
            upstream.to_str().unwrap(),
        ],
    );
    edit(&upstream, "depends-on");
    git(
        &upstream,
        &[
            "commit",
            "-q",
            "-am",
            &format!("Needs the renamed header\n\nDepends-On: {LIBRARY_CHANGE_ID}\n"),
        ],
    );
    gerrit.upload("openstack/keystone", &upstream, "HEAD", 777, 1);
    let view = users_view(&user);
    let lib_view = users_view(&beside);

    let mut run = lab.start(&user, &["review", "777", "--container", &target.name]);
    run.wait_for(PINNED, Duration::from_secs(240));
    let out = run.output();
    let lib_wt = beside.join(".git/osa/worktrees/4242");
    assert!(
        out.contains(&format!(
            "Depends-On: {LIBRARY_CHANGE_ID} is change 4242 of openstack/oslo.middleware (branch master) at {}",
            gerrit.rest_url()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Depends-On: openstack/oslo.middleware change 4242 patchset 1: Rename the request id header, checked out in {}",
            lib_wt.display()
        )),
        "{out}"
    );
    let at = |t: &str| out.find(t).unwrap_or_else(|| panic!("{t} in\n{out}"));
    assert!(
        at(&format!("install {LIBRARY} into the venv, editable"))
            < at("install the checkout into the venv")
    );
    for _ in 0..10 {
        let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
        assert!(body.contains("\"status\": \"depends-on\""), "{body}");
        assert!(h.to_lowercase().contains(RENAMED_HEADER), "{h}");
    }
    let o = lab.attach(
        target,
        &[
            &format!("{}/bin/python", lab.venv),
            "-c",
            "import oslo_middleware; print(oslo_middleware.__file__)",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("/var/lib/git-osa/keystone/with/{LIBRARY}/src/oslo_middleware/__init__.py\n")
    );
    let (code, block, err) = lab.status_of(&user, target);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        block
            .lines()
            .any(|l| l == "  depends  openstack/oslo.middleware change 4242 patchset 1: Rename the request id header"),
        "{block}"
    );
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());

    let o = lab.run(&user, &["restore"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    lab.assert_production_back(&production, &[target]);
    // Restore took git-osa's worktrees and refs away, in both checkouts.
    assert!(
        err.contains(&format!(
            "change 4242 (Depends-On of 777, in {}): worktree and 1 ref(s) removed",
            beside.display()
        )),
        "{err}"
    );
    assert!(!lib_wt.exists());
    assert_eq!(git(&beside, &["for-each-ref", "refs/osa"]), "");
    assert_eq!(git(&user, &["for-each-ref", "refs/osa"]), "");
    assert_eq!(
        users_view(&user),
        view,
        "the reviewer's keystone checkout changed"
    );
    assert_eq!(
        users_view(&beside),
        lib_view,
        "the reviewer's library checkout changed"
    );
}
