//! One git-osa at a time per service and container.
//!
//! The lock is an `flock` held inside the container by a small process whose stdin is a
//! pipe from this git-osa: when git-osa ends, however it ends (even SIGKILL), the pipe
//! closes, the holder exits and the lock is free. A second git-osa is refused with the
//! first one's identity. A git-osa that ends without a session (refused before it
//! changed anything, or a restore that found the session gone) leaves no folder behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::error::{Error, Kind, Result};
use crate::layout::Paths;
use crate::probe::{self, Probe};
use crate::transport::Target;
use crate::ui::Ui;

/// Takes the lock, holds it until git-osa's pipe closes, then, still holding it, removes
/// the lock's files if git-osa left no session: a run refused before it changed anything
/// leaves no trace in a production container.
///
/// With `$4` = `session`, only where a session is, and the session comes with the answer
/// (`locked <bytes>`, then the record as read under the lock), or `none`.
///
/// Then the holder answers git-osa's requests on the pipe, each a line `KIND LENGTH` and
/// LENGTH bytes, with `@@end STATUS` after each answer: `probe`, with the probe's
/// arguments NUL-terminated (`xargs -0` hands them to the probe's script, `$5`, as they
/// are: [`Lock::probe`]); `save`, with the session record,
/// written to a new file renamed over the record ([`Lock::save`]). One round trip each,
/// through the connection the lock already has: a write of the record cost 10-40 ms as a
/// command of its own in the lab's containers.
const HOLD: &str = r#"
if [ "$4" = session ] && [ ! -e "$1/session.json" ]; then echo none; exit 0; fi
while :; do
  mkdir -p -m 0755 "$1" || exit 1
  exec 9>>"$2"
  if ! flock -n 9; then cat "$2.owner" 2>/dev/null; exit 75; fi
  # The holder before may have removed the file as it ended: hold the one in place.
  [ "$2" -ef /proc/self/fd/9 ] && break
done
printf '%s\n' "$3" > "$2.owner"
if [ "$4" != session ]; then echo locked
elif [ -f "$1/session.json" ]; then
  printf 'locked %s\n' "$(wc -c < "$1/session.json")"; cat "$1/session.json"
else echo none
fi
# Whatever fails, the request is read to its end: the next one starts after it.
while read -r kind n && [ "$n" -ge 0 ] 2>/dev/null; do
  case $kind in
    # One command line or none (GNU xargs splits a long one unless -n is given with -x).
    probe) head -c "$n" | { xargs -0 -x -n 65536 sh -c "$5" git-osa-probe; s=$?; cat >/dev/null; exit $s; } ;;
    save) if [ -d "$1" ] || mkdir -p -m 0755 "$1"; then
        head -c "$n" | { cat > "$1/session.json.tmp" || { cat >/dev/null; false; }; } &&
          mv -f "$1/session.json.tmp" "$1/session.json"
      else head -c "$n" >/dev/null; false; fi ;;
    *) head -c "$n" >/dev/null; false ;;
  esac
  echo "@@end $?"
done
cat >/dev/null
if [ ! -e "$1/session.json" ]; then rm -f "$2" "$2.owner"; rmdir "$1" "${1%/*}" 2>/dev/null; fi
exit 0
"#;

pub struct Lock {
    child: Child,
    /// The holder's pipe, shared with the session's [`Journal`](super::record::Journal)
    /// for its writes ([`Lock::writer`]); closed when the lock is dropped.
    pipe: Arc<Mutex<Pipe>>,
    target: String,
}

/// Requests to the lock's holder and its answers.
struct Pipe {
    /// `None` once the lock is let go.
    requests: Option<ChildStdin>,
    answers: BufReader<ChildStdout>,
}

impl Pipe {
    /// Sends a request (`KIND LENGTH` and the bytes), and reads its answer to its
    /// `@@end` line with `read`. `Ok(None)`: the lock was let go.
    fn ask<T>(
        &mut self,
        kind: &str,
        bytes: &[u8],
        read: impl FnOnce(&mut BufReader<ChildStdout>) -> std::io::Result<T>,
    ) -> std::io::Result<Option<T>> {
        let Some(requests) = self.requests.as_mut() else {
            return Ok(None);
        };
        requests.write_all(format!("{kind} {}\n", bytes.len()).as_bytes())?;
        requests.write_all(bytes)?;
        requests.flush()?;
        read(&mut self.answers).map(Some)
    }
}

