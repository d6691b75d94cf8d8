//! The ssh transport against a real sshd: another host, as git-osa reaches it.
//!
//! Each test starts its own `/usr/sbin/sshd -D -e` on 127.0.0.1 only, on a free high port,
//! with its own config, host key, authorized key and known_hosts in a folder under cargo's
//! target dir, or under the user's home when a folder above that dir is writable by
//! others (a checkout under /tmp: sshd's StrictModes refuses keys there), and kills
//! exactly that sshd,
//! by its pid, at the end; the "remote" host is this machine, so a test can look at what
//! the command did there. Where sshd cannot start (not installed), a test says SKIPPED on
//! stderr and returns; with `GIT_OSA_REQUIRE_SSHD=1` (tests/run sets it) it fails instead.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use git_osa::haproxy::Haproxy;
use git_osa::transport::{Remote, Ssh, Target, Transport};

/// One sshd of a test's own, and what it needs.
struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
    /// What sshd logged (`-e`): one "Accepted publickey" per connection.
    log: Arc<Mutex<String>>,
    user: String,
    /// Every transport made here, whose master connection ends with the test.
    made: Mutex<Vec<Arc<Ssh>>>,
}

/// Says why a test cannot run here; fails when tests/run asked for these tests to run.
fn skip(test: &str, why: &str) {
    if std::env::var_os("GIT_OSA_REQUIRE_SSHD").is_some() {
        panic!("{test}: {why} (GIT_OSA_REQUIRE_SSHD is set)");
    }
    // Straight to stderr: the harness keeps what `eprintln!` says of a passing test.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn keygen(path: &Path) -> String {
    let p = path.to_str().unwrap();
    run(
        "ssh-keygen",
        &["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", p],
    );
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const SSHD: &str = "/usr/sbin/sshd";

/// Where the sshds' folders go: cargo's target dir, unless a folder on its path is
/// writable by group or others (sshd's StrictModes then refuses the authorized key, as
/// for a checkout under /tmp); then under the user's home, which sshd trusts.
fn key_folder() -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&target).unwrap();
    let others_write = target
        .ancestors()
        .any(|p| std::fs::metadata(p).is_ok_and(|m| m.mode() & 0o022 != 0));
    if !others_write {
        return target;
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    Path::new(&home).join(".cache/git-osa-tests/sshd")
}

impl Sshd {
    /// An sshd that lets this user in with the fixture's key; `None` (said) where it
    /// cannot run.
    fn start(test: &str) -> Option<Sshd> {
        Sshd::start_with(test, "")
    }

