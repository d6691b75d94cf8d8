//! What the user sees while git-osa works: step lines, warnings, progress, prompts.
//!
//! One `Ui` value is passed down to everything that talks to the user while it works.
//! Step lines go to stderr; stdout is kept for the answer a command gives (`status`, a
//! dry run's plan), which the commands print. Progress spinners are drawn only when
//! stderr is a terminal, and prompts are asked only when stdin is one too; in hooks and
//! CI logs neither appears.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct Ui {
    /// stderr is a terminal: draw progress.
    pub progress: bool,
    /// stdin and stderr are terminals: prompts are possible.
    pub interactive: bool,
}

impl Ui {
    pub fn from_env() -> Ui {
        let err_tty = std::io::stderr().is_terminal();
        Ui {
            progress: err_tty,
            interactive: err_tty && std::io::stdin().is_terminal(),
        }
    }

    /// A line saying what git-osa is doing now.
    pub fn step(&self, msg: impl AsRef<str>) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "git-osa: {}", msg.as_ref());
    }

    /// A warning the user must not miss.
    pub fn warn(&self, msg: impl AsRef<str>) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "git-osa: warning: {}", msg.as_ref());
    }

    /// Asks a yes/no question on a terminal (default no); without one the answer is no.
    pub fn confirm(&self, prompt: &str) -> bool {
        self.interactive
            && dialoguer::Confirm::new()
                .with_prompt(prompt)
                .default(false)
                .interact()
                .unwrap_or(false)
    }

    /// Lets the user pick one of `items` on a terminal; `None` when there is none or the
    /// user declined.
    pub fn select(&self, prompt: &str, items: &[&str]) -> Option<usize> {
        if !self.interactive {
            return None;
        }
        dialoguer::Select::new()
            .with_prompt(prompt)
            .items(items)
            .default(0)
            .interact_opt()
            .ok()
            .flatten()
    }

    /// Starts a spinner for a long step; it is cleared when the returned value drops.
    pub fn progress(&self, label: &str) -> Progress {
        let start = Instant::now();
        if !self.progress {
            return Progress {
                stop: None,
                thread: None,
            };
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let label = label.to_string();
        let thread = std::thread::spawn(move || {
            const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
            let mut i = 0;
            while !flag.load(Ordering::Relaxed) {
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\r\x1b[2K{} {} ({:.1}s)",
                    FRAMES[i % 4],
                    label,
                    start.elapsed().as_secs_f32()
                );
                let _ = err.flush();
                drop(err);
                i += 1;
                std::thread::sleep(Duration::from_millis(120));
            }
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        });
        Progress {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

pub struct Progress {
    stop: Option<Arc<AtomicBool>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(stop) = &self.stop {
            stop.store(true, Ordering::Relaxed);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
