//! The journal of units in a target, read with journalctl there: the dev units' records
//! as `git osa logs` and `git osa watch` print them (JSON, so that with several units each
//! line says whose it is), followed as they come, and the end of a unit's journal for an
//! error message.
//!
//! Following runs journalctl in a transient scope: `lxc-attach` forwards no signal, so
//! [`Following::stop`] stops that scope; and journalctl ends when git-osa's pipe to it
//! closes, so a git-osa killed outright leaves nothing following in the container either.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

use anyhow::Context as _;

use crate::error::Result;
use crate::exec;
use crate::layout::{self, Paths};
use crate::transport::Target;

/// The last `lines` lines of `units`' journal in `target`, their messages only; empty when
/// it cannot be read (it only adds to an error that is reported anyway).
pub fn tail(target: &Target, units: &[String], lines: u32) -> String {
    let mut argv = vec![
        "journalctl".to_string(),
        "--no-pager".into(),
        "-o".into(),
        "cat".into(),
        "-n".into(),
        lines.to_string(),
    ];
    for u in units {
        argv.extend(["-u".into(), u.clone()]);
    }
    target
        .output(&argv, None)
        .map(|o| String::from_utf8_lossy(&o.stdout).trim_end().to_string())
        .unwrap_or_default()
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
        let mut full = exec::scope_prefix(&scope);
        full.push("--".into());
        full.extend(exec::sh(DIES_WITH_US, "git-osa-logs", &argv));
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

/// journalctl's argv: the units' records as JSON, only the fields printed.
pub fn argv(services: &[String], since: Option<&str>, follow: bool) -> Vec<String> {
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
pub fn print_records(data: &[u8], several: bool) -> std::io::Result<()> {
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
        let argv = argv(&["a.service".into()], Some("10 min ago; rm -rf /"), true);
        assert!(argv.contains(&"--since=10 min ago; rm -rf /".to_string()));
        assert_eq!(argv.last().unwrap(), "-f");
        assert!(argv.windows(2).any(|w| w == ["-u", "a.service"]));
    }
}
