//! What the checkout needs on this host, before any container: git and git-osa to accept
//! it (a checkout of another user is refused without `safe.directory`), this user to read
//! every file a sync sends, and inotify watches enough for `git osa watch` (one a folder).

use std::path::{Path, PathBuf};

use crate::project::Checkout;
use crate::watch::Filter;

use super::{HostFacts, Verdict, fail};

/// The checkout git-osa runs from, as this user sees it.
#[derive(Debug, Clone)]
pub struct CheckoutFacts {
    /// Its top folder, or why git-osa cannot open it and what to do.
    pub opened: Result<PathBuf, (String, String)>,
    /// The files and folders a sync reads: how many, and those this user cannot read.
    pub checked: usize,
    pub unreadable: Vec<PathBuf>,
    /// The folders `git osa watch` follows, one inotify watch each.
    pub folders: usize,
    /// `fs.inotify.max_user_watches`, when it can be read.
    pub max_watches: Option<u64>,
}

/// Reads the checkout around `cwd`; none when `cwd` is in no checkout.
pub fn read_checkout(cwd: &Path) -> Option<CheckoutFacts> {
    if git2::Repository::discover(cwd).is_err_and(|e| e.code() == git2::ErrorCode::NotFound) {
        return None;
    }
    let max_watches = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .ok()
        .and_then(|t| t.trim().parse().ok());
    let mut facts = CheckoutFacts {
        opened: Err((String::new(), String::new())),
        checked: 0,
        unreadable: Vec::new(),
        folders: 0,
        max_watches,
    };
    let checkout = match Checkout::discover(cwd) {
        Ok(c) => c,
        Err(e) => {
            facts.opened = Err((e.to_string(), e.hints().join("; ")));
            return Some(facts);
        }
    };
    facts.opened = Ok(checkout.root.clone());
    let Ok(filter) = Filter::open(&checkout.root) else {
        return Some(facts);
    };
    let folders = filter.folders(filter.root());
    facts.folders = folders.len();
    // What a sync reads: the files git does not ignore, in the folders it follows.
    for folder in &folders {
        facts.checked += 1;
        let entries = match std::fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(_) => {
                facts.unreadable.push(folder.clone());
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_file()) || filter.relevant(&path).is_none() {
                continue;
            }
            facts.checked += 1;
            if std::fs::File::open(&path).is_err() {
                facts.unreadable.push(path);
            }
        }
    }
    Some(facts)
}

pub(super) fn git_cli(h: &HostFacts) -> Verdict {
    match h.tools.iter().find(|(t, _)| *t == "git") {
        Some((_, Some(p))) => Verdict::Pass(p.display().to_string()),
        _ => fail(
            "not on PATH: git config, `git osa review` and the hooks need the git command",
            "install git (apt-get install git)",
        ),
    }
}

pub(super) fn checkout(h: &HostFacts) -> Verdict {
    let Some(c) = &h.checkout else {
        return Verdict::Skip("not run from a checkout".into());
    };
    let root = match &c.opened {
        Ok(root) => root,
        Err((why, fix)) => return fail(why.clone(), fix.clone()),
    };
    let top = root.display().to_string();
    let top = top.trim_end_matches('/');
    let user = match h.euid {
        Some(uid) => format!("uid {uid}"),
        None => "this user".into(),
    };
    if c.unreadable.is_empty() {
        return Verdict::Pass(format!(
            "{top}: {user} reads all of its {} files and folders",
            c.checked
        ));
    }
    let shown: Vec<String> = c
        .unreadable
        .iter()
        .take(3)
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    let more = c.unreadable.len().saturating_sub(shown.len());
    fail(
        format!(
            "{user} cannot read {} of the {} files and folders a sync sends from {top}: {}{}",
            c.unreadable.len(),
            c.checked,
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
        format!(
            "run git osa as a user who can read them (root, unless the checkout is on an NFS share that squashes root), or make them readable to {user} (`chmod a+rX` them, or `chown` them to it)"
        ),
    )
}

pub(super) fn inotify(h: &HostFacts) -> Verdict {
    let Some(c) = &h.checkout else {
        return Verdict::Skip("not run from a checkout".into());
    };
    if c.opened.is_err() {
        return Verdict::Skip("the checkout cannot be opened".into());
    }
    let Some(max) = c.max_watches else {
        return Verdict::Skip("fs.inotify.max_user_watches cannot be read".into());
    };
    let folders = c.folders as u64;
    if folders < max {
        return Verdict::Pass(format!(
            "`git osa watch` follows {folders} folders, one watch each; this user may have {max}"
        ));
    }
    // Room for the user's editor and others, which watch folders too.
    let enough = (folders * 2).next_power_of_two().max(65536);
    fail(
        format!(
            "`git osa watch` follows {folders} folders, one inotify watch each, and this user may have {max} (fs.inotify.max_user_watches)"
        ),
        format!(
            "raise it: `sysctl fs.inotify.max_user_watches={enough}`, and keep it with a line `fs.inotify.max_user_watches = {enough}` in /etc/sysctl.d/90-inotify.conf"
        ),
    )
}
