//! Another host, reached with the system's OpenSSH client (`ssh` on `PATH`), the way OSA
//! reaches its hosts: its connection plugin runs `ssh` to a container's physical host and
//! `lxc-attach` there, never ssh into the container.
//!
//! Why the system client and not a Rust ssh library (`research/multihost.md` §5): with
//! `ssh`, the user's `~/.ssh/config` (host aliases, `User`, `IdentityFile`, `ProxyJump`,
//! `Match`), their agent and FIDO keys, `known_hosts` and its questions all apply exactly
//! as for their own `ssh` and for OSA's playbooks. russh and ssh2 read no ssh_config and
//! cannot jump hosts (a laptop reaches infra hosts through the deploy host); the openssh
//! crate wraps `ssh` too, but needs tokio and never gives the remote side a terminal.
//! Spawning `ssh` keeps git-osa synchronous, like every other command it runs.
//!
//! **One master connection per host.** Every `ssh` git-osa runs says `ControlMaster=auto`,
//! `ControlPersist` (OSA's 300 s) and a `ControlPath` of `<dir>/%C` (`%C`: ssh's hash of
//! the local host, the host, the port and the user). The first command of a git-osa
//! process opens the master (or finds one left by an earlier run), so that is where a
//! host that cannot be reached fails, with the reason, before anything runs there; every
//! later command is a new channel on it, one round trip. The dir is short because ssh binds
//! `<ControlPath>.<16 random chars>` in a `sun_path` of 108 bytes: `/run/git-osa-0` as
//! root, `$XDG_RUNTIME_DIR/git-osa`, else `/tmp/git-osa-<uid>`, private (0700).
//!
//! **Commands.** ssh joins its arguments with spaces and the host's sshd hands the string
//! to the user's shell (`$SHELL -c`), so each word of an argv is quoted for that shell by
//! `shlex` and the string is one argument after `--`, never pasted by hand. A metal
//! command's environment travels as `env -i K=V ... argv`. `-T` (no terminal) for every
//! command whose stdio is a pipe (tar streams, pip, captured output): a terminal would mix
//! stderr into stdout and turn bytes into line discipline; `-tt` only for the foreground
//! run on the user's terminal ([`Transport::terminal_process`]). `BatchMode=yes` always,
//! except while the master connection opens with a terminal that can answer ssh's prompts
//! (a key's passphrase, a new host key): every later command rides on that master, and a
//! command that had to open a new one must fail rather than wait for an answer.
//!
//! **HAProxy's admin socket** (`/var/run/haproxy.stat`, root's, on each HAProxy node): the
//! master forwards a local socket in the control dir to it (`ssh -O forward -L`; Debian
//! 12's client is 9.2, and `ssh -W` to a socket needs 9.4), and git-osa speaks to that as to
//! a local one: one conversation costs a channel (under a millisecond on loopback) where a
//! command on the host costs a session and a program's start (tens). HAProxy answers every
//! command with at least an empty line, so an answer of nothing means the forward did not
//! reach it: the same conversation is then held by `python3` on the host (every OSA host
//! has it, Ansible needs it), which says why (no socket there, not allowed, nobody
//! listening) or answers where the host's sshd refuses forwarding (`DisableForwarding`,
//! as CIS hardening sets it); the forward is not tried again. HAProxy is never reloaded.
//!
//! **Errors.** ssh exits 255 for its own failures and says which on stderr: a host that
//! cannot be reached, a key refused, a host key that changed or is unknown, a prompt no
//! terminal can answer. Each becomes an error that names the host and what to do, exit 2.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context as _;

use super::{LOG, Process, Transport, converse, quote, shell_words, tail};
use crate::error::{Error, Result};

/// How long a master connection outlives its last command, in seconds: OSA's own
/// (`ANSIBLE_SSH_ARGS` in `openstack-ansible.rc`).
const PERSIST: &str = "300";

/// The longest control dir: ssh binds `<dir>/<%C: 40 hex>.<16 random>`, under the 108
/// bytes of a Unix socket's `sun_path` (with its NUL).
const MAX_DIR: usize = 107 - 1 - 40 - 17;

/// One conversation with a HAProxy admin socket, held on the host: the socket's path is
/// `argv[1]`, the command comes on stdin, the answer goes to stdout. What went wrong is
/// the exit code: 3 no such file, 4 not allowed, 5 nobody listening (or not a socket).
const HAPROXY_PY: &str = r#"import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except FileNotFoundError:
    sys.exit(3)
