//! The service's database, as its own config file names it (`[database] connection`), and
//! the snapshot `--db-snapshot` takes of it before the first db sync of a session, from
//! which `restore` takes what undoing the session's migrations needs (`db_undo.rs`), or
//! which it loads back whole for a snapshot taken without notes of its rows.
//!
//! The password never appears on a command line: the snapshot step writes it (from its
//! stdin) into a file of mode 600 in the session's folder, and the scripts read it into
//! `MYSQL_PWD`; every other value reaches the scripts as a positional argument.

use serde::{Deserialize, Serialize};

use crate::exec::{Exec, Input, Secret};
use crate::layout::Paths;

/// Where the service's database is, from an SQLAlchemy URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// `mysql://` or `mysql+DRIVER://user:password@host:port/database?unix_socket=...`
    Mysql {
        user: String,
        password: String,
        host: String,
        port: Option<u16>,
        socket: Option<String>,
        database: String,
    },
    /// `sqlite:////absolute/path`
    Sqlite { path: String },
}

/// The snapshot a session took, as the session records it (no password: that stays in
/// the file of mode 600 beside the dump).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "engine", rename_all = "lowercase")]
pub enum Snapshot {
    Mysql {
        dump: String,
        password_file: String,
        user: String,
        host: String,
        port: Option<u16>,
        socket: Option<String>,
        database: String,
    },
    Sqlite {
        dump: String,
        path: String,
    },
}

impl Snapshot {
    pub fn dump(&self) -> &str {
        match self {
            Snapshot::Mysql { dump, .. } | Snapshot::Sqlite { dump, .. } => dump,
        }
    }

    /// `mysql` or `sqlite`, as the session and `status --json` name it.
    pub fn engine(&self) -> &'static str {
        match self {
            Snapshot::Mysql { .. } => "mysql",
            Snapshot::Sqlite { .. } => "sqlite",
        }
    }

    /// The database, as a person names it (`heat on 172.29.236.100`).
    pub fn describe(&self) -> String {
        match self {
            Snapshot::Mysql { database, host, .. } => format!("{database} on {host}"),
            Snapshot::Sqlite { path, .. } => path.clone(),
        }
    }
}

/// The `[database] connection` of a service's config file, parsed; the error says what
/// was found instead.
pub fn connection_of(config_file: &str, text: Option<&[u8]>) -> Result<Connection, String> {
    let Some(text) = text else {
        return Err(format!("{config_file} cannot be read"));
    };
    let text = String::from_utf8_lossy(text);
    let Some(url) = crate::project::ini_value(&text, "database", "connection") else {
        return Err(format!("{config_file} has no [database] connection"));
    };
    parse(&url).map_err(|e| format!("the [database] connection of {config_file}: {e}"))
}

/// Parses an SQLAlchemy URL of MySQL/MariaDB or SQLite. Errors never repeat the URL (it
/// holds the password).
pub fn parse(url: &str) -> Result<Connection, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("not a URL (no scheme://)".into());
    };
    let dialect = scheme.split('+').next().unwrap_or_default();
    match dialect {
        "sqlite" => {
            let path = rest.split('?').next().unwrap_or_default();
            if !path.starts_with("//") {
                return Err(
                    "an SQLite database with a relative path (sqlite:///relative): git-osa needs sqlite:////absolute/path".into(),
                );
            }
            Ok(Connection::Sqlite {
                path: percent_decode(&path[1..])?,
            })
        }
        "mysql" | "mariadb" => {
            let (authority_path, query) = match rest.split_once('?') {
                Some((a, q)) => (a, Some(q)),
                None => (rest, None),
            };
            // The password may hold '@' and '/' when not percent-encoded: the host
            // follows the last '@'.
            let (userinfo, hostpath) = authority_path
                .rsplit_once('@')
                .ok_or("a MySQL URL without user@host")?;
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, p),
                None => (userinfo, ""),
            };
            let (hostport, database) = hostpath
                .split_once('/')
                .ok_or("a MySQL URL without /database")?;
            let (host, port) = match hostport.strip_prefix('[') {
                // [IPv6]:port
                Some(v6) => {
                    let (h, after) = v6.split_once(']').ok_or("an IPv6 host without ']'")?;
                    (h, after.strip_prefix(':'))
                }
                None => match hostport.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (hostport, None),
                },
            };
            let port = port
                .map(|p| {
                    p.parse::<u16>()
                        .map_err(|_| format!("port {p:?} is not a number"))
                })
                .transpose()?;
            let database = percent_decode(database)?;
            if database.is_empty() {
                return Err("a MySQL URL without a database name".into());
            }
            let socket = query
                .into_iter()
                .flat_map(|q| q.split('&'))
                .find_map(|kv| kv.strip_prefix("unix_socket="))
                .map(percent_decode)
                .transpose()?;
            Ok(Connection::Mysql {
                user: percent_decode(user)?,
                password: percent_decode(password)?,
                host: if host.is_empty() {
                    "localhost".into()
                } else {
                    percent_decode(host)?
                },
                port,
                socket,
                database,
            })
        }
        other => Err(format!(
            "a {other} database, which git-osa cannot snapshot (it knows MySQL/MariaDB and SQLite)"
        )),
    }
}

