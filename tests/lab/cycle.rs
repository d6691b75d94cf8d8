//! The developer's cycle, start to end: a dry run, a first run of a commit, a second run
//! after a one-line edit, and `restore`. One story, told in chapters: each chapter starts
//! from where the one before left the lab.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Lab, Node, PINNED, edit, git};
use crate::running::Running;

#[test]
#[ignore = "needs the lab: tests/run"]
fn the_cycle_swaps_the_checkout_in_runs_it_and_restores_production_exactly() {
    let lab = Lab::get();
    let dir = lab.checkout("git-osa-dev");
    let story = Cycle {
        lab: &lab,
        repo: dir.path().join("keystone"),
        target: &lab.new,
        other: &lab.old,
    };
    story.touch_the_migrations();
    let production = story.production();

    story.a_dry_run_prints_the_plan_and_changes_nothing();
    let (mut run, first) = story.the_first_run_serves_the_checkout_through_haproxy();
    story.keystone_logs_on_git_osa_output(&run);
    story.a_second_git_osa_on_the_container_is_refused();
    story.status_from_another_terminal_sees_the_session();
    story.a_script_reads_the_commit_and_the_pin_from_status_json();
    story.sigint_ends_the_run_and_gives_the_other_server_back(&mut run);
    let second = story.after_a_one_line_edit_only_that_file_travels();
    story.restore_puts_production_back_exactly(&production);

    eprintln!("timing: first run to pinned {first:?}, second run after a one-line edit {second:?}");
}

/// The checkout runs in `target`; `other` is the second keystone behind HAProxy.
struct Cycle<'a> {
    lab: &'a Lab,
    repo: PathBuf,
    target: &'a Node,
    other: &'a Node,
}

/// What restore must give back.
struct Production {
    freeze: String,
    v3: String,
    v3_other: String,
}

