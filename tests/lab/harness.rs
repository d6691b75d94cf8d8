//! The lab as the stories see it: its environment (from `tests/lab/lab env`), commands in
//! its containers, HTTP through its HAProxy, `git osa` pointed at it, and the waits that
//! make a story robust against a lab that takes its time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::running::Running;

/// The lab is one shared thing: its tests run one at a time.
static LAB: Mutex<()> = Mutex::new(());

const MARKED_FILE: &str = "keystone/api/discovery.py";
/// What `git osa` prints once HAProxy sends the traffic to the dev run.
pub const PINNED: &str = "now goes to it";

/// The lab, as `tests/lab/lab env` describes it: every name and address a story uses comes
/// from there, so the lab's script is the one place that knows them.
pub struct Lab {
    _guard: MutexGuard<'static, ()>,
    env: Vec<(String, String)>,
    pub lxc_path: String,
    socket: PathBuf,
    pub frontend: String,
    /// keystone's venv in both containers.
    pub venv: String,
    /// The container named the pre-2024.1 way, with underscores.
    pub old: Node,
    /// The container named the post-2024.1 way, with dashes.
    pub new: Node,
    /// The physical host the inventory puts both containers on.
    pub host: String,
    /// keystone's systemd unit in the containers.
    pub unit: String,
    /// The scope git-osa runs the dev unit in.
    pub scope: String,
    /// The HAProxy backend of both containers.
    pub backend: String,
    port: String,
}

/// A keystone container of the lab. Its HAProxy server has its name, as in OSA.
pub struct Node {
    pub name: String,
    pub address: String,
}

impl Node {
    /// `style` as `lab env` spells it: `OLD` or `NEW`.
    fn from_env(style: &str) -> Node {
        Node {
            name: var(&format!("GIT_OSA_LAB_{style}_CONTAINER")),
            address: var(&format!("GIT_OSA_LAB_{style}_ADDRESS")),
        }
    }
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the lab tests through tests/run (it brings the lab up and exports its environment)")
    })
}

impl Lab {
    pub fn get() -> Lab {
        let guard = LAB.lock().unwrap_or_else(|p| p.into_inner());
        let names = [
            "GIT_OSA_INVENTORY",
            "GIT_OSA_LXC_PATH",
            "GIT_OSA_HAPROXY_SOCKET",
            "GIT_OSA_LAB_FRONTEND",
            "GIT_OSA_LAB_PUBLIC_INDEX",
            "GIT_OSA_LAB_PUBLIC_ONLY",
            "GIT_OSA_LAB_KEYSTONE_VERSION",
        ];
        let env: Vec<(String, String)> = names.iter().map(|n| (n.to_string(), var(n))).collect();
        let unit = var("GIT_OSA_LAB_UNIT");
        let lab = Lab {
            _guard: guard,
            lxc_path: var("GIT_OSA_LXC_PATH"),
            socket: PathBuf::from(var("GIT_OSA_HAPROXY_SOCKET")),
            frontend: var("GIT_OSA_LAB_FRONTEND"),
            venv: var("GIT_OSA_LAB_VENV"),
            old: Node::from_env("OLD"),
            new: Node::from_env("NEW"),
            host: var("GIT_OSA_LAB_HOST"),
            scope: format!("git-osa-dev-{unit}.scope"),
            unit,
            backend: var("GIT_OSA_LAB_BACKEND"),
            port: var("GIT_OSA_LAB_KEYSTONE_PORT"),
            env,
        };
        lab.ensure_production();
        lab
    }

    /// A command in a container, as the lab's operator would run it.
    pub fn attach(&self, node: &Node, argv: &[&str]) -> Output {
        Command::new("lxc-attach")
            .args(["-P", &self.lxc_path, "-n", &node.name, "--clear-env", "--"])
            .args(argv)
            .output()
            .unwrap()
    }

