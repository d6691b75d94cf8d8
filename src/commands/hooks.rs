//! `git osa hooks install|uninstall|status`, and what an installed hook runs (`fire`,
//! then `work` in the background). The mechanics are in `hooks.rs`.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{HooksAction, HooksArgs};
use crate::context::Context;
use crate::error::Result;
use crate::hooks::Hooks;
use crate::output;
use crate::redeploy;

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
        HooksAction::Status { json: false } => output::print(hooks.status_text())?,
        HooksAction::Fire { hook } => {
            if let Some(line) = hooks.fire(hook, &std::env::current_exe()?)? {
                eprintln!("{line}");
            }
        }
        HooksAction::Work => {
            let exe = std::env::current_exe()?;
            hooks.work(DEBOUNCE, &|| redeploy::for_hook(ctx, &hooks, &exe))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
