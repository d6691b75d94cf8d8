//! `git osa doctor`: the host's checks, then, from a checkout, those of each container of
//! its service; one line each on stdout (with `-q` only the failures), and exit 1 when one
//! failed, as a command that failed does: scripts and CI can gate a run on it. With
//! `--json`, one document of every check instead, and the same exit status.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::DoctorArgs;
use crate::context::Context;
use crate::doctor::{self, Report};
use crate::error::{Error, Result};
use crate::json;

pub fn run(ctx: &Context, args: &DoctorArgs) -> Result<ExitCode> {
    let host = doctor::judge_host(&doctor::read_host(ctx));
    let containers = || match containers(ctx) {
        Ok(reports) => reports,
        Err(why) => vec![Report {
            target: None,
            name: "containers".into(),
            verdict: doctor::Verdict::Skip(why),
        }],
    };
    let (failed, total) = if args.json {
        let mut reports = host;
        reports.extend(containers());
        json::print(&json::Doctor::new(&reports))?;
        let failed = reports.iter().filter(|r| r.failed()).count();
        (failed, reports.len())
    } else {
        // The host's lines first, while the containers are read.
        let mut shown = Shown::new(ctx.ui.quiet());
        shown.add(host)?;
        shown.add(containers())?;
        (shown.failed, shown.total)
    };
    if failed == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    Err(
        Error::failed(format!("{failed} of {total} checks failed")).hint(if args.json {
            "each failed check says how to fix it (`fix`); run `git osa doctor` again after"
        } else {
            "each FAIL line above says how to fix it; run `git osa doctor` again after"
        }),
    )
}

/// The checks of the checkout's service's containers, or why there are none to check.
fn containers(ctx: &Context) -> std::result::Result<Vec<Report>, String> {
    let project = ctx
        .project()
        .map_err(|e| format!("{e} (run doctor from a checkout to check its containers)"))?;
    let service = &project.service;
    let (placements, _) = ctx.placements(service).map_err(|e| e.to_string())?;
    let mut reports = Vec::new();
    for p in &placements {
        let name = &p.host.container_name;
        let _progress = ctx.ui.progress(&format!("checking {name}"));
        match doctor::read_container(ctx, service, &p.host) {
            Ok(facts) => reports.extend(doctor::judge_container(&facts)),
            Err(e) => reports.push(Report {
                target: Some(name.clone()),
                name: "running".into(),
                verdict: doctor::Verdict::Fail {
                    found: format!("cannot read it: {e}"),
                    fix: format!("try `lxc-attach -n {name} -- true` by hand"),
                },
            }),
        }
    }
    Ok(reports)
}

/// The reports printed so far.
struct Shown {
    quiet: bool,
    total: usize,
    failed: usize,
}

impl Shown {
    fn new(quiet: bool) -> Shown {
        Shown {
            quiet,
            total: 0,
            failed: 0,
        }
    }

    fn add(&mut self, reports: Vec<Report>) -> Result<()> {
        let mut out = std::io::stdout().lock();
        for r in reports {
            self.total += 1;
            if r.failed() {
                self.failed += 1;
            } else if self.quiet {
                continue;
            }
            out.write_all(r.render().as_bytes())?;
        }
        out.flush()?;
        Ok(())
    }
}
