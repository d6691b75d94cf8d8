//! The service's environment in its container, for the developer's own commands (`git osa
//! exec`, `git osa shell`, the tests of `git osa test`): as the service's user (the unit's
//! `User=`), with the unit's `Environment=`, the service's venv active (`VIRTUAL_ENV`, its
//! `bin` first on `PATH`) and, during a dev session, in the synced tree, where the
//! project's package is the checkout; without a session, on production's venv, in the
//! unit's working directory (or the user's home).
//!
//! The command runs in a transient scope of its own: a signal git-osa gets (a Ctrl-C
//! without a terminal, which `lxc-attach` does not pass on) stops the scope there, so
//! nothing of it is left running once git-osa has ended. On a terminal, the terminal is
//! the command's (over ssh, `ssh -tt`): Ctrl-C reaches it as a key.

use std::process::{ExitCode, Stdio};
use std::time::Duration;

use crate::context::{Context, Placement};
use crate::error::{Error, Result};
use crate::layout::{FACTS, Paths};
use crate::lxc::LxcState;
use crate::probe;
use crate::select;
use crate::session::{self, Session};
use crate::signals::Interrupts;
use crate::systemd;
use crate::transport::Target;

/// Enters the service's environment and runs the rest of the argv there. Its arguments:
/// the user, the venv, the folders put first on `PATH` (colon-separated), the folder to
/// start in (empty: the user's home), then the unit's `NAME=VALUE` words and the command,
/// which always starts with `sh` (never a `NAME=VALUE` that env would take for one).
const ENTER: &str = r#"
user=$1 venv=$2 bins=$3 dir=$4; shift 4
home=$(getent passwd "$user" | cut -d: -f6)
[ -n "$dir" ] || dir=${home:-/}
cd "$dir" || exit 125
exec runuser -u "$user" -- env HOME="${home:-/}" USER="$user" LOGNAME="$user" VIRTUAL_ENV="$venv" PATH="$bins:$PATH" "$@"
"#;

/// The command itself, past `env`'s assignments.
const THEN: &str = r#"exec "$@""#;

/// Where and as whom the developer's commands run.
pub struct Inside {
    pub target: Target,
    pub paths: Paths,
    /// The dev session of the container, when it is in one.
    pub session: Option<Session>,
    pub user: String,
    /// The service's venv: the session's (the checkout installed in it), or production's.
    pub venv: String,
    /// Where commands start: the synced tree in a session; else the unit's working
    /// directory, or the user's home when empty.
    pub dir: String,
    /// The unit's `Environment=` entries.
    pub env: Vec<String>,
}

impl Inside {
    /// The service's environment in the container in dev mode (the one named, or the only
    /// one); without one, in the container named or chosen, on production's code.
    pub fn find(ctx: &Context, container: Option<&str>) -> Result<Inside> {
        let project = ctx.project()?;
        let service = project.service.clone();
        let (placements, _) = ctx.placements(&service)?;
        let candidates: Vec<&Placement> = match container {
            Some(c) => vec![select::named(&service, &placements, c)?],
            None => placements.iter().collect(),
        };
        let paths = Paths::new(&service.name);
        let mut in_dev = Vec::new();
        for p in candidates {
            if !p.host.metal && ctx.lxc(&p.host).state(&p.host.container_name)? != LxcState::Running
            {
                continue;
            }
            let target = ctx.target(&p.host);
            if let Some(s) = session::find::read(&target, &paths)? {
                in_dev.push((p.clone(), target, s));
            }
        }
        let (placement, target, session) = match in_dev.len() {
            0 => {
                let p = select::choose(&ctx.ui, &service, &placements, container)?;
                select::running(&ctx.lxc(&p.host), &p)?;
                let t = ctx.target(&p.host);
                (p, t, None)
            }
            1 => {
                let (p, t, s) = in_dev.remove(0);
                (p, t, Some(s))
            }
            _ => {
                let names: Vec<String> = in_dev.iter().map(|d| d.1.name.clone()).collect();
                return Err(Error::user(format!(
                    "several containers of {} are in dev mode: {}",
                    service.name,
                    names.join(", ")
                ))
                .hint("name one with --container"));
            }
        };
        let units: Vec<String> = placement.units.iter().map(|u| u.name.clone()).collect();
        let venv_glob = format!("/openstack/venvs/{}-*", service.venv_name());
        let p = probe::probe(&target, &units, &[FACTS.to_string()], &venv_glob)?;
        let info = placement
            .units
            .iter()
            .filter_map(|u| p.unit(&u.name))
            .find(|i| i.exists() && !i.is_job());
        let venv = match session.as_ref().and_then(|s| s.venv.clone()) {
            Some(v) => v,
            None => crate::survey::choose_venv(&service, &p).map_err(|found| {
                Error::user(format!(
                    "{} has {} /openstack/venvs/{}-* venv{}",
                    target.name,
                    if found.is_empty() {
                        "no"
                    } else {
                        "more than one"
                    },
                    service.venv_name(),
                    if found.is_empty() {
                        String::new()
                    } else {
                        format!(" ({}) and {FACTS} does not say which", found.join(", "))
                    }
                ))
            })?,
        };
        let dir = match &session {
            Some(_) => paths.src(),
            None => info
                .and_then(|i| i.working_directory.clone())
                .map(|w| w.trim_start_matches(['-', '!', '~']).to_string())
                .unwrap_or_default(),
        };
        Ok(Inside {
            user: info
                .and_then(|i| i.user.clone())
                .unwrap_or_else(|| service.user.clone()),
            env: info.map(|i| i.environment.clone()).unwrap_or_default(),
            target,
            paths,
            session,
            venv,
            dir,
        })
    }

