//! `git osa shell`: an interactive shell in the service's environment, in its container.

use std::process::ExitCode;

use crate::cli::ShellArgs;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::inside::{self, Inside};

/// bash without the user's rc files (the prompt is git-osa's), else sh.
const SHELL: &str =
    r#"if command -v bash >/dev/null 2>&1; then exec bash --norc --noprofile -i; fi; exec sh -i"#;

pub fn run(ctx: &Context, args: &ShellArgs) -> Result<ExitCode> {
    if !ctx.ui.interactive {
        return Err(
            Error::user("git osa shell needs a terminal: nothing was run")
                .hint("run a command without one with `git osa exec -- COMMAND`"),
        );
    }
    let inside = Inside::find(ctx, args.container.as_deref())?;
    ctx.ui
        .step(format!("a shell {} (exit to come back)", inside.describe()));
    let mut extra = inside::term();
    extra.push(format!(
        "PS1=(git-osa {}) \\u@{}:\\w\\$ ",
        inside.paths.service, inside.target.name
    ));
    let command = crate::exec::sh::<&str>(SHELL, "git-osa-shell", &[]);
    inside.run(&inside.in_venv(&extra, &command), true)
}
