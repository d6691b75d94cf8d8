//! Where git-osa's commands run: the one seam between git-osa and the machines it drives.
//!
//! Every command sent to a container or a metal host ([`Target`]), every LXC tool run on
//! a host (`lxc.rs`), every file read on a host and every HAProxy socket conversation
//! (`haproxy.rs`) goes through a [`Transport`]: [`Local`] for this host, [`Ssh`] for
//! another (the system's OpenSSH client, `ssh.rs`); [`reach`] picks one for a host. A
//! transport turns a host argv into a process, so the rest of git-osa never names the
//! program that reaches a host; tests put a fake under the same seam and watch what would
//! be sent.
//!
//! Every command is logged here and nowhere else, through the `log` facade (shown by `-v`):
//! where it ran, as whom, its argv, how long it took and how it ended; long ones also when
//! they start, and with `-vv` their output as it comes.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::error::{Error, Result};

#[cfg(test)]
pub(crate) mod fake;
mod here;
pub mod ssh;
mod target;
mod unreachable;

pub use here::Here;
pub use ssh::{Remote, Ssh};
pub use target::Target;
pub use unreachable::Unreachable;

/// How git-osa reaches one host: runs its programs, reads its files, talks to its HAProxy.
pub trait Transport: Send + Sync + fmt::Debug {
    /// The local process that runs the host argv `argv` there. With `env`, that is the
    /// whole environment of the program (a metal command); without, the program gets
    /// git-osa's (the LXC tools, which clear it themselves for what runs in a container).
    /// Fails, saying what to install, when the host has no such program.
    fn process(&self, argv: &[OsString], env: Option<&[(&str, &str)]>) -> Result<Process>;

    /// Like [`Transport::process`], for a process on the user's terminal (the foreground
    /// dev run), with the terminal's stdin: the host runs it on a terminal of its own, so
    /// that Ctrl-C, typed as a byte, reaches the program's process group there. Over ssh
    /// this is `ssh -tt`: ssh never sends a signal across, and a program without a
    /// terminal would outlive the connection. On this host the process shares the user's
    /// terminal already, which is the default.
    fn terminal_process(&self, argv: &[OsString], env: Option<&[(&str, &str)]>) -> Result<Process> {
        self.process(argv, env)
    }

    /// The host is another machine: its commands do not share the user's terminal.
    fn remote(&self) -> bool {
        false
    }

    /// One conversation with the HAProxy admin socket at `socket` on the host: `line` in,
    /// HAProxy's whole answer out.
    fn haproxy(&self, socket: &Path, line: &str) -> anyhow::Result<String>;

    /// A file of the host, `None` where there is none.
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>>;

    /// The names in a folder of the host; empty where there is no such folder.
    fn list(&self, dir: &Path) -> Result<Vec<String>>;
}

/// A local process, as a transport makes it: what to run here so that a host runs an argv.
#[derive(Debug, Clone)]
pub struct Process {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// The whole environment, when the program must not get git-osa's.
    pub env: Option<Vec<(String, String)>>,
    /// Runs in a process group of its own, away from the terminal's signals: an ssh
    /// client that a Ctrl-C killed would end the command's connection while git-osa,
    /// which handles the Ctrl-C itself, still waits on it (a db sync never cut in half, a
    /// dev process stopping as its unit does) or holds the lock with it.
    pub own_group: bool,
}

impl Process {
    /// For children whose stdio the caller wires itself.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        if let Some(env) = &self.env {
            cmd.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
        }
        if self.own_group {
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        }
        cmd
    }

    /// For commands whose output git-osa collects (duct reads each pipe on a thread).
    fn expression(&self) -> duct::Expression {
        let mut expr = duct::cmd(&self.program, &self.args).unchecked();
        if let Some(env) = &self.env {
            expr = expr.full_env(env.iter().map(|(k, v)| (k, v)));
        }
        if self.own_group {
            expr = expr.before_spawn(|cmd| {
                std::os::unix::process::CommandExt::process_group(cmd, 0);
                Ok(())
            });
        }
        expr
    }
}

