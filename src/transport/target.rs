//! A target, and running commands in it: argv only, a cleared environment, and a log line
//! for each (where, as whom, the argv, how long, how it ended).
//!
//! A container's commands go through `lxc-attach` on its host, as OSA's own connection
//! plugin does; `--clear-env` is always on: the caller's environment (pip and certificate
//! variables on a deploy host) must not leak into a container, whose commands get [`ENV`].

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::error::{Error, Result};

use super::{LOG, OUTPUT, Process, Running, Transport, quote, shell_words, tail, tee};

/// The `PATH` of every command git-osa runs in a target.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The whole environment of every command in a target, in place of the caller's.
pub const ENV: [(&str, &str); 3] = [("PATH", PATH), ("LANG", "C.UTF-8"), ("HOME", "/root")];

/// A place commands run: one container, or its host itself for metal components; `via`
/// reaches that host.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub lxc_path: Option<PathBuf>,
    pub metal: bool,
    pub via: Arc<dyn Transport>,
}

impl Target {
    /// The local process that runs `argv` in the target: through `lxc-attach --clear-env`
    /// on its host for a container, on the host itself with only [`ENV`] for metal.
    fn process<S: AsRef<OsStr>>(&self, argv: &[S]) -> Result<Process> {
        let argv: Vec<OsString> = argv.iter().map(|a| a.as_ref().to_os_string()).collect();
        if self.metal {
            return self.via.process(&argv, Some(&ENV));
        }
        self.via
            .process(&attach(self.lxc_path.as_deref(), &self.name, argv), None)
    }

    /// The command that runs `argv` in the target, with a clean environment, for children
    /// whose stdio the caller wires itself (the lock holder, the dev process).
    /// Logged as started: every caller spawns it at once, and says itself how it ended.
    pub fn command<S: AsRef<OsStr>>(&self, argv: &[S]) -> Result<Command> {
        log::debug!(target: LOG, "{} (started)", self.what(argv, None));
        Ok(self.process(argv)?.command())
    }

    /// Like [`Target::command`], for a process on the user's terminal (a shell, a debugger
    /// prompt): over ssh the host gives it a terminal of its own (`ssh -tt`), so that what
    /// the user types, Ctrl-C included, reaches it there.
    pub fn terminal_command<S: AsRef<OsStr>>(&self, argv: &[S]) -> Result<Command> {
        log::debug!(target: LOG, "{} (started, on the terminal)", self.what(argv, None));
        let argv: Vec<OsString> = argv.iter().map(|a| a.as_ref().to_os_string()).collect();
        let process = if self.metal {
            self.via.terminal_process(&argv, Some(&ENV))?
        } else {
            self.via
                .terminal_process(&attach(self.lxc_path.as_deref(), &self.name, argv), None)?
        };
        Ok(process.command())
    }

    /// Runs `argv`, feeding `stdin`, and returns its output whatever its exit status.
    pub fn output<S: AsRef<OsStr>>(&self, argv: &[S], stdin: Option<&[u8]>) -> Result<Output> {
        self.start(argv, stdin, false)?.wait()
    }

    /// Starts `argv` and returns at once; [`Running::wait`] collects its output. For steps
    /// that run beside others (the copy of the venv).
    pub fn spawn<S: AsRef<OsStr>>(&self, argv: &[S], stdin: Option<&[u8]>) -> Result<Running> {
        log::debug!(target: LOG, "{} (started)", self.what(argv, stdin));
        self.start(argv, stdin, false)
    }

    /// Like [`Target::output`], watching `stop` while the command runs: once it is true,
    /// `abort` is called (it must make the command end, e.g. by stopping its scope in the
    /// container) and the wait goes on. Returns the output and whether it was aborted.
    /// These are the long steps: logged when they start too, their output streamed at -vv.
    pub fn output_unless<S: AsRef<OsStr>>(
        &self,
        argv: &[S],
        stdin: Option<&[u8]>,
        stop: &dyn Fn() -> bool,
        abort: &dyn Fn(),
    ) -> Result<(Output, bool)> {
        log::debug!(target: LOG, "{} (started)", self.what(argv, stdin));
        let stream = log::log_enabled!(target: OUTPUT, log::Level::Trace);
        let running = self.start(argv, stdin, stream)?;
        let mut aborted = false;
        while !running.ended()? {
            if !aborted && stop() {
                abort();
                aborted = true;
            }
            // Often at first: most steps in a scope (a sync's unpack) end within tens of
            // milliseconds, and each poll missed is time the whole command waits.
            let pause = if running.started.elapsed() < Duration::from_millis(250) {
                2
            } else {
                20
            };
            std::thread::sleep(Duration::from_millis(pause));
        }
        Ok((running.wait()?, aborted))
    }

