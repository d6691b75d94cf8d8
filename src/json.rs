//! What `--json` prints: serialisable views of the values the text answers are made from
//! (`status::TargetStatus`, `cycle::RunPlan`, `plan::Step`, `settings::Settings`), so the
//! JSON and the text cannot disagree and nothing is read twice.
//!
//! Every document is an object with `"version"` ([`VERSION`]) and `"kind"` (`status`,
//! `run-plan`, `restore-plan`, `config`); `doc/git-osa-json.schema.json` (JSON Schema
//! draft 2020-12) describes them all, and the tests below check real output against it.
//! Within a version, fields may be added (readers ignore what they do not know); a field
//! removed, renamed or changed in meaning takes a new version.

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::context::Source;
use crate::cycle;
use crate::error::Result;
use crate::lxc::Target;
use crate::plan::{self, Action, Exec, Input, Missing};
use crate::settings;
use crate::state::{ServerRef, Session};
use crate::status::{self, TargetStatus};
use crate::survey::Survey;

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
    let mut out = std::io::stdout().lock();
    out.write_all(render(body).as_bytes())?;
    out.flush()?;
    Ok(())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

// ---- status ----

/// `git osa status --json`.
#[derive(Serialize)]
pub struct Status {
    /// The project as the checkout names it (`openstack/keystone`).
    pub project: String,
    pub service: String,
    pub checkout: String,
    pub inventory: Inventory,
    pub haproxy: Haproxy,
    pub containers: Vec<Container>,
    /// What needs the user's attention (also the error on stderr and the exit status).
    pub problems: Vec<String>,
}

impl Document for Status {
    const KIND: &'static str = "status";
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
        }
    }
}

// ---- plans ----

/// `git osa run --dry-run --json`.
#[derive(Serialize)]
pub struct RunPlan {
    pub project: String,
    pub service: String,
    #[serde(rename = "where")]
    pub place: Where,
    /// The units swapped.
    pub units: Vec<String>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    pub steps: Vec<Step>,
    /// Production is restored once the dev process stops (`--restore-on-exit`).
    pub restore_on_exit: bool,
}

impl Document for RunPlan {
    const KIND: &'static str = "run-plan";
}

impl RunPlan {
    pub fn new(
        survey: &Survey,
        plan: &cycle::RunPlan,
        socket: &Path,
        restore_on_exit: bool,
    ) -> RunPlan {
        RunPlan {
            project: survey.project.clone(),
            service: survey.service.name.clone(),
            place: Where::new(&survey.target),
            units: survey.units.iter().map(|u| u.name.clone()).collect(),
            notes: plan.notes.clone(),
            warnings: plan.warnings.clone(),
            steps: steps(&plan.steps, socket),
            restore_on_exit,
        }
    }
}

/// `git osa restore --dry-run --json`: a plan per container that holds a session (none:
/// nothing to restore).
#[derive(Serialize)]
pub struct RestorePlan {
    pub targets: Vec<RestoreTarget>,
}

impl Document for RestorePlan {
    const KIND: &'static str = "restore-plan";
}

#[derive(Serialize)]
pub struct RestoreTarget {
    #[serde(rename = "where")]
    pub place: Where,
    pub service: String,
    pub steps: Vec<Step>,
}

impl RestoreTarget {
    pub fn new(target: &Target, service: &str, plan: &[plan::Step], socket: &Path) -> Self {
        RestoreTarget {
            place: Where::new(target),
            service: service.to_string(),
            steps: steps(plan, socket),
        }
    }
}

/// Where a step runs: in a container, or on the host (an `is_metal` service).
#[derive(Serialize)]
pub struct Where {
    /// `container` or `host`.
    pub kind: &'static str,
    pub name: String,
}

impl Where {
    fn new(t: &Target) -> Where {
        Where {
            kind: if t.metal { "host" } else { "container" },
            name: t.name.clone(),
        }
    }
}

