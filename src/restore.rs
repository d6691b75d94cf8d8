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
use crate::layout;
use crate::layout::Paths;
use crate::plan::Step;
use crate::probe;
use crate::session::find::Candidate;
use crate::session::{self, Lock, Session};
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
    /// Undo the session's migrations even where that loses rows written since.
    pub discard_newer_rows: bool,
}

/// One container's restore plan, for a dry run.
pub struct Planned {
    pub target: Target,
    pub service: String,
    pub steps: Vec<Step>,
    /// Why the restore would stop before any change (rows it would lose), if it would.
    pub refused: Option<Error>,
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
    let mut failed = Vec::new();
    let several = todo.running.len() > 1;
    for c in todo.running {
        match restore_one(ctx, req, &c) {
            Ok(One::NoSession) => {}
            Ok(One::Restored) => count += 1,
            Ok(One::Planned(plan)) => {
                count += 1;
                plans.push(plan);
            }
            // One container that cannot be restored does not keep the others as they are.
            // A Ctrl-C stops them all.
            Err(e) if several && !matches!(e.kind(), crate::error::Kind::Interrupted(_)) => {
                failed.push((c.host.container_name.clone(), e))
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(err) = not_restored(ctx, failed, count) {
        return Err(err);
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

/// The sessions that could not be restored, as one error: the only one as it is (its
/// exit status too: busy, refused...), several each said, then named together with the
/// first one's kind.
fn not_restored(ctx: &Context, mut failed: Vec<(String, Error)>, restored: usize) -> Option<Error> {
    if failed.len() == 1 && restored == 0 {
        return failed.pop().map(|(_, e)| e);
    }
    let (_, first) = failed.first()?;
    let kind = first.kind();
    for (_, e) in &failed {
        ctx.ui.error(&e.to_string(), e.hints());
    }
    let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
    Some(
        Error::new(
            kind,
            anyhow::anyhow!(
                "{} of the sessions could not be restored (said above): {}",
                failed.len(),
                names.join(", ")
            ),
        )
        .hint(format!(
            "{restored} other session(s) were; fix what is said above and run `git osa restore` again"
        )),
    )
}

/// What became of one container's session.
enum One {
    NoSession,
    Restored,
    Planned(Planned),
}

/// Restores (or plans, on a dry run) the session of one container, if it has one.
fn restore_one(ctx: &Context, req: &Restore, c: &Candidate) -> Result<One> {
    let target = ctx.target(&c.host);
    let paths = Paths::new(&c.service);
    // Without a session there is nothing to do, and nothing is written (taking the
    // lock would make the state folder): read first, lock, then read again.
    let Some(record) = session::find::read_raw(&target, &paths)? else {
        return Ok(One::NoSession);
    };
    let checkout = Session::read(&record, &target.name, &paths.session())
        .ok()
        .and_then(|s| s.checkout);
    // The session's checkout may be another than this one, with its own watcher.
    if let (false, Some(checkout)) = (req.dry_run, &checkout) {
        watch::end_watcher_of(ctx, Path::new(checkout))?;
    }
    let lock = if req.dry_run {
        None
    } else {
        Some(crate::session::lock::waiting_for_redeploy(
            &ctx.ui,
            &ctx.cwd,
            || Lock::acquire(&target, &paths, "restore"),
        )?)
    };
    let Some(record) = session::find::read_raw(&target, &paths)? else {
        return Ok(One::NoSession);
    };
    let session = match Session::read(&record, &target.name, &paths.session()) {
        Ok(s) => s,
        Err(e) => salvaged(ctx, &target, &paths, c, &record, &e)?,
    };
    let discard = req.discard_newer_rows;
    if req.dry_run {
        let now: Now = cycle::read_now(&target, ctx.haproxy(), &session, &paths, discard)?;
        let steps =
            cycle::plan_restore(&target, &c.host, &c.units, &paths, &session, &now, discard);
        let refused = cycle::refusal(&target, &session, &now, discard);
        return Ok(One::Planned(Planned {
            target,
            service: c.service.clone(),
            steps,
            refused,
        }));
    }
    let mut runner = Runner::new(&ctx.ui, ctx.haproxy(), paths, session);
    if let Some(lock) = &lock {
        runner.write_through(lock);
    }
    runner.restore(&target, &c.host, &c.units, discard)?;
    Ok(One::Restored)
}

/// A damaged record's session: what can be read of it, and for what cannot, what the
/// container holds: the service's units there, the copy of the production venv beside
/// it, the log drop-in, the target's own servers drained or in maintenance. What cannot
/// be told from either (another server the session put in maintenance, a database
/// snapshot) is said.
fn salvaged(
    ctx: &Context,
    target: &Target,
    paths: &Paths,
    c: &Candidate,
    record: &[u8],
    damage: &Error,
) -> Result<Session> {
    let salvaged = Session::salvage(record);
    let lost = |f: &str| {
        salvaged
            .unread
            .iter()
            .any(|u| *u == f || *u == "the whole record")
    };
    let mut s = salvaged.session.clone();
    s.service = c.service.clone();
    ctx.ui.warn(format!(
        "{damage}; not read: {}. Restoring from what can be read and from what {} holds",
        salvaged.unread.join(", "),
        target.name
    ));
    let service = ctx.catalog.by_name(&c.service);
    let dropin = service
        .and_then(|sv| layout::dropin_dir(sv.config.as_deref()))
        .map(|d| format!("{d}/{}", layout::DROPIN));
    let units: Vec<String> = c.units.iter().map(|u| u.name.clone()).collect();
    let copies = service
        .map(|sv| format!("/openstack/venvs/.git-osa-prod-{}-*", sv.venv_name()))
        .unwrap_or_default();
    let p = probe::probe(
        target,
        &units,
        &dropin.iter().cloned().collect::<Vec<_>>(),
        &copies,
    )?;
    if lost("stopped_units") {
        s.stopped_units = units
            .iter()
            .filter(|u| p.unit(u).is_some_and(|i| i.load_state == "loaded"))
            .cloned()
            .collect();
    }
    if lost("venv") || lost("venv_backup") {
        let copy = p
            .paths
            .iter()
            .find(|c| !c.ends_with(".tmp"))
            .or_else(|| p.paths.first());
        if let Some(copy) = copy {
            let venv = copy.replacen(".git-osa-prod-", "", 1);
            s.venv = Some(venv.trim_end_matches(".tmp").to_string());
            s.venv_backup = Some(copy.trim_end_matches(".tmp").to_string());
            if !copy.ends_with(".tmp") {
                s.mark(crate::session::VENV_KEPT);
            }
        }
    }
    if lost("dropins")
        && let Some(d) = dropin.filter(|d| p.file(d).is_some())
    {
        // Its folder too, which git-osa makes where production has none: removed only if
        // empty once the drop-in is gone (`rmdir`), so a production folder with files in
        // it stays.
        let folder = d.rsplit_once('/').map(|(dir, _)| format!("{dir}/"));
        s.dropins = std::iter::once(d).chain(folder).collect();
    }
    if lost("disabled_servers") {
        let servers = ctx.haproxy().servers().unwrap_or_default();
        let mine = crate::haproxy::servers_of(&servers, &c.host, &c.units);
        s.disabled_servers = mine
            .iter()
            .filter(|sv| !sv.takes_traffic())
            .map(|sv| sv.reference())
            .collect();
        let backends: Vec<&str> = mine.iter().map(|sv| sv.backend.as_str()).collect();
        let others: Vec<String> = servers
            .iter()
            .filter(|sv| backends.contains(&sv.backend.as_str()) && sv.is_disabled())
            .filter(|sv| !mine.iter().any(|m| m.reference() == sv.reference()))
            .map(|sv| format!("{}/{}", sv.backend, sv.name))
            .collect();
        if !others.is_empty() {
            ctx.ui.warn(format!(
                "HAProxy {} is in maintenance, and the damaged record cannot tell whether the session put it there: if it did, `set server NAME state ready` on HAProxy's socket puts it back",
                others.join(", ")
            ));
        }
    }
    if lost("db_snapshot") {
        ctx.ui.warn(format!(
            "whether the session took a database snapshot cannot be read: the database stays as it is (a dump would be in {})",
            paths.dir
        ));
    }
    Ok(s)
}
