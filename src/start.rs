//! Starting a dev session from a checkout: choose the target, lock it, survey it, plan the
//! cycle, then hand the plan back (a dry run) or execute it. `git osa run`, `git osa review`
//! (from git-osa's worktree of the change) and `git osa watch` (detached) all start here,
//! each with a [`Start`] of its own.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::context::Context;
use crate::cycle::{self, Choice, RunPlan};
use crate::error::{Error, Result};
use crate::execute::Runner;
use crate::foreground::Outcome;
use crate::layout::Paths;
use crate::select;
use crate::session::{Lock, Review, Session};
use crate::settings::Origin;
use crate::survey::{self, Survey};
use crate::transport::Target;

/// What a session start asks for.
#[derive(Debug, Clone)]
pub struct Start {
    /// The checkout to run: git-osa's worktree of a reviewed change; the current one (as
    /// git finds it: `GIT_DIR`, `GIT_WORK_TREE`) when `None`.
    pub checkout: Option<PathBuf>,
    /// The Gerrit change that checkout is, recorded in the session with the sync.
    pub review: Option<Review>,
    pub container: Option<String>,
    /// Only these units of the service (`--service`); all of them when empty.
    pub units: Vec<String>,
    pub detach: bool,
    pub restore_on_exit: bool,
    pub db_snapshot: bool,
    /// `--with`: library checkouts installed editable beside the service.
    pub with: Vec<PathBuf>,
    pub allow_public_index: Option<String>,
    pub offer_index: String,
    pub no_haproxy: bool,
    pub force: bool,
    /// Plan only: nothing is locked, nothing changed.
    pub dry_run: bool,
    /// `--conf FILE:SECTION.KEY=VALUE`: development configuration set before the dev units
    /// start.
    pub conf: Vec<String>,
    /// `--debug`, `--debugpy`.
    pub debug: Option<crate::cycle::Debug>,
    /// `--hot-patch` (with `--detach`).
    pub hot_patch: bool,
}

impl Start {
    /// A run of the current checkout, as `args` and the settings (flags, the environment,
    /// git config) say.
    pub fn of(ctx: &Context, args: &RunArgs) -> Start {
        let s = &ctx.settings;
        Start {
            checkout: None,
            review: None,
            container: s.container.value.clone(),
            units: s.service_names(),
            detach: s.detach.value,
            restore_on_exit: s.restore_on_exit.value,
            db_snapshot: s.db_snapshot.value,
            with: args.with.clone(),
            allow_public_index: args.allow_public_index.clone(),
            offer_index: s.public_index.value.clone(),
            no_haproxy: args.no_haproxy,
            force: args.force,
            dry_run: args.dry_run,
            conf: args.conf.clone(),
            hot_patch: args.hot_patch,
            debug: match (args.debug, args.debugpy) {
                (Some(crate::cli::TerminalDebugger::Pdb), _) => Some(crate::cycle::Debug::Pdb),
                (Some(crate::cli::TerminalDebugger::Pudb), _) => Some(crate::cycle::Debug::Pudb),
                (None, Some(port)) => Some(crate::cycle::Debug::Debugpy { port }),
                (None, None) => None,
            },
        }
    }
}

/// How a start ended.
pub enum Started {
    /// A dry run: what would run.
    Planned(Box<(Survey, RunPlan)>),
    /// The dev units run detached in `target`.
    Detached(Target),
    /// The foreground run ended so; `restored` when production was put back after it.
    Ended {
        outcome: Outcome,
        target: Target,
        restored: bool,
    },
}

