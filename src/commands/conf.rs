//! `git osa conf set | unset | diff`: the service's configuration for the dev session.

use std::process::ExitCode;

use crate::cli::{ConfAction, ConfArgs};
use crate::conf;
use crate::context::Context;
use crate::devconf;
use crate::error::Result;
use crate::output;

pub fn run(ctx: &Context, args: &ConfArgs) -> Result<ExitCode> {
    match &args.action {
        ConfAction::Set {
            container,
            file,
            key,
            value,
        } => change(ctx, container, file, key, Some(value.clone())),
        ConfAction::Unset {
            container,
            file,
            key,
        } => change(ctx, container, file, key, None),
        ConfAction::Diff { container, json } => {
            let diff = conf::diff(ctx, container.as_deref())?;
            if *json {
                crate::json::print(&crate::json::ConfDiff::new(&diff))?;
                return Ok(ExitCode::SUCCESS);
            }
            output::line(format!(
                "{}: against the configuration the dev session found {}",
                diff.container,
                crate::clock::age(diff.started_at)
            ))?;
            if !diff.noted {
                output::line(
                    "  (the session began before git-osa noted the configuration: only git osa conf's values are known)",
                )?;
            }
            if diff.changes.is_empty() {
                output::line("  no difference from production's configuration")?;
            }
            for l in devconf::render(&diff.changes, "  ") {
                output::line(l)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn change(
    ctx: &Context,
    container: &Option<String>,
    file: &str,
    key: &str,
    value: Option<String>,
) -> Result<ExitCode> {
    let said = conf::change(
        ctx,
        &conf::Change {
            container: container.clone(),
            file: file.to_string(),
            key: key.to_string(),
            value,
        },
    )?;
    ctx.ui.step(said);
    Ok(ExitCode::SUCCESS)
}
