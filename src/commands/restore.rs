//! `git osa restore`: production back exactly as it was, for the current project's
//! containers, one of them (`--container`), or every session on this host (`--all`).

use std::process::ExitCode;

use crate::cli::RestoreArgs;
use crate::context::Context;
use crate::error::Result;
use crate::json;
use crate::output;
use crate::plan;
use crate::restore::{self, Restore};

pub fn run(ctx: &Context, args: &RestoreArgs) -> Result<ExitCode> {
    let req = Restore {
        all: args.all,
        container: args.container.clone(),
        dry_run: args.dry_run,
        discard_newer_rows: args.discard_newer_rows,
    };
    let done = restore::restore(ctx, &req)?;
    let socket = ctx.haproxy().socket();
    if args.json {
        // The plans of the containers that could be read, also when a stopped one makes
        // this an error (said on stderr, as without --json).
        let targets = done
            .plans
            .iter()
            .map(|p| json::RestoreTarget::new(&p.target, &p.service, &p.steps, socket))
            .collect();
        json::print(&json::RestorePlan { targets })?;
    } else {
        for p in &done.plans {
            output::line(format!("{} ({}):", p.target.name, p.service))?;
            output::print(plan::print(&p.steps, socket))?;
            if let Some(e) = &p.refused {
                output::line(format!("restore would stop before any change: {e:#}"))?;
                for h in e.hints() {
                    output::line(format!("  hint: {h}"))?;
                }
            }
        }
    }
    if !args.json && done.unreachable.is_none() {
        if done.count == 0 {
            let scope = if args.all {
                " on this host"
            } else {
                " for this project"
            };
            output::line(format!("nothing to restore: no git-osa dev session{scope}"))?;
        } else if args.dry_run {
            output::line("dry run: nothing was changed")?;
        }
    }
    match done.unreachable {
        Some(err) => Err(err),
        None => Ok(ExitCode::SUCCESS),
    }
}