    pub fn sh(&self, node: &Node, script: &str) -> String {
        let o = self.attach(node, &["sh", "-c", script]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `git osa ...` in `dir`, pointed at the lab.
    pub fn git_osa(&self, dir: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_git-osa"));
        cmd.current_dir(dir)
            .env("XDG_CONFIG_HOME", dir.join(".no-config"));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `git osa ARGS` in the background, its output collected.
    pub fn start(&self, dir: &Path, args: &[&str]) -> Running {
        let mut cmd = self.git_osa(dir);
        cmd.args(args);
        Running::spawn(cmd)
    }

    /// Waits until the install step's pip runs in its scope in `node`.
    pub fn wait_for_pip(&self, run: &mut Running, node: &Node) {
        run.wait_for(
            "git-osa: install the checkout into the venv",
            Duration::from_secs(120),
        );
        self.wait("pip running in its scope", Duration::from_secs(10), || {
            self.unit_state(node, "git-osa-step-keystone.scope") == "active"
        });
    }

    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.git_osa(dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// HTTP GET with curl: (status line + headers, body).
    pub fn http(&self, url: &str) -> (String, String) {
        let o = Command::new("curl")
            .args(["-s", "--noproxy", "*", "-m", "10", "-D", "-", url])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        match text.split_once("\r\n\r\n") {
            Some((h, b)) => (h.to_string(), b.to_string()),
            None => (text, String::new()),
        }
    }

    /// /v3 from the node itself, not through HAProxy.
    pub fn direct_v3(&self, node: &Node) -> String {
        self.http(&format!("http://{}:{}/v3", node.address, self.port))
            .1
    }

    pub fn servers(&self) -> Vec<(String, String)> {
        git_osa::haproxy::Haproxy::new(&self.socket)
            .servers()
            .unwrap()
            .into_iter()
            .filter(|s| s.backend == self.backend)
            .map(|s| (s.name, s.status))
            .collect()
    }

    pub fn server(&self, node: &Node) -> String {
        self.servers()
            .into_iter()
            .find(|(n, _)| *n == node.name)
            .map(|(_, s)| s)
            .unwrap_or_default()
    }

    /// The server is UP (a health check has passed since it was last enabled).
    pub fn wait_up(&self, node: &Node) {
        self.wait(
            &format!("{node} UP in HAProxy"),
            Duration::from_secs(30),
            || self.server(node) == "UP",
        );
    }

    pub fn pip_freeze(&self, node: &Node) -> String {
        let pip = format!("{}/bin/pip", self.venv);
        let o = self.attach(
            node,
            &[&pip, "freeze", "--all", "--disable-pip-version-check"],
        );
        assert!(
            o.status.success(),
            "pip freeze: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn unit_state(&self, node: &Node, unit: &str) -> String {
        self.sh(node, &format!("systemctl is-active {unit}"))
            .trim()
            .to_string()
    }

    /// What a dry run must leave exactly as it was: units, the venv, files git-osa would
    /// write, HAProxy.
    pub fn snapshot(&self, node: &Node) -> String {
        let script = format!(
            "systemctl is-active {unit} {scope}; ls -la /openstack/venvs; ls -la /var/lib/git-osa 2>&1; \
             ls -la /etc/keystone; find {venv} -newer /etc/hostname | head -5; {venv}/bin/pip freeze --all --disable-pip-version-check",
            unit = self.unit,
            scope = self.scope,
            venv = self.venv
        );
        format!("{}{:?}", self.sh(node, &script), self.servers())
    }

    pub fn wait(&self, what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
        let start = Instant::now();
        while !ok() {
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Every test starts from production: no session, units active, both servers UP.
    pub fn ensure_production(&self) {
        for node in [&self.old, &self.new] {
            if self.sh(node, "test -e /var/lib/git-osa && echo yes").trim() == "yes" {
                // A previous failed test left a session: restore it with the tool itself.
                let dir = tempfile::tempdir().unwrap();
                let o = self
                    .git_osa(dir.path())
                    .args(["restore", "--all"])
                    .output()
                    .unwrap();
                assert!(
                    o.status.success(),
                    "restore --all: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
        self.wait(
            "both keystone servers UP in HAProxy",
            Duration::from_secs(120),
            || {
                let s = self.servers();
                s.len() == 2 && s.iter().all(|(_, st)| st == "UP")
            },
        );
    }

    /// A keystone checkout from the lab, with one commit that changes what /v3 says.
    pub fn checkout(&self, marker: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keystone");
        let st = Command::new("tests/lab/lab")
            .arg("checkout")
            .arg(&path)
            .status()
            .unwrap();
        assert!(st.success(), "tests/lab/lab checkout");
        edit(&path, marker);
        git(
            &path,
            &["commit", "-q", "-am", "Say which code answers /v3"],
        );
        dir
    }
}

pub fn edit(repo: &Path, marker: &str) {
    let file = repo.join(MARKED_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("        'status': "))
        .expect("discovery.py has the status line");
    lines[i] = format!("        'status': '{marker}',");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    // The test's own identity: a fresh machine has none configured.
    let o = Command::new("git")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "git-osa test")
        .env("GIT_AUTHOR_EMAIL", "test@git-osa.invalid")
        .env("GIT_COMMITTER_NAME", "git-osa test")
        .env("GIT_COMMITTER_EMAIL", "test@git-osa.invalid")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}
