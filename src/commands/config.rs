//! `git osa config`: the settings in effect and where each came from, one line per value
//! as `git config --show-scope --show-origin` prints them (`scope<TAB>origin<TAB>key=value`),
//! or as JSON (`--json`).

use std::io::Write as _;

use crate::cli::ConfigArgs;
use crate::context::Context;
use crate::error::Result;
use crate::json;

pub fn run(ctx: &Context, args: &ConfigArgs) -> Result<()> {
    let lines = ctx.settings.lines();
    if args.json {
        return json::print(&json::Config::new(&lines));
    }
    let mut out = std::io::stdout().lock();
    for l in &lines {
        writeln!(
            out,
            "{}\t{}\t{}={}",
            l.origin.scope(),
            l.origin.source().as_deref().unwrap_or("built-in"),
            l.key,
            l.value
        )?;
    }
    Ok(())
}
