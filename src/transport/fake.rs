//! A transport that reaches no host, for tests of plans and of the executor: it records
//! every host argv and HAProxy command it is given, answers commands from rules the test
//! sets (by default: nothing, exit 0), and keeps a small HAProxy of its own whose servers
//! change as `set server` commands say.

use std::ffi::OsString;
use std::path::Path;
use std::sync::Mutex;

use super::{Process, Transport};
use crate::error::Result;

/// What a test sees of what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sent {
    /// A host argv (for a container: the whole `lxc-attach ... -- argv`).
    Command(Vec<String>),
    /// A line sent to a HAProxy admin socket.
    Haproxy(String),
}

/// One fake server's runtime state.
#[derive(Debug, Clone)]
struct FakeServer {
    backend: String,
    name: String,
    addr: String,
    /// `maint` or `drain` as set by `set server ... state`, else None (ready).
    admin: Option<&'static str>,
    /// Marked down by `health down`: the next `show stat` still says DOWN, the one after
    /// says its check passed.
    down_for: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Fake {
    sent: Mutex<Vec<Sent>>,
    /// (a word of the argv, the shell script that stands for that command on the host).
    rules: Mutex<Vec<(String, String)>>,
    servers: Mutex<Vec<FakeServer>>,
}

impl Fake {
    /// A fake HAProxy with these servers: (backend, name, address, status as HAProxy
    /// shows it).
    pub(crate) fn with_servers(servers: &[(&str, &str, &str, &str)]) -> Fake {
        let fake = Fake::default();
        *fake.servers.lock().unwrap() = servers
            .iter()
            .map(|(backend, name, addr, status)| FakeServer {
                backend: backend.to_string(),
                name: name.to_string(),
                addr: addr.to_string(),
                admin: match *status {
                    "MAINT" => Some("maint"),
                    "DRAIN" => Some("drain"),
                    _ => None,
                },
                down_for: 0,
            })
            .collect();
        fake
    }

    /// A command whose argv has `word` runs `script` (`sh -c`) instead of nothing.
    pub(crate) fn answer(&self, word: &str, script: &str) {
        self.rules
            .lock()
            .unwrap()
            .push((word.to_string(), script.to_string()));
    }

    /// Everything sent so far, in order.
    pub(crate) fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    fn show_stat(&self) -> String {
        let mut csv = String::from("# pxname,svname,status,addr\n");
        for s in self.servers.lock().unwrap().iter_mut() {
            let status = match (s.admin, s.down_for) {
                (Some("maint"), _) => "MAINT",
                (_, n) if n > 0 => {
                    s.down_for -= 1;
                    "DOWN"
                }
                (Some(_), _) => "DRAIN",
                (None, _) => "UP",
            };
            csv.push_str(&format!("{},{},{status},{}\n", s.backend, s.name, s.addr));
        }
        csv
    }

    fn set(&self, line: &str) -> String {
        let words: Vec<&str> = line.split_whitespace().collect();
        let ["set", "server", which, what @ ..] = words.as_slice() else {
            return "Unknown command.\n".into();
        };
        let Some((backend, name)) = which.split_once('/') else {
            return "Require 'backend/server'.\n".into();
        };
        let mut servers = self.servers.lock().unwrap();
        let Some(s) = servers
            .iter_mut()
            .find(|s| s.backend == backend && s.name == name)
        else {
            return "No such server.\n".into();
        };
        match what {
            ["state", "ready"] => s.admin = None,
            ["state", "drain"] => s.admin = Some("drain"),
            ["state", "maint"] => s.admin = Some("maint"),
            ["health", "down"] => s.down_for = 1,
            _ => return "Unknown command.\n".into(),
        }
        String::new()
    }
}

impl Transport for Fake {
    fn process(&self, argv: &[OsString], _env: Option<&[(&str, &str)]>) -> Result<Process> {
        let argv: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let script = self
            .rules
            .lock()
            .unwrap()
            .iter()
            .find(|(word, _)| argv.iter().any(|a| a == word))
            .map(|(_, script)| script.clone())
            .unwrap_or_else(|| "cat >/dev/null".into());
        self.sent.lock().unwrap().push(Sent::Command(argv));
        Ok(Process {
            program: "sh".into(),
            args: vec!["-c".into(), script.into(), "git-osa-fake".into()],
            env: None,
            own_group: false,
        })
    }

    fn haproxy(&self, _socket: &Path, line: &str) -> anyhow::Result<String> {
        self.sent
            .lock()
            .unwrap()
            .push(Sent::Haproxy(line.to_string()));
        Ok(if line == "show stat" {
            self.show_stat()
        } else {
            self.set(line)
        })
    }

    fn read(&self, _path: &Path) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    fn list(&self, _dir: &Path) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}
