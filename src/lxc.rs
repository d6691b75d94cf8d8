//! The container transport: running commands in an LXC container (or on the host, for
//! OSA's `is_metal` components) with the `lxc-*` tools, as OSA itself does.
//!
//! Every command is an argv; nothing is pasted into a shell string. Where a shell is
//! needed inside the container, its script is a constant of git-osa and the data travels
//! as positional arguments or on stdin. `--clear-env` is always on: the caller's
//! environment (pip and certificate variables on a deploy host) must not leak in.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use anyhow::Context;

use crate::error::{Error, Result};

/// The environment every command in a container gets.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LxcState {
    Running,
    Stopped,
    Other(String),
    Missing,
}

impl std::fmt::Display for LxcState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LxcState::Running => f.write_str("RUNNING"),
            LxcState::Stopped => f.write_str("STOPPED"),
            LxcState::Other(s) => f.write_str(s),
            LxcState::Missing => f.write_str("MISSING"),
        }
    }
}

impl LxcState {
    /// How to get a container in this state running again.
    pub fn remedy(&self, name: &str, lxc_path: Option<&std::path::Path>) -> String {
        match self {
            LxcState::Missing => format!(
                "rebuild it with `openstack-ansible openstack.osa.containers_lxc_create --limit localhost,lxc_hosts,{name}` and rerun the service's playbook"
            ),
            _ => match lxc_path {
                Some(p) => format!("start it with `lxc-start -P {} -n {name}`", p.display()),
                None => format!("start it with `lxc-start -n {name}`"),
            },
        }
    }
}

/// Where LXC keeps containers (`lxc-* -P`).
#[derive(Debug, Clone, Default)]
pub struct Lxc {
    pub path: Option<PathBuf>,
}

impl Lxc {
    fn tool(&self, tool: &str) -> Command {
        let mut cmd = Command::new(tool);
        if let Some(p) = &self.path {
            cmd.arg("-P").arg(p);
        }
        cmd
    }

    /// Names of all containers under the LXC path.
    pub fn list(&self) -> Result<Vec<String>> {
        let out = self
            .tool("lxc-ls")
            .arg("-1")
            .output()
            .context("running lxc-ls (is LXC installed?)")?;
        if !out.status.success() {
            return Ok(Vec::new());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect())
    }

    pub fn state(&self, name: &str) -> Result<LxcState> {
        let out = self
            .tool("lxc-info")
            .args(["-s", "-H", "-n", name])
            .output()
            .context("running lxc-info (is LXC installed?)")?;
        if !out.status.success() {
            return Ok(LxcState::Missing);
        }
        Ok(match String::from_utf8_lossy(&out.stdout).trim() {
            "RUNNING" => LxcState::Running,
            "STOPPED" => LxcState::Stopped,
            other => LxcState::Other(other.to_string()),
        })
    }

    pub fn target(&self, name: &str, metal: bool) -> Target {
        Target {
            name: name.to_string(),
            lxc_path: self.path.clone(),
            metal,
        }
    }
}

/// A place commands run: one container, or the host for metal components.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub lxc_path: Option<PathBuf>,
    pub metal: bool,
}

impl Target {
    /// The command that runs `argv` in the target, with a clean environment.
    pub fn command<S: AsRef<OsStr>>(&self, argv: &[S]) -> Command {
        let env = [("PATH", PATH), ("LANG", "C.UTF-8"), ("HOME", "/root")];
        if self.metal {
            let mut cmd = Command::new(argv[0].as_ref());
            cmd.args(&argv[1..]).env_clear().envs(env);
            return cmd;
        }
        let mut cmd = Command::new("lxc-attach");
        if let Some(p) = &self.lxc_path {
            cmd.arg("-P").arg(p);
        }
        cmd.args(["-n", &self.name, "--clear-env"]);
        for (k, v) in env {
            let mut kv = OsString::from(k);
            kv.push("=");
            kv.push(v);
            cmd.arg("--set-var").arg(kv);
        }
        cmd.arg("--").args(argv);
        cmd
    }

    /// Runs `argv`, feeding `stdin`, and returns its output whatever its exit status.
    pub fn output<S: AsRef<OsStr>>(&self, argv: &[S], stdin: Option<&[u8]>) -> Result<Output> {
        let (out, _) = self.collect(argv, stdin, |child| Ok((child.wait()?, false)))?;
        Ok(out)
    }

