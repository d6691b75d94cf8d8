//! `git osa stop`: end the checkout's watcher (`git osa watch`), then the detached dev
//! units. Traffic goes back to the other servers first; the container stays in dev mode
//! (`git osa restore` ends that).

use std::process::ExitCode;

use crate::cli::StopArgs;
use crate::context::Context;
use crate::error::Result;
use crate::execute::Runner;
use crate::session;

pub fn run(ctx: &Context, args: &StopArgs) -> Result<ExitCode> {
    crate::commands::watch::end_watcher(ctx)?;
    // Read under the lock, taken in the same round trip: a run or sync may change it
    // until then.
    let (dev, _lock) = session::find::find_locked(ctx, args.container.as_deref(), "stop")?;
    let services = dev.services();
    if services.is_empty() {
        ctx.ui.step(format!(
            "no detached dev unit runs in {}: nothing to stop (`git osa restore` ends the dev session)",
            dev.target.name
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let pins = dev.pins(&ctx.haproxy.servers()?);
    let mut runner = Runner::new(
        &ctx.ui,
        &ctx.haproxy,
        dev.paths.clone(),
        dev.session.clone(),
    );
    ctx.ui.step(format!(
        "stopping {} in {}",
        services.join(", "),
        dev.target.name
    ));
    runner.detached(&dev.target).stop(&services, &pins)?;
    ctx.ui.step(format!(
        "{} stays in dev mode: `git osa run --detach` starts the dev units again, `git osa restore` puts production back",
        dev.target.name
    ));
    Ok(ExitCode::SUCCESS)
}