    /// Where a command runs, as the user is told before it does.
    pub fn describe(&self) -> String {
        let place = match &self.session {
            Some(s) => format!(
                "in {} (the dev session's tree{})",
                self.dir,
                s.checkout
                    .as_deref()
                    .map(|c| format!(", from {c}"))
                    .unwrap_or_default()
            ),
            None if self.dir.is_empty() => {
                "in the user's home, on production's code (no dev session)".to_string()
            }
            None => format!("in {}, on production's code (no dev session)", self.dir),
        };
        format!(
            "in {} as {}, venv {}, {place}",
            self.target.name, self.user, self.venv
        )
    }

    /// The transient scope a command of this git-osa runs in.
    pub fn scope(&self) -> String {
        format!(
            "git-osa-exec-{}-{}.scope",
            self.paths.service,
            std::process::id()
        )
    }

    /// The argv that runs `command` inside, with `venv` active and `bins` first on
    /// `PATH`, `extra` added to the unit's environment, in [`Inside::scope`].
    pub fn argv(
        &self,
        venv: &str,
        bins: &str,
        extra: &[String],
        command: &[String],
    ) -> Vec<String> {
        let mut argv = crate::exec::scope_prefix(&self.scope());
        argv.push("--".into());
        argv.extend(crate::exec::sh(
            ENTER,
            "git-osa-enter",
            &[self.user.as_str(), venv, bins, &self.dir],
        ));
        argv.extend(self.env.iter().cloned());
        argv.extend(extra.iter().cloned());
        argv.extend(crate::exec::sh(THEN, "git-osa-exec", command));
        argv
    }

    /// The argv of `command` in the service's own venv.
    pub fn in_venv(&self, extra: &[String], command: &[String]) -> Vec<String> {
        self.argv(&self.venv, &format!("{}/bin", self.venv), extra, command)
    }

