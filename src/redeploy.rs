//! What changes a running session: [`sync`] redeploys the checkout into it (what changed
//! travels, the install and the db sync run only when their inputs changed, the detached
//! dev units reload or restart only when something changed; the outcome is recorded in
//! the session, for `status` and the git hooks), [`stop`] ends its detached dev units
//! (traffic back to the other servers first; the container stays in dev mode);
//! [`for_hook`] is what a git hook's worker redeploys.
//! `git osa sync`, `git osa stop`, the git hooks and `git osa watch` come here.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::context::Context;
use crate::cycle::{self, Choice, RunPlan};
use crate::error::{Error, Kind, Result};
use crate::execute::Runner;
use crate::hooks::{Hooks, scrub_git_env};
use crate::select;
use crate::session::lock::Lock;
use crate::session::{self, InDev};
use crate::survey::{self, Survey};

/// What a sync asks for.
#[derive(Debug, Clone, Default)]
pub struct Sync {
    pub container: Option<String>,
    pub allow_public_index: Option<String>,
    /// Plan only: nothing is locked, nothing changed.
    pub dry_run: bool,
    /// Sync into a session another checkout started without asking.
    pub force: bool,
    /// The configuration changed (`git osa conf set`): the dev units reload or restart
    /// even when no file of the checkout did.
    pub reconfigure: crate::cycle::Reconfigure,
}

/// How a sync ended.
pub enum Synced {
    /// A dry run: what would run.
    Planned(Box<RunPlan>),
    /// The container runs this now.
    Done {
        container: String,
        commit: Option<String>,
        dirty: bool,
    },
}

pub fn sync(ctx: &Context, req: &Sync) -> Result<Synced> {
    // The session is read under the lock, taken in the same round trip.
    let (found, mut lock) = if req.dry_run {
        (session::find::find(ctx, req.container.as_deref())?, None)
    } else {
        let (found, lock) = session::find::find_locked(ctx, req.container.as_deref(), "sync")?;
        (found, Some(lock))
    };
    if !req.dry_run {
        another_checkout(ctx, &found, req.force)?;
    }
    let survey = survey_session(ctx, &found, lock.as_mut())?;
    let choice = Choice {
        allow_public_index: req.allow_public_index.clone(),
        offer_index: ctx.settings.public_index.value.clone(),
        detach: true,
        // a snapshot the session took stays the one restore loads
        db_snapshot: ctx.settings.db_snapshot.value,
        restore_on_exit: false,
        hot_patch: false,
        reconfigure: req.reconfigure,
        debug: None,
    };
    let plan = cycle::plan_sync(&survey, &choice)?;
    if req.dry_run {
        return Ok(Synced::Planned(Box::new(plan)));
    }
    let session = survey.session.clone().unwrap_or(found.session);
    let mut runner = Runner::new(&ctx.ui, ctx.haproxy(), found.paths.clone(), session);
    if let Some(lock) = &lock {
        runner.write_through(lock);
    }
    runner.execute(&plan)?;
    Ok(Synced::Done {
        container: found.target.name,
        commit: survey.checkout.tree.commit,
        dirty: survey.checkout.tree.dirty,
    })
}

/// A session another checkout started (a linked worktree, git-osa's worktree of a
/// reviewed change) is synced into only when asked: a prompt on a terminal, `--force`
/// otherwise, as `git osa run` asks before it takes another user's session over.
fn another_checkout(ctx: &Context, found: &InDev, force: bool) -> Result<()> {
    let here = &found.project.checkout.root;
    let Some(theirs) = found.session.checkout.as_deref() else {
        return Ok(());
    };
    if force || crate::project::same_dir(std::path::Path::new(theirs), here) {
        return Ok(());
    }
    let what = format!(
        "{} runs the checkout at {theirs} (its dev session started there)",
        found.target.name
    );
    if ctx.ui.interactive {
        let question = format!(
            "{what}; sync {} into it instead (its code is replaced)?",
            here.display()
        );
        return match ctx.ui.confirm(&question) {
            true => Ok(()),
            false => Err(Error::user("not synced: nothing was changed")),
        };
    }
    Err(
        Error::user(format!("{what}: nothing was changed")).hint(format!(
            "run `git osa sync` in {theirs}, or pass --force to sync {} into the session instead",
            here.display()
        )),
    )
}

/// The survey of a session's container, as the session says it runs: its units, its
/// venv, its `--with` libraries' checkouts.
/// The probe goes through `lock`'s holder when there is one.
fn survey_session(ctx: &Context, found: &InDev, lock: Option<&mut Lock>) -> Result<Survey> {
    let units = select::units(&found.placement, &found.session.stopped_units)?;
    let with_paths: Vec<PathBuf> = found
        .session
        .with
        .iter()
        .map(|w| PathBuf::from(&w.checkout))
        .collect();
    let asked = survey::Asked {
        explicit_units: false,
        no_haproxy: false,
        with: survey::libraries(&found.project, &with_paths)?,
        venv: found.session.venv.clone(),
        review: None,
    };
    let (all, _) = ctx.placements(&found.project.service)?;
    survey::survey(
        ctx,
        &found.project,
        &found.placement,
        &all,
        units,
        &asked,
        lock,
    )
}

/// How a stop ended.
pub enum Stopped {
    /// No detached dev unit ran in this container.
    Nothing(String),
    /// The detached dev units of this container were stopped.
    Units(String),
}

/// Ends the detached dev units of the session in `container` (or the only one).
pub fn stop(ctx: &Context, container: Option<&str>) -> Result<Stopped> {
    // Read under the lock, taken in the same round trip: a run or sync may change it
    // until then.
    let (dev, lock) = session::find::find_locked(ctx, container, "stop")?;
    let services = dev.services();
    if services.is_empty() {
        return Ok(Stopped::Nothing(dev.target.name));
    }
    let pins = crate::traffic::pins(
        &ctx.haproxy().servers()?,
        &dev.placement.host,
        &dev.placement.units,
        &dev.session.disabled_servers,
    );
    ctx.ui.step(format!(
        "stopping {} in {}",
        services.join(", "),
        dev.target.name
    ));
    let mut runner = Runner::new(&ctx.ui, ctx.haproxy(), dev.paths.clone(), dev.session);
    runner.write_through(&lock);
    runner.detached(&dev.target).stop(&services, &pins)?;
    Ok(Stopped::Units(dev.target.name))
}

/// One redeploy: `git osa sync` when the container is in a detached dev session of
/// this checkout (a foreground run is the terminal's; a stopped one stays stopped), `git osa run --detach` when there is none and the hooks were installed with
/// `--start`, nothing otherwise. Returns what it did, in a few words.
pub fn for_hook(ctx: &Context, hooks: &Hooks, exe: &Path) -> Result<String> {
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