/// `%XX` decoding, as SQLAlchemy does for the parts of a URL.
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a % not followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding that is not UTF-8".into())
}

/// Dumps a MySQL/MariaDB database: the password from stdin into `$3` (mode 600), then a
/// consistent dump (one transaction) to `$2`, whole or not at all. mysqldump's DROP TABLE
/// before each CREATE TABLE is its default.
const MYSQL_DUMP: &str = r#"
set -e
umask 077
mkdir -p "$1"
cat > "$3"
MYSQL_PWD=$(cat "$3"); export MYSQL_PWD
dump=$2 user=$4 host=$5 port=$6 socket=$7 db=$8
set -- --user="$user" --host="$host"
[ -z "$port" ] || set -- "$@" --port="$port"
[ -z "$socket" ] || set -- "$@" --socket="$socket"
command -v mysqldump >/dev/null || { echo "mysqldump is not installed in this container: install mariadb-client" >&2; exit 1; }
mysqldump "$@" --single-transaction --no-tablespaces --routines --triggers -- "$db" > "$dump.tmp"
mv -f "$dump.tmp" "$dump"
ls -l "$dump" | awk '{print $5 " bytes"}'
"#;

/// Loads a MySQL/MariaDB dump back: every table and view of the database dropped first
/// (a migration may have created some the dump does not know), then the dump, in one
/// session; then the dump and the password file removed.
const MYSQL_LOAD: &str = r#"
set -e
dump=$1 pwfile=$2 user=$3 host=$4 port=$5 socket=$6 db=$7
[ -f "$dump" ] || { echo "the database snapshot $dump is gone: restore cannot load it back" >&2; exit 1; }
MYSQL_PWD=$(cat "$pwfile"); export MYSQL_PWD
set -- --user="$user" --host="$host"
[ -z "$port" ] || set -- "$@" --port="$port"
[ -z "$socket" ] || set -- "$@" --socket="$socket"
drops=$(mysql "$@" -N -B -e "SELECT CONCAT(IF(table_type = 'VIEW', 'DROP VIEW IF EXISTS ', 'DROP TABLE IF EXISTS '), '\`', REPLACE(table_name, '\`', '\`\`'), '\`;') FROM information_schema.tables WHERE table_schema = DATABASE()" -- "$db")
{ echo 'SET FOREIGN_KEY_CHECKS=0;'; printf '%s\n' "$drops"; cat "$dump"; } | mysql "$@" -- "$db"
rm -f "$dump" "$pwfile"
"#;

/// Copies an SQLite database consistently (SQLite's backup API) to `$2`, whole or not at all.
const SQLITE_DUMP: &str = r#"
set -e
umask 077
mkdir -p "$1"
[ -f "$3" ] || { echo "the SQLite database $3 does not exist" >&2; exit 1; }
python3 -c '
import sqlite3, sys
src = sqlite3.connect(sys.argv[1])
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.close()
src.close()
' "$3" "$2.tmp"
mv -f "$2.tmp" "$2"
ls -l "$2" | awk '{print $5 " bytes"}'
"#;

