//! `git osa` / `git osa run`: swap the checkout into its container and run it.
//!
//! Glue: choose the target, survey it, plan the cycle, then print the plan (`--dry-run`)
//! or execute it, and turn how the dev process ended into the exit status.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::context::Context;
use crate::cycle::{self, Choice, RunPlan};
use crate::error::{Error, Result};
use crate::execute::Runner;
use crate::foreground::Outcome;
use crate::json;
use crate::layout::Paths;
use crate::lock::Lock;
use crate::lxc::Target;
use crate::plan;
use crate::restore;
use crate::select;
use crate::settings::Origin;
use crate::state::Session;
use crate::survey;

pub fn run(ctx: &Context, args: &RunArgs) -> Result<ExitCode> {
    let project = ctx.project()?;
    // Checked before anything else: a --with that cannot be installed changes nothing.
    let with = survey::libraries(&project, &args.with)?;
    let service = &project.service;
    let (placements, _) = ctx.placements(service)?;
    let settings = &ctx.settings;
    let placement = select::choose(&ctx.ui, &placements, settings.container.value.as_deref())
        .map_err(|e| said_by(e, Some(&settings.container.origin), "osa.container"))?;
    let units = select::units(&placement, &settings.service_names()).map_err(|e| {
        said_by(
            e,
            settings.services.first().map(|s| &s.origin),
            "osa.service",
        )
    })?;
    let detach = settings.detach.value;
    // Detached, no git-osa process stays to restore anything on exit.
    let restore_on_exit = settings.restore_on_exit.value && !detach;
    select::running(&ctx.lxc, &placement)?;
    let target = placement.target(&ctx.lxc);
    let paths = Paths::new(&service.name);
    let _lock = if args.dry_run {
        None
    } else {
        Some(Lock::acquire(&target, &paths, "run")?)
    };

    let asked = survey::Asked {
        explicit_units: !settings.service_names().is_empty(),
        no_haproxy: args.no_haproxy,
        with,
        venv: None,
    };
    let survey = survey::survey(ctx, &project, &placement, &placements, units, &asked)?;
    let choice = Choice {
        allow_public_index: args.allow_public_index.clone(),
        offer_index: settings.public_index.value.clone(),
        detach,
        db_snapshot: settings.db_snapshot.value,
    };
    let plan = cycle::plan_run(&survey, &choice)?;

    if args.dry_run && args.json {
        json::print(&json::RunPlan::new(
            &survey,
            &plan,
            &ctx.haproxy.socket,
            restore_on_exit,
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        print_plan(&plan, restore_on_exit, &ctx.haproxy.socket);
        return Ok(ExitCode::SUCCESS);
    }

    let mut session = survey
        .session
        .clone()
        .unwrap_or_else(|| Session::new(&service.name, &survey.project, &target.name, &survey.me));
    // Which checkout the container runs: the git hooks of another one leave it alone.
    let checkout = project.checkout.root.display().to_string();
    let moved = session.checkout.as_deref() != Some(checkout.as_str());
    session.checkout = Some(checkout);
    let mut runner = Runner::new(&ctx.ui, &ctx.haproxy, paths.clone(), session);
    if survey.session.is_none() || moved {
        runner.journal.save(&target)?;
    }
    if let Some(other) = &plan.takes_over_from {
        take_over(ctx, &target, other, args.force)?;
    }
    for w in &plan.warnings {
        ctx.ui.warn(w);
    }
    for n in &plan.notes {
        ctx.ui.step(n);
    }
    let outcome = runner
        .run_all(&plan.steps)
        .map_err(|e| in_dev_mode(e, &target))?;
    let Some(outcome) = outcome else {
        ctx.ui.step(format!(
            "the dev units run detached in {}: `git osa logs -f` follows them, `git osa sync` redeploys, `git osa stop` ends them, `git osa restore` puts production back",
            target.name
        ));
        return Ok(ExitCode::SUCCESS);
    };

    if restore_on_exit {
        restore::restore_target(
            &ctx.ui,
            &ctx.haproxy,
            &target,
            &placement.host,
            &placement.units,
            &paths,
            runner.journal.session,
            false,
        )?;
    } else {
        ctx.ui.step(format!(
            "{} stays in dev mode (production units stopped, dev code installed): `git osa restore` puts production back",
            target.name
        ));
    }
    exit_status(outcome)
}

/// The plan, on stdout: the answer a dry run gives.
fn print_plan(plan: &RunPlan, restore_on_exit: bool, socket: &Path) {
    for w in &plan.warnings {
        println!("warning: {w}");
    }
    for n in &plan.notes {
        println!("note: {n}");
    }
    print!("{}", plan::print(&plan.steps, socket));
    if restore_on_exit {
        println!("then: restore production (--restore-on-exit)");
    }
    println!("dry run: nothing was changed");
}

/// A choice the user did not type (git config, the environment) says where it came from.
fn said_by(err: Error, origin: Option<&Origin>, key: &str) -> Error {
    match origin.and_then(|o| o.hint(key)) {
        Some(h) => err.hint(h),
        None => err,
    }
}

/// Stopped by a signal: 128+N. Ended on its own: 0, or a failure (1).
fn exit_status(outcome: Outcome) -> Result<ExitCode> {
    match (outcome.signal, outcome.code) {
        (Some(_), code) => Ok(ExitCode::from(code as u8)),
        (None, 0) => Ok(ExitCode::SUCCESS),
        (None, code) => Err(
            Error::failed(format!("the dev process exited with status {code}"))
                .hint("its output is above; fix and run `git osa` again"),
        ),
    }
}

/// Another user's session is taken over only when asked: a prompt on a terminal, `--force`
/// otherwise.
fn take_over(ctx: &Context, target: &Target, other: &str, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let question = format!(
        "{} is in a dev session {other} started; this run replaces its code. Take it over?",
        target.name
    );
    if ctx.ui.interactive {
        return match ctx.ui.confirm(&question) {
            true => Ok(()),
            false => Err(Error::user("not taken over: nothing was changed")),
        };
    }
    Err(Error::user(format!(
        "{} is in a dev session {other} started: nothing was changed",
        target.name
    ))
    .hint("pass --force to take it over (its code is replaced), or ask them to end it with `git osa restore`"))
}

/// A failed step leaves the container in dev mode; say so and how to get out.
fn in_dev_mode(err: Error, target: &Target) -> Error {
    err.hint(format!(
        "{} is in dev mode as far as the cycle got (`git osa status` shows which steps); `git osa restore` puts production back",
        target.name
    ))
}
