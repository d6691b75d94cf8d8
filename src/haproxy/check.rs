//! HAProxy's health check of a server, made by git-osa itself, so that a server whose new
//! process answers is marked up at once instead of at HAProxy's next check: one `inter`
//! later (OSA: 12 s), which the runtime API cannot bring forward (neither `enable health`
//! nor a server's new address makes HAProxy check sooner: measured on HAProxy 2.6).
//!
//! The check is HAProxy's own, read from the configuration the running HAProxy was started
//! with: `option httpchk`, `http-check send` and `http-check expect status`, or a plain
//! connection where the backend has no HTTP check; a server's `port` and `addr`. Anything
//! else (TLS checks, `tcp-check` sequences, agents, database checks, regular expressions)
//! is not imitated: HAProxy's own checks decide for those servers, as without this.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// How long a connection to a server may take before it counts as unreachable from here.
const CONNECT: Duration = Duration::from_millis(500);

/// How long an answer may take when the configuration sets no `timeout check`.
const ANSWER: Duration = Duration::from_secs(2);

/// The checks of a configuration, per backend and server: only those git-osa can make as
/// HAProxy does.
#[derive(Debug, Default, Clone)]
pub struct Checks {
    servers: HashMap<(String, String), Check>,
}

/// One server's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Where the check connects: the server's address, or its `addr`/`port`.
    pub to: String,
    pub probe: Probe,
    /// `timeout check`, or [`ANSWER`].
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A connection that opens (no HTTP check configured).
    Connect,
    /// An HTTP request, and what its status must be.
    Http { request: Vec<u8>, expect: Expect },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// HAProxy's default: 2xx or 3xx.
    Success,
    /// `http-check expect status ...`: these codes or ranges.
    Status(Vec<(u16, u16)>),
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// The server answered, or refused the connection, and did not pass.
    Fail(String),
    /// No route to the server from here, or no answer to the connection at all (a host
    /// outside the management network): only HAProxy's own checks can tell.
    Unreachable(String),
}

impl Checks {
    /// The checks of a configuration's text (the files of `haproxy -f`, in order).
    pub fn parse(config: &str) -> Checks {
        let mut checks = Checks::default();
        let mut defaults = Rules::default();
        let mut section: Option<Section> = None;
        for line in config.lines() {
            let words = words(line);
            let Some(first) = words.first() else { continue };
            if SECTIONS.contains(&first.as_str()) {
                if let Some(s) = section.take() {
                    s.end(&mut defaults, &mut checks);
                }
                section = Some(Section::new(first, words.get(1), &defaults));
                continue;
            }
            if let Some(s) = section.as_mut() {
                s.line(&words);
            }
        }
        if let Some(s) = section.take() {
            s.end(&mut defaults, &mut checks);
        }
        checks
    }

    /// The check of `server` in `backend`, when git-osa can make it as HAProxy does.
    pub fn of(&self, backend: &str, server: &str) -> Option<&Check> {
        self.servers.get(&(backend.to_string(), server.to_string()))
    }
}

const SECTIONS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "resolvers",
    "peers",
    "userlist",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
    "log-forward",
    "crt-store",
    "traces",
];

/// The check rules of a `defaults` or proxy section.
#[derive(Debug, Clone, Default)]
struct Rules {
    /// `option httpchk`'s method, uri and version, as given.
    httpchk: Option<Vec<String>>,
    /// `http-check send`'s words.
    send: Option<Vec<String>>,
    /// `http-check expect`'s words.
    expect: Option<Vec<String>>,
    /// Why this section's checks cannot be made here.
    unsupported: Option<String>,
    timeout: Option<Duration>,
    /// `default-server`'s words.
    default_server: Vec<String>,
}

struct Section {
    kind: String,
    name: String,
    rules: Rules,
    /// Each `server` line's words after the keyword.
    servers: Vec<Vec<String>>,
}

impl Section {
    fn new(kind: &str, name: Option<&String>, defaults: &Rules) -> Section {
        Section {
            kind: kind.to_string(),
            name: name.cloned().unwrap_or_default(),
            rules: match kind {
                // A new `defaults` starts from nothing (as HAProxy's anonymous ones do).
                "defaults" => Rules::default(),
                _ => defaults.clone(),
            },
            servers: Vec::new(),
        }
    }

