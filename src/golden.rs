//! Golden plans: run and restore plans built from fixture surveys, compared with the
//! expected text committed in `tests/plans/`. No lab, no container: the plan builders are
//! pure. A step removed, added or reordered changes a plan's text and fails its test.
//! `GIT_OSA_BLESS=1 cargo test --lib golden` rewrites the expected files (review the
//! diff before committing it). The fixtures are shared with the tests of `json.rs`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::catalog::{Catalog, Service};
use crate::cycle::{self, Choice};
use crate::haproxy::Server;
use crate::inventory::Host;
use crate::layout::Paths;
use crate::lxc::Lxc;
use crate::plan::{self, Action, Exec, Step};
use crate::probe::Probe;
use crate::restore::{self, Now};
use crate::state::{self, Session};
use crate::survey::{CheckoutScan, Survey};
use crate::sync::{Meta, Tree};
use crate::systemd::UnitInfo;

const ME: &str = "dev@aio1 (pid 4242)";
const SOCKET: &str = "/var/run/haproxy.stat";

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
        target: Lxc {
            path: Some("/var/lib/lxc".into()),
        }
        .target(&host.container_name, false),
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
    }
}

/// The run plan as a dry run prints it.
fn run_text(s: &Survey, choice: &Choice) -> String {
    let plan = cycle::plan_run(s, choice).unwrap();
    let mut out = String::new();
    for w in &plan.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    for n in &plan.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out + &plan::print(&plan.steps, Path::new(SOCKET))
}

/// Compares `actual` with `tests/plans/<name>.plan`, or writes it when blessing.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/plans")
        .join(format!("{name}.plan"));
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

