//! What the host needs: the LXC tools, root, the inventory, HAProxy at admin level, git;
//! and the checkout (`checkout.rs`).

use std::path::PathBuf;

use crate::context::Context;
use crate::haproxy::{self, Node};
use crate::lxc::{self, LxcState};

use super::checkout::{CheckoutFacts, checkout, git_cli, inotify, read_checkout};
use super::{Verdict, fail};

/// What the host said.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// Each tool git-osa runs on the host, with where `PATH` has it.
    pub tools: Vec<(&'static str, Option<PathBuf>)>,
    /// The effective user id, when it could be read.
    pub euid: Option<u32>,
    pub inventory: PathBuf,
    /// The containers (not metal hosts) the inventory names, or why it cannot be read and
    /// what to do.
    pub containers: Result<Vec<String>, (String, String)>,
    pub lxc_path: Option<PathBuf>,
    /// The containers LXC has on git-osa's home machine, or why they cannot be listed.
    pub lxc_names: Result<Vec<String>, String>,
    /// The other machines the inventory's containers are on, each reached over ssh.
    pub machines: Vec<MachineFacts>,
    /// Every host is reached over ssh (a deploy host is set): this machine needs no LXC,
    /// no systemd, no root.
    pub all_remote: bool,
    /// Each HAProxy node's facts (one on an all-in-one).
    pub haproxy: Vec<HaproxyFacts>,
    /// The checkout doctor runs from; none outside one.
    pub checkout: Option<CheckoutFacts>,
}

/// A machine git-osa reaches over ssh, and its containers.
#[derive(Debug, Clone)]
pub struct MachineFacts {
    /// The inventory's name for it.
    pub name: String,
    /// How it is reached (`ssh root@172.29.236.2`).
    pub reach: String,
    /// Whether a command ran there, or why not and what to do.
    pub reached: Result<(), (String, String)>,
    /// The inventory's containers on it.
    pub containers: Vec<String>,
    /// The containers its LXC has, or why they cannot be listed.
    pub lxc_names: Result<Vec<String>, String>,
}

#[derive(Debug, Clone)]
pub struct HaproxyFacts {
    /// The node's host, as messages say it.
    pub node: String,
    pub socket: PathBuf,
    /// What to tell a user whose socket cannot be reached ([`Haproxy::hint`]).
    pub hint: String,
    /// The number of servers `show stat` lists, or what went wrong.
    pub stat: Result<usize, String>,
    /// The answer to `help`: the commands allowed at the socket's level.
    pub help: Result<String, String>,
}

pub type HostCheck = (&'static str, fn(&HostFacts) -> Verdict);

/// Every host check, in the order they are shown.
pub const HOST_CHECKS: [HostCheck; 10] = [
    ("LXC tools", lxc_tools),
    ("systemd-run on the host", host_systemd_run),
    ("git", git_cli),
    ("root", root),
    ("inventory", inventory),
    ("ssh to each host", ssh_hosts),
    ("inventory against LXC", inventory_against_lxc),
    ("HAProxy admin socket", haproxy_admin),
    ("checkout", checkout),
    ("inotify watches", inotify),
];

/// Reads what the host checks judge.
pub fn read_host(ctx: &Context) -> HostFacts {
    let mut tools: Vec<(&'static str, Option<PathBuf>)> = lxc::TOOLS
        .iter()
        .map(|t| (*t, crate::transport::find_on_path(t)))
        .collect();
    tools.push(("systemd-run", crate::transport::find_on_path("systemd-run")));
    tools.push(("git", crate::transport::find_on_path("git")));
    let inventory = ctx.global.inventory.clone();
    let all_remote = ctx.site.deploy_host().is_some();
    let hosts = ctx
        .inventory()
        .map(|inv| inv.all_containers())
        .map_err(|e| (e.to_string(), e.hints().join("; ")));
    let containers = hosts
        .as_ref()
        .map(|hosts| {
            hosts
                .iter()
                .map(|h| h.container_name.clone())
                .collect::<Vec<_>>()
        })
        .map_err(Clone::clone);
    // Containers on this machine (or the deploy host) are listed by its LXC; each other
    // machine's, over ssh, once reached.
    let mut machines: Vec<MachineFacts> = Vec::new();
    for h in hosts.as_deref().unwrap_or_default() {
        let machine = ctx.machine(h);
        if ctx.site.reach(machine.as_ref()) == ctx.site.reach(None) {
            continue;
        }
        let Some(m) = machine else { continue };
        match machines.iter_mut().find(|f| f.name == m.name) {
            Some(f) => f.containers.push(h.container_name.clone()),
            None => {
                let lxc = ctx.site.lxc(Some(&m));
                let reached = reach(&*lxc.via);
                machines.push(MachineFacts {
                    name: m.name.clone(),
                    reach: ctx.site.reach(Some(&m)).to_string(),
                    lxc_names: match &reached {
                        Ok(()) => lxc.list().map_err(|e| e.to_string()),
                        Err((e, _)) => Err(e.clone()),
                    },
                    reached,
                    containers: vec![h.container_name.clone()],
                });
            }
        }
    }
    HostFacts {
        tools,
        euid: euid(),
        inventory,
        containers,
        machines,
        all_remote,
        lxc_path: ctx.global.lxc_path.clone(),
        lxc_names: ctx.home_lxc().list().map_err(|e| e.to_string()),
        haproxy: ctx.haproxy().nodes().iter().map(read_haproxy).collect(),
        checkout: read_checkout(&ctx.cwd),
    }
}

/// The effective user id: the owner of `/proc/self`.
pub(super) fn euid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

pub(super) fn read_haproxy(h: &Node) -> HaproxyFacts {
    let ask = |command: &str| h.command(command).map_err(|e| e.to_string());
    let stat = match h.command("show stat") {
        Ok(csv) => haproxy::parse_stat(&csv)
            .map(|servers| servers.len())
            .map_err(|e| e.to_string()),
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
            }) =>
        {
            Err(format!("no socket at {}", h.socket.display()))
        }
        Err(e) => Err(e.to_string()),
    };
    let help = match &stat {
        Ok(_) => ask("help"),
        Err(e) => Err(e.clone()),
    };
    HaproxyFacts {
        node: h.name.clone(),
        socket: h.socket.clone(),
        hint: h.hint(),
        stat,
        help,
    }
}