    fn line(&mut self, words: &[String]) {
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let r = &mut self.rules;
        match w.as_slice() {
            ["option", "httpchk", rest @ ..] => r.httpchk = Some(own(rest)),
            ["no", "option", "httpchk"] => r.httpchk = None,
            [
                "option",
                other @ ("tcp-check" | "ssl-hello-chk" | "smtpchk" | "mysql-check" | "pgsql-check"
                | "redis-check" | "ldap-check" | "spop-check" | "external-check"),
                ..,
            ] => {
                r.unsupported = Some(format!("option {other}"));
            }
            ["tcp-check" | "external-check", ..] => {
                r.unsupported = Some(format!("{} rules", w[0]));
            }
            ["http-check", "send", rest @ ..] => {
                if r.send.is_some() {
                    r.unsupported = Some("several `http-check send` rules".into());
                }
                r.send = Some(own(rest));
            }
            ["http-check", "expect", rest @ ..] => {
                if r.expect.is_some() {
                    r.unsupported = Some("several `http-check expect` rules".into());
                }
                r.expect = Some(own(rest));
            }
            // Neither changes whether a check passes on a 2xx/3xx answer.
            [
                "http-check",
                "disable-on-404" | "send-state" | "comment",
                ..,
            ] => {}
            ["http-check", other, ..] => r.unsupported = Some(format!("http-check {other}")),
            ["timeout", "check", value] => r.timeout = duration(value),
            ["default-server", rest @ ..] => r.default_server = own(rest),
            ["server", rest @ ..] if self.kind != "defaults" => self.servers.push(own(rest)),
            _ => {}
        }
    }

    fn end(self, defaults: &mut Rules, checks: &mut Checks) {
        match self.kind.as_str() {
            "defaults" => *defaults = self.rules,
            "backend" | "listen" => {
                for words in &self.servers {
                    let Some(name) = words.first() else { continue };
                    match server_check(&self.rules, words) {
                        Ok(Some(check)) => {
                            checks
                                .servers
                                .insert((self.name.clone(), name.clone()), check);
                        }
                        Ok(None) => {}
                        Err(why) => log::debug!(
                            target: "git_osa::haproxy",
                            "HAProxy's check of {}/{name} is left to HAProxy: {why}",
                            self.name
                        ),
                    }
                }
            }
            _ => {}
        }
    }
}

fn own(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// A server line's check (`Ok(None)`: it has none), or why git-osa cannot make it.
fn server_check(rules: &Rules, words: &[String]) -> Result<Option<Check>, String> {
    let Some(address) = words.get(1) else {
        return Ok(None);
    };
    let params: Vec<&str> = rules
        .default_server
        .iter()
        .chain(&words[2..])
        .map(String::as_str)
        .collect();
    if !params.contains(&"check") || params.contains(&"no-check") {
        return Ok(None);
    }
    if let Some(why) = &rules.unsupported {
        return Err(why.clone());
    }
    let mut port = None;
    let mut addr = None;
    let mut tls = false;
    let mut i = 0;
    while i < params.len() {
        match params[i] {
            "port" => {
                port = params.get(i + 1).copied();
                i += 1;
            }
            "addr" => {
                addr = params.get(i + 1).copied();
                i += 1;
            }
            "ssl" | "check-ssl" => tls = true,
            "no-ssl" | "no-check-ssl" => tls = false,
            p @ ("agent-check" | "check-send-proxy" | "check-proto" | "check-via-socks4") => {
                return Err(format!("`{p}` on the server"));
            }
            _ => {}
        }
        i += 1;
    }
    if tls {
        return Err("a TLS check".into());
    }
    // The server's own address: `IP:PORT` (IPv6 in brackets or bare before the last
    // colon); a name HAProxy resolves is left to it.
    let (host, own_port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("no port in {address}"))?;
    let host = addr
        .unwrap_or(host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("{host} is not an IP address"));
    }
    let port: u16 = port
        .unwrap_or(own_port)
        .parse()
        .map_err(|_| format!("no port to check in {address}"))?;
    let to = SocketAddr::new(host.parse().unwrap(), port).to_string();
    let probe = match &rules.httpchk {
        None => Probe::Connect,
        Some(args) => http_probe(args, rules.send.as_deref(), rules.expect.as_deref())?,
    };
    Ok(Some(Check {
        to,
        probe,
        timeout: rules.timeout.unwrap_or(ANSWER),
    }))
}

