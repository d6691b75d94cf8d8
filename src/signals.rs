//! Signals: from the first plan that runs on, SIGINT, SIGTERM and SIGHUP do not kill
//! git-osa. They are noted by one process-wide watcher, and whoever runs a step looks at
//! it at its next safe point (between steps, or while waiting for a long step or for the
//! dev process).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::error::{Error, Result};

/// The signals that asked git-osa to stop, noted rather than obeyed.
#[derive(Debug)]
pub struct Interrupts(Arc<AtomicUsize>);

impl Interrupts {
    /// The process's watcher, installed on first use.
    pub fn watch() -> &'static Interrupts {
        static WATCH: OnceLock<Interrupts> = OnceLock::new();
        WATCH.get_or_init(|| {
            let flag = Arc::new(AtomicUsize::new(0));
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                let _ = signal_hook::flag::register_usize(sig, flag.clone(), sig as usize);
            }
            Interrupts(flag)
        })
    }

    /// The signal received and not yet taken, if any.
    pub fn pending(&self) -> Option<i32> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            sig => Some(sig as i32),
        }
    }

    /// Takes the pending signal: it has been acted on.
    pub fn take(&self) -> Option<i32> {
        match self.0.swap(0, Ordering::Relaxed) {
            0 => None,
            sig => Some(sig as i32),
        }
    }

    /// Fails with the interruption, if a signal is pending.
    pub fn check(&self, during: &str) -> Result<()> {
        match self.pending() {
            None => Ok(()),
            Some(sig) => Err(Error::interrupted(sig, format!("interrupted {during}"))),
        }
    }
}

/// A signal's name, for messages.
pub fn name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "signal",
    }
}
