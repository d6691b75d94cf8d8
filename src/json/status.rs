//! The `status` document: each container, its units, HAProxy servers and dev session.

use std::path::Path;

use serde::Serialize;

use crate::context::Source;
use crate::haproxy::ServerRef;
use crate::session::Session;
use crate::status::{self, TargetStatus};

use super::{Document, display};

/// `git osa status --json`.
#[derive(Serialize)]
pub struct Status {
    /// The project as the checkout names it (`openstack/keystone`).
    pub project: String,
    pub service: String,
    pub checkout: String,
    /// The checkout's watcher (`git osa watch`), when one runs.
    pub watching: Option<Watching>,
    /// The checkout's watcher died without ending (killed, a reboot): saves since it was
    /// last seen are not synced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watcher_died: Option<DeadWatcher>,
    pub inventory: Inventory,
    pub haproxy: Haproxy,
    pub containers: Vec<Container>,
    /// What needs the user's attention (also the error on stderr and the exit status).
    pub problems: Vec<String>,
}

impl Document for Status {
    const KIND: &'static str = "status";
}

impl Status {
    pub fn new(ctx: &crate::context::Context, r: &crate::status::Report) -> Status {
        Status {
            project: r.project.display(),
            service: r.service.clone(),
            checkout: r.checkout.clone(),
            watching: r.watcher.as_ref().map(|w| Watching {
                pid: w.pid,
                since: w.since,
                background: w.background,
            }),
            watcher_died: r.dead_watcher.as_ref().map(|d| DeadWatcher {
                pid: d.pid,
                since: d.since,
                last_seen: d.last_seen,
            }),
            inventory: Inventory::new(&r.source, &ctx.global.inventory),
            haproxy: Haproxy {
                socket: ctx.haproxy().label(),
                error: r.haproxy_problem.clone(),
            },
            containers: r.statuses.iter().map(Container::new).collect(),
            problems: r.problems.clone(),
        }
    }
}

/// A `git osa watch` of the checkout that runs now.
#[derive(Serialize)]
pub struct Watching {
    pub pid: u32,
    /// Unix time it started watching.
    pub since: u64,
    /// Started with --detach: it runs in the background, its log is `git osa logs --watch`.
    pub background: bool,
}

/// A watcher whose record is there but no process holds it.
#[derive(Serialize)]
pub struct DeadWatcher {
    pub pid: u32,
    /// Unix time it started watching.
    pub since: u64,
    /// Unix time it was last seen alive.
    pub last_seen: u64,
}

/// Where the containers came from.
#[derive(Serialize)]
pub struct Inventory {
    /// `inventory`: read from `path`; `container-names`: there is no inventory at `path`,
    /// the containers were matched by their LXC names.
    pub source: &'static str,
    pub path: String,
}

impl Inventory {
    pub fn new(source: &Source, looked_at: &Path) -> Inventory {
        match source {
            Source::Inventory(p) => Inventory {
                source: "inventory",
                path: display(p),
            },
            Source::ContainerNames => Inventory {
                source: "container-names",
                path: display(looked_at),
            },
        }
    }
}

#[derive(Serialize)]
pub struct Haproxy {
    pub socket: String,
    /// Why HAProxy could not be read, when a unit of the service is balanced.
    pub error: Option<String>,
}

#[derive(Serialize)]
pub struct Container {
    pub name: String,
    pub inventory_name: String,
    /// The physical host (`physical_host` in the inventory).
    pub host: Option<String>,
    /// How git-osa reaches that host.
    pub reached: Reached,
    pub address: Option<String>,
    /// The service runs on the host itself (`is_metal`): there is no container.
    pub metal: bool,
    /// `RUNNING`, `STOPPED`, `MISSING` or another state `lxc-info` reports; null when metal.
    pub lxc_state: Option<String>,
    pub units: Vec<UnitState>,
    pub haproxy_servers: Vec<HaproxyServer>,
    pub session: Option<SessionView>,
    /// An editable install found in the venvs while no session records one.
    pub dev_code_outside_session: Option<String>,
    /// The session record does not parse: why, and the fields of it that could not be
    /// read (`session` then holds what could); absent when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_record_damaged: Option<Damaged>,
    /// The session was read from the stopped container's files on the host.
    pub session_read_from_rootfs: bool,
    /// Servers the session took out of rotation that take traffic again: HAProxy
    /// restarted or reloaded and forgot it (`git osa sync` puts them back).
    pub lost_pins: Vec<Server>,
    /// Foreground dev processes running with no git-osa attached (the one that ran them
    /// was killed or lost its connection).
    pub unattended: Vec<String>,
}

