//! `git osa status`: where the checkout's service runs, in what state, and which dev
//! sessions are open; as text, or as JSON (`--json`).

use crate::cli::StatusArgs;
use crate::context::Context;
use crate::error::Result;
use crate::json;
use crate::output;
use crate::status;

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<()> {
    // Gerrit only when asked: status is read by scripts and prompts, which must not wait
    // on the network.
    let report = status::report(ctx, args.online)?;
    if args.json {
        json::print(&json::Status::new(ctx, &report))?;
    } else {
        output::print(report.text(&ctx.global.inventory))?;
    }
    report.verdict()
}
