//! The git hooks that redeploy on commit: installing them beside the user's own hooks,
//! and what they start.
//!
//! The scripts are the repository's top-level `hooks/`, embedded here. Each calls the
//! hook it replaced (kept as `<hook>.git-osa-saved`), then `git osa hooks fire`, which
//! only marks a redeploy as wanted and starts a worker in the background: the hook
//! returns at once. The worker holds a lock (one redeploy at a time, per checkout) and
//! runs `git osa sync` while redeploys are wanted, so a burst of hooks (a rebase) becomes
//! at most two redeploys, the last of the final tree. Its output goes to the hook log
//! (`git osa logs --hooks`), its outcome to a file the next hook reads.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;

use crate::error::{Error, Result};

/// The hooks, as git names them, with their scripts.
pub const HOOKS: [(&str, &str); 4] = [
    ("post-commit", include_str!("../../hooks/post-commit")),
    ("post-merge", include_str!("../../hooks/post-merge")),
    ("post-checkout", include_str!("../../hooks/post-checkout")),
    ("post-rewrite", include_str!("../../hooks/post-rewrite")),
];

/// The line every git-osa hook has: how an installed hook is told from the user's own.
const MARK: &str = "# git-osa hook (";

/// Where the hook that was there before is kept while git-osa's replaces it.
pub fn saved(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".git-osa-saved");
    path.with_file_name(name)
}

pub fn is_ours(path: &Path) -> bool {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).contains(MARK))
        .unwrap_or(false)
}

/// One of git-osa's hooks in the hooks folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookState {
    /// git-osa's; `chained` when it replaced a hook of the user's, which runs first.
    Installed {
        chained: bool,
    },
    /// A hook that is not git-osa's.
    Other,
    Absent,
}

/// One checkout's hooks: the folder git runs them from (core.hooksPath, or the common
/// git folder's `hooks/`, shared by its worktrees), and git-osa's own state for this
/// worktree (in its git folder: each worktree deploys its own files).
#[derive(Debug, Clone)]
pub struct Hooks {
    pub dir: PathBuf,
    pub state: PathBuf,
    /// The worktree's top folder.
    pub root: PathBuf,
}

