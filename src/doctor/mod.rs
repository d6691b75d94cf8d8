//! `git osa doctor`: what git-osa needs from this host and from a service's containers,
//! checked before a run needs it.
//!
//! The checks are data: a name and a small function each ([`HOST_CHECKS`],
//! [`CONTAINER_CHECKS`]) that judges what was read. Reading happens first, in a few round
//! trips, into plain values ([`HostFacts`], [`ContainerFacts`]), so every judgement is
//! pure and tested without a host or a container; each verdict is one line, and a failure
//! says what to do.

use crate::lxc::LxcState;

/// How one check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass(String),
    Fail {
        found: String,
        fix: String,
    },
    /// Not checked: what it depends on failed or is not there.
    Skip(String),
}

fn fail(found: impl Into<String>, fix: impl Into<String>) -> Verdict {
    Verdict::Fail {
        found: found.into(),
        fix: fix.into(),
    }
}

/// A check's name with its verdict, as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The container (or metal host) checked; none for this host's checks.
    pub target: Option<String>,
    pub name: String,
    pub verdict: Verdict,
}

impl Report {
    pub fn failed(&self) -> bool {
        matches!(self.verdict, Verdict::Fail { .. })
    }

    /// One line, and the fix under it when it failed.
    pub fn render(&self) -> String {
        let name = match &self.target {
            Some(t) => format!("{t}: {}", self.name),
            None => self.name.clone(),
        };
        match &self.verdict {
            Verdict::Pass(what) => format!("ok    {name}: {what}\n"),
            Verdict::Skip(why) => format!("skip  {name}: {why}\n"),
            Verdict::Fail { found, fix } => {
                format!("FAIL  {name}: {found}\n      fix: {fix}\n")
            }
        }
    }
}

mod checkout;
mod container;
mod host;

pub use container::*;
pub use host::*;

/// Judges the host.
pub fn judge_host(h: &HostFacts) -> Vec<Report> {
    HOST_CHECKS
        .iter()
        .map(|(name, check)| Report {
            target: None,
            name: name.to_string(),
            verdict: check(h),
        })
        .collect()
}

