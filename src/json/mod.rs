//! What `--json` prints: serialisable views of the values the text answers are made from
//! (`status::TargetStatus`, `cycle::RunPlan`, `plan::Step`, `settings::Settings`), so the
//! JSON and the text cannot disagree and nothing is read twice.
//!
//! Every document is an object with `"version"` ([`VERSION`]) and `"kind"` (`status`,
//! `run-plan`, `restore-plan`, `config`, `doctor`, `hooks-status`, `conf-diff`);
//! `doc/git-osa-json.schema.json` (JSON Schema draft 2020-12) describes them all, and the
//! tests below check real output against it, made strict (`tests/schema`).
//!
//! Within a version, additions are compatible: a field added to any object (the published
//! schema allows fields it does not describe, and readers ignore them), an entry added to
//! a list. A field removed or renamed, a type or a meaning changed, or a value outside an
//! enum of the schema takes a new version.
//!
//! One file per kind of document: `status.rs`, `plan.rs` (run and restore plans),
//! `config.rs`, `doctor.rs`, `hooks.rs`.

use std::path::Path;

use serde::Serialize;

use crate::error::Result;

mod conf;
mod config;
mod doctor;
mod hooks;
mod plan;
mod status;

pub use conf::*;
pub use config::*;
pub use doctor::*;
pub use hooks::*;
pub use plan::*;
pub use status::*;

/// The version of every document's shape; see the module docs for when it changes.
pub const VERSION: u32 = 1;

