//! The `hooks-status` document: which of the checkout's hooks are git-osa's, and how the
//! last redeploy ended.

use serde::Serialize;

use crate::hooks::{HookState, Hooks};

use super::{Document, display};

/// `git osa hooks status --json`.
#[derive(Serialize)]
pub struct HooksStatus {
    /// The folder git runs the hooks from.
    pub dir: String,
    pub hooks: Vec<HookView>,
    /// Installed with `--start`: a hook starts a detached dev session when there is none.
    pub starts_sessions: bool,
    /// How the last redeploy ended; none before the first.
    pub last: Option<LastRedeploy>,
}

impl Document for HooksStatus {
    const KIND: &'static str = "hooks-status";
}

#[derive(Serialize)]
pub struct HookView {
    pub name: &'static str,
    /// `installed`, `other` (a hook not git-osa's) or `absent`.
    pub state: &'static str,
    /// Installed over a hook of the user's, which still runs first.
    pub chained: bool,
}

#[derive(Serialize)]
pub struct LastRedeploy {
    pub ok: bool,
    pub detail: String,
}

impl HooksStatus {
    pub fn new(hooks: &Hooks) -> HooksStatus {
        HooksStatus {
            dir: display(&hooks.dir),
            hooks: hooks
                .states()
                .into_iter()
                .map(|(name, state)| HookView {
                    name,
                    state: match state {
                        HookState::Installed { .. } => "installed",
                        HookState::Other => "other",
                        HookState::Absent => "absent",
                    },
                    chained: state == HookState::Installed { chained: true },
                })
                .collect(),
            starts_sessions: hooks.starts(),
            last: hooks
                .last_outcome()
                .map(|(ok, detail)| LastRedeploy { ok, detail }),
        }
    }
}
