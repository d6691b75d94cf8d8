//! `git osa restore`: production back exactly as it was, for the current project's
//! containers, one of them (`--container`), or every session on this host (`--all`).

use std::process::ExitCode;

use crate::cli::RestoreArgs;
use crate::context::Context;
use crate::error::Result;
use crate::json;
use crate::layout::Paths;
use crate::lock::Lock;
use crate::plan;
use crate::restore;
use crate::sessions;

pub fn run(ctx: &Context, args: &RestoreArgs) -> Result<ExitCode> {
    if !args.dry_run {
        // A watcher would sync into the container as it is restored.
        crate::commands::watch::end_watcher(ctx)?;
    }
    let todo = if args.all {
        sessions::every_container(ctx)?
    } else {
        sessions::project_containers(ctx, args.container.as_deref())?
    };
    let mut restored = 0;
    let mut plans = Vec::new();
    for c in todo.running {
        let target = ctx.lxc.target(&c.host.container_name, c.host.metal);
        let paths = Paths::new(&c.service);
        // Without a session there is nothing to do, and nothing is written (taking the
        // lock would make the state folder): read first, lock, then read again.
        let Some(session) = sessions::read(&target, &paths)? else {
            continue;
        };
        // The session's checkout may be another than this one, with its own watcher.
        if let (false, Some(checkout)) = (args.dry_run, &session.checkout) {
            crate::commands::watch::end_watcher_of(ctx, std::path::Path::new(checkout))?;
        }
        let _lock = if args.dry_run {
            None
        } else {
            Some(Lock::acquire(&target, &paths, "restore")?)
        };
        let Some(session) = sessions::read(&target, &paths)? else {
            continue;
        };
        if args.dry_run {
            let now = restore::read_now(
                &target,
                &ctx.haproxy,
                &session,
                &paths,
                args.discard_newer_rows,
            )?;
            let steps = restore::plan_restore(
                &target,
                &c.host,
                &c.units,
                &paths,
                &session,
                &now,
                args.discard_newer_rows,
            );
            let refused = restore::refusal(&target, &session, &now, args.discard_newer_rows);
            if args.json {
                plans.push(json::RestoreTarget::new(
                    &target,
                    &c.service,
                    &steps,
                    &ctx.haproxy.socket,
                ));
            } else {
                println!("{} ({}):", target.name, c.service);
                print!("{}", plan::print(&steps, &ctx.haproxy.socket));
                if let Some(e) = refused {
                    println!("restore would stop before any change: {e:#}");
                    for h in e.hints() {
                        println!("  hint: {h}");
                    }
                }
            }
        } else {
            restore::restore_target(
                &ctx.ui,
                &ctx.haproxy,
                &target,
                &c.host,
                &c.units,
                &paths,
                session,
                args.discard_newer_rows,
            )?;
        }
        restored += 1;
    }
    let unreachable = sessions::unreachable(ctx, &todo.stopped);
    if restored > 0 && !args.dry_run && !args.all && unreachable.is_none() {
        crate::commands::review::clean_after_restore(ctx);
    }
    if args.json {
        // The plans of the containers that could be read, also when a stopped one makes
        // this an error (said on stderr, as without --json).
        json::print(&json::RestorePlan { targets: plans })?;
    } else if unreachable.is_none() {
        if restored == 0 {
            println!(
                "nothing to restore: no git-osa dev session{}",
                if args.all {
                    " on this host"
                } else {
                    " for this project"
                }
            );
        } else if args.dry_run {
            println!("dry run: nothing was changed");
        }
    }
    match unreachable {
        Some(err) => Err(err),
        None => Ok(ExitCode::SUCCESS),
    }
}
