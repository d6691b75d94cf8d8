//! `git osa hooks install|uninstall|status`, and what an installed hook runs (`fire`,
//! then `work` in the background). The mechanics are in `hooks.rs`.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

use crate::cli::{HooksAction, HooksArgs};
use crate::context::Context;
use crate::detach;
use crate::error::{Error, Kind, Result};
use crate::hooks::{Hooks, scrub_git_env};

/// How long the worker lets a burst of hooks go on before it redeploys.
const DEBOUNCE: Duration = Duration::from_millis(300);

pub fn run(ctx: &Context, args: &HooksArgs) -> Result<ExitCode> {
    let hooks = Hooks::of(&ctx.cwd)?;
    match &args.action {
        HooksAction::Install { start } => {
            for line in hooks.install(*start)? {
                ctx.ui.step(line);
            }
            ctx.ui.step(format!(
                "hooks in {}: after a commit, merge, branch switch or rebase, `git osa sync` runs in the background{}; `git osa logs --hooks` shows it",
                hooks.dir.display(),
                if *start {
                    ", starting a detached dev session when there is none"
                } else {
                    " when the container is in a dev session of this checkout"
                }
            ));
        }
        HooksAction::Uninstall => {
            for line in hooks.uninstall()? {
                ctx.ui.step(line);
            }
        }
        HooksAction::Status { json: true } => {
            crate::json::print(&crate::json::HooksStatus::new(&hooks))?;
        }
        HooksAction::Status { json: false } => {
            println!("hooks    {}", hooks.dir.display());
            for line in hooks.status() {
                println!("  {line}");
            }
            if hooks.starts() {
                println!("  start    a hook starts a detached dev session when there is none");
            }
            match std::fs::read_to_string(hooks.last()) {
                Ok(l) => println!("last     {}", l.trim()),
                Err(_) => println!("last     no redeploy yet"),
            }
        }
        HooksAction::Fire { hook } => {
            if let Some(line) = hooks.fire(hook, &std::env::current_exe()?)? {
                eprintln!("{line}");
            }
        }
        HooksAction::Work => {
            let exe = std::env::current_exe()?;
            hooks.work(DEBOUNCE, &|| redeploy(ctx, &hooks, &exe))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One redeploy: `git osa sync` when the container is in a detached dev session of
/// this checkout (a foreground run is the terminal's; a stopped one stays stopped), `git osa run --detach` when there is none and the hooks were installed with
/// `--start`, nothing otherwise. Returns what it did, in a few words.
fn redeploy(ctx: &Context, hooks: &Hooks, exe: &Path) -> Result<String> {
    let args: &[&str] = match detach::find(ctx, None) {
        Ok(dev) => {
            let ours = dev
                .session
                .checkout
                .as_deref()
                .is_some_and(|c| same_dir(Path::new(c), &hooks.root));
            if !ours {
                return Ok(format!(
                    "nothing to do: {} is in a dev session of another checkout ({})",
                    dev.target.name,
                    dev.session.checkout.as_deref().unwrap_or("unknown")
                ));
            }
            if dev.session.detached_at.is_none() {
                return Ok(format!(
                    "nothing to do: the dev session in {} is not detached (`git osa run --detach`)",
                    dev.target.name
                ));
            }
            &["sync"]
        }
        Err(e) if e.kind() == Kind::User && hooks.starts() => &["run", "--detach"],
        Err(e) if e.kind() == Kind::User => {
            return Ok(format!("nothing to do: {e}"));
        }
        Err(e) => return Err(e),
    };
    let mut cmd = Command::new(exe);
    cmd.args(args).current_dir(&hooks.root);
    scrub_git_env(&mut cmd);
    let status = cmd.status()?;
    if !status.success() {
        return Err(Error::failed(format!(
            "`git osa {}` exited with {status}",
            args.join(" ")
        )));
    }
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(&hooks.root)
        .output()?;
    Ok(format!(
        "`git osa {}` deployed {}",
        args.join(" "),
        String::from_utf8_lossy(&head.stdout).trim()
    ))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
