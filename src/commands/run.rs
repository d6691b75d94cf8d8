//! `git osa` / `git osa run`: swap the checkout into its container and run it.

use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::context::Context;
use crate::error::Result;
use crate::start::{self, Start};

pub fn run(ctx: &Context, args: &RunArgs) -> Result<ExitCode> {
    let started = start::start(ctx, &Start::of(ctx, args))?;
    start::report(ctx, started, args.json)
}