/// One step of a plan: what `--dry-run` prints, as values.
#[derive(Serialize)]
pub struct Step {
    /// 1-based, as the text numbers it.
    pub number: usize,
    pub title: String,
    /// `command`, `haproxy`, `wait-healthy`, `join`, `await-scope` or `foreground`.
    pub action: &'static str,
    #[serde(rename = "where")]
    pub place: Where,
    /// The commands run in the target (`command`: one; `foreground`: one per unit).
    pub commands: Vec<Command>,
    /// The change made on HAProxy's admin socket (`haproxy`).
    pub haproxy: Option<HaproxyChange>,
    /// What is waited for (`wait-healthy`).
    pub wait: Option<Wait>,
    /// The scope waited for, never stopped (`await-scope`).
    pub await_scope: Option<AwaitScope>,
    /// Traffic pinned to the target while the dev process runs (`foreground`).
    pub pins: Vec<Pin>,
    /// Why the step is not needed this time: it is shown, not run.
    pub skip: Option<String>,
    /// Started and not waited for until a `join` step.
    pub background: bool,
    /// What an install does when the repo server lacks a requirement.
    pub on_missing: Option<OnMissing>,
    /// A warning shown once the step ran.
    pub warning: Option<String>,
}

#[derive(Serialize)]
pub struct Command {
    /// The user it runs as (`root` unless the step says otherwise).
    #[serde(rename = "as")]
    pub user: String,
    /// The full argv run in the target, wrappers (systemd-run, runuser, env) included.
    pub argv: Vec<String>,
    pub stdin: Option<Stdin>,
    /// The transient scope it runs in, which restore or Ctrl-C stops.
    pub scope: Option<String>,
    /// Once started it runs to its end (a db sync): a signal is acted on after it.
    pub to_the_end: bool,
    /// The unit whose dev process this is (`foreground`).
    pub unit: Option<String>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Stdin {
    /// Fixed bytes (a file's content).
    Bytes { bytes: usize },
    /// The sync's tar stream: the changed files, the deletions and the manifest.
    Sync { files: usize },
}

#[derive(Serialize)]
pub struct HaproxyChange {
    pub socket: String,
    pub backend: String,
    pub server: String,
    /// The exact runtime command sent on the socket.
    pub command: String,
}

#[derive(Serialize)]
pub struct Wait {
    /// systemd units that must be active.
    pub units: Vec<String>,
    /// HAProxy servers that must report UP.
    pub servers: Vec<Server>,
}

#[derive(Serialize)]
pub struct AwaitScope {
    pub scope: String,
    pub limit_secs: u64,
}

#[derive(Serialize)]
pub struct Pin {
    pub backend: String,
    /// Set ready once a health check passes against the dev code.
    pub server: String,
    /// Put in maintenance meanwhile, given back when the run ends.
    pub others: Vec<String>,
}

#[derive(Serialize)]
pub struct OnMissing {
    /// `offer`: name the requirement and offer `index` (a prompt on a terminal,
    /// `--allow-public-index` otherwise); `allowed`: `index` is allowed already.
    pub kind: &'static str,
    pub index: String,
    /// What runs when the offer is accepted.
    pub retry: Option<Command>,
}

fn steps(plan: &[plan::Step], socket: &Path) -> Vec<Step> {
    plan.iter()
        .enumerate()
        .map(|(i, s)| Step::new(i + 1, s, socket))
        .collect()
}

impl Command {
    fn exec(e: &Exec) -> Command {
        Command {
            user: e.user.clone().unwrap_or_else(|| "root".into()),
            argv: e.full_argv(),
            stdin: e.stdin.as_ref().map(|i| match i {
                Input::Bytes(b) => Stdin::Bytes { bytes: b.len() },
                Input::Sync(p) => Stdin::Sync {
                    files: p.changed.len(),
                },
            }),
            scope: e.scope.clone(),
            to_the_end: e.to_the_end,
            unit: None,
        }
    }
}

impl Step {
    fn new(number: usize, s: &plan::Step, socket: &Path) -> Step {
        let mut step = Step {
            number,
            title: s.title.clone(),
            action: "",
            place: Where::new(&s.target),
            commands: Vec::new(),
            haproxy: None,
            wait: None,
            await_scope: None,
            pins: Vec::new(),
            skip: s.skip.clone(),
            background: s.background,
            on_missing: s.on_missing.as_ref().map(|m| match m {
                Missing::Offer { index, retry } => OnMissing {
                    kind: "offer",
                    index: index.clone(),
                    retry: Some(Command::exec(retry)),
                },
                Missing::Allowed { index } => OnMissing {
                    kind: "allowed",
                    index: index.clone(),
                    retry: None,
                },
            }),
            warning: s.warn.clone(),
        };
        match &s.action {
            Action::Exec(e) => {
                step.action = "command";
                step.commands.push(Command::exec(e));
            }
            Action::Server { server, change } => {
                step.action = "haproxy";
                step.haproxy = Some(HaproxyChange {
                    socket: display(socket),
                    backend: server.backend.clone(),
                    server: server.server.clone(),
                    command: change.command(&server.backend, &server.server),
                });
            }
            Action::WaitHealthy { units, servers } => {
                step.action = "wait-healthy";
                step.wait = Some(Wait {
                    units: units.clone(),
                    servers: servers.iter().map(Server::from).collect(),
                });
            }
            Action::Join => step.action = "join",
            Action::AwaitScope { scope, limit_secs } => {
                step.action = "await-scope";
                step.await_scope = Some(AwaitScope {
                    scope: scope.clone(),
                    limit_secs: *limit_secs,
                });
            }
            Action::Foreground { units, pins } => {
                step.action = "foreground";
                step.commands = units
                    .iter()
                    .map(|u| Command {
                        user: u.user.clone(),
                        argv: u.argv.clone(),
                        stdin: None,
                        scope: Some(u.scope.clone()),
                        to_the_end: false,
                        unit: Some(u.unit.clone()),
                    })
                    .collect();
                step.pins = pins
                    .iter()
                    .map(|p| Pin {
                        backend: p.backend.clone(),
                        server: p.target.clone(),
                        others: p.others.clone(),
                    })
                    .collect();
            }
        }
        step
    }
}

// ---- config ----

/// `git osa config --json`: a setting per value, as the text lists them.
#[derive(Serialize)]
pub struct Config {
    pub settings: Vec<SettingView>,
}

impl Document for Config {
    const KIND: &'static str = "config";
}

#[derive(Serialize)]
pub struct SettingView {
    pub key: &'static str,
    /// A string, a boolean (`osa.restoreOnExit`), or null when unset.
    pub value: Value,
    /// `flag`, `env`, git config's `system`, `global`, `local`, `worktree` or `command`,
    /// `toml`, `default`.
    pub scope: &'static str,
    /// The option, the variable or the file (`file:PATH`); null for a default.
    pub origin: Option<String>,
}

impl Config {
    pub fn new(lines: &[settings::Line]) -> Config {
        Config {
            settings: lines
                .iter()
                .map(|l| SettingView {
                    key: l.key,
                    value: match &l.value {
                        settings::Value::Text(s) => Value::String(s.clone()),
                        settings::Value::Bool(b) => Value::Bool(*b),
                        settings::Value::Unset => Value::Null,
                    },
                    scope: l.origin.scope(),
                    origin: l.origin.source(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::Value;

    use super::*;
    use crate::context::Placement;
    use crate::cycle::Choice;
    use crate::golden;
    use crate::inventory::Host;
    use crate::layout::{self, Paths};
    use crate::lxc::{Lxc, LxcState};
    use crate::restore::{self, Now};
    use crate::systemd::UnitInfo;

    const SOCKET: &str = "/var/run/haproxy.stat";

    fn schema() -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/git-osa-json.schema.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The document, parsed, after checking it against the committed schema.
    fn valid(doc: &str) -> Value {
        let schema = schema();
        let validator = jsonschema::draft202012::new(&schema).unwrap();
        let instance: Value = serde_json::from_str(doc).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{e} (at {})", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{doc}\ndoes not match doc/git-osa-json.schema.json:\n{}",
            errors.join("\n")
        );
        instance
    }

    fn run_plan(s: &Survey, choice: &Choice) -> Value {
        let plan = cycle::plan_run(s, choice).unwrap();
        let doc = valid(&render(&RunPlan::new(s, &plan, Path::new(SOCKET), false)));
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
        jsonschema::meta::validate(&schema()).unwrap();
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
        let allowed = Choice {
            allow_public_index: Some("http://172.29.236.1:8182/simple/".into()),
            ..golden::choice()
        };
        let doc = run_plan(&keystone, &allowed);
        assert_eq!(step(&doc, "install")["on_missing"]["kind"], "allowed");
        assert!(step(&doc, "install")["on_missing"]["retry"].is_null());

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
            db_sync: None,
            servers: s.servers.clone(),
        };
        let paths = Paths::new("keystone");
        let plan = restore::plan_restore(&s.target, &s.host, &s.units, &paths, &session, &now);
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
            service: s.service.name.clone(),
            placement: Placement {
                host: s.host.clone(),
                units: s.units.clone(),
                groups: s.host_groups.clone(),
            },
            probe: (lxc == LxcState::Running).then(|| s.probe.clone()),
            lxc,
            session: s.session.clone(),
            servers: s.servers.clone(),
        }
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
        let statuses = [
            target_status(&dev, LxcState::Running),
            target_status(&stopped, LxcState::Stopped),
            target_status(&missing, LxcState::Missing),
            target_status(&metal, LxcState::Running),
        ];
        let problems: Vec<String> = statuses
            .iter()
            .flat_map(|st| status::problems(st, None))
            .collect();
        let doc = valid(&render(&Status {
            project: "openstack/keystone".into(),
            service: "keystone".into(),
            checkout: "/home/dev/src/keystone".into(),
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
        }));
        assert_eq!(doc["kind"], "status");
        assert_eq!(doc["inventory"]["source"], "container-names");
        let [dev, stopped, missing, metal] = [0, 1, 2, 3].map(|i| &doc["containers"][i]);
        let session = &dev["session"];
        assert_eq!(session["started_at"], 1_700_000_000);
        assert_eq!(session["dev_process_running"], true);
        assert_eq!(session["running_units"][0], "keystone-wsgi-public");
        assert_eq!(
            session["commit"],
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(session["venv_kept"], true);
        assert_eq!(dev["units"][0]["active"], false);
        assert_eq!(dev["haproxy_servers"][1]["status"], "DRAIN");
        assert_eq!(stopped["lxc_state"], "STOPPED");
        assert!(stopped["units"][0]["state"].is_null());
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
        assert!(
            problems[0].as_str().unwrap().contains("is STOPPED"),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.as_str().unwrap().contains("without a git-osa session"))
        );
    }

    /// The schema is strict about fields, so a view that grows a field the schema does
    /// not describe fails the tests above instead of going undocumented.
    #[test]
    fn a_field_the_schema_does_not_describe_is_caught() {
        let plan = cycle::plan_run(&golden::keystone(), &golden::choice()).unwrap();
        let text = render(&RunPlan::new(
            &golden::keystone(),
            &plan,
            Path::new(SOCKET),
            false,
        ));
        let mut doc: Value = serde_json::from_str(&text).unwrap();
        doc["steps"][0]["undocumented"] = true.into();
        let schema = schema();
        assert!(!jsonschema::draft202012::is_valid(&schema, &doc));
    }
}
