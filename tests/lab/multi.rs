//! The lab's other hosts as the multi-node stories see them (`tests/lab/lab env`,
//! `lib/multinode.sh`): infra2, whose containers exist only in its own namespaces and are
//! reached by ssh, and its HAProxy node; compute1, a metal host; the laptop, where no LXC
//! tool works. `git osa` is pointed at the multi-node inventory and the lab's ssh config;
//! the story's own checks (the operator's view) enter infra2's namespaces with `nsenter`,
//! never through its sshd, whose sessions the stories count.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::harness::{LAB, Lab, Node, ensure_mode, header, same, var};
use crate::running::Running;

pub struct Multi {
    /// The single-host side (aio1's containers, git osa's other settings), and the lock.
    pub lab: Lab,
    pub inventory: String,
    pub ssh_config: String,
    pub infra2: String,
    pub infra2_address: String,
    infra2_ns: Vec<String>,
    pub infra2_sshd_log: PathBuf,
    pub host_sshd_log: PathBuf,
    /// infra2's keystone container (named the pre-2024.1 way) and heat container.
    pub keystone2: Node,
    pub heat2: Node,
    /// infra2's HAProxy admin socket, as this host sees it.
    pub infra2_socket: PathBuf,
    /// infra2's HAProxy frontends (keystone, heat, heat-cfn).
    pub infra2_frontend: String,
    pub infra2_heat_frontend: String,
    pub infra2_cfn_frontend: String,
    /// compute1, the metal host (an LXC container to the lab's operator).
    pub compute: Node,
    compute_lxc: String,
    laptop_ns: Vec<String>,
    pub deploy_host: String,
    pub heat_venv: String,
}

pub const KEYSTONE_BACKEND: &str = "keystone_service-back";
pub const HEAT_BACKENDS: [&str; 2] = ["heat_api-back", "heat_api_cfn-back"];
pub const HEAT_UNITS: [&str; 3] = ["heat-api", "heat-api-cfn", "heat-engine"];

/// What a node shows of production, in one round trip: the units, git-osa's traces
/// (none in production), the venvs, the config folder, `pip freeze --all` and every file
/// of the venv (a folder's size left out, as in `harness::READ_PRODUCTION`: why there).
/// Arguments: the venv, the config folder, the units.
const READ: &str = r#"
venv=$1 conf=$2; shift 2
echo "@@ units"; systemctl is-active "$@"
echo "@@ traces"
if [ -e /var/lib/git-osa ]; then find /var/lib/git-osa | head -20; fi
find "$conf" -name '*git-osa*' 2>/dev/null
systemctl list-units --all --no-legend --plain 'git-osa-*' | awk '{print $1, $3, $4}'
echo "@@ venvs"; ls -A /openstack/venvs
echo "@@ config"; ls -A "$conf"
echo "@@ freeze"; "$venv/bin/pip" freeze --all --disable-pip-version-check 2>&1
echo "@@ files"; find "$venv" \( -type d -printf '%y %m %u:%g - %T@ %P\n' \) -o -printf '%y %m %u:%g %s %T@ %P\n' | LC_ALL=C sort
"#;

/// A node's production, read by [`Multi::production`].
pub struct NodeProduction {
    pub node: String,
    parts: BTreeMap<String, String>,
}

impl NodeProduction {
    pub fn part(&self, name: &str) -> &str {
        self.parts.get(name).map(String::as_str).unwrap_or_default()
    }
}

