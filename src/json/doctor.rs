//! The `doctor` document: every check, its result, and the fix of a failure.

use serde::Serialize;

use crate::doctor::{Report, Verdict};

use super::Document;

/// `git osa doctor --json`.
#[derive(Serialize)]
pub struct Doctor {
    pub checks: Vec<Check>,
    pub failed: usize,
}

impl Document for Doctor {
    const KIND: &'static str = "doctor";
}

#[derive(Serialize)]
pub struct Check {
    /// The container (or metal host) checked; null for this host's checks.
    pub target: Option<String>,
    pub check: String,
    /// `pass`, `fail` or `skip`.
    pub result: &'static str,
    /// What was found, or why it was not checked.
    pub detail: String,
    pub fix: Option<String>,
}

impl Doctor {
    pub fn new(reports: &[Report]) -> Doctor {
        let checks: Vec<Check> = reports
            .iter()
            .map(|r| {
                let (result, detail, fix) = match &r.verdict {
                    Verdict::Pass(what) => ("pass", what.clone(), None),
                    Verdict::Skip(why) => ("skip", why.clone(), None),
                    Verdict::Fail { found, fix } => ("fail", found.clone(), Some(fix.clone())),
                };
                Check {
                    target: r.target.clone(),
                    check: r.name.clone(),
                    result,
                    detail,
                    fix,
                }
            })
            .collect();
        Doctor {
            failed: checks.iter().filter(|c| c.result == "fail").count(),
            checks,
        }
    }
}
