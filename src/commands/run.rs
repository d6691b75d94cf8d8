//! `git osa` / `git osa run`: swap the checkout into its container and run it.

use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::context::Context;
use crate::error::Result;
use crate::json;
use crate::start::{self, Start, Started};

pub fn run(ctx: &Context, args: &RunArgs) -> Result<ExitCode> {
    match start::start(ctx, &Start::of(ctx, args))? {
        Started::Planned(p) if args.json => {
            json::print(&json::RunPlan::new(&p.0, &p.1, ctx.haproxy().socket()))?;
            Ok(ExitCode::SUCCESS)
        }
        started => start::report(ctx, started),
    }
}