#[derive(Serialize)]
pub struct Damaged {
    pub error: String,
    pub unread: Vec<String>,
}

#[derive(Serialize)]
pub struct UnitState {
    pub name: String,
    /// For people: `active (running)` as the text says it, the load state when the unit
    /// does not exist; null when the target could not be asked (not running).
    pub state: Option<String>,
    pub active: Option<bool>,
    /// systemd's `LoadState`, `ActiveState` and `SubState`, for programs.
    pub load_state: Option<String>,
    pub active_state: Option<String>,
    pub sub_state: Option<String>,
}

#[derive(Serialize)]
pub struct HaproxyServer {
    pub backend: String,
    pub server: String,
    /// As HAProxy says it: `UP`, `DOWN`, `MAINT`, `DRAIN`, `no check`, `UP 1/2`...
    pub status: String,
    /// Where HAProxy has several nodes that disagree: the most ready of their views
    /// (`status` is the least ready); absent where they agree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elsewhere: Option<NodeView>,
}

#[derive(Serialize)]
pub struct NodeView {
    pub node: String,
    pub status: String,
}

/// How git-osa reaches the machine that runs a container.
#[derive(Serialize)]
pub struct Reached {
    /// `local` (this machine's LXC tools) or `ssh`.
    pub via: &'static str,
    /// ssh's destination (`[user@]address`); null when local.
    pub destination: Option<String>,
    /// The host ssh hops through (the deploy host); null when none.
    pub jump: Option<String>,
}

#[derive(Serialize)]
pub struct SessionView {
    pub commit: Option<String>,
    /// The synced tree had changes not committed.
    pub dirty: bool,
    /// Unix time, in seconds.
    pub started_at: u64,
    /// `user@host (pid N)` of the git-osa that began it.
    pub started_by: String,
    /// Unix time, in seconds, of the last sync.
    pub synced_at: Option<u64>,
    /// The steps applied, in order, as the session records them.
    pub steps_applied: Vec<String>,
    /// What the session changed, as `status` says it (empty: nothing yet).
    pub changes: Vec<String>,
    pub venv: Option<String>,
    /// The copy of the production venv that restore puts back.
    pub venv_backup: Option<String>,
    /// The copy is complete (a copy cut short by a kill is not).
    pub venv_kept: bool,
    pub stopped_units: Vec<String>,
    pub disabled_servers: Vec<Server>,
    pub dropins: Vec<String>,
    pub dev_process_running: bool,
    /// The units whose dev process runs now.
    pub running_units: Vec<String>,
    /// The transient units (scopes) of the dev processes, as recorded.
    pub dev_units: Vec<String>,
    /// The Gerrit change `git osa review` deployed (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewView>,
    /// The libraries installed `--with` the service (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<crate::session::WithLibrary>,
    /// The database snapshot restore loads back (absent when the session took none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_snapshot: Option<DbSnapshotView>,
    /// Dev processes killed while they stopped, whose work was cut (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cut: Vec<crate::session::Cut>,
    /// Every difference from the configuration the session found (`git osa conf diff`);
    /// absent when the container could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conf_changes: Option<Vec<crate::devconf::FileChange>>,
    /// Why the configuration could not be compared (absent when it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conf_error: Option<String>,
    /// The remote debugger installed into the venv for the session (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debugger: Option<crate::session::Debugger>,
    /// The detached uWSGI units run the hot-patch agent (`run --detach --hot-patch`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hot_patch: bool,
}

#[derive(Serialize)]
pub struct DbSnapshotView {
    /// `mysql` or `sqlite`.
    pub engine: &'static str,
    /// The database, as a person names it (`heat on 172.29.236.101`, or the SQLite file).
    pub database: String,
    /// The dump in the container.
    pub dump: String,
    /// Unix time, in seconds, when it was complete (absent when not recorded).
    pub taken_at: Option<u64>,
    /// The dump's size now; absent when it could not be read (see `size_error`).
    pub bytes: Option<u64>,
    pub size_error: Option<String>,
}

#[derive(Serialize)]
pub struct ReviewView {
    #[serde(flatten)]
    pub review: crate::session::Review,
    /// The change's latest patchset on its server; absent when not asked (without
    /// `--online`) or not known (see `latest_patchset_error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_patchset: Option<u32>,
    /// Why the server could not be asked (`--online`): no answer in time, refused...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_patchset_error: Option<String>,
}

