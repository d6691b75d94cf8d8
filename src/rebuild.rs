//! `git osa rebuild`: the article's remedy for a container broken during development,
//! "destroy the sick container and let Ansible make it again", with the deployment's own
//! commands. Asked first (a prompt, or `--yes`); the container's dev session is restored
//! before (HAProxy's pins and the database are outside the container); then, on the
//! deploy host, the commands OSA documents for the deployment's release (its
//! `/etc/openstack-release`): the destroy playbook and the create playbook, then the
//! service's playbook, each `--limit`ed to the container, their output streamed; then
//! git-osa waits until the new container's units run and its HAProxy servers are UP, and
//! shows its status. `osa.rebuildCommand` replaces the commands.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::time::Duration;

use crate::context::{Context, Placement};
use crate::error::{Error, Result};
use crate::execute::Runner;
use crate::layout::Paths;
use crate::plan::{Action, Step};
use crate::restore::{self, Restore};
use crate::session::Session;
use crate::settings::Setting;
use crate::signals::Interrupts;
use crate::transport::shell_words;

/// What `git osa rebuild` asks.
pub struct Rebuild {
    pub container: Option<String>,
    pub yes: bool,
    pub dry_run: bool,
}

/// One command on the deploy host: its argv, run in `dir` when set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub dir: Option<String>,
    pub argv: Vec<String>,
}

impl Command {
    fn text(&self) -> String {
        match &self.dir {
            Some(d) => format!("cd {} && {}", shell_words(&[d]), shell_words(&self.argv)),
            None => shell_words(&self.argv),
        }
    }

