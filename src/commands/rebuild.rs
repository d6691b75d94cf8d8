//! `git osa rebuild`: destroy the service's container and make it again with the
//! deployment's own commands.

use std::process::ExitCode;

use crate::cli::RebuildArgs;
use crate::context::Context;
use crate::error::Result;
use crate::output;
use crate::rebuild::{self, Rebuild, Rebuilt};

pub fn run(ctx: &Context, args: &RebuildArgs) -> Result<ExitCode> {
    let req = Rebuild {
        container: args.container.clone(),
        yes: args.yes,
        dry_run: args.dry_run,
    };
    match rebuild::rebuild(ctx, &req)? {
        Rebuilt::Planned(text) => {
            output::print(text)?;
            output::line("dry run: nothing was changed")?;
            Ok(ExitCode::SUCCESS)
        }
        Rebuilt::Done { status, problems } => {
            output::print(status.trim_start_matches('\n'))?;
            crate::status::verdict(&problems)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
