//! What each of the service's containers needs: running, systemd-run, the venv and its
//! constraints, room to keep the venv, the repo server reachable from inside.

use crate::catalog::Service;
use crate::context::Context;
use crate::inventory::Host;
use crate::layout::{self, FACTS};
use crate::lxc::LxcState;
use crate::probe::{self, Probe};
use crate::session::Session;
use crate::transport::{self, Target};

use super::{Verdict, fail};

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
    /// The venv's pip version, and whether it has an `easy-install.pth`: whether it is
    /// kept as a snapshot of hard links or copied whole ([`crate::install::keeping`]).
    pub pip: Option<String>,
    pub easy_install_pth: bool,
    /// Free space on the venv's filesystem, and where it is mounted.
    pub free: Option<(u64, String)>,
    /// The package sources in pip's config, or why it could not be read.
    pub sources: Result<Vec<String>, String>,
    /// Each source fetched from inside: `HTTP 200`, or the error.
    pub fetched: Vec<(String, Result<String, String>)>,
    /// The dev session's record: none, readable, or why it is damaged.
    pub session: SessionFacts,
}

/// What a container's dev session record says, held against HAProxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SessionFacts {
    #[default]
    None,
    /// Readable: the servers it took out of rotation that take traffic again.
    Readable {
        lost: Vec<String>,
    },
    Damaged(String),
}