impl Hooks {
    /// Asks git itself where the hooks are, so that core.hooksPath and worktrees mean
    /// exactly what they mean to git.
    pub fn of(cwd: &Path) -> Result<Hooks> {
        let out = Command::new("git")
            .args([
                "rev-parse",
                "--path-format=absolute",
                "--git-path",
                "hooks",
                "--git-dir",
                "--show-toplevel",
            ])
            .current_dir(cwd)
            .stderr(Stdio::piped())
            .output()
            .context("running git rev-parse")?;
        if !out.status.success() {
            return Err(Error::user(format!(
                "not in a git checkout: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
            .hint("run it from the checkout of the service"));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines().map(PathBuf::from);
        let (Some(dir), Some(git_dir), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(anyhow::anyhow!("unexpected git rev-parse output: {text}").into());
        };
        Ok(Hooks {
            dir,
            state: git_dir.join("git-osa"),
            root,
        })
    }

    pub fn log(&self) -> PathBuf {
        self.state.join("hooks.log")
    }
    pub fn pending(&self) -> PathBuf {
        self.state.join("pending")
    }
    pub fn lock(&self) -> PathBuf {
        self.state.join("lock")
    }
    /// How the last redeploy ended: `ok <commit>` or `failed <why>`.
    pub fn last(&self) -> PathBuf {
        self.state.join("last")
    }
    /// Present when installed with `--start`: a hook starts a detached session too.
    fn start(&self) -> PathBuf {
        self.state.join("start")
    }
    /// Present when install created the hooks folder: uninstall removes it then.
    fn created_dir(&self) -> PathBuf {
        self.state.join("created-hooks-dir")
    }

    pub fn starts(&self) -> bool {
        self.start().exists()
    }

    /// Installs the hooks; a hook already there (not git-osa's) is kept and called.
    /// Returns one line per hook, for the user.
    pub fn install(&self, start: bool) -> Result<Vec<String>> {
        fs::create_dir_all(&self.state)?;
        if !self.dir.exists() {
            fs::create_dir_all(&self.dir)
                .with_context(|| format!("creating {}", self.dir.display()))?;
            File::create(self.created_dir())?;
        }
        let mut said = Vec::new();
        for (name, script) in HOOKS {
            let path = self.dir.join(name);
            let keep = saved(&path);
            let kind = if is_ours(&path) {
                "updated"
            } else if path.symlink_metadata().is_ok() {
                if keep.symlink_metadata().is_ok() {
                    return Err(Error::user(format!(
                        "{} and {} both exist: git-osa will not overwrite either",
                        path.display(),
                        keep.display()
                    ))
                    .hint(format!("move {} away and install again", keep.display())));
                }
                fs::rename(&path, &keep)?;
                "installed; the hook that was there is kept and still runs first"
            } else {
                "installed"
            };
            // Written beside, then renamed: git never runs half a hook.
            let tmp = self.dir.join(format!(".{name}.git-osa-new"));
            fs::write(&tmp, script)?;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))?;
            fs::rename(&tmp, &path)?;
            said.push(format!("{name}: {kind}"));
        }
        if start {
            File::create(self.start())?;
        } else if self.start().exists() {
            fs::remove_file(self.start())?;
        }
        crate::owner::give_back(&self.state);
        for (name, _) in HOOKS {
            crate::owner::give_back(&self.dir.join(name));
        }
        Ok(said)
    }

    /// Removes git-osa's hooks and puts back those they replaced: the hooks folder is as
    /// it was before `install`.
    pub fn uninstall(&self) -> Result<Vec<String>> {
        let mut said = Vec::new();
        for (name, _) in HOOKS {
            let path = self.dir.join(name);
            let keep = saved(&path);
            if !is_ours(&path) {
                if path.exists() {
                    said.push(format!("{name}: not git-osa's, left alone"));
                }
                continue;
            }
            fs::remove_file(&path)?;
            if keep.symlink_metadata().is_ok() {
                fs::rename(&keep, &path)?;
                said.push(format!("{name}: removed; the earlier hook is back"));
            } else {
                said.push(format!("{name}: removed"));
            }
        }
        if self.created_dir().exists() {
            // Only if empty: whatever else was put there since stays.
            let _ = fs::remove_dir(&self.dir);
            fs::remove_file(self.created_dir())?;
        }
        let _ = fs::remove_file(self.start());
        Ok(said)
    }

    /// What `git osa hooks status` prints: where the hooks are, each hook, whether a hook
    /// starts a session, and the last redeploy.
    pub fn status_text(&self) -> String {
        let mut out = format!("hooks    {}\n", self.dir.display());
        for line in self.status() {
            out.push_str(&format!("  {line}\n"));
        }
        if self.starts() {
            out.push_str("  start    a hook starts a detached dev session when there is none\n");
        }
        match std::fs::read_to_string(self.last()) {
            Ok(l) => out.push_str(&format!("last     {}\n", l.trim())),
            Err(_) => out.push_str("last     no redeploy yet\n"),
        }
        out
    }

    /// Which hooks are git-osa's.
    pub fn states(&self) -> Vec<(&'static str, HookState)> {
        HOOKS
            .iter()
            .map(|(name, _)| {
                let path = self.dir.join(name);
                let state = if is_ours(&path) {
                    HookState::Installed {
                        chained: saved(&path).exists(),
                    }
                } else if path.exists() {
                    HookState::Other
                } else {
                    HookState::Absent
                };
                (*name, state)
            })
            .collect()
    }

    /// Which hooks are git-osa's, one line each.
    pub fn status(&self) -> Vec<String> {
        self.states()
            .into_iter()
            .map(|(name, state)| {
                let state = match state {
                    HookState::Installed { chained: true } => {
                        "installed (the earlier hook runs first)"
                    }
                    HookState::Installed { chained: false } => "installed",
                    HookState::Other => "not installed (another hook is there)",
                    HookState::Absent => "not installed",
                };
                format!("{name:<14} {state}")
            })
            .collect()
    }

    /// How the last redeploy ended: whether it succeeded, and what it did or why it
    /// failed; none before the first.
    pub fn last_outcome(&self) -> Option<(bool, String)> {
        let text = fs::read_to_string(self.last()).ok()?;
        let text = text.trim();
        Some(match text.strip_prefix("failed ") {
            Some(why) => (false, why.to_string()),
            None => (true, text.strip_prefix("ok ").unwrap_or(text).to_string()),
        })
    }

    /// What a hook does: mark a redeploy as wanted and start a worker, without waiting.
    /// Returns the line the hook prints: the last redeploy's failure, if it failed.
    /// The git operation in progress in this checkout, if one is: what a redeploy waits
    /// for (its files in the git folder, as `git status` reads them).
    pub fn busy(&self) -> Option<&'static str> {
        let git_dir = self.state.parent()?;
        [
            ("rebase-merge", "rebase"),
            ("rebase-apply", "rebase"),
            ("MERGE_HEAD", "merge"),
            ("CHERRY_PICK_HEAD", "cherry-pick"),
            ("REVERT_HEAD", "revert"),
            ("sequencer", "cherry-pick"),
            ("BISECT_LOG", "bisect"),
        ]
        .into_iter()
        .find(|(file, _)| git_dir.join(file).exists())
        .map(|(_, op)| op)
    }