impl Multi {
    /// The multi-node lab in production: the host's HAProxy with the multi-node backends,
    /// no session on infra2 or compute1, every server UP on both HAProxy nodes.
    pub fn get() -> Multi {
        let guard = LAB.lock().unwrap_or_else(|p| p.into_inner());
        ensure_mode("multinode");
        let words = |v: &str| var(v).split_whitespace().map(String::from).collect();
        let m = Multi {
            lab: Lab::with(guard),
            inventory: var("GIT_OSA_LAB_MULTI_INVENTORY"),
            ssh_config: var("GIT_OSA_LAB_SSH_CONFIG"),
            infra2: var("GIT_OSA_LAB_INFRA2"),
            infra2_address: var("GIT_OSA_LAB_INFRA2_ADDRESS"),
            infra2_ns: words("GIT_OSA_LAB_INFRA2_NAMESPACES"),
            infra2_sshd_log: var("GIT_OSA_LAB_INFRA2_SSHD_LOG").into(),
            host_sshd_log: var("GIT_OSA_LAB_HOST_SSHD_LOG").into(),
            keystone2: Node {
                name: var("GIT_OSA_LAB_INFRA2_KEYSTONE"),
                address: var("GIT_OSA_LAB_INFRA2_KEYSTONE_ADDRESS"),
            },
            heat2: Node {
                name: var("GIT_OSA_LAB_INFRA2_HEAT"),
                address: var("GIT_OSA_LAB_INFRA2_HEAT_ADDRESS"),
            },
            infra2_socket: var("GIT_OSA_LAB_INFRA2_HAPROXY_SOCKET").into(),
            infra2_frontend: var("GIT_OSA_LAB_INFRA2_FRONTEND"),
            infra2_heat_frontend: var("GIT_OSA_LAB_INFRA2_HEAT_FRONTEND"),
            infra2_cfn_frontend: var("GIT_OSA_LAB_INFRA2_HEAT_CFN_FRONTEND"),
            compute: Node {
                name: var("GIT_OSA_LAB_COMPUTE"),
                address: var("GIT_OSA_LAB_COMPUTE_ADDRESS"),
            },
            compute_lxc: var("GIT_OSA_LAB_COMPUTE_LXC_PATH"),
            laptop_ns: words("GIT_OSA_LAB_LAPTOP_NAMESPACES"),
            deploy_host: var("GIT_OSA_LAB_DEPLOY_HOST"),
            heat_venv: var("GIT_OSA_LAB_HEAT_VENV"),
        };
        m.ensure_production();
        m
    }

    fn ensure_production(&self) {
        let nodes = [
            &self.keystone2,
            &self.heat2,
            &self.compute,
            &self.lab.old,
            &self.lab.new,
        ];
        if nodes
            .iter()
            .any(|n| self.sh(n, "test -e /var/lib/git-osa && echo yes").trim() == "yes")
        {
            // A story that failed left a session: the tool itself ends it.
            let dir = tempfile::tempdir().unwrap();
            let o = self.run(dir.path(), &["restore", "--all"]);
            assert!(o.status.success(), "restore --all: {o:?}");
        }
        self.wait_all_up();
    }

    /// Every server of the keystone and heat backends UP on both HAProxy nodes.
    pub fn wait_all_up(&self) {
        self.lab.wait(
            "every server UP on both HAProxy nodes",
            Duration::from_secs(120),
            || {
                self.sockets().iter().all(|s| {
                    let all = self.servers(s);
                    all.len() == 9 && all.iter().all(|(_, _, st)| st == "UP")
                })
            },
        );
    }

    /// The admin sockets of both HAProxy nodes: the host's, infra2's.
    pub fn sockets(&self) -> [PathBuf; 2] {
        [
            PathBuf::from(var("GIT_OSA_HAPROXY_SOCKET")),
            self.infra2_socket.clone(),
        ]
    }

    /// (backend, server, status) of keystone's and heat's backends on one node.
    pub fn servers(&self, socket: &Path) -> Vec<(String, String, String)> {
        git_osa::haproxy::Haproxy::local(socket)
            .servers()
            .unwrap_or_default()
            .into_iter()
            .filter(|s| {
                s.backend == KEYSTONE_BACKEND || HEAT_BACKENDS.contains(&s.backend.as_str())
            })
            .map(|s| (s.backend, s.name, s.status))
            .collect()
    }

    /// A server's status on each node: [the host's, infra2's].
    pub fn status_on_both(&self, backend: &str, server: &str) -> [String; 2] {
        self.sockets().map(|s| {
            self.servers(&s)
                .into_iter()
                .find(|(b, n, _)| b == backend && n == server)
                .map(|(_, _, st)| st)
                .unwrap_or_default()
        })
    }

