//! The `conf-diff` document: every difference from the configuration a dev session found.

use serde::Serialize;

use super::Document;
use crate::conf::Diff;
use crate::devconf::FileChange;

#[derive(Serialize)]
pub struct ConfDiff<'a> {
    pub container: &'a str,
    /// Unix time the session began (the configuration it found is production's).
    pub since: u64,
    /// The session noted the configuration when it began; false: only git osa conf's own
    /// values are known.
    pub noted: bool,
    pub files: &'a [FileChange],
}

impl<'a> ConfDiff<'a> {
    pub fn new(d: &'a Diff) -> ConfDiff<'a> {
        ConfDiff {
            container: &d.container,
            since: d.started_at,
            noted: d.noted,
            files: &d.changes,
        }
    }
}

impl Document for ConfDiff<'_> {
    const KIND: &'static str = "conf-diff";
}