    /// The operation still in progress after waiting up to `limit` for it to end.
    fn busy_for(&self, limit: Duration) -> Option<&'static str> {
        let start = std::time::Instant::now();
        loop {
            let op = self.busy()?;
            if start.elapsed() >= limit {
                return Some(op);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn fire(&self, hook: &str, exe: &Path) -> Result<Option<String>> {
        // Hooks shared through core.hooksPath fire in repositories git-osa's were never
        // installed for: nothing is written there (install made this folder).
        if !self.state.is_dir() {
            return Ok(None);
        }
        // The commits and checkouts of a rebase, merge, cherry-pick, revert or bisect in
        // progress are not what the user means to run: the redeploy waits for the
        // operation's end. A rebase's end is its post-rewrite, run before git removes
        // the rebase's state: the worker waits for that.
        if let Some(op) = self.busy().filter(|_| hook != "post-rewrite") {
            File::create(self.pending())?;
            let log = self.open_log()?;
            let _ = writeln!(
                &log,
                "--- {hook} at {}: a {op} is in progress; the redeploy waits for its end",
                stamp()
            );
            crate::owner::give_back(&self.state);
            return Ok(None);
        }
        let said = fs::read_to_string(self.last())
            .ok()
            .and_then(|l| l.strip_prefix("failed ").map(str::to_string))
            .map(|why| {
                format!(
                    "git-osa: the last redeploy failed ({}); redeploying again (`git osa logs --hooks` shows it)",
                    why.trim()
                )
            });
        File::create(self.pending())?;
        let log = self.open_log()?;
        let _ = writeln!(&log, "--- {hook} at {}", stamp());
        let mut cmd = Command::new(exe);
        cmd.args(["hooks", "work"])
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        scrub_git_env(&mut cmd);
        // Its own process group: the terminal's Ctrl-C does not reach it.
        cmd.process_group(0);
        cmd.spawn()
            .context("starting the redeploy in the background")?;
        crate::owner::give_back(&self.state);
        Ok(said)
    }

    fn open_log(&self) -> Result<File> {
        open_log(&self.log())
    }

    /// The background worker: while a redeploy is wanted, runs `redeploy`, one at a
    /// time; a worker that finds another at work leaves the wanted redeploy to it.
    pub fn work(&self, debounce: Duration, redeploy: &dyn Fn() -> Result<String>) -> Result<u32> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.lock())?;
        crate::owner::give_back(&self.lock());
        let mut done = 0;
        loop {
            if lock.try_lock().is_err() {
                return Ok(done);
            }
            // Let the burst (a rebase's commits, an editor's saves) finish first.
            std::thread::sleep(debounce);
            if let Some(op) = self.busy_for(OPERATION_END) {
                // Still going: its end's hook starts the redeploy.
                crate::output::line(format!(
                    "--- a {op} is in progress: the redeploy waits for its end ({})",
                    stamp()
                ))?;
                return Ok(done);
            }
            while fs::remove_file(self.pending()).is_ok() {
                done += 1;
                let outcome = match redeploy() {
                    Ok(line) => format!("ok {line}"),
                    Err(e) => format!("failed {}", e.to_string().lines().next().unwrap_or("")),
                };
                fs::write(self.last(), format!("{outcome}\n"))?;
                crate::owner::give_back(&self.last());
                crate::output::line(format!("--- redeploy {outcome} at {}", stamp()))?;
            }
            lock.unlock()?;
            // A hook that fired between the last look and the unlock started a worker
            // that found the lock taken: its redeploy is this worker's to do.
            if !self.pending().exists() {
                return Ok(done);
            }
        }
    }
}

