//! The deployment's machines as git-osa reaches them: this one directly, any other over
//! ssh (one connection each, made when first used and shared by every container on it),
//! and, from a machine off the deployment (a laptop), the deploy host first.
//!
//! Where a host's commands run is the inventory's to say ([`Inventory::machine`]); how
//! they get there is decided here, once per machine.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::inventory::Machine;
use crate::lxc::Lxc;
use crate::transport::{self, Here, Remote, Transport};

pub struct Site {
    here: Here,
    /// A terminal can answer ssh's questions (a passphrase, a new host key).
    interactive: bool,
    lxc_path: Option<PathBuf>,
    ssh_config: Option<PathBuf>,
    /// The deploy host, when git-osa runs off the deployment.
    deploy: Option<Remote>,
    local: Arc<dyn Transport>,
    /// The transport to each machine reached so far, by name.
    reached: Mutex<HashMap<String, Arc<dyn Transport>>>,
}

/// How one machine is reached, as `status` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// This machine: its LXC tools and files directly.
    Here,
    /// `ssh [user@]address`, through `jump` when set (the deploy host).
    Ssh {
        destination: String,
        jump: Option<String>,
    },
}

impl std::fmt::Display for Reach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reach::Here => f.write_str("this host"),
            Reach::Ssh {
                destination,
                jump: None,
            } => write!(f, "ssh {destination}"),
            Reach::Ssh {
                destination,
                jump: Some(j),
            } => write!(f, "ssh {destination} via {j}"),
        }
    }
}

impl Site {
    pub fn new(
        lxc_path: Option<PathBuf>,
        deploy_host: Option<&str>,
        ssh_config: Option<PathBuf>,
        interactive: bool,
    ) -> Site {
        Site::at(
            Here::detect(),
            lxc_path,
            deploy_host,
            ssh_config,
            interactive,
        )
    }

    fn at(
        here: Here,
        lxc_path: Option<PathBuf>,
        deploy_host: Option<&str>,
        ssh_config: Option<PathBuf>,
        interactive: bool,
    ) -> Site {
        Site {
            here,
            interactive,
            lxc_path,
            deploy: deploy_host.map(|d| {
                let (user, host) = match d.rsplit_once('@') {
                    Some((u, h)) => (Some(u.to_string()), h),
                    None => (None, d),
                };
                Remote {
                    user,
                    config: ssh_config.clone(),
                    ..Remote::new(host, host)
                }
            }),
            ssh_config,
            local: Arc::new(transport::Local::default()),
            reached: Mutex::new(HashMap::new()),
        }
    }

    /// Where git-osa's own reads of the deployment happen (the inventory; LXC's list
    /// without one): the deploy host when one is set, else this machine.
    pub fn home(&self) -> Arc<dyn Transport> {
        match &self.deploy {
            Some(d) => self.connect(d.clone()),
            None => self.local.clone(),
        }
    }

    /// The deploy host, when git-osa runs off the deployment.
    pub fn deploy_host(&self) -> Option<&Remote> {
        self.deploy.as_ref()
    }

    /// The transport to `machine`, or to git-osa's home machine when the inventory does
    /// not say where a host is.
    pub fn transport(&self, machine: Option<&Machine>) -> Arc<dyn Transport> {
        match self.remote(machine) {
            None => self.local.clone(),
            Some(r) => self.connect(r),
        }
    }

    /// The LXC of `machine` (see [`Site::transport`]).
    pub fn lxc(&self, machine: Option<&Machine>) -> Lxc {
        Lxc {
            path: self.lxc_path.clone(),
            via: self.transport(machine),
        }
    }

    /// How `machine` is reached.
    pub fn reach(&self, machine: Option<&Machine>) -> Reach {
        match self.remote(machine) {
            None => Reach::Here,
            Some(r) => Reach::Ssh {
                destination: match &r.user {
                    Some(u) => format!("{u}@{}", r.address),
                    None => r.address.clone(),
                },
                jump: r.jump,
            },
        }
    }

