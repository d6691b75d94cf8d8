//! The lab as the stories see it: its environment (from `tests/lab/lab env`), commands in
//! its containers, HTTP through its HAProxy, `git osa` pointed at it, and the waits that
//! make a story robust against a lab that takes its time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::running::Running;

/// The lab is one shared thing: its tests run one at a time.
pub(crate) static LAB: Mutex<()> = Mutex::new(());

/// The file `edit` marks: keystone's `/v3` answer.
pub const MARKED_FILE: &str = "keystone/api/discovery.py";
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

/// The host's HAProxy backends (`tests/lab/lab mode`): the single host's for these
/// stories, with infra2's containers too for the multi-node ones (`multi.rs`). Switched
/// when the story before left the other.
pub fn ensure_mode(mode: &str) {
    let Ok(file) = std::env::var("GIT_OSA_LAB_HAPROXY_MODE_FILE") else {
        return; // a lab without other hosts has one mode
    };
    let now = std::fs::read_to_string(&file).unwrap_or_default();
    if now.trim() == mode || (now.trim().is_empty() && mode == "single") {
        return;
    }
    let st = Command::new("tests/lab/lab")
        .args(["mode", mode])
        .status()
        .unwrap();
    assert!(st.success(), "tests/lab/lab mode {mode}");
}

impl Lab {
    pub fn get() -> Lab {
        let guard = LAB.lock().unwrap_or_else(|p| p.into_inner());
        ensure_mode("single");
        let lab = Lab::with(guard);
        lab.ensure_production();
        lab
    }

