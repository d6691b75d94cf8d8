//! `git osa watch`: each burst of saves in the checkout becomes one sync, run in this
//! process; on the terminal with the dev units' logs, or in the background (`--detach`).
//! What changes and when a burst is over is `changes.rs`'s business, following the
//! checkout and syncing `follow.rs`'s, the background watcher `background.rs`'s, the
//! watcher's own record (for `status`, `stop`, `restore`) `record.rs`'s.
//!
//! Syncs take the hooks' lock (`.git/git-osa/lock`): a git hook's redeploy and a
//! watcher's sync never run the cycle at once, and a redeploy a hook wanted while the
//! watcher held the lock is the watcher's to run.

mod background;
mod changes;
mod follow;
mod record;

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::RunArgs;
use crate::context::Context;
use crate::error::{Error, Kind, Result};
use crate::execute::Runner;
use crate::hooks::Hooks;
use crate::journal::{self, Following as Logs};
use crate::session::{self, InDev, Lock};
use crate::signals::{self, Interrupts};
use crate::start::{self, Start};

pub use background::in_background;
pub use changes::{AT_MOST, Debounce, Filter, QUIET, describe};
use follow::Following;
pub use record::{BEAT, Dead, Held, Watcher, dead, end, hold, log_file, running};

/// How long `stop` and `restore` let a watcher finish the sync it is in.
pub const GRACE: Duration = Duration::from_secs(30);

/// What a watch asks for.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    pub container: Option<String>,
    /// Watch in the background and return.
    pub detach: bool,
    /// Start the dev units with the hot-patch agent, when watch starts them.
    pub hot_patch: bool,
}

pub fn watch(ctx: &Context, req: &Watch) -> Result<ExitCode> {
    let hooks = Hooks::of(&ctx.cwd)?;
    if let Some(w) = running(&hooks.state) {
        return Err(Error::user(format!(
            "this checkout is already watched (pid {}, {}{})",
            w.pid,
            crate::clock::age(w.since),
            if w.background {
                ", in the background"
            } else {
                ", on a terminal"
            }
        ))
        .hint("`git osa stop` ends the watcher (and the dev units); `git osa logs --watch` shows a background one's syncs"));
    }
    let interrupts = Interrupts::watch();
    let started = ensure_session(ctx, req, &hooks.root)?;
    let dev = session::find::find(ctx, req.container.as_deref())?;
    if req.detach {
        return background::detach(ctx, &hooks, &dev);
    }
    let checkout = Following::start(&hooks, &dev)?;
    let held = hold(&hooks.state, false)?;
    let services = dev.services();
    let logs = Logs::start(
        &dev.target,
        &dev.paths,
        journal::argv(&services, None, true),
        services.len() > 1,
    )?;
    ctx.ui.step(format!(
        "watching {} for {}: each save is synced; Ctrl-C stops watching{}",
        hooks.root.display(),
        dev.target.name,
        if started {
            " and puts production back"
        } else {
            " (the dev session goes on)"
        }
    ));
    let sig = follow::watch_loop(ctx, &hooks, checkout, &dev.target.name, interrupts, &held)?;
    logs.stop();
    drop(held);
    if started {
        ctx.ui.step(format!(
            "stopped watching ({}); ending the dev session watch started in {}: production back",
            signals::name(sig),
            dev.target.name
        ));
        end_session(ctx, &hooks, &dev)?;
    } else {
        ctx.ui.step(format!(
            "stopped watching ({}); the dev session in {} was there before and goes on: `git osa stop` ends its units, `git osa restore` puts production back",
            signals::name(sig),
            dev.target.name
        ));
    }
    Ok(ExitCode::from(128 + sig as u8))
}

/// Starts a detached dev session of this checkout, as `git osa run --detach` does, when
/// the container is in none. True when there was no dev session at all before.
fn ensure_session(ctx: &Context, req: &Watch, root: &Path) -> Result<bool> {
    let started = match session::find::find(ctx, req.container.as_deref()) {
        Ok(dev) => {
            let ours = dev
                .session
                .checkout
                .as_deref()
                .is_some_and(|c| crate::project::same_dir(Path::new(c), root));
            if ours && dev.session.detached_at.is_some() && !dev.services().is_empty() {
                return Ok(false);
            }
            false
        }
        Err(e) if e.kind() == Kind::User => true,
        Err(e) => return Err(e),
    };
    let run = Start {
        detach: true,
        restore_on_exit: false,
        hot_patch: req.hot_patch,
        container: req
            .container
            .clone()
            .or_else(|| ctx.settings.container.value.clone()),
        ..Start::of(ctx, &RunArgs::default())
    };
    start::start(ctx, &run)?;
    Ok(started)
}

/// Restores production in the target, under the container's lock and the hooks' (no
/// redeploy starts meanwhile).
fn end_session(ctx: &Context, hooks: &Hooks, dev: &InDev) -> Result<()> {
    let host_lock = open_lock(hooks)?;
    host_lock.lock()?;
    let _lock = Lock::acquire(&dev.target, &dev.paths, "watch")?;
    let Some(session) = session::find::read(&dev.target, &dev.paths)? else {
        return Ok(());
    };
    Runner::new(&ctx.ui, ctx.haproxy(), dev.paths.clone(), session).restore(
        &dev.target,
        &dev.placement.host,
        &dev.placement.units,
        false,
    )
}

fn open_lock(hooks: &Hooks) -> Result<File> {
    std::fs::create_dir_all(&hooks.state)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(hooks.lock())?;
    crate::owner::give_back(&hooks.lock());
    Ok(lock)
}

/// Ends the watcher of the checkout at `root`, if one runs (`git osa stop`, `git osa
/// restore`, which ends that of each session's checkout, wherever it runs from): before
/// the container's lock is taken, which the watcher's sync may hold.
pub fn end_watcher_of(ctx: &Context, root: &Path) -> Result<()> {
    let Ok(hooks) = Hooks::of(root) else {
        return Ok(());
    };
    if let Some(w) = end(&hooks.state, GRACE)? {
        ctx.ui.step(format!(
            "stopped watching {} (the watcher was pid {})",
            hooks.root.display(),
            w.pid
        ));
    } else if let Some(d) = dead(&hooks.state) {
        let _ = std::fs::remove_file(record::pid_file(&hooks.state));
        ctx.ui.step(format!(
            "the watcher of {} (pid {}) had died {}: its record is removed",
            hooks.root.display(),
            d.pid,
            crate::clock::age(d.last_seen)
        ));
    }
    Ok(())
}
