//! `git osa review CHANGE[,PS]`: a Gerrit change fetched into git-osa's own ref and
//! worktree, with the changes of other projects its `Depends-On:` footers name, for the
//! cycle of `git osa run` to start from that worktree.
//!
//! Every check that can refuse (the change's name, its project, the server, the
//! patchset, edits in git-osa's worktree) runs before the first fetch, so a refusal
//! changes nothing.

use std::path::PathBuf;

use super::api;
use super::depends::{CloneDeps, dependencies};
use super::repo::{self, Repo};
use super::{ChangeSpec, Server};
use crate::context::{Context, Project};
use crate::error::{Error, Result};
use crate::session::{Dependency, Review};

/// What a review asks for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// NUMBER, NUMBER,PATCHSET, a change URL or a Change-Id.
    pub change: String,
    pub patchset: Option<u32>,
    /// Clone a Depends-On project's checkout without asking.
    pub clone_dependencies: bool,
    /// `--with` library checkouts, installed after the Depends-On ones.
    pub with: Vec<PathBuf>,
    /// Change nothing: plan from what is fetched and checked out already, or say what a
    /// review would fetch.
    pub dry_run: bool,
}

/// What a review has to run.
pub enum Ready {
    Prepared(Prepared),
    /// A dry run of a change (or a Depends-On change) not fetched and checked out yet:
    /// what a review would fetch, one line each, as `git fetch --dry-run` says it.
    WouldFetch(Vec<String>),
}

/// The change, ready to run.
pub struct Prepared {
    /// git-osa's worktree of the patchset.
    pub worktree: PathBuf,
    /// What the session records of it.
    pub review: Review,
    /// The Depends-On changes' worktrees, then `--with`: libraries installed with it.
    pub with: Vec<PathBuf>,
}

/// Fetches the change `req` names (its Depends-On changes too) into git-osa's refs and
/// worktrees, checking everything that can refuse before the first fetch.
pub fn prepare(ctx: &Context, req: &Request) -> Result<Ready> {
    let project = ctx.project()?;
    let named = name(ctx, req, &project)?;
    // Refusals about the deployment and the --with checkouts come before the fetch too.
    ctx.placements(&project.service)?;
    crate::survey::libraries(&project, &req.with)?;
    let found = find(&project, &named)?;
    if req.dry_run {
        return at_hand(ctx, &project, named, found);
    }
    fetch(ctx, req, &project, named, found).map(Ready::Prepared)
}

/// A dry run: the change as fetched and checked out already, with its Depends-On
/// changes, or what a review would fetch first. Nothing is written.
fn at_hand(ctx: &Context, project: &Project, named: Named, found: Found) -> Result<Ready> {
    let Found {
        repo,
        server,
        change,
        ps,
        ..
    } = found;
    let would = |what: &str, change: u64, ps: u32, server: &Server, wt: PathBuf| {
        format!(
            "would fetch {} ({what} change {change} patchset {ps}) from {} into {} and check it out in {}",
            super::patchset_ref(change, ps),
            server.describe(),
            super::own_ref(change, ps),
            wt.display()
        )
    };
    let Some(rev) = repo.ready(change, ps)? else {
        return Ok(Ready::WouldFetch(vec![
            would("the", change, ps, &server, repo.worktree(change)),
            "then read its Depends-On footers, and fetch and check out those changes too".into(),
        ]));
    };
    let mut info = repo.describe(&server, change, ps, &rev)?;
    if let Some(owner) = named.owner {
        info.owner = owner;
    }
    let deps = dependencies(
        ctx,
        CloneDeps::Never,
        project,
        &server,
        &repo.message(&rev)?,
        &named.branches,
    )?;
    let mut missing = Vec::new();
    let mut libraries = Vec::new();
    for d in &deps {
        match d.repo.ready(d.change, d.patchset)? {
            Some(dep_rev) => {
                let record = d.repo.describe(&d.server, d.change, d.patchset, &dep_rev)?;
                info.depends_on.push(Dependency {
                    project: d.project.clone(),
                    change: d.change,
                    patchset: d.patchset,
                    subject: record.subject,
                });
                libraries.push(d.repo.worktree(d.change));
            }
            None => missing.push(would(
                &format!("Depends-On: {}", d.project),
                d.change,
                d.patchset,
                &d.server,
                d.repo.worktree(d.change),
            )),
        }
    }
    if !missing.is_empty() {
        return Ok(Ready::WouldFetch(missing));
    }
    ctx.ui.step(format!(
        "change {change} patchset {ps}: {} ({}), checked out in {} already",
        info.subject,
        info.owner,
        repo.worktree(change).display()
    ));
    Ok(Ready::Prepared(Prepared {
        worktree: repo.worktree(change),
        review: info,
        with: libraries,
    }))
}

