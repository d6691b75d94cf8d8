//! The container transport: running commands in an LXC container (or on the host, for
//! OSA's `is_metal` components) with the `lxc-*` tools, as OSA itself does.
//!
//! Every command is an argv; nothing is pasted into a shell string. Where a shell is
//! needed inside the container, its script is a constant of git-osa and the data travels
//! as positional arguments or on stdin. `--clear-env` is always on: the caller's
//! environment (pip and certificate variables on a deploy host) must not leak in.
//!
//! Every command is logged here and nowhere else, through the `log` facade (shown by `-v`):
//! where it ran, as whom, its argv, how long it took and how it ended; long ones also when
//! they start, and with `-vv` their output as it comes.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::Context;

use crate::error::{Error, Result};

mod target;

use target::logged;
pub use target::{Running, Target};

/// The `PATH` of every command git-osa runs in a target.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The whole environment of every command in a target, in place of the caller's.
const ENV: [(&str, &str); 3] = [("PATH", PATH), ("LANG", "C.UTF-8"), ("HOME", "/root")];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LxcState {
    Running,
    Stopped,
    Other(String),
    Missing,
}

impl std::fmt::Display for LxcState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LxcState::Running => f.write_str("RUNNING"),
            LxcState::Stopped => f.write_str("STOPPED"),
            LxcState::Other(s) => f.write_str(s),
            LxcState::Missing => f.write_str("MISSING"),
        }
    }
}

impl LxcState {
    /// How to get a container in this state running again.
    pub fn remedy(&self, name: &str, lxc_path: Option<&std::path::Path>) -> String {
        match self {
            LxcState::Missing => format!(
                "rebuild it with `openstack-ansible openstack.osa.containers_lxc_create --limit localhost,lxc_hosts,{name}` and rerun the service's playbook"
            ),
            _ => match lxc_path {
                Some(p) => format!("start it with `lxc-start -P {} -n {name}`", p.display()),
                None => format!("start it with `lxc-start -n {name}`"),
            },
        }
    }
}

/// The host's LXC tools, found on `PATH` once: a host without LXC gets one error that says
/// so, not a failed spawn. Only containers need them; metal targets run on the host.
#[derive(Debug)]
struct Tools {
    attach: PathBuf,
    info: PathBuf,
    ls: PathBuf,
}

impl Tools {
    fn get() -> Result<&'static Tools> {
        static TOOLS: OnceLock<Tools> = OnceLock::new();
        if let Some(tools) = TOOLS.get() {
            return Ok(tools);
        }
        let found = Tools::find(std::env::var_os("PATH").as_deref())?;
        Ok(TOOLS.get_or_init(|| found))
    }

    /// Looks each tool up in `path`, a value of `PATH`.
    fn find(path: Option<&OsStr>) -> Result<Tools> {
        let find = |tool: &str| {
            find_in(tool, path).ok_or_else(|| {
                Error::user(format!("{tool} is not on PATH"))
                    .hint("install LXC (apt-get install lxc) or run git osa on the OSA host")
            })
        };
        let [attach, info, ls] = TOOLS;
        Ok(Tools {
            attach: find(attach)?,
            info: find(info)?,
            ls: find(ls)?,
        })
    }
}

/// The LXC tools git-osa runs on the host.
pub const TOOLS: [&str; 3] = ["lxc-attach", "lxc-info", "lxc-ls"];

/// Where this process's `PATH` has `tool`.
pub fn find_on_path(tool: &str) -> Option<PathBuf> {
    find_in(tool, std::env::var_os("PATH").as_deref())
}

fn find_in(tool: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    which::which_in_global(tool, path)
        .ok()
        .and_then(|mut found| found.next())
}

/// Where LXC keeps containers (`lxc-* -P`).
#[derive(Debug, Clone, Default)]
pub struct Lxc {
    pub path: Option<PathBuf>,
}

impl Lxc {
    fn tool(&self, tool: &Path) -> Command {
        let mut cmd = Command::new(tool);
        if let Some(p) = &self.path {
            cmd.arg("-P").arg(p);
        }
        cmd
    }

    /// Names of all containers under the LXC path.
    pub fn list(&self) -> Result<Vec<String>> {
        let out = logged(self.tool(&Tools::get()?.ls).arg("-1")).context("running lxc-ls")?;
        if !out.status.success() {
            return Ok(Vec::new());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect())
    }

