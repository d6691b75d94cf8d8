//! The `status` document: each container, its units, HAProxy servers and dev session.

use std::path::Path;

use serde::Serialize;

use crate::context::Source;
use crate::state::{ServerRef, Session};
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
    pub inventory: Inventory,
    pub haproxy: Haproxy,
    pub containers: Vec<Container>,
    /// What needs the user's attention (also the error on stderr and the exit status).
    pub problems: Vec<String>,
}

impl Document for Status {
    const KIND: &'static str = "status";
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
}

#[derive(Serialize)]
pub struct UnitState {
    pub name: String,
    /// `active (running)` as systemd says it, the load state when the unit does not
    /// exist, null when the target could not be asked (not running).
    pub state: Option<String>,
    pub active: Option<bool>,
}

#[derive(Serialize)]
pub struct HaproxyServer {
    pub backend: String,
    pub server: String,
    /// As HAProxy says it: `UP`, `DOWN`, `MAINT`, `DRAIN`, `no check`, `UP 1/2`...
    pub status: String,
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
    pub with: Vec<crate::state::WithLibrary>,
    /// The database snapshot restore loads back (absent when the session took none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_snapshot: Option<DbSnapshotView>,
    /// Dev processes killed while they stopped, whose work was cut (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cut: Vec<crate::state::Cut>,
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
    pub review: crate::state::Review,
    /// The change's latest patchset on its server; absent when not asked (`--offline`)
    /// or not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_patchset: Option<u32>,
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
            host: h.physical_host.clone(),
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
                })
                .collect(),
            session: st.session.as_ref().map(|s| SessionView::new(s, st)),
            dev_code_outside_session: st.dev_code_outside_session().map(String::from),
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
            changes: status::changes(s),
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
        }
    }
}
