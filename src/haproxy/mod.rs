//! HAProxy's admin socket (`stats socket ... level admin`; `/var/run/haproxy.stat` on OSA),
//! spoken to directly: one connection per command, the command line in, the answer out.
//!
//! Server names in OSA are inventory hostnames, backends are `<service>-back`. Runtime
//! changes made here are not persisted by HAProxy across a reload, which is why git-osa
//! records every change it makes in the session state and undoes it itself.

pub mod check;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::catalog::{Service, Unit};
use crate::error::Result;
use crate::inventory::Host;
use crate::transport::Transport;

/// The deployment's HAProxy: one node on an all-in-one, one per host of OSA's `haproxy`
/// group on a multi-node cloud (each runs a full HAProxy, keepalived moves the VIPs), all
/// changed alike. What servers the nodes show together is the least ready each is on any
/// of them ([`Haproxy::servers`]), so a wait for "UP" waits for every node.
#[derive(Debug, Clone)]
pub struct Haproxy {
    nodes: Vec<Node>,
    /// HAProxy's checks as its configuration says them, read at the first
    /// [`Haproxy::check`].
    checks: Arc<OnceLock<check::Checks>>,
    /// A check found the servers out of reach from where git-osa runs: HAProxy's own
    /// checks decide from then on.
    out_of_reach: Arc<AtomicBool>,
}

/// One HAProxy: its admin socket, on the host `via` reaches.
#[derive(Debug, Clone)]
pub struct Node {
    /// The host, as messages say it (`this host`, `infra2`).
    pub name: String,
    pub socket: PathBuf,
    pub via: Arc<dyn Transport>,
}

/// One server of one HAProxy backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRef {
    pub backend: String,
    pub server: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub backend: String,
    pub name: String,
    /// `UP`, `DOWN`, `MAINT`, `DRAIN`, `no check`, or a transition like `UP 1/2`.
    pub status: String,
    pub addr: Option<String>,
    /// Where HAProxy has several nodes and another shows this server more ready than
    /// `status` (which is the least ready of them): that node and its status.
    pub elsewhere: Option<(String, String)>,
}

/// A server's state, by what it means for traffic rather than by its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Up and taking traffic (`UP`, or `no check`: never checked, always up).
    Up,
    /// Up and taking traffic, with failed checks counting towards down (`UP 1/3`); also
    /// what a server shows for a moment after it leaves maintenance.
    GoingDown,
    /// Down, no traffic (`DOWN`).
    Down,
    /// Down, no traffic, with passed checks counting towards up (`DOWN 1/2`).
    GoingUp,
    /// Its checks pass but it takes no new traffic (`DRAIN`, `NOLB`).
    Draining,
    /// Taken out by an operator or by git-osa: no traffic, no checks (`MAINT`,
    /// `MAINT(via)`, `MAINT(resolution)`).
    Maint,
    /// Something this version of git-osa does not know.
    Other(String),
}

impl State {
    pub fn parse(status: &str) -> State {
        let s = status.trim();
        if s == "no check" {
            return State::Up;
        }
        let word = s.split([' ', '(']).next().unwrap_or_default();
        // `UP 1/3`, `DOWN 1/2`: a state on its way to the other one.
        let transition = s[word.len()..]
            .trim_start()
            .starts_with(|c: char| c.is_ascii_digit());
        match (word, transition) {
            ("UP", false) => State::Up,
            ("UP", true) => State::GoingDown,
            ("DOWN", false) => State::Down,
            ("DOWN", true) => State::GoingUp,
            ("DRAIN" | "NOLB", _) => State::Draining,
            ("MAINT", _) => State::Maint,
            _ => State::Other(s.to_string()),
        }
    }
}

impl Server {
    pub fn state(&self) -> State {
        State::parse(&self.status)
    }

    /// Takes traffic now.
    pub fn takes_traffic(&self) -> bool {
        matches!(self.state(), State::Up | State::GoingDown)
    }

    /// Takes traffic now on at least one HAProxy node (a pin one node forgot, by a
    /// restart, is lost even while the others keep it).
    pub fn takes_traffic_anywhere(&self) -> bool {
        self.takes_traffic()
            || self.elsewhere.as_ref().is_some_and(|(_, status)| {
                matches!(State::parse(status), State::Up | State::GoingDown)
            })
    }

    /// Fully up: its checks pass and it takes traffic.
    pub fn is_up(&self) -> bool {
        self.state() == State::Up
    }

    pub fn is_disabled(&self) -> bool {
        self.state() == State::Maint
    }