/// The process holding the checkout's redeploy lock ([`Hooks::lock`]: a hook's worker, or
/// a watcher's sync) and its command line, unless it is this process or one it runs under
/// (the worker's own `git osa sync`, a watcher's sync in its own process): that redeploy
/// is the caller's, not one to wait for. From `/proc/locks`, which names the process that
/// took each flock.
pub fn redeploy_holder(lock: &Path) -> Option<(u32, String)> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(lock).ok()?;
    let id = format!(
        "{:02x}:{:02x}:{}",
        libc::major(meta.dev()),
        libc::minor(meta.dev()),
        meta.ino()
    );
    let locks = fs::read_to_string("/proc/locks").ok()?;
    let pid: u32 = locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        // `N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END`; waiters have `->`.
        (f.get(1) == Some(&"FLOCK") && f.get(5) == Some(&id.as_str()))
            .then(|| f.get(4)?.parse().ok())
            .flatten()
    })?;
    let mut me = Some(std::process::id());
    while let Some(p) = me.filter(|p| *p > 1) {
        if p == pid {
            return None;
        }
        me = parent_of(p);
    }
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline)
        .split('\0')
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Some((pid, cmdline))
}

/// The parent of process `pid`, from `/proc/PID/stat` (its fourth field, after the name
/// in parentheses, which may hold anything).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after) = stat.rsplit_once(')')?;
    after.split_whitespace().nth(1)?.parse().ok()
}