    /// The lab's single-host side as `lab env` describes it, holding the lab's lock, as it
    /// is (no check that it is in production).
    pub fn with(guard: MutexGuard<'static, ()>) -> Lab {
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
        Lab {
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
        }
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
        git_osa::haproxy::Haproxy::local(&self.socket)
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
        for node in [&self.old, &self.new] {
            // No session, yet a folder: the lock files an older git-osa left when it ended
            // without a session. Not a story's doing; removed so that each starts from
            // production.
            let stray = "test -e /var/lib/git-osa && ! ls /var/lib/git-osa/*/session.json >/dev/null 2>&1 && find /var/lib/git-osa";
            let left = self.sh(node, stray);
            if !left.is_empty() {
                eprintln!("{node}: removing what an older git-osa left without a session:\n{left}");
                self.sh(node, "rm -rf /var/lib/git-osa");
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

/// The drop-in a dev run writes beside keystone's config; restore removes it.
pub const DROPIN: &str = "/etc/keystone/keystone.conf.d/99-git-osa-dev.conf";

/// What a container shows of production, in one round trip: sections a story compares
/// before and after a fault. `traces` must be empty in production. A folder's size is
/// left out of `files`: it is the filesystem's room for entries, which grows with every
/// name ever added and depends on the order names were added in (a folder of 60,000
/// names kept and given back by renames, rebuilt in another order, differs by a few
/// blocks), not anything production holds; its names are listed line by line anyway.
pub(crate) const READ_PRODUCTION: &str = r#"
venv=$1 unit=$2 dropin=$3
echo "@@ unit"; systemctl is-active "$unit"
echo "@@ process"; systemctl show -p MainPID -p ExecMainStartTimestampMonotonic "$unit"
echo "@@ traces"
if [ -e /var/lib/git-osa ]; then find /var/lib/git-osa | head -20; fi
if [ -e "$dropin" ]; then echo "$dropin"; fi
systemctl list-units --all --no-legend --plain 'git-osa-*' | awk '{print $1, $3, $4}'
echo "@@ venvs"; ls -A /openstack/venvs
echo "@@ config"; ls -A /etc/keystone
echo "@@ freeze"; "$venv/bin/pip" freeze --all --disable-pip-version-check 2>&1
echo "@@ files"; find "$venv" \( -type d -printf '%y %m %u:%g - %T@ %P %l\n' \) -o -printf '%y %m %u:%g %s %T@ %P %l\n' | LC_ALL=C sort
echo "@@ hashes"; cd "$venv" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
"#;

/// The content hash of every file under a folder, by path relative to it (the `hashes`
/// part of [`READ_PRODUCTION`]).
const HASHES: &str = r#"cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum"#;

/// Production as restore must give it back exactly, read from both containers, HAProxy
/// and keystone's answers: taken before a fault, compared after it.
pub struct Production {
    nodes: Vec<NodeProduction>,
}

struct NodeProduction {
    name: String,
    parts: BTreeMap<String, String>,
    v3: String,
}

impl Production {
    /// The content hash of every file of the production venv in `node` (a line per file,
    /// `sha256  ./path`), as read before.
    pub fn hashes(&self, node: &Node) -> &str {
        self.nodes
            .iter()
            .find(|n| n.name == node.name)
            .unwrap_or_else(|| panic!("no {node} in the production read"))
            .part("hashes")
    }
}

impl NodeProduction {
    fn part(&self, name: &str) -> &str {
        self.parts.get(name).map(String::as_str).unwrap_or_default()
    }
}

impl Lab {
    fn read_production(&self, node: &Node) -> NodeProduction {
        let o = self.attach(
            node,
            &[
                "sh",
                "-c",
                READ_PRODUCTION,
                "read-production",
                &self.venv,
                &self.unit,
                DROPIN,
            ],
        );
        let text = String::from_utf8_lossy(&o.stdout);
        let parts = text
            .split("@@ ")
            .filter_map(|s| s.split_once('\n'))
            .map(|(name, body)| (name.trim().to_string(), body.to_string()))
            .collect();
        NodeProduction {
            name: node.name.clone(),
            parts,
            v3: self.direct_v3(node),
        }
    }

    /// Production now, in both containers; it must be production (no trace of git-osa,
    /// the units active, keystone's own `/v3`).
    pub fn production(&self) -> Production {
        let nodes: Vec<NodeProduction> = [&self.old, &self.new]
            .into_iter()
            .map(|n| self.read_production(n))
            .collect();
        for n in &nodes {
            assert_eq!(n.part("unit").trim(), "active", "{}", n.name);
            // A hash for every file of the venv: the comparison cannot pass on nothing.
            let files = n
                .part("files")
                .lines()
                .filter(|l| l.starts_with("f "))
                .count();
            assert!(files > 1000, "{}: {files} files in the venv", n.name);
            assert_eq!(n.part("hashes").lines().count(), files, "{}", n.name);
            assert_eq!(n.part("traces"), "", "{} is not production", n.name);
            assert!(
                n.v3.contains("\"status\": \"stable\""),
                "{}: {}",
                n.name,
                n.v3
            );
        }
        Production { nodes }
    }

    /// Production is back exactly as `before`: in each container the same packages and
    /// venv files, no trace of git-osa (session, drop-in, scopes, venv copy), the unit
    /// active; in `restarted` it runs a new process, in the others the same one; HAProxy
    /// has both servers UP; keystone answers production's `/v3`, directly and through the
    /// frontend, from both containers.
    pub fn assert_production_back(&self, before: &Production, restarted: &[&Node]) {
        self.compare_production(before, restarted, true);
    }

    /// Every answer of the frontend, `n` in a row, is `target`'s with `marker` as its
    /// `/v3` status.
    pub fn serves(&self, target: &Node, marker: &str, n: usize) {
        for _ in 0..n {
            let (h, body) = self.http(&format!("{}/v3", self.frontend));
            assert!(h.starts_with("HTTP/1.1 200"), "{h}");
            assert!(
                body.contains(&format!("\"status\": \"{marker}\"")),
                "a request did not get {marker}: {body}"
            );
            assert_eq!(
                header(&h, "x-lab-backend").as_deref(),
                Some(target.name.as_str())
            );
        }
    }

    /// Production as before in a container made anew (`git osa rebuild`) from the
    /// deployment's image: the same files, modes, owners, sizes, contents and times, but
    /// its folders' own modification times are the image's, not the old container's.
    pub fn assert_production_rebuilt(&self, before: &Production, rebuilt: &Node) {
        self.compare_production(before, &[rebuilt], false);
    }

    fn compare_production(&self, before: &Production, restarted: &[&Node], folder_times: bool) {
        for b in &before.nodes {
            let node = [&self.old, &self.new]
                .into_iter()
                .find(|n| n.name == b.name)
                .unwrap();
            let now = self.read_production(node);
            let who = &node.name;
            assert_eq!(now.part("traces"), "", "git-osa left traces in {who}");
            assert_eq!(now.part("unit").trim(), "active", "{} in {who}", self.unit);
            // A process is its pid and its start (a restarted container reuses pids).
            let (process, before) = (now.part("process"), b.part("process"));
            if restarted.iter().any(|r| r.name == b.name) {
                assert!(
                    process != before && !process.contains("MainPID=0\n"),
                    "{} in {who} must run a new process:\nbefore\n{before}now\n{process}",
                    self.unit
                );
            } else {
                assert_eq!(process, before, "{} in {who} was restarted", self.unit);
            }
            for part in ["venvs", "config", "freeze", "files", "hashes"] {
                let (was, is) = (b.part(part), now.part(part));
                if part == "files" && !folder_times {
                    same(
                        &format!("{part} in {who}"),
                        &without_folder_times(was),
                        &without_folder_times(is),
                    );
                } else {
                    same(&format!("{part} in {who}"), was, is);
                }
            }
            assert_eq!(now.v3, b.v3, "/v3 of {who}");
        }
        for node in [&self.old, &self.new] {
            assert_eq!(
                self.server(node),
                "UP",
                "{node} in HAProxy: {:?}",
                self.servers()
            );
        }
        // Every answer is production's; both containers answer within a few seconds
        // (HAProxy's round robin may favour one for a moment after servers change state).
        let mut answered = std::collections::BTreeMap::new();
        for i in 0..40 {
            let (h, body) = self.http(&format!("{}/v3", self.frontend));
            assert!(h.starts_with("HTTP/1.1 200"), "{h}");
            assert!(body.contains("\"status\": \"stable\""), "{body}");
            if let Some(b) = header(&h, "x-lab-backend") {
                *answered.entry(b).or_insert(0) += 1;
            }
            if i >= 5 && answered.len() == 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            answered.len(),
            2,
            "both containers answer the frontend: {answered:?}; HAProxy:\n{}",
            git_osa::haproxy::Haproxy::local(&self.socket).nodes()[0]
                .command(&format!("show servers state {}", self.backend))
                .unwrap_or_default()
        );
    }

    /// The content hash of every file under `dir` in `node`, by path relative to it, as
    /// [`Production::hashes`] has production's venv.
    pub fn hashes(&self, node: &Node, dir: &str) -> String {
        let o = self.attach(node, &["sh", "-c", HASHES, "hashes", dir]);
        assert!(o.status.success(), "hashes of {dir} in {node}: {o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Nothing changed at all since `before`: not even a restart.
    pub fn assert_untouched(&self, before: &Production) {
        self.assert_production_back(before, &[]);
    }

    /// `git osa status` in `repo`: its exit code, the block of `node`, and stderr.
    pub fn status_of(&self, repo: &Path, node: &Node) -> (Option<i32>, String, String) {
        self.status_with(repo, node, &[])
    }

    /// [`Lab::status_of`] with more arguments (`--online`).
    pub fn status_with(
        &self,
        repo: &Path,
        node: &Node,
        args: &[&str],
    ) -> (Option<i32>, String, String) {
        let mut all = vec!["status"];
        all.extend_from_slice(args);
        let o = self.run(repo, &all);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let block = out
            .split("\n\n")
            .find(|b| b.starts_with(&format!("{node}\n")))
            .unwrap_or_else(|| panic!("no {node} in status:\n{out}"))
            .to_string();
        (
            o.status.code(),
            block,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }
}

/// The value of an HTTP header, from a status line and headers.
/// The lines of `b` not in `a` and of `a` not in `b`, for a failed comparison of dumps.
pub fn diff_lines(a: &str, b: &str) -> String {
    let only = |x: &str, y: &str, sign: char| {
        x.lines()
            .filter(|l| !y.lines().any(|m| m == *l))
            .map(|l| format!("{sign} {}", &l[..l.len().min(200)]))
            .collect::<Vec<_>>()
    };
    let mut out = only(a, b, '-');
    out.extend(only(b, a, '+'));
    out.join("\n")
}

pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// Two long texts are equal; if not, the first lines that differ say how.
pub(crate) fn same(what: &str, before: &str, now: &str) {
    if before == now {
        return;
    }
    let (b, n): (Vec<&str>, Vec<&str>) = (before.lines().collect(), now.lines().collect());
    let gone: Vec<&&str> = b.iter().filter(|l| !n.contains(l)).take(8).collect();
    let new: Vec<&&str> = n.iter().filter(|l| !b.contains(l)).take(8).collect();
    panic!(
        "{what} is not as before ({} lines before, {} now)\n  gone: {gone:#?}\n  new: {new:#?}",
        b.len(),
        n.len()
    );
}

/// A `files` listing (`type mode owner size mtime path link`) with the folders' own
/// modification times left out.
fn without_folder_times(files: &str) -> String {
    files
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.splitn(6, ' ').collect();
            if f.first() == Some(&"d") && f.len() == 6 {
                f[4] = "-";
            }
            f.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