    /// Starts `argv` with `stdin` fed and stdout and stderr captured. duct does each on its
    /// own thread, so a command that fills one pipe while we write the other cannot block.
    /// With `stream` (`-vv`), the output is read by threads of ours instead, which log
    /// each line as it comes and keep it too.
    fn start<S: AsRef<OsStr>>(
        &self,
        argv: &[S],
        stdin: Option<&[u8]>,
        stream: bool,
    ) -> Result<Running> {
        let what = self.what(argv, stdin);
        let mut expr = self.process(argv)?.expression();
        let mut tees = None;
        if stream {
            let (out_r, out_w) = std::io::pipe()?;
            let (err_r, err_w) = std::io::pipe()?;
            expr = expr.stdout_file(out_w).stderr_file(err_w);
            tees = Some([tee(out_r), tee(err_r)]);
        } else {
            expr = expr.stdout_capture().stderr_capture();
        }
        expr = match stdin {
            Some(data) => expr.stdin_bytes(data),
            None => expr.stdin_null(),
        };
        let handle = expr
            .start()
            .with_context(|| format!("starting {}", self.describe(argv)))?;
        // Our copies of the pipes' write ends go with `expr`: the readers see the end of
        // the output when the command's copies close.
        drop(expr);
        Ok(Running {
            handle,
            tees,
            started: Instant::now(),
            what,
        })
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
        format!("{}: {}", self.place(), shell_words(argv))
    }

    fn place(&self) -> String {
        if self.metal {
            "on the host".to_string()
        } else {
            format!("in {}", self.name)
        }
    }

    /// A command as the log shows it: where, as whom, the argv (scripts only at -vv:
    /// the word after one, `$0`, names it), and what it reads on stdin.
    fn what<S: AsRef<OsStr>>(&self, argv: &[S], stdin: Option<&[u8]>) -> String {
        let full = log::log_enabled!(target: LOG, log::Level::Trace);
        let words: Vec<String> = argv
            .iter()
            .map(|a| {
                let a = a.as_ref().to_string_lossy();
                if !full && a.contains('\n') {
                    "<script>".to_string()
                } else {
                    quote(&a)
                }
            })
            .collect();
        let mut what = format!("{} as {}: {}", self.place(), runs_as(argv), words.join(" "));
        // Rounded up to KiB: a secret on stdin (a database password) is short, and its
        // length must not show either.
        if let Some(data) = stdin {
            what.push_str(&format!(
                " (stdin: {} KiB)",
                data.len().div_ceil(1024).max(1)
            ));
        }
        what
    }
}

/// The host argv that runs `argv` in the container `name`: `lxc-attach --clear-env`, with
/// only [`ENV`] set inside.
pub fn attach(lxc_path: Option<&Path>, name: &str, argv: Vec<OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["lxc-attach".into()];
    if let Some(p) = lxc_path {
        args.extend(["-P".into(), p.into()]);
    }
    args.extend(["-n".into(), name.into(), "--clear-env".into()]);
    for (k, v) in ENV {
        args.extend(["--set-var".into(), format!("{k}={v}").into()]);
    }
    args.push("--".into());
    args.extend(argv);
    args
}

