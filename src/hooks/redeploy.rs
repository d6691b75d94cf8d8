//! What a hook's worker redeploys: `git osa sync` into the session of this checkout, or
//! `git osa run --detach` where there is none and the hooks start one; each in a git-osa
//! of its own, as the user would run it.

use std::path::Path;
use std::process::Command;

use super::{Hooks, scrub_git_env};
use crate::context::Context;
use crate::error::{Error, Kind, Result};
use crate::session;

/// One redeploy: `git osa sync` when the container is in a detached dev session of
/// this checkout (a foreground run is the terminal's; a stopped one stays stopped), `git osa run --detach` when there is none and the hooks were installed with
/// `--start`, nothing otherwise. Returns what it did, in a few words.
pub fn redeploy(ctx: &Context, hooks: &Hooks, exe: &Path) -> Result<String> {
    let args: &[&str] = match session::find::find(ctx, None) {
        Ok(dev) => {
            let ours = dev
                .session
                .checkout
                .as_deref()
                .is_some_and(|c| crate::project::same_dir(Path::new(c), &hooks.root));
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