except PermissionError:
    sys.exit(4)
except ConnectionRefusedError:
    sys.exit(5)
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
while True:
    b = s.recv(65536)
    if not b:
        break
    sys.stdout.buffer.write(b)
"#;

/// A file of the host on stdout; exit 44 where there is none.
const READ_SH: &str = r#"[ -e "$1" ] || exit 44
exec cat -- "$1""#;
const MISSING: i32 = 44;

/// The names in a folder of the host, each ended by a NUL (names may hold newlines);
/// nothing where there is no such folder.
const LIST_SH: &str = r#"cd -- "$1" 2>/dev/null || exit 0
for f in * .[!.]* ..?*; do
  if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
done"#;

/// How to reach one host with ssh, as the inventory (or the user) describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The host as messages name it: its inventory name (`infra2`).
    pub name: String,
    /// Where ssh connects: the address Ansible uses (`ansible_host`), or the name.
    pub address: String,
    /// `ansible_user`; without, ssh's own choice (the ssh config's, else the local user).
    pub user: Option<String>,
    /// `ansible_port`; without, ssh's own choice.
    pub port: Option<u16>,
    /// Hosts to hop through (`ProxyJump`: `[user@]host[:port]`, comma-separated).
    pub jump: Option<String>,
    /// An ssh config file read instead of `~/.ssh/config` (`ssh -F`).
    pub config: Option<PathBuf>,
}

impl Remote {
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Remote {
        Remote {
            name: name.into(),
            address: address.into(),
            user: None,
            port: None,
            jump: None,
            config: None,
        }
    }

    /// Refuses what ssh would read as something else: an option (`-oProxyCommand=...`),
    /// several words, a control character.
    fn check(&self) -> Result<()> {
        let words = [
            ("address", Some(&self.address)),
            ("user", self.user.as_ref()),
            ("jump host", self.jump.as_ref()),
        ];
        for (what, value) in words {
            let Some(v) = value else { continue };
            if v.is_empty()
                || v.starts_with('-')
                || v.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(Error::user(format!(
                    "{} has the ssh {what} {v:?}, which ssh would not read as one",
                    self.name
                ))
                .hint("correct it in the inventory (ansible_host, ansible_user) or in your ssh config"));
            }
        }
        Ok(())
    }
}

/// A host reached with `ssh`: see the module's documentation.
#[derive(Debug)]
pub struct Ssh {
    remote: Remote,
    /// `ssh`, where `PATH` has it.
    program: PathBuf,
    control_dir: PathBuf,
    /// A terminal can answer ssh's prompts when the master connection opens.
    interactive: bool,
    /// Whom ssh is told to reach, once the master is up: the host's name when the user's
    /// ssh config has an entry for it (that entry then decides), else its address.
    destination: Mutex<Option<String>>,
    /// HAProxy sockets forwarded through the master: the host's path, the local one.
    forwards: Mutex<HashMap<PathBuf, PathBuf>>,
    /// The host's sshd did not forward a socket: HAProxy is asked through python3 there.
    no_forwarding: AtomicBool,
}

impl Ssh {
    /// The host `remote`, reached with this machine's `ssh`; nothing is sent before the
    /// first command.
    pub fn new(remote: Remote, interactive: bool) -> Result<Ssh> {
        remote.check()?;
        let program = find_ssh(std::env::var_os("PATH").as_deref())
            .ok_or_else(|| not_installed(&remote.name))?;
        Ok(Ssh {
            control_dir: control_dir()?,
            remote,
            program,
            interactive,
            destination: Mutex::new(None),
            forwards: Mutex::new(HashMap::new()),
            no_forwarding: AtomicBool::new(false),
        })
    }

    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// Where the master connections' sockets are.
    pub fn control_dir(&self) -> &Path {
        &self.control_dir
    }

