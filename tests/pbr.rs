//! `PBR_VERSION` as pbr itself computes it: the same repositories (tags, pre-releases,
//! `Sem-Ver:` footers in pbr's own spellings) through git-osa's reading and through pbr's
//! `packaging._get_version_from_git`, in a venv made here with pbr from PyPI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?}");
}

/// A python with pbr, made once and kept in cargo's target folder for the next runs.
fn pbr_python() -> &'static PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pbr-venv");
        let py = dir.join("bin/python");
        let have = Command::new(&py)
            .args(["-c", "import pbr"])
            .status()
            .is_ok_and(|s| s.success());
        if have {
            return py;
        }
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "pbr",
                ])
                .env_remove("PIP_NO_INDEX")
                .status()
                .is_ok_and(|s| s.success());
        assert!(ok, "could not make a venv with pbr in {}", dir.display());
        py
    })
}

fn pbr_says(repo: &Path) -> String {
    let o = Command::new(pbr_python())
        .args([
            "-c",
            "from pbr import packaging; print(packaging._get_version_from_git())",
        ])
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn git_osa_says(repo: &Path) -> String {
    let r = git2::Repository::open(repo).unwrap();
    git_osa::pbr::version(&r).unwrap()
}

/// Builds a repository from `steps` (`tag:NAME` or a commit message) and compares.
fn same_as_pbr(steps: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "master"]);
    for step in steps {
        match step.strip_prefix("tag:") {
            Some(t) => git(dir.path(), &["tag", "-a", t, "-m", t]),
            None => git(dir.path(), &["commit", "-q", "--allow-empty", "-m", step]),
        }
    }
    assert_eq!(git_osa_says(dir.path()), pbr_says(dir.path()), "{steps:?}");
}

#[test]
fn versions_are_pbrs_for_tags_distance_and_sem_ver_footers() {
    let cases: &[&[&str]] = &[
        &["Init"],
        &["Init", "Two"],
        &["Init", "tag:1.2.3"],
        &["Init", "tag:1.2.3", "Fix"],
        &["Init", "tag:1.2.3", "Fix", "Fix again"],
        &["Init", "tag:1.2.3", "Add\n\nSem-Ver: feature"],
        &["Init", "tag:1.2.3", "Add\n\nsem-ver: Feature"],
        &["Init", "tag:1.2.3", "Deprecate\n\nSem-Ver: deprecation"],
        &["Init", "tag:1.2.3", "Break\n\nSEM-VER: api-break"],
        &["Init", "tag:1.2.3", "Both\n\nSem-Ver: feature, api-break"],
        &["Init", "tag:1.2.3", "Fix\n\nSem-Ver: bugfix"],
        &["Init", "tag:2.0.0.0rc1", "Fix"],
        &["Init", "tag:30.0.0", "Say which code answers /v3"],
    ];
    for steps in cases {
        same_as_pbr(steps);
    }
}