    /// Runs `argv` (an [`Inside::argv`]) with git-osa's stdin, stdout and stderr, on the
    /// terminal when there is one, and returns its exit status: its own, or 128+N when a
    /// signal N made git-osa stop it.
    pub fn run(&self, argv: &[String], terminal: bool) -> Result<ExitCode> {
        let interrupts = Interrupts::watch();
        let mut cmd = if terminal {
            self.target.terminal_command(argv)?
        } else {
            self.target.command(argv)?
        };
        cmd.stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().map_err(anyhow::Error::from)?;
        let mut stopped: Option<i32> = None;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(anyhow::Error::from)? {
                break status;
            }
            if let Some(sig) = interrupts.take()
                && stopped.is_none()
            {
                stopped = Some(sig);
                self.target
                    .run(&systemd::stop_scopes(&[self.scope()]), None)?;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(sig) = stopped {
            return Ok(ExitCode::from((128 + sig) as u8));
        }
        use std::os::unix::process::ExitStatusExt;
        Ok(match (status.code(), status.signal()) {
            (Some(code), _) => ExitCode::from(code.clamp(0, 255) as u8),
            (None, Some(sig)) => ExitCode::from((128 + sig) as u8),
            (None, None) => ExitCode::FAILURE,
        })
    }
}

/// `TERM` for a command on the user's terminal, as git-osa's own (`lxc-attach
/// --clear-env` starts from none).
pub fn term() -> Vec<String> {
    std::env::var("TERM")
        .ok()
        .filter(|t| !t.is_empty())
        .map(|t| vec![format!("TERM={t}")])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lxc::Lxc;

    fn inside(session: bool) -> Inside {
        Inside {
            target: Lxc::default().target("c1", false),
            paths: Paths::new("keystone"),
            session: session.then(Session::default),
            user: "keystone".into(),
            venv: "/openstack/venvs/keystone-30.0.0".into(),
            dir: if session {
                "/var/lib/git-osa/keystone/src".into()
            } else {
                String::new()
            },
            env: vec!["GREETING=hello world".into()],
        }
    }

    /// The user's words travel as arguments, never inside a script; a command that looks
    /// like an assignment is still the command.
    #[test]
    fn the_command_is_data_after_the_units_environment() {
        let i = inside(true);
        let cmd: Vec<String> = ["A=1", "it's; rm -rf /"].map(String::from).to_vec();
        let argv = i.in_venv(&["TERM=xterm".into()], &cmd);
        let scope = i.scope();
        assert_eq!(
            &argv[..6],
            [
                "systemd-run",
                "--scope",
                "--quiet",
                "--collect",
                &format!("--unit={scope}"),
                "--"
            ]
        );
        assert_eq!(&argv[6..8], ["sh", "-c"]);
        assert_eq!(argv[8], ENTER);
        assert_eq!(
            &argv[9..],
            [
                "git-osa-enter",
                "keystone",
                "/openstack/venvs/keystone-30.0.0",
                "/openstack/venvs/keystone-30.0.0/bin",
                "/var/lib/git-osa/keystone/src",
                "GREETING=hello world",
                "TERM=xterm",
                "sh",
                "-c",
                "exec \"$@\"",
                "git-osa-exec",
                "A=1",
                "it's; rm -rf /"
            ]
        );
    }

    #[test]
    fn the_user_is_told_where_and_on_which_code() {
        assert_eq!(
            inside(true).describe(),
            "in c1 as keystone, venv /openstack/venvs/keystone-30.0.0, in /var/lib/git-osa/keystone/src (the dev session's tree)"
        );
        assert_eq!(
            inside(false).describe(),
            "in c1 as keystone, venv /openstack/venvs/keystone-30.0.0, in the user's home, on production's code (no dev session)"
        );
    }

    /// The script itself, on this host: as the user, in the folder, the venv first on
    /// PATH, the unit's environment set, the command's words intact. Not root, git-osa
    /// cannot be another user: the test's own user stands in, through a `runuser` that
    /// checks its words and runs the rest.
    #[test]
    fn enter_runs_the_command_as_the_user_in_the_folder_with_the_venv_first() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let mut sh = std::process::Command::new("sh");
        let user = if unsafe { libc::geteuid() } == 0 {
            "nobody".to_string()
        } else {
            let runuser = bin.path().join("runuser");
            std::fs::write(
                &runuser,
                "#!/bin/sh\n[ \"$1\" = -u ] && [ \"$3\" = -- ] || exit 99\nshift 3\nexec \"$@\"\n",
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&runuser, std::fs::Permissions::from_mode(0o755)).unwrap();
            let path = std::env::var("PATH").unwrap_or_default();
            sh.env("PATH", format!("{}:{path}", bin.path().display()));
            let id = std::process::Command::new("id")
                .arg("-un")
                .output()
                .unwrap();
            String::from_utf8_lossy(&id.stdout).trim().to_string()
        };
        let out = sh
            .args(["-c", ENTER, "git-osa-enter", &user, "/v", "/v/bin", d])
            .args(["GREETING=hello world", "sh", "-c", THEN, "x"])
            .args([
                "sh",
                "-c",
                r#"printf '%s|%s|%s|%s|%s|%s\n' "$(id -un)" "$(pwd)" "${PATH%%:*}" "$VIRTUAL_ENV" "$GREETING" "$1""#,
                "probe",
                "A=1 it's",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{user}|{d}|/v/bin|/v|hello world|A=1 it's\n")
        );
    }
}
