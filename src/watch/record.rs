//! The watcher's own record in git-osa's per-checkout state (`.git/git-osa/`, beside the
//! hooks'), so that `status` shows it and `stop`/`restore` end it.
//!
//! The record is `watch.pid`, which the watcher holds an `flock` on for as long as it
//! runs: a second watcher of the same checkout cannot take it. Before a signal is sent to
//! the pid it names, `/proc` must agree that it is the same process (its start time) and
//! a git-osa watching (its command line): a recycled pid is never killed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::error::{Error, Result};

/// A watcher that runs: its pid, when it started, and whether it runs in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watcher {
    pub pid: u32,
    /// Unix time it started watching.
    pub since: u64,
    pub background: bool,
    /// Its start time in /proc (clock ticks since boot): tells it from a recycled pid.
    start_ticks: u64,
}

pub fn pid_file(state: &Path) -> PathBuf {
    state.join("watch.pid")
}

pub fn log_file(state: &Path) -> PathBuf {
    state.join("watch.log")
}

/// The record a running watcher holds: dropped (and the flock with it) when it ends.
pub struct Held {
    file: File,
    path: PathBuf,
}

/// How often a watcher says it is alive: the record's mtime, which a dead watcher's
/// record keeps as the last moment it watched.
pub const BEAT: Duration = Duration::from_secs(5);

impl Held {
    /// The watcher is alive now.
    pub fn beat(&self) {
        let _ = self.file.set_modified(std::time::SystemTime::now());
    }
}

/// A watcher whose record is there but which is gone (killed with SIGKILL, or its host
/// rebooted): the saves since it died are not synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dead {
    pub pid: u32,
    pub since: u64,
    /// Unix time it was last seen alive (its last beat).
    pub last_seen: u64,
}

/// The checkout's watcher, if its record is there and no process holds it.
pub fn dead(state: &Path) -> Option<Dead> {
    let path = pid_file(state);
    let file = File::open(&path).ok()?;
    // A live watcher holds the record's lock for as long as it runs.
    file.try_lock_shared().ok()?;
    let _ = file.unlock();
    let w = parse(&std::fs::read_to_string(&path).ok()?)?;
    let last_seen = file
        .metadata()
        .ok()?
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Dead {
        pid: w.pid,
        since: w.since,
        last_seen,
    })
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Records this process as the checkout's watcher; refused (exit 2) when one runs.
pub fn hold(state: &Path, background: bool) -> Result<Held> {
    std::fs::create_dir_all(state)?;
    let path = pid_file(state);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    if file.try_lock().is_err() {
        let who = running(state)
            .map(|w| format!(" (pid {}, {})", w.pid, crate::clock::age(w.since)))
            .unwrap_or_default();
        return Err(
            Error::user(format!("this checkout is already watched{who}"))
                .hint("`git osa status` shows it; `git osa stop` ends it"),
        );
    }
    let pid = std::process::id();
    let ticks = start_ticks(pid).unwrap_or(0);
    file.set_len(0)?;
    writeln!(
        file,
        "{pid} {ticks} {} {}",
        crate::clock::now(),
        if background { "background" } else { "terminal" }
    )?;
    file.flush()?;
    crate::owner::give_back(&path);
    Ok(Held { file, path })
}

/// The checkout's watcher, when one runs: the record names a live git-osa watching.
pub fn running(state: &Path) -> Option<Watcher> {
    let text = std::fs::read_to_string(pid_file(state)).ok()?;
    let w = parse(&text)?;
    (start_ticks(w.pid) == Some(w.start_ticks) && is_watcher(w.pid)).then_some(w)
}

fn parse(text: &str) -> Option<Watcher> {
    let mut f = text.split_whitespace();
    Some(Watcher {
        pid: f.next()?.parse().ok()?,
        start_ticks: f.next()?.parse().ok()?,
        since: f.next()?.parse().ok()?,
        background: f.next()? == "background",
    })
}

/// Field 22 of /proc/PID/stat, after the command name (which may hold spaces and parens).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The process runs git-osa's `watch`.
fn is_watcher(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let exe_ok = args
        .first()
        .is_some_and(|a| a.ends_with(b"git-osa") || a.ends_with(b"git-osa (deleted)"));
    exe_ok && args.iter().skip(1).any(|a| *a == b"watch")
}

/// Ends the checkout's watcher, if one runs: SIGTERM, then SIGKILL if it has not gone
/// after `grace`. Returns the watcher that was ended.
pub fn end(state: &Path, grace: Duration) -> Result<Option<Watcher>> {
    let Some(w) = running(state) else {
        return Ok(None);
    };
    let pid = w.pid as libc::pid_t;
    // SAFETY: kill(2) with a pid /proc just confirmed is our watcher.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let start = Instant::now();
    while start_ticks(w.pid) == Some(w.start_ticks) && !is_zombie(w.pid) {
        if start.elapsed() > grace {
            // SAFETY: as above; it is still the same process (start time checked).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if running(state).is_none() {
        let _ = std::fs::remove_file(pid_file(state));
    }
    Ok(Some(w))
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s[s.rfind(')')? + 1..].to_string();
            after.split_whitespace().next().map(|st| st == "Z")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn a_second_watcher_of_a_checkout_is_refused_and_the_record_names_the_first() {
        let t = tempfile::tempdir().unwrap();
        let held = hold(t.path(), true).unwrap();
        // The test binary is not `git-osa watch`: the record is not believed, so nothing
        // would ever be killed on its word.
        assert_eq!(running(t.path()), None);
        let text = std::fs::read_to_string(pid_file(t.path())).unwrap();
        let w = parse(&text).unwrap();
        assert_eq!(w.pid, std::process::id());
        assert!(w.background);
        assert_eq!(start_ticks(w.pid), Some(w.start_ticks));
        let err = hold(t.path(), false).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("already watched"), "{err}");
        drop(held);
        assert!(!pid_file(t.path()).exists());
        assert!(end(t.path(), Duration::ZERO).unwrap().is_none());
    }

    /// Regression: a watcher killed with SIGKILL just disappeared from `status`.
    #[test]
    fn a_record_no_process_holds_is_a_dead_watcher_last_seen_at_its_last_beat() {
        let t = tempfile::tempdir().unwrap();
        let held = hold(t.path(), true).unwrap();
        assert_eq!(dead(t.path()), None, "alive: it holds the record");
        held.beat();
        // What SIGKILL leaves: the record, with no process holding its lock.
        let record = std::fs::read(pid_file(t.path())).unwrap();
        drop(held);
        std::fs::write(pid_file(t.path()), &record).unwrap();
        let d = dead(t.path()).unwrap();
        assert_eq!(d.pid, std::process::id());
        assert!(crate::clock::now() - d.last_seen < 60);
        // A new watcher takes the place of the dead one.
        let again = hold(t.path(), false).unwrap();
        assert_eq!(dead(t.path()), None);
        drop(again);
    }
}
