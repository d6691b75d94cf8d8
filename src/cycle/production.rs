//! Production out of the way: what a killed git-osa left running, the exact copy of the
//! production venv, HAProxy draining the target, production's units stopped, the
//! target's servers down until the dev code passes a check.

use super::{Cycle, KEEP, STOP};
use crate::catalog::Runs;
use crate::exec::Exec;
use crate::haproxy::{Change, ServerRef, State};
use crate::install;
use crate::layout;
use crate::plan::{Action, Step};
use crate::probe;
use crate::session::{Record, VENV_KEPT};
use crate::systemd;
use crate::traffic::{self, Pin};

/// How production's units stop in a run ([`Cycle::stop`]): each a step, and for a stop
/// in the background, the wait for its end.
pub(super) enum Stop {
    /// Nothing runs: the step says so.
    Now(Step),
    /// Once the checkout has travelled and the venv is kept, while the wheel is built and
    /// pip runs.
    BesidePip(Step, Step),
    /// While the venv is kept and the checkout travels; pip after its end.
    BesideSync(Step, Step),
}

impl Cycle<'_> {
    /// We hold the lock: anything of an earlier git-osa still running was orphaned when
    /// it was killed (a pip, a copy, a dev process holding the port). Stop it first.
    pub(super) fn leftovers(&self) -> Vec<Step> {
        let active = |u: &String| self.s.probe.unit(u).is_some_and(|i| i.active());
        let mut steps = Vec::new();
        let dbsync = self.paths.dbsync_scope();
        if active(&dbsync) {
            steps.push(await_dbsync(self.target(), dbsync));
        }
        let mut left: Vec<String> = self
            .s
            .units
            .iter()
            .flat_map(|u| [layout::dev_scope(&u.name), layout::dev_service(&u.name)])
            .collect();
        left.extend([self.paths.step_scope(), self.paths.keep_scope()]);
        left.retain(active);
        if !left.is_empty() {
            // Detached units run on purpose: this run replaces them.
            let title = if left.iter().all(|u| u.ends_with(".service")) {
                "stop the detached dev units (this run replaces them)"
            } else {
                "stop what an interrupted git-osa left running"
            };
            steps.push(Step::exec(
                title,
                self.target(),
                Exec::new(systemd::kill_scopes(&left)),
            ));
        }
        steps
    }

    /// Keep the production venv before the first change. Where pip installs every file
    /// anew (see [`install::Keep::Links`]), a snapshot of hard links: it costs a walk of
    /// the venv's folders, not a copy of its bytes, and restore renames it back; a file
    /// anyone but root may write to (a service writing into its own venv) makes it a full
    /// copy after all. Elsewhere a full copy, which says why. Either overlaps draining,
    /// stopping and syncing; production does not write to its venv (it is root's, the
    /// service runs as its own user). Until the session records the snapshot complete,
    /// the venv is production's (the install waits for it): one a killed git-osa left,
    /// whole or cut, is made again, never nested inside the old one by `mv`.
    pub(super) fn keep_venv(&self) -> Step {
        let venv = &self.s.venv;
        let backup = layout::backup_path(venv);
        let keep = install::keeping(self.s.venv_pip.as_deref(), self.s.easy_install_pth);
        let (title, script) = match &keep {
            // What the session kept is said by the skip.
            _ if self.session.venv_kept() => {
                (format!("keep the production venv {venv}"), KEEP_COPY)
            }
            install::Keep::Links => (
                format!(
                    "keep the production venv {venv} as a snapshot of hard links (pip {} there replaces files, never writes into one)",
                    self.s.venv_pip.as_deref().unwrap_or_default()
                ),
                KEEP_LINKS,
            ),
            install::Keep::Copy(why) => (
                format!("keep an exact copy of the production venv {venv} (a full copy: {why})"),
                KEEP_COPY,
            ),
        };
        Step::exec(
            title,
            self.target(),
            Exec::script(script, "git-osa-keep", &[venv, &backup])
                .in_scope(self.paths.keep_scope()),
        )
        .in_background_as(KEEP)
        .skip_if(
            self.session
                .venv_kept()
                .then(|| format!("kept at {backup} when this session began")),
        )
        .before(Record::VenvBackup {
            venv: venv.clone(),
            backup,
        })
        .after(Record::Mark(VENV_KEPT))
    }

    /// HAProxy: drain the target's servers while they are swapped, where others can take
    /// their traffic; each becomes a pin of the foreground run.
    pub(super) fn drain(&self) -> (Vec<Step>, Vec<Pin>) {
        let pins = traffic::pins(
            &self.s.servers,
            &self.s.host,
            &self.s.units,
            &self.session.disabled_servers,
        );
        let mut steps = Vec::new();
        for p in &pins {
            let r = p.target_server();
            steps.push(
                Step::new(
                    format!("drain {} in HAProxy while it is swapped", p.target),
                    self.target(),
                    Action::Server {
                        server: r.clone(),
                        change: Change::Drain,
                    },
                )
                .skip_if(
                    // Unless HAProxy lost it (restarted, or reloaded): then it is drained again.
                    (self.session.disabled_servers.contains(&r)
                        && traffic::lost(&self.s.servers, std::slice::from_ref(&r)).is_empty())
                    .then(|| "already drained by this session".into()),
                )
                .before(Record::Disable(r)),
            );
        }
        (steps, pins)
    }

    /// Production's units stopped, in the background, and the wait for their end. A
    /// uWSGI unit's workers end at once on its stop signal (no request reaches them: the
    /// target is drained), its master only at its next reap tick, a second later: the
    /// wheel's build and pip run meanwhile ([`Stop::BesidePip`]), once the venv is kept
    /// (a failed keeping leaves production running). A unit that stops gracefully (an
    /// engine finishing its work, importing as it goes) ends before pip changes its code,
    /// while the checkout travels to the session's own folder, which it never reads
    /// ([`Stop::BesideSync`]).
    pub(super) fn stop(&self) -> Stop {
        let mut argv = vec!["systemctl".to_string(), "stop".into()];
        argv.extend(self.active.iter().map(|u| probe::unit_id(u)));
        let names: Vec<String> = self.s.units.iter().map(|u| u.name.clone()).collect();
        // The session stopped them before: they started again with the container.
        let again = self
            .active
            .iter()
            .any(|u| self.session.stopped_units.contains(u));
        let skip = self.active.is_empty().then(|| "not running".to_string());
        let uwsgi_only = self
            .s
            .units
            .iter()
            .all(|u| u.runs == Runs::Uwsgi || !self.active.contains(&u.name));
        let step = Step::exec(
            format!(
                "stop production {}{}{}",
                names.join(", "),
                if again {
                    " (it started again with the container)"
                } else {
                    ""
                },
                match (&skip, uwsgi_only) {
                    (Some(_), _) => "",
                    (None, true) => ": uWSGI ends its workers at once, its master while pip runs",
                    (None, false) => ": they end their work while the checkout travels, before pip",
                }
            ),
            self.target(),
            Exec::new(argv),
        )
        .skip_if(skip.clone())
        .before(Record::StoppedUnits(names))
        .after(Record::Mark("production stopped"));
        if skip.is_some() {
            return Stop::Now(step);
        }
        let wait = Step::new(
            "wait until production has stopped",
            self.target(),
            Action::Join { of: Vec::new() },
        );
        match uwsgi_only {
            true => Stop::BesidePip(step.in_background_as(STOP), wait),
            false => Stop::BesideSync(step.in_background(), wait),
        }
    }

    /// What a sync puts right first in a session: the production units the container
    /// started again when it started (they would hold the dev units' ports), and the pins
    /// HAProxy lost when it restarted or reloaded. Neither is a change of code: they
    /// restart nothing.
    pub(super) fn repairs(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        let again: Vec<&String> = self
            .session
            .stopped_units
            .iter()
            .filter(|u| self.s.probe.unit(u).is_some_and(|i| i.active()))
            .collect();
        if !again.is_empty() {
            let names: Vec<&str> = again.iter().map(|u| u.as_str()).collect();
            let mut argv = vec!["systemctl".to_string(), "stop".into()];
            argv.extend(again.iter().map(|u| probe::unit_id(u)));
            steps.push(Step::exec(
                format!(
                    "stop production {}: it started again with the container",
                    names.join(", ")
                ),
                self.target(),
                Exec::new(argv),
            ));
        }
        let mine: Vec<ServerRef> =
            crate::haproxy::servers_of(&self.s.servers, &self.s.host, &self.s.units)
                .iter()
                .map(|s| s.reference())
                .collect();
        for lost in traffic::lost(&self.s.servers, &self.session.disabled_servers) {
            // The target's own servers were drained, the others in maintenance.
            let change = if mine.contains(&lost) {
                Change::Drain
            } else {
                Change::Maint
            };
            steps.push(Step::new(
                format!(
                    "HAProxy takes {}/{} out of rotation again: the session had, and HAProxy forgot it (restarted or reloaded)",
                    lost.backend, lost.server
                ),
                self.target(),
                Action::Server {
                    server: lost,
                    change,
                },
            ));
        }
        steps
    }

    /// Down until a health check passes against the dev code: "up" then means the new
    /// code answers, not that HAProxy has not noticed yet that the old one stopped (a
    /// rerun right after Ctrl-C finds the server still passing its last checks).
    pub(super) fn health_down(&self, pins: &[Pin]) -> Vec<Step> {
        pins.iter()
            .map(|p| {
                let down = self.s.servers.iter().any(|s| {
                    s.backend == p.backend
                        && s.name == p.target
                        && matches!(s.state(), State::Down | State::GoingUp)
                });
                Step::new(
                    format!(
                        "mark {} down in HAProxy until a health check passes against the dev code",
                        p.target
                    ),
                    self.target(),
                    Action::Server {
                        server: ServerRef {
                            backend: p.backend.clone(),
                            server: p.target.clone(),
                        },
                        change: Change::HealthDown,
                    },
                )
                .skip_if(down.then(|| "down already".into()))
            })
            .collect()
    }
}

