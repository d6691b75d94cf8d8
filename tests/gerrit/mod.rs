//! A Gerrit-shaped git server on loopback for the review stories: `git daemon` bound to
//! 127.0.0.1 on a free port, serving bare repositories in a temp dir, with each change's
//! patchsets under `refs/changes/NN/CHANGE/PS` as Gerrit keeps them. Started per test,
//! ended by its pid when dropped (the daemon's own pid: see [`Gerrit::start`]).
//!
//! Beside it, the part of Gerrit's REST API git-osa asks (`GET /changes/?q=change:ID`): a
//! plain HTTP server on another loopback port, a thread of the test, answering from the
//! same bare repositories (the changes whose latest patchset's message carries the
//! Change-Id), with Gerrit's `)]}'` prefix. Every change is owned by [`OWNER`], the
//! account the uploads are made as; [`Gerrit::set_meta`] gives one change another branch
//! or status. Anything outside `/changes/` answers an HTML page, as a web server that is
//! not Gerrit would.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The owner of every change on the test's Gerrit: not the commits' author, so a test
/// tells the two apart.
pub const OWNER: (&str, &str) = ("Up Loader", "uploader@git-osa.invalid");

pub struct Gerrit {
    dir: tempfile::TempDir,
    daemon: Child,
    pub port: u16,
    rest: Rest,
}

/// A change's branch and status, as the REST answer gives them.
#[derive(Clone)]
struct Meta {
    branch: String,
    status: String,
}

type Metas = Arc<Mutex<BTreeMap<u64, Meta>>>;

/// The REST server's thread, stopped and joined when dropped.
struct Rest {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    meta: Metas,
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
                    let rest = Rest::start(dir.path().to_path_buf());
                    return Gerrit {
                        dir,
                        daemon,
                        port,
                        rest,
                    };
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

    /// The base URL of the REST API (what `osa.gerritUrl` is set to).
    pub fn rest_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.rest.port)
    }

    /// Gives `change` another branch or status than `master` and `NEW`.
    #[allow(dead_code)] // tests/review.rs asks it; the lab's stories do not
    pub fn set_meta(&self, change: u64, branch: &str, status: &str) {
        self.rest.meta.lock().unwrap().insert(
            change,
            Meta {
                branch: branch.into(),
                status: status.into(),
            },
        );
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

impl Rest {
    fn start(repos: PathBuf) -> Rest {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let meta: Metas = Arc::default();
        let thread = {
            let (stop, meta) = (stop.clone(), meta.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        let _ = answer(conn, &repos, &meta);
                    }
                }
            })
        };
        Rest {
            port,
            stop,
            thread: Some(thread),
            meta,
        }
    }
}

impl Drop for Rest {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept up.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One HTTP/1.1 request, one answer, then the connection closes.
fn answer(conn: TcpStream, repos: &Path, meta: &Metas) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let target = request.split_whitespace().nth(1).unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let q = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("q="))
        .map(percent_decode)
        .unwrap_or_default();
    let (status, kind, body) = if path != "/changes/" {
        (
            "200 OK",
            "text/html",
            "<html><body>Not Gerrit</body></html>\n".to_string(),
        )
    } else if let Some(id) = q.strip_prefix("change:") {
        let found = changes_with(repos, id, &meta.lock().unwrap());
        (
            "200 OK",
            "application/json; charset=UTF-8",
            format!(")]}}'\n{}\n", serde_json::Value::Array(found)),
        )
    } else {
        (
            "400 Bad Request",
            "text/plain",
            format!("cannot answer q={q}\n"),
        )
    };
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The ChangeInfo of each change, in every bare repository under `repos`, whose latest
/// patchset's commit message has the footer `Change-Id: <id>`, or whose number `id` is.
fn changes_with(repos: &Path, id: &str, meta: &BTreeMap<u64, Meta>) -> Vec<serde_json::Value> {
    let mut bares = Vec::new();
    let mut dirs = vec![repos.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "git") {
                bares.push(p);
            } else if p.is_dir() {
                dirs.push(p);
            }
        }
    }
    bares.sort();
    let mut out = Vec::new();
    for bare in bares {
        let project = bare
            .strip_prefix(repos)
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".git")
            .to_string();
        // change -> (latest patchset, its ref)
        let mut latest: BTreeMap<u64, (u32, String)> = BTreeMap::new();
        for r in git(
            &bare,
            &["for-each-ref", "--format=%(refname)", "refs/changes"],
        )
        .lines()
        {
            let parts: Vec<&str> = r.split('/').collect();
            if let [_, _, _, change, ps] = parts[..]
                && let (Ok(c), Ok(p)) = (change.parse::<u64>(), ps.parse::<u32>())
                && latest.get(&c).is_none_or(|(have, _)| *have < p)
            {
                latest.insert(c, (p, r.to_string()));
            }
        }
        for (change, (_, r)) in latest {
            let message = git(&bare, &["log", "-1", "--format=%B", &r]);
            let change_id = message
                .lines()
                .filter_map(|l| l.trim().strip_prefix("Change-Id: "))
                .next_back()
                .unwrap_or_default()
                .to_string();
            if change_id != id && change.to_string() != id {
                continue;
            }
            let m = meta.get(&change).cloned().unwrap_or(Meta {
                branch: "master".into(),
                status: "NEW".into(),
            });
            out.push(serde_json::json!({
                "id": format!("{}~{}~{change_id}", project.replace('/', "%2F"), m.branch),
                "project": project,
                "branch": m.branch,
                "change_id": change_id,
                "subject": message.lines().next().unwrap_or_default(),
                "status": m.status,
                "_number": change,
                "owner": {"_account_id": 1000001, "name": OWNER.0, "email": OWNER.1},
            }));
        }
    }
    out
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
