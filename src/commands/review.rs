//! `git osa review CHANGE[,PS]`: a Gerrit change fetched into git-osa's own ref and
//! worktree, then the cycle of `git osa run` from that worktree.
//!
//! Glue: every check that can refuse (the change's name, its project, the server, the
//! patchset, edits in git-osa's worktree) runs before the first fetch, so a refusal
//! changes nothing.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::ReviewArgs;
use crate::commands;
use crate::context::{Context, Project};
use crate::error::{Error, Result};
use crate::gerrit::{self, ChangeSpec, Server};
use crate::gerrit_api;
use crate::layout::Paths;
use crate::project::Checkout;
use crate::review::{self, Repo};
use crate::sessions;

pub fn run(mut ctx: Context, args: &ReviewArgs) -> Result<ExitCode> {
    if args.clean {
        return clean(&ctx).map(|_| ExitCode::SUCCESS);
    }
    let text = args.change.as_deref().unwrap_or_default().trim();
    let by_id = gerrit::is_change_id(text);
    let spec = if by_id {
        None
    } else {
        Some(ChangeSpec::parse(text)?)
    };
    let named = spec.as_ref().and_then(|s| s.patchset);
    let wanted = match (named, args.patchset) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::user(format!(
                "{text} names patchset {a} and --patchset {b}: which one?"
            )));
        }
        (a, b) => a.or(b),
    };
    let project = ctx.project()?;
    if let Some(spec) = &spec {
        same_project(&project, spec)?;
    }
    // Refusals about the deployment and the --with checkouts come before the fetch too.
    ctx.placements(&project.service)?;
    crate::survey::libraries(&project, &args.run.with)?;
    // A Change-Id is looked up with Gerrit's REST API, whose answer also names the owner.
    // A Change-Id footer prefers the changes on the reviewed change's branch.
    let mut owner = None;
    let mut branches = gerrit_api::checkout_branches(&project.checkout);
    let spec = match spec {
        Some(spec) => spec,
        None => {
            let base = gerrit_api::base_url(&project.checkout, &ctx.settings.gerrit_url)?;
            let info = resolve(&base, text, &our_projects(&project), &branches, false)?;
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
            same_project(&project, &found)?;
            found
        }
    };
    let change = spec.change;
    let ours = project.id.display();
    // A change named by number is found with git alone; its owner is asked of Gerrit's
    // REST API only where the user named that API (osa.gerritUrl).
    if owner.is_none()
        && let Some(base) = gerrit_api::configured_base(&ctx.settings.gerrit_url)
    {
        match gerrit_api::query(&base, &change.to_string()) {
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
    let repo = Repo::of(&project.checkout);
    let server = repo.server(&project.checkout)?;
    let patchsets = repo.patchsets(&server, change)?;
    let Some((&latest, _)) = patchsets.last_key_value() else {
        return Err(Error::user(format!(
            "no change {change} at {}: nothing was changed",
            server.describe()
        ))
        .hint(format!(
            "Gerrit keeps a change in its project's repository only: is {change} a change of {ours}?"
        )));
    };
    let ps = wanted.unwrap_or(latest);
    if !patchsets.contains_key(&ps) {
        let have: Vec<String> = patchsets.keys().map(u32::to_string).collect();
        return Err(Error::user(format!(
            "change {change} has no patchset {ps} (it has {}): nothing was changed",
            have.join(", ")
        )));
    }
    let edits = repo.local_edits(change)?;
    if !edits.is_empty() {
        return Err(review::edited(&repo.worktree(change), change, &edits));
    }

    let had_ref = repo.has_ref(&gerrit::own_ref(change, ps))?;
    let rev = repo.fetch(&server, change, ps)?;
    let mut info = repo.describe(&server, change, ps, &rev)?;
    if let Some(owner) = owner {
        info.owner = owner;
    }
    // The footers are read from the fetched commit; a dependency that cannot be had takes
    // that fetch back, so a refusal still changes nothing.
    let deps = match dependencies(
        &ctx,
        args,
        &project,
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
    let mut run_args = args.run.clone();
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
        info.depends_on.push(crate::state::Dependency {
            project: d.project.clone(),
            change: d.change,
            patchset: d.patchset,
            subject: std::mem::take(&mut record.subject),
        });
        libraries.push(dep_wt);
    }
    let noted: Vec<(String, u64)> = deps.iter().map(|d| (d.project.clone(), d.change)).collect();
    repo.note_dependencies(change, &noted)?;
    libraries.append(&mut run_args.with);
    run_args.with = libraries;
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
    ctx.cwd = wt;
    ctx.review = Some(info);
    commands::run::run(&ctx, &run_args)
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

/// The one change a Change-Id names at `base`: the only one, else the one of `projects`,
/// open, on one of `branches`. `in_footer`: the Change-Id is a Depends-On footer's.
fn resolve(
    base: &str,
    change_id: &str,
    projects: &[&str],
    branches: &[String],
    in_footer: bool,
) -> Result<gerrit_api::ChangeInfo> {
    let found = gerrit_api::query(base, change_id)?;
    let what = if in_footer {
        format!("Depends-On: {change_id}")
    } else {
        change_id.to_string()
    };
    match gerrit_api::pick(&found, projects, branches) {
        Ok(one) => Ok(one.clone()),
        Err(left) if left.is_empty() => Err(Error::user(format!(
            "{what}: no change has this Change-Id at {base}: nothing was changed"
        ))
        .hint(format!(
            "check it on {base}q/{change_id}, or name the change by its number or URL"
        ))),
        Err(left) => {
            let list: Vec<String> = left.iter().map(|c| format!("  {}", c.line())).collect();
            let err = Error::user(format!(
                "{what}: {} changes at {base} have this Change-Id, and git-osa cannot tell which one is meant: nothing was changed\n{}",
                left.len(),
                list.join("\n")
            ));
            Err(if in_footer {
                err.hint(
                    "a Depends-On by URL (https://HOST/c/PROJECT/+/NUMBER) names one change; \
                     meanwhile, check the one you mean out and pass it with --with PATH",
                )
            } else {
                err.hint(format!(
                    "pass the number of the one to review: `git osa review {}`",
                    left[0].number
                ))
            })
        }
    }
}

/// A change of another project that the reviewed change depends on, found and checked
/// (its checkout, server and patchset) before anything is fetched for it.
struct Dep {
    project: String,
    change: u64,
    patchset: u32,
    repo: Repo,
    server: Server,
}

/// The `Depends-On:` footers of `message` that name changes of other projects, each
/// resolved to its checkout and patchset; same-project ones come with the patchset's
/// parents. Any footer that cannot be had is an error naming it.
fn dependencies(
    ctx: &Context,
    args: &ReviewArgs,
    project: &Project,
    server: &Server,
    message: &str,
    branches: &[String],
) -> Result<Vec<Dep>> {
    let ours = [&project.id.gerrit_project, &project.id.remote_project];
    let mut deps: Vec<Dep> = Vec::new();
    for footer in gerrit::depends_on(message) {
        let url = match footer {
            // Looked up with Gerrit's REST API; then followed as its URL would be.
            gerrit::Dependency::ChangeId(id) => {
                let base = gerrit_api::base_url(&project.checkout, &ctx.settings.gerrit_url)?;
                let info = resolve(&base, &id, &[], branches, true)?;
                ctx.ui.step(format!(
                    "Depends-On: {id} is change {} of {} (branch {}) at {base}",
                    info.number, info.project, info.branch
                ));
                info.url(&base)
            }
            gerrit::Dependency::Url(u) => u,
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
        let dir = dependency_checkout(ctx, args, project, server, &dep_project, &url)?;
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
            return Err(review::edited(
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
fn dependency_candidates(
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
    let cache = review::cache_dir().map(|c| c.join(dep_project));
    candidates.extend(cache.clone());
    let found = candidates.iter().find(|c| c.join(".git").exists()).cloned();
    (found, candidates, cache)
}

/// Where the checkout of a Depends-On project is: in the folder `git config
/// osa.checkouts` names, beside this checkout, or in git-osa's cache; cloned there (from
/// the same Gerrit as this checkout) with the user's consent.
fn dependency_checkout(
    ctx: &Context,
    args: &ReviewArgs,
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
        Server::Remote { url, .. } => review::sibling_url(url, dep_project),
        Server::Url(u) => review::sibling_url(u, dep_project),
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
    let consent = args.clone_dependencies || (ctx.ui.interactive && ctx.ui.confirm(&question));
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
    review::clone_into(&from, &cache)?;
    Ok(cache)
}

/// Removes git-osa's worktrees and refs of the changes that no container of the project
/// runs now, and those of their Depends-On changes in the other projects' checkouts.
fn clean(ctx: &Context) -> Result<()> {
    let project = ctx.project()?;
    let repo = Repo::of(&project.checkout);
    let own = repo.own()?;
    if own.is_empty() {
        ctx.ui.step("git-osa holds no change in this repository");
        return Ok(());
    }
    let todo = sessions::project_containers(ctx, None)?;
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
        let target = ctx.lxc.target(&c.host.container_name, c.host.metal);
        if let Some(r) = sessions::read(&target, &paths)?.and_then(|s| s.review) {
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
            let (found, _, _) = dependency_candidates(ctx, &project, &dep_project);
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
pub fn clean_after_restore(ctx: &Context) {
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
            .map(|m| gerrit::depends_on(&m))
            .unwrap_or_default()
        {
            let gerrit::Dependency::Url(url) = footer else {
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
