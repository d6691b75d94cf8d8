//! End to end, against the lab: real LXC containers with systemd, a real keystone under
//! uWSGI, a real HAProxy, real git checkouts. Each test tells a user's story and asserts
//! what the user would see: HTTP answers through HAProxy, `git osa` output and exit codes,
//! processes and files in the containers.
//!
//! They need the lab up and its environment: `tests/run` does both
//! (`tests/lab/lab up; eval "$(tests/lab/lab env)"`), and runs them with `--include-ignored`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The lab is one shared thing: its tests run one at a time.
static LAB: Mutex<()> = Mutex::new(());

const OLD: &str = "aio1_keystone_container-6c0f3a1e";
const NEW: &str = "aio1-keystone-container-b7d24e95";
const UNIT: &str = "keystone-wsgi-public";
const SCOPE: &str = "git-osa-dev-keystone-wsgi-public.scope";
const MARKED_FILE: &str = "keystone/api/discovery.py";

struct Lab {
    _guard: MutexGuard<'static, ()>,
    env: Vec<(String, String)>,
    lxc_path: String,
    socket: PathBuf,
    frontend: String,
    version: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the lab tests through tests/run (it brings the lab up and exports its environment)")
    })
}

impl Lab {
    fn get() -> Lab {
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

    fn venv(&self) -> String {
        format!("/openstack/venvs/keystone-{}", self.version)
    }

    /// A command in a container, as the lab's operator would run it.
    fn attach(&self, container: &str, argv: &[&str]) -> Output {
        Command::new("lxc-attach")
            .args(["-P", &self.lxc_path, "-n", container, "--clear-env", "--"])
            .args(argv)
            .output()
            .unwrap()
    }

    fn sh(&self, container: &str, script: &str) -> String {
        let o = self.attach(container, &["sh", "-c", script]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `git osa ...` in `dir`, pointed at the lab.
    fn git_osa(&self, dir: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_git-osa"));
        cmd.current_dir(dir)
            .env("XDG_CONFIG_HOME", dir.join(".no-config"));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `git osa ARGS` in the background, its output collected.
    fn start(&self, dir: &Path, args: &[&str]) -> Running {
        let mut cmd = self.git_osa(dir);
        cmd.args(args);
        Running::spawn(cmd)
    }

    /// Waits until the install step's pip runs in its scope in `container`.
    fn wait_for_pip(&self, run: &mut Running, container: &str) {
        run.wait_for(
            "git-osa: install the checkout into the venv",
            Duration::from_secs(120),
        );
        self.wait("pip running in its scope", Duration::from_secs(10), || {
            self.unit_state(container, "git-osa-step-keystone.scope") == "active"
        });
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.git_osa(dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// HTTP GET with curl: (status line + headers, body).
    fn http(&self, url: &str) -> (String, String) {
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

    fn direct_v3(&self, container: &str) -> String {
        let ip = if container == OLD {
            "172.29.236.11"
        } else {
            "172.29.236.12"
        };
        self.http(&format!("http://{ip}:5000/v3")).1
    }

    fn servers(&self) -> Vec<(String, String)> {
        git_osa::haproxy::Haproxy::new(&self.socket)
            .servers()
            .unwrap()
            .into_iter()
            .filter(|s| s.backend == "keystone_service-back")
            .map(|s| (s.name, s.status))
            .collect()
    }

    fn server(&self, name: &str) -> String {
        self.servers()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .unwrap_or_default()
    }

    /// The server is UP (a health check has passed since it was last enabled).
    fn wait_up(&self, name: &str) {
        self.wait(
            &format!("{name} UP in HAProxy"),
            Duration::from_secs(30),
            || self.server(name) == "UP",
        );
    }

    fn pip_freeze(&self, container: &str) -> String {
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

    fn unit_state(&self, container: &str, unit: &str) -> String {
        self.sh(container, &format!("systemctl is-active {unit}"))
            .trim()
            .to_string()
    }

    /// What a dry run must leave exactly as it was: units, the venv, files git-osa would
    /// write, HAProxy.
    fn snapshot(&self, container: &str) -> String {
        let script = format!(
            "systemctl is-active {UNIT} {SCOPE}; ls -la /openstack/venvs; ls -la /var/lib/git-osa 2>&1; \
             ls -la /etc/keystone; find {venv} -newer /etc/hostname | head -5; {venv}/bin/pip freeze --all --disable-pip-version-check",
            venv = self.venv()
        );
        format!("{}{:?}", self.sh(container, &script), self.servers())
    }

    fn wait(&self, what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
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
    fn ensure_production(&self) {
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
    fn checkout(&self, marker: &str) -> tempfile::TempDir {
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

fn edit(repo: &Path, marker: &str) {
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

fn git(dir: &Path, args: &[&str]) -> String {
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

/// A running `git osa` whose stderr and stdout are collected as they come.
struct Running {
    child: Child,
    out: Arc<Mutex<String>>,
    started: Instant,
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut o = out.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Running {
            child,
            out,
            started: Instant::now(),
        }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    fn wait_for(&mut self, text: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.output().contains(text) {
                return self.started.elapsed();
            }
            if let Some(st) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(300));
                panic!(
                    "git osa exited ({st}) before printing {text:?}:\n{}",
                    self.output()
                );
            }
            assert!(
                start.elapsed() < timeout,
                "no {text:?} after {timeout:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn signal(&self, sig: i32) {
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    fn finish(&mut self, timeout: Duration) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(200));
                return st.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < timeout,
                "git osa still running after {timeout:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

const PINNED: &str = "now goes to it";

#[test]
#[ignore = "needs the lab: tests/run"]
fn status_shows_both_keystone_containers_their_units_and_haproxy_servers() {
    let lab = Lab::get();
    let dir = lab.checkout("status-only");
    let repo = dir.path().join("keystone");
    let o = lab.run(&repo, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("project    openstack/keystone (service keystone)"),
        "{out}"
    );
    for (name, ip) in [(OLD, "172.29.236.11"), (NEW, "172.29.236.12")] {
        let block = out
            .split("\n\n")
            .find(|b| b.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in\n{out}"));
        assert!(block.contains(&format!("address  {ip}")), "{block}");
        assert!(block.contains("host     aio1"), "{block}");
        assert!(block.contains("lxc      RUNNING"), "{block}");
        assert!(
            block.contains("unit     keystone-wsgi-public         active (running)"),
            "{block}"
        );
        assert!(
            block.contains(&format!("haproxy  keystone_service-back/{name}  UP")),
            "{block}"
        );
        assert!(block.contains("dev      none (production)"), "{block}");
    }
    // Both containers answer through the HAProxy frontend.
    let mut backends = std::collections::BTreeSet::new();
    for _ in 0..8 {
        let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
        assert!(h.starts_with("HTTP/1.1 200"), "{h}");
        assert!(
            body.contains("\"id\": \"v3.14\"") && body.contains("\"status\": \"stable\""),
            "{body}"
        );
        if let Some(b) = h.lines().find_map(|l| {
            l.strip_prefix("x-lab-backend: ")
                .or_else(|| l.strip_prefix("X-Lab-Backend: "))
        }) {
            backends.insert(b.trim().to_string());
        }
    }
    assert_eq!(
        backends.into_iter().collect::<Vec<_>>(),
        [OLD, NEW]
            .map(String::from)
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_stopped_container_is_named_with_what_to_do_and_nothing_changes() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-never");
    let repo = dir.path().join("keystone");
    let st = Command::new("lxc-stop")
        .args(["-P", &lab.lxc_path, "-n", OLD])
        .status()
        .unwrap();
    assert!(st.success());
    let restart = || {
        let _ = Command::new("lxc-start")
            .args(["-P", &lab.lxc_path, "-n", OLD])
            .status();
    };
    let o = lab.run(&repo, &["status"]);
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let o2 = lab.run(&repo, &["--container", OLD]);
    let e2 = String::from_utf8_lossy(&o2.stderr).into_owned();
    restart();
    assert_eq!(o.status.code(), Some(2), "{out}{e}");
    assert!(
        out.contains(&format!("{OLD}\n")) && out.contains("lxc      STOPPED"),
        "{out}"
    );
    assert!(
        e.contains(&format!(
            "container {OLD} is STOPPED: start it with `lxc-start -n {OLD}`"
        )),
        "{e}"
    );
    assert_eq!(o2.status.code(), Some(2), "{e2}");
    assert!(
        e2.contains(&format!("container {OLD} is STOPPED: nothing was changed")),
        "{e2}"
    );
    lab.wait("the restarted keystone", Duration::from_secs(120), || {
        lab.direct_v3(OLD).contains("v3.14")
    });
    lab.ensure_production();
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn the_cycle_swaps_the_checkout_in_runs_it_and_restores_production_exactly() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-dev");
    let repo = dir.path().join("keystone");
    // A change under the migrations: the first run must db sync (as keystone).
    let env_py = repo.join("keystone/common/sql/migrations/env.py");
    let mut text = std::fs::read_to_string(&env_py).unwrap();
    text.push_str("# touched by the git-osa cycle test\n");
    std::fs::write(&env_py, text).unwrap();
    git(&repo, &["commit", "-q", "-am", "Touch the migrations"]);
    let target = NEW;
    let other = OLD;
    let freeze_before = lab.pip_freeze(target);
    let original = lab.direct_v3(target);
    let original_other = lab.direct_v3(other);
    assert!(original.contains("\"status\": \"stable\""), "{original}");

    // --dry-run prints the plan and leaves the container exactly as it was.
    let before = lab.snapshot(target);
    let o = lab.run(&repo, &["--container", target, "--dry-run"]);
    let plan = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{plan}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        plan.contains(&format!(
            "in {target} as root: systemctl stop keystone-wsgi-public.service"
        )),
        "{plan}"
    );
    assert!(
        plan.contains(&format!(
            "in {target} as keystone: systemd-run --scope --quiet --collect --unit=git-osa-step-keystone.scope -- runuser -u keystone -- {}/bin/keystone-manage db_sync",
            lab.venv()
        )),
        "{plan}"
    );
    assert!(plan.contains("PBR_VERSION=30.0.1.dev2"), "{plan}");
    assert!(plan.contains("dry run: nothing was changed"), "{plan}");
    assert_eq!(
        lab.snapshot(target),
        before,
        "--dry-run changed the container"
    );

    // The first run, without a terminal.
    let mut run = lab.start(&repo, &["--container", target]);
    run.wait_for(PINNED, Duration::from_secs(240));
    let first = {
        let t = run.started.elapsed();
        lab.wait(
            "the changed /v3 through HAProxy",
            Duration::from_secs(30),
            || {
                lab.http(&format!("{}/v3", lab.frontend))
                    .1
                    .contains("git-osa-dev")
            },
        );
        t
    };
    for _ in 0..20 {
        let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
        assert!(h.starts_with("HTTP/1.1 200"), "{h}");
        assert!(
            body.contains("\"status\": \"git-osa-dev\""),
            "a request did not reach the dev code: {body}"
        );
    }
    assert_eq!(lab.server(other), "MAINT");
    // keystone's own log lines are on git-osa's output: a failed login makes keystone log
    // a warning (oslo.log's format: time, pid, level, logger).
    let o = Command::new("curl")
        .args(["-s", "--noproxy", "*", "-m", "10", "-H", "Content-Type: application/json", "-d"])
        .arg(r#"{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"wrong"}}}}}"#)
        .arg(format!("{}/v3/auth/tokens", lab.frontend))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("401"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    lab.wait(
        "keystone's warning on git-osa's output",
        Duration::from_secs(20),
        || {
            run.output()
                .lines()
                .any(|l| l.contains(" WARNING keystone.") && l.contains("Authorization failed"))
        },
    );
    // Without a terminal, no progress is drawn.
    assert!(!run.output().contains("\x1b[2K"), "{}", run.output());
    // A second git-osa on the same container is refused, not interleaved.
    let o = lab.run(&repo, &["--container", target]);
    assert_eq!(
        o.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains(&format!("{target} is in use by another git-osa"))
    );
    // status, from another terminal, sees the session.
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let o = lab.run(&repo, &["status"]);
    let st = String::from_utf8_lossy(&o.stdout);
    let block = st.split("\n\n").find(|b| b.starts_with(target)).unwrap();
    assert!(
        block.contains(&format!("dev      {}, since", &head[..12])),
        "{block}"
    );
    assert!(
        block.contains("process  running: keystone-wsgi-public"),
        "{block}"
    );
    assert!(
        block.contains("production stopped")
            && block.contains("installed")
            && block.contains("db synced"),
        "{block}"
    );

    // SIGINT ends it: nothing of the dev run is left, the other server takes traffic again.
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
    assert_ne!(lab.unit_state(target, SCOPE), "active");
    assert_eq!(
        lab.sh(target, "pgrep -u keystone -l || true").trim(),
        "",
        "keystone processes left"
    );
    lab.wait_up(other);
    assert_eq!(
        lab.unit_state(target, UNIT),
        "inactive",
        "production must stay stopped until restore"
    );

    // A one-line edit: only that file travels; pip and db sync are skipped.
    edit(&repo, "git-osa-dev-2");
    let mut run = lab.start(&repo, &["--container", target]);
    run.wait_for(PINNED, Duration::from_secs(120));
    let second = run.started.elapsed();
    let out = run.output();
    assert!(out.contains("(1 changed, 0 deleted,"), "{out}");
    assert!(
        out.contains("install the checkout into the venv: skipped"),
        "{out}"
    );
    assert!(
        out.contains("db sync: keystone-manage db_sync: skipped (no migration changed"),
        "{out}"
    );
    lab.wait("the edited /v3", Duration::from_secs(30), || {
        lab.http(&format!("{}/v3", lab.frontend))
            .1
            .contains("git-osa-dev-2")
    });
    let o = lab.run(&repo, &["status"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("+ uncommitted changes"));
    run.signal(libc::SIGTERM);
    assert_eq!(run.finish(Duration::from_secs(60)), 143, "{}", run.output());
    assert_eq!(lab.sh(target, "pgrep -u keystone -l || true").trim(), "");

    // restore: production exactly as before, in both containers.
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.direct_v3(target), original);
    assert_eq!(lab.direct_v3(other), original_other);
    assert_eq!(lab.unit_state(target, UNIT), "active");
    lab.wait_up(target);
    lab.wait_up(other);
    assert_eq!(lab.pip_freeze(target), freeze_before);
    assert_eq!(
        lab.sh(
            target,
            "ls /var/lib/git-osa /etc/keystone/keystone.conf.d 2>&1 | grep -c 'No such' || true"
        )
        .trim(),
        "2"
    );
    let o = lab.run(&repo, &["status"]);
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .matches("dev      none (production)")
            .count(),
        2
    );
    eprintln!("timing: first run to pinned {first:?}, second run after a one-line edit {second:?}");
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_requirement_only_the_public_index_has_needs_the_flag() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-dev");
    let repo = dir.path().join("keystone");
    let pkg = var("GIT_OSA_LAB_PUBLIC_ONLY");
    let index = var("GIT_OSA_LAB_PUBLIC_INDEX");
    let freeze_before = lab.pip_freeze(OLD);
    let mut reqs = std::fs::read_to_string(repo.join("requirements.txt")).unwrap();
    reqs.push_str(&format!("{pkg}\n"));
    std::fs::write(repo.join("requirements.txt"), reqs).unwrap();
    git(
        &repo,
        &[
            "commit",
            "-q",
            "-am",
            "Need a package the repo server lacks",
        ],
    );

    let o = lab.run(&repo, &["--container", OLD]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!(
            "the checkout needs {pkg}, which the deployment's repo server does not have"
        )),
        "{e}"
    );
    assert!(e.contains("--allow-public-index URL"), "{e}");
    assert!(e.contains("git osa restore"), "{e}");

    let mut run = lab.start(&repo, &["--container", OLD, "--allow-public-index", &index]);
    run.wait_for(PINNED, Duration::from_secs(240));
    assert!(
        lab.pip_freeze(OLD)
            .to_lowercase()
            .contains(&pkg.to_lowercase())
    );
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130);
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.pip_freeze(OLD), freeze_before);
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn restore_finishes_the_job_after_git_osa_was_killed_during_the_install() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-killed");
    let repo = dir.path().join("keystone");
    let freeze_before = lab.pip_freeze(NEW);
    let original = lab.direct_v3(NEW);
    let mut run = lab.start(&repo, &["--container", NEW]);
    lab.wait_for_pip(&mut run, NEW);
    run.signal(libc::SIGKILL);
    run.finish(Duration::from_secs(10));
    // pip may outlive the killed git-osa (until it next writes to the closed pipe):
    // restore stops its scope before it touches the venv. status says what is half done.
    let o = lab.run(&repo, &["status"]);
    let st = String::from_utf8_lossy(&o.stdout);
    assert!(st.contains("production stopped"), "{st}");
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.pip_freeze(NEW), freeze_before);
    assert_eq!(lab.direct_v3(NEW), original);
    assert_eq!(lab.unit_state(NEW, UNIT), "active");
    lab.wait_up(NEW);
    lab.wait_up(OLD);
    assert_ne!(lab.unit_state(NEW, "git-osa-step-keystone.scope"), "active");
    assert_eq!(
        lab.sh(NEW, "pgrep -f '[b]in/pip install' || true").trim(),
        ""
    );
}

/// A test that fails mid-way must not leave its git-osa holding the container for the
/// next test: ask it to stop, as a user would, then kill it.
impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        self.signal(libc::SIGINT);
        let start = Instant::now();
        while self.child.try_wait().ok().flatten().is_none() {
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A pseudo-terminal for the prompt and Ctrl-C, as a user at a terminal has.
struct Pty {
    master: std::fs::File,
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Pty {
    fn spawn(mut cmd: Command) -> Pty {
        use std::os::fd::FromRawFd;
        use std::os::unix::process::CommandExt;
        let (mut m, mut s) = (0, 0);
        let ws = libc::winsize {
            ws_row: 40,
            ws_col: 160,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(
            unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) },
            0
        );
        let slave = unsafe { std::fs::File::from_raw_fd(s) };
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        cmd.env("TERM", "xterm");
        let child = cmd.spawn().unwrap();
        let master = unsafe { std::fs::File::from_raw_fd(m) };
        let out = Arc::new(Mutex::new(String::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Pty { master, child, out }
    }

    fn wait_for(&mut self, text: &str, timeout: Duration) {
        let start = Instant::now();
        while !self.out.lock().unwrap().contains(text) {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "exited before {text:?}:\n{}",
                self.out.lock().unwrap()
            );
            assert!(
                start.elapsed() < timeout,
                "no {text:?}:\n{}",
                self.out.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn on_a_terminal_it_prompts_for_the_container_and_ctrl_c_stops_the_run() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-tty");
    let repo = dir.path().join("keystone");
    let mut pty = Pty::spawn(lab.git_osa(&repo));
    pty.wait_for(
        "Which container should run your checkout?",
        Duration::from_secs(30),
    );
    // The first choice is the first name in order: aio1-keystone-... (NEW).
    pty.send(b"\r");
    pty.wait_for(PINNED, Duration::from_secs(240));
    lab.wait("the tty run's /v3", Duration::from_secs(30), || {
        lab.http(&format!("{}/v3", lab.frontend))
            .1
            .contains("git-osa-tty")
    });
    pty.send(b"\x03");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = pty.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "Ctrl-C did not end the run:\n{}",
            pty.out.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = pty.out.lock().unwrap().clone();
    assert!(out.contains("stays in dev mode"), "{out} {status}");
    // On a terminal, long steps show a spinner with their elapsed time.
    assert!(
        out.contains("\r\x1b[2K| keep an exact copy")
            || out.contains("\x1b[2K| install the checkout"),
        "no progress drawn:\n{out}"
    );
    assert_ne!(lab.unit_state(NEW, SCOPE), "active");
    assert_eq!(lab.sh(NEW, "pgrep -u keystone -l || true").trim(), "");
    lab.wait_up(OLD);
    let o = lab.run(&repo, &["restore", "--all"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.unit_state(NEW, UNIT), "active");
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn restore_on_exit_puts_production_back_when_the_run_ends() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-once");
    let repo = dir.path().join("keystone");
    let freeze_before = lab.pip_freeze(OLD);
    let mut run = lab.start(&repo, &["--container", OLD, "--restore-on-exit"]);
    run.wait_for(PINNED, Duration::from_secs(240));
    assert!(lab.direct_v3(OLD).contains("git-osa-once"));
    // The checkout's migrations are production's: no db sync, no schema warning.
    let out = run.output();
    assert!(
        out.contains(
            "db sync: keystone-manage db_sync: skipped (the checkout's migrations are production's"
        ),
        "{out}"
    );
    assert!(!out.contains("the database schema was upgraded"), "{out}");
    run.signal(libc::SIGINT);
    assert_eq!(
        run.finish(Duration::from_secs(120)),
        130,
        "{}",
        run.output()
    );
    assert!(
        run.output()
            .contains(&format!("{OLD} runs production again")),
        "{}",
        run.output()
    );
    assert_eq!(lab.unit_state(OLD, UNIT), "active");
    assert!(lab.direct_v3(OLD).contains("\"status\": \"stable\""));
    assert_eq!(lab.pip_freeze(OLD), freeze_before);
    lab.wait_up(OLD);
    lab.wait_up(NEW);
    let o = lab.run(&repo, &["status"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .matches("dev      none (production)")
            .count(),
        2
    );
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_rerun_after_git_osa_was_killed_stops_the_orphans_and_carries_on() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-rerun");
    let repo = dir.path().join("keystone");
    let mut run = lab.start(&repo, &["--container", NEW]);
    run.wait_for(PINNED, Duration::from_secs(240));
    run.signal(libc::SIGKILL);
    run.finish(Duration::from_secs(10));
    // The dev process outlives git-osa, still serving, the other server still out.
    assert_eq!(lab.unit_state(NEW, SCOPE), "active");
    assert_eq!(lab.server(OLD), "MAINT");
    let o = lab.run(&repo, &["status"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("process  running: keystone-wsgi-public"));

    edit(&repo, "git-osa-rerun-2");
    let mut again = lab.start(&repo, &["--container", NEW]);
    again.wait_for(PINNED, Duration::from_secs(240));
    let out = again.output();
    assert!(
        out.contains("git-osa: stop what an interrupted git-osa left running"),
        "{out}"
    );
    // No db sync ran in this session and the migrations are still production's.
    assert!(
        out.contains(
            "db sync: keystone-manage db_sync: skipped (the checkout's migrations are production's"
        ),
        "{out}"
    );
    lab.wait("the rerun's /v3", Duration::from_secs(30), || {
        lab.http(&format!("{}/v3", lab.frontend))
            .1
            .contains("git-osa-rerun-2")
    });
    assert_eq!(lab.server(OLD), "MAINT");
    again.signal(libc::SIGINT);
    assert_eq!(again.finish(Duration::from_secs(60)), 130);
    // This run's end gives the other server back, though an earlier run took it.
    lab.wait_up(OLD);
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.unit_state(NEW, UNIT), "active");
    lab.wait_up(NEW);
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn ctrl_c_during_the_install_stops_pip_at_once_and_says_how_to_go_on() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-ctrl-c");
    let repo = dir.path().join("keystone");
    let freeze_before = lab.pip_freeze(OLD);
    let mut run = lab.start(&repo, &["--container", OLD]);
    lab.wait_for_pip(&mut run, OLD);
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(20)), 130, "{}", run.output());
    let out = run.output();
    assert!(
        // During pip, or, if pip won the race, before the next step.
        out.contains("git-osa: error: interrupted during: install the checkout into the venv")
            || out.contains("git-osa: error: interrupted before: "),
        "{out}"
    );
    assert!(
        out.contains("`git osa restore` puts production back"),
        "{out}"
    );
    assert_ne!(lab.unit_state(OLD, "git-osa-step-keystone.scope"), "active");
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.pip_freeze(OLD), freeze_before);
    assert_eq!(lab.unit_state(OLD, UNIT), "active");
    lab.wait_up(OLD);
}