    /// Its health check passes, whether or not it takes traffic (a drained server that
    /// answers is healthy).
    pub fn is_healthy(&self) -> bool {
        matches!(self.state(), State::Up | State::GoingDown | State::Draining)
    }

    pub fn reference(&self) -> ServerRef {
        ServerRef {
            backend: self.backend.clone(),
            server: self.name.clone(),
        }
    }
}

/// The HAProxy servers that stand for `host` in the backends of `units`: named after it
/// (OSA names servers after inventory hosts, some deployments after containers) or at
/// its address. The one matcher status, run and restore use.
pub fn servers_of(all: &[Server], host: &Host, units: &[Unit]) -> Vec<Server> {
    let backends: Vec<String> = units.iter().filter_map(Service::backend).collect();
    all.iter()
        .filter(|s| backends.contains(&s.backend) && stands_for(s, host))
        .cloned()
        .collect()
}

/// `server` is `host`'s, whatever its backend.
pub fn stands_for(server: &Server, host: &Host) -> bool {
    let addr = server
        .addr
        .as_deref()
        .and_then(|a| a.rsplit_once(':'))
        .map(|(ip, _)| ip);
    server.name == host.inventory_name
        || server.name == host.container_name
        || (addr.is_some() && addr == host.address.as_deref())
}

impl Haproxy {
    /// The HAProxy of this host.
    pub fn local(socket: &Path) -> Haproxy {
        Haproxy::new(socket, Arc::new(crate::transport::Local::default()))
    }

    /// One HAProxy, on the host `via` reaches.
    pub fn new(socket: &Path, via: Arc<dyn Transport>) -> Haproxy {
        Haproxy::of(vec![Node {
            name: "this host".into(),
            socket: socket.to_path_buf(),
            via,
        }])
    }

    /// Several nodes, changed alike; at least one.
    pub fn of(nodes: Vec<Node>) -> Haproxy {
        assert!(!nodes.is_empty(), "a HAProxy has a node");
        Haproxy {
            nodes,
            checks: Arc::default(),
            out_of_reach: Arc::default(),
        }
    }

    /// Makes HAProxy's health check of `server` from here, as HAProxy would make it
    /// ([`check`]), so that a server whose new process answers need not wait for
    /// HAProxy's next check, one `inter` away. `None` where git-osa cannot make that
    /// check as HAProxy does, or cannot reach the server from where it runs.
    pub fn check(&self, server: &Server) -> Option<check::Verdict> {
        if self.out_of_reach.load(Ordering::Relaxed) {
            return None;
        }
        let checks = self.checks.get_or_init(|| self.read_checks());
        let one = checks.of(&server.backend, &server.name)?;
        let started = std::time::Instant::now();
        let verdict = one.run();
        log::debug!(
            target: "git_osa::haproxy",
            "HAProxy's check of {}/{}, made by git-osa: {verdict:?} ({} ms)",
            server.backend,
            server.name,
            started.elapsed().as_millis()
        );
        if matches!(verdict, check::Verdict::Unreachable(_)) {
            self.out_of_reach.store(true, Ordering::Relaxed);
            return None;
        }
        Some(verdict)
    }