/// Whom a command runs as: the user `runuser -u` switches to, else root (`lxc-attach`
/// enters as root; metal commands run as git-osa, which runs as root).
fn runs_as<S: AsRef<OsStr>>(argv: &[S]) -> String {
    argv.windows(3)
        .find(|w| w[0].as_ref() == "runuser" && w[1].as_ref() == "-u")
        .map(|w| w[2].as_ref().to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::ExitStatus;

    use crate::lxc::Lxc;
    use crate::transport::ended;
    use crate::transport::fake::{Fake, Sent};

    #[test]
    fn container_commands_clear_the_environment_and_keep_argv_separate() {
        let fake = Arc::new(Fake::default());
        let t = Lxc {
            path: Some("/lab/lxc".into()),
            via: fake.clone(),
        }
        .target("aio1_keystone_container-6c0f3a1e", false);
        t.run(&["sh", "-c", "echo \"$1\"", "sh", "a; rm -rf /"], None)
            .unwrap();
        let sent = fake.sent();
        let [Sent::Command(args)] = sent.as_slice() else {
            panic!("one command: {sent:?}");
        };
        assert_eq!(
            &args[..6],
            [
                "lxc-attach",
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
    fn the_log_shows_stdin_in_kib_so_a_passwords_length_does_not_show() {
        let t = Lxc::default().target("aio1", true);
        let argv = ["cat"];
        let short = t.what(&argv, Some(b"hunter2"));
        assert!(short.ends_with(" (stdin: 1 KiB)"), "{short}");
        assert_eq!(t.what(&argv, Some(b"x")), short);
        assert!(
            t.what(&argv, Some(&[0u8; 1025]))
                .ends_with(" (stdin: 2 KiB)"),
            "a tar's size still shows"
        );
    }

    #[test]
    fn metal_commands_run_on_the_host_with_a_clean_environment() {
        let t = Lxc::default().target("aio1", true);
        let cmd = t.command(&["systemctl", "status"]).unwrap();
        assert!(cmd.get_program().to_string_lossy().ends_with("systemctl"));
        assert!(cmd.get_envs().any(|(k, _)| k == "PATH"));
    }

    #[test]
    fn metal_output_feeds_stdin_and_keeps_stdout_stderr_and_the_exit_code_apart() {
        // More than a pipe holds on every stream: writing stdin while not reading stdout
        // (or stderr) would hang.
        let data: Vec<u8> = (0..1_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let script = "cat; head -c 300000 /dev/zero | tr '\\0' e >&2; exit 3";
        let out = Lxc::default()
            .target("aio1", true)
            .output(&["sh", "-c", script], Some(&data))
            .unwrap();
        assert!(out.stdout == data, "stdout is stdin");
        assert_eq!(out.stderr, vec![b'e'; 300_000]);
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn metal_output_runs_with_only_git_osas_environment() {
        let out = Lxc::default()
            .target("aio1", true)
            .run(&["env"], None)
            .unwrap();
        let mut env: Vec<_> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        env.sort();
        assert_eq!(env, ["HOME=/root", "LANG=C.UTF-8", &format!("PATH={PATH}")]);
    }

    #[test]
    fn streamed_output_is_kept_whole_and_apart_as_when_captured() {
        // -vv reads the pipes with threads of git-osa's: the same sizes must not hang and
        // must come back the same, the last line without its newline too.
        let data: Vec<u8> = (0..1_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let script = "cat; head -c 300000 /dev/zero | tr '\\0' e >&2; printf end >&2; exit 3";
        let out = Lxc::default()
            .target("aio1", true)
            .start(&["sh", "-c", script], Some(&data), true)
            .unwrap()
            .wait()
            .unwrap();
        assert!(out.stdout == data, "stdout is stdin");
        let mut err = vec![b'e'; 300_000];
        err.extend_from_slice(b"end");
        assert!(out.stderr == err);
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn the_log_says_where_as_whom_how_long_and_how_it_ended() {
        use std::os::unix::process::ExitStatusExt;

        let t = Lxc::default().target("c1", false);
        let argv = [
            "systemd-run",
            "--scope",
            "--",
            "runuser",
            "-u",
            "keystone",
            "--",
            "sh",
            "-c",
            "set -e\ntrue",
            "git-osa-x",
        ];
        assert_eq!(
            t.what(&argv, Some(b"abc")),
            "in c1 as keystone: systemd-run --scope -- runuser -u keystone -- sh -c <script> git-osa-x (stdin: 1 KiB)"
        );
        assert_eq!(
            Lxc::default().target("aio1", true).what(&["true"], None),
            "on the host as root: true"
        );
        let exit = |code: i32| ExitStatus::from_raw(code << 8);
        assert_eq!(ended(Duration::from_millis(12), exit(0)), "12 ms, exit 0");
        assert_eq!(
            ended(Duration::from_millis(1520), exit(3)),
            "1.52 s, exit 3"
        );
        assert_eq!(
            ended(Duration::from_millis(5), ExitStatus::from_raw(15)),
            "5 ms, killed by signal 15"
        );
    }

    #[test]
    fn output_unless_aborts_once_stop_turns_true_and_waits_for_the_end() {
        use std::os::unix::process::ExitStatusExt;
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let pid = || std::fs::read_to_string(&pid_file).unwrap_or_default();
        let aborts = std::cell::Cell::new(0);
        let started = std::time::Instant::now();
        let script = r#"echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 60"#;
        let (out, aborted) = Lxc::default()
            .target("aio1", true)
            .output_unless(
                &["sh", "-c", script, "sh", pid_file.to_str().unwrap()],
                None,
                &|| !pid().is_empty(),
                &|| {
                    aborts.set(aborts.get() + 1);
                    let kill = Command::new("kill").arg(pid().trim()).status().unwrap();
                    assert!(kill.success());
                },
            )
            .unwrap();
        assert!(aborted);
        assert_eq!(aborts.get(), 1);
        assert_eq!(out.status.signal(), Some(15));
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn describe_quotes_like_a_shell() {
        let t = Lxc::default().target("c1", false);
        assert_eq!(
            t.describe(&["runuser", "-u", "keystone", "--", "echo", "it's a b"]),
            r"in c1: runuser -u keystone -- echo 'it'\''s a b'"
        );
    }
}
