//! `git osa restore`: production back exactly as it was, for the current project's
//! containers, one of them (`--container`), or every session on this host (`--all`).

use std::process::ExitCode;

use crate::catalog::Unit;
use crate::cli::RestoreArgs;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::inventory::{Host, Inventory};
use crate::layout::{self, Paths};
use crate::lock::Lock;
use crate::lxc::LxcState;
use crate::plan;
use crate::probe;
use crate::restore;
use crate::select;
use crate::state::Session;

/// Lists the sessions in a target, whatever their service.
const LIST: &str = r#"for f in "$1"/*/session.json; do [ -f "$f" ] && printf '%s\n' "${f%/session.json}"; done; exit 0"#;

/// A container and service that may have a session.
struct Candidate {
    host: Host,
    service: String,
    units: Vec<Unit>,
}

pub fn run(ctx: &Context, args: &RestoreArgs) -> Result<ExitCode> {
    let todo = if args.all {
        every_session(ctx)?
    } else {
        project_containers(ctx, args)?
    };
    let mut restored = 0;
    for c in todo {
        let target = ctx.lxc.target(&c.host.container_name, c.host.metal);
        let paths = Paths::new(&c.service);
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
            let now = restore::read_now(&target, &ctx.haproxy, &session, &paths)?;
            let steps = restore::plan_restore(&target, &c.host, &c.units, &paths, &session, &now);
            println!("{} ({}):", target.name, c.service);
            print!("{}", plan::print(&steps, &ctx.haproxy.socket));
        } else {
            restore::restore_target(
                &ctx.ui,
                &ctx.haproxy,
                &target,
                &c.host,
                &c.units,
                &paths,
                session,
            )?;
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

/// The current project's running containers (or the one `--container` names).
fn project_containers(ctx: &Context, args: &RestoreArgs) -> Result<Vec<Candidate>> {
    let project = ctx.project()?;
    let (placements, _) = ctx.placements(&project.service)?;
    let placements = match &args.container {
        Some(c) => vec![select::named(&placements, c).cloned().ok_or_else(|| {
            Error::user(format!("{c} is not one of the service's containers"))
                .hint("`git osa status` lists them")
        })?],
        None => placements,
    };
    let mut out = Vec::new();
    for p in placements {
        if !p.host.metal && ctx.lxc.state(&p.host.container_name)? != LxcState::Running {
            ctx.ui
                .warn(format!("{} is not running: skipped", p.host.container_name));
            continue;
        }
        out.push(Candidate {
            host: p.host,
            service: project.service.name.clone(),
            units: p.units,
        });
    }
    Ok(out)
}

/// Every session in every running container of this host.
fn every_session(ctx: &Context) -> Result<Vec<Candidate>> {
    let hosts: Vec<Host> = if ctx.global.inventory.exists() {
        Inventory::load(&ctx.global.inventory)?.all_containers()
    } else {
        ctx.lxc
            .list()?
            .into_iter()
            .map(|n| Host {
                inventory_name: n.clone(),
                container_name: n,
                physical_host: None,
                address: None,
                metal: false,
            })
            .collect()
    };
    let mut out = Vec::new();
    for host in hosts {
        if !host.metal && ctx.lxc.state(&host.container_name)? != LxcState::Running {
            continue;
        }
        let t = ctx.lxc.target(&host.container_name, host.metal);
        let found = t.run(&["sh", "-c", LIST, "git-osa-list", layout::ROOT], None)?;
        for dir in String::from_utf8_lossy(&found.stdout).lines() {
            if let Some(service) = dir.rsplit('/').next() {
                out.push(Candidate {
                    host: host.clone(),
                    service: service.to_string(),
                    units: ctx
                        .catalog
                        .by_name(service)
                        .map(|s| s.units.clone())
                        .unwrap_or_default(),
                });
            }
        }
    }
    Ok(out)
}
