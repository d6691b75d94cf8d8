//! `git osa test [ARGS]`: sync, then the project's unit tests in its container.

use std::process::ExitCode;

use crate::cli::TestArgs;
use crate::context::Context;
use crate::error::Result;
use crate::unit_tests::{self, Tests};

pub fn run(ctx: &Context, args: &TestArgs) -> Result<ExitCode> {
    unit_tests::test(
        ctx,
        &Tests {
            container: args.container.clone(),
            runner: args.runner,
            allow_public_index: args.allow_public_index.clone(),
            force: args.force,
            args: &args.args,
        },
    )
}
