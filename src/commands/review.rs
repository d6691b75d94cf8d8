//! `git osa review CHANGE[,PS]`: a Gerrit change fetched into git-osa's own worktree, then
//! the cycle of `git osa run` from there; `--clean` removes what no container runs.

use std::process::ExitCode;

use crate::cli::ReviewArgs;
use crate::context::Context;
use crate::error::Result;
use crate::gerrit::{self, review::Request};
use crate::json;
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
    };
    let change = gerrit::review::prepare(ctx, &req)?;
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
