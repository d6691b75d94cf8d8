//! `git osa restore`: production back exactly as it was, from the session record alone
//! (so it works after git-osa was killed, and with no network).

use std::process::ExitCode;

use crate::cli::RestoreArgs;
use crate::commands::{run, status};
use crate::context::Context;
use crate::devrun;
use crate::error::Result;
use crate::haproxy::Change;
use crate::inventory::Inventory;
use crate::lock::Lock;
use crate::lxc::{LxcState, Target};
use crate::plan::{self, Action, Record, Runner, Step, Undone};
use crate::probe;
use crate::state::{self, Disabled, Paths, Session};

/// Lists the sessions in a target, whatever their service.
const LIST: &str = r#"for f in "$1"/*/session.json; do [ -f "$f" ] && printf '%s\n' "${f%/session.json}"; done; exit 0"#;

pub fn run(ctx: &Context, args: &RestoreArgs) -> Result<ExitCode> {
    let mut todo: Vec<(Target, String)> = Vec::new();
    if args.all {
        for t in every_container(ctx)? {
            let out = t.run(&["sh", "-c", LIST, "git-osa-list", state::ROOT], None)?;
            for dir in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some(svc) = dir.rsplit('/').next() {
                    todo.push((t.clone(), svc.to_string()));
                }
            }
        }
    } else {
        let project = ctx.project()?;
        let (placements, _) = ctx.placements(&project.service)?;
        for p in placements {
            if let Some(c) = &args.container
                && c != &p.host.container_name
                && c != &p.host.inventory_name
            {
                continue;
            }
            if !p.host.metal && ctx.lxc.state(&p.host.container_name)? != LxcState::Running {
                ctx.ui
                    .warn(format!("{} is not running: skipped", p.host.container_name));
                continue;
            }
            todo.push((p.target(&ctx.lxc), project.service.name.clone()));
        }
    }
    let mut restored = 0;
    for (target, service) in todo {
        let paths = Paths::new(&service);
        let _lock = if args.dry_run {
            None
        } else {
            Some(Lock::acquire(&target, &paths, "restore")?)
        };
        let first = probe::probe(&target, &[], &[paths.session()], "")?;
        let Some(bytes) = first.file(&paths.session()) else {
            continue;
        };
        let session = Session::parse(bytes)?;
        if args.dry_run {
            let steps = steps(ctx, &target, &paths, &session)?;
            println!("{} ({}):", target.name, service);
            print!("{}", plan::print(&steps, &ctx.haproxy));
        } else {
            restore_target(ctx, &target, &paths, session)?;
        }
        restored += 1;
    }
    if restored == 0 {
        println!(
            "nothing to restore: no git-osa dev session{}",
            if args.all {
                " on this host"
            } else {
                " for this project"
            }
        );
    } else if args.dry_run {
        println!("dry run: nothing was changed");
    }
    Ok(ExitCode::SUCCESS)
}

fn every_container(ctx: &Context) -> Result<Vec<Target>> {
    let names: Vec<(String, bool)> = if ctx.global.inventory.exists() {
        Inventory::load(&ctx.global.inventory)?
            .all_containers()
            .into_iter()
            .map(|h| (h.container_name, h.metal))
            .collect()
    } else {
        ctx.lxc.list()?.into_iter().map(|n| (n, false)).collect()
    };
    let mut out = Vec::new();
    for (name, metal) in names {
        if metal || ctx.lxc.state(&name)? == LxcState::Running {
            out.push(ctx.lxc.target(&name, metal));
        }
    }
    Ok(out)
}

