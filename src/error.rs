//! Errors that reach the user.
//!
//! An error is a kind, a message with its cause chain, and hints (what to do next). The
//! kind alone picks the exit code, so scripts and git hooks can tell "you asked for
//! something impossible" (2) from "a command failed" (1); adding a hint never changes it.

use std::fmt;

/// The result type of every command.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as far as a caller of `git osa` is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request cannot be done as asked: bad input, wrong directory, a stopped
    /// container. Exit 2.
    User,
    /// Another git-osa holds the target: retry later. Exit 75 (EX_TEMPFAIL).
    Busy,
    /// The user stopped git-osa with this signal (SIGINT, SIGTERM, SIGHUP). Exit 128+N.
    Interrupted(i32),
    /// A command git-osa ran failed (pip, a db sync, a unit that would not start), or
    /// the machine did. Exit 1.
    Failed,
}

#[derive(Debug)]
pub struct Error {
    kind: Kind,
    error: anyhow::Error,
    hints: Vec<String>,
}

impl Error {
    pub fn new(kind: Kind, error: impl Into<anyhow::Error>) -> Self {
        Error {
            kind,
            error: error.into(),
            hints: Vec::new(),
        }
    }

    pub fn user(message: impl Into<String>) -> Self {
        Error::new(Kind::User, anyhow::Error::msg(message.into()))
    }

    pub fn busy(message: impl Into<String>) -> Self {
        Error::new(Kind::Busy, anyhow::Error::msg(message.into()))
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Error::new(Kind::Failed, anyhow::Error::msg(message.into()))
    }

    pub fn interrupted(signal: i32, message: impl Into<String>) -> Self {
        Error::new(
            Kind::Interrupted(signal),
            anyhow::Error::msg(message.into()),
        )
    }

    /// Adds a line telling the user what to do next; the kind stays what it was.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Failed => 1,
            Kind::User => 2,
            Kind::Busy => 75,
            Kind::Interrupted(signal) => (128 + signal) as u8,
        }
    }

    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    /// The causes, outermost first (for telling a broken pipe from a real failure).
    pub fn chain(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        self.error.chain()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for Error {}

/// Anything not classified otherwise is a failure of the machine or of a command: 1.
impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<Error>() {
            Ok(e) => e,
            Err(err) => Error::new(Kind::Failed, err),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::new(Kind::Failed, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_never_change_the_kind_or_the_exit_code() {
        for (e, code) in [
            (Error::user("u"), 2),
            (Error::busy("b"), 75),
            (Error::failed("f"), 1),
            (Error::interrupted(2, "i"), 130),
            (Error::from(anyhow::anyhow!("machine")), 1),
        ] {
            let kind = e.kind();
            let e = e.hint("one").hint("two");
            assert_eq!(e.kind(), kind);
            assert_eq!(e.exit_code(), code);
            assert_eq!(e.hints(), ["one", "two"]);
        }
    }

    #[test]
    fn a_wrapped_error_keeps_its_kind_and_its_causes_read_in_order() {
        let inner = Error::busy("held by someone");
        let back = Error::from(anyhow::Error::new(inner));
        assert_eq!(back.exit_code(), 75);
        let e = Error::from(anyhow::anyhow!("root cause").context("reading x"));
        assert_eq!(e.to_string(), "reading x: root cause");
    }
}
