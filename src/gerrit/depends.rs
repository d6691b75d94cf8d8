//! The changes of other projects a reviewed change's `Depends-On:` footers name: each
//! found (a Change-Id through Gerrit's REST API), its checkout found (or cloned with the
//! user's consent), its patchset checked, all before anything is fetched for it.

use std::path::PathBuf;

use super::api;
use super::repo::{self, Repo};
use super::{ChangeSpec, Server};
use crate::context::{Context, Project};
use crate::error::{Error, Result};
use crate::project::Checkout;

/// A change of another project that the reviewed change depends on, found and checked
/// (its checkout, server and patchset) before anything is fetched for it.
pub(super) struct Dep {
    pub(super) project: String,
    pub(super) change: u64,
    pub(super) patchset: u32,
    pub(super) repo: Repo,
    pub(super) server: Server,
}

/// Whether a missing Depends-On checkout may be cloned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CloneDeps {
    /// `--clone-dependencies`.
    Yes,
    /// On a terminal, the user is asked.
    Ask,
    /// A dry run: nothing is cloned, nothing asked.
    Never,
}

/// The `Depends-On:` footers of `message` that name changes of other projects, each
/// resolved to its checkout and patchset; same-project ones come with the patchset's
/// parents. Any footer that cannot be had is an error naming it.
pub(super) fn dependencies(
    ctx: &Context,
    clone: CloneDeps,
    project: &Project,
    server: &Server,
    message: &str,
    branches: &[String],
) -> Result<Vec<Dep>> {
    let ours = [&project.id.gerrit_project, &project.id.remote_project];
    let mut deps: Vec<Dep> = Vec::new();
    for footer in super::depends_on(message) {
        let url = match footer {
            // Looked up with Gerrit's REST API; then followed as its URL would be.
            super::Dependency::ChangeId(id) => {
                let base = api::base_url(&project.checkout, &ctx.settings.gerrit_url)?;
                let info = api::resolve(&base, &id, &[], branches, true)?;
                ctx.ui.step(format!(
                    "Depends-On: {id} is change {} of {} (branch {}) at {base}",
                    info.number, info.project, info.branch
                ));
                info.url(&base)
            }
            super::Dependency::Url(u) => u,
        };
        let said =
            |what: String| Error::user(format!("Depends-On: {url}: {what}; nothing was changed"));
        let spec = ChangeSpec::parse(&url).map_err(|_| said("not a Gerrit change URL".into()))?;
        let Some(dep_project) = spec.project.clone() else {
            return Err(said(
                "the URL does not name the change's project (https://HOST/c/PROJECT/+/NUMBER)"
                    .into(),
            ));
        };
        if ours
            .iter()
            .any(|p| p.as_deref() == Some(dep_project.as_str()))
        {
            ctx.ui.step(format!(
                "Depends-On: change {} of {dep_project} comes with the patchset's parents",
                spec.change
            ));
            continue;
        }
        if deps.iter().any(|d| d.project == dep_project) {
            return Err(said(format!(
                "a second change of {dep_project}; one checkout runs one change"
            )));
        }
        let dir = dependency_checkout(ctx, clone, project, server, &dep_project, &url)?;
        let checkout = Checkout::discover(&dir).map_err(|e| said(e.to_string()))?;
        let id = checkout.identify();
        if ![&id.gerrit_project, &id.remote_project]
            .iter()
            .any(|p| p.as_deref() == Some(dep_project.as_str()))
        {
            return Err(said(format!(
                "{} is {}, not {dep_project}",
                dir.display(),
                id.display()
            )));
        }
        let repo = Repo::of(&checkout);
        let dep_server = repo.server(&checkout).map_err(|e| said(e.to_string()))?;
        let patchsets = repo.patchsets(&dep_server, spec.change)?;
        let Some((&latest, _)) = patchsets.last_key_value() else {
            return Err(said(format!(
                "no change {} at {}",
                spec.change,
                dep_server.describe()
            )));
        };
        let ps = spec.patchset.unwrap_or(latest);
        if !patchsets.contains_key(&ps) {
            return Err(said(format!("change {} has no patchset {ps}", spec.change)));
        }
        let edits = repo.local_edits(spec.change)?;
        if !edits.is_empty() {
            return Err(repo::edited(
                &repo.worktree(spec.change),
                spec.change,
                &edits,
            ));
        }
        deps.push(Dep {
            project: dep_project,
            change: spec.change,
            patchset: ps,
            repo,
            server: dep_server,
        });
    }
    Ok(deps)
}

/// The places a checkout of `dep_project` may be, in order: the folder `git config
/// osa.checkouts` names, beside this checkout, git-osa's cache (also returned alone, as
/// where a clone goes); and the first that holds a checkout.
pub(super) fn dependency_candidates(
    ctx: &Context,
    project: &Project,
    dep_project: &str,
) -> (Option<PathBuf>, Vec<PathBuf>, Option<PathBuf>) {
    let root = &project.checkout.root;
    let base = dep_project.rsplit('/').next().unwrap_or(dep_project);
    let mut candidates = Vec::new();
    if let Some(dir) = &ctx.settings.checkouts.value {
        candidates.push(dir.join(base));
        candidates.push(dir.join(dep_project));
    }
    if let Some(parent) = root.parent() {
        candidates.push(parent.join(base));
    }
    let cache = repo::cache_dir().map(|c| c.join(dep_project));
    candidates.extend(cache.clone());
    let found = candidates.iter().find(|c| c.join(".git").exists()).cloned();
    (found, candidates, cache)
}

/// Where the checkout of a Depends-On project is: in the folder `git config
/// osa.checkouts` names, beside this checkout, or in git-osa's cache; cloned there (from
/// the same Gerrit as this checkout) with the user's consent.
fn dependency_checkout(
    ctx: &Context,
    clone: CloneDeps,
    project: &Project,
    server: &Server,
    dep_project: &str,
    url: &str,
) -> Result<PathBuf> {
    let (found, candidates, cache) = dependency_candidates(ctx, project, dep_project);
    if let Some(found) = found {
        return Ok(found);
    }
    let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    let from = match server {
        Server::Remote { url, .. } => repo::sibling_url(url, dep_project),
        Server::Url(u) => repo::sibling_url(u, dep_project),
    };
    let (Some(cache), Some(from)) = (cache, from) else {
        return Err(Error::user(format!(
            "Depends-On: {url}: no checkout of {dep_project} (looked in {}); nothing was changed",
            looked.join(", ")
        ))
        .hint(format!("clone {dep_project} beside this checkout, or name the folder of your checkouts with `git config osa.checkouts DIR`")));
    };
    let question = format!(
        "Depends-On: {url} needs a checkout of {dep_project}; clone {from} into {}?",
        cache.display()
    );
    let consent = match clone {
        CloneDeps::Yes => true,
        CloneDeps::Ask => ctx.ui.interactive && ctx.ui.confirm(&question),
        CloneDeps::Never => false,
    };
    if !consent {
        return Err(Error::user(format!(
            "Depends-On: {url}: no checkout of {dep_project} (looked in {}); nothing was changed",
            looked.join(", ")
        ))
        .hint(format!(
            "pass --clone-dependencies to clone {from} into {}, or clone it beside this checkout, or name the folder of your checkouts with `git config osa.checkouts DIR`",
            cache.display()
        )));
    }
    ctx.ui
        .step(format!("cloning {from} into {}", cache.display()));
    repo::clone_into(&from, &cache)?;
    Ok(cache)
}