    /// `git osa ...` in `dir`, pointed at the multi-node inventory and the lab's ssh config.
    pub fn git_osa(&self, dir: &Path) -> Command {
        let mut cmd = self.lab.git_osa(dir);
        cmd.env("GIT_OSA_INVENTORY", &self.inventory)
            .env("GIT_OSA_SSH_CONFIG", &self.ssh_config);
        cmd
    }

    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.git_osa(dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn start(&self, dir: &Path, args: &[&str]) -> Running {
        let mut cmd = self.git_osa(dir);
        cmd.args(args);
        Running::spawn(cmd)
    }

    /// `argv` in infra2's network, mount and UTS namespaces, as its operator would run it.
    pub fn in_infra2(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.infra2_ns[0]))
            .arg(format!("--mount={}", self.infra2_ns[1]))
            .arg(format!("--uts={}", self.infra2_ns[2]))
            .arg("--")
            .args(argv);
        cmd
    }

    /// A command on the node: in an infra2 container, in compute1, or in aio1's.
    pub fn attach(&self, node: &Node, argv: &[&str]) -> Output {
        let on_infra2 = node.name == self.keystone2.name || node.name == self.heat2.name;
        let lxc_path = if node.name == self.compute.name {
            &self.compute_lxc
        } else {
            &self.lab.lxc_path
        };
        let attach = [
            "lxc-attach",
            "-P",
            lxc_path,
            "-n",
            &node.name,
            "--clear-env",
            "--",
        ];
        let mut cmd = if on_infra2 {
            self.in_infra2(&attach)
        } else {
            let mut c = Command::new(attach[0]);
            c.args(&attach[1..]);
            c
        };
        cmd.args(argv).stdin(Stdio::null()).output().unwrap()
    }

    pub fn sh(&self, node: &Node, script: &str) -> String {
        String::from_utf8_lossy(&self.attach(node, &["sh", "-c", script]).stdout).into_owned()
    }

    pub fn unit_state(&self, node: &Node, unit: &str) -> String {
        self.sh(node, &format!("systemctl is-active {unit}"))
            .trim()
            .to_string()
    }

    /// The node's production: `venv`, its config folder `conf`, `units`.
    pub fn production(
        &self,
        node: &Node,
        venv: &str,
        conf: &str,
        units: &[&str],
    ) -> NodeProduction {
        let mut argv = vec!["sh", "-c", READ, "read-production", venv, conf];
        argv.extend_from_slice(units);
        let o = self.attach(node, &argv);
        let text = String::from_utf8_lossy(&o.stdout);
        let parts: BTreeMap<String, String> = text
            .split("@@ ")
            .filter_map(|s| s.split_once('\n'))
            .map(|(name, body)| (name.trim().to_string(), body.to_string()))
            .collect();
        let p = NodeProduction {
            node: node.name.clone(),
            parts,
        };
        assert!(
            p.part("units").lines().all(|l| l == "active") && !p.part("units").is_empty(),
            "{node}: {}",
            p.part("units")
        );
        assert_eq!(p.part("traces"), "", "{node} is not production");
        p
    }

    /// keystone's production in `node`.
    pub fn keystone_production(&self, node: &Node) -> NodeProduction {
        self.production(
            node,
            &self.lab.venv,
            "/etc/keystone",
            &[&self.lab.unit, "apache2"],
        )
    }

    /// heat's production in `node`.
    pub fn heat_production(&self, node: &Node) -> NodeProduction {
        self.production(node, &self.heat_venv, "/etc/heat", &HEAT_UNITS)
    }

    /// Production is back exactly as `before`: the same units active, packages, venv
    /// files and config, no trace of git-osa.
    pub fn assert_back(&self, before: &NodeProduction, now: NodeProduction) {
        let who = &before.node;
        for part in ["units", "venvs", "config", "freeze", "files"] {
            same(
                &format!("{part} in {who}"),
                before.part(part),
                now.part(part),
            );
        }
    }

    /// `GET url`, as the status line and headers, and the body.
    pub fn http(&self, url: &str) -> (String, String) {
        self.lab.http(url)
    }

    /// Every answer of `url` says `marker`, from the server `backend_header` names.
    pub fn served(&self, url: &str, marker: &str, server: &str) {
        self.lab.wait(
            &format!("{marker} at {url}"),
            Duration::from_secs(60),
            || self.http(url).1.contains(marker),
        );
        for _ in 0..8 {
            let (h, body) = self.http(url);
            assert!(body.contains(marker), "{url}: {h}\n{body}");
            assert_eq!(
                header(&h, "x-lab-backend").as_deref(),
                Some(server),
                "{url}: {h}"
            );
        }
    }

    /// How many commands sshd ran, as its log says ("Starting session").
    pub fn sessions(log: &Path) -> usize {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .matches("Starting session:")
            .count()
    }

    /// The lines of infra2's sshd log written since it had `from` bytes.
    pub fn infra2_log_since(&self, from: u64) -> String {
        let text = std::fs::read(&self.infra2_sshd_log).unwrap_or_default();
        String::from_utf8_lossy(&text[(from as usize).min(text.len())..]).into_owned()
    }

    pub fn infra2_log_len(&self) -> u64 {
        std::fs::metadata(&self.infra2_sshd_log)
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// `ssh -O CMD` for git-osa's master connection to `address` (made by git osa from
    /// this host, or in the laptop's namespaces): its output.
    fn control(&self, laptop: bool, cmd: &str, address: &str) -> Output {
        let argv = [
            "ssh",
            "-F",
            &self.ssh_config,
            "-o",
            "ControlPath=/run/git-osa-0/%C",
            "-O",
            cmd,
            address,
        ];
        let mut c = if laptop {
            self.in_laptop(None, &argv)
        } else {
            let mut c = Command::new(argv[0]);
            c.args(&argv[1..]);
            c
        };
        c.stdin(Stdio::null()).output().unwrap()
    }

    /// The pid of git-osa's master connection to `address` from this host.
    pub fn master_pid(&self, address: &str) -> Option<i32> {
        let o = self.control(false, "check", address);
        let err = String::from_utf8_lossy(&o.stderr);
        err.split("pid=")
            .nth(1)?
            .split(')')
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// The connection to `address` drops: git-osa's master ssh process killed (SIGKILL),
    /// as when the laptop is suspended or the network goes away.
    pub fn kill_master(&self, address: &str) {
        let pid = self
            .master_pid(address)
            .unwrap_or_else(|| panic!("no master connection to {address}"));
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }

    /// `argv` in the laptop's namespaces, in `dir` (a path the laptop sees too).
    pub fn in_laptop(&self, dir: Option<&Path>, argv: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.laptop_ns[0]))
            .arg(format!("--mount={}", self.laptop_ns[1]))
            .arg(format!("--uts={}", self.laptop_ns[2]));
        if let Some(d) = dir {
            cmd.arg(format!("--wdns={}", d.display()));
        }
        cmd.arg("--").args(argv);
        cmd
    }

    /// `git osa ARGS` on the laptop, in `dir`, with the deploy host set: the inventory, the
    /// LXC path and HAProxy's socket are paths on the deployment's hosts.
    pub fn laptop_git_osa(&self, dir: &Path, args: &[&str]) -> Command {
        let bin = env!("CARGO_BIN_EXE_git-osa");
        let mut argv = vec![bin];
        argv.extend_from_slice(args);
        let mut cmd = self.in_laptop(Some(dir), &argv);
        for k in ["GIT_OSA_LXC_PATH", "GIT_OSA_HAPROXY_SOCKET"] {
            cmd.env(k, var(k));
        }
        cmd.env("GIT_OSA_INVENTORY", &self.inventory)
            .env("GIT_OSA_SSH_CONFIG", &self.ssh_config)
            .env("GIT_OSA_DEPLOY_HOST", &self.deploy_host)
            .env("XDG_CONFIG_HOME", dir.join(".no-config"))
            .env_remove("GIT_OSA_LAB_FRONTEND");
        cmd
    }
}

/// The stories' master connections end with the story (git-osa leaves them for 300 s, as
/// OSA's ControlPersist): the next story, and `lab down`, find none.
impl Drop for Multi {
    fn drop(&mut self) {
        for address in [&self.infra2_address, &self.compute.address] {
            self.control(false, "exit", address);
        }
        let host = self
            .deploy_host
            .split('@')
            .next_back()
            .unwrap_or_default()
            .to_string();
        for address in [&host, &self.infra2_address, &self.compute.address] {
            self.control(true, "exit", address);
        }
    }
}
