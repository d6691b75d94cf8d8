//! `git osa logs`: the detached dev units' output, or the hooks' or the watcher's log.

use std::process::ExitCode;

use crate::cli::LogsArgs;
use crate::context::Context;
use crate::error::Result;
use crate::logs;

pub fn run(ctx: &Context, args: &LogsArgs) -> Result<ExitCode> {
    if args.hooks || args.watch {
        return logs::host_log(ctx, args.follow, args.watch);
    }
    logs::units(
        ctx,
        args.container.as_deref(),
        &args.units,
        args.since.as_deref(),
        args.follow,
    )
}