/// A full copy of the venv (`$1`) to `$2`, through `$2.tmp`.
const KEEP_COPY: &str = r#"rm -rf "$2.tmp" "$2" && cp -a "$1" "$2.tmp" && mv "$2.tmp" "$2""#;

/// A snapshot of hard links of the venv (`$1`) at `$2`, through `$2.tmp`: every file of
/// the snapshot is the venv's own. Where a file may be written by anyone but root, or
/// linking fails (the venv spans file systems), a full copy instead.
const KEEP_LINKS: &str = r#"rm -rf "$2.tmp" "$2" || exit 1
if [ -z "$(find "$1" -type f \( ! -user 0 -o -perm /022 \) -print -quit)" ] && cp -al "$1" "$2.tmp" 2>/dev/null; then :
else rm -rf "$2.tmp" && cp -a "$1" "$2.tmp" || exit 1
fi
mv "$2.tmp" "$2""#;

/// How long a db sync a killed git-osa left running is waited for.
pub const DBSYNC_LIMIT_SECS: u64 = 900;

/// Waits for a db sync that a killed git-osa left running: stopping it could cut a
/// migration in half.
pub fn await_dbsync(target: &crate::transport::Target, scope: String) -> Step {
    Step::new(
        "wait for the db sync an interrupted git-osa left running",
        target,
        Action::AwaitScope {
            scope,
            limit_secs: DBSYNC_LIMIT_SECS,
        },
    )
}
