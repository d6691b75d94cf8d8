//! What the user sees while git-osa works: step lines, warnings, errors, progress, prompts,
//! and with `-v` the log of every command it runs in a container.
//!
//! One `Ui` value is passed down to everything that talks to the user while it works.
//! Everything it says goes to stderr; stdout is kept for the answer a command gives
//! (`status`, `doctor`, a dry run's plan), which the commands print. How much is said is
//! one level (`log::LevelFilter`): `-q` warnings and errors, by default also step lines and
//! progress, `-v` (`GIT_OSA_LOG=debug`) also each command, `-vv` (`trace`) also the output
//! of long steps. The log records come from the transport through the `log` facade, to a
//! logger that shares this `Ui`'s output ([`Ui::install_logger`]), so that step lines,
//! log lines and progress bars never cut through each other: indicatif's `MultiProgress`
//! takes the bars off the screen while a line is written. Bars are drawn only on a
//! terminal that is not `TERM=dumb`; prompts are asked only when stdin is a terminal too.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use log::LevelFilter;

use crate::cli::{ColorWhen, OutputArgs};
use crate::color::{Palette, Terminal};

#[derive(Clone)]
pub struct Ui {
    /// stdin and stderr are terminals: prompts are possible.
    pub interactive: bool,
    out: Arc<Out>,
}

/// Where every line and bar goes; shared by the `Ui` and the logger.
struct Out {
    level: LevelFilter,
    bars: MultiProgress,
    draws: bool,
    palette: Palette,
}

impl Out {
    /// Writes whole lines to stderr, with the bars taken off the screen meanwhile.
    fn lines(&self, text: &str) {
        self.bars.suspend(|| {
            let mut err = std::io::stderr().lock();
            for line in text.lines() {
                let _ = writeln!(err, "{line}");
            }
        });
    }
}

/// The level `-v`/`-q` and `GIT_OSA_LOG` ask for; the flags win over the environment.
/// An unknown `GIT_OSA_LOG` is an error message to show, and the default meanwhile.
pub fn level(verbose: u8, quiet: bool, env: Option<&str>) -> (LevelFilter, Option<String>) {
    if quiet {
        return (LevelFilter::Warn, None);
    }
    match verbose {
        0 => {}
        1 => return (LevelFilter::Debug, None),
        _ => return (LevelFilter::Trace, None),
    }
    match env.map(str::parse::<LevelFilter>) {
        None => (LevelFilter::Info, None),
        Some(Ok(level)) => (level, None),
        Some(Err(_)) => (
            LevelFilter::Info,
            Some(format!(
                "GIT_OSA_LOG={} is not one of error, warn, info, debug, trace; ignored",
                env.unwrap_or_default()
            )),
        ),
    }
}

impl Ui {
    /// The `Ui` the options and the environment ask for.
    pub fn new(output: &OutputArgs) -> Ui {
        let term = Terminal::of_stderr();
        let env = std::env::var("GIT_OSA_LOG").ok();
        let (level, bad_env) = level(output.verbose, output.quiet, env.as_deref());
        let ui = Ui::with(level, term, output.color);
        if let Some(msg) = bad_env {
            ui.warn(msg);
        }
        ui
    }

    /// Says nothing it need not: no bars, no prompts, no colour; steps and warnings shown.
    pub fn plain() -> Ui {
        let term = Terminal {
            tty: false,
            dumb: true,
            no_color: true,
        };
        Ui::with(LevelFilter::Info, term, ColorWhen::Never)
    }