    /// Opens the master connection to the host unless one is up, or says why it cannot.
    /// Every command does this first; only the first of a process pays for it.
    pub fn connect(&self) -> Result<()> {
        let mut destination = self.destination.lock().unwrap_or_else(|e| e.into_inner());
        if destination.is_some() {
            return Ok(());
        }
        let to = self.resolve();
        if self.master_running_to(&to) {
            log::debug!(target: LOG, "ssh to {}: master connection found", self.who(&to));
            *destination = Some(to);
            return Ok(());
        }
        let started = Instant::now();
        let mut argv = self.options();
        if self.interactive {
            // The first value given wins in ssh: this one, before `options`' BatchMode.
            argv.splice(0..0, ["-o".into(), "BatchMode=no".into()]);
        }
        argv.extend(["-T".into(), "--".into(), to.clone().into(), "true".into()]);
        let out = duct::cmd(&self.program, &argv)
            .stdin_null()
            .stdout_null()
            .stderr_capture()
            .unchecked()
            .run()
            .with_context(|| format!("running {}", self.program.display()))?;
        log::debug!(
            target: LOG,
            "ssh to {}: master connection {} ({} ms)",
            self.who(&to),
            if out.status.success() { "opened" } else { "failed" },
            started.elapsed().as_millis()
        );
        if !out.status.success() {
            return Err(self.refusal(&to, &out));
        }
        *destination = Some(to);
        Ok(())
    }

    /// Whether a master connection to the host is up (`ssh -O check`).
    pub fn master_running(&self) -> bool {
        self.master_running_to(&self.destination())
    }

    /// Closes the master connection (`ssh -O exit`), with the forwards it holds; the next
    /// command opens a new one.
    pub fn disconnect(&self) {
        let to = self.destination();
        let _ = self.control("exit", &to, &[]);
        *self.destination.lock().unwrap_or_else(|e| e.into_inner()) = None;
        // ssh leaves the socket files of its forwards behind.
        let mut forwards = self.forwards.lock().unwrap_or_else(|e| e.into_inner());
        for local in forwards.values() {
            let _ = std::fs::remove_file(local);
        }
        forwards.clear();
    }

    fn master_running_to(&self, to: &str) -> bool {
        self.control("check", to, &[])
            .is_ok_and(|out| out.status.success())
    }

    /// `ssh -O COMMAND`: a request to the master connection.
    fn control(&self, command: &str, to: &str, args: &[OsString]) -> std::io::Result<Output> {
        let mut argv = self.options();
        argv.extend(["-O".into(), command.into()]);
        argv.extend(args.iter().cloned());
        argv.extend(["--".into(), to.into()]);
        duct::cmd(&self.program, &argv)
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .run()
    }

    /// Whom ssh is told to reach, once connected (before, what it would be).
    fn destination(&self) -> String {
        let known = self.destination.lock().unwrap_or_else(|e| e.into_inner());
        known.clone().unwrap_or_else(|| self.resolve())
    }

