//! `git osa status`: where the checkout's service runs, in what state, and which dev
//! sessions are open; as text, or as JSON (`--json`).

use std::fmt::Write as _;

use crate::cli::StatusArgs;
use crate::context::{Context, Source};
use crate::error::{Error, Result};
use crate::json;
use crate::status;

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<()> {
    let project = ctx.project()?;
    let (placements, source) = ctx.placements(&project.service)?;
    // One HAProxy query in all; a socket that cannot be reached is said, when a unit of
    // the service is balanced.
    let balanced = project.service.units.iter().any(|u| u.haproxy.is_some());
    let (servers, haproxy_problem) = match ctx.haproxy.servers() {
        Ok(servers) => (servers, None),
        Err(e) if balanced => (Vec::new(), Some(e.to_string())),
        Err(_) => (Vec::new(), None),
    };
    let mut statuses = status::gather(ctx, &project.service, &placements, &servers)?;
    // Gerrit only when asked: status is read by scripts and prompts, which must not wait
    // on the network.
    if args.online {
        crate::review::latest_patchsets(&project.checkout, &mut statuses);
    }

    // The containers' problems first: a missing container matters more than HAProxy.
    let mut problems = Vec::new();
    for st in &statuses {
        problems.extend(status::problems(st, ctx.lxc.path.as_deref()));
    }
    if let Some(e) = &haproxy_problem {
        problems.push(format!(
            "HAProxy cannot be read: {e}; a run would not know where traffic goes"
        ));
        problems.push(ctx.haproxy.hint());
    }
    let checkout = project
        .checkout
        .root
        .display()
        .to_string()
        .trim_end_matches('/')
        .to_string();

    let watcher = crate::hooks::Hooks::of(&project.checkout.root)
        .ok()
        .and_then(|h| crate::watch::running(&h.state));
    if args.json {
        json::print(&json::Status {
            project: project.id.display(),
            service: project.service.name.clone(),
            checkout,
            watching: watcher.as_ref().map(|w| json::Watching {
                pid: w.pid,
                since: w.since,
                background: w.background,
            }),
            inventory: json::Inventory::new(&source, &ctx.global.inventory),
            haproxy: json::Haproxy {
                socket: ctx.haproxy.socket.display().to_string(),
                error: haproxy_problem,
            },
            containers: statuses.iter().map(json::Container::new).collect(),
            problems: problems.clone(),
        })?;
    } else {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "project    {} (service {})",
            project.id.display(),
            project.service.name
        );
        let _ = writeln!(out, "checkout   {checkout}");
        if let Some(w) = &watcher {
            let _ = writeln!(
                out,
                "watching   since {} (pid {}, {})",
                crate::state::age(w.since),
                w.pid,
                if w.background {
                    "in the background: `git osa logs --watch` shows it"
                } else {
                    "on a terminal"
                }
            );
        }
        match source {
            Source::Inventory(p) => {
                let _ = writeln!(out, "inventory  {}", p.display());
            }
            Source::ContainerNames => {
                let _ = writeln!(
                    out,
                    "inventory  none at {}; containers matched by name",
                    ctx.global.inventory.display()
                );
            }
        }
        if let Some(e) = &haproxy_problem {
            let _ = writeln!(out, "haproxy    {e}");
        }
        for st in &statuses {
            status::render(&mut out, st);
        }
        print!("{out}");
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut err = Error::user(problems.remove(0));
    for p in problems {
        err = err.hint(p);
    }
    Err(err)
}