impl Cycle<'_> {
    /// A change under the migrations: the first run must db sync (as keystone).
    fn touch_the_migrations(&self) {
        let env_py = self.repo.join("keystone/common/sql/migrations/env.py");
        let mut text = std::fs::read_to_string(&env_py).unwrap();
        text.push_str("# touched by the git-osa cycle test\n");
        std::fs::write(&env_py, text).unwrap();
        git(&self.repo, &["commit", "-q", "-am", "Touch the migrations"]);
    }

    fn production(&self) -> Production {
        let lab = self.lab;
        let production = Production {
            freeze: lab.pip_freeze(self.target),
            v3: lab.direct_v3(self.target),
            v3_other: lab.direct_v3(self.other),
        };
        assert!(
            production.v3.contains("\"status\": \"stable\""),
            "{}",
            production.v3
        );
        production
    }

    /// --dry-run prints the plan and leaves the container exactly as it was.
    fn a_dry_run_prints_the_plan_and_changes_nothing(&self) {
        let (lab, target) = (self.lab, self.target);
        let before = lab.snapshot(target);
        let o = lab.run(&self.repo, &["--container", &target.name, "--dry-run"]);
        let plan = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{plan}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            plan.contains(&format!(
                "in {target} as root: systemctl stop {}.service",
                lab.unit
            )),
            "{plan}"
        );
        assert!(
            plan.contains(&format!(
                "in {target} as keystone: systemd-run --scope --quiet --collect --unit=git-osa-dbsync-keystone.scope -- runuser -u keystone -- {}/bin/keystone-manage db_sync",
                lab.venv
            )),
            "{plan}"
        );
        assert!(plan.contains("PBR_VERSION=30.0.1.dev2"), "{plan}");
        assert!(plan.contains("dry run: nothing was changed"), "{plan}");
        assert_eq!(
            lab.snapshot(target),
            before,
            "--dry-run changed the container"
        );
    }

    /// The first run, without a terminal: every request through HAProxy reaches the
    /// checkout, the other server is out. Returns the run and its time to pinned.
    fn the_first_run_serves_the_checkout_through_haproxy(&self) -> (Running, Duration) {
        let lab = self.lab;
        let mut run = lab.start(&self.repo, &["--container", &self.target.name]);
        run.wait_for(PINNED, Duration::from_secs(240));
        let first = {
            let t = run.started.elapsed();
            lab.wait(
                "the changed /v3 through HAProxy",
                Duration::from_secs(30),
                || {
                    lab.http(&format!("{}/v3", lab.frontend))
                        .1
                        .contains("git-osa-dev")
                },
            );
            t
        };
        for _ in 0..20 {
            let (h, body) = lab.http(&format!("{}/v3", lab.frontend));
            assert!(h.starts_with("HTTP/1.1 200"), "{h}");
            assert!(
                body.contains("\"status\": \"git-osa-dev\""),
                "a request did not reach the dev code: {body}"
            );
        }
        assert_eq!(lab.server(self.other), "MAINT");
        (run, first)
    }

    /// keystone's own log lines are on git-osa's output: a failed login makes keystone log
    /// a warning (oslo.log's format: time, pid, level, logger).
    fn keystone_logs_on_git_osa_output(&self, run: &Running) {
        let lab = self.lab;
        let o = Command::new("curl")
            .args(["-s", "--noproxy", "*", "-m", "10", "-H", "Content-Type: application/json", "-d"])
            .arg(r#"{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"wrong"}}}}}"#)
            .arg(format!("{}/v3/auth/tokens", lab.frontend))
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("401"),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        lab.wait(
            "keystone's warning on git-osa's output",
            Duration::from_secs(20),
            || {
                run.output()
                    .lines()
                    .any(|l| l.contains(" WARNING keystone.") && l.contains("Authorization failed"))
            },
        );
        // Without a terminal, no progress is drawn.
        assert!(!run.output().contains("\x1b[2K"), "{}", run.output());
    }

    /// A second git-osa on the same container is refused, not interleaved.
    fn a_second_git_osa_on_the_container_is_refused(&self) {
        let target = self.target;
        let o = self.lab.run(&self.repo, &["--container", &target.name]);
        assert_eq!(
            o.status.code(),
            Some(75),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stderr)
                .contains(&format!("{target} is in use by another git-osa"))
        );
    }

    /// status, from another terminal, sees the session.
    fn status_from_another_terminal_sees_the_session(&self) {
        let head = git(&self.repo, &["rev-parse", "HEAD"]);
        let o = self.lab.run(&self.repo, &["status"]);
        let st = String::from_utf8_lossy(&o.stdout);
        let block = st
            .split("\n\n")
            .find(|b| b.starts_with(&self.target.name))
            .unwrap();
        assert!(
            block.contains(&format!("dev      {}, since", &head[..12])),
            "{block}"
        );
        assert!(
            block.contains(&format!("process  running: {}", self.lab.unit)),
            "{block}"
        );
        assert!(
            block.contains(&format!("production {} stopped", self.lab.unit))
                && block.contains("installed into the venv")
                && block.contains("db synced"),
            "{block}"
        );
    }

    /// A script reads the same from `status --json`: the session's commit, and that the
    /// target's server takes the traffic while the other one is in maintenance.
    fn a_script_reads_the_commit_and_the_pin_from_status_json(&self) {
        let head = git(&self.repo, &["rev-parse", "HEAD"]);
        let o = self.lab.run(&self.repo, &["status", "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(doc["version"], 1);
        let containers = doc["containers"].as_array().unwrap();
        let by_name = |n: &str| containers.iter().find(|c| c["name"] == n).unwrap();
        let (mine, other) = (by_name(&self.target.name), by_name(&self.other.name));
        assert_eq!(mine["session"]["commit"], head.as_str(), "{doc:#}");
        assert_eq!(mine["session"]["dev_process_running"], true, "{doc:#}");
        assert!(other["session"].is_null(), "{doc:#}");
        let status = |c: &serde_json::Value| {
            c["haproxy_servers"][0]["status"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(status(mine), "UP", "{doc:#}");
        assert!(status(other).starts_with("MAINT"), "{doc:#}");
    }

    /// SIGINT ends it: nothing of the dev run is left, the other server takes traffic again.
    fn sigint_ends_the_run_and_gives_the_other_server_back(&self, run: &mut Running) {
        let (lab, target) = (self.lab, self.target);
        run.signal(libc::SIGINT);
        assert_eq!(run.finish(Duration::from_secs(60)), 130, "{}", run.output());
        assert_ne!(lab.unit_state(target, &lab.scope), "active");
        assert_eq!(
            lab.sh(target, "pgrep -u keystone -l || true").trim(),
            "",
            "keystone processes left"
        );
        lab.wait_up(self.other);
        assert_eq!(
            lab.unit_state(target, &lab.unit),
            "inactive",
            "production must stay stopped until restore"
        );
    }

    /// A one-line edit: only that file travels; pip and db sync are skipped. Returns the
    /// second run's time to pinned.
    fn after_a_one_line_edit_only_that_file_travels(&self) -> Duration {
        let (lab, target) = (self.lab, self.target);
        edit(&self.repo, "git-osa-dev-2");
        let mut run = lab.start(&self.repo, &["--container", &target.name]);
        run.wait_for(PINNED, Duration::from_secs(120));
        let second = run.started.elapsed();
        let out = run.output();
        assert!(out.contains("(1 changed, 0 deleted,"), "{out}");
        assert!(
            out.contains("install the checkout into the venv: skipped"),
            "{out}"
        );
        assert!(
            out.contains("db sync: keystone-manage db_sync: skipped (no migration changed"),
            "{out}"
        );
        lab.wait("the edited /v3", Duration::from_secs(30), || {
            lab.http(&format!("{}/v3", lab.frontend))
                .1
                .contains("git-osa-dev-2")
        });
        let o = lab.run(&self.repo, &["status"]);
        assert!(String::from_utf8_lossy(&o.stdout).contains("+ uncommitted changes"));
        run.signal(libc::SIGTERM);
        assert_eq!(run.finish(Duration::from_secs(60)), 143, "{}", run.output());
        assert_eq!(lab.sh(target, "pgrep -u keystone -l || true").trim(), "");
        second
    }

    /// restore: production exactly as before, in both containers.
    fn restore_puts_production_back_exactly(&self, production: &Production) {
        let (lab, target, other) = (self.lab, self.target, self.other);
        let o = lab.run(&self.repo, &["restore"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(lab.direct_v3(target), production.v3);
        assert_eq!(lab.direct_v3(other), production.v3_other);
        assert_eq!(lab.unit_state(target, &lab.unit), "active");
        lab.wait_up(target);
        lab.wait_up(other);
        assert_eq!(lab.pip_freeze(target), production.freeze);
        assert_eq!(
            lab.sh(
                target,
                "ls /var/lib/git-osa /etc/keystone/keystone.conf.d 2>&1 | grep -c 'No such' || true"
            )
            .trim(),
            "2"
        );
        let o = lab.run(&self.repo, &["status"]);
        assert!(o.status.success());
        assert_eq!(
            String::from_utf8_lossy(&o.stdout)
                .matches("dev      none (production)")
                .count(),
            2
        );
    }
}
