//! `git osa doctor`: what git-osa needs from this host and from a service's containers,
//! checked before a run needs it.
//!
//! The checks are data: a name and a small function each ([`HOST_CHECKS`],
//! [`CONTAINER_CHECKS`]) that judges what was read. Reading happens first, in a few round
//! trips, into plain values ([`HostFacts`], [`ContainerFacts`]), so every judgement is
//! pure and tested without a host or a container; each verdict is one line, and a failure
//! says what to do.

use std::path::PathBuf;

use crate::catalog::Service;
use crate::context::Context;
use crate::haproxy::{self, Haproxy};
use crate::inventory::Inventory;
use crate::layout::{self, FACTS};
use crate::lxc::{self, LxcState, Target};
use crate::probe::{self, Probe};

/// How one check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass(String),
    Fail {
        found: String,
        fix: String,
    },
    /// Not checked: what it depends on failed or is not there.
    Skip(String),
}

fn fail(found: impl Into<String>, fix: impl Into<String>) -> Verdict {
    Verdict::Fail {
        found: found.into(),
        fix: fix.into(),
    }
}

/// A check's name with its verdict, as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub name: String,
    pub verdict: Verdict,
}

impl Report {
    pub fn failed(&self) -> bool {
        matches!(self.verdict, Verdict::Fail { .. })
    }

    /// One line, and the fix under it when it failed.
    pub fn render(&self) -> String {
        match &self.verdict {
            Verdict::Pass(what) => format!("ok    {}: {what}\n", self.name),
            Verdict::Skip(why) => format!("skip  {}: {why}\n", self.name),
            Verdict::Fail { found, fix } => {
                format!("FAIL  {}: {found}\n      fix: {fix}\n", self.name)
            }
        }
    }
}

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
    /// The containers LXC has, or why they cannot be listed.
    pub lxc_names: Result<Vec<String>, String>,
    pub haproxy: HaproxyFacts,
}

