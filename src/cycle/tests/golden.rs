//! Golden plans: run, sync and restore plans built from the fixture surveys, compared with
//! the expected text in `tests/plans/`. A step removed, added or reordered changes a
//! plan's text and fails its test.

use std::fmt::Write as _;
use std::path::Path;

use crate::cycle::Now;
use crate::cycle::{self, Choice};
use crate::exec::Exec;
use crate::inventory::Host;
use crate::layout::Paths;
use crate::lxc::Lxc;
use crate::plan::{self, Action};
use crate::probe::Probe;
use crate::systemd::UnitInfo;

use super::*;

#[test]
fn first_run() {
    golden("first-run", &run_text(&keystone(), &choice()));
}

/// Where pip may write into installed files in place (before 25.3: `setup.py develop`
/// rewrites `easy-install.pth`), or the venv has an `easy-install.pth` pip would rewrite,
/// the production venv is copied whole, and the plan says why; elsewhere it is linked.
#[test]
fn the_venv_is_copied_whole_where_pip_may_write_in_place() {
    let keep = |s: &Survey| {
        let plan = cycle::plan_run(s, &choice()).unwrap();
        let step = plan.steps.into_iter().next().unwrap();
        let Action::Exec(e) = &step.action else {
            panic!("{}", step.title)
        };
        (step.title.clone(), e.argv.join(" "))
    };
    let (title, argv) = keep(&keystone());
    assert!(
        title.contains("as a snapshot of hard links (pip 26.3"),
        "{title}"
    );
    assert!(argv.contains("cp -al"), "{argv}");
    let mut old = keystone();
    old.venv_pip = Some("24.0".into());
    let (title, argv) = keep(&old);
    assert_eq!(
        title,
        "keep an exact copy of the production venv /openstack/venvs/keystone-30.0.0 (a full copy: pip 24.0 in the venv may install with setuptools' `setup.py develop`, which writes into files in place)"
    );
    assert!(
        argv.contains("cp -a \"$1\"") && !argv.contains("cp -al"),
        "{argv}"
    );
    let mut eggs = keystone();
    eggs.easy_install_pth = true;
    let (title, argv) = keep(&eggs);
    assert!(title.contains("easy-install.pth"), "{title}");
    assert!(!argv.contains("cp -al"), "{argv}");
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
                stdin: Some(crate::exec::Input::Sync(p)),
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

/// `--restore-on-exit`: the same cycle, then production put back once the dev process
/// stops; detached, no git-osa process stays to do it.
#[test]
fn restore_on_exit() {
    let c = Choice {
        restore_on_exit: true,
        ..choice()
    };
    golden("restore-on-exit", &run_text(&keystone(), &c));
    let detached = Choice { detach: true, ..c };
    let plan = cycle::plan_run(&keystone(), &detached).unwrap();
    assert!(plan.then_restore.is_none());
    assert!(!plan.text(Path::new(SOCKET)).contains("restore production"));
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

/// `run --detach --hot-patch`: the agent is written beside the preload and given to the
/// uWSGI master, with threads; the session notes it before the units start.
#[test]
fn a_hot_patching_detached_run() {
    let c = Choice {
        detach: true,
        hot_patch: true,
        ..choice()
    };
    let plan = cycle::plan_run(&keystone(), &c).unwrap();
    let text = plan.text(Path::new(SOCKET));
    golden("detached-hot-patch", &text);
    let last = plan.steps.last().unwrap();
    assert!(
        last.before
            .contains(&crate::session::Record::HotPatch(true)),
        "{:?}",
        last.before
    );
    let plain = Choice {
        detach: true,
        ..choice()
    };
    let fresh = cycle::plan_run(&keystone(), &plain).unwrap();
    assert!(!fresh.text(Path::new(SOCKET)).contains("hot-patch"));
    assert!(
        !fresh
            .steps
            .last()
            .unwrap()
            .before
            .iter()
            .any(|r| matches!(r, crate::session::Record::HotPatch(_))),
        "nothing to note in a session without it"
    );
    let mut had = second_run(&keystone());
    had.session.as_mut().unwrap().hot_patch = true;
    let again = cycle::plan_run(&had, &plain).unwrap();
    assert!(
        again
            .steps
            .last()
            .unwrap()
            .before
            .contains(&crate::session::Record::HotPatch(false)),
        "a detached run without it says so, in a session that had it"
    );
}

/// In a hot-patching session, a sync of edited Python files asks the workers to patch
/// them; anything else (a new file, a deleted one, another kind of file, an install)
/// reloads, and the step says why.
#[test]
fn a_hot_patching_sync_patches_python_edits_and_reloads_for_anything_else() {
    let hot = |s: Survey| {
        let mut s = detached(s);
        s.session.as_mut().unwrap().hot_patch = true;
        s
    };
    let mut s = second_run(&keystone());
    s.checkout
        .tree
        .files
        .get_mut("keystone/api.py")
        .unwrap()
        .mtime_ns += 1;
    let plan = cycle::plan_sync(&hot(s.clone()), &choice()).unwrap();
    let text = plan::print(&plan.steps, Path::new(SOCKET));
    golden("sync-hot-patch", &text);
    let Action::Restart { hot: Some(h), .. } = &plan.steps.last().unwrap().action else {
        panic!("a hot patch:\n{text}")
    };
    assert_eq!(h.files, ["/var/lib/git-osa/keystone/src/keystone/api.py"]);
    assert_eq!(h.dir, "/var/lib/git-osa/keystone/hot");

    let why = |s: Survey| {
        let plan = cycle::plan_sync(&hot(s), &choice()).unwrap();
        let last = plan.steps.last().unwrap();
        assert!(
            matches!(last.action, Action::Restart { hot: None, .. }),
            "{}",
            last.title
        );
        last.title.clone()
    };
    let mut new = s.clone();
    new.checkout.tree.files.insert(
        "keystone/brand_new.py".into(),
        new.checkout.tree.files["keystone/api.py"],
    );
    assert_eq!(
        why(new),
        "reload keystone-wsgi-public's uWSGI workers on the new code (not hot-patched: keystone/brand_new.py is new)"
    );
    let mut gone = s.clone();
    gone.checkout.tree.files.remove("keystone/api.py");
    assert!(why(gone).ends_with("(not hot-patched: keystone/api.py was deleted)"));
    let mut other = second_run(&keystone());
    let name = "etc/keystone.conf.sample";
    let meta = other.checkout.tree.files["keystone/api.py"];
    other.manifest.insert(name.into(), meta);
    let mut edited = meta;
    edited.mtime_ns += 1;
    other.checkout.tree.files.insert(name.into(), edited);
    assert!(why(other).ends_with(&format!("(not hot-patched: {name} is not Python source)")));
    // A link, or a file that was one: the agent takes where a file leads once per worker.
    for (now_link, was_link) in [(true, false), (false, true), (true, true)] {
        let mut linked = s.clone();
        let as_link = |m: &mut crate::sync::Meta| m.mode = 0o120777;
        if now_link {
            as_link(
                linked
                    .checkout
                    .tree
                    .files
                    .get_mut("keystone/api.py")
                    .unwrap(),
            );
        }
        if was_link {
            as_link(linked.manifest.get_mut("keystone/api.py").unwrap());
        }
        assert!(
            why(linked).ends_with("(not hot-patched: keystone/api.py is a symbolic link)"),
            "now {now_link}, before {was_link}"
        );
    }
    // Without the agent, the same edit reloads, and says nothing of hot patching.
    let plain = cycle::plan_sync(&detached(s), &choice()).unwrap();
    assert_eq!(
        plain.steps.last().unwrap().title,
        "reload keystone-wsgi-public's uWSGI workers on the new code"
    );
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
    let restore = cycle::plan_restore(
        &s.target,
        &s.host,
        &s.units,
        &Paths::new("heat"),
        &session,
        &now,
        false,
    );
    assert!(cycle::refusal(&s.target, &session, &now, false).is_none());
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
    assert!(cycle::refusal(&s.target, &session, &now, false).is_some());
    assert!(cycle::refusal(&s.target, &session, &now, true).is_none());
    // A snapshot without notes (an older git-osa's) can only be loaded back whole: asked.
    let mut legacy = session.clone();
    legacy.db_notes = false;
    now.db_undo = None;
    assert!(cycle::refusal(&s.target, &legacy, &now, false).is_some());
    let whole = cycle::plan_restore(
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
    // Another patchset's migrations: its db sync may find the database at a revision it
    // lacks, and offers to undo the session's migrations with the snapshot first.
    let mut other = again.clone();
    if let Some(s) = other.session.as_mut() {
        s.migrations_hash = Some("patchset 2's migrations".into());
    }
    let text = run_text(&other, &c);
    assert!(
        text.contains("    if the database is at a revision this checkout lacks: say so and offer to undo the session's migrations with the snapshot of heat on 172.29.236.101, then db sync again (a prompt on a terminal)\n"),
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
        session.started_at = crate::clock::now().saturating_sub(125);
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
        let plan = cycle::plan_restore(&s.target, &s.host, &s.units, &paths, &session, &now, false);
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
    // The run drained its server before it was killed.
    for sv in &mut s.servers {
        if sv.name == first.host.inventory_name {
            sv.status = "DRAIN".into();
        }
    }
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

/// Restore puts production back as the session found it: a unit that did not run stays
/// stopped, a server that was DOWN (heat-api-cfn broken before the session) is not waited
/// for, and a server an operator had in maintenance stays there.
#[test]
fn restore_puts_production_back_as_it_was() {
    let mut s = heat();
    s.probe.units[2].active_state = "failed".into();
    let status = |backend: &str, name: &str, status: &str, s: &mut Survey| {
        let sv = s
            .servers
            .iter_mut()
            .find(|sv| sv.backend == backend && sv.name.ends_with(name))
            .unwrap();
        sv.status = status.into();
    };
    status("heat_api_cfn-back", "1b2c3d4e", "DOWN", &mut s);
    status("heat_api-back", "5f6a7b8c", "MAINT", &mut s);
    let before = cycle::before(&s);
    assert!(!before.was_active("heat-engine") && before.was_active("heat-api"));
    let steps = cycle::plan_run(&s, &choice()).unwrap().steps;
    let mut session = after(&steps, None, steps.len() - 1, false);
    session.service = "heat".into();
    session.before = Some(before);
    // The run pinned what it could; the operator's maintenance was never the session's.
    assert!(
        !session
            .disabled_servers
            .iter()
            .any(|d| d.server.ends_with("5f6a7b8c") && d.backend == "heat_api-back")
    );
    let now = Now {
        running: Vec::new(),
        stopping: Vec::new(),
        db_sync: None,
        servers: s.servers.clone(),
        db_undo: None,
    };
    let restore = cycle::plan_restore(
        &s.target,
        &s.host,
        &s.units,
        &Paths::new("heat"),
        &session,
        &now,
        false,
    );
    golden(
        "restore-as-it-was",
        &plan::print(&restore, Path::new(SOCKET)),
    );
    // A deployment without heat-api-cfn: its unit is left alone, its server (DOWN, in
    // the config still) was DOWN before and is not waited for either.
    let mut no_cfn = heat();
    no_cfn.units.retain(|u| u.name != "heat-api-cfn");
    status("heat_api_cfn-back", "1b2c3d4e", "DOWN", &mut no_cfn);
    let mut session = session.clone();
    session.before = Some(cycle::before(&no_cfn));
    session.disabled_servers.clear();
    let restore = cycle::plan_restore(
        &no_cfn.target,
        &no_cfn.host,
        &no_cfn.service.units,
        &Paths::new("heat"),
        &session,
        &now,
        false,
    );
    let wait = restore
        .iter()
        .find(|st| st.title == "wait until production is healthy")
        .unwrap();
    let text = wait.describe(Path::new(SOCKET)).join("\n");
    assert!(!text.contains("heat_api_cfn-back"), "{text}");
}

/// A sync in a detached session after HAProxy restarted (it forgot the pins: both
/// servers take traffic) and the container restarted (its enabled production unit
/// started at boot, the transient dev service is gone): the unit is stopped and the pins
/// put back before anything else, then the dev unit starts again.
#[test]
fn a_sync_puts_back_what_a_restart_of_haproxy_or_of_the_container_undid() {
    let mut s = second_run(&keystone());
    let session = s.session.as_mut().unwrap();
    session.detached_at = Some(1);
    let other = "aio1_keystone_container-6c0f3a1e";
    session.disabled_servers.push(crate::haproxy::ServerRef {
        backend: "keystone_service-back".into(),
        server: other.into(),
    });
    for sv in &mut s.servers {
        sv.status = "UP".into();
    }
    s.probe.units[0].active_state = "active".into();
    let plan = cycle::plan_sync(&s, &choice()).unwrap();
    let text = plan::print(&plan.steps, Path::new(SOCKET));
    golden("sync-after-restarts", &text);
    assert!(
        text.starts_with(
            " 1. stop production keystone-wsgi-public: it started again with the container"
        ),
        "{text}"
    );
    // Nothing lost, nothing started: no repair.
    let quiet = detached(second_run(&keystone()));
    let plan = cycle::plan_sync(&quiet, &choice()).unwrap();
    assert!(!plan::print(&plan.steps, Path::new(SOCKET)).contains("out of rotation again"));
}

/// `--debug`: keystone's uWSGI runs one worker with the terminal as its stdin and no
/// harakiri; `--debug=pudb` installs pudb for the session and makes it breakpoint()'s.
#[test]
fn debugged_at_the_terminal() {
    let c = Choice {
        debug: Some(cycle::Debug::Pdb),
        ..choice()
    };
    let text = run_text(&keystone(), &c);
    assert!(
        text.contains("--ini /etc/uwsgi/keystone-wsgi-public.ini --worker-reload-mercy 5 --import /var/lib/git-osa/keystone/uwsgi-app-load.py --processes 1 --threads 1 --harakiri 0 --lazy-apps --enable-threads --honour-stdin"),
        "{text}"
    );
    assert!(!text.contains("install pudb"), "pdb needs nothing: {text}");
    golden("debug-pdb", &text);
    let pudb = Choice {
        debug: Some(cycle::Debug::Pudb),
        ..choice()
    };
    let text = run_text(&keystone(), &pudb);
    assert!(
        text.contains("install pudb into the venv for the session"),
        "{text}"
    );
    assert!(
        text.contains(
            "env -C / PYTHONUNBUFFERED=1 PYTHONBREAKPOINT=pudb.set_trace /openstack/venvs/uwsgi"
        ),
        "{text}"
    );
    // heat-engine alone: the terminal is its already; breakpoint() opens pdb on it as
    // /dev/tty (a worker reads end-of-file from its stdin).
    let mut engine = heat();
    engine.units.retain(|u| u.name == "heat-engine");
    let text = run_text(&engine, &c);
    assert!(!text.contains("--honour-stdin"), "{text}");
    assert!(
        text.contains("to be debugged with pdb at this terminal"),
        "{text}"
    );
    assert!(
        text.contains("write /var/lib/git-osa/heat/git_osa_pdb.py, which opens pdb on the unit's terminal at breakpoint()")
            && text.contains("env -C / PYTHONUNBUFFERED=1 PYTHONPATH=/var/lib/git-osa/heat PYTHONBREAKPOINT=git_osa_pdb.set_trace /openstack/venvs/heat-27.0.1/bin/heat-engine"),
        "{text}"
    );
    // heat's three units: one terminal, so one unit.
    let err = cycle::plan_run(&heat(), &c).unwrap_err();
    assert!(
        err.to_string().starts_with("--debug gives the terminal to one unit, and this run has 3: heat-api, heat-api-cfn, heat-engine"),
        "{err}"
    );
}

/// `--debugpy`: debugpy installed for the session, a uWSGI worker listening through an
/// imported file, a console script under `python -m debugpy`.
#[test]
fn debugged_with_debugpy() {
    let c = Choice {
        debug: Some(cycle::Debug::Debugpy { port: 5679 }),
        ..choice()
    };
    let text = run_text(&keystone(), &c);
    golden("debugpy", &text);
    assert!(
        text.contains("--import /var/lib/git-osa/keystone/debugpy-listen.py"),
        "{text}"
    );
    let text = run_text(&heat(), &c);
    assert!(
        text.contains("/openstack/venvs/heat-27.0.1/bin/python -m debugpy --listen 127.0.0.1:5679 /openstack/venvs/heat-27.0.1/bin/heat-engine"),
        "{text}"
    );
}
