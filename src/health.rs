//! Waiting until production is healthy again: the units active (systemd) and their
//! HAProxy servers UP (the load balancer's own health check, the one that decides where
//! traffic goes).

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::haproxy::Haproxy;
use crate::haproxy::ServerRef;
use crate::transport::Target;
use crate::ui::Ui;

pub const TIMEOUT: Duration = Duration::from_secs(180);

/// Returns false when `stop` turned true before production was healthy.
pub fn wait(
    stop: &dyn Fn() -> bool,
    ui: &Ui,
    target: &Target,
    haproxy: &Haproxy,
    units: &[String],
    servers: &[ServerRef],
) -> Result<bool> {
    let _p = ui.progress("waiting for production to be healthy");
    let start = Instant::now();
    let mut units_ok = units.is_empty();
    loop {
        if !units_ok {
            let mut argv = vec!["systemctl".to_string(), "is-active".into()];
            argv.extend(units.iter().cloned());
            let out = target.output(&argv, None)?;
            let states = String::from_utf8_lossy(&out.stdout).to_string();
            if states.lines().any(|l| l.trim() == "failed") {
                let mut jargv = vec![
                    "journalctl".to_string(),
                    "--no-pager".into(),
                    "-n".into(),
                    "15".into(),
                ];
                for u in units {
                    jargv.extend(["-u".into(), u.clone()]);
                }
                let log = target
                    .output(&jargv, None)
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                return Err(Error::failed(format!(
                    "a production unit failed to start in {}: {}\n{log}",
                    target.name,
                    units.join(", ")
                ))
                .hint("fix the cause (see the journal above), then run `git osa restore` again"));
            }
            units_ok = out.status.success();
        }
        let servers_ok = servers.is_empty() || {
            let all = haproxy.servers()?;
            servers.iter().all(|d| {
                all.iter()
                    .any(|s| s.backend == d.backend && s.name == d.server && s.is_up())
            })
        };
        if units_ok && servers_ok {
            return Ok(true);
        }
        if stop() {
            return Ok(false);
        }
        if start.elapsed() > TIMEOUT {
            return Err(Error::failed(format!(
                "production in {} is not healthy after {} s (units active: {units_ok}, HAProxy servers UP: {servers_ok})",
                target.name,
                TIMEOUT.as_secs()
            ))
            .hint("look at `git osa status` and the units' journal; `git osa restore` can be run again"));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