/// The request and expectation of `option httpchk [<method>] [<uri>] [<version>]`, with
/// `http-check send` and `http-check expect` over them.
fn http_probe(
    httpchk: &[String],
    send: Option<&[String]>,
    expect: Option<&[String]>,
) -> Result<Probe, String> {
    let (mut method, mut uri, mut version) = match httpchk {
        [] => ("OPTIONS", "/", "HTTP/1.0"),
        [uri] => ("OPTIONS", uri.as_str(), "HTTP/1.0"),
        [m, uri] => (m.as_str(), uri.as_str(), "HTTP/1.0"),
        [m, uri, v, ..] => (m.as_str(), uri.as_str(), v.as_str()),
    };
    let mut headers = Vec::new();
    if let Some(send) = send {
        let mut i = 0;
        while i < send.len() {
            let value = send.get(i + 1).map(String::as_str);
            match (send[i].as_str(), value) {
                ("meth", Some(v)) => method = v,
                ("uri", Some(v)) => uri = v,
                ("ver", Some(v)) => version = v,
                ("hdr", Some(name)) => {
                    let v = send.get(i + 2).ok_or("a header with no value")?;
                    headers.push(format!("{name}: {v}"));
                    i += 1;
                }
                (other, _) => return Err(format!("http-check send {other}")),
            }
            i += 2;
        }
    }
    // The old way of adding headers: `HTTP/1.1\r\nHost:\ www` in the version.
    let version = version.replace("\\r\\n", "\r\n");
    let mut request = format!("{method} {uri} {version}\r\n");
    for h in headers {
        request.push_str(&h);
        request.push_str("\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    let expect = match expect {
        None => Expect::Success,
        Some([kind, codes]) if kind == "status" => Expect::Status(status_ranges(codes)?),
        Some(words) => return Err(format!("http-check expect {}", words.join(" "))),
    };
    Ok(Probe::Http {
        request: request.into_bytes(),
        expect,
    })
}

/// `200`, `200-399`, `200,301-302`.
fn status_ranges(codes: &str) -> Result<Vec<(u16, u16)>, String> {
    codes
        .split(',')
        .map(|part| {
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            match (lo.parse(), hi.parse()) {
                (Ok(lo), Ok(hi)) => Ok((lo, hi)),
                _ => Err(format!("http-check expect status {codes}")),
            }
        })
        .collect()
}

/// HAProxy's time values: a number of milliseconds, or with a unit.
fn duration(value: &str) -> Option<Duration> {
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (n, unit) = value.split_at(split);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "" | "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "us" => Duration::from_micros(n),
        _ => return None,
    })
}

/// A configuration line's words: `#` starts a comment outside quotes; quotes group,
/// a backslash escapes the next character (`\ ` a space).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (q, '\\') if q != Some('\'') => match chars.peek() {
                // Kept as written: `\r\n` in an httpchk version is HAProxy's to read.
                Some('r' | 'n') => word.push('\\'),
                Some(_) => {
                    word.push(chars.next().unwrap());
                    in_word = true;
                }
                None => {}
            },
            (None, '#') => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

