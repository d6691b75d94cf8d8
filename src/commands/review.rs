//! `git osa review CHANGE[,PS]`: a Gerrit change fetched into git-osa's own worktree, then
//! the cycle of `git osa run` from there; `--clean` removes what no container runs.

use std::process::ExitCode;

use crate::cli::ReviewArgs;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::gerrit::{
    self,
    review::{Ready, Request},
};
use crate::json;
use crate::output;
use crate::start::{self, Start, Started};

pub fn run(ctx: &Context, args: &ReviewArgs) -> Result<ExitCode> {
    if args.clean {
        gerrit::clean::clean(ctx)?;
        return Ok(ExitCode::SUCCESS);
    }
    let req = Request {
        change: args.change.clone().unwrap_or_default(),
        patchset: args.patchset,
        clone_dependencies: args.clone_dependencies,
        with: args.run.with.clone(),
        dry_run: args.run.dry_run,
    };
    let change = match gerrit::review::prepare(ctx, &req)? {
        Ready::Prepared(change) => change,
        Ready::WouldFetch(lines) => {
            // A dry run changes nothing: without the change's code there is no plan.
            if args.run.json {
                return Err(Error::user(format!(
                    "change {} is not fetched and checked out yet, and a dry run changes nothing: there is no plan to show",
                    req.change
                ))
                .hint(format!("{}; `git osa review {}` does that", lines[0], req.change)));
            }
            for l in lines {
                output::line(l)?;
            }
            output::line("dry run: nothing was changed (the plan needs the change's code)")?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let run = Start {
        checkout: Some(change.worktree),
        review: Some(change.review),
        with: change.with,
        ..Start::of(ctx, &args.run)
    };
    match start::start(ctx, &run)? {
        Started::Planned(p) if args.run.json => {
            json::print(&json::RunPlan::new(&p.0, &p.1, ctx.haproxy().socket()))?;
            Ok(ExitCode::SUCCESS)
        }
        started => start::report(ctx, started),
    }
}