/// Writes a session's record through the holder of its target's lock.
#[derive(Clone)]
pub struct Writer {
    pipe: Arc<Mutex<Pipe>>,
    /// The target whose lock it is.
    pub target: String,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Writer({})", self.target)
    }
}

impl Writer {
    /// Writes `record` as the session's record (a new file renamed over it). `Ok(false)`:
    /// the lock was let go, nothing was written.
    pub fn save(&self, record: &[u8]) -> Result<bool> {
        let started = Instant::now();
        let mut pipe = self.pipe.lock().unwrap_or_else(|p| p.into_inner());
        let answer = pipe
            .ask("save", record, probe::read_until_end)
            .map_err(|e| ended(&self.target, e))?;
        let Some(answer) = answer else {
            return Ok(false);
        };
        if let Err(e) = answer {
            return Err(anyhow::anyhow!(
                "could not write the session record in {} ({e})",
                self.target
            )
            .into());
        }
        log::debug!(
            target: crate::transport::LOG,
            "in {} through the lock holder: the session record saved ({} ms, {} bytes)",
            self.target,
            started.elapsed().as_millis(),
            record.len()
        );
        Ok(true)
    }
}

fn ended(target: &str, e: std::io::Error) -> Error {
    anyhow::anyhow!("the git-osa lock holder in {target} ended: {e}").into()
}

/// `user@host (pid N)`: who holds a lock or started a session.
pub fn whoami() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "root".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host} (pid {})", std::process::id())
}

impl Lock {
    pub fn acquire(target: &Target, paths: &Paths, doing: &str) -> Result<Lock> {
        match Lock::take(target, paths, doing, false)? {
            Some((lock, _)) => Ok(lock),
            None => {
                Err(anyhow::anyhow!("the git-osa lock in {} was not taken", target.name).into())
            }
        }
    }

    /// Takes the lock of a target that has a session, with the session as read under the
    /// lock, in one round trip; `None` where there is no session (nothing is created).
    pub fn acquire_session(
        target: &Target,
        paths: &Paths,
        doing: &str,
    ) -> Result<Option<(Lock, Vec<u8>)>> {
        Ok(Lock::take(target, paths, doing, true)?
            .and_then(|(lock, session)| Some((lock, session?))))
    }

    fn take(
        target: &Target,
        paths: &Paths,
        doing: &str,
        session: bool,
    ) -> Result<Option<(Lock, Option<Vec<u8>>)>> {
        let owner = format!(
            "{} running `git osa {doing}` since {}",
            whoami(),
            crate::clock::now()
        );
        let mut child = target
            .command(&crate::exec::sh(
                HOLD,
                "git-osa-lock",
                &[
                    paths.dir.as_str(),
                    &paths.lock(),
                    &owner,
                    if session { "session" } else { "" },
                    probe::SCRIPT,
                ],
            ))?
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the lock holder")?;
        let mut first = String::new();
        let mut out = BufReader::new(child.stdout.take().expect("stdout is piped"));
        out.read_line(&mut first)?;
        let first = first.trim_end_matches('\n');
        let name = target.name.clone();
        let held = |mut child: Child, out| Lock {
            pipe: Arc::new(Mutex::new(Pipe {
                requests: child.stdin.take(),
                answers: out,
            })),
            child,
            target: name.clone(),
        };
        if first == "locked" {
            return Ok(Some((held(child, out), None)));
        }
        if let Some(Ok(len)) = first.strip_prefix("locked ").map(|n| n.trim().parse()) {
            let mut record = vec![0; len];
            out.read_exact(&mut record)?;
            return Ok(Some((held(child, out), Some(record))));
        }
        // No session: the holder, if it took the lock, lets it go as the pipe closes.
        let none = first == "none";
        drop(child.stdin.take());
        let status = child.wait()?;
        if none {
            return Ok(None);
        }
        if status.code() == Some(75) {
            let holder = first.trim();
            let (who, since) = match holder.rsplit_once(" since ") {
                Some((w, s)) => (
                    w.to_string(),
                    s.parse().map(crate::clock::age).unwrap_or_default(),
                ),
                None => (holder.to_string(), String::new()),
            };
            return Err(Error::busy(format!(
                "{} is in use by another git-osa: {who}{}",
                target.name,
                if since.is_empty() { String::new() } else { format!(", {since}") }
            ))
            .hint("wait for it to finish (or stop it with Ctrl-C in its terminal), then run this again"));
        }
        Err(anyhow::anyhow!(
            "could not take the git-osa lock in {} ({status})",
            target.name
        )
        .into())
    }
}

