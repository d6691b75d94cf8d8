//! The options every subcommand takes: the deployment's before or after the subcommand,
//! -v, -q and --color.

use std::path::Path;

use crate::harness::{
    METAL_KEYSTONE, TWO_KEYSTONES, checkout, fake_haproxy, fake_tools, git_osa, in_dir, stderr,
    stdout,
};

/// Regression: `git osa --inventory X status` was refused ("the subcommand 'status' cannot
/// be used with '--inventory <PATH>'"): clap's `args_conflicts_with_subcommands` counts
/// the global options too.
#[test]
fn deployment_options_go_before_or_after_the_subcommand() {
    let repo = checkout("openstack/keystone");
    let inv = repo.path().join("inv.json");
    std::fs::write(&inv, "not json").unwrap();
    let inv = inv.to_str().unwrap();
    for args in [
        &["--inventory", inv, "status"][..],
        &["status", "--inventory", inv],
        &["--inventory", inv, "run", "--dry-run"],
        &["--inventory", inv, "--dry-run"],
    ] {
        let o = git_osa(repo.path(), args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("is not an OSA inventory"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn verbose_logs_each_command_where_as_whom_how_long_and_how_it_ended() {
    let repo = checkout("openstack/keystone");
    let inv = repo.path().join("inv.json");
    std::fs::write(&inv, METAL_KEYSTONE).unwrap();
    let sock = fake_haproxy(repo.path(), true);
    let base = [
        ("GIT_OSA_INVENTORY", inv.to_str().unwrap()),
        ("GIT_OSA_HAPROXY_SOCKET", sock.to_str().unwrap()),
    ];
    let probe_line = |e: &str| {
        e.lines()
            .find(|l| l.starts_with("git-osa: debug: on the host as root: sh -c "))
            .map(String::from)
    };
    for (args, env) in [
        (&["status", "-v"][..], &[][..]),
        (&["-v", "status"], &[]),
        (&["status"], &[("GIT_OSA_LOG", "debug")]),
    ] {
        let env: Vec<_> = base.iter().chain(env).copied().collect();
        let o = git_osa(repo.path(), args, &env);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{e}");
        let line = probe_line(&e).unwrap_or_else(|| panic!("{args:?} {env:?}:\n{e}"));
        assert!(line.contains("<script> git-osa-probe"), "{line}");
        assert!(
            line.contains(" /var/lib/git-osa/keystone/session.json ("),
            "{line}"
        );
        let (_, took) = line.rsplit_once(" (").unwrap();
        let ms = took.strip_suffix(" ms, exit 0)").expect(&line);
        assert!(ms.parse::<u64>().is_ok(), "{line}");
        assert!(
            e.contains("git-osa: debug: HAProxy ") && e.contains(": show stat ("),
            "{e}"
        );
    }
    let o = git_osa(repo.path(), &["status", "-vv"], &base);
    assert!(
        stderr(&o).contains("props=$1; units=$2"),
        "-vv shows scripts whole:\n{}",
        stderr(&o)
    );
    let o = git_osa(repo.path(), &["status"], &base);
    assert_eq!(stderr(&o), "", "without -v nothing is logged");
    assert!(stdout(&o).contains("unit     keystone-wsgi-public"));
}

#[test]
fn quiet_prints_nothing_on_success_and_still_the_error() {
    assert!(
        std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false),
        "doctor passes only for root: run the tests as root"
    );
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.json");
    std::fs::write(&inv, TWO_KEYSTONES).unwrap();
    let bin = fake_tools(
        dir.path(),
        &[
            "aio1_keystone_container-6c0f3a1e",
            "aio1-keystone-container-b7d24e95",
        ],
    );
    let sock = fake_haproxy(dir.path(), true);
    let env = [
        ("PATH", bin.to_str().unwrap()),
        ("GIT_OSA_INVENTORY", inv.to_str().unwrap()),
        ("GIT_OSA_HAPROXY_SOCKET", sock.to_str().unwrap()),
    ];
    let o = git_osa(dir.path(), &["doctor"], &env);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o).matches("\nok    ").count() + 1,
        8,
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("ok    inventory against LXC: all 2 containers it names exist"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("skip  containers: "), "{}", stdout(&o));
    let o = git_osa(dir.path(), &["doctor", "-q"], &env);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!((stdout(&o), stderr(&o)), (String::new(), String::new()));
    let o = git_osa(dir.path(), &["-q", "status"], &env);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("git-osa: error: ")
            && stderr(&o).contains("is not in a git checkout"),
        "{}",
        stderr(&o)
    );
}

/// What the binary writes to stderr when stderr is a terminal (a pty), stdout piped.
fn stderr_on_a_terminal(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = in_dir(env!("CARGO_BIN_EXE_git-osa"), dir);
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env_remove("GIT_OSA_LOG")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(slave);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.status().unwrap();
    assert!(!status.success());
    // The child is gone and our copy of the slave went with `cmd`: reading ends with EIO.
    drop(cmd);
    let mut text = Vec::new();
    let mut master = std::fs::File::from(master);
    let mut buf = [0u8; 4096];
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[test]
fn colour_follows_the_terminal_term_no_color_color_ui_and_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let esc = |s: &str| s.contains('\x1b');
    // Not a terminal: plain, unless asked.
    let o = git_osa(dir.path(), &["status"], &[]);
    assert!(!esc(&stderr(&o)) && stderr(&o).contains("git-osa: error: "));
    let o = git_osa(dir.path(), &["status", "--color=always"], &[]);
    assert!(
        stderr(&o).contains("git-osa: \x1b[1m\x1b[31merror:\x1b[0m "),
        "{:?}",
        stderr(&o)
    );
    assert!(esc(stderr(&o).lines().nth(1).unwrap()), "the hint too");
    let o = git_osa(
        dir.path(),
        &["status"],
        &[("GIT_CONFIG_PARAMETERS", "'color.ui'='always'")],
    );
    assert!(esc(&stderr(&o)), "git -c color.ui=always osa");
    // A terminal: colour, unless TERM=dumb, NO_COLOR, git's color.ui or the flag say no.
    let tty = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = vec!["status"];
        all.extend(args);
        stderr_on_a_terminal(dir.path(), &all, env)
    };
    let xterm = ("TERM", "xterm");
    assert!(esc(&tty(&[xterm], &[])), "{:?}", tty(&[xterm], &[]));
    assert!(!esc(&tty(&[("TERM", "dumb")], &[])));
    assert!(!esc(&tty(&[xterm, ("NO_COLOR", "1")], &[])));
    assert!(!esc(&tty(
        &[xterm, ("GIT_CONFIG_PARAMETERS", "'color.ui'='never'")],
        &[]
    )));
    assert!(!esc(&tty(&[xterm], &["--color=never"])));
    assert!(esc(&tty(&[("TERM", "dumb")], &["--color=always"])));
}
