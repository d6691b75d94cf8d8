//! `git osa watch`: each save in the checkout synced into the dev session (see `watch/`).

use std::process::ExitCode;

use crate::cli::WatchArgs;
use crate::context::Context;
use crate::error::Result;
use crate::watch::{self, Watch};

pub fn run(ctx: &Context, args: &WatchArgs) -> Result<ExitCode> {
    if args.in_background {
        return watch::in_background(ctx, args.container.as_deref());
    }
    let req = Watch {
        container: args.container.clone(),
        detach: args.detach,
        hot_patch: args.hot_patch,
    };
    watch::watch(ctx, &req)
}
