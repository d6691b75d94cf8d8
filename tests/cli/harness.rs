//! What every story here shares: a checkout with real git, the binary run with none of the
//! user's settings, a user of their own, and stand-ins for HAProxy and the host's tools.

use std::path::Path;
use std::process::{Command, Output};

/// A command that runs git (or git-osa, which asks git for its colours) in `dir` only.
///
/// Regression: run from `git rebase --exec` (or a hook), the tests inherited its GIT_DIR;
/// `git init` and `git commit` in a temp dir then wrote to the repository under test,
/// commits and config alike.
pub fn in_dir(program: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_PREFIX",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub fn git(dir: &Path, args: &[&str]) {
    let st = in_dir("git", dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?}");
}

/// A checkout whose .gitreview names `project`.
pub fn checkout(project: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "master"]);
    std::fs::write(
        dir.path().join(".gitreview"),
        format!("[gerrit]\nhost=review.opendev.org\nport=29418\nproject={project}.git\n"),
    )
    .unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "init"]);
    dir
}

/// Runs git-osa in `dir`, with none of the user's settings: no GIT_OSA_* variables, no
/// git config but the repository's own (a `HOME` of nothing, no system file), no TOML
/// config file; `env` adds some.
pub fn git_osa(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    git_osa_command(dir, args, env).output().unwrap()
}

/// The command [`git_osa`] runs, for a story that changes more of it (its user).
pub fn git_osa_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = in_dir(env!("CARGO_BIN_EXE_git-osa"), dir);
    cmd.args(args);
    for var in [
        "GIT_OSA_INVENTORY",
        "GIT_OSA_LXC_PATH",
        "GIT_OSA_HAPROXY_SOCKET",
        "GIT_OSA_CONFIG",
        "GIT_OSA_CONTAINER",
        "GIT_OSA_SERVICE",
        "GIT_OSA_RESTORE_ON_EXIT",
        "GIT_OSA_DETACH",
        "GIT_OSA_DB_SNAPSHOT",
        "GIT_OSA_PUBLIC_INDEX",
        "GIT_OSA_LOG",
        "OSA_CONFIG_DIR",
        "NO_COLOR",
        "GIT_CONFIG_PARAMETERS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", dir.join(".no-config"))
        .env("HOME", dir.join(".no-home"))
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub const TWO_KEYSTONES: &str = r#"{
  "_meta": {"hostvars": {
    "aio1_keystone_container-6c0f3a1e": {"container_name": "aio1_keystone_container-6c0f3a1e",
       "physical_host": "aio1", "container_address": "172.29.236.11"},
    "aio1-keystone-container-b7d24e95": {"container_name": "aio1-keystone-container-b7d24e95",
       "physical_host": "aio1", "management_address": "172.29.236.12"}}},
  "keystone_all": {"children": ["keystone"], "hosts": []},
  "keystone": {"hosts": ["aio1_keystone_container-6c0f3a1e", "aio1-keystone-container-b7d24e95"]}
}"#;

/// keystone on the host itself (`is_metal`): its commands run on this machine (Ansible's
/// `local` connection), read only.
pub const METAL_KEYSTONE: &str = r#"{
  "_meta": {"hostvars": {"aio1": {"is_metal": true, "management_address": "172.29.236.100",
                                  "ansible_connection": "local"}}},
  "keystone_all": {"hosts": ["aio1"]}
}"#;

/// The document on stdout, checked against the committed schema, made strict.
pub fn valid_json(stdout: &[u8]) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)));
    let errors = crate::schema::errors(&crate::schema::strict(), &doc);
    assert!(errors.is_empty(), "{doc:#}\n{}", errors.join("\n"));
    doc
}

/// A user of their own: a home for git's global config and git-osa's TOML file
/// (`~/.config/git-osa/config.toml`), and no system git config.
pub struct User {
    home: tempfile::TempDir,
}

impl User {
    pub fn new() -> User {
        User {
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOME", self.home().display().to_string()),
            (
                "XDG_CONFIG_HOME",
                self.home().join(".config").display().to_string(),
            ),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
        ]
    }

    /// git as this user, with git-osa on PATH (for `git osa`).
    pub fn git(&self, dir: &Path, args: &[&str]) -> Output {
        self.git_with(dir, args, &[])
    }

    /// [`User::git`] with more variables, which git passes on to `git osa` and hooks.
    pub fn git_with(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let bin = Path::new(env!("CARGO_BIN_EXE_git-osa")).parent().unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        let o = in_dir("git", dir)
            .args(args)
            .envs(self.env())
            .env("PATH", path)
            .env_remove("GIT_OSA_INVENTORY")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
        o
    }