/// Loads an SQLite copy back over the live database (SQLite's backup API replaces it
/// whole, and the file keeps its owner and mode), then removes the copy.
const SQLITE_LOAD: &str = r#"
set -e
[ -f "$1" ] || { echo "the database snapshot $1 is gone: restore cannot load it back" >&2; exit 1; }
python3 -c '
import sqlite3, sys
src = sqlite3.connect(sys.argv[1])
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.close()
src.close()
' "$1" "$2"
rm -f "$1"
"#;

/// The snapshot of `c` into the session's folder: the command, and what the session
/// records once it is complete.
pub fn snapshot(paths: &Paths, c: &Connection) -> (Exec, Snapshot) {
    match c {
        Connection::Mysql {
            user,
            password,
            host,
            port,
            socket,
            database,
        } => {
            let dump = paths.db_snapshot("sql");
            let password_file = paths.db_password();
            let port_s = port.map(|p| p.to_string()).unwrap_or_default();
            let exec = Exec::script(
                MYSQL_DUMP,
                "git-osa-db-snapshot",
                &[
                    &paths.dir,
                    &dump,
                    &password_file,
                    user,
                    host,
                    &port_s,
                    socket.as_deref().unwrap_or_default(),
                    database,
                ],
            )
            .with_stdin(Input::Secret(Secret::new(
                "the service's database password",
                password.as_bytes().to_vec(),
            )));
            (
                exec,
                Snapshot::Mysql {
                    dump,
                    password_file,
                    user: user.clone(),
                    host: host.clone(),
                    port: *port,
                    socket: socket.clone(),
                    database: database.clone(),
                },
            )
        }
        Connection::Sqlite { path } => {
            let dump = paths.db_snapshot("sqlite");
            (
                Exec::script(
                    SQLITE_DUMP,
                    "git-osa-db-snapshot",
                    &[&paths.dir, &dump, path],
                ),
                Snapshot::Sqlite {
                    dump,
                    path: path.clone(),
                },
            )
        }
    }
}