pub type ContainerCheck = (&'static str, fn(&ContainerFacts) -> Verdict);

/// Every check of a container, in the order they are shown.
pub const CONTAINER_CHECKS: [ContainerCheck; 6] = [
    ("running", running),
    ("systemd-run", container_systemd_run),
    ("venv", venv),
    ("room to keep the venv", room),
    ("repo server", repo_server),
    ("dev session", dev_session),
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
    host: &Host,
) -> crate::error::Result<ContainerFacts> {
    let (name, metal) = (host.container_name.as_str(), host.metal);
    let state = if metal {
        LxcState::Running
    } else {
        ctx.lxc(host).state(name)?
    };
    let mut facts = ContainerFacts {
        name: name.to_string(),
        service: service.name.clone(),
        metal,
        remedy: state.remedy(name, ctx.global.lxc_path.as_deref()),
        state,
        systemd_run: None,
        venv: Err("not read".into()),
        constraints: false,
        kept: None,
        venv_kib: None,
        pip: None,
        easy_install_pth: false,
        free: None,
        sources: Err("not read".into()),
        fetched: Vec::new(),
        session: SessionFacts::None,
    };
    if facts.state != LxcState::Running {
        return Ok(facts);
    }
    let target = ctx.target(host);
    let glob = format!("/openstack/venvs/{}-*", service.venv_name());
    let site = format!("{glob}/lib/python3*/site-packages");
    let record = layout::Paths::new(&service.name).session();
    let p = probe::probe(
        &target,
        &[],
        &[FACTS.into(), record.clone()],
        &format!(
            "{glob} {} {site}/pip-*.dist-info {site}/easy-install.pth",
            layout::backup_path(&glob)
        ),
    )?;
    facts.session = match p.file(&record).map(|b| Session::read(b, name, &record)) {
        None => SessionFacts::None,
        Some(Err(e)) => SessionFacts::Damaged(e.to_string()),
        Some(Ok(s)) => {
            let servers = ctx.haproxy().servers().unwrap_or_default();
            SessionFacts::Readable {
                lost: crate::traffic::lost(&servers, &s.disabled_servers)
                    .iter()
                    .map(|d| format!("{}/{}", d.backend, d.server))
                    .collect(),
            }
        }
    };
    facts.venv = choose_venv(service, &p);
    let venv = facts.venv.clone().unwrap_or_default();
    facts.kept = Some(layout::backup_path(&venv)).filter(|k| p.paths.contains(k));
    facts.pip = crate::install::pip_version(&venv, &p.paths);
    facts.easy_install_pth = p.paths.iter().any(|x| {
        x.starts_with(&format!("{venv}/lib/python3"))
            && x.ends_with("/site-packages/easy-install.pth")
    });
    let out = target.run(&crate::exec::sh(SCRIPT, "git-osa-doctor", &[&venv]), None)?;
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
/// The venv a run would use, as the survey chooses it.
pub(super) fn choose_venv(service: &Service, p: &Probe) -> Result<String, String> {
    crate::survey::choose_venv(service, p).map_err(|candidates| match candidates.as_slice() {
        [] => format!("no /openstack/venvs/{}-* venv", service.venv_name()),
        many => format!(
            "several venvs ({}) and {FACTS} does not say which one is in use",
            many.join(", ")
        ),
    })
}

pub(super) fn read_script(facts: &mut ContainerFacts, text: &str) {
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
pub(super) fn pip_sources(target: &Target, venv: &str) -> Result<Vec<String>, String> {
    let python = format!("{venv}/bin/python");
    let argv = [python.as_str(), "-m", "pip", "config", "list"];
    match target.output(&argv, None) {
        Ok(out) if out.status.success() => {
            Ok(parse_pip_config(&String::from_utf8_lossy(&out.stdout)))
        }
        Ok(out) => Err(format!(
            "`{}` failed{}",
            transport::shell_words(&argv),
            transport::tail(&out.stderr, &out.stdout)
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

pub(super) fn parse_fetch(text: &str) -> Vec<(String, Result<String, String>)> {
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

pub(super) fn dev_session(c: &ContainerFacts) -> Verdict {
    match &c.session {
        SessionFacts::None => Verdict::Pass("none (production)".into()),
        SessionFacts::Readable { lost } if lost.is_empty() => {
            Verdict::Pass("a session, its record readable, HAProxy as it records".into())
        }
        SessionFacts::Readable { lost } => fail(
            format!(
                "the session took {} out of rotation, and HAProxy forgot it (restarted or reloaded): it takes traffic",
                lost.join(", ")
            ),
            "`git osa sync` (or `git osa run`) puts it back; `git osa restore` ends the session",
        ),
        SessionFacts::Damaged(why) => fail(
            why.clone(),
            format!(
                "`git osa status` shows what can be read of it; `git osa restore --container {}` puts production back from that and from what the container holds",
                c.name
            ),
        ),
    }
}

pub(super) fn running(c: &ContainerFacts) -> Verdict {
    match c.state {
        LxcState::Running if c.metal => Verdict::Pass("the host itself (is_metal)".into()),
        LxcState::Running => Verdict::Pass("RUNNING".into()),
        ref state => fail(state.to_string(), c.remedy.clone()),
    }
}

pub(super) fn container_systemd_run(c: &ContainerFacts) -> Verdict {
    match &c.systemd_run {
        Some(p) => Verdict::Pass(p.clone()),
        None => fail(
            "not in the container: git-osa runs long steps and the dev process in transient systemd scopes there",
            "OSA's containers run systemd: is this one of them? (apt-get install systemd in it)",
        ),
    }
}

pub(super) fn rebuild(service: &str) -> String {
    format!("rebuild it: `openstack-ansible openstack.osa.{service} -e venv_rebuild=true`")
}

pub(super) fn venv(c: &ContainerFacts) -> Verdict {
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

/// Room to keep the venv: a snapshot of hard links takes the room of its folders; a full
/// copy that of the venv, with a tenth more for what pip writes beside it.
pub(super) fn room(c: &ContainerFacts) -> Verdict {
    if let Some(kept) = &c.kept {
        return Verdict::Pass(format!("kept already at {kept}"));
    }
    let Ok(v) = &c.venv else {
        return Verdict::Skip("no venv".into());
    };
    let why = match crate::install::keeping(c.pip.as_deref(), c.easy_install_pth) {
        crate::install::Keep::Links => {
            return Verdict::Pass(format!(
                "{v} is kept as a snapshot of hard links (pip {} there): the room of its folders",
                c.pip.as_deref().unwrap_or_default()
            ));
        }
        crate::install::Keep::Copy(why) => why,
    };
    let (Some(size), Some((free, mount))) = (c.venv_kib, &c.free) else {
        return fail(
            format!("cannot tell the size of {v} or the free space beside it (du, df)"),
            "look with `du -sk` and `df -Pk` in the container",
        );
    };
    let need = size + size / 10;
    let text = format!(
        "the copy of {v} (a full copy: {why}) needs {}, {} free on {mount}",
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

pub(super) fn human(kib: u64) -> String {
    match kib {
        k if k >= 1024 * 1024 => format!("{:.1} GiB", k as f64 / (1024.0 * 1024.0)),
        k if k >= 1024 => format!("{} MiB", k / 1024),
        k => format!("{k} KiB"),
    }
}

pub(super) fn repo_server(c: &ContainerFacts) -> Verdict {
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
