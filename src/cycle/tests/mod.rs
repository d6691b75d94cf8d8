//! The cycle's tests, without a lab: fixture surveys (keystone and heat as the lab deploys
//! them), the golden plans built from them (`golden.rs`), and plans executed against a
//! fake transport (`executed.rs`). Expected texts are committed in `tests/plans/`;
//! `GIT_OSA_BLESS=1 cargo test --lib cycle::tests` rewrites them (review the diff before
//! committing it). The fixtures are shared with the tests of `json/`.

mod executed;
mod golden;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::catalog::{Catalog, Service};
use crate::cycle::{self, Choice};
use crate::haproxy::Server;
use crate::inventory::Host;
use crate::lxc::Lxc;
use crate::plan::Step;
use crate::probe::Probe;
use crate::session::Session;
use crate::survey::{CheckoutScan, Survey};
use crate::sync::{Meta, Tree};
use crate::systemd::UnitInfo;

const ME: &str = "dev@aio1 (pid 4242)";

pub(crate) const SOCKET: &str = "/var/run/haproxy.stat";

fn service(name: &str) -> Service {
    Catalog::builtin().by_name(name).unwrap().clone()
}

fn unit(name: &str, user: &str, active: bool, exec: &[&str]) -> UnitInfo {
    UnitInfo {
        id: format!("{name}.service"),
        load_state: "loaded".into(),
        active_state: if active { "active" } else { "inactive" }.into(),
        sub_state: if active { "running" } else { "dead" }.into(),
        user: Some(user.into()),
        group: Some(user.into()),
        exec_start: exec.iter().map(|s| s.to_string()).collect(),
        kill_signal: Some("SIGQUIT".into()),
        // OSA's units: systemd's default KillMode, and its role's TimeoutSec=120.
        kill_mode: Some("control-group".into()),
        timeout_stop: Some("2min".into()),
        runtime_directory: vec![name.into()],
        ..UnitInfo::default()
    }
}

fn server(backend: &str, name: &str, addr: &str, status: &str) -> Server {
    Server {
        backend: backend.into(),
        name: name.into(),
        status: status.into(),
        addr: Some(addr.into()),
        elsewhere: None,
    }
}

fn meta(mtime_ns: i128, size: u64) -> Meta {
    Meta {
        mtime_ns,
        size,
        mode: 0o100644,
    }
}

/// A checkout with a few files, one of them a migration.
fn checkout(service: &Service, root: &str, migration: &str) -> CheckoutScan {
    let mut files = BTreeMap::new();
    files.insert("setup.cfg".to_string(), meta(1_000, 1_200));
    files.insert("requirements.txt".to_string(), meta(1_000, 800));
    files.insert(format!("{}/api.py", service.name), meta(1_000, 4_000));
    files.insert(migration.to_string(), meta(1_000, 600));
    CheckoutScan {
        root: PathBuf::from(root),
        tree: Tree {
            files,
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            dirty: false,
        },
        pbr_version: Some("30.0.1.dev2".into()),
        install_inputs: vec![
            ("requirements.txt".into(), b"pbr>=2.0\n".to_vec()),
            ("setup.cfg".into(), b"[metadata]\nname = x\n".to_vec()),
        ],
        migrations: BTreeMap::from([(migration.to_string(), b"revision = 'b'\n".to_vec())]),
    }
}

