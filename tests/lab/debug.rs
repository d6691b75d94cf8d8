//! Debuggers on keystone's uWSGI unit: `git osa --debug` at a terminal, where a
//! `breakpoint()` in the `/v3` handler stops the request at the developer's pdb prompt and
//! `c` lets it answer; `git osa --debugpy`, where a DAP client (as VS Code is) attaches
//! through the port git-osa forwards, with the launch.json git-osa prints, and stops at a
//! breakpoint it sets in the checkout's file; restore leaves the venv as before.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{Lab, PINNED, git};
use crate::pty::Pty;

const DISCOVERY: &str = "keystone/api/discovery.py";
const HEADER: &str = "X-Git-Osa-Break";

/// The line of the `/v3` handler's body in the checkout's discovery.py (1-based).
fn v3_body_line(repo: &Path) -> usize {
    let text = std::fs::read_to_string(repo.join(DISCOVERY)).unwrap();
    text.lines()
        .position(|l| l.starts_with("def get_version_v3():"))
        .expect("the /v3 handler")
        + 2
}

/// A `/v3` request straight to the container, in the background: what it answered.
fn v3_request(address: &str, port: &str) -> std::thread::JoinHandle<String> {
    let url = format!("http://{address}:{port}/v3");
    std::thread::spawn(move || {
        let o = std::process::Command::new("curl")
            .args(["-s", "--noproxy", "*", "-m", "120", "-H"])
            .arg(format!("{HEADER}: yes"))
            .arg("-w")
            .arg("\n%{http_code}")
            .arg(&url)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    })
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_breakpoint_in_keystones_v3_handler_stops_at_the_terminal_and_c_continues() {
    let lab = Lab::get();
    let production = lab.production();
    let dir = lab.checkout("git-osa-pdb");
    let repo = dir.path().join("keystone");
    let target = &lab.new;
    // Only the requests that ask for it stop: HAProxy's health checks of /v3 go on.
    let path = repo.join(DISCOVERY);
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "def get_version_v3():\n",
        &format!("def get_version_v3():\n    if flask.request.headers.get('{HEADER}'):\n        breakpoint()\n"),
    );
    std::fs::write(&path, text).unwrap();
    git(&repo, &["commit", "-q", "-am", "Stop in the /v3 handler"]);

    let mut run = lab.git_osa(&repo);
    run.args(["--debug", "--container", &target.name]);
    let mut pty = Pty::spawn(run);
    pty.wait_for(PINNED, Duration::from_secs(300));
    let port = crate::harness::var("GIT_OSA_LAB_KEYSTONE_PORT");
    let answer = v3_request(&target.address, &port);
    pty.wait_for("(Pdb) ", Duration::from_secs(60));
    let out = pty.out.lock().unwrap().clone();
    assert!(
        out.contains("/var/lib/git-osa/keystone/src/keystone/api/discovery.py(")
            && out.contains(")get_version_v3()"),
        "stopped in the checkout's /v3 handler:\n{out}"
    );
    pty.send(b"p flask.request.path\r");
    pty.wait_for("'/v3'", Duration::from_secs(30));
    pty.send(b"c\r");
    let answer = answer.join().unwrap();
    assert!(
        answer.contains("git-osa-pdb") && answer.ends_with("\n200"),
        "the request answers once continued: {answer}"
    );
    pty.send(b"\x03");
    let (status, out) = pty.finish(Duration::from_secs(90));
    assert!(out.contains("stays in dev mode"), "{out} {status}");
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&production, &[target]);
}

/// A Debug Adapter Protocol client, as an IDE is one: messages framed by Content-Length,
/// events kept while a response is awaited.
struct Dap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    seq: u64,
    events: Vec<serde_json::Value>,
}