/// This host: programs found on `PATH`, files and sockets opened directly.
#[derive(Debug, Default)]
pub struct Local {
    /// Where `PATH` has each program asked for, looked up once.
    found: Mutex<HashMap<OsString, PathBuf>>,
}

impl Local {
    /// Where this process's `PATH` has `program`, looked up once.
    fn find(&self, program: &OsStr) -> Result<PathBuf> {
        if Path::new(program).is_absolute() {
            return Ok(PathBuf::from(program));
        }
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = found.get(program) {
            return Ok(p.clone());
        }
        let path = find_in(program, std::env::var_os("PATH").as_deref())
            .ok_or_else(|| not_on_path(&program.to_string_lossy()))?;
        found.insert(program.to_os_string(), path.clone());
        Ok(path)
    }
}

impl Transport for Local {
    fn process(&self, argv: &[OsString], env: Option<&[(&str, &str)]>) -> Result<Process> {
        let (program, args) = argv.split_first().expect("a command has a program");
        Ok(Process {
            program: self.find(program)?.into(),
            args: args.to_vec(),
            own_group: false,
            env: env.map(|e| {
                e.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
        })
    }

    fn haproxy(&self, socket: &Path, line: &str) -> anyhow::Result<String> {
        converse(socket, line)
    }

    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::Error::from(e)
                .context(format!("reading {}", path.display()))
                .into()),
        }
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(Vec::new());
        };
        Ok(entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect())
    }
}

/// How git-osa reaches a host: [`Local`] when it is this machine, else [`Ssh`] to
/// `remote`. `interactive`: a terminal can answer ssh's prompts (a key's passphrase, an
/// unknown host key) when its connection opens.
pub fn reach(remote: Remote, local: bool, interactive: bool) -> Result<Arc<dyn Transport>> {
    Ok(if local {
        Arc::new(Local::default())
    } else {
        Arc::new(Ssh::new(remote, interactive)?)
    })
}

/// One conversation with a HAProxy admin socket here: `line` in, the whole answer out
/// (HAProxy closes the connection after answering one command).
fn converse(socket: &Path, line: &str) -> anyhow::Result<String> {
    let mut s = UnixStream::connect(socket)
        .with_context(|| format!("connecting to HAProxy's socket {}", socket.display()))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(format!("{line}\n").as_bytes())?;
    s.shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .with_context(|| format!("reading HAProxy's answer to `{line}`"))?;
    Ok(answer)
}

/// A program this host lacks: LXC's tools say what to install.
fn not_on_path(program: &str) -> Error {
    let err = Error::user(format!("{program} is not on PATH"));
    if program.starts_with("lxc-") {
        err.hint("install LXC (apt-get install lxc) or run git osa on the OSA host")
    } else {
        err
    }
}

/// Where this process's `PATH` has `tool`.
pub fn find_on_path(tool: &str) -> Option<PathBuf> {
    find_in(OsStr::new(tool), std::env::var_os("PATH").as_deref())
}

fn find_in(tool: &OsStr, path: Option<&OsStr>) -> Option<PathBuf> {
    which::which_in_global(tool, path)
        .ok()
        .and_then(|mut found| found.next())
}

/// Runs a host command (an LXC tool) to its end, logged like the others.
pub(crate) fn run_on_host(via: &dyn Transport, argv: &[OsString]) -> Result<Output> {
    let started = Instant::now();
    let out = via
        .process(argv, None)?
        .command()
        .output()
        .with_context(|| format!("running {}", shell_words(argv)))?;
    log::debug!(
        target: LOG,
        "on the host as root: {} ({})",
        shell_words(argv),
        ended(started.elapsed(), out.status)
    );
    Ok(out)
}

/// The log target of commands (`-v`) and of their output (`-vv`).
pub(crate) const LOG: &str = "git_osa::command";
const OUTPUT: &str = "git_osa::output";