/// A body printed as a document of its kind.
pub trait Document: Serialize {
    const KIND: &'static str;
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    version: u32,
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

/// The document as text, pretty-printed, with a final newline.
pub fn render<T: Document>(body: &T) -> String {
    let doc = Envelope {
        version: VERSION,
        kind: T::KIND,
        body,
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("views serialise to JSON");
    text.push('\n');
    text
}

/// Prints the document on stdout, the answer of the command.
pub fn print<T: Document>(body: &T) -> Result<()> {
    crate::output::print(render(body))
}

pub(crate) fn display(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
#[path = "../../tests/schema/mod.rs"]
mod test_schema;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::Value;

    use super::test_schema;
    use super::*;
    use crate::context::Placement;
    use crate::context::Source;
    use crate::cycle;
    use crate::cycle::Choice;
    use crate::cycle::Now;
    use crate::cycle::tests as golden;
    use crate::inventory::Host;
    use crate::layout::{self, Paths};
    use crate::lxc::{Lxc, LxcState};
    use crate::status::{self, TargetStatus};
    use crate::survey::Survey;
    use crate::systemd::UnitInfo;

    const SOCKET: &str = "/var/run/haproxy.stat";

    /// The document, parsed, after checking it against the committed schema, made strict.
    fn valid(doc: &str) -> Value {
        let instance: Value = serde_json::from_str(doc).unwrap();
        let errors = test_schema::errors(&test_schema::strict(), &instance);
        assert!(
            errors.is_empty(),
            "{doc}\ndoes not match doc/git-osa-json.schema.json:\n{}",
            errors.join("\n")
        );
        instance
    }

    fn run_plan(s: &Survey, choice: &Choice) -> Value {
        let plan = cycle::plan_run(s, choice).unwrap();
        let doc = valid(&render(&RunPlan::new(s, &plan, Path::new(SOCKET))));
        assert_eq!(doc["steps"].as_array().unwrap().len(), plan.steps.len());
        doc
    }

    fn step<'a>(doc: &'a Value, title_starts: &str) -> &'a Value {
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["title"].as_str().unwrap().starts_with(title_starts))
            .unwrap_or_else(|| panic!("no step {title_starts:?} in {doc:#}"))
    }

    #[test]
    fn the_schema_is_a_draft_2020_12_schema() {
        jsonschema::meta::validate(&test_schema::published()).unwrap();
        jsonschema::meta::validate(&test_schema::strict()).unwrap();
    }

    #[test]
    fn a_first_run_plan_names_each_command_where_and_as_whom() {
        let doc = run_plan(&golden::keystone(), &golden::choice());
        assert_eq!(
            (&doc["version"], &doc["kind"]),
            (&1.into(), &"run-plan".into())
        );
        assert_eq!(doc["where"]["kind"], "container");
        assert_eq!(doc["where"]["name"], "aio1-keystone-container-b7d24e95");
        let db = step(&doc, "db sync");
        assert_eq!(db["action"], "command");
        assert_eq!(db["commands"][0]["as"], "keystone");
        assert_eq!(db["commands"][0]["to_the_end"], true);
        let argv: Vec<&str> = db["commands"][0]["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            argv[argv.len() - 6..],
            [
                "runuser",
                "-u",
                "keystone",
                "--",
                "/openstack/venvs/keystone-30.0.0/bin/keystone-manage",
                "db_sync"
            ]
        );
        assert!(db["warning"].as_str().unwrap().contains("does not undo"));
        let install = step(&doc, "install");
        assert_eq!(install["on_missing"]["kind"], "offer");
        assert_eq!(install["on_missing"]["index"], "https://pypi.org/simple");
        assert_eq!(step(&doc, "keep")["background"], true);
        assert_eq!(step(&doc, "sync")["commands"][0]["stdin"]["kind"], "sync");
        let drain = step(&doc, "drain");
        assert_eq!(
            drain["haproxy"]["command"],
            "set server keystone_service-back/aio1-keystone-container-b7d24e95 state drain"
        );
        let run = step(&doc, "run in the foreground");
        assert_eq!(run["action"], "foreground");
        assert_eq!(run["commands"][0]["unit"], "keystone-wsgi-public");
        assert_eq!(
            run["pins"][0]["others"][0],
            "aio1_keystone_container-6c0f3a1e"
        );
    }

    #[test]
    fn plans_of_every_golden_case_match_the_schema() {
        let keystone = golden::keystone();
        let second = golden::second_run(&keystone);
        let doc = run_plan(&second, &golden::choice());
        assert_eq!(
            step(&doc, "keep")["skip"],
            "kept at /openstack/venvs/.git-osa-prod-keystone-30.0.0 when this session began"
        );
        run_plan(&golden::heat(), &golden::choice());
        // --db-snapshot: taken before the db sync, then skipped on the session's next run
        let snapshot = Choice {
            db_snapshot: true,
            ..golden::choice()
        };
        let doc = run_plan(&golden::heat(), &snapshot);
        assert_eq!(step(&doc, "snapshot the database")["action"], "command");
        // The password on stdin is named, not measured.
        assert_eq!(
            step(&doc, "snapshot the database")["commands"][0]["stdin"],
            serde_json::json!({"kind": "secret", "what": "the service's database password"})
        );
        let doc = run_plan(&golden::second_run(&golden::heat()), &snapshot);
        assert!(step(&doc, "snapshot the database")["skip"].is_string());
        let doc = run_plan(&second, &snapshot);
        assert!(step(&doc, "snapshot the database")["skip"].is_string());
        let allowed = Choice {
            allow_public_index: Some("http://172.29.236.1:8182/simple/".into()),
            ..golden::choice()
        };
        let doc = run_plan(&keystone, &allowed);
        assert_eq!(step(&doc, "install")["on_missing"]["kind"], "allowed");
        assert!(step(&doc, "install")["on_missing"]["retry"].is_null());

        // `run --detach --dry-run --json`: the dev units start as services, the uWSGI one
        // with the master FIFO a sync reloads its workers through.
        let detached = Choice {
            detach: true,
            ..golden::choice()
        };
        let doc = run_plan(&keystone, &detached);
        let start = step(&doc, "start the dev units detached");
        assert_eq!(start["action"], "detach");
        assert_eq!(
            start["commands"][0]["scope"],
            "git-osa-dev-keystone-wsgi-public.service"
        );
        let argv: Vec<&str> = start["commands"][0]["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(
            argv.windows(2).any(|w| w
                == [
                    "--master-fifo",
                    "/run/git-osa-dev-keystone-wsgi-public/master.fifo"
                ]),
            "{argv:?}"
        );

        let mut metal = keystone.clone();
        metal.target = Lxc::default().target("aio1", true);
        let doc = run_plan(&metal, &golden::choice());
        assert_eq!(doc["where"]["kind"], "host");
        assert_eq!(step(&doc, "stop")["where"]["kind"], "host");

        // A rerun finding a db sync a killed git-osa left running waits for it.
        let mut rerun = second.clone();
        rerun.probe.units.push(UnitInfo {
            id: "git-osa-dbsync-keystone.scope".into(),
            active_state: "active".into(),
            ..UnitInfo::default()
        });
        let doc = run_plan(&rerun, &golden::choice());
        let wait = step(&doc, "wait for the db sync");
        assert_eq!(wait["action"], "await-scope");
        assert_eq!(
            wait["await_scope"]["scope"],
            "git-osa-dbsync-keystone.scope"
        );
    }

    #[test]
    fn restore_plans_match_the_schema() {
        let s = golden::keystone();
        let steps = cycle::plan_run(&s, &golden::choice()).unwrap().steps;
        let session = golden::after(&steps, None, steps.len() - 1, false);
        let now = Now {
            running: vec![layout::dev_scope("keystone-wsgi-public")],
            stopping: Vec::new(),
            db_sync: None,
            servers: s.servers.clone(),
            db_undo: None,
        };
        let paths = Paths::new("keystone");
        let plan = cycle::plan_restore(&s.target, &s.host, &s.units, &paths, &session, &now, false);
        let doc = valid(&render(&RestorePlan {
            targets: vec![RestoreTarget::new(
                &s.target,
                "keystone",
                &plan,
                Path::new(SOCKET),
            )],
        }));
        let target = &doc["targets"][0];
        assert_eq!(target["service"], "keystone");
        let wait = step(target, "wait until production is healthy");
        assert_eq!(wait["action"], "wait-healthy");
        assert_eq!(wait["wait"]["units"][0], "keystone-wsgi-public.service");
        valid(&render(&RestorePlan {
            targets: Vec::new(),
        }));
    }

    fn target_status(s: &Survey, lxc: LxcState) -> TargetStatus {
        TargetStatus {
            conf: None,
            machine: None,
            reach: crate::site::Reach::Here,
            service: s.service.name.clone(),
            placement: Placement {
                host: s.host.clone(),
                units: s.units.clone(),
                groups: s.host_groups.clone(),
            },
            probe: (lxc == LxcState::Running).then(|| s.probe.clone()),
            lxc,
            session: s.session.clone(),
            damaged: None,
            from_rootfs: false,
            lost_pins: Vec::new(),
            unattended: Vec::new(),
            servers: s.servers.clone(),
            review_latest: None,
            db_snapshot_size: None,
        }
    }

    /// The status document of keystone's `statuses`.
    fn keystone_status(statuses: &[TargetStatus], problems: Vec<String>) -> Status {
        Status {
            project: "openstack/keystone".into(),
            service: "keystone".into(),
            checkout: "/home/dev/src/keystone".into(),
            // A background `git osa watch` of the checkout.
            watching: Some(Watching {
                pid: 4242,
                since: 1_700_000_000,
                background: true,
            }),
            // An earlier one, killed.
            watcher_died: Some(DeadWatcher {
                pid: 4241,
                since: 1_699_990_000,
                last_seen: 1_699_999_000,
            }),
            inventory: Inventory::new(
                &Source::ContainerNames,
                Path::new("/etc/openstack_deploy/openstack_inventory.json"),
            ),
            haproxy: Haproxy {
                socket: SOCKET.into(),
                error: None,
            },
            containers: statuses.iter().map(Container::new).collect(),
            problems,
        }
    }

    #[test]
    fn a_review_session_in_status_matches_the_schema() {
        let s = golden::second_run(&golden::keystone());
        let mut st = target_status(&s, LxcState::Running);
        let session = st.session.as_mut().unwrap();
        session.review = Some(crate::session::Review {
            change: 12345,
            patchset: 2,
            subject: "Say which patchset answers".into(),
            owner: "Rev Iewer <rev@example.invalid>".into(),
            server: "gerrit".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            depends_on: vec![crate::session::Dependency {
                project: "openstack/oslo.db".into(),
                change: 4242,
                patchset: 1,
                subject: "Add the thing".into(),
            }],
        });
        session.with.push(crate::session::WithLibrary {
            package: "oslo.db".into(),
            checkout: "/home/dev/src/oslo.db".into(),
            commit: None,
            dirty: true,
            install_hash: "00ff".into(),
        });
        st.review_latest = Some(Ok(3));
        let doc = valid(&render(&keystone_status(&[st], Vec::new())));
        let review = &doc["containers"][0]["session"]["review"];
        assert_eq!(review["change"], 12345);
        assert_eq!(review["patchset"], 2);
        assert_eq!(review["latest_patchset"], 3);
        assert_eq!(review["depends_on"][0]["project"], "openstack/oslo.db");
        assert_eq!(
            doc["containers"][0]["session"]["with"][0]["package"],
            "oslo.db"
        );
    }

    /// A hand edit and git osa conf's value, in status and in `conf diff`.
    #[test]
    fn configuration_changes_match_the_schema() {
        use crate::devconf::{EntryChange, FileChange, How};
        let changes = vec![
            FileChange {
                path: "/etc/keystone/keystone.conf".into(),
                how: How::DropIn,
                entries: vec![EntryChange {
                    section: Some("DEFAULT".into()),
                    key: "debug".into(),
                    production: Some("False".into()),
                    now: Some("True".into()),
                    by_git_osa: true,
                }],
                lines: Vec::new(),
                meta: None,
            },
            FileChange {
                path: "/etc/keystone/sso_callback_template.html".into(),
                how: How::Changed,
                entries: Vec::new(),
                lines: vec!["- a".into(), "+ b".into()],
                meta: Some("owner 0:0 mode 0644 -> owner 0:0 mode 0600".into()),
            },
        ];
        let mut s = golden::second_run(&golden::keystone());
        if let Some(session) = s.session.as_mut() {
            session.debugger = Some(crate::session::Debugger {
                kind: "debugpy".into(),
                port: 5678,
            });
        }
        let mut st = target_status(&s, LxcState::Running);
        st.conf = Some(Ok(changes.clone()));
        let doc = valid(&render(&keystone_status(&[st], Vec::new())));
        let got = &doc["containers"][0]["session"]["conf_changes"];
        assert_eq!(got[0]["how"], "drop-in");
        assert_eq!(got[0]["entries"][0]["production"], "False");
        assert_eq!(doc["containers"][0]["session"]["debugger"]["port"], 5678);
        let diff = crate::conf::Diff {
            container: "c1".into(),
            started_at: 1_700_000_000,
            noted: true,
            changes,
        };
        let doc = valid(&render(&ConfDiff::new(&diff)));
        assert_eq!(doc["kind"], "conf-diff");
        assert_eq!(doc["files"][1]["lines"][1], "+ b");
    }

    #[test]
    fn a_session_with_a_database_snapshot_shows_it_in_status() {
        let s = golden::second_run(&golden::heat());
        let mut st = target_status(&s, LxcState::Running);
        let session = st.session.as_mut().unwrap();
        session.db_snapshot = Some(crate::db::Snapshot::Mysql {
            dump: "/var/lib/git-osa/heat/db-snapshot.sql".into(),
            password_file: "/var/lib/git-osa/heat/db-password".into(),
            user: "heat".into(),
            host: "172.29.236.101".into(),
            port: None,
            socket: None,
            database: "heat".into(),
        });
        session.db_snapshot_at = Some(crate::clock::now() - 120);
        session.db_notes = true;
        st.db_snapshot_size = Some(Ok(20_582));
        let doc = valid(&render(&keystone_status(
            std::slice::from_ref(&st),
            Vec::new(),
        )));
        let snap = &doc["containers"][0]["session"]["db_snapshot"];
        assert_eq!(snap["engine"], "mysql");
        assert_eq!(snap["database"], "heat on 172.29.236.101");
        assert_eq!(snap["dump"], "/var/lib/git-osa/heat/db-snapshot.sql");
        assert_eq!(snap["bytes"], 20_582);
        assert!(snap["size_error"].is_null());
        assert!(snap["taken_at"].is_u64());
        let mut text = String::new();
        status::render(&mut text, &st);
        assert!(
            text.contains(
                "  db       snapshot of heat on 172.29.236.101 (mysql), 20.1 KiB, taken 2 min ago, \
                 in /var/lib/git-osa/heat/db-snapshot.sql; `git osa restore` undoes the session's \
                 migrations with it, keeping the rows others write\n"
            ),
            "{text}"
        );
        // The password is in neither.
        assert!(!text.contains("db-password") && !doc.to_string().contains("db-password"));

        // The dump gone (removed by hand): said, and still valid.
        st.db_snapshot_size = Some(Err("/var/lib/git-osa/heat/db-snapshot.sql is gone".into()));
        let doc = valid(&render(&keystone_status(
            std::slice::from_ref(&st),
            Vec::new(),
        )));
        let snap = &doc["containers"][0]["session"]["db_snapshot"];
        assert!(snap["bytes"].is_null());
        assert_eq!(
            snap["size_error"],
            "/var/lib/git-osa/heat/db-snapshot.sql is gone"
        );
        // Without a snapshot, no key.
        let plain = target_status(&s, LxcState::Running);
        let doc = valid(&render(&keystone_status(&[plain], Vec::new())));
        assert!(doc["containers"][0]["session"].get("db_snapshot").is_none());
    }

    /// A foreground dev process whose git-osa was killed or lost its ssh connection keeps
    /// serving as a session of its own: status shows it, with what follows and what ends
    /// it, in text and JSON; it is not damage, so it is not a problem (exit 0).
    #[test]
    fn a_foreground_process_with_no_git_osa_attached_shows_in_status() {
        let s = golden::second_run(&golden::keystone());
        let mut st = target_status(&s, LxcState::Running);
        st.unattended = vec!["keystone-wsgi-public".into()];
        assert!(status::problems_of(&st, None).is_empty());
        let mut text = String::new();
        status::render(&mut text, &st);
        assert!(
            text.contains("with no git-osa attached")
                && text.contains("`git osa restore` ends the session"),
            "{text}"
        );
        let doc = valid(&render(&keystone_status(
            std::slice::from_ref(&st),
            Vec::new(),
        )));
        assert_eq!(
            doc["containers"][0]["unattended"][0],
            "keystone-wsgi-public"
        );
    }

    /// Regression: a dev engine killed while it stopped left a stack IN_PROGRESS, and
    /// neither status nor its JSON said so.
    #[test]
    fn a_dev_process_killed_while_it_stopped_shows_in_status() {
        let s = golden::second_run(&golden::heat());
        let mut st = target_status(&s, LxcState::Running);
        let mut journal = crate::session::Session::default();
        for why in [
            "still running after its unit's TimeoutStopSec of 2min",
            "a second Ctrl-C",
        ] {
            crate::session::record::Record::Cut(crate::session::Cut {
                unit: "heat-engine".into(),
                why: why.into(),
                at: crate::clock::now() - 180,
            })
            .apply(&mut journal);
        }
        st.session.as_mut().unwrap().cut = journal.cut;
        let doc = valid(&render(&keystone_status(
            std::slice::from_ref(&st),
            Vec::new(),
        )));
        let cut = &doc["containers"][0]["session"]["cut"];
        assert_eq!(cut.as_array().map(Vec::len), Some(1), "the last one: {cut}");
        assert_eq!(cut[0]["unit"], "heat-engine");
        assert_eq!(cut[0]["why"], "a second Ctrl-C");
        let mut text = String::new();
        status::render(&mut text, &st);
        assert!(
            text.contains(
                "  cut      heat-engine was killed (SIGKILL, a second Ctrl-C) 3 min ago: work it had under way was cut\n"
            ),
            "{text}"
        );
        let plain = target_status(&s, LxcState::Running);
        let doc = valid(&render(&keystone_status(&[plain], Vec::new())));
        assert!(doc["containers"][0]["session"].get("cut").is_none());
    }

    #[test]
    fn status_of_every_kind_of_container_matches_the_schema() {
        // In a dev session with its dev process running.
        let mut dev = golden::second_run(&golden::keystone());
        dev.probe.units.push(UnitInfo {
            id: layout::dev_scope("keystone-wsgi-public"),
            active_state: "active".into(),
            sub_state: "running".into(),
            ..UnitInfo::default()
        });
        if let Some(session) = &mut dev.session {
            session.started_at = 1_700_000_000;
        }
        // Stopped, and missing: nothing could be asked.
        let mut stopped = golden::keystone();
        stopped.host.container_name = "aio1_keystone_container-6c0f3a1e".into();
        let mut missing = stopped.clone();
        missing.host.container_name = "aio1_keystone_container-00000000".into();
        // On the host, with an editable install no session records.
        let mut metal = golden::keystone();
        metal.host = Host {
            inventory_name: "aio1".into(),
            container_name: "aio1".into(),
            physical_host: Some("aio1".into()),
            address: Some("172.29.236.100".into()),
            metal: true,
        };
        metal.probe.paths = vec![
            "/openstack/venvs/keystone-30.0.0/lib/python3.11/site-packages/__editable__.keystone-30.0.1.pth"
                .into(),
        ];
        let mut statuses = [
            target_status(&dev, LxcState::Running),
            target_status(&stopped, LxcState::Stopped),
            target_status(&missing, LxcState::Missing),
            target_status(&metal, LxcState::Running),
        ];
        // The dev session's record damaged, HAProxy restarted since it pinned.
        statuses[0].damaged = Some((
            "the git-osa session record ... is damaged".into(),
            vec!["started_at"],
        ));
        statuses[0].lost_pins = vec![crate::haproxy::ServerRef {
            backend: "keystone_service-back".into(),
            server: "aio1_keystone_container-6c0f3a1e".into(),
        }];
        let problems: Vec<String> = statuses
            .iter()
            .flat_map(|st| status::problems_of(st, None))
            .collect();
        let doc = valid(&render(&keystone_status(&statuses, problems)));
        assert_eq!(doc["kind"], "status");
        assert_eq!(doc["inventory"]["source"], "container-names");
        let [dev, stopped, missing, metal] = [0, 1, 2, 3].map(|i| &doc["containers"][i]);
        let session = &dev["session"];
        assert_eq!(dev["session_record_damaged"]["unread"][0], "started_at");
        assert_eq!(
            dev["lost_pins"][0]["server"],
            "aio1_keystone_container-6c0f3a1e"
        );
        assert_eq!(doc["watcher_died"]["last_seen"], 1_699_999_000);
        assert_eq!(session["started_at"], 1_700_000_000);
        assert_eq!(session["dev_process_running"], true);
        assert_eq!(session["running_units"][0], "keystone-wsgi-public");
        assert_eq!(
            session["commit"],
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(session["venv_kept"], true);
        assert_eq!(dev["units"][0]["active"], false);
        // systemd's states as fields, beside the text for people.
        let unit = &dev["units"][0];
        assert_eq!(
            [
                &unit["load_state"],
                &unit["active_state"],
                &unit["sub_state"]
            ],
            ["loaded", "inactive", "running"],
            "{unit:#}"
        );
        assert_eq!(unit["state"], "inactive (running)");
        assert_eq!(dev["haproxy_servers"][1]["status"], "DRAIN");
        assert_eq!(stopped["lxc_state"], "STOPPED");
        assert!(stopped["units"][0]["state"].is_null());
        assert!(stopped["units"][0]["active_state"].is_null());
        assert_eq!(missing["lxc_state"], "MISSING");
        assert!(metal["lxc_state"].is_null());
        assert!(metal["session"].is_null());
        assert!(
            metal["dev_code_outside_session"]
                .as_str()
                .unwrap()
                .ends_with("__editable__.keystone-30.0.1.pth")
        );
        let problems = doc["problems"].as_array().unwrap();
        let said = |what: &str| problems.iter().any(|p| p.as_str().unwrap().contains(what));
        assert!(said("is STOPPED"), "{problems:?}");
        assert!(said("is damaged") && said("HAProxy forgot"), "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.as_str().unwrap().contains("without a git-osa session"))
        );
    }

    /// The tests' schema is strict about fields, so a view that grows a field the schema
    /// does not describe fails the tests above instead of going undocumented; the
    /// published one lets a reader of this version read a later one, which has more.
    #[test]
    fn a_field_the_schema_does_not_describe_is_caught_and_readers_ignore_it() {
        let plan = cycle::plan_run(&golden::keystone(), &golden::choice()).unwrap();
        let text = render(&RunPlan::new(&golden::keystone(), &plan, Path::new(SOCKET)));
        let doc: Value = serde_json::from_str(&text).unwrap();
        let (mut deep, mut top) = (doc.clone(), doc);
        deep["steps"][0]["undocumented"] = true.into();
        top["added_later"] = 1.into();
        for doc in [deep, top] {
            assert!(!test_schema::errors(&test_schema::strict(), &doc).is_empty());
            assert_eq!(
                test_schema::errors(&test_schema::published(), &doc),
                Vec::<String>::new()
            );
        }
    }
}