pub fn start(ctx: &Context, req: &Start) -> Result<Started> {
    let project = match &req.checkout {
        Some(dir) => ctx.project_at(dir)?,
        None => ctx.project()?,
    };
    if req.hot_patch && !req.detach {
        return Err(Error::user(
            "--hot-patch applies to detached dev units: nothing was changed",
        )
        .hint("add --detach (or `git config osa.detach true`); then `git osa sync`, `watch` and the hooks patch the workers"));
    }
    // Checked before anything else: a --with that cannot be installed changes nothing,
    // nor does a --conf that names no value.
    let with = survey::libraries(&project, &req.with)?;
    crate::devconf::apply::run_options(&project.service, &req.conf)?;
    // The debugger's port here is taken first: one in use changes nothing.
    let listener = match req.debug {
        Some(crate::cycle::Debug::Debugpy { port }) => Some(crate::forward::bind(port)?),
        Some(_) if !ctx.ui.interactive => {
            return Err(Error::user("--debug needs a terminal: nothing was changed")
                .hint("run it at a terminal, or attach a debugger from your IDE with --debugpy"));
        }
        _ => None,
    };
    let service = &project.service;
    let (placements, _) = ctx.placements(service)?;
    let settings = &ctx.settings;
    let placement = select::choose(&ctx.ui, service, &placements, req.container.as_deref())
        .map_err(|e| said_by(e, Some(&settings.container.origin), "osa.container"))?;
    let units = select::units(&placement, &req.units).map_err(|e| {
        said_by(
            e,
            settings.services.first().map(|s| &s.origin),
            "osa.service",
        )
    })?;
    select::running(&ctx.lxc(&placement.host), &placement)?;
    let target = ctx.target(&placement.host);
    if req.debug.is_some_and(|d| d.at_terminal()) && target.via.remote() {
        return Err(Error::user(format!(
            "--debug needs the terminal in {}, which git-osa gives a dev process only on this host (it is reached over ssh): nothing was changed",
            target.name
        ))
        .hint("attach a debugger from your IDE with --debugpy, which works over ssh"));
    }
    let paths = Paths::new(&service.name);
    let mut lock = if req.dry_run {
        None
    } else {
        Some(crate::session::lock::waiting_for_redeploy(
            &ctx.ui,
            &ctx.cwd,
            || Lock::acquire(&target, &paths, "run"),
        )?)
    };
    let asked = survey::Asked {
        explicit_units: !req.units.is_empty(),
        no_haproxy: req.no_haproxy,
        with,
        venv: None,
        review: req.review.clone(),
    };
    // The probe goes through the lock's holder: no round trip of its own.
    let survey = survey::survey(
        ctx,
        &project,
        &placement,
        &placements,
        units,
        &asked,
        lock.as_mut(),
    )?;
    let choice = Choice {
        allow_public_index: req.allow_public_index.clone(),
        offer_index: req.offer_index.clone(),
        detach: req.detach,
        db_snapshot: req.db_snapshot,
        restore_on_exit: req.restore_on_exit,
        reconfigure: Default::default(),
        debug: req.debug,
        hot_patch: req.hot_patch,
    };
    let mut plan = cycle::plan_run(&survey, &choice)?;
    if !req.conf.is_empty() {
        // Checked and planned before anything changes; set before the dev units start.
        let session = survey.session.clone().unwrap_or_default();
        let conf = crate::devconf::apply::run_steps(&target, &survey, &session, &req.conf)?;
        let at = plan.steps.len().saturating_sub(1);
        plan.steps.splice(at..at, conf);
    }
    if req.dry_run {
        return Ok(Started::Planned(Box::new((survey, plan))));
    }

    // A new session records how production looked, for restore to put back.
    let mut session = survey.session.clone().unwrap_or_else(|| Session {
        before: Some(cycle::before(&survey)),
        ..Session::new(&service.name, &survey.project, &target.name, &survey.me)
    });
    // Which checkout the container runs: the git hooks of another one leave it alone.
    let checkout = project.checkout.root.display().to_string();
    let moved = session.checkout.as_deref() != Some(checkout.as_str());
    session.checkout = Some(checkout);
    let mut runner = Runner::new(&ctx.ui, ctx.haproxy(), paths.clone(), session);
    if let Some(lock) = &lock {
        runner.write_through(lock);
    }
    if survey.session.is_none() || moved {
        runner.save(&target)?;
    }
    if let Some(other) = &plan.takes_over_from {
        take_over(ctx, &target, other, req.force)?;
    }
    for w in &plan.warnings {
        ctx.ui.warn(w);
    }
    for n in &plan.notes {
        ctx.ui.step(n);
    }
    // The debugger's port forwarded for as long as this git-osa runs.
    if let (Some(listener), Some(crate::cycle::Debug::Debugpy { port })) = (listener, req.debug) {
        crate::forward::start(listener, target.clone(), port);
        let mut mappings = vec![(project.checkout.root.clone(), paths.src())];
        for lib in &survey.with {
            mappings.push((
                lib.checkout.root.clone(),
                format!("{}/src", paths.with_dir(&lib.package)),
            ));
        }
        crate::output::print(crate::forward::attach_text(
            &service.name,
            &target.name,
            port,
            &mappings,
        ))?;
    }
    let outcome = runner.execute(&plan).map_err(|e| in_dev_mode(e, &target))?;
    Ok(match outcome {
        None => Started::Detached(target),
        Some(outcome) => Started::Ended {
            outcome,
            target,
            restored: plan.then_restore.is_some(),
        },
    })
}

/// What a start says when it is over, and the exit status: the plan of a dry run (as
/// text; its JSON is the command's to print), where the detached units run, how the
/// foreground run ended.
pub fn report(ctx: &Context, started: Started) -> Result<ExitCode> {
    match started {
        Started::Planned(p) => {
            crate::output::print(p.1.text(ctx.haproxy().socket()))?;
            crate::output::line("dry run: nothing was changed")?;
            Ok(ExitCode::SUCCESS)
        }
        Started::Detached(target) => {
            ctx.ui.step(format!(
                "the dev units run detached in {}: `git osa logs -f` follows them, `git osa sync` redeploys, `git osa stop` ends them, `git osa restore` puts production back",
                target.name
            ));
            Ok(ExitCode::SUCCESS)
        }
        Started::Ended {
            outcome,
            target,
            restored,
        } => {
            if !restored {
                ctx.ui.step(format!(
                    "{} stays in dev mode (production units stopped, dev code installed): `git osa restore` puts production back",
                    target.name
                ));
            }
            exit_status(outcome)
        }
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

/// A choice the user did not type (git config, the environment) says where it came from.
fn said_by(err: Error, origin: Option<&Origin>, key: &str) -> Error {
    match origin.and_then(|o| o.hint(key)) {
        Some(h) => err.hint(h),
        None => err,
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