    /// The same, with more lines of sshd_config.
    fn start_with(test: &str, extra: &str) -> Option<Sshd> {
        if !Path::new(SSHD).exists() {
            skip(
                test,
                &format!("{SSHD} is not installed (apt-get install openssh-server)"),
            );
            return None;
        }
        let user = run("id", &["-un"]).trim().to_string();
        // sshd checks for its privilege separation folder when started as root; the
        // packaged unit makes it, and that unit is not running here.
        if user == "root" && !Path::new("/run/sshd").is_dir() {
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let base = key_folder();
        std::fs::create_dir_all(&base).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("sshd-")
            .tempdir_in(&base)
            .unwrap();
        let d = dir.path();
        let host_key = keygen(&d.join("host_key"));
        std::fs::write(
            d.join("authorized_keys"),
            format!("{}\n", keygen(&d.join("id"))),
        )
        .unwrap();
        keygen(&d.join("other_id"));
        let port = free_port();
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_key}\n"),
        )
        .unwrap();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {d}/host_key\nPidFile none\n\
                 AuthorizedKeysFile {d}/authorized_keys\nStrictModes yes\n\
                 PermitRootLogin prohibit-password\nUsePAM no\nKbdInteractiveAuthentication no\n\
                 PrintMotd no\nPrintLastLog no\n{extra}\nPasswordAuthentication no\n",
                d = d.display()
            ),
        )
        .unwrap();
        let mut child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                if line.starts_with("Server listening on") {
                    let _ = ready_tx.send(());
                }
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let sshd = Sshd {
            dir,
            port,
            child,
            log,
            user,
            made: Mutex::new(Vec::new()),
        };
        if ready_rx.recv_timeout(Duration::from_secs(10)).is_err() {
            panic!("{test}: sshd did not start:\n{}", sshd.log());
        }
        Some(sshd)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A client config: this key, this known_hosts, strict host key checking.
    fn client_config(&self, name: &str, key: &str, known_hosts: &str, extra: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(
            &path,
            format!(
                "{extra}\nHost *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
                 GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n",
                self.path(key).display(),
                self.path(known_hosts).display()
            ),
        )
        .unwrap();
        path
    }

    /// How to reach this sshd as the host "infra2", with the fixture's key.
    fn remote(&self) -> Remote {
        let config = self.client_config("ssh_config", "id", "known_hosts", "");
        self.remote_with(config)
    }

    fn remote_with(&self, config: PathBuf) -> Remote {
        Remote {
            user: Some(self.user.clone()),
            port: Some(self.port),
            config: Some(config),
            ..Remote::new("infra2", "127.0.0.1")
        }
    }

    /// A transport to `remote`, as git-osa would make it without a terminal.
    fn ssh(&self, remote: Remote) -> Arc<Ssh> {
        let ssh = Arc::new(Ssh::new(remote, false).unwrap());
        self.made.lock().unwrap().push(ssh.clone());
        ssh
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Connections sshd let in.
    fn logins(&self) -> usize {
        self.log().matches("Accepted publickey").count()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        for ssh in self.made.lock().unwrap().iter() {
            ssh.disconnect();
        }
        // SAFETY: the pid of the sshd this fixture started, not yet waited for.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

/// A metal target on the host `via` reaches: commands run on the host itself.
fn metal(via: Arc<Ssh>) -> Target {
    Target {
        name: "infra2".into(),
        lxc_path: None,
        metal: true,
        via,
    }
}

#[test]
fn argv_with_spaces_quotes_and_shell_characters_arrives_intact() {
    let Some(sshd) = Sshd::start("argv") else {
        return;
    };
    let ssh = sshd.ssh(sshd.remote());
    let words = [
        "a b",
        "it's",
        "\"q\"",
        "; touch /tmp/git-osa-pwned",
        "$HOME",
        "`id`",
        "$(id)",
        "line 1\nline 2",
        "*",
        "",
        "-n",
        "~",
        "back\\slash",
        "tab\there",
        "é",
        "a|b&c>d<e",
        "#x",
        "{a,b}",
        "!x",
    ];
    let mut argv = os(&["printf", "%s\\0"]);
    argv.extend(words.iter().map(OsString::from));
    let out = ssh
        .process(&argv, None)
        .unwrap()
        .command()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let got: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .map(|w| String::from_utf8(w.to_vec()).unwrap())
        .collect();
    assert_eq!(got[..got.len() - 1], words, "each word, as it was");
    assert!(!Path::new("/tmp/git-osa-pwned").exists());
}

#[test]
fn stdin_goes_in_and_stdout_stderr_and_the_exit_code_come_back_apart() {
    let Some(sshd) = Sshd::start("stdio") else {
        return;
    };
    // More than a pipe holds on every stream, as in the local test of targets.
    let data: Vec<u8> = (0..1_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let script = "cat; head -c 300000 /dev/zero | tr '\\0' e >&2; exit 3";
    let out = metal(sshd.ssh(sshd.remote()))
        .output(&["sh", "-c", script], Some(&data))
        .unwrap();
    assert!(out.stdout == data, "stdout is stdin");
    assert_eq!(out.stderr, vec![b'e'; 300_000]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn a_metal_command_gets_only_git_osas_environment() {
    let Some(sshd) = Sshd::start("env") else {
        return;
    };
    let out = metal(sshd.ssh(sshd.remote())).run(&["env"], None).unwrap();
    let mut env: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    env.sort();
    assert_eq!(
        env,
        [
            "HOME=/root",
            "LANG=C.UTF-8",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        ]
    );
}

#[test]
fn files_and_folders_of_the_host_read_as_missing_when_they_are_not_there() {
    let Some(sshd) = Sshd::start("files") else {
        return;
    };
    let ssh = sshd.ssh(sshd.remote());
    let files = sshd.path("files");
    std::fs::create_dir(&files).unwrap();
    let names = [
        "a",
        "with space",
        "new\nline",
        ".hidden",
        "-dash",
        "..dots",
        "it's",
    ];
    for n in names {
        std::fs::write(files.join(n), format!("content of {n}")).unwrap();
    }
    std::os::unix::fs::symlink("/nonexistent", files.join("dangling")).unwrap();

    assert_eq!(
        ssh.read(&files.join("a")).unwrap(),
        Some(b"content of a".to_vec())
    );
    assert_eq!(
        ssh.read(&files.join("new\nline")).unwrap(),
        Some(b"content of new\nline".to_vec())
    );
    assert_eq!(ssh.read(&files.join("nope")).unwrap(), None);
    assert_eq!(ssh.read(&files.join("dangling")).unwrap(), None);
    assert!(ssh.read(&files).is_err(), "a folder is not a file");

    let mut listed = ssh.list(&files).unwrap();
    listed.sort();
    let mut want: Vec<&str> = names.to_vec();
    want.push("dangling");
    want.sort();
    assert_eq!(listed, want);
    assert!(ssh.list(&files.join("nope")).unwrap().is_empty());
    assert!(ssh.list(&files.join("a")).unwrap().is_empty());
}

/// A HAProxy admin socket of the test's own on the "remote" host: `show stat` gets a
/// backend's CSV, any other command an empty line, as HAProxy answers a `set server`.
fn fake_haproxy(path: &Path) -> Arc<Mutex<Vec<String>>> {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let listener = UnixListener::bind(path).unwrap();
    let kept = heard.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&conn).read_line(&mut line);
            let line = line.trim().to_string();
            let answer = if line == "show stat" {
                "# pxname,svname,status,addr\nkeystone_service-back,infra1,UP,172.29.236.11:5000\n\
                 keystone_service-back,infra2,UP,172.29.236.12:5000\n\n"
            } else {
                "\n"
            };
            let _ = conn.write_all(answer.as_bytes());
            kept.lock().unwrap().push(line);
        }
    });
    heard
}

fn haproxy_answers_through(sshd: &Sshd, ssh: Arc<Ssh>) {
    let socket = sshd.path("haproxy.stat");
    let heard = fake_haproxy(&socket);
    let haproxy = Haproxy::new(&socket, ssh);
    let servers = haproxy.servers().unwrap();
    let names: Vec<(&str, &str)> = servers
        .iter()
        .map(|s| (s.name.as_str(), s.status.as_str()))
        .collect();
    assert_eq!(names, [("infra1", "UP"), ("infra2", "UP")]);
    haproxy
        .set(
            "keystone_service-back",
            "infra1",
            git_osa::haproxy::Change::Maint,
        )
        .unwrap();
    assert_eq!(
        *heard.lock().unwrap(),
        [
            "show stat",
            "set server keystone_service-back/infra1 state maint"
        ]
    );
}

#[test]
fn haproxys_socket_on_the_host_answers_through_the_master() {
    let Some(sshd) = Sshd::start("haproxy") else {
        return;
    };
    let ssh = sshd.ssh(sshd.remote());
    haproxy_answers_through(&sshd, ssh.clone());
    let forwarded = std::fs::read_dir(ssh.control_dir())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("haproxy-"));
    assert!(forwarded, "spoken to through a forward of the master");
}