#[derive(Debug, Clone)]
pub struct HaproxyFacts {
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
pub const HOST_CHECKS: [HostCheck; 6] = [
    ("LXC tools", lxc_tools),
    ("systemd-run on the host", host_systemd_run),
    ("root", root),
    ("inventory", inventory),
    ("inventory against LXC", inventory_against_lxc),
    ("HAProxy admin socket", haproxy_admin),
];

/// Reads what the host checks judge.
pub fn read_host(ctx: &Context) -> HostFacts {
    let mut tools: Vec<(&'static str, Option<PathBuf>)> = lxc::TOOLS
        .iter()
        .map(|t| (*t, lxc::find_on_path(t)))
        .collect();
    tools.push(("systemd-run", lxc::find_on_path("systemd-run")));
    let inventory = ctx.global.inventory.clone();
    let containers = Inventory::load(&inventory)
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
        lxc_path: ctx.lxc.path.clone(),
        lxc_names: ctx.lxc.list().map_err(|e| e.to_string()),
        haproxy: read_haproxy(&ctx.haproxy),
    }
}

/// The effective user id: the owner of `/proc/self`.
fn euid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

fn read_haproxy(h: &Haproxy) -> HaproxyFacts {
    let ask = |command: &str| h.command(command).map_err(|e| e.to_string());
    let stat = if h.socket.exists() {
        ask("show stat").and_then(|csv| {
            haproxy::parse_stat(&csv)
                .map(|servers| servers.len())
                .map_err(|e| e.to_string())
        })
    } else {
        Err(format!("no socket at {}", h.socket.display()))
    };
    let help = match &stat {
        Ok(_) => ask("help"),
        Err(e) => Err(e.clone()),
    };
    HaproxyFacts {
        socket: h.socket.clone(),
        hint: h.hint(),
        stat,
        help,
    }
}

fn lxc_tools(h: &HostFacts) -> Verdict {
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

fn host_systemd_run(h: &HostFacts) -> Verdict {
    match h.tools.iter().find(|(t, _)| *t == "systemd-run") {
        Some((_, Some(p))) => Verdict::Pass(p.display().to_string()),
        _ => fail(
            "not on PATH: the long steps of metal components run in transient systemd scopes",
            "run git osa on a systemd host (apt-get install systemd)",
        ),
    }
}

fn root(h: &HostFacts) -> Verdict {
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

fn inventory(h: &HostFacts) -> Verdict {
    match &h.containers {
        Ok(names) => Verdict::Pass(format!(
            "{} ({} containers)",
            h.inventory.display(),
            names.len()
        )),
        Err((why, fix)) => fail(why.clone(), fix.clone()),
    }
}

fn inventory_against_lxc(h: &HostFacts) -> Verdict {
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

fn haproxy_admin(h: &HostFacts) -> Verdict {
    let hp = &h.haproxy;
    let servers = match &hp.stat {
        Ok(n) => *n,
        Err(e) => return fail(e.clone(), hp.hint.clone()),
    };
    match &hp.help {
        Ok(help) if allows_set_server(help) => Verdict::Pass(format!(
            "{} at admin level (show stat: {servers} servers; set server allowed)",
            hp.socket.display()
        )),
        Ok(_) => fail(
            format!(
                "{} answers, but not at admin level: `set server` is not allowed, so traffic cannot be moved",
                hp.socket.display()
            ),
            "end its `stats socket` line in haproxy.cfg with `level admin` (OSA's does), or point --haproxy-socket at one that has it",
        ),
        Err(e) => fail(e.clone(), hp.hint.clone()),
    }
}

/// HAProxy's `help` lists the commands the socket's level allows.
fn allows_set_server(help: &str) -> bool {
    help.lines()
        .any(|l| l.trim_start().starts_with("set server "))
}

/// What one container (or the host, for metal components) said.
#[derive(Debug, Clone)]
pub struct ContainerFacts {
    pub name: String,
    pub service: String,
    /// The host itself (`is_metal`), not a container.
    pub metal: bool,
    pub state: LxcState,
    /// How to get it running (for a container that is not).
    pub remedy: String,
    pub systemd_run: Option<String>,
    /// The venv a run would use, or why there is none.
    pub venv: Result<String, String>,
    pub constraints: bool,
    /// A copy of the production venv that a session keeps already.
    pub kept: Option<String>,
    pub venv_kib: Option<u64>,
    /// Free space on the venv's filesystem, and where it is mounted.
    pub free: Option<(u64, String)>,
    /// The package sources in pip's config, or why it could not be read.
    pub sources: Result<Vec<String>, String>,
    /// Each source fetched from inside: `HTTP 200`, or the error.
    pub fetched: Vec<(String, Result<String, String>)>,
}

pub type ContainerCheck = (&'static str, fn(&ContainerFacts) -> Verdict);

/// Every check of a container, in the order they are shown.
pub const CONTAINER_CHECKS: [ContainerCheck; 5] = [
    ("running", running),
    ("systemd-run", container_systemd_run),
    ("venv", venv),
    ("room for the venv copy", room),
    ("repo server", repo_server),
];

/// Lists what one round trip reports: systemd-run, the constraints, the venv's size and
/// its filesystem's free space.
const SCRIPT: &str = r#"
v=$1
printf 'systemd-run %s\n' "$(command -v systemd-run)"
[ -n "$v" ] || exit 0
[ -f "$v/constraints.txt" ] && echo 'constraints yes'
printf 'du %s\n' "$(du -sk "$v" 2>/dev/null | cut -f1)"
printf 'df %s\n' "$(df -Pk "$v" 2>/dev/null | tail -n 1)"
exit 0
"#;

/// Fetches each URL with Python's urllib, as pip there would reach it: one line each,
/// `URL ok CODE` or `URL error MESSAGE`.
const FETCH: &str = r#"
import sys, urllib.request
for url in sys.argv[1:]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            print(url, "ok", r.status)
    except Exception as e:
        print(url, "error", str(e).replace("\n", " "))
"#;

/// Reads what the container checks judge: its state, then up to four round trips (files,
/// tools and sizes, pip's config, the fetch).
pub fn read_container(
    ctx: &Context,
    service: &Service,
    name: &str,
    metal: bool,
) -> crate::error::Result<ContainerFacts> {
    let state = if metal {
        LxcState::Running
    } else {
        ctx.lxc.state(name)?
    };
    let mut facts = ContainerFacts {
        name: name.to_string(),
        service: service.name.clone(),
        metal,
        remedy: state.remedy(name, ctx.lxc.path.as_deref()),
        state,
        systemd_run: None,
        venv: Err("not read".into()),
        constraints: false,
        kept: None,
        venv_kib: None,
        free: None,
        sources: Err("not read".into()),
        fetched: Vec::new(),
    };
    if facts.state != LxcState::Running {
        return Ok(facts);
    }
    let target = ctx.lxc.target(name, metal);
    let glob = format!("/openstack/venvs/{}-*", service.venv_name());
    let p = probe::probe(
        &target,
        &[],
        &[FACTS.into()],
        &format!("{glob} {}", layout::backup_path(&glob)),
    )?;
    facts.venv = choose_venv(service, &p);
    let venv = facts.venv.clone().unwrap_or_default();
    facts.kept = Some(layout::backup_path(&venv)).filter(|k| p.paths.contains(k));
    let out = target.run(&["sh", "-c", SCRIPT, "git-osa-doctor", &venv], None)?;
    read_script(&mut facts, &String::from_utf8_lossy(&out.stdout));
    if venv.is_empty() {
        facts.sources = Err("no venv to ask pip in".into());
        return Ok(facts);
    }
    facts.sources = pip_sources(&target, &venv);
    if let Ok(urls) = &facts.sources
        && !urls.is_empty()
    {
        let python = format!("{venv}/bin/python");
        let mut argv = vec![python.as_str(), "-c", FETCH];
        argv.extend(urls.iter().map(String::as_str));
        let out = target.output(&argv, None)?;
        facts.fetched = parse_fetch(&String::from_utf8_lossy(&out.stdout));
    }
    Ok(facts)
}

/// The venv a run uses: the one OSA's facts name (`venv_tag`), else the only one there.
fn choose_venv(service: &Service, p: &Probe) -> Result<String, String> {
    let prefix = format!("/openstack/venvs/{}-", service.venv_name());
    let found: Vec<&String> = p.paths.iter().filter(|x| x.starts_with(&prefix)).collect();
    let tagged = p.file(FACTS).and_then(|f| {
        crate::project::ini_value(&String::from_utf8_lossy(f), service.venv_name(), "venv_tag")
    });
    if let Some(v) = tagged.map(|tag| format!("{prefix}{tag}"))
        && found.contains(&&v)
    {
        return Ok(v);
    }
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("no {prefix}* venv")),
        many => Err(format!(
            "several venvs ({}) and {FACTS} does not say which one is in use",
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn read_script(facts: &mut ContainerFacts, text: &str) {
    for line in text.lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        let value = value.trim();
        match key {
            "systemd-run" if !value.is_empty() => facts.systemd_run = Some(value.into()),
            "constraints" => facts.constraints = true,
            "du" => facts.venv_kib = value.parse().ok(),
            "df" => {
                // Filesystem 1024-blocks Used Available Capacity Mounted-on
                let f: Vec<&str> = value.split_whitespace().collect();
                if let (Some(avail), Some(mount)) = (f.get(3), f.get(5)) {
                    facts.free = avail.parse().ok().map(|a| (a, mount.to_string()));
                }
            }
            _ => {}
        }
    }
}

/// The package sources pip in `venv` is configured with.
fn pip_sources(target: &Target, venv: &str) -> Result<Vec<String>, String> {
    let python = format!("{venv}/bin/python");
    let argv = [python.as_str(), "-m", "pip", "config", "list"];
    match target.output(&argv, None) {
        Ok(out) if out.status.success() => {
            Ok(parse_pip_config(&String::from_utf8_lossy(&out.stdout)))
        }
        Ok(out) => Err(format!(
            "`{}` failed{}",
            lxc::shell_words(&argv),
            lxc::tail(&out.stderr, &out.stdout)
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The URLs of `find-links`, `index-url` and `extra-index-url` in `pip config list`'s
/// answer (`global.find-links='http://172.29.236.1:8181/'`, several values separated by
/// blanks or newlines, which pip prints as `\n`).
pub fn parse_pip_config(text: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let option = key.rsplit('.').next().unwrap_or_default();
        if !matches!(option, "find-links" | "index-url" | "extra-index-url") {
            continue;
        }
        let value = value.trim().trim_matches(['\'', '"']).replace("\\n", " ");
        for url in value.split_whitespace() {
            if url.contains("://") && !urls.iter().any(|u| u == url) {
                urls.push(url.to_string());
            }
        }
    }
    urls
}

fn parse_fetch(text: &str) -> Vec<(String, Result<String, String>)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            let url = parts.next()?.to_string();
            let result = match (parts.next()?, parts.next().unwrap_or_default()) {
                ("ok", code) => Ok(format!("HTTP {code}")),
                (_, msg) => Err(msg.to_string()),
            };
            Some((url, result))
        })
        .collect()
}

fn running(c: &ContainerFacts) -> Verdict {
    match c.state {
        LxcState::Running if c.metal => Verdict::Pass("the host itself (is_metal)".into()),
        LxcState::Running => Verdict::Pass("RUNNING".into()),
        ref state => fail(state.to_string(), c.remedy.clone()),
    }
}

fn container_systemd_run(c: &ContainerFacts) -> Verdict {
    match &c.systemd_run {
        Some(p) => Verdict::Pass(p.clone()),
        None => fail(
            "not in the container: git-osa runs long steps and the dev process in transient systemd scopes there",
            "OSA's containers run systemd: is this one of them? (apt-get install systemd in it)",
        ),
    }
}

fn rebuild(service: &str) -> String {
    format!("rebuild it: `openstack-ansible openstack.osa.{service} -e venv_rebuild=true`")
}

fn venv(c: &ContainerFacts) -> Verdict {
    match &c.venv {
        Err(why) => fail(
            why.clone(),
            format!(
                "deploy {} from source with OSA (`openstack-ansible openstack.osa.{}`)",
                c.service, c.service
            ),
        ),
        Ok(v) if !c.constraints => fail(
            format!("{v} has no constraints.txt: pip would be free to change any library in it"),
            rebuild(&c.service),
        ),
        Ok(v) => Verdict::Pass(format!("{v} with its constraints.txt")),
    }
}

/// Room for the copy of the venv, with a tenth more for what pip writes beside it.
fn room(c: &ContainerFacts) -> Verdict {
    if let Some(kept) = &c.kept {
        return Verdict::Pass(format!("the copy is kept already at {kept}"));
    }
    let Ok(v) = &c.venv else {
        return Verdict::Skip("no venv".into());
    };
    let (Some(size), Some((free, mount))) = (c.venv_kib, &c.free) else {
        return fail(
            format!("cannot tell the size of {v} or the free space beside it (du, df)"),
            "look with `du -sk` and `df -Pk` in the container",
        );
    };
    let need = size + size / 10;
    let text = format!(
        "the copy of {v} needs {}, {} free on {mount}",
        human(need),
        human(*free)
    );
    if *free >= need {
        Verdict::Pass(text)
    } else {
        fail(
            text,
            format!("free {} on {mount} in the container", human(need - free)),
        )
    }
}

fn human(kib: u64) -> String {
    match kib {
        k if k >= 1024 * 1024 => format!("{:.1} GiB", k as f64 / (1024.0 * 1024.0)),
        k if k >= 1024 => format!("{} MiB", k / 1024),
        k => format!("{k} KiB"),
    }
}

fn repo_server(c: &ContainerFacts) -> Verdict {
    let urls = match &c.sources {
        Err(why) if c.venv.is_err() => return Verdict::Skip(why.clone()),
        Err(why) => {
            return fail(
                format!("pip's config cannot be read: {why}"),
                rebuild(&c.service),
            );
        }
        Ok(urls) => urls,
    };
    if urls.is_empty() {
        return fail(
            "pip's config names no find-links or index-url: pip would look for pypi.org",
            "point pip at the repo server in /etc/pip.conf (OSA's pip_install role writes it)",
        );
    }
    let failed: Vec<String> = c
        .fetched
        .iter()
        .filter_map(|(u, r)| r.as_ref().err().map(|e| format!("{u}: {e}")))
        .collect();
    if !failed.is_empty() {
        return fail(
            failed.join("; "),
            "start the repo server (OSA: `openstack-ansible openstack.osa.repo_server`), or fix the URL in pip's config (`pip config list` in the container)",
        );
    }
    if c.fetched.len() < urls.len() {
        return fail(
            format!("no answer from inside for {}", urls.join(", ")),
            "look at `python3 -c 'import urllib.request'` in the container",
        );
    }
    let ok: Vec<String> = c
        .fetched
        .iter()
        .map(|(u, r)| format!("{u} ({})", r.as_deref().unwrap_or_default()))
        .collect();
    Verdict::Pass(format!("{} answers from inside", ok.join(", ")))
}

/// Judges the host.
pub fn judge_host(h: &HostFacts) -> Vec<Report> {
    HOST_CHECKS
        .iter()
        .map(|(name, check)| Report {
            name: name.to_string(),
            verdict: check(h),
        })
        .collect()
}

/// Judges a container; past a container that does not run, nothing else is checked.
pub fn judge_container(c: &ContainerFacts) -> Vec<Report> {
    CONTAINER_CHECKS
        .iter()
        .map(|(name, check)| Report {
            name: format!("{}: {name}", c.name),
            verdict: if c.state != LxcState::Running && *name != "running" {
                Verdict::Skip("the container is not running".into())
            } else {
                check(c)
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> ContainerFacts {
        ContainerFacts {
            name: "c1".into(),
            service: "keystone".into(),
            metal: false,
            state: LxcState::Running,
            remedy: "start it with `lxc-start -n c1`".into(),
            systemd_run: Some("/usr/bin/systemd-run".into()),
            venv: Ok("/openstack/venvs/keystone-30.0.0".into()),
            constraints: true,
            kept: None,
            venv_kib: Some(200 * 1024),
            free: Some((10 * 1024 * 1024, "/".into())),
            sources: Ok(vec!["http://172.29.236.1:8181/".into()]),
            fetched: vec![("http://172.29.236.1:8181/".into(), Ok("HTTP 200".into()))],
        }
    }

    fn verdicts(c: &ContainerFacts) -> Vec<(String, Verdict)> {
        judge_container(c)
            .into_iter()
            .map(|r| (r.name, r.verdict))
            .collect()
    }

    #[test]
    fn a_ready_container_passes_every_check() {
        let v = verdicts(&container());
        assert!(
            v.iter().all(|(_, v)| matches!(v, Verdict::Pass(_))),
            "{v:?}"
        );
        assert_eq!(v[0].0, "c1: running");
        assert_eq!(
            v[3].1,
            Verdict::Pass(
                "the copy of /openstack/venvs/keystone-30.0.0 needs 220 MiB, 10.0 GiB free on /"
                    .into()
            )
        );
    }

    #[test]
    fn a_stopped_container_says_how_to_start_it_and_nothing_else_is_checked() {
        let c = ContainerFacts {
            state: LxcState::Stopped,
            ..container()
        };
        let v = verdicts(&c);
        assert_eq!(
            v[0].1,
            fail("STOPPED", "start it with `lxc-start -n c1`"),
            "{v:?}"
        );
        assert!(v[1..].iter().all(|(_, v)| matches!(v, Verdict::Skip(_))));
    }

    #[test]
    fn no_room_for_the_copy_says_how_much_to_free() {
        let c = ContainerFacts {
            free: Some((100 * 1024, "/openstack".into())),
            ..container()
        };
        assert_eq!(
            room(&c),
            fail(
                "the copy of /openstack/venvs/keystone-30.0.0 needs 220 MiB, 100 MiB free on /openstack",
                "free 120 MiB on /openstack in the container"
            )
        );
        let kept = ContainerFacts {
            kept: Some("/openstack/venvs/.git-osa-prod-keystone-30.0.0".into()),
            ..c
        };
        assert!(matches!(room(&kept), Verdict::Pass(_)), "a session kept it");
    }

    #[test]
    fn a_venv_without_constraints_is_rebuilt() {
        let c = ContainerFacts {
            constraints: false,
            ..container()
        };
        let Verdict::Fail { fix, .. } = venv(&c) else {
            panic!("passed")
        };
        assert_eq!(
            fix,
            "rebuild it: `openstack-ansible openstack.osa.keystone -e venv_rebuild=true`"
        );
    }

    #[test]
    fn an_unreachable_repo_server_is_named_with_pythons_reason() {
        let c = ContainerFacts {
            fetched: vec![(
                "http://172.29.236.1:8181/".into(),
                Err("<urlopen error [Errno 111] Connection refused>".into()),
            )],
            ..container()
        };
        let Verdict::Fail { found, .. } = repo_server(&c) else {
            panic!("passed")
        };
        assert_eq!(
            found,
            "http://172.29.236.1:8181/: <urlopen error [Errno 111] Connection refused>"
        );
        let none = ContainerFacts {
            sources: Ok(Vec::new()),
            ..container()
        };
        assert!(matches!(repo_server(&none), Verdict::Fail { .. }));
    }

    #[test]
    fn pip_config_gives_its_package_sources() {
        let text = "global.find-links='http://172.29.236.1:8181/'\n\
global.no-index='true'\n\
install.extra-index-url='http://a/simple/\\nhttp://b/simple/'\n\
global.index-url='http://a/simple/'\n\
global.trusted-host='172.29.236.1'\n";
        assert_eq!(
            parse_pip_config(text),
            [
                "http://172.29.236.1:8181/",
                "http://a/simple/",
                "http://b/simple/"
            ]
        );
    }

    #[test]
    fn fetch_answers_and_script_lines_are_read() {
        assert_eq!(
            parse_fetch("http://a/ ok 200\nhttp://b/ error timed out\n"),
            [
                ("http://a/".to_string(), Ok("HTTP 200".to_string())),
                ("http://b/".to_string(), Err("timed out".to_string()))
            ]
        );
        let mut c = ContainerFacts {
            systemd_run: None,
            constraints: false,
            venv_kib: None,
            free: None,
            ..container()
        };
        read_script(
            &mut c,
            "systemd-run /usr/bin/systemd-run\nconstraints yes\ndu 12345\n\
df /dev/sda1 102400 2048 98304 3% /\n",
        );
        assert_eq!(c.systemd_run.as_deref(), Some("/usr/bin/systemd-run"));
        assert!(c.constraints);
        assert_eq!(c.venv_kib, Some(12345));
        assert_eq!(c.free, Some((98304, "/".into())));
        read_script(&mut c, "systemd-run \n");
        assert_eq!(c.systemd_run.as_deref(), Some("/usr/bin/systemd-run"));
    }

    fn host() -> HostFacts {
        HostFacts {
            tools: vec![
                ("lxc-attach", Some("/usr/bin/lxc-attach".into())),
                ("lxc-info", Some("/usr/bin/lxc-info".into())),
                ("lxc-ls", Some("/usr/bin/lxc-ls".into())),
                ("systemd-run", Some("/usr/bin/systemd-run".into())),
            ],
            euid: Some(0),
            inventory: "/etc/openstack_deploy/openstack_inventory.json".into(),
            containers: Ok(vec!["c1".into(), "c2".into()]),
            lxc_path: None,
            lxc_names: Ok(vec!["c1".into(), "c2".into(), "other".into()]),
            haproxy: HaproxyFacts {
                socket: "/var/run/haproxy.stat".into(),
                hint: "point --haproxy-socket".into(),
                stat: Ok(2),
                help: Ok("The following commands are valid at this level:\n  set server <bk>/<srv> [opts] : change a server's state\n".into()),
            },
        }
    }

    #[test]
    fn a_ready_host_passes_every_check() {
        let r = judge_host(&host());
        assert!(
            r.iter().all(|r| matches!(r.verdict, Verdict::Pass(_))),
            "{r:?}"
        );
        assert_eq!(r.len(), HOST_CHECKS.len());
    }

    #[test]
    fn containers_the_inventory_names_but_lxc_lacks_are_listed_with_the_rebuild() {
        let h = HostFacts {
            lxc_names: Ok(vec!["c2".into()]),
            ..host()
        };
        let Verdict::Fail { found, fix } = inventory_against_lxc(&h) else {
            panic!("passed")
        };
        assert_eq!(
            found,
            "1 of its 2 containers does not exist in LXC's default path: c1"
        );
        assert!(fix.starts_with("if LXC keeps them elsewhere, point --lxc-path"));
        assert!(fix.contains("containers_lxc_create --limit localhost,lxc_hosts,c1"));
    }

    #[test]
    fn a_socket_below_admin_level_cannot_set_servers() {
        let mut h = host();
        h.haproxy.help = Ok("The following commands are valid at this level:\n  show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server\n".into());
        let Verdict::Fail { found, .. } = haproxy_admin(&h) else {
            panic!("passed")
        };
        assert!(found.ends_with(
            "not at admin level: `set server` is not allowed, so traffic cannot be moved"
        ));
    }

    #[test]
    fn a_failure_shows_its_fix_under_it() {
        let r = Report {
            name: "root".into(),
            verdict: root(&HostFacts {
                euid: Some(1000),
                ..host()
            }),
        };
        assert_eq!(
            r.render(),
            "FAIL  root: running as uid 1000: lxc-attach into OSA's containers needs root\n      fix: run it as root, as every OSA operation (sudo -E git osa ...)\n"
        );
    }
}
