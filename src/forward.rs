//! A port of a container's loopback, forwarded to this machine's: git-osa listens on
//! 127.0.0.1:PORT here and, for each connection, runs a relay in the container (a few
//! lines of the system's Python) through the target's own transport; the relay connects
//! to 127.0.0.1:PORT there and copies the bytes both ways over its stdin and stdout. So
//! the forward works wherever git-osa reaches the container (`lxc-attach` on this host,
//! ssh to another, through the deploy host from a laptop), opens no port on any host,
//! and ends with git-osa.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Stdio;

use crate::error::{Error, Result};
use crate::transport::Target;

/// The relay in the container: `python3 -c RELAY PORT`.
const RELAY: &str = r#"
import os, socket, sys, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def up():
    while True:
        b = os.read(0, 65536)
        if not b:
            break
        s.sendall(b)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while True:
    b = s.recv(65536)
    if not b:
        break
    while b:
        b = b[os.write(1, b):]
"#;

/// This machine's end of the forward, taken before anything changes: a port in use is
/// the user's to free or change.
pub fn bind(port: u16) -> Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
        Error::user(format!(
            "port {port} on this machine's loopback cannot be the debugger's ({e}): nothing was changed"
        ))
        .hint("give another with --debugpy=PORT (the same port in the container), or end what listens there")
    })
}

/// Forwards each connection to `listener` to `port` on the target's loopback, in the
/// background, for as long as git-osa runs.
pub fn start(listener: TcpListener, target: Target, port: u16) {
    std::thread::spawn(move || {
        for conn in listener.incoming().map_while(std::result::Result::ok) {
            let target = target.clone();
            std::thread::spawn(move || {
                if let Err(e) = relay(conn, &target, port) {
                    log::debug!("forwarding a connection to {}: {e}", target.name);
                }
            });
        }
    });
}

fn relay(conn: TcpStream, target: &Target, port: u16) -> Result<()> {
    let argv = ["python3", "-c", RELAY, &port.to_string()];
    let mut child = target
        .command(&argv)?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(anyhow::Error::from)?;
    let mut to_child = child.stdin.take().expect("piped");
    let mut from_child = child.stdout.take().expect("piped");
    let mut down = conn.try_clone().map_err(anyhow::Error::from)?;
    let mut up = conn;
    let pump = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = from_child.read(&mut buf) {
            if n == 0 || down.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = down.shutdown(std::net::Shutdown::Both);
    });
    let mut buf = [0u8; 65536];
    while let Ok(n) = up.read(&mut buf) {
        if n == 0 || to_child.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    drop(to_child);
    let _ = pump.join();
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

/// How to attach: where the debugger listens, VS Code's launch.json entry, and the path
/// mappings (each checkout here to its copy in the container) in the form other IDEs take.
pub fn attach_text(
    service: &str,
    container: &str,
    port: u16,
    mappings: &[(PathBuf, String)],
) -> String {
    let local = |p: &PathBuf| p.display().to_string().trim_end_matches('/').to_string();
    let launch = serde_json::json!({
        "name": format!("git osa: {service} in {container}"),
        "type": "debugpy",
        "request": "attach",
        "connect": { "host": "127.0.0.1", "port": port },
        "pathMappings": mappings.iter().map(|(l, r)| serde_json::json!({
            "localRoot": local(l),
            "remoteRoot": r,
        })).collect::<Vec<_>>(),
        "justMyCode": false,
    });
    let mut out = format!(
        "debugpy: the dev process listens on 127.0.0.1:{port} in {container}; git-osa forwards 127.0.0.1:{port} here to it while this run lasts.\n\
         VS Code: add to .vscode/launch.json's \"configurations\", then Run > Start Debugging:\n"
    );
    out.push_str(&serde_json::to_string_pretty(&launch).expect("JSON"));
    out.push('\n');
    out.push_str("Path mappings (PyCharm's \"Path mappings\", nvim-dap's and the other DAP clients'), here=container:\n");
    for (l, r) in mappings {
        out.push_str(&format!("  {}={r}\n", local(l)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lxc::Lxc;

    #[test]
    fn a_port_in_use_is_refused_before_anything_changes() {
        let taken = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = bind(port).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "port {port} on this machine's loopback cannot be the debugger's"
            )),
            "{err}"
        );
        assert_eq!(err.exit_code(), 2);
    }

    /// The relay, through a metal target (this host): a server on one port answers a
    /// client of the forwarded one, both ways.
    #[test]
    fn a_connection_is_relayed_both_ways_through_the_target() {
        let server = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = server.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut c, _) = server.accept().unwrap();
            let mut line = [0u8; 5];
            c.read_exact(&mut line).unwrap();
            c.write_all(&[b"echo:".as_slice(), &line].concat()).unwrap();
        });
        let here = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let local = here.local_addr().unwrap().port();
        start(here, Lxc::default().target("aio1", true), port);
        let mut c = TcpStream::connect(("127.0.0.1", local)).unwrap();
        c.write_all(b"hello").unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"echo:hello");
    }

    #[test]
    fn the_attach_configuration_maps_each_checkout_to_its_copy() {
        let text = attach_text(
            "keystone",
            "c1",
            5678,
            &[(
                PathBuf::from("/home/dev/src/keystone/"),
                "/var/lib/git-osa/keystone/src".into(),
            )],
        );
        assert!(
            text.contains("\"localRoot\": \"/home/dev/src/keystone\""),
            "{text}"
        );
        assert!(
            text.contains("\"remoteRoot\": \"/var/lib/git-osa/keystone/src\""),
            "{text}"
        );
        assert!(text.contains("\"port\": 5678"), "{text}");
        assert!(
            text.ends_with("  /home/dev/src/keystone=/var/lib/git-osa/keystone/src\n"),
            "{text}"
        );
    }
}