impl Check {
    /// Makes the check once, as HAProxy would.
    pub fn run(&self) -> Verdict {
        let Some(addr) = self.to.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
            return Verdict::Unreachable(format!("{} is not an address", self.to));
        };
        let mut stream = match TcpStream::connect_timeout(&addr, CONNECT) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Verdict::Fail(format!("{}: connection refused", self.to));
            }
            Err(e) => return Verdict::Unreachable(format!("{}: {e}", self.to)),
        };
        let Probe::Http { request, expect } = &self.probe else {
            return Verdict::Pass;
        };
        let deadline = Instant::now() + self.timeout;
        let _ = stream.set_write_timeout(Some(self.timeout));
        if let Err(e) = stream.write_all(request) {
            return Verdict::Fail(format!("{}: {e}", self.to));
        }
        let mut answer = Vec::new();
        let mut buf = [0u8; 512];
        while !answer.contains(&b'\n') {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Verdict::Fail(format!("{}: no answer within {:?}", self.to, self.timeout));
            }
            let _ = stream.set_read_timeout(Some(left));
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) => return Verdict::Fail(format!("{}: {e}", self.to)),
            }
        }
        let line = String::from_utf8_lossy(answer.split(|&b| b == b'\n').next().unwrap_or(&[]))
            .trim()
            .to_string();
        let code: Option<u16> = line
            .strip_prefix("HTTP/")
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok());
        let Some(code) = code else {
            return Verdict::Fail(format!("{}: not an HTTP answer: {line:?}", self.to));
        };
        let passes = match expect {
            Expect::Success => (200..400).contains(&code),
            Expect::Status(ranges) => ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code)),
        };
        if passes {
            Verdict::Pass
        } else {
            Verdict::Fail(format!("{}: {line}", self.to))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OSA: &str = r#"
global
    stats socket /var/run/haproxy.stat level admin mode 600
defaults
    mode http
    timeout check 5s # checks
frontend keystone_service-front-1
    bind 172.29.236.100:5000
    default_backend keystone_service-back
backend keystone_service-back
    mode http
    balance leastconn
    option httpchk
    http-check send hdr User-Agent "osa-haproxy-healthcheck" meth HEAD uri /healthcheck
    server aio1_keystone_container-6c0f3a1e 172.29.236.11:5000 check port 5000 inter 12000 rise 3 fall 3
backend galera-back
    mode tcp
    option mysql-check user monitoring
    server aio1_galera_container-1 172.29.236.21:3306 check port 9200 inter 12000 rise 3 fall 3
backend heat_api-back
    option httpchk GET / HTTP/1.1\r\nHost:\ heat
    http-check expect status 300-399
    server h1 172.29.236.31:8004 check addr 172.29.236.131 port 18004
    server h2 172.29.236.32:8004
    server h3 172.29.236.33:8004 check ssl verify none
listen rabbit
    server r1 172.29.236.22:5671 check inter 12000
"#;

    fn request(check: &Check) -> String {
        match &check.probe {
            Probe::Http { request, .. } => String::from_utf8(request.clone()).unwrap(),
            Probe::Connect => "connect".into(),
        }
    }

    #[test]
    fn osas_keystone_check_is_the_head_of_healthcheck_with_its_user_agent() {
        let checks = Checks::parse(OSA);
        let c = checks
            .of("keystone_service-back", "aio1_keystone_container-6c0f3a1e")
            .unwrap();
        assert_eq!(c.to, "172.29.236.11:5000");
        assert_eq!(
            request(c),
            "HEAD /healthcheck HTTP/1.0\r\nUser-Agent: osa-haproxy-healthcheck\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert!(matches!(
            c.probe,
            Probe::Http {
                expect: Expect::Success,
                ..
            }
        ));
    }

    #[test]
    fn the_old_way_of_headers_a_check_address_and_port_and_a_status_range() {
        let checks = Checks::parse(OSA);
        let c = checks.of("heat_api-back", "h1").unwrap();
        assert_eq!(c.to, "172.29.236.131:18004");
        assert_eq!(
            request(c),
            "GET / HTTP/1.1\r\nHost: heat\r\nConnection: close\r\n\r\n"
        );
        assert!(
            matches!(&c.probe, Probe::Http { expect: Expect::Status(r), .. } if r == &[(300, 399)])
        );
    }

    #[test]
    fn what_git_osa_cannot_check_as_haproxy_does_is_left_to_haproxy() {
        let checks = Checks::parse(OSA);
        assert!(
            checks
                .of("galera-back", "aio1_galera_container-1")
                .is_none(),
            "mysql-check"
        );
        assert!(
            checks.of("heat_api-back", "h2").is_none(),
            "no check at all"
        );
        assert!(checks.of("heat_api-back", "h3").is_none(), "a TLS check");
        assert!(checks.of("keystone_service-back", "nobody").is_none());
        let c = checks.of("rabbit", "r1").unwrap();
        assert_eq!(c.probe, Probe::Connect, "no httpchk: a connection");
        assert_eq!(c.timeout, Duration::from_secs(5), "from defaults");
    }

    #[test]
    fn defaults_carry_into_later_proxies_and_a_new_defaults_starts_afresh() {
        let checks = Checks::parse(
            "defaults\n option httpchk GET /up\nbackend a\n server s 10.0.0.1:80 check\n\
             defaults\n mode tcp\nbackend b\n server s 10.0.0.2:80 check\n\
             backend c\n option httpchk\n no option httpchk\n server s 10.0.0.3:80 check\n",
        );
        assert!(request(checks.of("a", "s").unwrap()).starts_with("GET /up HTTP/1.0\r\n"));
        assert_eq!(checks.of("b", "s").unwrap().probe, Probe::Connect);
        assert_eq!(checks.of("c", "s").unwrap().probe, Probe::Connect);
    }

    #[test]
    fn unsupported_expectations_and_rules_leave_the_backend_to_haproxy() {
        for rule in [
            "http-check expect string OK",
            "http-check expect ! status 500",
            "http-check expect rstatus ^2",
            "http-check connect port 9",
            "tcp-check connect",
            "option ssl-hello-chk",
        ] {
            let checks = Checks::parse(&format!(
                "backend b\n option httpchk GET /\n {rule}\n server s 10.0.0.1:80 check\n"
            ));
            assert!(checks.of("b", "s").is_none(), "{rule}");
        }
    }

    #[test]
    fn words_follow_haproxys_quoting() {
        assert_eq!(
            words(r#"  http-check send hdr "User-Agent" "a b" # c"#),
            ["http-check", "send", "hdr", "User-Agent", "a b"]
        );
        assert_eq!(
            words(r"option httpchk GET / HTTP/1.1\r\nHost:\ x"),
            ["option", "httpchk", "GET", "/", r"HTTP/1.1\r\nHost: x"]
        );
        assert_eq!(words("a '#b' \"\" c"), ["a", "#b", "", "c"]);
        assert_eq!(duration("12000"), Some(Duration::from_secs(12)));
        assert_eq!(duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(duration("x"), None);
    }

    /// A server on loopback that answers each connection with `status`.
    fn serving(status: &'static str) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = vec![0u8; 4096];
            let n = s.read(&mut got).unwrap();
            got.truncate(n);
            s.write_all(format!("HTTP/1.0 {status}\r\n\r\n").as_bytes())
                .unwrap();
            got
        });
        (to, handle)
    }

    fn http(to: &str, expect: Expect) -> Check {
        Check {
            to: to.into(),
            probe: Probe::Http {
                request: b"GET /v3 HTTP/1.0\r\n\r\n".to_vec(),
                expect,
            },
            timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn a_check_passes_on_the_status_it_expects_and_fails_on_others() {
        let (to, h) = serving("200 OK");
        assert_eq!(http(&to, Expect::Success).run(), Verdict::Pass);
        assert_eq!(h.join().unwrap(), b"GET /v3 HTTP/1.0\r\n\r\n");
        let (to, _) = serving("503 Service Unavailable");
        assert!(
            matches!(http(&to, Expect::Success).run(), Verdict::Fail(why) if why.ends_with("503 Service Unavailable"))
        );
        let (to, _) = serving("300 Multiple Choices");
        assert_eq!(
            http(&to, Expect::Status(vec![(300, 300)])).run(),
            Verdict::Pass
        );
        let (to, _) = serving("200 OK");
        assert!(matches!(
            http(&to, Expect::Status(vec![(300, 300)])).run(),
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn a_closed_port_fails_and_a_connection_check_passes_on_an_open_one() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to = listener.local_addr().unwrap().to_string();
        let connect = Check {
            to: to.clone(),
            probe: Probe::Connect,
            timeout: ANSWER,
        };
        assert_eq!(connect.run(), Verdict::Pass);
        drop(listener);
        assert!(matches!(connect.run(), Verdict::Fail(why) if why.contains("refused")));
    }
}