/// Runs `true` on the machine `via` reaches: whether git-osa gets there, or why not and
/// what to do.
fn reach(via: &dyn crate::transport::Transport) -> Result<(), (String, String)> {
    let refused = |e: crate::error::Error| (e.to_string(), e.hints().join("; "));
    let process = via.process(&["true".into()], None).map_err(refused)?;
    match process
        .command()
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err((
            format!(
                "`true` failed there: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "run the ssh command of `git osa -v doctor` by hand to see why".into(),
        )),
        Err(e) => Err((e.to_string(), "is ssh installed here?".into())),
    }
}

/// Every host of the inventory's containers that is not this one answers over ssh.
pub(super) fn ssh_hosts(h: &HostFacts) -> Verdict {
    if h.machines.is_empty() {
        return Verdict::Pass("every container is on this host".into());
    }
    for m in &h.machines {
        if let Err((why, fix)) = &m.reached {
            return fail(format!("{} ({}): {why}", m.name, m.reach), fix.clone());
        }
    }
    let each: Vec<String> = h
        .machines
        .iter()
        .map(|m| format!("{} ({})", m.name, m.reach))
        .collect();
    Verdict::Pass(each.join(", "))
}

pub(super) fn lxc_tools(h: &HostFacts) -> Verdict {
    if h.all_remote {
        return Verdict::Skip("every host is reached over ssh: this one needs no LXC".into());
    }
    let lxc: Vec<&(&str, Option<PathBuf>)> = h
        .tools
        .iter()
        .filter(|(t, _)| lxc::TOOLS.contains(t))
        .collect();
    let missing: Vec<&str> = lxc
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(t, _)| *t)
        .collect();
    if !missing.is_empty() {
        return fail(
            format!("{} not on PATH", missing.join(", ")),
            "install LXC (apt-get install lxc), or run git osa on the OSA host",
        );
    }
    let found: Vec<String> = lxc
        .iter()
        .filter_map(|(_, p)| p.as_ref())
        .map(|p| p.display().to_string())
        .collect();
    Verdict::Pass(found.join(", "))
}

pub(super) fn host_systemd_run(h: &HostFacts) -> Verdict {
    if h.all_remote {
        return Verdict::Skip("every host is reached over ssh".into());
    }
    match h.tools.iter().find(|(t, _)| *t == "systemd-run") {
        Some((_, Some(p))) => Verdict::Pass(p.display().to_string()),
        _ => fail(
            "not on PATH: the long steps of metal components run in transient systemd scopes",
            "run git osa on a systemd host (apt-get install systemd)",
        ),
    }
}

pub(super) fn root(h: &HostFacts) -> Verdict {
    if h.all_remote {
        return Verdict::Skip(
            "every host is reached over ssh, as the user ssh logs in as (root, as OSA's)".into(),
        );
    }
    match h.euid {
        Some(0) => Verdict::Pass("running as root".into()),
        Some(uid) => fail(
            format!("running as uid {uid}: lxc-attach into OSA's containers needs root"),
            "run it as root, as every OSA operation (sudo -E git osa ...)",
        ),
        None => fail(
            "cannot tell which user this is (/proc is not mounted)",
            "run it as root on the OSA host",
        ),
    }
}