/// A command started in a target, its output being collected; logged when it ends.
pub struct Running {
    handle: duct::Handle,
    /// The threads reading stdout and stderr, when they are streamed (-vv).
    tees: Option<[JoinHandle<Vec<u8>>; 2]>,
    started: Instant,
    what: String,
}

impl Running {
    /// Whether it has ended (without waiting).
    pub fn ended(&self) -> Result<bool> {
        Ok(self.handle.try_wait()?.is_some())
    }

    /// Waits for the end and returns the output, whatever the exit status.
    pub fn wait(self) -> Result<Output> {
        let mut out = self.handle.into_output()?;
        if let Some([stdout, stderr]) = self.tees {
            out.stdout = stdout.join().unwrap_or_default();
            out.stderr = stderr.join().unwrap_or_default();
        }
        log::debug!(target: LOG, "{} ({})", self.what, ended(self.started.elapsed(), out.status));
        Ok(out)
    }
}

/// Reads a command's stream to its end on a thread, logging each line (`-vv`) and keeping
/// all of it for the caller.
fn tee(stream: std::io::PipeReader) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            log::trace!(target: OUTPUT, "| {}", String::from_utf8_lossy(&line).trim_end());
            kept.append(&mut line);
        }
        kept
    })
}

/// `12 ms, exit 0`: how long a command took and how it ended.
pub(crate) fn ended(took: Duration, status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    let took = if took < Duration::from_secs(1) {
        format!("{} ms", took.as_millis())
    } else {
        format!("{:.2} s", took.as_secs_f64())
    };
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("{took}, exit {code}"),
        (None, Some(sig)) => format!("{took}, killed by signal {sig}"),
        (None, None) => format!("{took}, {status}"),
    }
}

/// The last lines of a failed command's output, for an error message.
pub fn tail(stderr: &[u8], stdout: &[u8]) -> String {
    let text = if stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        stderr
    } else {
        stdout
    };
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(12);
    format!(":\n  {}", lines[start..].join("\n  "))
}

/// An argv as a user would type it (for display only; never executed).
pub fn shell_words<S: AsRef<OsStr>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| quote(&a.as_ref().to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_lxc_on_path_the_user_is_told_to_install_it() {
        let err = not_on_path("lxc-attach");
        assert_eq!(err.to_string(), "lxc-attach is not on PATH");
        assert_eq!(
            err.hints(),
            ["install LXC (apt-get install lxc) or run git osa on the OSA host"]
        );
        assert_eq!(err.exit_code(), 2);
        for path in [None, Some(OsStr::new(""))] {
            assert!(find_in(OsStr::new("lxc-attach"), path).is_none());
        }
    }

    #[test]
    fn a_missing_program_is_named_when_its_command_is_made() {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        let attach = bin.path().join("lxc-attach");
        std::fs::write(&attach, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&attach, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            find_in(OsStr::new("lxc-attach"), Some(bin.path().as_os_str())),
            Some(attach)
        );
        assert!(find_in(OsStr::new("lxc-info"), Some(bin.path().as_os_str())).is_none());
        let err = Local::default()
            .process(&["git-osa-no-such-program".into()], None)
            .unwrap_err();
        assert_eq!(err.to_string(), "git-osa-no-such-program is not on PATH");
        assert!(err.hints().is_empty());
    }

    #[test]
    fn tail_prefers_stderr_and_keeps_the_last_lines() {
        let err: String = (0..20).map(|i| format!("line {i}\n")).collect();
        let t = tail(err.as_bytes(), b"out");
        assert!(t.contains("line 19") && !t.contains("line 7\n"));
        assert_eq!(tail(b"  \n", b"only stdout"), ":\n  only stdout");
    }

    #[test]
    fn local_files_and_folders_read_as_missing_when_they_are_not_there() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "x").unwrap();
        let local = Local::default();
        assert_eq!(
            local.read(&dir.path().join("a")).unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(local.read(&dir.path().join("b")).unwrap(), None);
        assert_eq!(local.list(dir.path()).unwrap(), ["a"]);
        assert!(local.list(&dir.path().join("nope")).unwrap().is_empty());
    }
}