/// keystone's first run on the new-era container of a two-container deployment.
pub(crate) fn keystone() -> Survey {
    let service = service("keystone");
    let uwsgi = [
        "/openstack/venvs/uwsgi-30.0.0-python3/bin/uwsgi",
        "--autoload",
        "--ini",
        "/etc/uwsgi/keystone-wsgi-public.ini",
    ];
    let host = Host {
        inventory_name: "aio1-keystone-container-b7d24e95".into(),
        container_name: "aio1-keystone-container-b7d24e95".into(),
        physical_host: Some("aio1".into()),
        address: Some("172.29.236.12".into()),
        metal: false,
    };
    let migration = "keystone/common/sql/migrations/versions/2024.01/expand/b_add.py";
    Survey {
        project: "openstack/keystone".into(),
        package: Some("keystone".into()),
        target: Lxc::local(Some("/var/lib/lxc".into())).target(&host.container_name, false),
        units: service.units.clone(),
        skipped: Vec::new(),
        host_groups: Some(vec!["keystone".into(), "keystone_all".into()]),
        peers: Vec::new(),
        probe: Probe {
            units: vec![unit("keystone-wsgi-public", "keystone", true, &uwsgi)],
            files: HashMap::new(),
            paths: Vec::new(),
        },
        session: None,
        venv: "/openstack/venvs/keystone-30.0.0".into(),
        venv_pip: Some("26.3".into()),
        easy_install_pth: false,
        manifest: BTreeMap::new(),
        constraints: Some(b"keystone==30.0.0\noslo.db==16.0.0\n".to_vec()),
        dropin_dir_exists: false,
        production_migrations_digest: None,
        production_migrations: Some(BTreeMap::from([(
            "keystone/common/sql/migrations/versions/2024.01/expand/a_init.py".to_string(),
            b"revision = 'a'\n".to_vec(),
        )])),
        servers: vec![
            server(
                "keystone_service-back",
                "aio1_keystone_container-6c0f3a1e",
                "172.29.236.11:5000",
                "UP",
            ),
            server(
                "keystone_service-back",
                "aio1-keystone-container-b7d24e95",
                "172.29.236.12:5000",
                "UP",
            ),
        ],
        checkout: checkout(&service, "/home/dev/src/keystone", migration),
        me: ME.into(),
        review: None,
        with: Vec::new(),
        database: Ok(crate::db::Connection::Sqlite {
            path: "/var/lib/keystone/keystone.db".into(),
        }),
        db_tools: vec!["/usr/bin/python3".into()],
        host,
        service,
    }
}

/// Heat in one of its two containers: two balanced APIs and an engine.
pub(crate) fn heat() -> Survey {
    let service = service("heat");
    let venv = "/openstack/venvs/heat-27.0.1";
    let host = Host {
        inventory_name: "aio1-heat-api-container-1b2c3d4e".into(),
        container_name: "aio1-heat-api-container-1b2c3d4e".into(),
        physical_host: Some("aio1".into()),
        address: Some("172.29.236.21".into()),
        metal: false,
    };
    let api = |name: &str| {
        unit(
            name,
            "heat",
            true,
            &[
                "/openstack/venvs/uwsgi-27.0.1-python3/bin/uwsgi",
                "--autoload",
                "--ini",
                &format!("/etc/uwsgi/{name}.ini"),
            ],
        )
    };
    let mut s = keystone();
    s.probe.units = vec![
        api("heat-api"),
        api("heat-api-cfn"),
        unit(
            "heat-engine",
            "heat",
            true,
            &[&format!("{venv}/bin/heat-engine")],
        ),
    ];
    s.servers = vec![
        server(
            "heat_api-back",
            "aio1-heat-api-container-1b2c3d4e",
            "172.29.236.21:8004",
            "UP",
        ),
        server(
            "heat_api-back",
            "aio1-heat-api-container-5f6a7b8c",
            "172.29.236.22:8004",
            "UP",
        ),
        server(
            "heat_api_cfn-back",
            "aio1-heat-api-container-1b2c3d4e",
            "172.29.236.21:8000",
            "UP",
        ),
        server(
            "heat_api_cfn-back",
            "aio1-heat-api-container-5f6a7b8c",
            "172.29.236.22:8000",
            "UP",
        ),
    ];
    s.target = Lxc::default().target(&host.container_name, false);
    s.units = service.units.clone();
    // the other heat container runs an engine too
    s.peers = vec![(
        "heat-engine".into(),
        vec!["aio1-heat-api-container-5f6a7b8c".into()],
    )];
    s.project = "openstack/heat".into();
    s.package = Some("openstack-heat".into());
    s.venv = venv.into();
    s.constraints = Some(b"openstack-heat==27.0.1\noslo.db==16.0.0\n".to_vec());
    s.production_migrations = None;
    s.checkout = checkout(
        &service,
        "/home/dev/src/heat",
        "heat/db/migrations/versions/b_add.py",
    );
    s.database = Ok(crate::db::Connection::Mysql {
        user: "heat".into(),
        password: "s3cr3t".into(),
        host: "172.29.236.101".into(),
        port: None,
        socket: None,
        database: "heat".into(),
    });
    s.db_tools = crate::survey::DB_TOOLS
        .iter()
        .map(|t| t.to_string())
        .collect();
    s.host = host;
    s.service = service;
    s
}