    pub fn state(&self, name: &str) -> Result<LxcState> {
        let out = logged(
            self.tool(&Tools::get()?.info)
                .args(["-s", "-H", "-n", name]),
        )
        .context("running lxc-info")?;
        if !out.status.success() {
            return Ok(LxcState::Missing);
        }
        Ok(match String::from_utf8_lossy(&out.stdout).trim() {
            "RUNNING" => LxcState::Running,
            "STOPPED" => LxcState::Stopped,
            other => LxcState::Other(other.to_string()),
        })
    }

    /// Where a container's files are on the host, top layer first, from its config's
    /// `lxc.rootfs.path` (`dir:` or plain paths, and `overlay:LOWER:UPPER`, whose upper
    /// layer holds every file written in the container). Empty for other backends (LVM,
    /// ZFS...), whose files the host does not see without mounting them.
    pub fn rootfs_dirs(&self, name: &str) -> Vec<PathBuf> {
        let base = self
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from("/var/lib/lxc"));
        let Ok(config) = std::fs::read_to_string(base.join(name).join("config")) else {
            return Vec::new();
        };
        let Some(spec) = config.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "lxc.rootfs.path").then(|| v.trim().to_string())
        }) else {
            return Vec::new();
        };
        rootfs_layers(&spec)
    }

    pub fn target(&self, name: &str, metal: bool) -> Target {
        Target {
            name: name.to_string(),
            lxc_path: self.path.clone(),
            metal,
        }
    }
}

/// The host folders of an `lxc.rootfs.path`, top layer first.
fn rootfs_layers(spec: &str) -> Vec<PathBuf> {
    let (kind, rest) = match spec.split_once(':') {
        Some((k, r)) if !k.starts_with('/') => (k, r),
        _ => ("dir", spec),
    };
    match kind {
        "dir" => vec![PathBuf::from(rest)],
        "overlay" | "overlayfs" => rest.rsplit(':').map(PathBuf::from).collect(),
        _ => Vec::new(),
    }
}

/// The last lines of a failed command's output, for an error message.
pub fn tail(stderr: &[u8], stdout: &[u8]) -> String {
    let text = if stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        stderr
    } else {
        stdout
    };
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(12);
    format!(":\n  {}", lines[start..].join("\n  "))
}

/// An argv as a user would type it (for display only; never executed).
pub fn shell_words<S: AsRef<OsStr>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| quote(&a.as_ref().to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_lxc_on_path_the_user_is_told_to_install_it() {
        for path in [None, Some(OsStr::new(""))] {
            let err = Tools::find(path).unwrap_err();
            assert_eq!(err.to_string(), "lxc-attach is not on PATH");
            assert_eq!(
                err.hints(),
                ["install LXC (apt-get install lxc) or run git osa on the OSA host"]
            );
            assert_eq!(err.exit_code(), 2);
        }
    }

    #[test]
    fn a_missing_lxc_info_is_named() {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        let attach = bin.path().join("lxc-attach");
        std::fs::write(&attach, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&attach, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = Tools::find(Some(bin.path().as_os_str())).unwrap_err();
        assert_eq!(err.to_string(), "lxc-info is not on PATH");
    }

    #[test]
    fn rootfs_layers_put_the_written_layer_first() {
        assert_eq!(
            rootfs_layers("/var/lib/lxc/c1/rootfs"),
            [PathBuf::from("/var/lib/lxc/c1/rootfs")]
        );
        assert_eq!(rootfs_layers("dir:/r"), [PathBuf::from("/r")]);
        assert_eq!(
            rootfs_layers("overlay:/golden/rootfs:/lxc/c1/overlay/delta"),
            [
                PathBuf::from("/lxc/c1/overlay/delta"),
                PathBuf::from("/golden/rootfs")
            ]
        );
        assert!(rootfs_layers("lvm:/dev/vg/c1").is_empty());
    }

    #[test]
    fn tail_prefers_stderr_and_keeps_the_last_lines() {
        let err: String = (0..20).map(|i| format!("line {i}\n")).collect();
        let t = tail(err.as_bytes(), b"out");
        assert!(t.contains("line 19") && !t.contains("line 7\n"));
        assert_eq!(tail(b"  \n", b"only stdout"), ":\n  only stdout");
    }
}
