//! What the host needs: the LXC tools, root, the inventory, HAProxy at admin level, git;
//! and the checkout (`checkout.rs`).

use std::path::PathBuf;

use crate::context::Context;
use crate::haproxy::{self, Node};
use crate::inventory::Inventory;
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
    /// The containers LXC has on each host that holds one of the inventory's (this one
    /// without an inventory), or why one host's cannot be listed.
    pub lxc_names: Result<Vec<String>, String>,
    /// Each HAProxy node's facts (one on an all-in-one).
    pub haproxy: Vec<HaproxyFacts>,
    /// The checkout doctor runs from; none outside one.
    pub checkout: Option<CheckoutFacts>,
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
pub const HOST_CHECKS: [HostCheck; 9] = [
    ("LXC tools", lxc_tools),
    ("systemd-run on the host", host_systemd_run),
    ("git", git_cli),
    ("root", root),
    ("inventory", inventory),
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
    let read = Inventory::load(&inventory);
    let containers = read
        .as_ref()
        .map(|inv| {
            inv.all_containers()
                .into_iter()
                .map(|h| h.container_name)
                .collect()
        })
        .map_err(|e| (e.to_string(), e.hints().join("; ")));
    HostFacts {
        tools,
        euid: euid(),
        inventory,
        containers,
        lxc_path: ctx.global.lxc_path.clone(),
        lxc_names: list_lxc(ctx, read.ok().as_ref()),
        haproxy: ctx.haproxy().nodes().iter().map(read_haproxy).collect(),
        checkout: read_checkout(&ctx.cwd),
    }
}

/// The containers LXC has on every machine that holds one of the inventory's, each listed
/// where it is (over ssh for another host), as a container's status reads it; this
/// machine's without an inventory. Container names are the deployment's, unique across it.
fn list_lxc(ctx: &Context, inv: Option<&Inventory>) -> Result<Vec<String>, String> {
    let machines: Vec<Option<crate::inventory::Machine>> = match inv {
        Some(inv) => inv
            .all_containers()
            .iter()
            .map(|h| inv.machine(&h.inventory_name))
            .collect(),
        None => vec![None],
    };
    let mut seen: Vec<Option<crate::inventory::Machine>> = Vec::new();
    let mut names = Vec::new();
    for m in machines {
        if seen.contains(&m) {
            continue;
        }
        let listed = ctx.site.lxc(m.as_ref()).list().map_err(|e| match &m {
            Some(m) => format!("on {}: {e}", m.name),
            None => e.to_string(),
        })?;
        names.extend(listed);
        seen.push(m);
    }
    Ok(names)
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

pub(super) fn lxc_tools(h: &HostFacts) -> Verdict {
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
    match h.tools.iter().find(|(t, _)| *t == "systemd-run") {
        Some((_, Some(p))) => Verdict::Pass(p.display().to_string()),
        _ => fail(
            "not on PATH: the long steps of metal components run in transient systemd scopes",
            "run git osa on a systemd host (apt-get install systemd)",
        ),
    }
}

pub(super) fn root(h: &HostFacts) -> Verdict {
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
    let lxc = match &h.lxc_names {
        Ok(lxc) => lxc,
        Err(e) => return Verdict::Skip(format!("LXC cannot be listed: {e}")),
    };
    if names.is_empty() {
        return Verdict::Pass("it names no containers (metal hosts only)".into());
    }
    let missing: Vec<&String> = names.iter().filter(|n| !lxc.contains(n)).collect();
    let place = match &h.lxc_path {
        Some(p) => format!("in {}", p.display()),
        None => "in LXC's default path".into(),
    };
    let Some(first) = missing.first() else {
        return Verdict::Pass(format!(
            "all {} containers it names exist {place}",
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