/// The session a plan leaves behind once its steps up to `upto` ran (or, with
/// `half`, the last one only started: its write-ahead records are in, its others not).
pub(crate) fn after(steps: &[Step], start: Option<Session>, upto: usize, half: bool) -> Session {
    let mut s = start.unwrap_or_else(|| Session {
        service: "keystone".into(),
        project: "openstack/keystone".into(),
        container: "aio1-keystone-container-b7d24e95".into(),
        started_by: ME.into(),
        ..Session::default()
    });
    for (i, step) in steps.iter().enumerate().take(upto + 1) {
        if step.skip.is_some() {
            continue;
        }
        step.before.iter().for_each(|r| r.apply(&mut s));
        if i == upto && half {
            break;
        }
        step.after.iter().for_each(|r| r.apply(&mut s));
    }
    s.started_at = 0;
    s.synced_at = s.synced_at.map(|_| 0);
    s
}

/// What a second run sees after the first one ran and was stopped with Ctrl-C: the
/// session the first plan recorded, production stopped, the sync manifest in place.
pub(crate) fn second_run(first: &Survey) -> Survey {
    let plan = cycle::plan_run(first, &choice()).unwrap();
    let steps = &plan.steps;
    let mut session = after(steps, None, steps.len() - 1, false);
    // The end of the foreground run gave the other server back.
    session
        .disabled_servers
        .retain(|d| d.server == first.host.inventory_name);
    let mut s = first.clone();
    s.manifest = first.checkout.tree.files.clone();
    for u in &mut s.probe.units {
        u.active_state = "inactive".into();
    }
    for sv in &mut s.servers {
        if sv.name == first.host.inventory_name {
            sv.status = "DRAIN".into();
        }
    }
    s.dropin_dir_exists = true;
    s.production_migrations = None;
    s.session = Some(session);
    s
}

pub(crate) fn choice() -> Choice {
    Choice {
        allow_public_index: None,
        offer_index: "https://pypi.org/simple".into(),
        detach: false,
        db_snapshot: false,
        restore_on_exit: false,
        reconfigure: cycle::Reconfigure::Nothing,
        debug: None,
        hot_patch: false,
    }
}

/// The run plan as a dry run prints it.
fn run_text(s: &Survey, choice: &Choice) -> String {
    cycle::plan_run(s, choice).unwrap().text(Path::new(SOCKET))
}

/// Compares `actual` with `tests/plans/<name>.plan`, or writes it when blessing.
pub(crate) fn golden(name: &str, actual: &str) {
    let file = if name.contains('.') {
        name.to_string()
    } else {
        format!("{name}.plan")
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/plans")
        .join(file);
    if std::env::var_os("GIT_OSA_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (GIT_OSA_BLESS=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "the plan differs from {}; GIT_OSA_BLESS=1 rewrites it\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// oslo.db's checkout `--with` keystone.
fn oslo_db() -> crate::survey::Library {
    let mut files = BTreeMap::new();
    files.insert("setup.cfg".to_string(), meta(2_000, 900));
    files.insert("oslo_db/api.py".to_string(), meta(2_000, 3_000));
    crate::survey::Library {
        package: "oslo.db".into(),
        checkout: CheckoutScan {
            root: PathBuf::from("/home/dev/src/oslo.db"),
            tree: Tree {
                files,
                commit: Some("fedcba9876543210fedcba9876543210fedcba98".into()),
                dirty: true,
            },
            pbr_version: Some("17.1.1.dev3".into()),
            install_inputs: vec![("setup.cfg".into(), b"[metadata]\nname = oslo.db\n".to_vec())],
            migrations: BTreeMap::new(),
        },
        manifest: Default::default(),
    }
}

/// `s` in a detached session whose dev units run.
pub(crate) fn detached(mut s: Survey) -> Survey {
    s.session.as_mut().unwrap().detached_at = Some(1);
    for u in &s.units {
        s.probe.units.push(UnitInfo {
            id: crate::layout::dev_service(&u.name),
            load_state: "loaded".into(),
            active_state: "active".into(),
            ..UnitInfo::default()
        });
    }
    s
}
