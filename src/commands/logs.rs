//! `git osa logs`: the detached dev units' output, from the journal in the container.
//!
//! journalctl prints JSON records (unit and message), so that with several units each
//! line says whose it is. `-f` runs journalctl in a transient scope: `lxc-attach`
//! forwards no signal, so on Ctrl-C git-osa stops that scope; and journalctl ends when
//! git-osa's pipe to it closes, so a git-osa killed outright leaves nothing following in
//! the container either.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ExitCode, Stdio};
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::LogsArgs;
use crate::context::Context;
use crate::detach;
use crate::error::{Error, Result};
use crate::layout::{self, Paths};
use crate::signals::Interrupts;
use crate::transport::Target;

pub fn run(ctx: &Context, args: &LogsArgs) -> Result<ExitCode> {
    if args.hooks || args.watch {
        return host_log(ctx, args.follow, args.watch);
    }
    let dev = detach::find(ctx, args.container.as_deref())?;
    let names: Vec<&str> = dev
        .placement
        .units
        .iter()
        .map(|u| u.name.as_str())
        .collect();
    for u in &args.units {
        if !names.contains(&u.as_str()) {
            return Err(Error::user(format!(
                "{u} is not a unit of {} in {}",
                dev.project.service.name, dev.target.name
            ))
            .hint(format!("its units: {}", names.join(", "))));
        }
    }
    let services: Vec<String> = if !args.units.is_empty() {
        args.units.iter().map(|u| layout::dev_service(u)).collect()
    } else if !dev.services().is_empty() {
        dev.services()
    } else {
        names.iter().map(|u| layout::dev_service(u)).collect()
    };
    let argv = journal_argv(&services, args.since.as_deref(), args.follow);
    let several = services.len() > 1;
    if !args.follow {
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

/// journalctl following the dev units in the container, its records printed on stdout
/// as they come (also what `git osa watch` shows on its terminal).
pub struct Following {
    target: Target,
    scope: String,
    child: Child,
    printer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    /// journalctl's lifeline: closed when git-osa ends, however it ends.
    _alive: Option<std::process::ChildStdin>,
}

/// Runs journalctl (its argv) until git-osa's end closes stdin: a git-osa killed with
/// SIGKILL, which cannot stop the scope, leaves nothing following in the container.
const DIES_WITH_US: &str = r#""$@" & j=$!; cat >/dev/null; kill "$j" 2>/dev/null; exit 0"#;

impl Following {
    /// Starts `argv` (a following journalctl) in a transient scope of its own.
    pub fn start(
        target: &Target,
        paths: &Paths,
        argv: Vec<String>,
        several: bool,
    ) -> Result<Following> {
        let scope = layout::logs_scope(&paths.service, std::process::id());
        let mut full = crate::exec::scope_prefix(&scope);
        full.push("--".into());
        full.extend(crate::exec::sh(DIES_WITH_US, "git-osa-logs", &argv));
        let mut child = target
            .command(&full)?
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // No terminal at all: lxc-attach given one (stderr too) puts it in raw mode,
            // and a Ctrl-C at it would no longer be a SIGINT for git-osa.
            .stderr(Stdio::null())
            .spawn()
            .context("starting journalctl in the container")?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let alive = child.stdin.take();
        let printer = std::thread::spawn(move || -> std::io::Result<()> {
            for line in BufReader::new(stdout).split(b'\n') {
                print_records(&line?, several)?;
            }
            Ok(())
        });
        Ok(Following {
            target: target.clone(),
            scope,
            child,
            printer: Some(printer),
            _alive: alive,
        })
    }

    /// How journalctl ended, once it has (its output all printed).
    pub fn ended(&mut self) -> Result<Option<std::process::ExitStatus>> {
        let status = self.child.try_wait()?;
        if status.is_some()
            && let Some(p) = self.printer.take()
        {
            let _ = p.join();
        }
        Ok(status)
    }

    /// The printer stopped early: stdout is gone.
    pub fn printer_gone(&self) -> bool {
        self.printer.as_ref().is_some_and(|p| p.is_finished())
    }

    /// Stops journalctl's scope in the container: nothing of it goes on following.
    pub fn stop(mut self) {
        let _ = self
            .target
            .run(&crate::systemd::stop_scopes(&[self.scope.clone()]), None);
        let _ = self.child.wait();
        if let Some(p) = self.printer.take() {
            let _ = p.join();
        }
    }
}

/// The hooks' redeploy log, or the background watcher's, on the host; `-f` follows it as it grows.
fn host_log(ctx: &Context, follow: bool, watch: bool) -> Result<ExitCode> {
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

/// journalctl's argv: the units' records as JSON, only the fields printed.
pub fn journal_argv(services: &[String], since: Option<&str>, follow: bool) -> Vec<String> {
    let mut argv = vec![
        "journalctl".to_string(),
        "--no-pager".into(),
        "--quiet".into(),
        "-o".into(),
        "json".into(),
        "--output-fields=_SYSTEMD_UNIT,UNIT,MESSAGE".into(),
    ];
    for s in services {
        argv.extend(["-u".into(), s.clone()]);
    }
    if let Some(t) = since {
        argv.push(format!("--since={t}"));
    }
    if follow {
        argv.push("-f".into());
    }
    argv
}

/// Prints journal records (one JSON object a line) as their messages, each prefixed with
/// its unit (without git-osa's `git-osa-dev-` and `.service`) when `several`.
fn print_records(data: &[u8], several: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for line in data.split(|&b| b == b'\n') {
        if let Some((unit, message)) = record(line) {
            if several {
                write!(out, "{unit}| ")?;
            }
            out.write_all(&message)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

/// The unit and message of one journal record; None for what is not one.
pub fn record(line: &[u8]) -> Option<(String, Vec<u8>)> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    let unit = v
        .get("_SYSTEMD_UNIT")
        .or_else(|| v.get("UNIT"))
        .and_then(|u| u.as_str())
        .unwrap_or("?");
    let unit = unit
        .strip_prefix("git-osa-dev-")
        .and_then(|u| u.strip_suffix(".service"))
        .unwrap_or(unit)
        .to_string();
    // journald gives a message that is not UTF-8 as an array of bytes.
    let message = match v.get("MESSAGE")? {
        serde_json::Value::String(s) => s.as_bytes().to_vec(),
        serde_json::Value::Array(bytes) => bytes
            .iter()
            .filter_map(|b| b.as_u64().map(|b| b as u8))
            .collect(),
        _ => return None,
    };
    Some((unit, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_records_give_their_unit_and_message_even_when_not_utf8() {
        let (unit, msg) =
            record(br#"{"_SYSTEMD_UNIT":"git-osa-dev-heat-api.service","MESSAGE":"GET /v1 200"}"#)
                .unwrap();
        assert_eq!(
            (unit.as_str(), msg.as_slice()),
            ("heat-api", &b"GET /v1 200"[..])
        );
        let (_, msg) = record(br#"{"_SYSTEMD_UNIT":"x.service","MESSAGE":[104,105,255]}"#).unwrap();
        assert_eq!(msg, [104, 105, 255]);
        assert!(record(b"").is_none());
        assert!(record(br#"{"_SYSTEMD_UNIT":"x.service"}"#).is_none());
    }

    #[test]
    fn since_and_follow_are_arguments_never_shell_text() {
        let argv = journal_argv(&["a.service".into()], Some("10 min ago; rm -rf /"), true);
        assert!(argv.contains(&"--since=10 min ago; rm -rf /".to_string()));
        assert_eq!(argv.last().unwrap(), "-f");
        assert!(argv.windows(2).any(|w| w == ["-u", "a.service"]));
    }
}
