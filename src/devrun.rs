//! The dev process: the production unit's own command, run in the foreground as the unit's
//! user, inside a transient systemd scope (`git-osa-dev-<unit>.scope`) in the container.
//!
//! The scope is what makes stopping reliable: `lxc-attach` does not forward signals and,
//! without a terminal, ignores SIGINT, leaving the process running in the container. So
//! on SIGINT/SIGTERM/SIGHUP git-osa stops the scope (systemd kills every process in it
//! with the unit's own KillSignal) and always checks afterwards that nothing is left. On
//! a terminal with one unit, `lxc-attach` gets the terminal and allocates a pty: Ctrl-C
//! and pdb reach the service directly.
//!
//! While it runs, HAProxy traffic is pinned to the target: once the target's server is
//! UP (its health check passes against the dev code), the backend's other servers are
//! disabled; they are enabled again when the dev process stops.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::error::{Error, Result};
use crate::haproxy::Change;
use crate::lxc::Target;
use crate::plan::{Record, Runner};
use crate::state::Disabled;
use crate::systemd::UnitInfo;

/// One unit's dev process.
#[derive(Debug, Clone)]
pub struct DevUnit {
    pub unit: String,
    pub scope: String,
    pub argv: Vec<String>,
    pub user: String,
}

/// The target's server was drained and its health forced down before the swap: once a
/// health check passes again (against the dev code), it takes traffic and the `others`
/// are put in maintenance.
#[derive(Debug, Clone)]
pub struct Pin {
    pub backend: String,
    pub target: String,
    pub others: Vec<String>,
}

/// The argv that runs `info`'s command like systemd would, in a scope named `scope`.
pub fn dev_argv(info: &UnitInfo, scope: &str) -> Vec<String> {
    let user = info.user.clone().unwrap_or_else(|| "root".into());
    let mut argv: Vec<String> = vec![
        "systemd-run".into(),
        "--scope".into(),
        "--quiet".into(),
        "--collect".into(),
        format!("--unit={scope}"),
        "-p".into(),
        format!(
            "KillSignal={}",
            info.kill_signal.as_deref().unwrap_or("SIGTERM")
        ),
        "-p".into(),
        "TimeoutStopSec=15".into(),
        "--".into(),
        "runuser".into(),
        "-u".into(),
        user,
    ];
    if let Some(g) = &info.group {
        argv.extend(["-g".into(), g.clone()]);
    }
    argv.extend(["--".into(), "env".into()]);
    if let Some(wd) = &info.working_directory {
        argv.extend([
            "-C".into(),
            wd.trim_start_matches(['-', '!', '~']).to_string(),
        ]);
    }
    argv.push("PYTHONUNBUFFERED=1".into());
    argv.extend(info.environment.iter().cloned());
    argv.extend(info.exec_start.iter().cloned());
    argv
}

/// Stops the scopes that are still active; nothing of the dev run is left afterwards.
pub fn stop_scopes(target: &Target, scopes: &[String]) -> Result<()> {
    target.run(&stop_scopes_argv(scopes), None)?;
    Ok(())
}

/// Stops those of `scopes` that are active. A scope that ends on its own meanwhile (a
/// pip dying on its closed pipe) is not an error: it is what stopping it wanted.
pub fn stop_scopes_argv(scopes: &[String]) -> Vec<String> {
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        r#"for u; do if systemctl is-active -q "$u"; then systemctl stop "$u"; fi; done; exit 0"#
            .into(),
        "git-osa-stop".into(),
    ];
    argv.extend(scopes.iter().cloned());
    argv
}

pub struct Outcome {
    /// The dev process's exit code, or 128+signal when git-osa was told to stop.
    pub code: i32,
    pub signal: Option<i32>,
}

