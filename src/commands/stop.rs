//! `git osa stop`: end the checkout's watcher (`git osa watch`), then the detached dev
//! units. The container stays in dev mode (`git osa restore` ends that).

use std::process::ExitCode;

use crate::cli::StopArgs;
use crate::context::Context;
use crate::error::Result;
use crate::redeploy::{self, Stopped};
use crate::watch;

pub fn run(ctx: &Context, args: &StopArgs) -> Result<ExitCode> {
    watch::end_watcher_of(ctx, &ctx.cwd)?;
    match redeploy::stop(ctx, args.container.as_deref())? {
        Stopped::Nothing(container) => ctx.ui.step(format!(
            "no detached dev unit runs in {container}: nothing to stop (`git osa restore` ends the dev session)"
        )),
        Stopped::Units(container) => ctx.ui.step(format!(
            "{container} stays in dev mode: `git osa run --detach` starts the dev units again, `git osa restore` puts production back"
        )),
    }
    Ok(ExitCode::SUCCESS)
}