    /// The checks of the first node whose configuration can be read.
    fn read_checks(&self) -> check::Checks {
        for node in &self.nodes {
            match node.config() {
                Ok(text) => return check::Checks::parse(&text),
                Err(e) => log::debug!(
                    target: "git_osa::haproxy",
                    "HAProxy's configuration on {} cannot be read ({e:#}): its checks decide alone",
                    node.name
                ),
            }
        }
        check::Checks::default()
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The admin socket's path (the same on every node, as OSA configures it).
    pub fn socket(&self) -> &Path {
        &self.nodes[0].socket
    }

    /// Where the plans say HAProxy is: its socket, and the nodes when there are several.
    pub fn label(&self) -> String {
        match self.nodes.as_slice() {
            [one] => one.socket.display().to_string(),
            nodes => {
                let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
                format!("{} on {}", self.socket().display(), names.join(", "))
            }
        }
    }

    /// What to tell a user whose socket cannot be reached (of the first node that
    /// cannot be).
    pub fn hint(&self) -> String {
        self.nodes
            .iter()
            .find(|n| n.command("show info").is_err())
            .unwrap_or(&self.nodes[0])
            .hint()
    }

    /// Every server of every backend as the nodes show them together: where they
    /// disagree, the least ready (in maintenance on one node is in maintenance).
    pub fn servers(&self) -> Result<Vec<Server>> {
        // Each server with every node's view of it, in the order first seen.
        let mut seen: Vec<(Server, Vec<(&str, String)>)> = Vec::new();
        for node in &self.nodes {
            for s in node.servers()? {
                let view = (node.name.as_str(), s.status.clone());
                match seen
                    .iter_mut()
                    .find(|(m, _)| m.backend == s.backend && m.name == s.name)
                {
                    Some((_, views)) => views.push(view),
                    None => seen.push((s, vec![view])),
                }
            }
        }
        Ok(seen
            .into_iter()
            .map(|(s, views)| {
                let ready = |status: &str| readiness(&State::parse(status));
                let least = views.iter().min_by_key(|(_, st)| ready(st)).unwrap();
                let most = views.iter().max_by_key(|(_, st)| ready(st)).unwrap();
                Server {
                    status: least.1.clone(),
                    elsewhere: (ready(&most.1) > ready(&least.1))
                        .then(|| (most.0.to_string(), most.1.clone())),
                    ..s
                }
            })
            .collect())
    }

    /// Each node's servers, or why they cannot be read.
    pub fn by_node(&self) -> Vec<(&Node, Result<Vec<Server>>)> {
        self.nodes.iter().map(|n| (n, n.servers())).collect()
    }

    /// Makes the change on every node. Where one refuses, those already changed are put
    /// back as they were, and the error names the node.
    pub fn set(&self, backend: &str, server: &str, change: Change) -> Result<()> {
        let [one] = self.nodes.as_slice() else {
            return self.set_everywhere(backend, server, change);
        };
        one.set(backend, server, change)
    }

    fn set_everywhere(&self, backend: &str, server: &str, change: Change) -> Result<()> {
        let mut done: Vec<(&Node, Option<Change>)> = Vec::new();
        for node in &self.nodes {
            let was = node
                .servers()
                .ok()
                .and_then(|all| {
                    all.into_iter()
                        .find(|s| s.backend == backend && s.name == server)
                })
                .and_then(|s| Change::back_to(&s.state()));
            match node.set(backend, server, change) {
                Ok(()) => done.push((node, was)),
                Err(e) => {
                    for (n, was) in done {
                        if let Some(was) = was {
                            let _ = n.set(backend, server, was);
                        }
                    }
                    return Err(e.hint(format!(
                        "HAProxy on {} refused it; the nodes changed before it were put back",
                        node.name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// How ready a state is to take traffic, for the nodes' least-ready view.
fn readiness(state: &State) -> u8 {
    match state {
        State::Up => 5,
        State::GoingDown => 4,
        State::Draining => 3,
        State::GoingUp => 2,
        State::Down => 1,
        State::Maint | State::Other(_) => 0,
    }
}

impl Node {
    /// What to tell a user whose socket cannot be reached.
    pub fn hint(&self) -> String {
        if self.via.remote() {
            return format!(
                "HAProxy on {} is asked over ssh: once ssh reaches {0} (`git osa doctor` checks it), its socket is {}",
                self.name,
                self.socket.display()
            );
        }
        // OSA's socket is root's alone (`mode 600`): for another user it is the right
        // socket, and the fix is to be root, not another path.
        let denied = self.via.haproxy(&self.socket, "help").is_err_and(|e| {
            e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
            })
        });
        if denied {
            return format!(
                "{} is there, but this user may not use it (OSA's haproxy.cfg makes it `mode 600`, root's alone): run git osa as root, as every OSA operation (sudo -E git osa ...)",
                self.socket.display()
            );
        }
        format!(
            "point --haproxy-socket (or GIT_OSA_HAPROXY_SOCKET) at the `stats socket ... level admin` of haproxy.cfg (OSA: /var/run/haproxy.stat); it is {} now",
            self.socket.display()
        )
    }

    /// Sends one command and returns HAProxy's answer; logged (`-v`) with how long it took.
    pub fn command(&self, command: &str) -> Result<String> {
        if command.contains(['\n', '\r', ';']) {
            return Err(
                anyhow::anyhow!("refusing a multi-command HAProxy request: {command:?}").into(),
            );
        }
        let started = std::time::Instant::now();
        let answer = self.via.haproxy(&self.socket, command);
        log::debug!(
            target: "git_osa::haproxy",
            "HAProxy {}: {command} ({} ms, {})",
            self.socket.display(),
            started.elapsed().as_millis(),
            match &answer {
                Ok(a) if a.trim().is_empty() => "answered nothing".to_string(),
                Ok(a) => format!("answered {} lines", a.lines().count()),
                Err(e) => format!("{e:#}"),
            }
        );
        Ok(answer?)
    }

    /// The configuration this HAProxy runs: the files (or folders of `*.cfg`) of its
    /// `-f` arguments, read from its process's command line (`show info` names the pid).
    fn config(&self) -> anyhow::Result<String> {
        let info = self.command("show info")?;
        let pid: u32 = info
            .lines()
            .find_map(|l| l.strip_prefix("Pid:"))
            .and_then(|p| p.trim().parse().ok())
            .context("`show info` names no Pid")?;
        let cmdline = self
            .via
            .read(Path::new(&format!("/proc/{pid}/cmdline")))?
            .with_context(|| format!("HAProxy's process {pid} is not there"))?;
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let mut files: Vec<&str> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            match a.strip_prefix("-f") {
                Some("") => files.extend(args.get(i + 1).map(String::as_str)),
                Some(path) => files.push(path),
                None => {}
            }
        }
        if files.is_empty() {
            files.push("/etc/haproxy/haproxy.cfg");
        }
        let mut text = String::new();
        for f in files {
            let path = Path::new(f);
            if !path.is_absolute() {
                bail!("HAProxy reads {f}, relative to a folder git-osa does not know");
            }
            let one = match self.via.read(path) {
                Ok(Some(bytes)) => vec![bytes],
                Ok(None) => bail!("{f} is not there"),
                // A folder: its `*.cfg` files in order, as HAProxy reads them.
                Err(_) => {
                    let mut names = self.via.list(path)?;
                    names.retain(|n| n.ends_with(".cfg"));
                    names.sort();
                    let mut all = Vec::new();
                    for n in names {
                        all.extend(self.via.read(&path.join(n))?);
                    }
                    all
                }
            };
            for bytes in one {
                text.push_str(&String::from_utf8_lossy(&bytes));
                text.push('\n');
            }
        }
        Ok(text)
    }

    /// Every server of every backend, from `show stat`.
    pub fn servers(&self) -> Result<Vec<Server>> {
        let csv = self.command("show stat")?;
        parse_stat(&csv).map_err(Into::into)
    }

    /// `set server <backend>/<server> state|health ...`: the runtime change, checked.
    pub fn set(&self, backend: &str, server: &str, change: Change) -> Result<()> {
        check_name(backend)?;
        check_name(server)?;
        let command = change.command(backend, server);
        let answer = self.command(&command)?;
        if !answer.trim().is_empty() {
            return Err(anyhow::anyhow!("HAProxy refused `{command}`: {}", answer.trim()).into());
        }
        Ok(())
    }
}

/// A runtime change to one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Takes traffic again.
    Ready,
    /// No new traffic, health checks go on (so the dev code's health can be seen).
    Drain,
    /// No traffic, no checks.
    Maint,
    /// Marks the server down now instead of after `fall` failed checks; only a check
    /// that passes after it brings it up, so "up" afterwards means a check passed
    /// against the new code.
    HealthDown,
    /// Marks the server up now, once a check passed against what runs (`DOWN 1/3`),
    /// instead of after `rise` passing checks (OSA's `inter 12000 rise 3`: up to 36 s).
    HealthUp,
}

impl Change {
    pub fn words(self) -> &'static str {
        match self {
            Change::Ready => "state ready",
            Change::Drain => "state drain",
            Change::Maint => "state maint",
            Change::HealthDown => "health down",
            Change::HealthUp => "health up",
        }
    }

    /// The change that puts a server back in `state` (its admin state; health is
    /// HAProxy's checks' business).
    pub fn back_to(state: &State) -> Option<Change> {
        match state {
            State::Maint => Some(Change::Maint),
            State::Draining => Some(Change::Drain),
            State::Up | State::GoingDown | State::Down | State::GoingUp => Some(Change::Ready),
            State::Other(_) => None,
        }
    }

    /// The runtime command that makes the change (what `--dry-run --json` shows).
    pub fn command(self, backend: &str, server: &str) -> String {
        format!("set server {backend}/{server} {}", self.words())
    }
}

fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c == ';')
    {
        bail!("not a HAProxy backend or server name: {name:?}");
    }
    Ok(())
}

/// Parses `show stat` CSV, keeping server rows only.
pub fn parse_stat(csv: &str) -> anyhow::Result<Vec<Server>> {
    let mut lines = csv.lines();
    let header = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .context("HAProxy's `show stat` answer has no header (is this an admin socket?)")?;
    let cols: Vec<&str> = header.split(',').collect();
    let col = |name: &str| cols.iter().position(|c| *c == name);
    let (px, sv, st) = match (col("pxname"), col("svname"), col("status")) {
        (Some(a), Some(b), Some(c)) => (a, b, c),
        _ => bail!("HAProxy's `show stat` header lacks pxname/svname/status"),
    };
    let addr = col("addr");
    let mut servers = Vec::new();
    for line in lines {
        let f = csv_fields(line);
        if f.len() <= st || matches!(f[sv].as_str(), "FRONTEND" | "BACKEND") {
            continue;
        }
        servers.push(Server {
            backend: f[px].clone(),
            name: f[sv].clone(),
            status: f[st].clone(),
            addr: addr
                .and_then(|i| f.get(i))
                .filter(|a| !a.is_empty())
                .cloned(),
            elsewhere: None,
        });
    }
    Ok(servers)
}

/// One CSV record: fields may be quoted (`"a,b"`, with `""` for a quote), as HAProxy
/// quotes a `last_chk` or `check_desc` that holds a comma.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Fake, Sent};

    const STAT: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,addr\n\
keystone_service-front-1,FRONTEND,,,0,1,262124,3,0,0,0,0,0,,,,,OPEN,,\n\
keystone_service-back,aio1_keystone_container-6c0f3a1e,0,0,0,1,,2,0,0,,0,,0,0,0,0,UP,1,172.29.236.11:5000\n\
keystone_service-back,aio1-keystone-container-b7d24e95,0,0,0,1,,1,0,0,,0,,0,0,0,0,MAINT,1,172.29.236.12:5000\n\
keystone_service-back,BACKEND,0,0,0,1,,3,0,0,0,0,,0,0,0,0,UP,1,\n";

    #[test]
    fn parses_servers_and_skips_frontends_and_backend_totals() {
        let s = parse_stat(STAT).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "aio1_keystone_container-6c0f3a1e");
        assert!(s[0].is_up());
        assert_eq!(s[0].addr.as_deref(), Some("172.29.236.11:5000"));
        assert!(s[1].is_disabled() && !s[1].is_up());
    }

