//! `git osa stop` (and every command that takes the container's lock) right after a
//! commit: the checkout's own redeploy, started by its post-commit hook, may still hold
//! the container. The command waits for it rather than fail; anyone else's hold is
//! refused at once, as before.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::harness::{HostSession, User, checkout, git, git_osa, stderr};

/// Holds `locks` (flocks, the first outermost) for `secs` seconds in processes of the
/// test's (a group of their own), as a redeploy or another git-osa holds them. The group
/// is killed by its id when dropped.
struct Holder(Child);

impl Holder {
    fn new(locks: &[&std::path::Path], secs: u32) -> Holder {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("flock");
        cmd.arg(locks[0]);
        for lock in &locks[1..] {
            cmd.arg("flock").arg(lock);
        }
        cmd.args(["sleep", &secs.to_string()]).process_group(0);
        let holder = Holder(cmd.spawn().unwrap());
        // Held once /proc/locks has as many flocks of ours' files.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let held = locks
                .iter()
                .filter(|l| {
                    use std::os::unix::fs::MetadataExt;
                    let ino = std::fs::metadata(l).map(|m| m.ino()).unwrap_or(0);
                    std::fs::read_to_string("/proc/locks")
                        .unwrap()
                        .lines()
                        .any(|line| line.contains(" FLOCK ") && line.contains(&format!(":{ino} ")))
                })
                .count();
            if held == locks.len() {
                return holder;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the locks were not taken");
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // SAFETY: kill(2) of the process group this holder started (its leader's id).
        unsafe {
            libc::kill(-(self.0.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// A checkout in a detached dev session on this host, which its hooks would redeploy.
fn detached_session(repo: &std::path::Path) -> HostSession {
    let session = HostSession::new(
        repo,
        "openstack/gitosa-stop",
        serde_json::json!({
            "checkout": repo.display().to_string(),
            "detached_at": 1_700_000_000u64,
        }),
    );
    std::fs::create_dir_all(repo.join(".git/git-osa")).unwrap();
    for lock in [repo.join(".git/git-osa/lock"), session.dir().join("lock")] {
        std::fs::write(lock, "").unwrap();
    }
    session
}

/// Regression: `git osa stop` right after a commit exited 75 ("in use by another
/// git-osa ... running `git osa sync`"): the commit's own redeploy still held the
/// container. It waits for it now, saying so, and goes on.
#[test]
fn stop_waits_for_its_checkouts_redeploy_and_not_for_anyone_else() {
    let repo = checkout("openstack/gitosa-stop");
    let r = repo.path();
    let session = detached_session(r);
    let user = User::new();
    let hooks_lock = r.join(".git/git-osa/lock");
    let container_lock = session.dir().join("lock");

    // The checkout's redeploy: its lock, and the container's, for 3 s.
    let redeploy = Holder::new(&[&hooks_lock, &container_lock], 3);
    let start = Instant::now();
    let o = user.git_osa(r, &["stop"], &session.env());
    let took = start.elapsed();
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{e}");
    assert!(
        e.contains(&format!(
            "git-osa: waiting for this checkout's redeploy to end (pid {}: flock ",
            redeploy.0.id()
        )) && e.contains("), up to 60 s\n"),
        "{e}"
    );
    assert!(e.contains("nothing to stop"), "{e}");
    assert!(took >= Duration::from_secs(2), "{took:?}");
    drop(redeploy);

    // Another git-osa (no redeploy of this checkout) holds the container: refused at once.
    let other = Holder::new(&[&container_lock], 30);
    let start = Instant::now();
    let o = user.git_osa(r, &["stop"], &session.env());
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(!stderr(&o).contains("waiting"), "{}", stderr(&o));
    assert!(start.elapsed() < Duration::from_secs(5));
    drop(other);
}

/// The redeploy a hook starts runs `git osa sync`, which must not wait for the redeploy
/// it is part of: with the container held by another git-osa, it fails at once (and says
/// so in the hooks' last outcome) instead of waiting for itself.
#[test]
fn a_hooks_own_sync_does_not_wait_for_itself() {
    let user = User::new();
    let repo = checkout("openstack/gitosa-stop");
    let r = repo.path();
    let session = detached_session(r);
    let o = user.git_osa(r, &["hooks", "install"], &session.env());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let other = Holder::new(&[&session.dir().join("lock")], 60);

    std::fs::write(r.join("a.py"), "a = 1\n").unwrap();
    git(r, &["add", "a.py"]);
    let env = session.env();
    let start = Instant::now();
    user.git_with(r, &["commit", "-q", "-m", "a"], &env);
    let last = r.join(".git/git-osa/last");
    while !last.exists() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&last).unwrap_or_default();
    assert!(
        text.starts_with("failed `git osa sync` exited with exit status: 75"),
        "{text:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    drop(other);
}

/// Regression: `git osa sync` from another checkout silently took over a
/// linked worktree's session. Without a terminal it refuses, saying whose it is; with
/// --force it goes on.
#[test]
fn sync_into_a_session_another_checkout_started_is_refused_without_a_terminal() {
    let repo = checkout("openstack/gitosa-stop");
    let other = tempfile::tempdir().unwrap();
    let session = HostSession::new(
        repo.path(),
        "openstack/gitosa-stop",
        serde_json::json!({
            "checkout": other.path().display().to_string(),
            "detached_at": 1_700_000_000u64,
        }),
    );
    let record = std::fs::read(session.dir().join("session.json")).unwrap();
    let o = git_osa(repo.path(), &["sync"], &session.env());
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!(
            "aio1 runs the checkout at {} (its dev session started there): nothing was changed",
            other.path().display()
        )) && e.contains("pass --force"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(session.dir().join("session.json")).unwrap(),
        record
    );
}