    /// The host's name when the user's ssh config has an entry for it (`ssh -G` gives
    /// another host name): a laptop's `Host infra2` with its `HostName` and `ProxyJump`
    /// knows better than the inventory how to get there. Else the inventory's address.
    fn resolve(&self) -> String {
        let Remote { name, address, .. } = &self.remote;
        if name == address {
            return address.clone();
        }
        let mut argv: Vec<OsString> = Vec::new();
        if let Some(config) = &self.remote.config {
            argv.extend(["-F".into(), config.into()]);
        }
        argv.extend(["-G".into(), "--".into(), name.into()]);
        let configured = duct::cmd(&self.program, &argv)
            .stdin_null()
            .stderr_null()
            .stdout_capture()
            .unchecked()
            .run()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .find_map(|l| l.strip_prefix("hostname ").map(str::to_string))
            });
        match configured {
            Some(h) if !h.eq_ignore_ascii_case(name) => name.clone(),
            _ => address.clone(),
        }
    }

    /// The options of every `ssh` git-osa runs to this host.
    fn options(&self) -> Vec<OsString> {
        let r = &self.remote;
        let mut argv: Vec<OsString> = Vec::new();
        if let Some(config) = &r.config {
            argv.extend(["-F".into(), config.into()]);
        }
        let mut control_path = OsString::from("ControlPath=");
        control_path.push(&self.control_dir);
        control_path.push("/%C");
        argv.extend(["-o".into(), control_path]);
        let mut option = |o: &str| argv.extend(["-o".into(), o.into()]);
        option("BatchMode=yes");
        option("ControlMaster=auto");
        option(&format!("ControlPersist={PERSIST}"));
        // A host that does not answer fails in seconds, not in TCP's two minutes, and a
        // connection that died is noticed within a minute.
        option("ConnectTimeout=15");
        option("ServerAliveInterval=15");
        option("ServerAliveCountMax=4");
        // The master's forwards (HAProxy's socket) take over a socket file a master that
        // died left behind.
        option("StreamLocalBindUnlink=yes");
        if let Some(user) = &r.user {
            argv.extend(["-l".into(), user.into()]);
        }
        if let Some(port) = r.port {
            argv.extend(["-p".into(), port.to_string().into()]);
        }
        if let Some(jump) = &r.jump {
            argv.extend(["-J".into(), jump.into()]);
        }
        argv
    }

    /// The local process that runs `argv` on the host, with `flags` (`-T` or `-tt`).
    fn session(
        &self,
        flags: &[&str],
        argv: &[OsString],
        env: Option<&[(&str, &str)]>,
    ) -> Result<Process> {
        self.connect()?;
        let to = self.destination();
        let mut args = self.options();
        args.extend(flags.iter().map(OsString::from));
        args.extend(["--".into(), to.into(), remote_command(argv, env)?]);
        Ok(Process {
            program: self.program.clone().into(),
            args,
            // git-osa's own: ssh needs the agent's socket (SSH_AUTH_SOCK) and HOME.
            env: None,
            // A session on the user's terminal (`-tt`) must stay in its foreground.
            own_group: !flags.contains(&"-tt"),
        })
    }

    /// Runs `argv` on the host with `stdin`, its output captured whatever its status.
    fn output(&self, argv: &[&str], stdin: &[u8]) -> Result<Output> {
        let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        let started = Instant::now();
        let out = self
            .session(&["-T"], &argv, None)?
            .expression()
            .stdin_bytes(stdin)
            .stdout_capture()
            .stderr_capture()
            .run()
            .with_context(|| format!("running {}", self.program.display()))?;
        log::debug!(
            target: LOG,
            "on {} as {}: {} ({})",
            self.remote.name,
            self.remote.user.as_deref().unwrap_or("the ssh user"),
            shown(&argv),
            super::ended(started.elapsed(), out.status)
        );
        Ok(out)
    }

    /// `doing` failed: ssh's own failure explained, else the command's.
    fn failure(&self, doing: &str, out: &Output) -> Error {
        if out.status.code() == Some(255)
            && let Some(e) = self.explain(&self.destination(), out)
        {
            return e;
        }
        Error::failed(format!(
            "{doing} on {} failed ({}){}",
            self.remote.name,
            out.status,
            tail(&out.stderr, &out.stdout)
        ))
    }

    /// Why ssh could not connect: an error a user can act on, naming the host.
    fn refusal(&self, to: &str, out: &Output) -> Error {
        self.explain(to, out).unwrap_or_else(|| {
            Error::user(format!(
                "ssh to {} failed ({}){}",
                self.who(to),
                out.status,
                tail(&out.stderr, &out.stdout)
            ))
            .hint(format!("to see why: `{}`", self.by_hand(to, true)))
        })
    }

    /// ssh's own failure, from its stderr, as an error for the user; `None` for an
    /// exit 255 that is not ssh's (the remote command's own).
    fn explain(&self, to: &str, out: &Output) -> Option<Error> {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let who = self.who(to);
        let check = format!("check with `{}`", self.by_hand(to, false));
        let e = match Failure::of(&stderr)? {
            Failure::Unreachable(why) => Error::user(format!("cannot reach {who} with ssh: {why}"))
                .hint(format!(
                    "is {} up, and is its address right (the inventory's ansible_host, or \
                     your ~/.ssh/config)? To see why: `{}`",
                    self.remote.name,
                    self.by_hand(to, true)
                )),
            Failure::KeyRefused(why) => Error::user(format!(
                "{who} refused the ssh login{}: {why}",
                match &self.remote.user {
                    Some(u) => format!(" as {u}"),
                    None => String::new(),
                }
            ))
            .hint(
                "git-osa logs in with your ssh keys, as OSA does: load the key that reaches \
                 the host into your agent (`ssh-add`), or name it in ~/.ssh/config (IdentityFile)",
            )
            .hint(check),
            Failure::Prompt(why) if !self.interactive => Error::user(format!(
                "ssh to {who} asks for a password or a passphrase, and no terminal can answer \
                 it: {why}"
            ))
            .hint("load your key into ssh-agent (`ssh-add`), or run git osa from a terminal")
            .hint(check),
            Failure::Prompt(why) => {
                Error::user(format!("{who} refused the ssh login: {why}")).hint(check)
            }
            Failure::HostKeyChanged => Error::user(format!(
                "the host key of {who} has CHANGED since known_hosts recorded it: the host was \
                 reinstalled, or someone is intercepting the connection"
            ))
            .hint(format!(
                "git-osa will not connect until you have checked the new key; if the host was \
                 reinstalled, remove the old one (`ssh-keygen -R {}`) and connect once by hand: \
                 `{}`",
                shell_words(&[self.known_hosts_name(to)]),
                self.by_hand(to, false)
            )),
            Failure::HostKeyUnknown if !self.interactive => Error::user(format!(
                "the host key of {who} is not in known_hosts, and no terminal can answer ssh's \
                 question whether to trust it"
            ))
            .hint(format!(
                "connect once by hand to check and accept it: `{}`",
                self.by_hand(to, false)
            )),
            Failure::HostKeyUnknown => Error::user(format!(
                "the host key of {who} is not in known_hosts, and ssh is told not to ask \
                 (StrictHostKeyChecking)"
            ))
            .hint(format!(
                "add the host's key to known_hosts, or connect once by hand: `{}`",
                self.by_hand(to, false)
            )),
        };
        Some(e)
    }

    /// `infra2 (root@172.29.236.12 port 2222)`: the host, and how ssh is told to reach it
    /// (`to`: its address, or its name when the user's ssh config has an entry for it).
    fn who(&self, to: &str) -> String {
        let r = &self.remote;
        let mut how = String::new();
        if let Some(u) = &r.user {
            how.push_str(&format!("{u}@"));
        }
        how.push_str(to);
        if let Some(p) = r.port {
            how.push_str(&format!(" port {p}"));
        }
        if let Some(j) = &r.jump {
            how.push_str(&format!(" through {j}"));
        }
        if to == r.name && r.name != r.address {
            how.push_str(", as your ssh config says");
        }
        if how == r.name {
            r.name.clone()
        } else {
            format!("{} ({how})", r.name)
        }
    }

    /// The ssh command a user can run to see for themselves (with `-v`: why it fails).
    fn by_hand(&self, to: &str, verbose: bool) -> String {
        let r = &self.remote;
        let mut argv: Vec<OsString> = vec!["ssh".into()];
        if verbose {
            argv.push("-v".into());
        }
        if let Some(config) = &r.config {
            argv.extend(["-F".into(), config.into()]);
        }
        if let Some(user) = &r.user {
            argv.extend(["-l".into(), user.into()]);
        }
        if let Some(port) = r.port {
            argv.extend(["-p".into(), port.to_string().into()]);
        }
        if let Some(jump) = &r.jump {
            argv.extend(["-J".into(), jump.into()]);
        }
        argv.extend([to.into(), "true".into()]);
        shell_words(&argv)
    }

    /// How known_hosts names the host: `[address]:port` off port 22.
    fn known_hosts_name(&self, to: &str) -> String {
        match self.remote.port {
            Some(p) if p != 22 => format!("[{to}]:{p}"),
            _ => to.to_string(),
        }
    }

    /// The local socket the master forwards to the host's `socket`, made on first use;
    /// `None` where the master will not forward it.
    fn forwarded(&self, socket: &Path) -> Option<PathBuf> {
        if self.no_forwarding.load(Ordering::Relaxed) {
            return None;
        }
        let mut forwards = self.forwards.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(local) = forwards.get(socket) {
            return Some(local.clone());
        }
        // `-L` reads `local:remote`; a colon in either would split it elsewhere.
        if socket.as_os_str().as_bytes().contains(&b':')
            || self.control_dir.as_os_str().as_bytes().contains(&b':')
        {
            return None;
        }
        let to = self.destination();
        let mut key =
            format!("{to}\0{:?}\0{:?}\0", self.remote.user, self.remote.port).into_bytes();
        key.extend_from_slice(socket.as_os_str().as_bytes());
        let local = self
            .control_dir
            .join(format!("haproxy-{:016x}.sock", fnv1a(&key)));
        let mut spec = local.clone().into_os_string();
        spec.push(":");
        spec.push(socket);
        match self.control("forward", &to, &["-L".into(), spec]) {
            Ok(out) if out.status.success() => {
                forwards.insert(socket.to_path_buf(), local.clone());
                Some(local)
            }
            other => {
                log::debug!(
                    target: LOG,
                    "ssh to {}: the master did not forward {} ({:?})",
                    self.remote.name,
                    socket.display(),
                    other.map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
                );
                self.no_forwarding.store(true, Ordering::Relaxed);
                None
            }
        }
    }

    /// The conversation held by python3 on the host: the answer, or why there is none.
    fn haproxy_there(&self, socket: &Path, line: &str) -> Result<String> {
        let path = socket.to_string_lossy();
        // The system's python3, not one a login PATH puts first (a pyenv shim).
        let path_var = format!("PATH={}", super::target::PATH);
        let argv = [
            "env", "-i", &path_var, "python3", "-I", "-c", HAPROXY_PY, &path,
        ];
        let out = self.output(&argv, format!("{line}\n").as_bytes())?;
        let at = format!(
            "HAProxy's admin socket {} on {}",
            socket.display(),
            self.remote.name
        );
        let hint = format!(
            "is HAProxy running on {} with `stats socket {} level admin` in haproxy.cfg? \
             Point --haproxy-socket (GIT_OSA_HAPROXY_SOCKET) at it",
            self.remote.name,
            socket.display()
        );
        match out.status.code() {
            Some(0) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
            Some(3) => Err(Error::user(format!("{at} does not exist")).hint(hint)),
            Some(4) => Err(Error::user(format!(
                "{at} is not open to {}",
                self.remote.user.as_deref().unwrap_or("the ssh user")
            ))
            .hint("HAProxy's socket is root's (mode 600): log in as root (ansible_user)")),
            Some(5) => Err(Error::user(format!("nothing answers on {at}")).hint(hint)),
            Some(127) => Err(Error::user(format!(
                "python3, with which git-osa speaks to {at}, is not installed there"
            ))
            .hint(format!(
                "install it on {} (OSA's hosts have it: Ansible needs it)",
                self.remote.name
            ))),
            _ => Err(self.failure(&format!("speaking to {at}"), &out)),
        }
    }
}

