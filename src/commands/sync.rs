//! `git osa sync`: redeploy the checkout into the container in dev mode: what changed
//! travels, the install and the db sync run only when their inputs changed, and the
//! detached dev units restart only when something changed. The outcome is recorded in
//! the session, for `status` and the git hooks.

use std::process::ExitCode;

use crate::cli::SyncArgs;
use crate::context::Context;
use crate::cycle::{self, Choice};
use crate::error::Result;
use crate::execute::Runner;
use crate::plan;
use crate::select;
use crate::session;
use crate::session::LastSync;
use crate::session::record::Record;
use crate::survey;

pub fn run(ctx: &Context, args: &SyncArgs) -> Result<ExitCode> {
    // The session is read under the lock, taken in the same round trip.
    let (found, _lock) = if args.dry_run {
        (session::find::find(ctx, args.container.as_deref())?, None)
    } else {
        let (found, lock) = session::find::find_locked(ctx, args.container.as_deref(), "sync")?;
        (found, Some(lock))
    };
    let units = select::units(&found.placement, &found.session.stopped_units)?;
    // A session started with --with goes on with the same library checkouts.
    let with_paths: Vec<std::path::PathBuf> = found
        .session
        .with
        .iter()
        .map(|w| std::path::PathBuf::from(&w.checkout))
        .collect();
    let asked = survey::Asked {
        explicit_units: false,
        no_haproxy: false,
        with: survey::libraries(&found.project, &with_paths)?,
        venv: found.session.venv.clone(),
    };
    let (all, _) = ctx.placements(&found.project.service)?;
    let survey = survey::survey(ctx, &found.project, &found.placement, &all, units, &asked)?;
    let choice = Choice {
        allow_public_index: args.allow_public_index.clone(),
        offer_index: ctx.settings.public_index.value.clone(),
        detach: true,
        // a snapshot the session took stays the one restore loads
        db_snapshot: ctx.settings.db_snapshot.value,
    };
    let plan = cycle::plan_sync(&survey, &choice)?;
    if args.dry_run {
        print!("{}", plan::print(&plan.steps, &ctx.haproxy.socket));
        println!("dry run: nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }
    let session = survey.session.clone().unwrap_or(found.session);
    let previous = session.last_sync.clone();
    let mut runner = Runner::new(&ctx.ui, &ctx.haproxy, found.paths.clone(), session);
    // What the steps record goes to the container with the outcome: one write.
    runner.defer_notes = true;
    let mut last = LastSync {
        at: crate::clock::now(),
        commit: survey.checkout.tree.commit.clone(),
        dirty: survey.checkout.tree.dirty,
        error: None,
    };
    // Production's migrations, read this once: the next syncs compare with their
    // fingerprint instead of reading them from the container again.
    let learned = match (
        &survey.production_migrations,
        &survey.production_migrations_digest,
    ) {
        (Some(_), Some(d)) => Some(Record::ProductionMigrations(d.clone())),
        _ => None,
    };
    // A sync whose last step sends the checkout carries that outcome in its stream.
    runner.outcome = std::iter::once(Record::LastSync(last.clone()))
        .chain(learned.clone())
        .collect();
    let result = runner.run_all(&plan.steps);
    last.error = result
        .as_ref()
        .err()
        .map(|e| e.to_string().lines().next().unwrap_or_default().to_string());
    // A sync that had nothing to do changes nothing the session says: no write for it.
    let idle = learned.is_none()
        && result.is_ok()
        && plan.steps.iter().all(|s| s.skip.is_some())
        && previous
            .as_ref()
            .is_some_and(|p| p.error.is_none() && p.commit == last.commit && p.dirty == last.dirty);
    if idle || (result.is_ok() && runner.settled) {
        runner.journal.flush(&found.target)?;
    } else {
        let mut records = vec![Record::LastSync(last)];
        records.extend(learned);
        runner.journal.record(&found.target, &records)?;
    }
    result?;
    let commit = survey
        .checkout
        .tree
        .commit
        .as_deref()
        .map(|c| &c[..c.len().min(12)])
        .unwrap_or("(no commit)");
    ctx.ui.step(format!(
        "{} runs {commit}{}",
        found.target.name,
        if survey.checkout.tree.dirty {
            " + uncommitted changes"
        } else {
            ""
        }
    ));
    Ok(ExitCode::SUCCESS)
}
