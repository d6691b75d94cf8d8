//! Plans run by the executor against a fake transport (`transport/fake.rs`): what a run,
//! a sync and a restore send to the container and to HAProxy, in order, compared with
//! `tests/plans/executed.sent`. No lab: the fake answers every command with success and
//! keeps a HAProxy of its own; only the dev process runs a while, so that the run pins
//! traffic once its server passes a health check.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use crate::cycle::tests::SOCKET;
use crate::cycle::{self, Choice};
use crate::execute::Runner;
use crate::haproxy::Haproxy;
use crate::layout::Paths;
use crate::lxc::Lxc;
use crate::session::Session;
use crate::survey::Survey;
use crate::transport::fake::{Fake, Sent};
use crate::transport::shell_words;
use crate::ui::Ui;

/// The fixture `s`, its target reached through `fake`, its checkout's files on disk
/// under `root` (the sync's tar stream reads them).
fn through(fake: &Arc<Fake>, mut s: Survey, root: &Path) -> Survey {
    s.target = Lxc {
        path: Some("/var/lib/lxc".into()),
        via: fake.clone(),
    }
    .target(&s.host.container_name, false);
    for f in s.checkout.tree.files.keys() {
        let path = root.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("# {f}\n")).unwrap();
    }
    s.checkout.root = root.to_path_buf();
    s
}

/// A fake transport whose HAProxy has the servers of the fixture `s`, as they are.
fn fake_haproxy(s: &Survey) -> Arc<Fake> {
    let servers: Vec<(&str, &str, &str, &str)> = s
        .servers
        .iter()
        .map(|s| {
            let addr = s.addr.as_deref().unwrap_or_default();
            (s.backend.as_str(), s.name.as_str(), addr, s.status.as_str())
        })
        .collect();
    Arc::new(Fake::with_servers(&servers))
}

/// What was sent, one line each: the command in the container (without the
/// `lxc-attach` that takes it there, which the transport's own tests pin), or the
/// HAProxy command; the polls of `show stat` left out.
fn render(sent: &[Sent], container: &str) -> String {
    let mut out = String::new();
    for s in sent {
        match s {
            Sent::Command(argv) => {
                assert_eq!(
                    argv[..5],
                    ["lxc-attach", "-P", "/var/lib/lxc", "-n", container]
                );
                let inside = argv.iter().position(|a| a == "--").map_or(0, |i| i + 1);
                // A script is named by its `$0`, the word after it.
                let words: Vec<&str> = argv[inside..]
                    .iter()
                    .map(|a| if a.contains('\n') { "<script>" } else { a })
                    .collect();
                let _ = writeln!(out, "{}", shell_words(&words));
            }
            Sent::Haproxy(line) if line == "show stat" => {}
            Sent::Haproxy(line) => {
                let _ = writeln!(out, "HAProxy: {line}");
            }
        }
    }
    out
}