impl Transport for Ssh {
    fn process(&self, argv: &[OsString], env: Option<&[(&str, &str)]>) -> Result<Process> {
        self.session(&["-T"], argv, env)
    }

    fn remote(&self) -> bool {
        true
    }

    fn terminal_process(&self, argv: &[OsString], env: Option<&[(&str, &str)]>) -> Result<Process> {
        // LogLevel=ERROR: no "Shared connection to ... closed." on the user's terminal.
        self.session(&["-tt", "-o", "LogLevel=ERROR"], argv, env)
    }

    fn haproxy(&self, socket: &Path, line: &str) -> anyhow::Result<String> {
        self.connect()?;
        if let Some(local) = self.forwarded(socket) {
            match converse(&local, line) {
                Ok(answer) if !answer.is_empty() => return Ok(answer),
                other => log::debug!(
                    target: LOG,
                    "ssh to {}: no answer through the forward of {} ({}); asking on the host",
                    self.remote.name,
                    socket.display(),
                    other.map_or_else(|e| format!("{e:#}"), |_| "nothing".into())
                ),
            }
        }
        let answer = self.haproxy_there(socket, line)?;
        // The host's HAProxy answers there but not through the forward: its sshd does
        // not forward sockets. Every later conversation goes straight there.
        self.no_forwarding.store(true, Ordering::Relaxed);
        Ok(answer)
    }

    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        let p = path.to_string_lossy();
        let out = self.output(&["sh", "-c", READ_SH, "git-osa-read", &p], b"")?;
        match out.status.code() {
            Some(0) => Ok(Some(out.stdout)),
            Some(MISSING) => Ok(None),
            _ => Err(self.failure(&format!("reading {}", path.display()), &out)),
        }
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        let d = dir.to_string_lossy();
        let out = self.output(&["sh", "-c", LIST_SH, "git-osa-list", &d], b"")?;
        if !out.status.success() {
            return Err(self.failure(&format!("listing {}", dir.display()), &out));
        }
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|n| !n.is_empty())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect())
    }
}