/// Waits until nobody holds the redeploy lock `lock`, or `deadline` passes; true when it
/// is free.
pub fn wait_for_redeploy(lock: &Path, deadline: std::time::Instant) -> bool {
    loop {
        if redeploy_holder(lock).is_none() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// git sets these for its hooks (a commit's own index among them); the redeploy reads
/// the worktree as the user sees it once git is done.
pub fn scrub_git_env(cmd: &mut Command) {
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_PREFIX",
        "GIT_EDITOR",
        "GIT_REFLOG_ACTION",
        "GIT_EXEC_PATH",
    ] {
        cmd.env_remove(var);
    }
}

/// How long a worker started at an operation's end (a rebase's post-rewrite) waits for
/// git to remove the operation's state.
const OPERATION_END: Duration = Duration::from_secs(5);

/// Local time is the host's business; seconds since the epoch are unambiguous.
fn stamp() -> String {
    format!("{} (unix time)", crate::clock::now())
}

/// How large a background log (the hooks', the watcher's) grows before it starts anew.
const LOG_LIMIT: u64 = 1 << 20;

/// Opens a background log for appending. One that reached [`LOG_LIMIT`] is first moved
/// to `NAME.1` (replacing the one before), so a checkout that redeploys on every commit
/// for months keeps two logs' worth, not all of them.
pub fn open_log(path: &Path) -> Result<File> {
    if fs::metadata(path).is_ok_and(|m| m.len() >= LOG_LIMIT) {
        let mut old = path.as_os_str().to_owned();
        old.push(".1");
        fs::rename(path, &old).with_context(|| format!("moving {} aside", path.display()))?;
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    crate::owner::give_back(path);
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_log_is_appended_to_until_it_reaches_the_limit_then_starts_anew() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("hooks.log");
        let old = dir.path().join("hooks.log.1");
        writeln!(open_log(&log).unwrap(), "first").unwrap();
        writeln!(open_log(&log).unwrap(), "second").unwrap();
        assert_eq!(fs::read_to_string(&log).unwrap(), "first\nsecond\n");
        assert!(!old.exists());

        let full = vec![b'x'; LOG_LIMIT as usize];
        fs::write(&log, &full).unwrap();
        fs::write(&old, "older still\n").unwrap();
        writeln!(open_log(&log).unwrap(), "after").unwrap();
        assert_eq!(fs::read_to_string(&log).unwrap(), "after\n");
        assert_eq!(
            fs::read(&old).unwrap(),
            full,
            "the full log moved aside, the older one gone"
        );
    }

    fn hooks(dir: &Path) -> Hooks {
        Hooks {
            dir: dir.join("hooks"),
            state: dir.join("state"),
            root: dir.to_path_buf(),
        }
    }

    /// Every file of a folder: name, mode and bytes.
    fn snapshot(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
        let mut out: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| {
                let md = e.path().symlink_metadata().unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    md.permissions().mode(),
                    fs::read(e.path()).unwrap_or_default(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn uninstall_gives_back_the_hooks_folder_byte_for_byte() {
        let t = tempfile::tempdir().unwrap();
        let h = hooks(t.path());
        fs::create_dir_all(&h.dir).unwrap();
        fs::write(h.dir.join("post-commit"), "#!/bin/sh\necho mine\n").unwrap();
        fs::set_permissions(h.dir.join("post-commit"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::write(h.dir.join("pre-push.sample"), "sample").unwrap();
        let before = snapshot(&h.dir);
        let said = h.install(false).unwrap();
        assert!(said[0].contains("kept and still runs first"), "{said:?}");
        assert!(is_ours(&h.dir.join("post-commit")));
        assert_eq!(
            fs::read(h.dir.join("post-commit.git-osa-saved")).unwrap(),
            b"#!/bin/sh\necho mine\n"
        );
        // A second install updates git-osa's hooks and keeps the saved one.
        h.install(false).unwrap();
        h.uninstall().unwrap();
        assert_eq!(snapshot(&h.dir), before);
    }

    #[test]
    fn a_hooks_folder_install_created_goes_away_with_uninstall() {
        let t = tempfile::tempdir().unwrap();
        let h = hooks(t.path());
        h.install(true).unwrap();
        assert!(h.starts());
        assert_eq!(fs::read_dir(&h.dir).unwrap().count(), 4);
        h.uninstall().unwrap();
        assert!(!h.dir.exists() && !h.starts());
    }

    #[test]
    fn a_saved_hook_is_never_overwritten() {
        let t = tempfile::tempdir().unwrap();
        let h = hooks(t.path());
        fs::create_dir_all(&h.dir).unwrap();
        fs::write(h.dir.join("post-merge"), "a").unwrap();
        fs::write(h.dir.join("post-merge.git-osa-saved"), "b").unwrap();
        let err = h.install(false).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(fs::read(h.dir.join("post-merge")).unwrap(), b"a");
    }

    /// Hooks fired while a redeploy runs make one more redeploy, not one each.
    #[test]
    fn a_burst_of_hooks_coalesces_into_at_most_two_redeploys() {
        let t = tempfile::tempdir().unwrap();
        let h = hooks(t.path());
        fs::create_dir_all(&h.state).unwrap();
        File::create(h.pending()).unwrap();
        let runs = Cell::new(0);
        let done = h
            .work(Duration::ZERO, &|| {
                runs.set(runs.get() + 1);
                if runs.get() == 1 {
                    // Ten commits land while the first redeploy runs.
                    for _ in 0..10 {
                        File::create(h.pending()).unwrap();
                    }
                }
                Ok("abc".into())
            })
            .unwrap();
        assert_eq!((done, runs.get()), (2, 2));
        assert_eq!(fs::read_to_string(h.last()).unwrap(), "ok abc\n");
    }

    #[test]
    fn a_worker_that_finds_another_at_work_leaves_the_redeploy_to_it() {
        let t = tempfile::tempdir().unwrap();
        let h = hooks(t.path());
        fs::create_dir_all(&h.state).unwrap();
        File::create(h.pending()).unwrap();
        let held = File::create(h.lock()).unwrap();
        held.lock().unwrap();
        let done = h
            .work(Duration::ZERO, &|| panic!("ran beside another"))
            .unwrap();
        assert_eq!(done, 0);
        assert!(h.pending().exists());
    }
}