pub fn run(
    runner: &mut Runner,
    target: &Target,
    units: &[DevUnit],
    pins: Vec<Pin>,
) -> Result<Outcome> {
    let ui = runner.ui;
    let scopes: Vec<String> = units.iter().map(|u| u.scope.clone()).collect();
    runner.record(
        target,
        &[
            Record::DevUnits(scopes.clone()),
            Record::Mark("dev process started"),
        ],
    )?;
    let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("installing signal handlers")?;
    let handle = signals.handle();
    let mut signals = signals;
    let on_terminal = ui.interactive && units.len() == 1;
    let mut children: Vec<(String, Child)> = Vec::new();
    for u in units {
        ui.step(format!(
            "running {} as {} in {} (Ctrl-C stops it){}",
            u.unit,
            u.user,
            target.name,
            if units.len() > 1 {
                "; each of their log lines starts with the unit"
            } else {
                ""
            }
        ));
        let mut cmd = target.command(&u.argv);
        cmd.stdin(if on_terminal {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
        let several = units.len() > 1;
        if several {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", target.describe(&u.argv)))?;
        if several {
            prefix_lines(&u.unit, child.stdout.take());
            prefix_lines(&u.unit, child.stderr.take());
        }
        children.push((u.unit.clone(), child));
    }

    let mut pins = pins;
    let mut pinned: Vec<Disabled> = Vec::new();
    let mut stop_at: Option<Instant> = None;
    let mut got_signal: Option<i32> = None;
    let mut exit_code: Option<i32> = None;
    let mut last_pin_check = Instant::now() - Duration::from_secs(1);
    loop {
        if let Some(sig) = signals.pending().next()
            && got_signal.is_none()
        {
            got_signal = Some(sig);
            ui.step(format!("stopping the dev process ({})", signal_name(sig)));
            stop_at = Some(Instant::now());
            stop_quietly(ui, target, &scopes);
        }
        let mut all_done = true;
        for (unit, child) in children.iter_mut() {
            match child.try_wait()? {
                Some(status) => {
                    if exit_code.is_none() {
                        exit_code = Some(status.code().unwrap_or(1));
                        if got_signal.is_none() {
                            ui.step(format!("{unit} exited ({status})"));
                        }
                    }
                }
                None => all_done = false,
            }
        }
        if all_done {
            break;
        }
        // One unit ended on its own: end the others too, the run is over.
        if exit_code.is_some() && stop_at.is_none() {
            stop_at = Some(Instant::now());
            stop_quietly(ui, target, &scopes);
        }
        if let Some(t) = stop_at
            && t.elapsed() > Duration::from_secs(30)
        {
            for (_, child) in children.iter_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
            break;
        }
        if stop_at.is_none()
            && !pins.is_empty()
            && last_pin_check.elapsed() >= Duration::from_millis(250)
        {
            last_pin_check = Instant::now();
            match runner.haproxy.servers() {
                Ok(servers) => {
                    let (ready, waiting): (Vec<Pin>, Vec<Pin>) = pins.into_iter().partition(|p| {
                        servers
                            .iter()
                            .any(|s| s.backend == p.backend && s.name == p.target && s.is_healthy())
                    });
                    pins = waiting;
                    for p in ready {
                        match pin_traffic(runner, target, &p, &mut pinned) {
                            Ok(()) => ui.step(format!(
                                "HAProxy: {} is UP with the dev code; all of {} now goes to it ({} disabled)",
                                p.target,
                                p.backend,
                                p.others.join(", ")
                            )),
                            Err(e) => ui.warn(format!(
                                "HAProxy: {e}; traffic of {} is not pinned to {}",
                                p.backend, p.target
                            )),
                        }
                    }
                }
                Err(e) => {
                    ui.warn(format!(
                        "HAProxy: {e}; traffic is not pinned to {}",
                        target.name
                    ));
                    pins.clear();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    handle.close();
    // Whatever ended the run, nothing of it may stay in the container, and the other
    // servers take traffic again; a failure here is reported after every cleanup ran.
    let mut failed: Option<Error> = stop_scopes(target, &scopes).err();
    for d in &pinned {
        match runner.haproxy.set(&d.backend, &d.server, Change::Ready) {
            Ok(()) => runner.record(target, &[Record::Enable(d.clone())])?,
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    if let Some(e) = failed {
        return Err(e.hint("`git osa restore` stops what is left and puts HAProxy back"));
    }
    if !pinned.is_empty() {
        let names: Vec<&str> = pinned.iter().map(|d| d.server.as_str()).collect();
        ui.step(format!("HAProxy: {} enabled again", names.join(", ")));
    }
    runner.record(target, &[Record::DevUnits(Vec::new())])?;
    Ok(Outcome {
        code: match got_signal {
            Some(sig) => 128 + sig,
            None => exit_code.unwrap_or(0),
        },
        signal: got_signal,
    })
}

/// The target takes traffic, the others none; their maintenance is recorded before it is made.
fn pin_traffic(
    runner: &mut Runner,
    target: &Target,
    p: &Pin,
    pinned: &mut Vec<Disabled>,
) -> Result<()> {
    let server = |name: &str| Disabled {
        backend: p.backend.clone(),
        server: name.to_string(),
    };
    // One record, written before the others are touched: the target takes traffic, the
    // others are (about to be) in maintenance.
    let mut records = vec![Record::Enable(server(&p.target))];
    records.extend(p.others.iter().map(|o| Record::Disable(server(o))));
    runner.haproxy.set(&p.backend, &p.target, Change::Ready)?;
    runner.record(target, &records)?;
    for other in &p.others {
        runner.haproxy.set(&p.backend, other, Change::Maint)?;
        pinned.push(server(other));
    }
    Ok(())
}

/// With several units running at once, each line of their output says whose it is.
fn prefix_lines(unit: &str, stream: Option<impl std::io::Read + Send + 'static>) {
    let Some(stream) = stream else { return };
    let unit = unit.to_string();
    std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        for line in std::io::BufReader::new(stream)
            .split(b'\n')
            .map_while(|l| l.ok())
        {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{unit}| ");
            let _ = err.write_all(&line);
            let _ = err.write_all(b"\n");
        }
    });
}

fn stop_quietly(ui: &crate::ui::Ui, target: &Target, scopes: &[String]) {
    if let Err(e) = stop_scopes(target, scopes) {
        ui.warn(format!("could not stop the dev process yet: {e}"));
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_argv_keeps_the_units_command_user_and_environment() {
        let info = UnitInfo {
            user: Some("keystone".into()),
            group: Some("keystone".into()),
            exec_start: vec![
                "/v/bin/uwsgi".into(),
                "--ini".into(),
                "/etc/uwsgi/k.ini".into(),
            ],
            environment: vec!["A=1".into()],
            kill_signal: Some("SIGQUIT".into()),
            working_directory: Some("-/var/lib/keystone".into()),
            ..Default::default()
        };
        let argv = dev_argv(&info, "git-osa-dev-k.scope");
        let text = argv.join(" ");
        assert!(text.starts_with(
            "systemd-run --scope --quiet --collect --unit=git-osa-dev-k.scope -p KillSignal=SIGQUIT"
        ));
        assert!(text.ends_with(
            "-- runuser -u keystone -g keystone -- env -C /var/lib/keystone PYTHONUNBUFFERED=1 A=1 /v/bin/uwsgi --ini /etc/uwsgi/k.ini"
        ));
    }
}