#[test]
fn first_run() {
    golden("first-run", &run_text(&keystone(), &choice()));
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

#[test]
fn with_a_library() {
    let mut s = keystone();
    s.with.push(oslo_db());
    let text = run_text(&s, &choice());
    golden("with-library", &text);
    // The library comes in before the service, and the constraints lose its pin too.
    let at = |t: &str| text.find(t).unwrap_or_else(|| panic!("{t} in\n{text}"));
    assert!(
        at("install oslo.db into the venv, editable") < at("install the checkout into the venv")
    );
    let plan = cycle::plan_run(&s, &choice()).unwrap();
    let constraints = plan
        .steps
        .iter()
        .find_map(|st| match &st.action {
            Action::Exec(Exec {
                stdin: Some(crate::plan::Input::Sync(p)),
                ..
            }) => p.extra.first().map(|(_, c)| c.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(String::from_utf8(constraints).unwrap(), "");

    // A second run: nothing of the library changed, so neither step runs again.
    let mut again = second_run(&s);
    again.with[0].manifest = again.with[0].checkout.tree.files.clone();
    let text = run_text(&again, &choice());
    assert!(
        text.contains(
            "sync oslo.db to /var/lib/git-osa/keystone/with/oslo.db/src (0 changed, 0 deleted, 0 bytes)\n    skipped: nothing changed since the last sync\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("install oslo.db into the venv, editable\n    skipped: requirements"),
        "{text}"
    );
}

#[test]
fn one_line_edit() {
    let mut s = second_run(&keystone());
    let f = s.checkout.tree.files.get_mut("keystone/api.py").unwrap();
    f.mtime_ns += 1;
    golden("one-line-edit", &run_text(&s, &choice()));
}

/// `run --detach`: the same cycle, ending with the units started as services.
#[test]
fn detached_run() {
    let c = Choice {
        detach: true,
        ..choice()
    };
    golden("detached", &run_text(&keystone(), &c));
}

/// `git osa sync` after a one-line edit: only the file travels, only the unit restarts.
#[test]
fn sync_after_a_one_line_edit() {
    let mut s = second_run(&keystone());
    let f = s.checkout.tree.files.get_mut("keystone/api.py").unwrap();
    f.mtime_ns += 1;
    let plan = cycle::plan_sync(&detached(s), &choice()).unwrap();
    golden(
        "sync-one-line-edit",
        &plan::print(&plan.steps, Path::new(SOCKET)),
    );
    let unchanged = detached(second_run(&keystone()));
    let plan = cycle::plan_sync(&unchanged, &choice()).unwrap();
    assert!(
        plan.steps.iter().all(|st| st.skip.is_some()),
        "an unchanged checkout restarts nothing:\n{}",
        plan::print(&plan.steps, Path::new(SOCKET))
    );
}

/// `s` in a detached session whose dev units run.
fn detached(mut s: Survey) -> Survey {
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

/// heat's sync: its two uWSGI APIs reload (their backends stay pinned to the target),
/// heat-engine, which cannot, restarts alone; with a unit down, all three restart.
#[test]
fn heat_sync_reloads_the_apis_and_restarts_the_engine() {
    let mut s = second_run(&heat());
    let f = s
        .checkout
        .tree
        .files
        .keys()
        .find(|k| k.ends_with(".py") && !k.contains("migrat"))
        .unwrap()
        .clone();
    s.checkout.tree.files.get_mut(&f).unwrap().mtime_ns += 1;
    let plan = cycle::plan_sync(&detached(s.clone()), &choice()).unwrap();
    let text = plan::print(&plan.steps, Path::new(SOCKET));
    golden("heat-sync", &text);
    let last = plan.steps.last().unwrap();
    assert_eq!(
        last.title,
        "reload heat-api, heat-api-cfn's uWSGI workers and restart heat-engine on the new code",
        "{text}"
    );
    assert!(!text.contains("take the traffic meanwhile"), "{text}");

    let mut down = detached(s);
    down.probe
        .units
        .retain(|u| u.id != "git-osa-dev-heat-engine.service");
    let plan = cycle::plan_sync(&down, &choice()).unwrap();
    let last = plan.steps.last().unwrap();
    assert_eq!(
        last.title,
        "restart heat-api, heat-api-cfn, heat-engine on the new code (heat-engine not running)"
    );
}

/// A session started `--with` a library: a sync sends the library's edit too, and
/// reloads the workers, unless a pip install ran (the master's libraries may have
/// changed: a restart then starts a new one).
#[test]
fn a_sync_sends_the_with_librarys_edit_and_restarts_after_a_pip_install() {
    let mut s = keystone();
    s.with.push(oslo_db());
    let mut again = second_run(&s);
    again.with[0].manifest = again.with[0].checkout.tree.files.clone();
    let lib = &mut again.with[0].checkout;
    lib.tree.files.get_mut("oslo_db/api.py").unwrap().mtime_ns += 1;
    let plan = cycle::plan_sync(&detached(again.clone()), &choice()).unwrap();
    let text = plan::print(&plan.steps, Path::new(SOCKET));
    assert!(
        text.contains("sync oslo.db to /var/lib/git-osa/keystone/with/oslo.db/src (1 changed, 0 deleted, 3000 bytes)\n"),
        "{text}"
    );
    assert!(
        text.contains("install oslo.db into the venv, editable\n    skipped: requirements"),
        "{text}"
    );
    let last = &plan.steps.last().unwrap().title;
    assert_eq!(
        last,
        "reload keystone-wsgi-public's uWSGI workers on the new code"
    );

    let lib = &mut again.with[0].checkout;
    lib.install_inputs[0].1 = b"[metadata]\nname = oslo.db\n[entry_points]\n".to_vec();
    let plan = cycle::plan_sync(&detached(again), &choice()).unwrap();
    let text = plan::print(&plan.steps, Path::new(SOCKET));
    let install = plan
        .steps
        .iter()
        .find(|st| st.title.starts_with("install oslo.db"))
        .unwrap();
    assert!(install.skip.is_none(), "{text}");
    let last = &plan.steps.last().unwrap().title;
    assert_eq!(
        last, "restart keystone-wsgi-public on the new code",
        "{text}"
    );
}

#[test]
fn requirements_changed() {
    let mut s = second_run(&keystone());
    s.checkout
        .tree
        .files
        .get_mut("requirements.txt")
        .unwrap()
        .size += 12;
    s.checkout.install_inputs[0].1 = b"pbr>=2.0\noslo.db>=17\n".to_vec();
    golden("requirements-changed", &run_text(&s, &choice()));
}

#[test]
fn migration_changed() {
    let mut s = second_run(&keystone());
    let m = "keystone/common/sql/migrations/versions/2024.01/expand/b_add.py";
    s.checkout.tree.files.get_mut(m).unwrap().mtime_ns += 1;
    golden("migration-changed", &run_text(&s, &choice()));
}

#[test]
fn migrations_equal_to_productions() {
    let mut s = keystone();
    s.production_migrations = Some(s.checkout.migrations.clone());
    golden("migrations-as-production", &run_text(&s, &choice()));
}

/// A later sync knows production's migrations by the fingerprint the session recorded:
/// the same plan as when they were read, and a changed one still syncs the database.
#[test]
fn migrations_known_by_their_recorded_fingerprint() {
    let mut s = keystone();
    s.production_migrations = None;
    s.production_migrations_digest = crate::migrations::digest(&s.checkout.migrations);
    assert_eq!(
        run_text(&s, &choice()),
        {
            let mut read = keystone();
            read.production_migrations = Some(read.checkout.migrations.clone());
            run_text(&read, &choice())
        },
        "the fingerprint decides as the files did"
    );
    let m = "keystone/common/sql/migrations/versions/2024.01/expand/b_add.py";
    s.checkout
        .migrations
        .insert(m.into(), b"revision = 'b2'\n".to_vec());
    let changed = run_text(&s, &choice());
    assert!(
        changed.contains("--unit=git-osa-dbsync-keystone.scope")
            && !changed.contains("the checkout's migrations are production's"),
        "{changed}"
    );
}

#[test]
fn public_index_allowed() {
    let c = Choice {
        allow_public_index: Some("http://172.29.236.1:8182/simple/".into()),
        ..choice()
    };
    golden("public-index-allowed", &run_text(&keystone(), &c));
}

#[test]
fn heat_whole_pins_both_backends() {
    golden("heat", &run_text(&heat(), &choice()));
}

/// `--db-snapshot` (a review's default): heat's database dumped before its db sync, its
/// rows noted, the db sync noted; then the run killed and restored: the migrations are
/// undone before production starts, keeping the rows others wrote.
#[test]
fn heat_with_a_db_snapshot_and_its_restore() {
    let s = heat();
    let c = Choice {
        db_snapshot: true,
        ..choice()
    };
    let text = run_text(&s, &c);
    assert!(!text.contains("s3cr3t"), "{text}");
    let plan = cycle::plan_run(&s, &c).unwrap();
    let steps = &plan.steps;
    let snap = steps
        .iter()
        .position(|s| s.title.starts_with("snapshot the database"))
        .unwrap();
    let sync = steps
        .iter()
        .position(|s| s.title.starts_with("db sync"))
        .unwrap();
    assert!(
        steps[snap + 1]
            .title
            .starts_with("note the schema and rows of heat")
    );
    assert_eq!(snap + 2, sync);
    // killed in the foreground run
    let mut session = after(steps, None, steps.len() - 1, true);
    session.service = "heat".into();
    assert!(session.db_notes);
    // What the tool answers when a stack was created meanwhile through the other container.
    let report = crate::db_undo::Report {
        drop: vec![
            "table git_osa_probe".into(),
            "column stack.git_osa_probe".into(),
        ],
        revert: [("alembic_version".to_string(), 2)].into(),
        kept: [("stack".to_string(), 1), ("raw_template".to_string(), 1)].into(),
        ..Default::default()
    };
    let mut now = Now {
        running: vec!["git-osa-dev-heat-engine.scope".into()],
        stopping: Vec::new(),
        db_sync: None,
        servers: s.servers.clone(),
        db_undo: Some(report),
    };
    let restore = restore::plan_restore(
        &s.target,
        &s.host,
        &s.units,
        &Paths::new("heat"),
        &session,
        &now,
        false,
    );
    assert!(restore::refusal(&s.target, &session, &now, false).is_none());
    let titles: Vec<&str> = restore.iter().map(|s| s.title.as_str()).collect();
    let load = titles
        .iter()
        .position(|t| t.starts_with("undo the session's migrations in heat"))
        .unwrap();
    let start = titles
        .iter()
        .position(|t| t.starts_with("start production"))
        .unwrap();
    assert!(load < start, "{titles:?}");
    golden(
        "heat-db-snapshot",
        &(text + "== git osa restore\n" + &plan::print(&restore, Path::new(SOCKET))),
    );
    // Rows someone changed since the db sync: restore stops first, unless told.
    now.db_undo.as_mut().unwrap().lost = [("stack".to_string(), 1)].into();
    assert!(restore::refusal(&s.target, &session, &now, false).is_some());
    assert!(restore::refusal(&s.target, &session, &now, true).is_none());
    // A snapshot without notes (an older git-osa's) can only be loaded back whole: asked.
    let mut legacy = session.clone();
    legacy.db_notes = false;
    now.db_undo = None;
    assert!(restore::refusal(&s.target, &legacy, &now, false).is_some());
    let whole = restore::plan_restore(
        &s.target,
        &s.host,
        &s.units,
        &Paths::new("heat"),
        &legacy,
        &now,
        true,
    );
    assert!(
        whole.iter().any(|s| s
            .title
            .starts_with("load the database snapshot back into heat on ")),
        "{:?}",
        whole.iter().map(|s| &s.title).collect::<Vec<_>>()
    );
    // a second run of the session: the snapshot stays the one of before the first db sync
    let mut again = second_run(&s);
    again.session = Some(session);
    let text = run_text(&again, &c);
    assert!(
        text.contains("skipped: taken before this session's first db sync"),
        "{text}"
    );
}

/// `--db-snapshot` for a service whose connection cannot be read, or whose container lacks
/// the dump tool: refused before anything changes.
#[test]
fn a_db_snapshot_that_cannot_be_taken_is_refused() {
    let c = Choice {
        db_snapshot: true,
        ..choice()
    };
    let mut s = heat();
    s.database = Err("/etc/heat/heat.conf has no [database] connection".into());
    let e = cycle::plan_run(&s, &c).unwrap_err().to_string();
    assert!(
        e.contains("/etc/heat/heat.conf has no [database] connection"),
        "{e}"
    );
    let mut s = heat();
    s.db_tools.clear();
    let e = format!("{:?}", cycle::plan_run(&s, &c).unwrap_err());
    assert!(e.contains("mysqldump"), "{e}");
    // not asked, or no db sync to run: no need to read it
    let mut s = heat();
    s.database = Err("unreadable".into());
    assert!(cycle::plan_run(&s, &choice()).is_ok());
}

#[test]
fn heat_engine_alone_drains_nothing() {
    let mut s = heat();
    s.units.retain(|u| u.name == "heat-engine");
    let text = run_text(&s, &choice());
    assert!(!text.contains("drain"), "{text}");
    golden("heat-engine", &text);
}

#[test]
fn metal_target_runs_on_the_host() {
    let mut s = keystone();
    s.host = Host {
        inventory_name: "aio1".into(),
        container_name: "aio1".into(),
        physical_host: Some("aio1".into()),
        address: Some("172.29.236.100".into()),
        metal: true,
    };
    s.target = Lxc::default().target("aio1", true);
    s.servers = vec![
        server("keystone_service-back", "aio1", "172.29.236.100:5000", "UP"),
        server(
            "keystone_service-back",
            "infra2",
            "172.29.236.101:5000",
            "UP",
        ),
    ];
    golden("metal", &run_text(&s, &choice()));
}

#[test]
fn a_session_started_by_another_user_is_taken_over_with_a_warning() {
    let mut s = second_run(&keystone());
    if let Some(session) = &mut s.session {
        session.started_by = "alice@laptop (pid 77)".into();
        session.started_at = state::now().saturating_sub(125);
    }
    let text = run_text(&s, &choice());
    assert!(text.starts_with("warning: aio1-keystone-container-b7d24e95 is in a dev session alice@laptop (pid 77) started 2 min ago"), "{text}");
    golden("another-users-session", &text);
}

/// A kill at each step that records something, then `git osa restore`: what it undoes.
#[test]
fn restore_after_a_kill_at_each_recording_step() {
    let s = keystone();
    let steps = cycle::plan_run(&s, &choice()).unwrap().steps;
    let paths = Paths::new("keystone");
    let mut out = String::new();
    for (i, step) in steps.iter().enumerate() {
        let records_nothing = step.before.is_empty() && step.after.is_empty();
        let foreground = matches!(step.action, Action::Foreground { .. });
        if (step.skip.is_some() || records_nothing) && !foreground {
            continue;
        }
        let session = after(&steps, None, i, true);
        let running = match &step.action {
            Action::Exec(e) => e.scope.iter().cloned().collect(),
            Action::Foreground { units, .. } => units.iter().map(|u| u.scope.clone()).collect(),
            _ => Vec::new(),
        };
        let (db_sync, running): (Vec<String>, Vec<String>) = running
            .into_iter()
            .partition(|u| u.starts_with("git-osa-dbsync-"));
        let now = Now {
            running,
            stopping: Vec::new(),
            db_sync: db_sync.into_iter().next(),
            servers: s.servers.clone(),
            db_undo: None,
        };
        let plan =
            restore::plan_restore(&s.target, &s.host, &s.units, &paths, &session, &now, false);
        let _ = writeln!(out, "== killed during {}. {}", i + 1, step.title);
        out += &plan::print(&plan, Path::new(SOCKET));
    }
    golden("restore-after-kill", &out);
}

/// A rerun after git-osa was killed during the db sync: it waits for the db sync (never
/// stopped mid-migration) and kills the other leftovers.
#[test]
fn rerun_after_a_kill_during_the_db_sync() {
    let first = keystone();
    let steps = cycle::plan_run(&first, &choice()).unwrap().steps;
    let at = steps
        .iter()
        .position(|s| s.title.starts_with("db sync"))
        .unwrap();
    let mut s = first.clone();
    s.session = Some(after(&steps, None, at, true));
    s.manifest = first.checkout.tree.files.clone();
    s.probe.units[0].active_state = "inactive".into();
    for scope in [
        "git-osa-dbsync-keystone.scope",
        "git-osa-keep-keystone.scope",
    ] {
        s.probe.units.push(UnitInfo {
            id: scope.into(),
            load_state: "loaded".into(),
            active_state: "active".into(),
            sub_state: "running".into(),
            ..UnitInfo::default()
        });
    }
    golden("rerun-during-db-sync", &run_text(&s, &choice()));
}

/// A nova API container as OSA deploys it by default: only the novnc console proxy of the
/// three the catalog knows, and a zun-style timer job; then a compute host, where the
/// db sync is left to the conductors.
#[test]
fn units_come_from_what_the_target_has() {
    let nova = service("nova");
    let mut s = keystone();
    let probe_units = [
        ("nova-api-os-compute", false),
        ("nova-api-metadata", false),
        ("nova-conductor", false),
        ("nova-scheduler", false),
        ("nova-novncproxy", false),
        ("nova-purge-deleted", true),
    ];
    let probe = Probe {
        units: probe_units
            .iter()
            .map(|(name, job)| {
                let mut u = unit(
                    name,
                    "nova",
                    true,
                    &[&format!("/openstack/venvs/nova-31.0.0/bin/{name}")],
                );
                if *job {
                    u.service_type = Some("oneshot".into());
                }
                u
            })
            .collect(),
        ..Probe::default()
    };
    let mut units = nova.units.clone();
    units.push(crate::catalog::Unit {
        name: "nova-purge-deleted".into(),
        groups: vec!["nova_conductor".into()],
        runs: crate::catalog::Runs::Console,
        haproxy: None,
        port: None,
    });
    units.retain(|u| {
        u.groups.iter().any(|g| {
            g.starts_with("nova_api")
                || g == "nova_conductor"
                || g == "nova_scheduler"
                || g == "nova_console"
        })
    });
    let (swap, skipped) =
        crate::survey::swappable("aio1-nova-api-container-0f0f0f0f", units, &probe, false).unwrap();
    s.units = swap;
    s.skipped = skipped;
    s.probe = probe;
    s.service = nova;
    s.host_groups = Some(vec!["nova_api_os_compute".into(), "nova_conductor".into()]);
    s.venv = "/openstack/venvs/nova-31.0.0".into();
    s.servers = Vec::new();
    s.production_migrations = None;
    s.project = "openstack/nova".into();
    golden("nova-api", &run_text(&s, &choice()));

    s.host_groups = Some(vec!["nova_compute".into()]);
    let text = run_text(&s, &choice());
    assert!(
        text.contains("skipped: OSA runs it on hosts of nova_conductor"),
        "{text}"
    );
}

/// `--service` names units that must be there; without it, a target without any of the
/// service's units is refused, naming what was looked for.
#[test]
fn named_units_must_exist_and_some_unit_must() {
    let nova = service("nova");
    let empty = Probe::default();
    let err = crate::survey::swappable("c1", nova.units.clone(), &empty, false).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .contains("runs none of the service's units (looked for nova-api-os-compute"),
        "{err}"
    );
    let one = nova
        .units
        .iter()
        .filter(|u| u.name == "nova-novncproxy")
        .cloned()
        .collect();
    let err = crate::survey::swappable("c1", one, &empty, true).unwrap_err();
    assert!(
        err.to_string().contains("c1 has no unit nova-novncproxy"),
        "{err}"
    );
}