    /// The host argv: the command itself, or a constant script that enters `dir` first.
    fn host_argv(&self) -> Vec<OsString> {
        let argv: Vec<String> = match &self.dir {
            None => self.argv.clone(),
            Some(d) => {
                let mut a =
                    crate::exec::sh(r#"cd "$1" && shift && exec "$@""#, "git-osa-rebuild", &[d]);
                a.extend(self.argv.iter().cloned());
                a
            }
        };
        argv.into_iter().map(OsString::from).collect()
    }
}

/// OSA's documented commands, from 2024.2 (30.0.0) on: the playbooks of the
/// `openstack.osa` collection.
const COLLECTION: [&str; 3] = [
    "openstack-ansible openstack.osa.containers_lxc_destroy --limit localhost,{container} -e force_containers_destroy=true -e force_containers_data_destroy=false",
    "openstack-ansible openstack.osa.containers_lxc_create --limit localhost,lxc_hosts,{container}",
    "openstack-ansible openstack.osa.{service} --limit localhost,{container}",
];

/// Before 2024.2: the playbooks' files, run from OSA's playbooks folder.
const PLAYBOOKS: [&str; 3] = [
    "openstack-ansible lxc-containers-destroy.yml --limit localhost,{container} -e force_containers_destroy=true -e force_containers_data_destroy=false",
    "openstack-ansible lxc-containers-create.yml --limit localhost,lxc_hosts,{container}",
    "openstack-ansible os-{service}-install.yml --limit localhost,{container}",
];
const PLAYBOOKS_DIR: &str = "/opt/openstack-ansible/playbooks";

/// The deployment's release, from `/etc/openstack-release` (`DISTRIB_RELEASE="29.1.0"`).
pub fn release(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.strip_prefix("DISTRIB_RELEASE=")
            .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

/// The commands, and where they come from (for the user): git config's when it names
/// some, else those OSA documents for `release`.
pub fn commands(
    configured: &[Setting<String>],
    release: Option<&str>,
    container: &str,
    service: &str,
) -> Result<(Vec<Command>, String)> {
    let fill = |line: &str| -> Vec<String> {
        crate::systemd::split_words(line)
            .into_iter()
            .map(|w| {
                w.replace("{container}", container)
                    .replace("{service}", service)
            })
            .collect()
    };
    if !configured.is_empty() {
        let mut out = Vec::new();
        for s in configured {
            let argv = fill(&s.value);
            if argv.is_empty() {
                return Err(Error::user(
                    "an osa.rebuildCommand value is empty (other than the first, which starts the list again): nothing was changed",
                ));
            }
            out.push(Command { dir: None, argv });
        }
        let from = configured
            .first()
            .and_then(|s| s.origin.hint("osa.rebuildCommand"))
            .unwrap_or_else(|| "git config osa.rebuildCommand".into());
        return Ok((out, format!("the commands of osa.rebuildCommand ({from})")));
    }
    let major: Option<u32> = release.and_then(|r| r.split('.').next()?.parse().ok());
    match major {
        Some(m) if m < 30 => Ok((
            PLAYBOOKS
                .iter()
                .map(|l| Command {
                    dir: Some(PLAYBOOKS_DIR.into()),
                    argv: fill(l),
                })
                .collect(),
            format!(
                "as OSA documents it before 2024.2 (this deployment is {}); git config osa.rebuildCommand changes them",
                release.unwrap_or_default()
            ),
        )),
        _ => Ok((
            COLLECTION
                .iter()
                .map(|l| Command {
                    dir: None,
                    argv: fill(l),
                })
                .collect(),
            format!(
                "as OSA documents it from 2024.2 on ({}); git config osa.rebuildCommand changes them",
                match release {
                    Some(r) => format!("this deployment is {r}"),
                    None => "no /etc/openstack-release says which release this is".into(),
                }
            ),
        )),
    }
}

/// How a rebuild ended.
pub enum Rebuilt {
    /// A dry run: what would run.
    Planned(String),
    /// Done: the status of the new container, and whether it needs attention.
    Done {
        status: String,
        problems: Vec<String>,
    },
}

pub fn rebuild(ctx: &Context, req: &Rebuild) -> Result<Rebuilt> {
    // Asked before anything is read: without a terminal, only --yes says yes.
    if !req.dry_run && !req.yes && !ctx.ui.interactive {
        return Err(Error::user(
            "git osa rebuild destroys a container: it asks first, on a terminal, and there is none: nothing was changed",
        )
        .hint("pass --yes to rebuild without asking, or --dry-run to see what it would run"));
    }
    let project = ctx.project()?;
    let service = &project.service;
    let (placements, _) = ctx.placements(service)?;
    let placement = crate::select::choose(&ctx.ui, service, &placements, req.container.as_deref())?;
    if placement.host.metal {
        return Err(Error::user(format!(
            "{} runs {} on the host itself (is_metal): there is no container to rebuild",
            placement.host.container_name, service.name
        ))
        .hint(format!(
            "rerun the service's playbook: `openstack-ansible openstack.osa.{} --limit localhost,{}`",
            service.name, placement.host.inventory_name
        )));
    }
    let name = placement.host.container_name.clone();
    let home = ctx.site.home();
    let release = home
        .read(std::path::Path::new("/etc/openstack-release"))
        .ok()
        .flatten()
        .and_then(|b| release(&String::from_utf8_lossy(&b)));
    let (cmds, from) = commands(
        &ctx.settings.rebuild_commands,
        release.as_deref(),
        &placement.host.inventory_name,
        &service.name,
    )?;
    let session = session_of(ctx, &placement, &service.name)?;
    if req.dry_run {
        return Ok(Rebuilt::Planned(plan_text(
            &name,
            &service.name,
            &cmds,
            &from,
            session.as_ref(),
        )));
    }
    if !req.yes
        && !ctx.ui.confirm(&format!(
            "Destroy {name} and make it again with the deployment's playbooks? What they do not make (your files in it) is lost"
        ))
    {
        return Err(Error::user("not rebuilt: nothing was changed"));
    }
    if session.is_some() {
        ctx.ui
            .step(format!("restoring the dev session in {name} first"));
        let restored = restore::restore(
            ctx,
            &Restore {
                container: Some(name.clone()),
                ..Restore::default()
            },
        )?;
        if let Some(e) = restored.unreachable {
            return Err(e);
        }
    }
    for (i, c) in cmds.iter().enumerate() {
        ctx.ui
            .step(format!("{}/{}: {}", i + 1, cmds.len(), c.text()));
        run_streamed(ctx, c).map_err(|e| {
            e.hint(format!(
                "{name} may be half made: once the cause is fixed, `git osa rebuild --container {name}` runs them again (`--dry-run` shows them)"
            ))
        })?;
    }
    wait_healthy(ctx, &placement)?;
    let report = crate::status::report(ctx, false)?;
    let mut status = String::new();
    let mut problems = Vec::new();
    for st in report
        .statuses
        .iter()
        .filter(|s| s.placement.host.container_name == name)
    {
        crate::status::render(&mut status, st);
        problems.extend(crate::status::problems_of(
            st,
            ctx.global.lxc_path.as_deref(),
        ));
    }
    Ok(Rebuilt::Done { status, problems })
}

/// The container's dev session, if it is running and has one.
fn session_of(ctx: &Context, p: &Placement, service: &str) -> Result<Option<Session>> {
    if ctx.lxc(&p.host).state(&p.host.container_name)? != crate::lxc::LxcState::Running {
        return Ok(None);
    }
    let paths = Paths::new(service);
    Ok(
        crate::session::find::read_raw(&ctx.target(&p.host), &paths)?
            .map(|b| Session::salvage(&b).session),
    )
}

/// The plan as `--dry-run` prints it.
pub fn plan_text(
    container: &str,
    service: &str,
    cmds: &[Command],
    from: &str,
    session: Option<&Session>,
) -> String {
    let mut out = format!("rebuild {container} ({service}), {from}:\n");
    let mut n = 1;
    let _ = writeln!(
        out,
        "{n:>2}. restore its dev session{}",
        match session {
            Some(s) => format!(" (started by {})", s.started_by),
            None => "\n    skipped: it is in none".into(),
        }
    );
    for c in cmds {
        n += 1;
        let _ = writeln!(out, "{n:>2}. on the deploy host: {}", c.text());
    }
    n += 1;
    let _ = writeln!(
        out,
        "{n:>2}. wait until its units run and its HAProxy servers are UP"
    );
    out.push_str("then: `git osa status` of it\n");
    out
}

/// Runs one command on the deploy host, its output on git-osa's; a Ctrl-C reaches it as
/// it reaches git-osa (over ssh, the connection ends).
fn run_streamed(ctx: &Context, c: &Command) -> Result<()> {
    let home = ctx.site.home();
    let argv = c.host_argv();
    let mut child = home
        .process(&argv, None)?
        .command()
        .spawn()
        .map_err(|e| Error::user(format!("cannot run {}: {e}", c.text())))?;
    let interrupts = Interrupts::watch();
    loop {
        if let Some(status) = child.try_wait().map_err(anyhow::Error::from)? {
            interrupts.check(&format!("during `{}`", c.text()))?;
            if status.success() {
                return Ok(());
            }
            return Err(Error::failed(format!("`{}` failed ({status})", c.text())));
        }
        if interrupts.pending().is_some() && home.remote() {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the new container's units run and its HAProxy servers (those not in
/// maintenance) are UP, as restore waits for production.
fn wait_healthy(ctx: &Context, placement: &Placement) -> Result<()> {
    let target = ctx.target(&placement.host);
    let names: Vec<String> = placement.units.iter().map(|u| u.name.clone()).collect();
    let p = crate::probe::probe(&target, &names, &[], "")?;
    let units: Vec<String> = placement
        .units
        .iter()
        .filter(|u| p.unit(&u.name).is_some_and(|i| i.exists() && !i.is_job()))
        .map(|u| crate::probe::unit_id(&u.name))
        .collect();
    let servers = ctx
        .haproxy()
        .servers()
        .map(|all| {
            crate::haproxy::servers_of(&all, &placement.host, &placement.units)
                .into_iter()
                .filter(|s| !s.is_disabled())
                .map(|s| s.reference())
                .collect()
        })
        .unwrap_or_default();
    let paths = Paths::new("rebuild");
    let step = Step::new(
        format!("wait until {} runs production", target.name),
        &target,
        Action::WaitHealthy { units, servers },
    );
    Runner::new(&ctx.ui, ctx.haproxy(), paths, Session::default())
        .run(&step)
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Origin;

    #[test]
    fn the_commands_are_osas_for_the_deployments_release() {
        let (cmds, from) = commands(
            &[],
            Some("30.0.1"),
            "aio1-keystone-container-b7d24e95",
            "keystone",
        )
        .unwrap();
        assert_eq!(
            cmds.iter().map(Command::text).collect::<Vec<_>>(),
            [
                "openstack-ansible openstack.osa.containers_lxc_destroy --limit localhost,aio1-keystone-container-b7d24e95 -e force_containers_destroy=true -e force_containers_data_destroy=false",
                "openstack-ansible openstack.osa.containers_lxc_create --limit localhost,lxc_hosts,aio1-keystone-container-b7d24e95",
                "openstack-ansible openstack.osa.keystone --limit localhost,aio1-keystone-container-b7d24e95",
            ]
        );
        assert!(
            from.starts_with("as OSA documents it from 2024.2 on (this deployment is 30.0.1)"),
            "{from}"
        );
        let (old, from) = commands(&[], Some("29.1.0"), "c", "heat").unwrap();
        assert_eq!(
            old[2].text(),
            "cd /opt/openstack-ansible/playbooks && openstack-ansible os-heat-install.yml --limit localhost,c"
        );
        assert!(
            from.contains("before 2024.2 (this deployment is 29.1.0)"),
            "{from}"
        );
        assert_eq!(
            old[0].host_argv()[..5],
            [
                "sh",
                "-c",
                r#"cd "$1" && shift && exec "$@""#,
                "git-osa-rebuild",
                PLAYBOOKS_DIR
            ]
            .map(OsString::from)
        );
        let (_, from) = commands(&[], None, "c", "heat").unwrap();
        assert!(
            from.contains("no /etc/openstack-release says which release"),
            "{from}"
        );
        assert_eq!(
            release("# Ansible managed\n\nDISTRIB_ID=\"OSA\"\nDISTRIB_RELEASE=\"17.0.0.0b1\"\n")
                .as_deref(),
            Some("17.0.0.0b1")
        );
    }

    /// A command of git config's: split as a shell would, the placeholders replaced word by
    /// word (a name never becomes a shell's text).
    #[test]
    fn git_config_replaces_them() {
        let mine = vec![Setting::new(
            "my-rebuild --host 'infra 1' {container}; rm -rf /".to_string(),
            Origin::Default,
        )];
        let (cmds, _) = commands(&mine, Some("30.0.0"), "c1", "keystone").unwrap();
        assert_eq!(
            cmds[0].argv,
            ["my-rebuild", "--host", "infra 1", "c1;", "rm", "-rf", "/"]
        );
        let empty = vec![Setting::new("  ".to_string(), Origin::Default)];
        assert_eq!(commands(&empty, None, "c", "s").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn the_plan_says_what_runs_where() {
        let (cmds, from) = commands(&[], Some("30.0.0"), "c1", "keystone").unwrap();
        let text = plan_text("c1", "keystone", &cmds, &from, None);
        assert!(
            text.starts_with("rebuild c1 (keystone), as OSA documents it from 2024.2 on"),
            "{text}"
        );
        assert!(
            text.contains(" 1. restore its dev session\n    skipped: it is in none\n"),
            "{text}"
        );
        assert!(text.contains(" 4. on the deploy host: openstack-ansible openstack.osa.keystone --limit localhost,c1\n"), "{text}");
        assert!(text.ends_with(" 5. wait until its units run and its HAProxy servers are UP\nthen: `git osa status` of it\n"), "{text}");
    }
}