/// The change as the user named it, resolved: its number and project, the patchset
/// asked for, its owner when Gerrit's REST API said, and the branches a Depends-On
/// Change-Id prefers.
struct Named {
    spec: ChangeSpec,
    patchset: Option<u32>,
    owner: Option<String>,
    branches: Vec<String>,
}

/// Resolves the change `req` names; a change of another project is refused.
fn name(ctx: &Context, req: &Request, project: &Project) -> Result<Named> {
    let text = req.change.trim();
    let spec = if super::is_change_id(text) {
        None
    } else {
        Some(ChangeSpec::parse(text)?)
    };
    let patchset = match (spec.as_ref().and_then(|s| s.patchset), req.patchset) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::user(format!(
                "{text} names patchset {a} and --patchset {b}: which one?"
            )));
        }
        (a, b) => a.or(b),
    };
    if let Some(spec) = &spec {
        same_project(project, spec)?;
    }
    // A Change-Id is looked up with Gerrit's REST API, whose answer also names the owner.
    // A Change-Id footer prefers the changes on the reviewed change's branch.
    let mut owner = None;
    let mut branches = api::checkout_branches(&project.checkout);
    let spec = match spec {
        Some(spec) => spec,
        None => {
            let base = api::base_url(&project.checkout, &ctx.settings.gerrit_url)?;
            let info = api::resolve(&base, text, &our_projects(project), &branches, false)?;
            branches.insert(0, info.branch.clone());
            ctx.ui.step(format!(
                "Change-Id {text} is change {} of {} (branch {}) at {base}",
                info.number, info.project, info.branch
            ));
            owner = Some(info.owner.clone()).filter(|o| !o.is_empty());
            let found = ChangeSpec {
                change: info.number,
                patchset: None,
                project: Some(info.project),
            };
            same_project(project, &found)?;
            found
        }
    };
    let change = spec.change;
    // A change named by number is found with git alone; its owner is asked of Gerrit's
    // REST API only where the user named that API (osa.gerritUrl).
    if owner.is_none()
        && let Some(base) = api::configured_base(&ctx.settings.gerrit_url)
    {
        match api::query(&base, &change.to_string()) {
            Ok(found) => {
                if let Some(c) = found.into_iter().find(|c| c.number == change) {
                    branches.insert(0, c.branch);
                    owner = Some(c.owner).filter(|o| !o.is_empty());
                }
            }
            Err(e) => ctx
                .ui
                .warn(format!("{e}; the owner shown is the patchset's author")),
        }
    }
    Ok(Named {
        spec,
        patchset,
        owner,
        branches,
    })
}

/// Where the change is and which patchset runs: checked against the server before
/// anything is fetched.
struct Found {
    repo: Repo,
    server: Server,
    change: u64,
    ps: u32,
    latest: u32,
}

