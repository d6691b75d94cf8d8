//! HAProxy as users meet it going wrong: an admin socket that does not exist, a socket
//! gone while a pinned run serves, requests arriving while Ctrl-C stops a pinned run, and
//! a rerun right after Ctrl-C, while the other server is still coming back.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::harness::{Lab, PINNED, edit, var};
use crate::running::Running;

const NO_SOCKET: &str = "/nonexistent";

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_haproxy_socket_that_does_not_exist_stops_the_run_before_it_changes_anything() {
    let lab = Lab::get();
    let target = &lab.old;
    let dir = lab.checkout("git-osa-no-socket");
    let repo = dir.path().join("keystone");
    let before = lab.production();

    let o = lab
        .git_osa(&repo)
        .env("GIT_OSA_HAPROXY_SOCKET", NO_SOCKET)
        .args(["--container", &target.name])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains(NO_SOCKET) && e.contains("nothing was changed"),
        "{e}"
    );
    assert!(e.contains("--no-haproxy"), "{e}");
    lab.assert_untouched(&before);

    let o = lab
        .git_osa(&repo)
        .env("GIT_OSA_HAPROXY_SOCKET", NO_SOCKET)
        .arg("status")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("haproxy ") && l.contains(NO_SOCKET)),
        "{out}"
    );

    let mut cmd = lab.git_osa(&repo);
    cmd.env("GIT_OSA_HAPROXY_SOCKET", NO_SOCKET).args([
        "--container",
        &target.name,
        "--no-haproxy",
    ]);
    let mut run = Running::spawn(cmd);
    lab.wait(
        "the dev code in the container",
        Duration::from_secs(240),
        || lab.direct_v3(target).contains("git-osa-no-socket"),
    );
    let out = run.output();
    assert!(
        out.contains("git-osa: warning: HAProxy: ")
            && out.contains("going on without it (--no-haproxy)"),
        "{out}"
    );
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[target]);
}

/// The lab's own admin socket, moved aside for a story and put back however it ends.
struct MovedSocket {
    socket: PathBuf,
    aside: PathBuf,
}

impl MovedSocket {
    fn away() -> MovedSocket {
        let socket = PathBuf::from(var("GIT_OSA_HAPROXY_SOCKET"));
        let aside = socket.with_file_name("haproxy.stat.moved-by-a-story");
        std::fs::rename(&socket, &aside).unwrap();
        MovedSocket { socket, aside }
    }
}

impl Drop for MovedSocket {
    fn drop(&mut self) {
        let _ = std::fs::rename(&self.aside, &self.socket);
    }
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn the_haproxy_socket_gone_mid_run_ctrl_c_says_haproxy_could_not_be_put_back_and_how() {
    let lab = Lab::get();
    let target = &lab.new;
    let dir = lab.checkout("git-osa-socket-gone");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    run.wait_for(PINNED, Duration::from_secs(240));
    let moved = MovedSocket::away();
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
    let out = run.output();
    assert!(out.contains("HAProxy could not be put back"), "{out}");
    assert!(out.contains("`git osa restore`"), "{out}");
    // Nothing of the dev process is left, though HAProxy could not be told.
    assert_ne!(lab.unit_state(target, &lab.scope), "active");
    drop(moved);
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[target]);
}