#[derive(Serialize)]
pub struct Server {
    pub backend: String,
    pub server: String,
}

impl From<&ServerRef> for Server {
    fn from(s: &ServerRef) -> Server {
        Server {
            backend: s.backend.clone(),
            server: s.server.clone(),
        }
    }
}

impl Container {
    pub fn new(st: &TargetStatus) -> Container {
        let h = &st.placement.host;
        Container {
            name: h.container_name.clone(),
            inventory_name: h.inventory_name.clone(),
            host: st.machine.clone().or_else(|| h.physical_host.clone()),
            reached: match &st.reach {
                crate::site::Reach::Here => Reached {
                    via: "local",
                    destination: None,
                    jump: None,
                },
                crate::site::Reach::Ssh { destination, jump } => Reached {
                    via: "ssh",
                    destination: Some(destination.clone()),
                    jump: jump.clone(),
                },
            },
            address: h.address.clone(),
            metal: h.metal,
            lxc_state: (!h.metal).then(|| st.lxc.to_string()),
            units: st
                .placement
                .units
                .iter()
                .map(|u| {
                    let info = st.unit(&u.name);
                    UnitState {
                        name: u.name.clone(),
                        state: info.map(|i| i.state()),
                        active: info.map(|i| i.active()),
                        load_state: info.map(|i| i.load_state.clone()),
                        active_state: info.map(|i| i.active_state.clone()),
                        sub_state: info.map(|i| i.sub_state.clone()),
                    }
                })
                .collect(),
            haproxy_servers: st
                .servers
                .iter()
                .map(|s| HaproxyServer {
                    backend: s.backend.clone(),
                    server: s.name.clone(),
                    status: s.status.clone(),
                    elsewhere: s.elsewhere.as_ref().map(|(node, status)| NodeView {
                        node: node.clone(),
                        status: status.clone(),
                    }),
                })
                .collect(),
            session: st.session.as_ref().map(|s| SessionView::new(s, st)),
            dev_code_outside_session: st.dev_code_outside_session().map(String::from),
            session_record_damaged: st.damaged.as_ref().map(|(error, unread)| Damaged {
                error: error.clone(),
                unread: unread.iter().map(|u| u.to_string()).collect(),
            }),
            session_read_from_rootfs: st.from_rootfs,
            lost_pins: st.lost_pins.iter().map(Server::from).collect(),
            unattended: st.unattended.clone(),
        }
    }
}

impl SessionView {
    fn new(s: &Session, st: &TargetStatus) -> SessionView {
        let running: Vec<String> = st.dev_running().into_iter().map(String::from).collect();
        SessionView {
            commit: s.commit.clone(),
            dirty: s.dirty,
            started_at: s.started_at,
            started_by: s.started_by.clone(),
            synced_at: s.synced_at,
            steps_applied: s.applied.clone(),
            changes: status::changes(s, &st.lost_pins),
            venv: s.venv.clone(),
            venv_backup: s.venv_backup.clone(),
            venv_kept: s.venv_kept(),
            stopped_units: s.stopped_units.clone(),
            disabled_servers: s.disabled_servers.iter().map(Server::from).collect(),
            dropins: s.dropins.clone(),
            dev_process_running: !running.is_empty(),
            running_units: running,
            dev_units: s.dev_units.clone(),
            review: s.review.clone().map(|review| ReviewView {
                review,
                latest_patchset: st.review_latest.clone().and_then(|l| l.ok()),
                latest_patchset_error: st.review_latest.clone().and_then(|l| l.err()),
            }),
            with: s.with.clone(),
            db_snapshot: s.db_snapshot.as_ref().map(|snap| DbSnapshotView {
                engine: snap.engine(),
                database: snap.describe(),
                dump: snap.dump().to_string(),
                taken_at: s.db_snapshot_at,
                bytes: st.db_snapshot_size.clone().and_then(|r| r.ok()),
                size_error: st.db_snapshot_size.clone().and_then(|r| r.err()),
            }),
            cut: s.cut.clone(),
            conf_changes: st.conf.clone().and_then(|r| r.ok()),
            conf_error: st.conf.clone().and_then(|r| r.err()),
            debugger: s.debugger.clone(),
            hot_patch: s.hot_patch,
        }
    }
}