pub(super) fn inventory(h: &HostFacts) -> Verdict {
    match &h.containers {
        Ok(names) => Verdict::Pass(format!(
            "{} ({} containers)",
            h.inventory.display(),
            names.len()
        )),
        Err((why, fix)) => fail(why.clone(), fix.clone()),
    }
}

pub(super) fn inventory_against_lxc(h: &HostFacts) -> Verdict {
    let Ok(names) = &h.containers else {
        return Verdict::Skip("the inventory cannot be read".into());
    };
    if names.is_empty() {
        return Verdict::Pass("it names no containers (metal hosts only)".into());
    }
    // Each machine's containers against its own LXC; the rest against this host's.
    let elsewhere: Vec<&String> = h.machines.iter().flat_map(|m| &m.containers).collect();
    let here: Vec<&String> = names.iter().filter(|n| !elsewhere.contains(n)).collect();
    for m in &h.machines {
        let lxc = match &m.lxc_names {
            Ok(lxc) => lxc,
            Err(e) => {
                return Verdict::Skip(format!("LXC on {} cannot be listed: {e}", m.name));
            }
        };
        let missing: Vec<&String> = m.containers.iter().filter(|n| !lxc.contains(n)).collect();
        if let Some(first) = missing.first() {
            let shown: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return fail(
                format!(
                    "on {}: {} of its {} containers there {} not exist: {}",
                    m.name,
                    missing.len(),
                    m.containers.len(),
                    if missing.len() == 1 { "does" } else { "do" },
                    shown.join(", ")
                ),
                format!(
                    "on {}: {}",
                    m.name,
                    LxcState::Missing.remedy(first, h.lxc_path.as_deref())
                ),
            );
        }
    }
    if here.is_empty() {
        return Verdict::Pass(format!(
            "all {} containers it names exist on their hosts",
            names.len()
        ));
    }
    let lxc = match &h.lxc_names {
        Ok(lxc) => lxc,
        Err(e) => return Verdict::Skip(format!("LXC cannot be listed: {e}")),
    };
    let names: Vec<&String> = here;
    let missing: Vec<&String> = names.iter().copied().filter(|n| !lxc.contains(n)).collect();
    let place = match &h.lxc_path {
        Some(p) => format!("in {}", p.display()),
        None => "in LXC's default path".into(),
    };
    let Some(first) = missing.first() else {
        let others = if h.machines.is_empty() {
            String::new()
        } else {
            format!(
                ", and {} on {}",
                h.machines.iter().map(|m| m.containers.len()).sum::<usize>(),
                h.machines
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Verdict::Pass(format!(
            "all {} containers it names exist {place}{others}",
            names.len()
        ));
    };
    let shown: Vec<&str> = missing.iter().take(5).map(|s| s.as_str()).collect();
    let more = missing.len().saturating_sub(shown.len());
    fail(
        format!(
            "{} of its {} containers {} not exist {place}: {}{}",
            missing.len(),
            names.len(),
            if missing.len() == 1 { "does" } else { "do" },
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
        format!(
            "if LXC keeps them elsewhere, point --lxc-path (GIT_OSA_LXC_PATH) there; otherwise {}",
            LxcState::Missing.remedy(first, h.lxc_path.as_deref())
        ),
    )
}

pub(super) fn haproxy_admin(h: &HostFacts) -> Verdict {
    let several = h.haproxy.len() > 1;
    let mut passed = Vec::new();
    for hp in &h.haproxy {
        let on = |what: String| {
            if several {
                format!("on {}: {what}", hp.node)
            } else {
                what
            }
        };
        let servers = match &hp.stat {
            Ok(n) => *n,
            Err(e) => return fail(on(e.clone()), hp.hint.clone()),
        };
        match &hp.help {
            Ok(help) if allows_set_server(help) => passed.push(on(format!(
                "{} at admin level (show stat: {servers} servers; set server allowed)",
                hp.socket.display()
            ))),
            Ok(_) => {
                return fail(
                    on(format!(
                        "{} answers, but not at admin level: `set server` is not allowed, so traffic cannot be moved",
                        hp.socket.display()
                    )),
                    "end its `stats socket` line in haproxy.cfg with `level admin` (OSA's does), or point --haproxy-socket at one that has it",
                );
            }
            Err(e) => return fail(on(e.clone()), hp.hint.clone()),
        }
    }
    Verdict::Pass(passed.join("; "))
}

/// HAProxy's `help` lists the commands the socket's level allows.
pub(super) fn allows_set_server(help: &str) -> bool {
    help.lines()
        .any(|l| l.trim_start().starts_with("set server "))
}