    #[test]
    fn states_are_read_by_meaning() {
        let at = |status: &str| Server {
            backend: "b".into(),
            name: "s".into(),
            status: status.into(),
            addr: None,
            elsewhere: None,
        };
        for (status, state, traffic, healthy) in [
            ("UP", State::Up, true, true),
            ("no check", State::Up, true, true),
            ("UP 1/2", State::GoingDown, true, true),
            ("DOWN", State::Down, false, false),
            ("DOWN 1/2", State::GoingUp, false, false),
            ("DRAIN", State::Draining, false, true),
            ("NOLB", State::Draining, false, true),
            ("MAINT", State::Maint, false, false),
            ("MAINT(via)", State::Maint, false, false),
            ("MAINT (resolution)", State::Maint, false, false),
        ] {
            let s = at(status);
            assert_eq!(s.state(), state, "{status}");
            assert_eq!(s.takes_traffic(), traffic, "{status}");
            assert_eq!(s.is_healthy(), healthy, "{status}");
        }
        assert!(!at("UP 1/2").is_up(), "not fully up yet");
        assert!(matches!(at("STOPPED").state(), State::Other(_)));
    }

    /// Regression: a `last_chk` with a comma in it shifted every later column.
    #[test]
    fn quoted_fields_with_commas_stay_one_field() {
        let stat = "# pxname,svname,last_chk,status,addr\n\
b,s1,\"Layer7 wrong status, code: 503\",DOWN,10.0.0.1:80\n\
b,s2,\"say \"\"hi\"\"\",UP,10.0.0.2:80\n";
        let s = parse_stat(stat).unwrap();
        assert_eq!(s[0].status, "DOWN");
        assert_eq!(s[0].addr.as_deref(), Some("10.0.0.1:80"));
        assert_eq!(s[1].status, "UP");
        assert_eq!(csv_fields(r#"a,"b ""c"", d",e"#), ["a", r#"b "c", d"#, "e"]);
    }

    #[test]
    fn rejects_answers_that_are_not_stat_csv() {
        assert!(parse_stat("Unknown command.\n").is_err());
    }

    fn server(backend: &str, name: &str, addr: &str) -> Server {
        Server {
            backend: backend.into(),
            name: name.into(),
            status: "UP".into(),
            addr: Some(addr.into()),
            elsewhere: None,
        }
    }

    #[test]
    fn servers_are_those_of_the_chosen_units_backends_by_name_or_address() {
        let heat = crate::catalog::Catalog::builtin()
            .by_name("heat")
            .unwrap()
            .clone();
        let host = Host {
            inventory_name: "aio1_heat_api_container-36e270c9".into(),
            container_name: "aio1_heat_api_container-36e270c9".into(),
            physical_host: None,
            address: Some("172.29.238.60".into()),
            metal: false,
        };
        let all = vec![
            server(
                "heat_api-back",
                "aio1_heat_api_container-36e270c9",
                "172.29.238.60:8004",
            ),
            server("heat_api_cfn-back", "renamed-by-hand", "172.29.238.60:8000"),
            server(
                "heat_api-back",
                "aio1_heat_api_container-99999999",
                "172.29.238.61:8004",
            ),
            server(
                "keystone_service-back",
                "aio1_heat_api_container-36e270c9",
                "172.29.238.60:5000",
            ),
        ];
        let names = |units: &[Unit]| -> Vec<String> {
            servers_of(&all, &host, units)
                .into_iter()
                .map(|s| format!("{}/{}", s.backend, s.name))
                .collect()
        };
        assert_eq!(
            names(&heat.units),
            [
                "heat_api-back/aio1_heat_api_container-36e270c9",
                "heat_api_cfn-back/renamed-by-hand"
            ]
        );
        let engine: Vec<Unit> = heat
            .units
            .iter()
            .filter(|u| u.name == "heat-engine")
            .cloned()
            .collect();
        assert!(
            names(&engine).is_empty(),
            "heat-engine is not balanced: nothing to drain"
        );
    }

    fn two_nodes(second: &[(&str, &str, &str, &str)]) -> (Haproxy, Arc<Fake>, Arc<Fake>) {
        let one = Arc::new(Fake::with_servers(&[(
            "keystone_service-back",
            "ks1",
            "172.29.236.11:5000",
            "UP",
        )]));
        let two = Arc::new(Fake::with_servers(second));
        let node = |name: &str, via: Arc<Fake>| Node {
            name: name.into(),
            socket: "/var/run/haproxy.stat".into(),
            via,
        };
        let h = Haproxy::of(vec![
            node("infra1", one.clone()),
            node("infra2", two.clone()),
        ]);
        (h, one, two)
    }

    #[test]
    fn several_nodes_show_each_server_at_its_least_ready() {
        let (h, _, _) = two_nodes(&[
            (
                "keystone_service-back",
                "ks1",
                "172.29.236.11:5000",
                "MAINT",
            ),
            ("keystone_service-back", "ks2", "172.29.236.12:5000", "UP"),
        ]);
        let all = h.servers().unwrap();
        let status = |name: &str| {
            all.iter()
                .find(|s| s.name == name)
                .map(|s| s.status.clone())
                .unwrap()
        };
        assert_eq!(
            status("ks1"),
            "MAINT",
            "in maintenance on one node is in maintenance"
        );
        let ks1 = all.iter().find(|s| s.name == "ks1").unwrap();
        assert_eq!(ks1.elsewhere, Some(("infra1".into(), "UP".into())));
        assert!(ks1.takes_traffic_anywhere() && !ks1.takes_traffic());
        assert_eq!(
            status("ks2"),
            "UP",
            "a server only one node has is still shown"
        );
        assert_eq!(h.label(), "/var/run/haproxy.stat on infra1, infra2");
    }

    #[test]
    fn a_change_one_node_refuses_is_undone_on_the_nodes_already_changed() {
        // infra2 has no such server: it refuses, and infra1 goes back to ready.
        let (h, one, _) = two_nodes(&[]);
        let e = h
            .set("keystone_service-back", "ks1", Change::Maint)
            .unwrap_err();
        assert!(e.to_string().contains("No such server"), "{e}");
        assert!(
            e.hints()
                .iter()
                .any(|h| h.contains("HAProxy on infra2 refused it"))
        );
        let sets: Vec<Sent> = one
            .sent()
            .into_iter()
            .filter(|s| matches!(s, Sent::Haproxy(l) if l.starts_with("set ")))
            .collect();
        assert_eq!(
            sets,
            [
                Sent::Haproxy("set server keystone_service-back/ks1 state maint".into()),
                Sent::Haproxy("set server keystone_service-back/ks1 state ready".into()),
            ]
        );
    }

    #[test]
    fn names_cannot_smuggle_commands() {
        assert!(check_name("back; shutdown").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("keystone_service-back").is_ok());
    }
}
