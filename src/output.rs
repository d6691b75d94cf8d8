//! stdout: the answer a command gives (`status`, `doctor`, a dry run's plan, JSON, the
//! watcher's and the hooks' lines in their logs). Everything written there goes through
//! [`print`], so a reader that goes away (`| head -1`, a pager quit early) ends git-osa
//! as it ends git: the write fails with `BrokenPipe`, which `lib.rs` reports as success.
//! `print!` would panic instead.

use std::io::Write;

use crate::error::Result;

/// Writes `text` to stdout as it is, and flushes it.
pub fn print(text: impl AsRef<str>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_ref().as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Writes `line` and a newline to stdout.
pub fn line(line: impl AsRef<str>) -> Result<()> {
    print(format!("{}\n", line.as_ref()))
}
