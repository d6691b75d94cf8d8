//! Whether git-osa colours its own `error:`, `warning:` and `hint:` prefixes, the way git
//! decides for its own: `--color=always|never` wins; with `auto`, NO_COLOR (set and not
//! empty) turns colour off, then git's `color.osa` or `color.ui` decide (read with `git
//! config --get-colorbool`, so `git -c color.ui=never osa` works too), and without git a
//! terminal that is not `TERM=dumb` gets colour.
//!
//! Only stderr is coloured: stdout carries answers that scripts read.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anstyle::{AnsiColor, Style};

use crate::cli::ColorWhen;

/// What the decision depends on, read from the process's environment.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    /// stderr is a terminal.
    pub tty: bool,
    /// `TERM=dumb`: a terminal that understands no escape codes.
    pub dumb: bool,
    /// `NO_COLOR` is set and not empty.
    pub no_color: bool,
}

impl Terminal {
    pub fn of_stderr() -> Terminal {
        use std::io::IsTerminal;
        Terminal {
            tty: std::io::stderr().is_terminal(),
            dumb: std::env::var_os("TERM").is_some_and(|t| t == "dumb"),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        }
    }

    /// Escape codes that move the cursor (progress bars) make sense here.
    pub fn draws(&self) -> bool {
        self.tty && !self.dumb
    }
}

/// The decision. `git` answers `git config --get-colorbool color.osa <tty>` (None without
/// git); it is asked only when the answer depends on it.
pub fn decide(when: ColorWhen, term: Terminal, git: impl FnOnce(bool) -> Option<bool>) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto if term.no_color => false,
        ColorWhen::Auto => git(term.tty).unwrap_or_else(|| term.draws()),
    }
}

/// git's own answer: `color.osa`, else `color.ui`, else auto (a terminal, not dumb).
fn git_colorbool(tty: bool) -> Option<bool> {
    let out = Command::new("git")
        .args(["config", "--get-colorbool", "color.osa"])
        .arg(if tty { "true" } else { "false" })
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    match String::from_utf8_lossy(&out.stdout).trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The prefixes, coloured or not; decided on first use, so a run that warns about
/// nothing never asks git.
#[derive(Debug)]
pub struct Palette {
    when: ColorWhen,
    term: Terminal,
    on: OnceLock<bool>,
}

impl Palette {
    pub fn new(when: ColorWhen, term: Terminal) -> Palette {
        Palette {
            when,
            term,
            on: OnceLock::new(),
        }
    }

    fn on(&self) -> bool {
        *self
            .on
            .get_or_init(|| decide(self.when, self.term, git_colorbool))
    }

    fn paint(&self, word: &str, style: Style) -> String {
        if self.on() {
            format!("{style}{word}{style:#}")
        } else {
            word.to_string()
        }
    }

    pub fn error(&self) -> String {
        self.paint("error:", AnsiColor::Red.on_default().bold())
    }

    pub fn warning(&self) -> String {
        self.paint("warning:", AnsiColor::Yellow.on_default().bold())
    }

    pub fn hint(&self) -> String {
        self.paint("hint:", AnsiColor::Yellow.on_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTY: Terminal = Terminal {
        tty: true,
        dumb: false,
        no_color: false,
    };

    #[test]
    fn the_flag_wins_over_everything() {
        let hostile = Terminal {
            tty: false,
            dumb: true,
            no_color: true,
        };
        assert!(decide(ColorWhen::Always, hostile, |_| Some(false)));
        assert!(!decide(ColorWhen::Never, TTY, |_| Some(true)));
    }

    #[test]
    fn no_color_wins_over_git_and_git_never_is_asked() {
        let term = Terminal {
            no_color: true,
            ..TTY
        };
        assert!(!decide(ColorWhen::Auto, term, |_| panic!("git asked")));
    }

    #[test]
    fn git_decides_auto_and_is_told_whether_stderr_is_a_terminal() {
        assert!(decide(ColorWhen::Auto, TTY, Some));
        assert!(!decide(ColorWhen::Auto, TTY, |_| Some(false)));
        let piped = Terminal { tty: false, ..TTY };
        assert!(
            decide(ColorWhen::Auto, piped, |_| Some(true)),
            "color.ui=always"
        );
    }

    #[test]
    fn without_git_a_terminal_that_is_not_dumb_gets_colour() {
        assert!(decide(ColorWhen::Auto, TTY, |_| None));
        let dumb = Terminal { dumb: true, ..TTY };
        assert!(!decide(ColorWhen::Auto, dumb, |_| None));
        let piped = Terminal { tty: false, ..TTY };
        assert!(!decide(ColorWhen::Auto, piped, |_| None));
    }

    #[test]
    fn prefixes_carry_escape_codes_only_when_on() {
        let on = Palette::new(ColorWhen::Always, TTY);
        assert_eq!(on.error(), "\x1b[1m\x1b[31merror:\x1b[0m");
        let off = Palette::new(ColorWhen::Never, TTY);
        assert_eq!(off.warning(), "warning:");
    }
}