/// Judges a container; past a container that does not run, nothing else is checked.
pub fn judge_container(c: &ContainerFacts) -> Vec<Report> {
    CONTAINER_CHECKS
        .iter()
        .map(|(name, check)| Report {
            target: Some(c.name.clone()),
            name: name.to_string(),
            verdict: if c.state != LxcState::Running && *name != "running" {
                Verdict::Skip("the container is not running".into())
            } else {
                check(c)
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::checkout::{CheckoutFacts, checkout, git_cli, inotify};
    use super::*;

    fn container() -> ContainerFacts {
        ContainerFacts {
            name: "c1".into(),
            service: "keystone".into(),
            metal: false,
            state: LxcState::Running,
            remedy: "start it with `lxc-start -n c1`".into(),
            systemd_run: Some("/usr/bin/systemd-run".into()),
            venv: Ok("/openstack/venvs/keystone-30.0.0".into()),
            constraints: true,
            kept: None,
            venv_kib: Some(200 * 1024),
            pip: Some("26.3".into()),
            easy_install_pth: false,
            free: Some((10 * 1024 * 1024, "/".into())),
            sources: Ok(vec!["http://172.29.236.1:8181/".into()]),
            fetched: vec![("http://172.29.236.1:8181/".into(), Ok("HTTP 200".into()))],
            session: SessionFacts::None,
        }
    }

    fn verdicts(c: &ContainerFacts) -> Vec<(String, Verdict)> {
        judge_container(c)
            .into_iter()
            .map(|r| {
                (
                    format!("{}: {}", r.target.unwrap_or_default(), r.name),
                    r.verdict,
                )
            })
            .collect()
    }

    #[test]
    fn a_ready_container_passes_every_check() {
        let v = verdicts(&container());
        assert!(
            v.iter().all(|(_, v)| matches!(v, Verdict::Pass(_))),
            "{v:?}"
        );
        assert_eq!(v[0].0, "c1: running");
        assert_eq!(
            v[3].1,
            Verdict::Pass(
                "/openstack/venvs/keystone-30.0.0 is kept as a snapshot of hard links (pip 26.3 there): the room of its folders"
                    .into()
            )
        );
        let old_pip = ContainerFacts {
            pip: Some("24.0".into()),
            ..container()
        };
        assert_eq!(
            room(&old_pip),
            Verdict::Pass(
                "the copy of /openstack/venvs/keystone-30.0.0 (a full copy: pip 24.0 in the venv may install with setuptools' `setup.py develop`, which writes into files in place) needs 220 MiB, 10.0 GiB free on /"
                    .into()
            )
        );
    }

    #[test]
    fn a_stopped_container_says_how_to_start_it_and_nothing_else_is_checked() {
        let c = ContainerFacts {
            state: LxcState::Stopped,
            ..container()
        };
        let v = verdicts(&c);
        assert_eq!(
            v[0].1,
            fail("STOPPED", "start it with `lxc-start -n c1`"),
            "{v:?}"
        );
        assert!(v[1..].iter().all(|(_, v)| matches!(v, Verdict::Skip(_))));
    }

    #[test]
    fn no_room_for_the_copy_says_how_much_to_free() {
        let c = ContainerFacts {
            free: Some((100 * 1024, "/openstack".into())),
            easy_install_pth: true,
            ..container()
        };
        assert_eq!(
            room(&c),
            fail(
                "the copy of /openstack/venvs/keystone-30.0.0 (a full copy: its easy-install.pth, which pip rewrites in place when it uninstalls an egg) needs 220 MiB, 100 MiB free on /openstack",
                "free 120 MiB on /openstack in the container"
            )
        );
        let kept = ContainerFacts {
            kept: Some("/openstack/venvs/.git-osa-prod-keystone-30.0.0".into()),
            ..c
        };
        assert!(matches!(room(&kept), Verdict::Pass(_)), "a session kept it");
    }

    #[test]
    fn a_venv_without_constraints_is_rebuilt() {
        let c = ContainerFacts {
            constraints: false,
            ..container()
        };
        let Verdict::Fail { fix, .. } = venv(&c) else {
            panic!("passed")
        };
        assert_eq!(
            fix,
            "rebuild it: `openstack-ansible openstack.osa.keystone -e venv_rebuild=true`"
        );
    }

    #[test]
    fn an_unreachable_repo_server_is_named_with_pythons_reason() {
        let c = ContainerFacts {
            fetched: vec![(
                "http://172.29.236.1:8181/".into(),
                Err("<urlopen error [Errno 111] Connection refused>".into()),
            )],
            ..container()
        };
        let Verdict::Fail { found, .. } = repo_server(&c) else {
            panic!("passed")
        };
        assert_eq!(
            found,
            "http://172.29.236.1:8181/: <urlopen error [Errno 111] Connection refused>"
        );
        let none = ContainerFacts {
            sources: Ok(Vec::new()),
            ..container()
        };
        assert!(matches!(repo_server(&none), Verdict::Fail { .. }));
    }

    #[test]
    fn pip_config_gives_its_package_sources() {
        let text = "global.find-links='http://172.29.236.1:8181/'\n\
global.no-index='true'\n\
install.extra-index-url='http://a/simple/\\nhttp://b/simple/'\n\
global.index-url='http://a/simple/'\n\
global.trusted-host='172.29.236.1'\n";
        assert_eq!(
            parse_pip_config(text),
            [
                "http://172.29.236.1:8181/",
                "http://a/simple/",
                "http://b/simple/"
            ]
        );
    }

    #[test]
    fn fetch_answers_and_script_lines_are_read() {
        assert_eq!(
            parse_fetch("http://a/ ok 200\nhttp://b/ error timed out\n"),
            [
                ("http://a/".to_string(), Ok("HTTP 200".to_string())),
                ("http://b/".to_string(), Err("timed out".to_string()))
            ]
        );
        let mut c = ContainerFacts {
            systemd_run: None,
            constraints: false,
            venv_kib: None,
            free: None,
            ..container()
        };
        read_script(
            &mut c,
            "systemd-run /usr/bin/systemd-run\nconstraints yes\ndu 12345\n\
df /dev/sda1 102400 2048 98304 3% /\n",
        );
        assert_eq!(c.systemd_run.as_deref(), Some("/usr/bin/systemd-run"));
        assert!(c.constraints);
        assert_eq!(c.venv_kib, Some(12345));
        assert_eq!(c.free, Some((98304, "/".into())));
        read_script(&mut c, "systemd-run \n");
        assert_eq!(c.systemd_run.as_deref(), Some("/usr/bin/systemd-run"));
    }

    fn host() -> HostFacts {
        HostFacts {
            tools: vec![
                ("lxc-attach", Some("/usr/bin/lxc-attach".into())),
                ("lxc-info", Some("/usr/bin/lxc-info".into())),
                ("lxc-ls", Some("/usr/bin/lxc-ls".into())),
                ("systemd-run", Some("/usr/bin/systemd-run".into())),
                ("git", Some("/usr/bin/git".into())),
            ],
            euid: Some(0),
            inventory: "/etc/openstack_deploy/openstack_inventory.json".into(),
            containers: Ok(vec!["c1".into(), "c2".into()]),
            lxc_path: None,
            lxc_names: Ok(vec!["c1".into(), "c2".into(), "other".into()]),
            machines: Vec::new(),
            all_remote: false,
            haproxy: vec![HaproxyFacts {
                node: "this host".into(),
                socket: "/var/run/haproxy.stat".into(),
                hint: "point --haproxy-socket".into(),
                stat: Ok(2),
                help: Ok("The following commands are valid at this level:\n  set server <bk>/<srv> [opts] : change a server's state\n".into()),
            }],
            checkout: Some(CheckoutFacts {
                opened: Ok("/src/keystone".into()),
                checked: 1200,
                unreadable: Vec::new(),
                folders: 300,
                max_watches: Some(8192),
            }),
        }
    }

    #[test]
    fn a_ready_host_passes_every_check() {
        let r = judge_host(&host());
        assert!(
            r.iter().all(|r| matches!(r.verdict, Verdict::Pass(_))),
            "{r:?}"
        );
        assert_eq!(r.len(), HOST_CHECKS.len());
    }

    #[test]
    fn containers_the_inventory_names_but_lxc_lacks_are_listed_with_the_rebuild() {
        let h = HostFacts {
            lxc_names: Ok(vec!["c2".into()]),
            ..host()
        };
        let Verdict::Fail { found, fix } = inventory_against_lxc(&h) else {
            panic!("passed")
        };
        assert_eq!(
            found,
            "1 of its 2 containers does not exist in LXC's default path: c1"
        );
        assert!(fix.starts_with("if LXC keeps them elsewhere, point --lxc-path"));
        assert!(fix.contains("containers_lxc_create --limit localhost,lxc_hosts,c1"));
    }

    #[test]
    fn a_socket_below_admin_level_cannot_set_servers() {
        let mut h = host();
        h.haproxy[0].help = Ok("The following commands are valid at this level:\n  show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server\n".into());
        let Verdict::Fail { found, .. } = haproxy_admin(&h) else {
            panic!("passed")
        };
        assert!(found.ends_with(
            "not at admin level: `set server` is not allowed, so traffic cannot be moved"
        ));
    }

    fn on_infra2(reached: Result<(), (String, String)>, lxc: &[&str]) -> MachineFacts {
        MachineFacts {
            name: "infra2".into(),
            reach: "ssh 172.29.236.2".into(),
            reached,
            containers: vec!["c2".into()],
            lxc_names: Ok(lxc.iter().map(|s| s.to_string()).collect()),
        }
    }

    /// A multi-node cloud: c2 is on infra2, whose LXC has it; this host's LXC does not,
    /// and need not.
    #[test]
    fn containers_on_other_hosts_are_checked_there_over_ssh() {
        let mut h = HostFacts {
            lxc_names: Ok(vec!["c1".into()]),
            machines: vec![on_infra2(Ok(()), &["c2"])],
            ..host()
        };
        assert_eq!(
            ssh_hosts(&h),
            Verdict::Pass("infra2 (ssh 172.29.236.2)".into())
        );
        assert_eq!(
            inventory_against_lxc(&h),
            Verdict::Pass(
                "all 1 containers it names exist in LXC's default path, and 1 on infra2".into()
            )
        );
        h.machines = vec![on_infra2(Ok(()), &[])];
        let Verdict::Fail { found, fix } = inventory_against_lxc(&h) else {
            panic!("passed")
        };
        assert_eq!(
            found,
            "on infra2: 1 of its 1 containers there does not exist: c2"
        );
        assert!(fix.starts_with("on infra2: rebuild it with"), "{fix}");
        h.machines = vec![on_infra2(
            Err((
                "cannot reach infra2 (172.29.236.2) with ssh: Connection refused".into(),
                "is infra2 up".into(),
            )),
            &[],
        )];
        let Verdict::Fail { found, .. } = ssh_hosts(&h) else {
            panic!("passed")
        };
        assert!(
            found.starts_with("infra2 (ssh 172.29.236.2): cannot reach"),
            "{found}"
        );
    }

    /// From a laptop (a deploy host set), this machine needs no LXC, systemd or root.
    #[test]
    fn with_every_host_over_ssh_this_machine_needs_no_lxc_systemd_or_root() {
        let h = HostFacts {
            tools: Vec::new(),
            euid: Some(1000),
            all_remote: true,
            ..host()
        };
        for check in [lxc_tools, host_systemd_run, root] {
            assert!(matches!(check(&h), Verdict::Skip(_)), "{:?}", check(&h));
        }
    }

    #[test]
    fn every_haproxy_node_is_checked_and_a_failing_one_is_named() {
        let mut h = host();
        let mut second = h.haproxy[0].clone();
        second.node = "lb2".into();
        second.stat = Err("ssh: connect to host lb2 port 22: Connection refused".into());
        h.haproxy.push(second);
        let Verdict::Fail { found, .. } = haproxy_admin(&h) else {
            panic!("passed with a node unreachable")
        };
        assert_eq!(
            found,
            "on lb2: ssh: connect to host lb2 port 22: Connection refused"
        );
        h.haproxy[1].stat = Ok(2);
        let Verdict::Pass(said) = haproxy_admin(&h) else {
            panic!("failed with both nodes at admin level")
        };
        assert!(
            said.starts_with("on this host: ") && said.contains("; on lb2: "),
            "{said}"
        );
    }

    #[test]
    fn a_checkout_this_user_cannot_read_names_the_files_and_the_fix() {
        let mut h = host();
        h.euid = Some(65534);
        if let Some(c) = &mut h.checkout {
            c.unreadable = ["a.py", "b.py", "keystone/c.py", "keystone/d.py"]
                .iter()
                .map(|p| Path::new("/src/keystone").join(p))
                .collect();
        }
        let Verdict::Fail { found, fix } = checkout(&h) else {
            panic!("passed")
        };
        assert_eq!(
            found,
            "uid 65534 cannot read 4 of the 1200 files and folders a sync sends from /src/keystone: a.py, b.py, keystone/c.py and 1 more"
        );
        assert!(
            fix.starts_with("run git osa as a user who can read them (root"),
            "{fix}"
        );
        h.checkout = None;
        assert!(matches!(checkout(&h), Verdict::Skip(_)));
        assert!(matches!(inotify(&h), Verdict::Skip(_)));
    }

    #[test]
    fn fewer_inotify_watches_than_folders_says_how_many_to_allow() {
        let mut h = host();
        if let Some(c) = &mut h.checkout {
            c.folders = 9000;
        }
        let Verdict::Fail { found, fix } = inotify(&h) else {
            panic!("passed")
        };
        assert_eq!(
            found,
            "`git osa watch` follows 9000 folders, one inotify watch each, and this user may have 8192 (fs.inotify.max_user_watches)"
        );
        assert!(
            fix.starts_with("raise it: `sysctl fs.inotify.max_user_watches=65536`"),
            "{fix}"
        );
    }

    #[test]
    fn without_git_review_and_the_hooks_cannot_work() {
        let mut h = host();
        h.tools.retain(|(t, _)| *t != "git");
        assert_eq!(
            git_cli(&h),
            fail(
                "not on PATH: git config, `git osa review` and the hooks need the git command",
                "install git (apt-get install git)"
            )
        );
    }

    #[test]
    fn a_failure_shows_its_fix_under_it() {
        let r = Report {
            target: None,
            name: "root".into(),
            verdict: root(&HostFacts {
                euid: Some(1000),
                ..host()
            }),
        };
        assert_eq!(
            r.render(),
            "FAIL  root: running as uid 1000: lxc-attach into OSA's containers needs root\n      fix: run it as root, as every OSA operation (sudo -E git osa ...)\n"
        );
    }

    #[test]
    fn a_damaged_record_or_a_lost_pin_fails_with_its_fix() {
        let mut c = container();
        c.session =
            SessionFacts::Damaged("the git-osa session record f in c1 is damaged: x".into());
        let v = verdicts(&c);
        let Verdict::Fail { found, fix } = &v[5].1 else {
            panic!("{v:?}");
        };
        assert!(found.contains("damaged") && fix.contains("git osa restore --container c1"));
        c.session = SessionFacts::Readable {
            lost: vec!["keystone_service-back/c2".into()],
        };
        let Verdict::Fail { fix, .. } = &verdicts(&c)[5].1 else {
            panic!();
        };
        assert!(fix.contains("git osa sync"));
        c.session = SessionFacts::Readable { lost: vec![] };
        assert!(matches!(verdicts(&c)[5].1, Verdict::Pass(_)));
    }
}