    pub fn git_osa(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mine = self.env();
        let mut all: Vec<(&str, &str)> = mine.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(env);
        git_osa(dir, args, &all)
    }

    /// What `git osa config` says of `key` (its first line).
    pub fn setting(&self, dir: &Path, args: &[&str], env: &[(&str, &str)], key: &str) -> String {
        let mut all = vec!["config"];
        all.extend_from_slice(args);
        let o = self.git_osa(dir, &all, env);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        out.lines()
            .find(|l| l.contains(&format!("\t{key}=")))
            .unwrap_or_else(|| panic!("no {key} in\n{out}"))
            .to_string()
    }
}

/// A HAProxy admin socket served by a thread: `show stat` lists one keystone server, `help`
/// lists `set server` only at admin level.
pub fn fake_haproxy(dir: &Path, admin: bool) -> std::path::PathBuf {
    use std::io::{BufRead, BufReader, Write};
    let path = dir.join(if admin { "admin.sock" } else { "user.sock" });
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&conn).read_line(&mut line);
            let answer = match line.trim() {
                "show stat" => "# pxname,svname,status,addr\n\
keystone_service-back,aio1,UP,172.29.236.100:5000\n\
keystone_service-back,BACKEND,UP,\n"
                    .to_string(),
                "help" => format!(
                    "The following commands are valid at this level:\n  show stat : report counters\n{}",
                    if admin {
                        "  set server <bk>/<srv> [opts] : change a server's state\n"
                    } else {
                        ""
                    }
                ),
                _ => "Unknown command.\n".to_string(),
            };
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    path
}

/// A folder of stand-ins for the host tools doctor looks for; `lxc-ls` lists `names`.
pub fn fake_tools(dir: &Path, names: &[&str]) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["lxc-attach", "lxc-info", "lxc-ls", "systemd-run", "git"] {
        let body = if tool == "lxc-ls" {
            format!("#!/bin/sh\nprintf '%s\\n' {}\n", names.join(" "))
        } else {
            "#!/bin/sh\nexit 0\n".to_string()
        };
        let path = bin.join(tool);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// A service of its own (a name no other test or session uses) whose one unit runs on
/// this host (`is_metal`), with a dev session in `/var/lib/git-osa/<name>/` on this host:
/// the fields `extra` gives over a session that changed nothing. The folder goes when
/// this does.
pub struct HostSession {
    pub name: String,
    config: std::path::PathBuf,
    inventory: std::path::PathBuf,
}

impl HostSession {
    pub fn new(dir: &Path, project: &str, extra: serde_json::Value) -> HostSession {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("gitosa-test-{}-{nanos}", std::process::id());
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[[service]]\nname='{name}'\nprojects=['{project}']\npackages=[]\nuser='root'\n\
                 [[service.unit]]\nname='{name}-api'\ngroups=['keystone_all']\nruns='console'\n"
            ),
        )
        .unwrap();
        let inventory = dir.join("inventory.json");
        std::fs::write(&inventory, METAL_KEYSTONE).unwrap();
        let mut record = serde_json::json!({
            "service": name, "project": project, "container": "aio1",
            "started_at": 1_700_000_000u64, "started_by": "root", "commit": null,
            "dirty": false, "synced_at": null, "venv": null, "venv_backup": null,
            "install_hash": null, "migrations_hash": null,
        });
        for (k, v) in extra.as_object().unwrap() {
            record[k] = v.clone();
        }
        std::fs::create_dir_all(Self::dir_of(&name)).unwrap();
        std::fs::write(Self::dir_of(&name).join("session.json"), record.to_string()).unwrap();
        HostSession {
            name,
            config,
            inventory,
        }
    }

    fn dir_of(name: &str) -> std::path::PathBuf {
        Path::new("/var/lib/git-osa").join(name)
    }

    /// The session's folder, where its lock is.
    pub fn dir(&self) -> std::path::PathBuf {
        Self::dir_of(&self.name)
    }

    pub fn env(&self) -> [(&'static str, &str); 2] {
        [
            ("GIT_OSA_CONFIG", self.config.to_str().unwrap()),
            ("GIT_OSA_INVENTORY", self.inventory.to_str().unwrap()),
        ]
    }
}

impl Drop for HostSession {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.dir());
        // Gone only when empty: another session's folder keeps it.
        let _ = std::fs::remove_dir("/var/lib/git-osa");
    }
}