    fn with(level: LevelFilter, term: Terminal, color: ColorWhen) -> Ui {
        let draws = term.draws() && level >= LevelFilter::Info;
        let target = if draws {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Ui {
            interactive: term.tty && std::io::stdin().is_terminal(),
            out: Arc::new(Out {
                level,
                bars: MultiProgress::with_draw_target(target),
                draws,
                palette: Palette::new(color, term),
            }),
        }
    }

    /// Routes the `log` records of git-osa (the transport's command log) through this
    /// `Ui`'s output, at its level. Once per process; later calls change nothing.
    pub fn install_logger(&self) {
        if log::set_boxed_logger(Box::new(Logger {
            out: self.out.clone(),
        }))
        .is_ok()
        {
            log::set_max_level(self.out.level);
        }
    }

    /// Says only warnings and errors (`-q`).
    pub fn quiet(&self) -> bool {
        self.out.level < LevelFilter::Info
    }

    /// A line saying what git-osa is doing now.
    pub fn step(&self, msg: impl AsRef<str>) {
        if !self.quiet() {
            self.out.lines(&format!("git-osa: {}", msg.as_ref()));
        }
    }

    /// A warning the user must not miss (shown with `-q` too).
    pub fn warn(&self, msg: impl AsRef<str>) {
        if self.out.level >= LevelFilter::Warn {
            let prefix = self.out.palette.warning();
            self.out
                .lines(&format!("git-osa: {prefix} {}", msg.as_ref()));
        }
    }

    /// An error that ends the command, with what to do next; always shown.
    pub fn error(&self, msg: &str, hints: &[String]) {
        let p = &self.out.palette;
        let mut text = format!("git-osa: {} {msg}\n", p.error());
        for h in hints {
            text.push_str(&format!("  {} {h}\n", p.hint()));
        }
        self.out.lines(&text);
    }

    /// Asks a yes/no question on a terminal (default no); without one the answer is no.
    pub fn confirm(&self, prompt: &str) -> bool {
        self.interactive
            && self.out.bars.suspend(|| {
                dialoguer::Confirm::new()
                    .with_prompt(prompt)
                    .default(false)
                    .interact()
                    .unwrap_or(false)
            })
    }

    /// Lets the user pick one of `items` on a terminal; `None` when there is none or the
    /// user declined.
    pub fn select(&self, prompt: &str, items: &[&str]) -> Option<usize> {
        if !self.interactive {
            return None;
        }
        self.out.bars.suspend(|| {
            dialoguer::Select::new()
                .with_prompt(prompt)
                .items(items)
                .default(0)
                .interact_opt()
                .ok()
                .flatten()
        })
    }

    /// Starts a spinner with the time it has run for a long step; it goes away when the
    /// returned value drops. Several at once stack (a copy in the background and the step
    /// running beside it).
    pub fn progress(&self, label: &str) -> Progress {
        if !self.out.draws {
            return Progress { bar: None };
        }
        let style = ProgressStyle::with_template("{spinner} {msg} ({secs})")
            .expect("the template is valid")
            .tick_chars("-\\|/ ")
            .with_key(
                "secs",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1}s", state.elapsed().as_secs_f64());
                },
            );
        let bar = self.out.bars.add(
            ProgressBar::new_spinner()
                .with_style(style)
                .with_message(label.to_string()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }
}

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The `log` facade's end: git-osa's own records, one line each, on the `Ui`'s output.
/// Records of other crates are not git-osa's to show.
struct Logger {
    out: Arc<Out>,
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= self.out.level && metadata.target().starts_with("git_osa")
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = match record.level() {
            log::Level::Error => format!("git-osa: {} {}", self.out.palette.error(), record.args()),
            log::Level::Warn => {
                format!("git-osa: {} {}", self.out.palette.warning(), record.args())
            }
            log::Level::Info => format!("git-osa: {}", record.args()),
            log::Level::Debug => format!("git-osa: debug: {}", record.args()),
            log::Level::Trace => format!("git-osa: trace: {}", record.args()),
        };
        self.out.lines(&text);
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_git_osa_log() {
        assert_eq!(level(0, false, None).0, LevelFilter::Info);
        assert_eq!(level(1, false, None).0, LevelFilter::Debug);
        assert_eq!(level(3, false, Some("error")).0, LevelFilter::Trace);
        assert_eq!(level(0, true, Some("debug")).0, LevelFilter::Warn);
        assert_eq!(level(0, false, Some("DEBUG")).0, LevelFilter::Debug);
        assert_eq!(level(0, false, Some("trace")).0, LevelFilter::Trace);
    }

    #[test]
    fn an_unknown_git_osa_log_is_said_and_ignored() {
        let (l, msg) = level(0, false, Some("loud"));
        assert_eq!(l, LevelFilter::Info);
        assert_eq!(
            msg.unwrap(),
            "GIT_OSA_LOG=loud is not one of error, warn, info, debug, trace; ignored"
        );
    }

    #[test]
    fn progress_is_drawn_only_on_a_terminal_that_is_not_dumb_and_not_quiet() {
        let tty = Terminal {
            tty: true,
            dumb: false,
            no_color: false,
        };
        let draws = |level, term| Ui::with(level, term, ColorWhen::Never).out.draws;
        assert!(draws(LevelFilter::Info, tty));
        assert!(draws(LevelFilter::Debug, tty));
        assert!(!draws(LevelFilter::Warn, tty), "-q");
        assert!(!draws(LevelFilter::Info, Terminal { dumb: true, ..tty }));
        assert!(!draws(LevelFilter::Info, Terminal { tty: false, ..tty }));
    }
}