/// What ssh's stderr says went wrong, when it is ssh's own failure.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// No connection: refused, timed out, no route, unknown name, closed at once, or a
    /// jump host that could not reach it. With ssh's line.
    Unreachable(String),
    /// Public key authentication failed (and no other method was offered).
    KeyRefused(String),
    /// The server wants a password or keyboard-interactive answers.
    Prompt(String),
    HostKeyChanged,
    /// Not in known_hosts, and ssh may not ask (BatchMode, StrictHostKeyChecking).
    HostKeyUnknown,
}

impl Failure {
    /// Reads ssh's stderr (OpenSSH 9.2's wording); `None` when it is not ssh's own.
    fn of(stderr: &str) -> Option<Failure> {
        if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            return Some(Failure::HostKeyChanged);
        }
        if stderr.contains("Host key verification failed")
            || stderr.contains("host key is known for")
        {
            return Some(Failure::HostKeyUnknown);
        }
        let line = |needle: &str| {
            stderr
                .lines()
                .find(|l| l.contains(needle))
                .map(|l| l.trim().trim_start_matches("ssh: ").to_string())
        };
        if let Some(l) = line("Permission denied (") {
            let methods = l.rsplit_once('(').map_or("", |(_, m)| m);
            return Some(
                if methods.contains("password") || methods.contains("keyboard-interactive") {
                    Failure::Prompt(l)
                } else {
                    Failure::KeyRefused(l)
                },
            );
        }
        // A jump host's "open failed" says why it could not go on; then the direct
        // failures; the closed connections that follow them last.
        [
            "open failed",
            "connect to host",
            "Could not resolve hostname",
            "No route to host",
            "Network is unreachable",
            "Connection timed out",
            "stdio forwarding failed",
            "kex_exchange_identification",
            "Connection closed by",
            "Connection reset by",
        ]
        .iter()
        .find_map(|needle| line(needle))
        .map(Failure::Unreachable)
    }
}

