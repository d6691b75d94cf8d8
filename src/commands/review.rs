//! `git osa review CHANGE[,PS]`: a Gerrit change fetched into git-osa's own ref and
//! worktree, then the cycle of `git osa run` from that worktree.
//!
//! Glue: every check that can refuse (the change's name, its project, the server, the
//! patchset, edits in git-osa's worktree) runs before the first fetch, so a refusal
//! changes nothing.

use std::collections::BTreeSet;
use std::process::ExitCode;

use crate::cli::ReviewArgs;
use crate::commands;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::gerrit::{self, ChangeSpec};
use crate::layout::Paths;
use crate::review::{self, Repo};
use crate::sessions;

pub fn run(mut ctx: Context, args: &ReviewArgs) -> Result<ExitCode> {
    if args.clean {
        return clean(&ctx).map(|_| ExitCode::SUCCESS);
    }
    let text = args.change.as_deref().unwrap_or_default();
    if gerrit::is_change_id(text.trim()) {
        return Err(Error::user(format!(
            "{text} is a Change-Id: git-osa finds changes with git alone, which cannot look a Change-Id up"
        ))
        .hint("name the change by its number or URL (Gerrit's page of the change shows both)"));
    }
    let spec = ChangeSpec::parse(text)?;
    let change = spec.change;
    let wanted = match (spec.patchset, args.patchset) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::user(format!(
                "{text} names patchset {a} and --patchset {b}: which one?"
            )));
        }
        (a, b) => a.or(b),
    };
    let project = ctx.project()?;
    let ours = project.id.display();
    if let Some(theirs) = &spec.project {
        let names = [&project.id.gerrit_project, &project.id.remote_project];
        if !names.iter().any(|n| n.as_deref() == Some(theirs.as_str())) {
            return Err(Error::user(format!(
                "change {change} is a change of {theirs}, and this checkout is {ours}: nothing was changed"
            ))
            .hint(format!("run `git osa review` from a checkout of {theirs}")));
        }
    }
    // Refusals about the deployment come before the fetch too.
    ctx.placements(&project.service)?;
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

    let rev = repo.fetch(&server, change, ps)?;
    let info = repo.describe(&server, change, ps, &rev)?;
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
    commands::run::run(&ctx, &args.run)
}

/// Removes git-osa's worktrees and refs of the changes that no container of the project
/// runs now.
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
    let mut deployed = BTreeSet::new();
    for c in &todo.running {
        let target = ctx.lxc.target(&c.host.container_name, c.host.metal);
        if let Some(r) = sessions::read(&target, &paths)?.and_then(|s| s.review) {
            deployed.insert(r.change);
        }
    }
    for (change, refs) in &own {
        if deployed.contains(change) {
            ctx.ui.step(format!("change {change}: deployed, kept"));
            continue;
        }
        match repo.remove(*change, refs) {
            Ok(()) => ctx.ui.step(format!(
                "change {change}: worktree and {} ref(s) removed",
                refs.len()
            )),
            Err(e) if e.kind() == crate::error::Kind::User => {
                ctx.ui.warn(e.to_string());
                for h in e.hints() {
                    ctx.ui.warn(h);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
