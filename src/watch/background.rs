//! The background watcher (`git osa watch --detach`): a git-osa of its own, in a session
//! of its own (no terminal's hangup or Ctrl-C reaches it), its output appended to the
//! watch log, watching until `git osa stop` or `restore` sends it SIGTERM.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::{Following, follow, hold, log_file, running};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::hooks::{Hooks, scrub_git_env};
use crate::output;
use crate::session::{self, InDev};
use crate::signals::{self, Interrupts};

/// Starts the background watcher in a session of its own (no terminal's hangup or Ctrl-C
/// reaches it), its output appended to the watch log, and returns once it watches.
pub(super) fn detach(ctx: &Context, hooks: &Hooks, dev: &InDev) -> Result<ExitCode> {
    std::fs::create_dir_all(&hooks.state)?;
    let log_path = log_file(&hooks.state);
    let log = crate::hooks::open_log(&log_path)?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["watch", "--in-background", "--container", &dev.target.name])
        .current_dir(&hooks.root)
        // The deployment as this command resolved it, whatever flags named it.
        .env("GIT_OSA_INVENTORY", &ctx.global.inventory)
        .env("GIT_OSA_HAPROXY_SOCKET", &ctx.global.haproxy_socket)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if let Some(p) = &ctx.global.lxc_path {
        cmd.env("GIT_OSA_LXC_PATH", p);
    }
    if let Some(p) = &ctx.global.config {
        cmd.env("GIT_OSA_CONFIG", p);
    }
    scrub_git_env(&mut cmd);
    // SAFETY: setsid(2) is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .context("starting the watcher in the background")?;
    let start = Instant::now();
    loop {
        if running(&hooks.state).is_some_and(|w| w.pid == child.id()) {
            break;
        }
        if let Some(status) = child.try_wait()? {
            let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(Error::failed(format!(
                "the background watcher ended as it started ({status}):\n{}",
                tail.join("\n")
            )));
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err(Error::failed(format!(
                "the background watcher (pid {}) did not start watching within 10 s",
                child.id()
            ))
            .hint(format!("its log: {}", log_path.display())));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ctx.ui.step(format!(
        "watching {} in the background (pid {}): each save is synced into {}; `git osa logs --watch` shows the syncs, `git osa logs -f` the units, `git osa stop` ends both",
        hooks.root.display(),
        child.id(),
        dev.target.name
    ));
    Ok(ExitCode::SUCCESS)
}

/// What `--detach` starts (`git osa watch --in-background`): watches until SIGTERM.
pub fn in_background(ctx: &Context, container: Option<&str>) -> Result<ExitCode> {
    let hooks = &Hooks::of(&ctx.cwd)?;
    // Watching before the record says so: `watch --detach` returns once it does, and a
    // save right after must not be missed.
    let container = container
        .ok_or_else(|| Error::user("the background watcher needs --container"))?
        .to_string();
    let dev = session::find::find(ctx, Some(&container))?;
    let checkout = Following::start(hooks, &dev)?;
    let held = hold(&hooks.state, true)?;
    let interrupts = Interrupts::watch();
    output::line(format!(
        "--- watching {} for {container}, pid {}, at {} (unix time)",
        hooks.root.display(),
        std::process::id(),
        crate::clock::now()
    ))?;
    let sig = follow::watch_loop(ctx, hooks, checkout, &container, interrupts, &held)?;
    output::line(format!(
        "--- stopped watching ({}) at {} (unix time)",
        signals::name(sig),
        crate::clock::now()
    ))?;
    drop(held);
    Ok(ExitCode::SUCCESS)
}
