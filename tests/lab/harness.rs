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

pub const OLD: &str = "aio1_keystone_container-6c0f3a1e";
pub const NEW: &str = "aio1-keystone-container-b7d24e95";
pub const UNIT: &str = "keystone-wsgi-public";
pub const SCOPE: &str = "git-osa-dev-keystone-wsgi-public.scope";
const MARKED_FILE: &str = "keystone/api/discovery.py";
/// What `git osa` prints once HAProxy sends the traffic to the dev run.
pub const PINNED: &str = "now goes to it";

pub struct Lab {
    _guard: MutexGuard<'static, ()>,
    env: Vec<(String, String)>,
    pub lxc_path: String,
    socket: PathBuf,
    pub frontend: String,
    version: String,
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
        let lab = Lab {
            _guard: guard,
            lxc_path: var("GIT_OSA_LXC_PATH"),
            socket: PathBuf::from(var("GIT_OSA_HAPROXY_SOCKET")),
            frontend: var("GIT_OSA_LAB_FRONTEND"),
            version: var("GIT_OSA_LAB_KEYSTONE_VERSION"),
            env,
        };
        lab.ensure_production();
        lab
    }

    pub fn venv(&self) -> String {
        format!("/openstack/venvs/keystone-{}", self.version)
    }

    /// A command in a container, as the lab's operator would run it.
    pub fn attach(&self, container: &str, argv: &[&str]) -> Output {
        Command::new("lxc-attach")
            .args(["-P", &self.lxc_path, "-n", container, "--clear-env", "--"])
            .args(argv)
            .output()
            .unwrap()
    }

    pub fn sh(&self, container: &str, script: &str) -> String {
        let o = self.attach(container, &["sh", "-c", script]);
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

    /// Waits until the install step's pip runs in its scope in `container`.
    pub fn wait_for_pip(&self, run: &mut Running, container: &str) {
        run.wait_for(
            "git-osa: install the checkout into the venv",
            Duration::from_secs(120),
        );
        self.wait("pip running in its scope", Duration::from_secs(10), || {
            self.unit_state(container, "git-osa-step-keystone.scope") == "active"
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

    pub fn direct_v3(&self, container: &str) -> String {
        let ip = if container == OLD {
            "172.29.236.11"
        } else {
            "172.29.236.12"
        };
        self.http(&format!("http://{ip}:5000/v3")).1
    }

    pub fn servers(&self) -> Vec<(String, String)> {
        git_osa::haproxy::Haproxy::new(&self.socket)
            .servers()
            .unwrap()
            .into_iter()
            .filter(|s| s.backend == "keystone_service-back")
            .map(|s| (s.name, s.status))
            .collect()
    }

    pub fn server(&self, name: &str) -> String {
        self.servers()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .unwrap_or_default()
    }

    /// The server is UP (a health check has passed since it was last enabled).
    pub fn wait_up(&self, name: &str) {
        self.wait(
            &format!("{name} UP in HAProxy"),
            Duration::from_secs(30),
            || self.server(name) == "UP",
        );
    }

    pub fn pip_freeze(&self, container: &str) -> String {
        let pip = format!("{}/bin/pip", self.venv());
        let o = self.attach(
            container,
            &[&pip, "freeze", "--all", "--disable-pip-version-check"],
        );
        assert!(
            o.status.success(),
            "pip freeze: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn unit_state(&self, container: &str, unit: &str) -> String {
        self.sh(container, &format!("systemctl is-active {unit}"))
            .trim()
            .to_string()
    }

    /// What a dry run must leave exactly as it was: units, the venv, files git-osa would
    /// write, HAProxy.
    pub fn snapshot(&self, container: &str) -> String {
        let script = format!(
            "systemctl is-active {UNIT} {SCOPE}; ls -la /openstack/venvs; ls -la /var/lib/git-osa 2>&1; \
             ls -la /etc/keystone; find {venv} -newer /etc/hostname | head -5; {venv}/bin/pip freeze --all --disable-pip-version-check",
            venv = self.venv()
        );
        format!("{}{:?}", self.sh(container, &script), self.servers())
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
        for c in [OLD, NEW] {
            if self.sh(c, "test -e /var/lib/git-osa && echo yes").trim() == "yes" {
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