/// The command string the host's shell runs for `argv`: each word quoted, a metal
/// command's environment as `env -i K=V ...` before it.
fn remote_command(argv: &[OsString], env: Option<&[(&str, &str)]>) -> Result<OsString> {
    let mut words: Vec<Vec<u8>> = Vec::new();
    if let Some(env) = env {
        words.extend([b"env".to_vec(), b"-i".to_vec()]);
        words.extend(env.iter().map(|(k, v)| format!("{k}={v}").into_bytes()));
    }
    words.extend(argv.iter().map(|a| a.as_bytes().to_vec()));
    let line = shlex::bytes::try_join(words.iter().map(Vec::as_slice))
        .map_err(|e| Error::failed(format!("cannot send {} over ssh: {e}", shell_words(argv))))?;
    Ok(OsStr::from_bytes(&line).to_os_string())
}

/// An argv for the log, git-osa's scripts as `<script>`.
fn shown(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| {
            let a = a.to_string_lossy();
            if a.contains('\n') {
                "<script>".to_string()
            } else {
                quote(&a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// No `ssh` here to reach `host` with.
fn not_installed(host: &str) -> Error {
    Error::user(format!(
        "{host} is reached with ssh, and ssh (OpenSSH's client) is not installed here"
    ))
    .hint(format!(
        "install it (apt-get install openssh-client), or run git osa on {host}"
    ))
}

/// Where `path` (a `PATH`) has `ssh`.
fn find_ssh(path: Option<&OsStr>) -> Option<PathBuf> {
    super::find_in(OsStr::new("ssh"), path)
}

/// The folder of the master connections' sockets, made private if it is not there: see
/// the module's documentation.
fn control_dir() -> Result<PathBuf> {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    // ssh would split a ControlPath at a blank and expand its `%`; `-L` splits at `:`.
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.is_dir())
        .filter(|d| {
            d.as_os_str()
                .as_bytes()
                .iter()
                .all(|b| b.is_ascii_graphic() && !b"%:\\\"'".contains(b))
        })
        .map(|d| d.join("git-osa"));
    let dir = if uid == 0 {
        PathBuf::from(format!("/run/git-osa-{uid}"))
    } else {
        match runtime {
            Some(d) if d.as_os_str().len() <= MAX_DIR => d,
            _ => PathBuf::from(format!("/tmp/git-osa-{uid}")),
        }
    };
    private_dir(&dir, uid)?;
    Ok(dir)
}

/// Makes `dir` (0700), or checks that it is a folder of `uid`'s that nobody else can
/// enter: in `/tmp`, another user could have made it first.
fn private_dir(dir: &Path, uid: u32) -> Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(Error::user(format!(
                "cannot make {}, the folder of git-osa's ssh connections: {e}",
                dir.display()
            )));
        }
    }
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(Error::user(format!(
            "{} is not a private folder of this user's (owner {}, mode {:o}): git-osa keeps \
             its ssh connections there",
            dir.display(),
            meta.uid(),
            meta.mode() & 0o7777
        ))
        .hint(format!("remove it: `rm -r {}`", dir.display())));
    }
    Ok(())
}

