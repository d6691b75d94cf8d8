//! `git osa review --clean`, and after a restore: git-osa's worktrees and refs of the
//! changes no container of the project runs any more, with those of their Depends-On
//! changes in the other projects' checkouts. A worktree with the user's edits is kept.

use std::collections::BTreeSet;

use super::ChangeSpec;
use super::repo::Repo;
use crate::context::{Context, Project};
use crate::error::{Error, Result};
use crate::layout::Paths;
use crate::project::Checkout;
use crate::session;

/// Removes git-osa's worktrees and refs of the changes that no container of the project
/// runs now, and those of their Depends-On changes in the other projects' checkouts.
pub fn clean(ctx: &Context) -> Result<()> {
    let project = ctx.project()?;
    let repo = Repo::of(&project.checkout);
    let own = repo.own()?;
    if own.is_empty() {
        ctx.ui.step("git-osa holds no change in this repository");
        return Ok(());
    }
    let todo = session::find::project_containers(ctx, None)?;
    if let Some((c, state)) = todo.stopped.first() {
        return Err(Error::user(format!(
            "{} is {state}: its session cannot be read, so git-osa cannot tell which changes are deployed; nothing was removed",
            c.host.container_name
        ))
        .hint("start it (`lxc-start -n NAME`) and run this again"));
    }
    let paths = Paths::new(&project.service.name);
    let ours = project.id.display();
    // (project, change) of every change a container runs, dependencies included.
    let mut deployed = BTreeSet::new();
    for c in &todo.running {
        let target = ctx.target(&c.host);
        if let Some(r) = session::find::read(&target, &paths)?.and_then(|s| s.review) {
            deployed.insert((ours.clone(), r.change));
            deployed.extend(r.depends_on.into_iter().map(|d| (d.project, d.change)));
        }
    }
    for (change, refs) in &own {
        if deployed.contains(&(ours.clone(), *change)) {
            ctx.ui.step(format!("change {change}: deployed, kept"));
            continue;
        }
        let mut deps = footers_of(&repo, refs, &project);
        for noted in repo.noted_dependencies(*change) {
            if !deps.contains(&noted) {
                deps.push(noted);
            }
        }
        if !removed(ctx, &repo, *change, refs, "")? {
            continue;
        }
        for (dep_project, dep_change) in deps {
            if deployed.contains(&(dep_project.clone(), dep_change)) {
                continue;
            }
            let (found, _, _) = super::depends::dependency_candidates(ctx, &project, &dep_project);
            let Some(dir) = found else { continue };
            let Ok(checkout) = Checkout::discover(&dir) else {
                continue;
            };
            let dep_repo = Repo::of(&checkout);
            if let Some(dep_refs) = dep_repo.own()?.get(&dep_change) {
                let said = format!(" (Depends-On of {change}, in {})", dir.display());
                removed(ctx, &dep_repo, dep_change, dep_refs, &said)?;
            }
        }
    }
    Ok(())
}

/// After a restore: the changes its sessions ran are no longer deployed. A problem here
/// is a warning: production is back either way.
pub fn after_restore(ctx: &Context) {
    let holds = ctx
        .project()
        .ok()
        .and_then(|p| Repo::of(&p.checkout).own().ok())
        .is_some_and(|own| !own.is_empty());
    if !holds {
        return;
    }
    if let Err(e) = clean(ctx) {
        ctx.ui.warn(format!(
            "git-osa's worktrees of reviewed changes were kept: {e}"
        ));
    }
}

/// The (project, change) of the other projects' changes the Depends-On footers of a
/// change's fetched patchsets name.
fn footers_of(repo: &Repo, refs: &[String], project: &Project) -> Vec<(String, u64)> {
    let ours = [&project.id.gerrit_project, &project.id.remote_project];
    let mut out = Vec::new();
    for r in refs {
        for footer in repo
            .message(r)
            .map(|m| super::depends_on(&m))
            .unwrap_or_default()
        {
            let super::Dependency::Url(url) = footer else {
                continue;
            };
            let Ok(ChangeSpec {
                change,
                project: Some(p),
                ..
            }) = ChangeSpec::parse(&url)
            else {
                continue;
            };
            if !ours.iter().any(|o| o.as_deref() == Some(p.as_str()))
                && !out.contains(&(p.clone(), change))
            {
                out.push((p, change));
            }
        }
    }
    out
}

/// Removes one change's worktree and refs; a worktree with the user's edits is kept and
/// said (false).
fn removed(ctx: &Context, repo: &Repo, change: u64, refs: &[String], said: &str) -> Result<bool> {
    match repo.remove(change, refs) {
        Ok(()) => {
            ctx.ui.step(format!(
                "change {change}{said}: worktree and {} ref(s) removed",
                refs.len()
            ));
            Ok(true)
        }
        Err(e) if e.kind() == crate::error::Kind::User => {
            ctx.ui.warn(e.to_string());
            for h in e.hints() {
                ctx.ui.warn(h);
            }
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