    /// Like [`Target::output`], watching `stop` while the command runs: once it is true,
    /// `abort` is called (it must make the command end, e.g. by stopping its scope in the
    /// container) and the wait goes on. Returns the output and whether it was aborted.
    pub fn output_unless<S: AsRef<OsStr>>(
        &self,
        argv: &[S],
        stdin: Option<&[u8]>,
        stop: &dyn Fn() -> bool,
        abort: &dyn Fn(),
    ) -> Result<(Output, bool)> {
        self.collect(argv, stdin, |child| {
            let mut aborted = false;
            loop {
                if let Some(st) = child.try_wait()? {
                    return Ok((st, aborted));
                }
                if !aborted && stop() {
                    abort();
                    aborted = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    }

    /// Spawns `argv` with stdin fed and stdout/stderr collected by threads (so neither
    /// side can block the other), and lets `wait` decide how to wait for it.
    fn collect<S: AsRef<OsStr>>(
        &self,
        argv: &[S],
        stdin: Option<&[u8]>,
        wait: impl FnOnce(&mut std::process::Child) -> Result<(std::process::ExitStatus, bool)>,
    ) -> Result<(Output, bool)> {
        let mut child = self
            .command(argv)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", self.describe(argv)))?;
        let writer = stdin.map(|data| {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            let data = data.to_vec();
            std::thread::spawn(move || pipe.write_all(&data))
        });
        let read = |mut r: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                buf
            })
        };
        let out = read(Box::new(child.stdout.take().expect("stdout is piped")));
        let err = read(Box::new(child.stderr.take().expect("stderr is piped")));
        let (status, aborted) = wait(&mut child)?;
        if let Some(w) = writer {
            let _ = w.join();
        }
        let output = Output {
            status,
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        };
        Ok((output, aborted))
    }

    /// Runs `argv` and fails, naming the target and showing stderr, unless it succeeds.
    pub fn run<S: AsRef<OsStr>>(&self, argv: &[S], stdin: Option<&[u8]>) -> Result<Output> {
        let out = self.output(argv, stdin)?;
        self.check(argv, out)
    }

    pub fn check<S: AsRef<OsStr>>(&self, argv: &[S], out: Output) -> Result<Output> {
        if out.status.success() {
            return Ok(out);
        }
        Err(Error::failed(format!(
            "{} failed ({}){}",
            self.describe(argv),
            out.status,
            tail(&out.stderr, &out.stdout)
        )))
    }

    /// `in <container>: <command>` for messages and the dry-run plan.
    pub fn describe<S: AsRef<OsStr>>(&self, argv: &[S]) -> String {
        let where_ = if self.metal {
            "on the host".to_string()
        } else {
            format!("in {}", self.name)
        };
        format!("{where_}: {}", shell_words(argv))
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
    fn container_commands_clear_the_environment_and_keep_argv_separate() {
        let t = Lxc {
            path: Some("/lab/lxc".into()),
        }
        .target("aio1_keystone_container-6c0f3a1e", false);
        let cmd = t.command(&["sh", "-c", "echo \"$1\"", "sh", "a; rm -rf /"]);
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(cmd.get_program(), "lxc-attach");
        assert_eq!(
            &args[..5],
            [
                "-P",
                "/lab/lxc",
                "-n",
                "aio1_keystone_container-6c0f3a1e",
                "--clear-env"
            ]
        );
        assert_eq!(args.last().unwrap(), "a; rm -rf /");
        assert!(args.iter().any(|a| a.starts_with("PATH=")));
    }

    #[test]
    fn metal_commands_run_on_the_host_with_a_clean_environment() {
        let t = Lxc::default().target("aio1", true);
        let cmd = t.command(&["systemctl", "status"]);
        assert_eq!(cmd.get_program(), "systemctl");
        assert!(cmd.get_envs().any(|(k, _)| k == "PATH"));
    }

    #[test]
    fn describe_quotes_like_a_shell() {
        let t = Lxc::default().target("c1", false);
        assert_eq!(
            t.describe(&["runuser", "-u", "keystone", "--", "echo", "it's a b"]),
            r"in c1: runuser -u keystone -- echo 'it'\''s a b'"
        );
    }

    #[test]
    fn tail_prefers_stderr_and_keeps_the_last_lines() {
        let err: String = (0..20).map(|i| format!("line {i}\n")).collect();
        let t = tail(err.as_bytes(), b"out");
        assert!(t.contains("line 19") && !t.contains("line 7\n"));
        assert_eq!(tail(b"  \n", b"only stdout"), ":\n  only stdout");
    }
}