/// FNV-1a, 64 bits: a name that stays the same from one git-osa to the next.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_word_is_quoted_for_the_remote_shell_and_env_comes_first() {
        let argv: Vec<OsString> = [
            "printf", "%s\\0", "a b", "it's", "$HOME", "x;y", "", "l1\nl2",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let line = remote_command(&argv, Some(&[("PATH", "/bin"), ("LANG", "C.UTF-8")])).unwrap();
        let words = shlex::split(line.to_str().unwrap()).unwrap();
        let mut want = vec!["env", "-i", "PATH=/bin", "LANG=C.UTF-8"];
        want.extend(argv.iter().map(|a| a.to_str().unwrap()));
        assert_eq!(words, want);
        assert!(remote_command(&["a\0b".into()], None).is_err());
    }

    #[test]
    fn ssh_not_installed_is_said_with_what_to_install() {
        assert!(find_ssh(Some(OsStr::new(""))).is_none());
        assert!(find_ssh(None).is_none());
        let err = not_installed("infra2");
        assert_eq!(
            err.to_string(),
            "infra2 is reached with ssh, and ssh (OpenSSH's client) is not installed here"
        );
        assert_eq!(
            err.hints(),
            ["install it (apt-get install openssh-client), or run git osa on infra2"]
        );
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn the_control_dir_leaves_room_for_sshs_socket_names() {
        // /run/user/<uid>/git-osa fits; a long XDG_RUNTIME_DIR falls back to /tmp.
        assert!("/run/user/4294967294/git-osa".len() <= MAX_DIR);
        assert!("/tmp/git-osa-4294967294".len() <= MAX_DIR);
        assert!(
            format!(
                "{}/{}.{}",
                "x".repeat(MAX_DIR),
                "c".repeat(40),
                "r".repeat(16)
            )
            .len()
                < 108
        );
    }

    #[test]
    fn a_control_dir_someone_else_could_enter_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let uid = unsafe { libc::getuid() };
        let dir = tmp.path().join("c");
        private_dir(&dir, uid).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        private_dir(&dir, uid).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = private_dir(&dir, uid).unwrap_err();
        assert!(err.to_string().contains("is not a private folder"), "{err}");
        assert_eq!(err.exit_code(), 2);
        let link = tmp.path().join("l");
        std::os::unix::fs::symlink(tmp.path(), &link).unwrap();
        assert!(
            private_dir(&link, uid).is_err(),
            "a symlink is not the folder"
        );
    }

    #[test]
    fn sshs_own_failures_are_told_apart_by_its_words() {
        use Failure::*;
        let cases = [
            (
                "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n",
                Some(Unreachable(
                    "connect to host 127.0.0.1 port 1: Connection refused".into(),
                )),
            ),
            (
                "ssh: Could not resolve hostname infra9: Name or service not known\r\n",
                Some(Unreachable(
                    "Could not resolve hostname infra9: Name or service not known".into(),
                )),
            ),
            (
                "ssh: connect to host 10.0.0.1 port 22: Connection timed out\r\n",
                Some(Unreachable(
                    "connect to host 10.0.0.1 port 22: Connection timed out".into(),
                )),
            ),
            (
                "channel 0: open failed: connect failed: No route to host\r\nstdio forwarding failed\r\nkex_exchange_identification: Connection closed by remote host\r\n",
                Some(Unreachable(
                    "channel 0: open failed: connect failed: No route to host".into(),
                )),
            ),
            (
                "root@127.0.0.1: Permission denied (publickey).\r\n",
                Some(KeyRefused(
                    "root@127.0.0.1: Permission denied (publickey).".into(),
                )),
            ),
            (
                "dev@infra2: Permission denied (publickey,password).\r\n",
                Some(Prompt(
                    "dev@infra2: Permission denied (publickey,password).".into(),
                )),
            ),
            (
                "@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n@@@\r\nHost key verification failed.\r\n",
                Some(HostKeyChanged),
            ),
            (
                "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n",
                Some(HostKeyUnknown),
            ),
            ("lxc-attach: c1: attach.c: 1 - no such container\n", None),
        ];
        for (stderr, want) in cases {
            assert_eq!(Failure::of(stderr), want, "{stderr}");
        }
    }

    #[test]
    fn what_ssh_would_take_for_an_option_is_refused() {
        let mut r = Remote::new("infra2", "-oProxyCommand=touch /tmp/x");
        assert!(
            r.check()
                .unwrap_err()
                .to_string()
                .contains("infra2 has the ssh address")
        );
        r.address = "10.0.0.2".into();
        r.check().unwrap();
        r.user = Some("root x".into());
        assert_eq!(r.check().unwrap_err().exit_code(), 2);
    }
}
