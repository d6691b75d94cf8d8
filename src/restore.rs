//! `git osa restore`: production back exactly as it was, in the project's containers, one
//! of them, or every container of the host that holds a session. Per container: end the
//! watcher of the session's checkout (it would sync into the container as it is
//! restored), take the lock, read the session under it, and run the restore the cycle
//! plans from it (`cycle/restore.rs`, `Runner::restore`).

use std::path::Path;

use crate::context::Context;
use crate::cycle::{self, Now};
use crate::error::{Error, Result};
use crate::execute::Runner;
use crate::layout::Paths;
use crate::plan::Step;
use crate::session::{self, Lock};
use crate::transport::Target;
use crate::watch;

/// What a restore asks for.
#[derive(Debug, Clone, Default)]
pub struct Restore {
    /// Every session of the host, whatever its project.
    pub all: bool,
    pub container: Option<String>,
    /// Plan only: nothing is locked, nothing changed.
    pub dry_run: bool,
}

/// One container's restore plan, for a dry run.
pub struct Planned {
    pub target: Target,
    pub service: String,
    pub steps: Vec<Step>,
}

/// What a restore did: how many sessions it put back (or planned to), their plans on a
/// dry run, and the containers it could not reach, as the error to report once the
/// others are done.
pub struct Restored {
    pub count: usize,
    pub plans: Vec<Planned>,
    pub unreachable: Option<Error>,
}

pub fn restore(ctx: &Context, req: &Restore) -> Result<Restored> {
    if !req.dry_run {
        // A watcher would sync into the container as it is restored.
        watch::end_watcher_of(ctx, &ctx.cwd)?;
    }
    let todo = if req.all {
        session::find::every_container(ctx)?
    } else {
        session::find::project_containers(ctx, req.container.as_deref())?
    };
    let mut count = 0;
    let mut plans = Vec::new();
    for c in todo.running {
        let target = ctx.lxc.target(&c.host.container_name, c.host.metal);
        let paths = Paths::new(&c.service);
        // Without a session there is nothing to do, and nothing is written (taking the
        // lock would make the state folder): read first, lock, then read again.
        let Some(session) = session::find::read(&target, &paths)? else {
            continue;
        };
        // The session's checkout may be another than this one, with its own watcher.
        if let (false, Some(checkout)) = (req.dry_run, &session.checkout) {
            watch::end_watcher_of(ctx, Path::new(checkout))?;
        }
        let _lock = if req.dry_run {
            None
        } else {
            Some(Lock::acquire(&target, &paths, "restore")?)
        };
        let Some(session) = session::find::read(&target, &paths)? else {
            continue;
        };
        if req.dry_run {
            let now: Now = cycle::read_now(&target, &ctx.haproxy, &session, &paths)?;
            let steps = cycle::plan_restore(&target, &c.host, &c.units, &paths, &session, &now);
            plans.push(Planned {
                target,
                service: c.service,
                steps,
            });
        } else {
            Runner::new(&ctx.ui, &ctx.haproxy, paths, session)
                .restore(&target, &c.host, &c.units)?;
        }
        count += 1;
    }
    let unreachable = session::find::unreachable(ctx, &todo.stopped);
    if count > 0 && !req.dry_run && !req.all && unreachable.is_none() {
        crate::gerrit::clean::after_restore(ctx);
    }
    Ok(Restored {
        count,
        plans,
        unreachable,
    })
}