impl Lock {
    /// [`probe::probe`], answered by the lock's holder: in the round trip the lock already
    /// has, one `lxc-attach` (or ssh command) fewer, 8-20 ms of a sync's in the lab.
    pub fn probe(&mut self, units: &[String], files: &[String], globs: &str) -> Result<Probe> {
        let started = Instant::now();
        let mut request = Vec::new();
        for a in probe::args(units, files, globs)? {
            request.extend_from_slice(a.as_bytes());
            request.push(0);
        }
        let mut pipe = self.pipe.lock().unwrap_or_else(|p| p.into_inner());
        let answer = pipe
            .ask("probe", &request, probe::read_until_end)
            .map_err(|e| ended(&self.target, e))?
            .ok_or_else(|| anyhow::anyhow!("the lock in {} was let go", self.target))?
            .map_err(|e| {
                anyhow::anyhow!("{e} (probing {} through the git-osa lock)", self.target)
            })?;
        log::debug!(
            target: crate::transport::LOG,
            "in {} through the lock holder: the probe of {} ({} ms, {} bytes)",
            self.target,
            units.join(" "),
            started.elapsed().as_millis(),
            answer.len()
        );
        probe::parse(&answer).map_err(|e| anyhow::anyhow!("{e} (probing {})", self.target).into())
    }
}

/// How long a command waits for its own checkout's redeploy before it gives up.
pub const REDEPLOY_WAIT: Duration = Duration::from_secs(60);

/// Takes a container's lock with `take`, waiting for this checkout's own redeploy when
/// that is what holds it: right after a commit, the post-commit hook's `git osa sync`
/// (or a watcher's) has the container, and a `git osa stop` typed then is the same
/// user's next step, not a competing git-osa. It waits (up to [`REDEPLOY_WAIT`], saying
/// so) while the checkout's redeploy lock is held, then tries again; a container held by
/// anyone else is refused at once, as before.
pub fn waiting_for_redeploy<T>(ui: &Ui, cwd: &Path, take: impl Fn() -> Result<T>) -> Result<T> {
    let deadline = Instant::now() + REDEPLOY_WAIT;
    let mut said = false;
    loop {
        let err = match take() {
            Err(e) if e.kind() == Kind::Busy => e,
            other => return other,
        };
        let Ok(hooks) = crate::hooks::Hooks::of(cwd) else {
            return Err(err);
        };
        let Some((pid, what)) = crate::hooks::redeploy_holder(&hooks.lock()) else {
            return Err(err);
        };
        if !said {
            ui.step(format!(
                "waiting for this checkout's redeploy to end (pid {pid}: {what}), up to {} s",
                REDEPLOY_WAIT.as_secs()
            ));
            said = true;
        }
        if !crate::hooks::wait_for_redeploy(&hooks.lock(), deadline) {
            return Err(err.hint(format!(
                "this checkout's redeploy (pid {pid}) still runs after {} s: `git osa logs --hooks` shows what it does",
                REDEPLOY_WAIT.as_secs()
            )));
        }
    }
}

