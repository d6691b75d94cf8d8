//! A Gerrit-shaped git server on loopback for the review stories: `git daemon` bound to
//! 127.0.0.1 on a free port, serving bare repositories in a temp dir, with each change's
//! patchsets under `refs/changes/NN/CHANGE/PS` as Gerrit keeps them. Started per test,
//! ended by its pid when dropped (the daemon's own pid: see [`Gerrit::start`]).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Gerrit {
    dir: tempfile::TempDir,
    daemon: Child,
    pub port: u16,
}

impl Gerrit {
    pub fn start() -> Gerrit {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = free_port();
            // git-daemon itself, not `git daemon`: git runs it as a child, which killing
            // `git` would leave running.
            let mut daemon = Command::new(daemon_path())
                .args([
                    "--reuseaddr",
                    "--listen=127.0.0.1",
                    &format!("--port={port}"),
                    "--export-all",
                    "--informative-errors",
                ])
                .arg(format!("--base-path={}", dir.path().display()))
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("git daemon");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if daemon.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: another one
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Gerrit { dir, daemon, port };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        panic!("git daemon did not start on 127.0.0.1");
    }

    /// What a checkout's `gerrit` remote points at.
    pub fn url(&self, project: &str) -> String {
        format!("git://127.0.0.1:{}/{project}", self.port)
    }

    fn bare(&self, project: &str) -> PathBuf {
        self.dir.path().join(format!("{project}.git"))
    }

    /// A project whose branches and tags are those of `from`.
    pub fn add_project(&self, project: &str, from: &Path) {
        let bare = self.bare(project);
        std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
        git(
            self.dir.path(),
            &[
                "clone",
                "-q",
                "--bare",
                from.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
    }

    /// Uploads `rev` of `repo` as patchset `ps` of `change`.
    pub fn upload(&self, project: &str, repo: &Path, rev: &str, change: u64, ps: u32) {
        let r = format!("refs/changes/{:02}/{change}/{ps}", change % 100);
        git(
            repo,
            &[
                "push",
                "-q",
                self.bare(project).to_str().unwrap(),
                &format!("{rev}:{r}"),
            ],
        );
    }
}

impl Drop for Gerrit {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// git's own git-daemon program (`git --exec-path`/git-daemon).
fn daemon_path() -> PathBuf {
    let out = Command::new("git").arg("--exec-path").output().unwrap();
    assert!(out.status.success(), "git --exec-path");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("git-daemon")
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// git with the test's own identity (a fresh machine has none), its output as text.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Rev Iewer")
        .env("GIT_AUTHOR_EMAIL", "rev@git-osa.invalid")
        .env("GIT_COMMITTER_NAME", "Rev Iewer")
        .env("GIT_COMMITTER_EMAIL", "rev@git-osa.invalid")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What a user sees of their own repository: `git status`, `git stash list`,
/// `git branch -a`, `git worktree list` (git-osa's own worktrees left out: the porcelain
/// form, as the plain one pads its columns to the longest path), HEAD and the index file's
/// bytes.
pub fn users_view(repo: &Path) -> String {
    let worktrees: String = git(repo, &["worktree", "list", "--porcelain"])
        .split("\n\n")
        .filter(|block| !block.contains("/.git/osa/worktrees/"))
        .map(|block| format!("{}\n\n", block.trim_end()))
        .collect();
    let status = git(repo, &["status"]);
    let index = std::fs::read(repo.join(".git/index")).unwrap();
    format!(
        "status:\n{status}\nstash:\n{}\nbranches:\n{}\nworktrees:\n{worktrees}\nHEAD: {}\nindex: {} bytes, {:x}\n",
        git(repo, &["stash", "list"]),
        git(repo, &["branch", "-a", "-vv"]),
        std::fs::read_to_string(repo.join(".git/HEAD")).unwrap(),
        index.len(),
        index
            .iter()
            .fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64)
                .wrapping_mul(0x100000001b3)),
    )
}