/// Loads a snapshot back, and removes it (and the password file).
pub fn load(s: &Snapshot) -> Exec {
    match s {
        Snapshot::Mysql {
            dump,
            password_file,
            user,
            host,
            port,
            socket,
            database,
        } => {
            let port_s = port.map(|p| p.to_string()).unwrap_or_default();
            Exec::script(
                MYSQL_LOAD,
                "git-osa-db-load",
                &[
                    dump,
                    password_file,
                    user,
                    host,
                    &port_s,
                    socket.as_deref().unwrap_or_default(),
                    database,
                ],
            )
        }
        Snapshot::Sqlite { dump, path } => {
            Exec::script(SQLITE_LOAD, "git-osa-db-load", &[dump, path])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mysql(user: &str, password: &str, host: &str, port: Option<u16>, db: &str) -> Connection {
        Connection::Mysql {
            user: user.into(),
            password: password.into(),
            host: host.into(),
            port,
            socket: None,
            database: db.into(),
        }
    }

    #[test]
    fn osa_connections_parse() {
        assert_eq!(
            parse(
                "mysql+pymysql://heat:s3cr3t@172.29.236.101/heat?charset=utf8&ssl_verify_cert=false"
            ),
            Ok(mysql("heat", "s3cr3t", "172.29.236.101", None, "heat"))
        );
        assert_eq!(
            parse("mysql://nova:pw@db.example:3307/nova_api"),
            Ok(mysql("nova", "pw", "db.example", Some(3307), "nova_api"))
        );
        assert_eq!(
            parse("sqlite:////var/lib/keystone/db/keystone.db"),
            Ok(Connection::Sqlite {
                path: "/var/lib/keystone/db/keystone.db".into()
            })
        );
    }

    #[test]
    fn passwords_with_special_characters() {
        // percent-encoded, as SQLAlchemy wants them
        assert_eq!(
            parse("mysql+pymysql://heat:p%40ss%3Aw%2Fo%25rd%23%20%22%27%24@10.0.0.1/heat"),
            Ok(mysql("heat", "p@ss:w/o%rd# \"'$", "10.0.0.1", None, "heat"))
        );
        // and as people write them: '@' and ':' raw in the password
        assert_eq!(
            parse("mysql+pymysql://heat:a@b:c$`x`;rm -rf@10.0.0.1:3306/heat"),
            Ok(mysql(
                "heat",
                "a@b:c$`x`;rm -rf",
                "10.0.0.1",
                Some(3306),
                "heat"
            ))
        );
        // no password at all
        assert_eq!(
            parse("mysql://root@localhost/heat"),
            Ok(mysql("root", "", "localhost", None, "heat"))
        );
    }

    #[test]
    fn sockets_and_ipv6() {
        assert_eq!(
            parse("mysql+pymysql://k:pw@/keystone?unix_socket=/var/run/mysqld/mysqld.sock"),
            Ok(Connection::Mysql {
                user: "k".into(),
                password: "pw".into(),
                host: "localhost".into(),
                port: None,
                socket: Some("/var/run/mysqld/mysqld.sock".into()),
                database: "keystone".into()
            })
        );
        assert_eq!(
            parse("mysql://k:pw@[fd00::1]:3306/k"),
            Ok(mysql("k", "pw", "fd00::1", Some(3306), "k"))
        );
    }

    #[test]
    fn what_cannot_be_snapshot_is_said_without_the_password() {
        let e = parse("postgresql://u:hunter2@h/db").unwrap_err();
        assert!(e.contains("postgresql"), "{e}");
        assert!(!e.contains("hunter2"));
        assert!(
            parse("sqlite:///relative.db")
                .unwrap_err()
                .contains("relative")
        );
        assert!(
            parse("mysql://u:hunter2@h")
                .unwrap_err()
                .contains("database")
        );
        assert!(parse("mysql://u:pw@h:x/db").unwrap_err().contains("port"));
        assert!(parse("mysql://u:p%zz@h/db").is_err());
        assert_eq!(
            parse("mysql://k:pw@[fd00::1]/k"),
            Ok(mysql("k", "pw", "fd00::1", None, "k"))
        );
        let e =
            connection_of("/etc/heat/heat.conf", Some(b"[DEFAULT]\ndebug = true\n")).unwrap_err();
        assert_eq!(e, "/etc/heat/heat.conf has no [database] connection");
        assert_eq!(
            connection_of("/etc/heat/heat.conf", None).unwrap_err(),
            "/etc/heat/heat.conf cannot be read"
        );
        assert_eq!(
            connection_of(
                "/etc/heat/heat.conf",
                Some(b"[database]\nconnection = sqlite:////var/lib/heat/heat.db\n")
            ),
            Ok(Connection::Sqlite {
                path: "/var/lib/heat/heat.db".into()
            })
        );
    }

    #[test]
    fn the_password_goes_through_stdin_never_the_command_line() {
        let paths = Paths::new("heat");
        let c = mysql("heat", "hunter2", "10.0.0.1", None, "heat");
        let (exec, snap) = snapshot(&paths, &c);
        assert!(!exec.full_argv().iter().any(|a| a.contains("hunter2")));
        let Some(Input::Secret(secret)) = &exec.stdin else {
            panic!("the password is not a secret: {:?}", exec.stdin)
        };
        assert_eq!(secret.bytes(), b"hunter2");
        // Neither a dry run nor a debug log shows it, or its length.
        let shown = format!("{:?}", exec.stdin);
        assert!(
            !shown.contains("hunter2") && !shown.contains('7'),
            "{shown}"
        );
        assert_eq!(snap.dump(), "/var/lib/git-osa/heat/db-snapshot.sql");
        let json = serde_json::to_string(&snap).unwrap();
        assert!(!json.contains("hunter2"));
        assert!(
            !load(&snap)
                .full_argv()
                .iter()
                .any(|a| a.contains("hunter2"))
        );
    }
}
