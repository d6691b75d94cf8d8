//! Errors that reach the user.
//!
//! Every failure a user can act on is an [`Error::User`]: it says what happened and, in its
//! hints, what to do next. Anything else is internal and keeps its cause chain. The kind
//! picks the exit code, so scripts and git hooks can tell "you asked for something
//! impossible" (2) from "the machine failed" (1).

use std::fmt;

/// The result type of every command.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// Something the user can fix: bad input, wrong directory, a stopped container.
    User { message: String, hints: Vec<String> },
    /// Another git-osa holds the target: retry later.
    Busy { message: String, hints: Vec<String> },
    /// The user stopped git-osa (SIGINT, SIGTERM, SIGHUP) between or during steps.
    Interrupted {
        message: String,
        signal: i32,
        hints: Vec<String>,
    },
    /// A failure of the machine or of a command git-osa ran.
    Internal(anyhow::Error),
}

impl Error {
    pub fn user(message: impl Into<String>) -> Self {
        Error::User {
            message: message.into(),
            hints: Vec::new(),
        }
    }

    pub fn busy(message: impl Into<String>) -> Self {
        Error::Busy {
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// Adds a line telling the user what to do next. An internal error given a hint
    /// becomes a user error: someone decided the user can act on it.
    pub fn hint(self, hint: impl Into<String>) -> Self {
        match self {
            Error::User { message, mut hints } => {
                hints.push(hint.into());
                Error::User { message, hints }
            }
            Error::Busy { message, mut hints } => {
                hints.push(hint.into());
                Error::Busy { message, hints }
            }
            Error::Internal(err) => Error::User {
                message: format!("{err:#}"),
                hints: vec![hint.into()],
            },
            Error::Interrupted {
                message,
                signal,
                mut hints,
            } => {
                hints.push(hint.into());
                Error::Interrupted {
                    message,
                    signal,
                    hints,
                }
            }
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Internal(_) => 1,
            Error::User { .. } => 2,
            Error::Busy { .. } => 75,
            Error::Interrupted { signal, .. } => (128 + signal) as u8,
        }
    }

    pub fn hints(&self) -> &[String] {
        match self {
            Error::User { hints, .. }
            | Error::Busy { hints, .. }
            | Error::Interrupted { hints, .. } => hints,
            Error::Internal(_) => &[],
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::User { message, .. }
            | Error::Busy { message, .. }
            | Error::Interrupted { message, .. } => f.write_str(message),
            Error::Internal(err) => write!(f, "{err:#}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<Error>() {
            Ok(e) => e,
            Err(err) => Error::Internal(err),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::Internal(err.into())
    }
}

/// `bail!`-like shorthand for user errors with hints.
#[macro_export]
macro_rules! user_error {
    ($($arg:tt)*) => { $crate::error::Error::user(format!($($arg)*)) };
}