/// `GET /v3` on the frontend, over one TCP connection: the HTTP status code, or 0 when
/// no answer came.
fn status_code(addr: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /v3 HTTP/1.0\r\nHost: keystone\r\n\r\n")
        .is_err()
    {
        return 0;
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn no_request_fails_while_ctrl_c_stops_a_pinned_run() {
    let lab = Lab::get();
    let target = &lab.old;
    let dir = lab.checkout("git-osa-no-failed-request");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    run.wait_for(PINNED, Duration::from_secs(240));

    // A request every 20 ms for 10 s, to the lab's frontend only, while SIGINT stops the
    // run: traffic moves back to the other server before the dev process stops.
    let addr = lab.frontend.trim_start_matches("http://").to_string();
    let requests = std::thread::spawn(move || {
        let start = Instant::now();
        let mut codes = Vec::new();
        while start.elapsed() < Duration::from_secs(10) {
            codes.push((start.elapsed(), status_code(&addr)));
            std::thread::sleep(Duration::from_millis(20));
        }
        codes
    });
    std::thread::sleep(Duration::from_secs(2));
    run.signal(libc::SIGINT);
    let code = run.finish(Duration::from_secs(60));
    let codes = requests.join().unwrap();
    assert_eq!(code, 130, "{}", run.output());
    let failed: Vec<_> = codes
        .iter()
        .filter(|(_, c)| !(200..300).contains(c))
        .collect();
    eprintln!("{} requests while SIGINT stopped the run", codes.len());
    assert!(codes.len() > 200, "{} requests", codes.len());
    assert!(
        failed.is_empty(),
        "{} of {} requests failed (time, status): {failed:?}\n{}",
        failed.len(),
        codes.len(),
        run.output()
    );
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[target]);
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_rerun_within_a_second_of_ctrl_c_still_drains_and_pins() {
    let lab = Lab::get();
    let (target, other) = (&lab.new, &lab.old);
    let dir = lab.checkout("git-osa-quick-rerun");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let mut run = lab.start(&repo, &["--container", &target.name]);
    run.wait_for(PINNED, Duration::from_secs(240));
    run.signal(libc::SIGINT);
    assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
    let stopped = Instant::now();
    edit(&repo, "git-osa-quick-rerun-2");
    let mut again = lab.start(&repo, &["--container", &target.name]);
    let other_then = lab.server(other);
    assert!(stopped.elapsed() < Duration::from_secs(1));
    eprintln!("the other server as the rerun starts: {other_then}");
    again.wait_for(PINNED, Duration::from_secs(120));
    for _ in 0..20 {
        let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
        assert!(h.starts_with("HTTP/1.1 200"), "{h}");
        assert!(
            body.contains("git-osa-quick-rerun-2"),
            "a request did not reach the rerun's code ({other} was {other_then} as it started): {body}\n{}",
            again.output()
        );
    }
    again.signal(libc::SIGINT);
    assert_eq!(again.finish(Duration::from_secs(60)), 130);
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[target]);
}

/// Restarts the lab's HAProxy as an operator's reload does: a new process takes the
/// config and the old one ends (`-sf`); runtime states (a server in maintenance) are
/// forgotten.
fn restart_haproxy() {
    let socket = PathBuf::from(var("GIT_OSA_HAPROXY_SOCKET"));
    let run = socket.parent().unwrap();
    let pid_file = run.join("haproxy.pid");
    let cfg = run.parent().unwrap().join("haproxy/haproxy.cfg");
    let old = std::fs::read_to_string(&pid_file).unwrap();
    let st = std::process::Command::new("/usr/sbin/haproxy")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .arg("-D")
        .arg("-p")
        .arg(&pid_file)
        .arg("-f")
        .arg(&cfg)
        .arg("-sf")
        .arg(old.trim())
        .stdin(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "restarting HAProxy");
}

/// Regression: HAProxy restarted mid-session split the traffic between the
/// dev and production servers while `status` still said "out of rotation", and `sync`
/// neither noticed nor repaired it.
#[test]
#[ignore = "needs the lab: tests/run"]
fn haproxy_restarted_mid_session_is_said_by_status_and_sync_pins_again() {
    let lab = Lab::get();
    let (target, other) = (&lab.new, &lab.old);
    let dir = lab.checkout("git-osa-repinned");
    let repo = dir.path().join("keystone");
    let before = lab.production();
    let o = lab.run(&repo, &["run", "--detach", "--container", &target.name]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lab.server(other), "MAINT");

    restart_haproxy();
    lab.wait_up(other);
    let (code, block, err) = lab.status_of(&repo, target);
    assert_eq!(code, Some(2), "{block}{err}");
    assert!(
        block.contains(&format!(
            "HAProxy {}/{other} taken out of rotation, and back in it",
            lab.backend
        )),
        "{block}"
    );
    assert!(err.contains("HAProxy forgot"), "{err}");
    let o = lab.run(&repo, &["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let lost = doc["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == target.name.as_str())
        .unwrap()["lost_pins"]
        .clone();
    assert_eq!(lost[0]["server"], other.name.as_str(), "{doc:#}");

    let o = lab.run(&repo, &["sync"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("out of rotation again"), "{e}");
    assert_eq!(lab.server(other), "MAINT");
    for _ in 0..10 {
        let (head, body) = lab.http(&format!("{}/v3", lab.frontend));
        assert!(body.contains("git-osa-repinned"), "{head}{body}");
    }
    let (code, _, err) = lab.status_of(&repo, target);
    assert_eq!(code, Some(0), "{err}");
    let o = lab.run(&repo, &["restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.assert_production_back(&before, &[target]);
}