impl Lock {
    /// What writes the session's record through this lock's holder, for as long as the
    /// lock is held.
    pub fn writer(&self) -> Writer {
        Writer {
            pipe: self.pipe.clone(),
            target: self.target.clone(),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let mut pipe = self.pipe.lock().unwrap_or_else(|p| p.into_inner());
        drop(pipe.requests.take());
        drop(pipe);
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lxc::Lxc;

    /// The holder's script, run by the host's shell: the session comes with the lock, two
    /// probes go over its pipe and answer what the probe's own round trip answers (files
    /// with blanks in their names, a newline and a NUL in their content, one missing, an empty
    /// argument), a second taker is refused meanwhile, and the lock is free once dropped.
    #[test]
    fn the_holder_answers_probes_as_the_probe_itself_would() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("svc");
        std::fs::create_dir(&dir).unwrap();
        let paths = Paths {
            service: "svc".into(),
            dir: dir.to_str().unwrap().into(),
        };
        std::fs::write(paths.session(), b"{\"the\": \"session\"}").unwrap();
        let odd = dir.join("a file with blanks");
        std::fs::write(&odd, b"@@file 3 x\n\0binary").unwrap();
        let files = vec![
            paths.session(),
            odd.to_str().unwrap().to_string(),
            format!("{}/missing", paths.dir),
        ];
        let target = Lxc::default().target("host", true);
        let (mut lock, session) = Lock::acquire_session(&target, &paths, "test")
            .unwrap()
            .expect("a session is there");
        assert_eq!(session, b"{\"the\": \"session\"}");
        let busy = Lock::acquire_session(&target, &paths, "test")
            .err()
            .unwrap();
        assert_eq!(busy.kind(), Kind::Busy, "{busy}");
        let globs = format!("{}/a* {}/none*", paths.dir, paths.dir);
        for units in [vec![], vec!["git-osa-no-such.service".to_string()]] {
            let through_lock = lock.probe(&units, &files, &globs).unwrap();
            let own = probe::probe(&target, &units, &files, &globs).unwrap();
            assert_eq!(through_lock.files, own.files);
            assert_eq!(through_lock.paths, own.paths);
            assert_eq!(through_lock.units, own.units);
            assert_eq!(
                through_lock.file(odd.to_str().unwrap()),
                Some(&b"@@file 3 x\n\0binary"[..])
            );
            assert_eq!(through_lock.file(&files[2]), None);
            assert_eq!(through_lock.paths, [odd.to_str().unwrap()]);
        }
        assert!(lock.probe(&["bad unit".into()], &[], "").is_err());
        // More than xargs puts on one command line (and more than it and a pipe hold): an
        // error, not half an answer.
        let long: Vec<String> = (0..150)
            .map(|i| format!("/{}{i}", "x".repeat(4000)))
            .collect();
        let err = lock
            .probe(&[], &long, "")
            .expect_err("too long for one probe");
        assert!(err.to_string().contains("failed (exit"), "{err}");
        // The holder answers the next probe as before.
        assert_eq!(
            lock.probe(&[], &files, "").unwrap().files,
            probe::probe(&target, &[], &files, "").unwrap().files
        );
        // The session's record written through the holder, between probes: whole, as
        // a new file (a hard link to the old one keeps the old bytes).
        let kept = tmp.path().join("kept");
        std::fs::hard_link(paths.session(), &kept).unwrap();
        let writer = lock.writer();
        assert!(writer.save(b"{\"the\": \"next\"}\n").unwrap());
        assert_eq!(
            std::fs::read(paths.session()).unwrap(),
            b"{\"the\": \"next\"}\n"
        );
        assert_eq!(std::fs::read(&kept).unwrap(), b"{\"the\": \"session\"}");
        let big = vec![b'x'; 300_000];
        assert!(writer.save(&big).unwrap());
        assert_eq!(std::fs::read(paths.session()).unwrap(), big);
        assert!(lock.probe(&[], &files, "").is_ok());
        drop(lock);
        // Let go: nothing is written through it any more.
        assert!(!writer.save(b"late").unwrap());
        assert_eq!(std::fs::read(paths.session()).unwrap(), big);
        let (again, _) = Lock::acquire_session(&target, &paths, "test")
            .unwrap()
            .expect("free once dropped");
        drop(again);
        // A lock taken without its session writes it too, and a record that cannot be
        // written is an error, after which the holder still answers.
        std::fs::remove_file(paths.session()).unwrap();
        let plain = Lock::acquire(&target, &paths, "test").unwrap();
        let writer = plain.writer();
        assert!(writer.save(b"first").unwrap());
        assert_eq!(std::fs::read(paths.session()).unwrap(), b"first");
        std::fs::create_dir(dir.join("session.json.tmp")).unwrap();
        let err = writer
            .save(b"second")
            .expect_err("the new file cannot be made");
        assert!(
            err.to_string()
                .contains("could not write the session record"),
            "{err}"
        );
        std::fs::remove_dir(dir.join("session.json.tmp")).unwrap();
        assert!(writer.save(b"third").unwrap());
        assert_eq!(std::fs::read(paths.session()).unwrap(), b"third");
        drop(plain);
    }
}
