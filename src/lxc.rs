//! LXC as OSA drives it: containers listed, their state read and commands run in them
//! with the `lxc-*` tools on their host, never through a library. Which host, and how it
//! is reached, is the transport's business (`transport/`); what is LXC's is here.
//!
//! Commands run in a container through `lxc-attach --clear-env` (`transport/target.rs`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Result;
use crate::transport::{self, Local, Target, Transport};

/// The LXC tools git-osa runs on the host.
pub const TOOLS: [&str; 3] = ["lxc-attach", "lxc-info", "lxc-ls"];

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

/// Where LXC keeps a host's containers (`lxc-* -P`), and how that host is reached.
#[derive(Debug, Clone)]
pub struct Lxc {
    pub path: Option<PathBuf>,
    pub via: Arc<dyn Transport>,
}

impl Default for Lxc {
    /// This host, LXC's default path.
    fn default() -> Lxc {
        Lxc::local(None)
    }
}

impl Lxc {
    /// The containers of this host, under `path` (LXC's default without).
    pub fn local(path: Option<PathBuf>) -> Lxc {
        Lxc {
            path,
            via: Arc::new(Local::default()),
        }
    }

    /// `tool [-P PATH] ARGS...`, run on the host.
    fn tool(&self, tool: &str, args: &[&str]) -> Result<std::process::Output> {
        let mut argv: Vec<OsString> = vec![tool.into()];
        if let Some(p) = &self.path {
            argv.extend(["-P".into(), p.into()]);
        }
        argv.extend(args.iter().map(OsString::from));
        transport::run_on_host(self.via.as_ref(), &argv)
    }

    /// Names of all containers under the LXC path.
    pub fn list(&self) -> Result<Vec<String>> {
        let out = self.tool("lxc-ls", &["-1"])?;
        if !out.status.success() {
            return Ok(Vec::new());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect())
    }

    pub fn state(&self, name: &str) -> Result<LxcState> {
        let out = self.tool("lxc-info", &["-s", "-H", "-n", name])?;
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
        let Ok(Some(config)) = self.via.read(&base.join(name).join("config")) else {
            return Vec::new();
        };
        let config = String::from_utf8_lossy(&config);
        let Some(spec) = config.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "lxc.rootfs.path").then(|| v.trim().to_string())
        }) else {
            return Vec::new();
        };
        rootfs_layers(&spec)
    }

    /// A file in a stopped container, read from its rootfs on the host (the top layer
    /// that has it); `None` when no layer has it or the host cannot see its files.
    pub fn read_stopped(&self, name: &str, path: &str) -> Result<Option<Vec<u8>>> {
        for layer in self.rootfs_dirs(name) {
            if let Some(bytes) = self.via.read(&layer.join(path.trim_start_matches('/')))? {
                return Ok(Some(bytes));
            }
        }
        Ok(None)
    }

    /// The names in a folder of a stopped container, over all its rootfs layers.
    pub fn list_stopped(&self, name: &str, dir: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for layer in self.rootfs_dirs(name) {
            for n in self.via.list(&layer.join(dir.trim_start_matches('/')))? {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        Ok(names)
    }

    pub fn target(&self, name: &str, metal: bool) -> Target {
        Target {
            name: name.to_string(),
            lxc_path: self.path.clone(),
            metal,
            via: self.via.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
