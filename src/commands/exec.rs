//! `git osa exec -- COMMAND`: a command in the service's environment, in its container.

use std::process::ExitCode;

use crate::cli::ExecArgs;
use crate::context::Context;
use crate::error::Result;
use crate::inside::{self, Inside};

pub fn run(ctx: &Context, args: &ExecArgs) -> Result<ExitCode> {
    let inside = Inside::find(ctx, args.container.as_deref())?;
    ctx.ui.step(format!(
        "running {} {}",
        crate::transport::shell_words(&args.command),
        inside.describe()
    ));
    let terminal = ctx.ui.interactive;
    let extra = if terminal { inside::term() } else { Vec::new() };
    inside.run(&inside.in_venv(&extra, &args.command), terminal)
}
