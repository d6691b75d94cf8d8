//! `git osa sync`: redeploy the checkout into the container in dev mode.

use std::process::ExitCode;

use crate::cli::SyncArgs;
use crate::context::Context;
use crate::error::Result;
use crate::output;
use crate::redeploy::{self, Sync, Synced};

pub fn run(ctx: &Context, args: &SyncArgs) -> Result<ExitCode> {
    let req = Sync {
        container: args.container.clone(),
        allow_public_index: args.allow_public_index.clone(),
        dry_run: args.dry_run,
        force: args.force,
        reconfigure: Default::default(),
    };
    match redeploy::sync(ctx, &req)? {
        Synced::Planned(plan) => {
            output::print(plan.text(ctx.haproxy().socket()))?;
            output::line("dry run: nothing was changed")?;
        }
        Synced::Done {
            container,
            commit,
            dirty,
        } => ctx.ui.step(format!(
            "{container} runs {}{}",
            commit
                .as_deref()
                .map_or("(no commit)", |c| &c[..c.len().min(12)]),
            if dirty { " + uncommitted changes" } else { "" }
        )),
    }
    Ok(ExitCode::SUCCESS)
}
