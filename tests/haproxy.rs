//! HAProxy's health check made by git-osa, against a real HAProxy: each test starts its
//! own `/usr/sbin/haproxy` (a backend, no frontend, its admin socket in a folder of its
//! own) whose one server is an HTTP server of the test on 127.0.0.1, checked every 60 s
//! with OSA's `rise 3`, and ends exactly that HAProxy, by its pid. Where HAProxy is not
//! installed a test says SKIPPED on stderr and returns; with `GIT_OSA_REQUIRE_HAPROXY=1`
//! (tests/run sets it) it fails instead.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use git_osa::haproxy::{Change, Haproxy, Server, State};

const HAPROXY: &str = "/usr/sbin/haproxy";

/// An HTTP server on loopback answering every request with the status in `status`
/// (changed as the test goes), and counting the requests.
struct App {
    port: u16,
    status: Arc<AtomicU16>,
}

impl App {
    fn start(status: u16) -> App {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let status = Arc::new(AtomicU16::new(status));
        let answer = status.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let code = answer.load(Ordering::SeqCst);
                let _ = conn.write_all(
                    format!("HTTP/1.0 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                );
            }
        });
        App { port, status }
    }
}

struct Proxy {
    dir: tempfile::TempDir,
    pid: i32,
}

impl Proxy {
    /// A HAProxy whose backend `b` has the server `s` on the app's port, checked with
    /// `check` (the backend's check lines).
    fn start(test: &str, app: &App, check: &str) -> Option<Proxy> {
        if !Path::new(HAPROXY).exists() {
            if std::env::var_os("GIT_OSA_REQUIRE_HAPROXY").is_some() {
                panic!("{test}: {HAPROXY} is not installed");
            }
            eprintln!("SKIPPED {test}: {HAPROXY} is not installed (apt-get install haproxy)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let config = format!(
            "global\n    stats socket {d}/admin.sock mode 600 level admin\n\
             defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n\
             \x20   timeout server 5s\n    timeout check 2s\n\
             backend b\n{check}\n\
             \x20   server s 127.0.0.1:{port} check port {port} inter 60s rise 3 fall 3\n",
            d = d.display(),
            port = app.port
        );
        std::fs::write(d.join("haproxy.cfg"), config).unwrap();
        let status = Command::new(HAPROXY)
            .arg("-D")
            .arg("-p")
            .arg(d.join("pid"))
            .arg("-f")
            .arg(d.join("haproxy.cfg"))
            .status()
            .unwrap();
        assert!(status.success(), "{test}: haproxy did not start");
        let pid = std::fs::read_to_string(d.join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Some(Proxy { dir, pid })
    }

    fn haproxy(&self) -> Haproxy {
        Haproxy::local(&self.dir.path().join("admin.sock"))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // SAFETY: the pid of the HAProxy this test started.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
    }
}

fn server(haproxy: &Haproxy) -> Server {
    haproxy
        .servers()
        .unwrap()
        .into_iter()
        .find(|s| s.backend == "b" && s.name == "s")
        .unwrap()
}

/// The server as HAProxy's first check left it (it checks once at its start), then
/// forced down as git-osa does before a swap.
fn up_then_forced_down(haproxy: &Haproxy) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server(haproxy).state() != State::Up {
        assert!(Instant::now() < deadline, "never UP: {:?}", server(haproxy));
        std::thread::sleep(Duration::from_millis(50));
    }
    haproxy.set("b", "s", Change::HealthDown).unwrap();
    assert_eq!(server(haproxy).state(), State::Down);
}

#[test]
fn a_server_that_passes_haproxys_own_check_is_up_at_once_not_an_interval_later() {
    let app = App::start(200);
    let Some(proxy) = Proxy::start(
        "a_server_that_passes",
        &app,
        "    option httpchk\n    http-check send hdr User-Agent \"osa-haproxy-healthcheck\" meth HEAD uri /healthcheck",
    ) else {
        return;
    };
    let haproxy = proxy.haproxy();
    up_then_forced_down(&haproxy);
    let started = Instant::now();
    assert!(git_osa::traffic::mark_up_early(&haproxy, &server(&haproxy)));
    let took = started.elapsed();
    let s = server(&haproxy);
    assert_eq!(s.status, "UP", "{s:?}");
    // HAProxy's own next check is up to 60 s away.
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_server_that_fails_the_check_stays_down_until_it_passes() {
    let app = App::start(200);
    let Some(proxy) = Proxy::start(
        "a_server_that_fails",
        &app,
        "    option httpchk GET /v3\n    http-check expect status 200",
    ) else {
        return;
    };
    let haproxy = proxy.haproxy();
    up_then_forced_down(&haproxy);
    // The new process answers, but not what HAProxy expects.
    app.status.store(503, Ordering::SeqCst);
    assert!(!git_osa::traffic::mark_up_early(
        &haproxy,
        &server(&haproxy)
    ));
    app.status.store(300, Ordering::SeqCst);
    assert!(
        !git_osa::traffic::mark_up_early(&haproxy, &server(&haproxy)),
        "200 is expected, not any 3xx"
    );
    assert_eq!(server(&haproxy).state(), State::Down);
    app.status.store(200, Ordering::SeqCst);
    assert!(git_osa::traffic::mark_up_early(&haproxy, &server(&haproxy)));
    assert_eq!(server(&haproxy).state(), State::Up);
}

#[test]
fn a_check_git_osa_cannot_make_as_haproxy_does_is_left_to_haproxy() {
    let app = App::start(200);
    let Some(proxy) = Proxy::start(
        "a_check_git_osa_cannot_make",
        &app,
        "    option httpchk GET /\n    http-check expect string OK",
    ) else {
        return;
    };
    let haproxy = proxy.haproxy();
    // HAProxy's own check fails (no "OK" in the body): forced down, it stays down.
    haproxy.set("b", "s", Change::HealthDown).unwrap();
    assert!(haproxy.check(&server(&haproxy)).is_none());
    assert!(!git_osa::traffic::mark_up_early(
        &haproxy,
        &server(&haproxy)
    ));
    assert_eq!(server(&haproxy).state(), State::Down);
}