#[test]
fn a_run_then_a_detached_run_a_sync_and_a_restore_send_these_commands_in_order() {
    let root = tempfile::tempdir().unwrap();
    let base = super::keystone();
    let fake = fake_haproxy(&base);
    // The dev process serves for a while: the run pins traffic once its server is UP.
    fake.answer(
        "--unit=git-osa-dev-keystone-wsgi-public.scope",
        "cat >/dev/null; sleep 1",
    );
    let ui = Ui::plain();
    let haproxy = Haproxy::new(Path::new(SOCKET), fake.clone());
    let paths = Paths::new("keystone");
    let s = through(&fake, base, root.path());
    let container = s.target.name.clone();
    let mut out = String::new();

    let plan = cycle::plan_run(&s, &super::choice()).unwrap();
    let session = Session::new("keystone", &s.project, &container, "dev@aio1 (pid 4242)");
    let mut runner = Runner::new(&ui, &haproxy, paths.clone(), session);
    let outcome = runner.execute(&plan).unwrap().unwrap();
    assert_eq!(outcome.code, 0);
    out += "== git osa (the dev process ends after a second)\n";
    out += &render(&fake.sent(), &container);

    let mark = fake.sent().len();
    let detach = Choice {
        detach: true,
        ..super::choice()
    };
    let mut again = super::second_run(&s);
    again.session = Some(runner.session().clone());
    let plan = cycle::plan_run(&again, &detach).unwrap();
    let mut runner = Runner::new(&ui, &haproxy, paths.clone(), runner.session().clone());
    assert!(runner.execute(&plan).unwrap().is_none(), "detached");
    out += "== git osa run --detach\n";
    out += &render(&fake.sent()[mark..], &container);

    let mark = fake.sent().len();
    let mut edited = super::detached(super::second_run(&s));
    edited.session = Some(runner.session().clone());
    // HAProxy as the detached run left it: the other server in maintenance.
    for sv in &mut edited.servers {
        if sv.name != edited.host.inventory_name {
            sv.status = "MAINT".into();
        }
    }
    edited.manifest = s.checkout.tree.files.clone();
    edited
        .checkout
        .tree
        .files
        .get_mut("keystone/api.py")
        .unwrap()
        .mtime_ns += 1;
    let plan = cycle::plan_sync(&edited, &super::choice()).unwrap();
    let mut runner = Runner::new(&ui, &haproxy, paths.clone(), runner.session().clone());
    runner.execute(&plan).unwrap();
    out += "== git osa sync (a one-line edit)\n";
    out += &render(&fake.sent()[mark..], &container);

    let mark = fake.sent().len();
    Runner::new(&ui, &haproxy, paths.clone(), runner.session().clone())
        .restore(&s.target, &s.host, &s.units, false)
        .unwrap();
    out += "== git osa restore\n";
    out += &render(&fake.sent()[mark..], &container);
    super::golden("executed.sent", &out);
}

/// A second patchset's db sync finds the database at a revision it lacks (the first
/// patchset's migration, which the second dropped): said, with the snapshot's way out;
/// without a terminal to say yes, nothing runs after the db sync.
#[test]
fn a_db_sync_that_finds_the_database_ahead_says_so_and_offers_the_snapshot() {
    let root = tempfile::tempdir().unwrap();
    let base = super::heat();
    let fake = fake_haproxy(&base);
    fake.answer(
        "git-osa-dbsync",
        "cat >/dev/null; echo \"FAILED: Can't locate revision identified by 'c6214ca60943'\" >&2; exit 255",
    );
    // The container runs: the failure is the db sync's own.
    fake.answer("lxc-info", "echo RUNNING");
    let ui = Ui::plain();
    let haproxy = Haproxy::new(Path::new(SOCKET), fake.clone());
    let paths = Paths::new("heat");
    let s = through(&fake, base, root.path());
    let c = Choice {
        db_snapshot: true,
        ..super::choice()
    };
    let first = cycle::plan_run(&s, &c).unwrap();
    let mut session = super::after(&first.steps, None, first.steps.len() - 1, false);
    session.service = "heat".into();
    assert!(session.db_notes && session.db_snapshot.is_some());
    let mut again = super::second_run(&s);
    session.migrations_hash = Some("patchset 2's migrations".into());
    again.session = Some(session.clone());
    let plan = cycle::plan_run(&again, &c).unwrap();
    let mut runner = Runner::new(&ui, &haproxy, paths, session);
    let e = runner.execute(&plan).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the database of {} is at revision c6214ca60943, which this checkout does not have: a migration of code synced before in this session (another patchset or branch) upgraded it",
            s.target.name
        )
    );
    assert!(
        e.hints()[0].starts_with(
            "`git osa restore` undoes the session's migrations with the snapshot of heat on "
        ),
        "{:?}",
        e.hints()
    );
    let sent = format!("{:?}", fake.sent());
    assert!(sent.contains("git-osa-dbsync"), "the db sync ran:\n{sent}");
    assert!(
        !sent.contains("git-osa-dev-heat"),
        "nothing ran after the db sync:\n{sent}"
    );
}