fn find(project: &Project, named: &Named) -> Result<Found> {
    let change = named.spec.change;
    let repo = Repo::of(&project.checkout);
    let server = repo.server(&project.checkout)?;
    let patchsets = repo.patchsets(&server, change)?;
    let Some((&latest, _)) = patchsets.last_key_value() else {
        return Err(Error::user(format!(
            "no change {change} at {}: nothing was changed",
            server.describe()
        ))
        .hint(format!(
            "Gerrit keeps a change in its project's repository only: is {change} a change of {}?",
            project.id.display()
        )));
    };
    let ps = named.patchset.unwrap_or(latest);
    if !patchsets.contains_key(&ps) {
        let have: Vec<String> = patchsets.keys().map(u32::to_string).collect();
        return Err(Error::user(format!(
            "change {change} has no patchset {ps} (it has {}): nothing was changed",
            have.join(", ")
        )));
    }
    let edits = repo.local_edits(change)?;
    if !edits.is_empty() {
        return Err(repo::edited(&repo.worktree(change), change, &edits));
    }
    Ok(Found {
        repo,
        server,
        change,
        ps,
        latest,
    })
}

/// The checked change fetched, its Depends-On changes fetched and checked out, then its
/// own worktree.
fn fetch(
    ctx: &Context,
    req: &Request,
    project: &Project,
    named: Named,
    found: Found,
) -> Result<Prepared> {
    let Found {
        repo,
        server,
        change,
        ps,
        latest,
    } = found;
    let (owner, branches) = (named.owner, named.branches);
    let had_ref = repo.has_ref(&super::own_ref(change, ps))?;
    let rev = repo.fetch(&server, change, ps)?;
    let mut info = repo.describe(&server, change, ps, &rev)?;
    if let Some(owner) = owner {
        info.owner = owner;
    }
    // The footers are read from the fetched commit; a dependency that cannot be had takes
    // that fetch back, so a refusal still changes nothing.
    let deps = match dependencies(
        ctx,
        if req.clone_dependencies {
            CloneDeps::Yes
        } else {
            CloneDeps::Ask
        },
        project,
        &server,
        &repo.message(&rev)?,
        &branches,
    ) {
        Ok(deps) => deps,
        Err(e) => {
            if !had_ref {
                repo.drop_ref(&rev)?;
            }
            return Err(e);
        }
    };
    let mut libraries = Vec::new();
    for d in &deps {
        let dep_rev = d.repo.fetch(&d.server, d.change, d.patchset)?;
        let mut record = d.repo.describe(&d.server, d.change, d.patchset, &dep_rev)?;
        let dep_wt = d.repo.check_out(d.change, &dep_rev)?;
        ctx.ui.step(format!(
            "Depends-On: {} change {} patchset {}: {}, checked out in {}",
            d.project,
            d.change,
            d.patchset,
            record.subject,
            dep_wt.display()
        ));
        info.depends_on.push(Dependency {
            project: d.project.clone(),
            change: d.change,
            patchset: d.patchset,
            subject: std::mem::take(&mut record.subject),
        });
        libraries.push(dep_wt);
    }
    let noted: Vec<(String, u64)> = deps.iter().map(|d| (d.project.clone(), d.change)).collect();
    repo.note_dependencies(change, &noted)?;
    libraries.extend(req.with.iter().cloned());
    let wt = repo.check_out(change, &rev)?;
    let newest = if ps < latest {
        format!(" (the latest is {latest})")
    } else {
        String::new()
    };
    ctx.ui.step(format!(
        "change {change} patchset {ps}{newest}: {} ({}), checked out in {}",
        info.subject,
        info.owner,
        wt.display()
    ));
    Ok(Prepared {
        worktree: wt,
        review: info,
        with: libraries,
    })
}

/// The names the checkout's project goes by on Gerrit.
fn our_projects(project: &Project) -> Vec<&str> {
    [&project.id.gerrit_project, &project.id.remote_project]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect()
}

/// A change of another project than the checkout's is refused.
fn same_project(project: &Project, spec: &ChangeSpec) -> Result<()> {
    let Some(theirs) = &spec.project else {
        return Ok(());
    };
    if our_projects(project).contains(&theirs.as_str()) {
        return Ok(());
    }
    Err(Error::user(format!(
        "change {} is a change of {theirs}, and this checkout is {}: nothing was changed",
        spec.change,
        project.id.display()
    ))
    .hint(format!("run `git osa review` from a checkout of {theirs}")))
}