#[test]
fn haproxys_socket_answers_where_the_hosts_sshd_forwards_nothing() {
    let Some(sshd) = Sshd::start_with("haproxy-no-forwarding", "DisableForwarding yes") else {
        return;
    };
    haproxy_answers_through(&sshd, sshd.ssh(sshd.remote()));
}

#[test]
fn a_missing_haproxy_socket_names_the_host_and_the_socket() {
    let Some(sshd) = Sshd::start("haproxy-missing") else {
        return;
    };
    let socket = sshd.path("no-haproxy.stat");
    let err = Haproxy::new(&socket, sshd.ssh(sshd.remote())).nodes()[0]
        .command("show stat")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "HAProxy's admin socket {} on infra2 does not exist",
            socket.display()
        )
    );
    assert_eq!(err.exit_code(), 2);
    assert!(err.hints()[0].contains("stats socket"), "{:?}", err.hints());
}

#[test]
fn later_commands_ride_on_the_first_ones_master_connection() {
    let Some(sshd) = Sshd::start("master") else {
        return;
    };
    let ssh = sshd.ssh(sshd.remote());
    let timed = || {
        let started = Instant::now();
        let st = ssh
            .process(&os(&["true"]), None)
            .unwrap()
            .command()
            .status()
            .unwrap();
        assert!(st.success());
        started.elapsed().as_millis()
    };
    let first = timed();
    let later: Vec<u128> = (0..5).map(|_| timed()).collect();
    assert!(ssh.master_running());
    assert_eq!(
        sshd.logins(),
        1,
        "one login for six commands:\n{}",
        sshd.log()
    );
    let _ = writeln!(
        std::io::stderr(),
        "ssh to a new host: first command {first} ms (connection and command), later ones {later:?} ms"
    );

    // Another git-osa (another transport to the same host) finds the master too.
    let again = Ssh::new(sshd.remote(), false).unwrap();
    again.process(&os(&["true"]), None).unwrap();
    assert_eq!(sshd.logins(), 1);
}