/// The restore, as steps: each one undoes one kind of change and says so in the record.
fn steps(ctx: &Context, target: &Target, paths: &Paths, s: &Session) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let mut scopes: Vec<String> = s.dev_units.clone();
    scopes.extend(s.stopped_units.iter().map(|u| status::dev_scope(u)));
    // A git-osa killed mid-step may have left its pip or copy running: stop it before the
    // venv is touched.
    scopes.push(run::step_scope(&s.service));
    scopes.push(run::keep_scope(&s.service));
    scopes.sort();
    scopes.dedup();
    // Read now, not earlier: what runs is what matters (restore-on-exit comes after a run).
    let p = probe::probe(target, &scopes, &[], "")?;
    let running: Vec<String> = scopes
        .into_iter()
        .filter(|u| p.unit(u).is_some_and(|i| i.active()))
        .collect();
    steps.push(
        Step::new(
            "stop the dev process and anything git-osa left running",
            target,
            Action::argv(devrun::stop_scopes_argv(&running)),
        )
        .skip_if(running.is_empty().then(|| "not running".into()))
        .after(Record::Undone(Undone::DevProcess)),
    );
    if let (Some(venv), Some(backup)) = (&s.venv, &s.venv_backup) {
        steps.push(
            Step::new(
                format!("put the production venv back ({venv})"),
                target,
                Action::argv(vec![
                    "sh".into(),
                    "-c".into(),
                    r#"if [ -d "$2" ]; then rm -rf "$1" && mv "$2" "$1"; fi; rm -rf "$2.tmp""#
                        .into(),
                    "git-osa-venv".into(),
                    venv.clone(),
                    backup.clone(),
                ]),
            )
            .after(Record::Undone(Undone::Venv)),
        );
    }
    if !s.dropins.is_empty() {
        // Files first, then the folders git-osa created (marked with a trailing '/').
        let mut items = s.dropins.clone();
        items.sort_by_key(|d| d.ends_with('/'));
        let mut argv = vec![
            "sh".to_string(),
            "-c".into(),
            r#"for f; do case $f in */) rmdir "$f" 2>/dev/null || true;; *) rm -f "$f";; esac; done"#.into(),
            "git-osa-dropins".into(),
        ];
        argv.extend(items);
        steps.push(
            Step::new("remove the log drop-ins", target, Action::argv(argv))
                .after(Record::Undone(Undone::Dropins)),
        );
    }
    if !s.stopped_units.is_empty() {
        let mut argv = vec!["systemctl".to_string(), "start".into()];
        argv.extend(s.stopped_units.iter().map(|u| probe::unit_id(u)));
        steps.push(
            Step::new(
                format!("start production {}", s.stopped_units.join(", ")),
                target,
                Action::argv(argv),
            )
            .after(Record::Undone(Undone::Units)),
        );
    }
    for d in &s.disabled_servers {
        steps.push(
            Step::new(
                format!("let {} take traffic again", d.server),
                target,
                Action::Server {
                    backend: d.backend.clone(),
                    server: d.server.clone(),
                    change: Change::Ready,
                },
            )
            .after(Record::Enable(d.clone())),
        );
    }
    // Healthy means: units active and every HAProxy server of this container UP.
    let mut servers: Vec<Disabled> = Vec::new();
    if ctx.haproxy.available() {
        for sv in ctx.haproxy.servers()? {
            if sv.name == target.name && !sv.is_disabled() {
                servers.push(Disabled {
                    backend: sv.backend,
                    server: sv.name,
                });
            }
        }
    }
    for d in &s.disabled_servers {
        if !servers.contains(d) {
            servers.push(d.clone());
        }
    }
    steps.push(
        Step::new(
            "wait until production is healthy",
            target,
            Action::WaitHealthy {
                units: s.stopped_units.iter().map(|u| probe::unit_id(u)).collect(),
                servers,
            },
        )
        .after(Record::Undone(Undone::Servers)),
    );
    steps.push(Step::new(
        "end the dev session (its state and synced source)",
        target,
        Action::exec(&[
            "sh",
            "-c",
            r#"rm -rf "$1"; rmdir "$2" 2>/dev/null; exit 0"#,
            "git-osa-end",
            &paths.dir,
            state::ROOT,
        ]),
    ));
    Ok(steps)
}

pub fn restore_target(
    ctx: &Context,
    target: &Target,
    paths: &Paths,
    session: Session,
) -> Result<()> {
    let steps = steps(ctx, target, paths, &session)?;
    let mut runner = Runner::new(&ctx.ui, &ctx.haproxy, paths.clone(), session);
    let last = steps.len() - 1;
    for (i, step) in steps.iter().enumerate() {
        if i == last {
            runner.keep_record = false;
        }
        runner.run(step).map_err(|e| {
            e.hint(format!(
                "production in {} is partly restored; `git osa restore` can be run again",
                target.name
            ))
        })?;
    }
    ctx.ui
        .step(format!("{} runs production again", target.name));
    Ok(())
}