    /// How ssh reaches `machine`; `None` for this machine.
    fn remote(&self, machine: Option<&Machine>) -> Option<Remote> {
        let Some(m) = machine else {
            return self.deploy.clone();
        };
        if let Some(d) = &self.deploy
            && (m.name == d.name || m.address == d.address)
        {
            return Some(d.clone());
        }
        if self.deploy.is_none() && m.is_here(&self.here) {
            return None;
        }
        Some(Remote {
            jump: self.deploy.as_ref().map(|d| match &d.user {
                Some(u) => format!("{u}@{}", d.address),
                None => d.address.clone(),
            }),
            config: self.ssh_config.clone(),
            ..m.remote()
        })
    }

    fn connect(&self, remote: Remote) -> Arc<dyn Transport> {
        let mut reached = self.reached.lock().unwrap_or_else(|p| p.into_inner());
        reached
            .entry(remote.name.clone())
            .or_insert_with(|| {
                let name = remote.name.clone();
                match transport::Ssh::new(remote, self.interactive) {
                    Ok(ssh) => Arc::new(ssh),
                    Err(e) => Arc::new(transport::Unreachable::new(&name, e)),
                }
            })
            .clone()
    }
}

impl Default for Site {
    fn default() -> Site {
        Site::new(None, None, None, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(name: &str, address: &str) -> Machine {
        Machine {
            local: false,
            name: name.into(),
            address: address.into(),
            user: None,
            port: None,
        }
    }

    fn infra1() -> Here {
        Here {
            hostname: "infra1".into(),
            addresses: Vec::new(),
        }
    }

    #[test]
    fn a_machine_that_is_here_is_run_directly_and_another_over_ssh() {
        let site = Site::at(infra1(), None, None, None, false);
        let out = site
            .transport(Some(&machine("infra1", "203.0.113.11")))
            .process(&["echo".into(), "here".into()], None)
            .unwrap()
            .command()
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"here\n", "run directly");
        assert_eq!(
            site.reach(Some(&machine("infra1", "203.0.113.11"))),
            Reach::Here
        );
        // Another host: ssh. 0.0.0.0 is none of this machine's addresses, yet Linux takes a
        // connection to it for one to this host, so the refusal comes at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let other = Machine {
            port: Some(port),
            ..machine("infra2", "0.0.0.0")
        };
        let err = site
            .transport(Some(&other))
            .process(&["true".into()], None)
            .unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "cannot reach infra2 (0.0.0.0 port {port}) with ssh"
            )),
            "{err}"
        );
        assert_eq!(
            site.reach(Some(&other)).to_string(),
            "ssh 0.0.0.0",
            "status says how"
        );
    }

    #[test]
    fn one_transport_per_machine_is_shared_by_its_containers() {
        let site = Site::at(infra1(), None, None, None, false);
        let a = site.transport(Some(&machine("infra2", "172.29.236.2")));
        let b = site.transport(Some(&machine("infra2", "172.29.236.2")));
        assert!(Arc::ptr_eq(&a, &b), "one ssh master per host");
    }

    #[test]
    fn off_the_deployment_every_host_is_reached_through_the_deploy_host() {
        let site = Site::at(infra1(), None, Some("root@deploy"), None, false);
        assert_eq!(
            site.reach(Some(&machine("infra2", "172.29.236.2")))
                .to_string(),
            "ssh 172.29.236.2 via root@deploy"
        );
        // The deploy host itself is reached directly, by its name or address.
        assert_eq!(
            site.reach(Some(&machine("deploy", "172.29.236.1")))
                .to_string(),
            "ssh root@deploy"
        );
        // Without an inventory's word, the deploy host is home.
        assert_eq!(site.reach(None).to_string(), "ssh root@deploy");
        // Even a host named like this machine is another's, seen from off the deployment:
        // the inventory is the deploy host's.
        assert_eq!(
            site.reach(Some(&machine("infra1", "172.29.236.11")))
                .to_string(),
            "ssh 172.29.236.11 via root@deploy"
        );
    }
}