#[test]
fn a_refused_key_says_so_and_what_to_do() {
    let Some(sshd) = Sshd::start("refused-key") else {
        return;
    };
    let config = sshd.client_config("other_config", "other_id", "known_hosts", "");
    let err = sshd
        .ssh(sshd.remote_with(config))
        .process(&os(&["true"]), None)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "infra2 ({}@127.0.0.1 port {}) refused the ssh login as {}: ",
            sshd.user, sshd.port, sshd.user
        )) && msg.ends_with("Permission denied (publickey)."),
        "{msg}"
    );
    assert!(err.hints()[0].contains("ssh-add"), "{:?}", err.hints());
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn a_password_prompt_no_terminal_can_answer_says_so() {
    // Nobody may log in here: sshd still offers passwords, as to a user it does not know.
    let Some(sshd) = Sshd::start_with(
        "password-prompt",
        "PasswordAuthentication yes\nAllowUsers git-osa-nobody",
    ) else {
        return;
    };
    let err = sshd
        .ssh(sshd.remote())
        .process(&os(&["true"]), None)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("asks for a password or a passphrase, and no terminal can answer it"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn a_changed_host_key_is_refused_and_named() {
    let Some(sshd) = Sshd::start("changed-host-key") else {
        return;
    };
    let other = keygen(&sshd.path("other_host_key"));
    std::fs::write(
        sshd.path("changed_known_hosts"),
        format!("[127.0.0.1]:{} {other}\n", sshd.port),
    )
    .unwrap();
    let config = sshd.client_config("changed_config", "id", "changed_known_hosts", "");
    let err = sshd
        .ssh(sshd.remote_with(config))
        .process(&os(&["true"]), None)
        .unwrap_err();
    assert!(
        err.to_string().starts_with("the host key of infra2 (")
            && err.to_string().contains("has CHANGED"),
        "{err}"
    );
    assert!(
        err.hints()[0].contains(&format!("ssh-keygen -R '[127.0.0.1]:{}'", sshd.port)),
        "{:?}",
        err.hints()
    );
    assert_eq!(err.exit_code(), 2);
    assert_eq!(sshd.logins(), 0);
}

#[test]
fn an_unknown_host_key_with_no_terminal_to_ask_says_so() {
    let Some(sshd) = Sshd::start("unknown-host-key") else {
        return;
    };
    std::fs::write(sshd.path("empty_known_hosts"), "").unwrap();
    // ssh's default, StrictHostKeyChecking=ask: it would ask, if a terminal could answer.
    let config = sshd.path("ask_config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
             GlobalKnownHostsFile /dev/null\n",
            sshd.path("id").display(),
            sshd.path("empty_known_hosts").display()
        ),
    )
    .unwrap();
    let err = sshd
        .ssh(sshd.remote_with(config))
        .process(&os(&["true"]), None)
        .unwrap_err();
    assert!(
        err.to_string().ends_with(
            "is not in known_hosts, and no terminal can answer ssh's question whether to trust it"
        ),
        "{err}"
    );
    assert!(
        err.hints()[0].starts_with("connect once by hand"),
        "{:?}",
        err.hints()
    );
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn an_unreachable_host_says_so_and_how_to_see_why() {
    let Some(sshd) = Sshd::start("unreachable") else {
        return;
    };
    let closed = free_port();
    let remote = Remote {
        port: Some(closed),
        ..sshd.remote()
    };
    let err = sshd.ssh(remote).process(&os(&["true"]), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot reach infra2 ({user}@127.0.0.1 port {closed}) with ssh: connect to host \
             127.0.0.1 port {closed}: Connection refused",
            user = sshd.user
        )
    );
    assert!(err.hints()[0].contains("ssh -v -F "), "{:?}", err.hints());
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn the_users_ssh_config_entry_for_the_host_decides_how_to_reach_it() {
    let Some(sshd) = Sshd::start("alias") else {
        return;
    };
    // The inventory's address is not where this host answers; the user's config knows.
    let config = sshd.client_config(
        "alias_config",
        "id",
        "known_hosts",
        &format!(
            "Host infra2\n  HostName 127.0.0.1\n  Port {}\n  User {}\n",
            sshd.port, sshd.user
        ),
    );
    let remote = Remote {
        config: Some(config),
        ..Remote::new("infra2", "127.0.0.2")
    };
    let out = metal(sshd.ssh(remote))
        .run(&["echo", "hello"], None)
        .unwrap();
    assert_eq!(out.stdout, b"hello\n");
    assert_eq!(sshd.logins(), 1);
}

#[test]
fn a_host_that_is_this_machine_is_reached_without_ssh() {
    let Some(sshd) = Sshd::start("reach") else {
        return;
    };
    for (local, logins) in [(true, 0), (false, 1)] {
        let via = git_osa::transport::reach(sshd.remote(), local, false).unwrap();
        let st = via
            .process(&os(&["true"]), None)
            .unwrap()
            .command()
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(sshd.logins(), logins, "local: {local}");
    }
    Ssh::new(sshd.remote(), false).unwrap().disconnect();
}

/// The pid a test's command wrote on the host, once it has.
fn pid_in(path: &Path) -> i32 {
    let started = Instant::now();
    loop {
        if let Ok(pid) = std::fs::read_to_string(path)
            && let Ok(pid) = pid.trim().parse()
        {
            return pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no pid in {path:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn alive(pid: i32) -> bool {
    // Not a zombie either: /proc/PID/stat's state after the command's name.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|s| !s.starts_with('Z'))
    })
}

fn wait_gone(pid: i32) -> bool {
    let started = Instant::now();
    while alive(pid) {
        if started.elapsed() > Duration::from_secs(10) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

const SLEEPER: &str = r#"echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 60"#;

#[test]
fn ctrl_c_typed_on_a_terminal_reaches_the_command_on_the_host() {
    let Some(sshd) = Sshd::start("ctrl-c") else {
        return;
    };
    let ssh = sshd.ssh(sshd.remote());
    let out = ssh
        .terminal_process(&os(&["tty"]), None)
        .unwrap()
        .command()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("/dev/pts/"),
        "a terminal of its own: {out:?}"
    );

    // The user's terminal: ssh puts it in raw mode and gives the host's terminal its
    // modes, so the ^C typed there is a byte here and a SIGINT there.
    let pid_file = sshd.path("sleeper.pid");
    let argv = os(&["sh", "-c", SLEEPER, "sleeper", pid_file.to_str().unwrap()]);
    let (mut child, mut terminal) =
        on_a_terminal(ssh.terminal_process(&argv, None).unwrap().command());
    let pid = pid_in(&pid_file);
    terminal.write_all(b"\x03").unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "ssh still runs after ^C"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(wait_gone(pid), "the command on the host got SIGINT");
}

/// Runs `cmd` on a new pseudo-terminal, as on a user's: returns the child and the
/// terminal's other end, where what the user types goes.
fn on_a_terminal(mut cmd: Command) -> (Child, std::fs::File) {
    use std::os::fd::FromRawFd;
    use std::os::unix::process::CommandExt;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two new descriptors, owned by the Files made from them.
    let made = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(made, 0);
    let (master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    cmd.stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    let mut reader = master.try_clone().unwrap();
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    (child, master)
}

#[test]
fn without_a_terminal_a_command_outlives_the_ssh_that_started_it() {
    // Why the foreground run needs -tt (and, where there is no terminal, a stop of its own
    // for the session): ssh sends no signal across.
    let Some(sshd) = Sshd::start("no-terminal") else {
        return;
    };
    let pid_file = sshd.path("sleeper.pid");
    let argv = os(&["sh", "-c", SLEEPER, "sleeper", pid_file.to_str().unwrap()]);
    let mut child = sshd
        .ssh(sshd.remote())
        .process(&argv, None)
        .unwrap()
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = pid_in(&pid_file);
    // SAFETY: the pid of the ssh this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let outlived = alive(pid);
    // SAFETY: the pid of the sleep this test's command started on the "remote" host.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert!(outlived, "ssh without -tt left its command running");
}

/// Regression: a Ctrl-C on the user's terminal went to the ssh clients too, which died
/// with it: the lock's holder let go and a db sync git-osa waits for seemed to fail, while
/// both went on on the host. Every ssh client but the terminal's own (`-tt`) runs in a
/// process group of its own; git-osa handles the Ctrl-C itself.
#[test]
fn ssh_clients_are_out_of_the_terminals_reach_but_the_terminals_own() {
    let Some(sshd) = Sshd::start("pgroup") else {
        return;
    };
    let ssh = sshd.ssh(sshd.remote());
    let group = |pid: u32| -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so count after its ')'.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        rest.split(' ').nth(2).unwrap().parse().unwrap()
    };
    let argv = os(&["sleep", "5"]);
    let mut child = ssh
        .process(&argv, None)
        .unwrap()
        .command()
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(
        group(child.id()),
        child.id() as i32,
        "an ssh client leads a process group of its own"
    );
    let _ = child.kill();
    let _ = child.wait();
    let mut on_terminal = ssh
        .terminal_process(&argv, None)
        .unwrap()
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(
        group(on_terminal.id()),
        group(std::process::id()),
        "the terminal's own stays in its foreground group"
    );
    let _ = on_terminal.kill();
    let _ = on_terminal.wait();
}

/// git-osa as a laptop runs it: from a keystone checkout of its own, the deploy host
/// named by `GIT_OSA_DEPLOY_HOST` (`deploy`, which the test's ssh config sends to this
/// sshd), the inventory read there.
fn from_a_laptop(sshd: &Sshd, inventory: &Path, argv: &[&str]) -> std::process::Output {
    let config = sshd.client_config(
        "laptop_config",
        "id",
        "known_hosts",
        &format!(
            "Host deploy\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  HostKeyAlias [127.0.0.1]:{0}",
            sshd.port, sshd.user
        ),
    );
    let checkout = tempfile::tempdir().unwrap();
    run("git", &["init", "-q", checkout.path().to_str().unwrap()]);
    std::fs::write(
        checkout.path().join(".gitreview"),
        "[gerrit]\nhost=review.opendev.org\nport=29418\nproject=openstack/keystone.git\n",
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_git-osa"))
        .args(argv)
        .current_dir(checkout.path())
        .env("GIT_OSA_DEPLOY_HOST", "deploy")
        .env("GIT_OSA_SSH_CONFIG", &config)
        .env("GIT_OSA_INVENTORY", inventory)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", checkout.path())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A deploy host that has no inventory where git-osa looks: said, naming the host and
/// the path, exit 2.
#[test]
fn a_deploy_host_without_the_inventory_is_named_with_what_to_do() {
    let Some(sshd) = Sshd::start("deploy-no-inventory") else {
        return;
    };
    let missing = sshd.path("no-such-inventory.json");
    let o = from_a_laptop(&sshd, &missing, &["status"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "git-osa: error: deploy has no OSA inventory at {}",
            missing.display()
        )) && err.contains("set osa.deployHost"),
        "{err}"
    );
    assert!(sshd.logins() >= 1, "asked over ssh:\n{}", sshd.log());
}

/// From a laptop, the inventory is read on the deploy host and a metal keystone on it
/// is asked there, over ssh: status says which host and how it is reached.
#[test]
fn status_from_a_laptop_reads_the_inventory_on_the_deploy_host() {
    let Some(sshd) = Sshd::start("deploy-status") else {
        return;
    };
    let inventory = sshd.path("openstack_inventory.json");
    std::fs::write(
        &inventory,
        r#"{"_meta": {"hostvars": {"deploy": {"is_metal": true, "ansible_host": "deploy",
            "management_address": "172.29.236.100"}}},
            "keystone_all": {"hosts": ["deploy"]}}"#,
    )
    .unwrap();
    let o = from_a_laptop(&sshd, &inventory, &["status", "--json"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {out}\n{}", String::from_utf8_lossy(&o.stderr)));
    let c = &doc["containers"][0];
    assert_eq!(c["name"], "deploy", "{doc:#}");
    assert_eq!(c["host"], "deploy", "{doc:#}");
    assert_eq!(c["reached"]["via"], "ssh", "{doc:#}");
    assert_eq!(c["reached"]["destination"], "deploy", "{doc:#}");
    assert!(c["reached"]["jump"].is_null(), "{doc:#}");
    assert!(sshd.logins() >= 1, "asked over ssh:\n{}", sshd.log());
}
