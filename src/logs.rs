//! `git osa logs`: the detached dev units' output, from the journal in the container
//! (`journal.rs` reads it), or the hooks' and the background watcher's logs on the host.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::journal::{self, Following, print_records};
use crate::layout;
use crate::session;
use crate::signals::Interrupts;

/// The journal of the dev units of the session in `container` (or the only one): those
/// `units` names, else those running detached, else all of the service's; `follow`s it
/// until Ctrl-C or until stdout goes away.
pub fn units(
    ctx: &Context,
    container: Option<&str>,
    units: &[String],
    since: Option<&str>,
    follow: bool,
) -> Result<ExitCode> {
    let dev = session::find::find(ctx, container)?;
    let names: Vec<&str> = dev
        .placement
        .units
        .iter()
        .map(|u| u.name.as_str())
        .collect();
    for u in units {
        if !names.contains(&u.as_str()) {
            return Err(Error::user(format!(
                "{u} is not a unit of {} in {}",
                dev.project.service.name, dev.target.name
            ))
            .hint(format!("its units: {}", names.join(", "))));
        }
    }
    let services: Vec<String> = if !units.is_empty() {
        units.iter().map(|u| layout::dev_service(u)).collect()
    } else if !dev.services().is_empty() {
        dev.services()
    } else {
        names.iter().map(|u| layout::dev_service(u)).collect()
    };
    let argv = journal::argv(&services, since, follow);
    let several = services.len() > 1;
    if !follow {
        let out = dev.target.run(&argv, None)?;
        print_records(&out.stdout, several)?;
        return Ok(ExitCode::SUCCESS);
    }
    let interrupts = Interrupts::watch();
    let mut following = Following::start(&dev.target, &dev.paths, argv, several)?;
    loop {
        if let Some(status) = following.ended()? {
            if status.success() {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(Error::failed(format!(
                "journalctl in {} ended ({status})",
                dev.target.name
            )));
        }
        if let Some(sig) = interrupts.take() {
            following.stop();
            return Ok(ExitCode::from(128 + sig as u8));
        }
        if following.printer_gone() {
            // Our stdout is gone (a pager quit): stop following.
            following.stop();
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The hooks' redeploy log, or the background watcher's (`watch`), on the host; `follow`s
/// it as it grows.
pub fn host_log(ctx: &Context, follow: bool, watch: bool) -> Result<ExitCode> {
    use std::io::{Read, Seek, SeekFrom};
    let hooks = crate::hooks::Hooks::of(&ctx.cwd)?;
    let path = if watch {
        crate::watch::log_file(&hooks.state)
    } else {
        hooks.log()
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => {
            ctx.ui.step(format!(
                "no {} has run in this checkout yet ({} does not exist)",
                if watch {
                    "`git osa watch --detach`"
                } else {
                    "hook redeploy"
                },
                path.display()
            ));
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => {
            return Err(anyhow::Error::from(e)
                .context(format!("reading {}", path.display()))
                .into());
        }
    };
    let interrupts = Interrupts::watch();
    let mut out = std::io::stdout().lock();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        file.read_to_end(&mut buf)?;
        out.write_all(&buf)?;
        out.flush()?;
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(sig) = interrupts.take() {
            return Ok(ExitCode::from(128 + sig as u8));
        }
        let pos = file.stream_position()?;
        std::thread::sleep(Duration::from_millis(200));
        file.seek(SeekFrom::Start(pos))?;
    }
}