impl Dap {
    /// Connects (retrying while the dev process is not listening yet) and initializes.
    fn connect(port: u16) -> Dap {
        let start = Instant::now();
        loop {
            if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                let mut dap = Dap {
                    reader: BufReader::new(s.try_clone().unwrap()),
                    writer: s,
                    seq: 0,
                    events: Vec::new(),
                };
                let seq = dap.send(
                    "initialize",
                    serde_json::json!({"clientID": "git-osa-test", "adapterID": "debugpy",
                        "pathFormat": "path", "linesStartAt1": true, "columnsStartAt1": true}),
                );
                if dap.try_response(seq).is_some() {
                    return dap;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "nothing answers DAP on 127.0.0.1:{port}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn send(&mut self, command: &str, arguments: serde_json::Value) -> u64 {
        self.seq += 1;
        let msg = serde_json::json!({"seq": self.seq, "type": "request", "command": command,
            "arguments": arguments})
        .to_string();
        write!(self.writer, "Content-Length: {}\r\n\r\n{msg}", msg.len()).unwrap();
        self.seq
    }

    fn read(&mut self) -> Option<serde_json::Value> {
        let mut len = 0;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                len = n.parse().ok()?;
            }
        }
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).ok()?;
        serde_json::from_slice(&body).ok()
    }

    fn try_response(&mut self, seq: u64) -> Option<serde_json::Value> {
        loop {
            let m = self.read()?;
            if m["type"] == "response" && m["request_seq"] == seq {
                return Some(m);
            }
            if m["type"] == "event" {
                self.events.push(m);
            }
        }
    }

    fn response(&mut self, seq: u64) -> serde_json::Value {
        let r = self.try_response(seq).expect("a DAP response");
        assert_eq!(r["success"], true, "{r}");
        r
    }

    fn event(&mut self, name: &str) -> serde_json::Value {
        loop {
            if let Some(i) = self.events.iter().position(|e| e["event"] == name) {
                return self.events.remove(i);
            }
            let m = self.read().unwrap_or_else(|| panic!("no {name} event"));
            if m["type"] == "event" {
                self.events.push(m);
            }
        }
    }
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_debugpy_client_attaches_through_the_forwarded_port_and_stops_at_a_breakpoint() {
    let lab = Lab::get();
    let production = lab.production();
    let dir = lab.checkout("git-osa-debugpy");
    let repo = dir.path().join("keystone");
    let target = &lab.new;
    let freeze = lab.pip_freeze(target);
    let port: u16 = 5679;
    let mut run = lab.start(&repo, &["--debugpy=5679", "--container", &target.name]);
    run.wait_for(PINNED, Duration::from_secs(300));
    // The launch.json entry git-osa printed, as VS Code would send it: from stdout alone,
    // where git-osa writes it whole (in the merged output a step's line on stderr could
    // come between two of its lines, and did once).
    let out = run.stdout();
    let start = out.find("{\n").expect("the launch.json entry");
    let end = start + out[start..].find("\n}\n").expect("its end") + 2;
    let launch: serde_json::Value = serde_json::from_str(&out[start..end]).unwrap();
    let local = repo.canonicalize().unwrap();
    assert_eq!(
        launch["pathMappings"][0],
        serde_json::json!({"localRoot": local.display().to_string(),
            "remoteRoot": "/var/lib/git-osa/keystone/src"})
    );
    assert_eq!(launch["connect"]["port"], port);

    let mut dap = Dap::connect(port);
    let attach = dap.send("attach", launch.clone());
    dap.event("initialized");
    let file = local.join(DISCOVERY).display().to_string();
    let line = v3_body_line(&repo);
    let set = dap.send(
        "setBreakpoints",
        serde_json::json!({"source": {"path": file},
            "breakpoints": [{"line": line,
                "condition": format!("flask.request.headers.get('{HEADER}') == 'yes'")}]}),
    );
    dap.response(set);
    let done = dap.send("configurationDone", serde_json::json!({}));
    dap.response(done);
    dap.response(attach);

    let kport = crate::harness::var("GIT_OSA_LAB_KEYSTONE_PORT");
    let answer = v3_request(&target.address, &kport);
    let stopped = dap.event("stopped");
    assert_eq!(stopped["body"]["reason"], "breakpoint", "{stopped}");
    let thread = stopped["body"]["threadId"].clone();
    let trace = dap.send("stackTrace", serde_json::json!({"threadId": thread}));
    let frames = dap.response(trace);
    let top = &frames["body"]["stackFrames"][0];
    assert_eq!(top["name"], "get_version_v3", "{frames}");
    assert_eq!(top["line"], line, "{frames}");
    assert_eq!(
        top["source"]["path"], file,
        "the container's copy mapped to the checkout: {frames}"
    );
    let cont = dap.send("continue", serde_json::json!({"threadId": thread}));
    dap.response(cont);
    let answer = answer.join().unwrap();
    assert!(
        answer.contains("git-osa-debugpy") && answer.ends_with("\n200"),
        "{answer}"
    );
    let bye = dap.send(
        "disconnect",
        serde_json::json!({"terminateDebuggee": false}),
    );
    let _ = dap.try_response(bye);

    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(90)), 130, "{}", run.output());
    let (_, block, _) = lab.status_of(&repo, target);
    assert!(
        block.contains("  debugger debugpy in the venv until restore"),
        "{block}"
    );
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        lab.pip_freeze(target),
        freeze,
        "the venv as before, without debugpy"
    );
    lab.assert_production_back(&production, &[target]);
}
