//! The dev units: their logs to the terminal (an oslo.config drop-in), their runtime
//! folders, the uWSGI masters' preload, and the units themselves, in the foreground or
//! detached.

use super::Cycle;
use crate::catalog::Runs;
use crate::error::{Error, Result};
use crate::exec::{Exec, Input};
use crate::layout::{self, DROPIN, DROPIN_TEXT};
use crate::plan::{Action, DevUnit, Step};
use crate::session::Record;
use crate::systemd;
use crate::traffic::Pin;

impl Cycle<'_> {
    /// Logging to the terminal: an oslo.config drop-in beside the service's config.
    pub(super) fn dropin(&self) -> Option<Step> {
        let dir = layout::dropin_dir(self.s.service.config.as_deref())?;
        let file = format!("{dir}/{DROPIN}");
        let mut created = vec![file.clone()];
        if !self.s.dropin_dir_exists {
            created.push(format!("{dir}/"));
        }
        Some(
            Step::exec(
                format!(
                    "send {}'s logs to the terminal ({file})",
                    self.s.service.name
                ),
                self.target(),
                Exec::script(
                    r#"mkdir -p "$1" && cat > "$2" && chmod 0644 "$2""#,
                    "git-osa-dropin",
                    &[&dir, &file],
                )
                .with_stdin(Input::Bytes(DROPIN_TEXT.as_bytes().to_vec())),
            )
            .skip_if(
                self.session
                    .dropins
                    .contains(&file)
                    .then(|| "in place".into()),
            )
            .before(Record::Dropins(created))
            .after(Record::Mark("log drop-in")),
        )
    }

    /// Runtime folders systemd would have made for the units.
    pub(super) fn runtime_dirs(&self) -> Option<Step> {
        let dirs: Vec<String> = self
            .infos
            .iter()
            .flat_map(|i| i.runtime_directory.iter().map(|d| format!("/run/{d}")))
            .collect();
        if dirs.is_empty() {
            return None;
        }
        Some(Step::exec(
            "create the units' runtime folders",
            self.target(),
            self.owned_dirs(dirs),
        ))
    }

    /// `install -d`: the folders `dirs`, the service user's (mode 0755).
    fn owned_dirs(&self, dirs: Vec<String>) -> Exec {
        let mut argv = vec![
            "install".to_string(),
            "-d".into(),
            "-o".into(),
            self.user.clone(),
            "-g".into(),
            self.group.clone(),
        ];
        argv.extend(dirs);
        Exec::new(argv)
    }

    /// The script detached uWSGI masters run before they fork their workers (see
    /// `uwsgi_preload.py`), in the session's folder, which restore removes.
    pub(super) fn uwsgi_preload(&self, detach: bool) -> Option<Step> {
        if !detach || !self.s.units.iter().any(|u| u.runs == Runs::Uwsgi) {
            return None;
        }
        Some(self.write_script(
            "what the uWSGI masters import before their workers",
            &self.paths.uwsgi_preload(),
            "git-osa-preload",
            systemd::UWSGI_PRELOAD,
        ))
    }

    /// Writes one of git-osa's scripts for the dev units into the session's folder.
    fn write_script(&self, what: &str, file: &str, name: &str, text: &str) -> Step {
        Step::exec(
            format!("write {what} ({file})"),
            self.target(),
            Exec::write_file(file, name, text.as_bytes().to_vec()),
        )
    }

    /// The script the dev uWSGI workers import before they load the app, which they then
    /// load with the garbage collector off (see `uwsgi_app_load.py`), in the session's
    /// folder, which restore removes.
    pub(super) fn uwsgi_app_load(&self) -> Option<Step> {
        if !self.s.units.iter().any(|u| u.runs == Runs::Uwsgi) {
            return None;
        }
        Some(self.write_script(
            "what the uWSGI workers run around the app's load",
            &self.paths.uwsgi_app_load(),
            "git-osa-app-load",
            systemd::UWSGI_APP_LOAD,
        ))
    }

    /// The hot-patch agent (`--hot-patch`), beside the preload in the session's folder,
    /// and the folder its requests and the workers' answers go to, the service user's.
    pub(super) fn hot_patch_agent(&self, hot: bool) -> Vec<Step> {
        if !hot || !self.s.units.iter().any(|u| u.runs == Runs::Uwsgi) {
            return Vec::new();
        }
        let file = self.paths.hot_patch();
        let dir = self.paths.hot_dir();
        vec![
            self.write_script(
                "the hot-patch agent the uWSGI masters run",
                &file,
                "git-osa-hot-patch",
                crate::hot_patch::AGENT,
            ),
            Step::exec(
                format!("create the folder of the hot-patch requests and answers ({dir})"),
                self.target(),
                self.owned_dirs(vec![dir]),
            ),
        ]
    }

    /// `hot`: the detached uWSGI units run the hot-patch agent (`--hot-patch`).
    pub(super) fn foreground(&self, pins: Vec<Pin>, detach: bool, hot: bool) -> Result<Step> {
        let mut units = Vec::new();
        for (u, info) in self.s.units.iter().zip(&self.infos) {
            if u.runs == Runs::Apache {
                return Err(Error::user(format!(
                    "{} runs inside Apache (mod_wsgi); git-osa cannot run it on its own",
                    u.name
                ))
                .hint("use --service to pick the service's other units"));
            }
            if info.exec_start.is_empty() {
                return Err(Error::user(format!(
                    "{} in {} has no ExecStart to run",
                    u.name,
                    self.target().name
                )));
            }
            let mut reload = None;
            let (scope, mut argv) = if detach {
                let service = layout::dev_service(&u.name);
                let mut argv = systemd::detached_argv(info, &service);
                if u.runs == Runs::Uwsgi {
                    let fifo = layout::dev_master_fifo(&u.name);
                    systemd::reloadable_uwsgi(
                        &mut argv,
                        &layout::dev_runtime_dir(&u.name),
                        &fifo,
                        &self.paths.uwsgi_preload(),
                    );
                    if hot {
                        systemd::hot_patching_uwsgi(&mut argv, &self.paths.hot_patch());
                    }
                    reload = Some(fifo);
                }
                (service, argv)
            } else {
                let scope = layout::dev_scope(&u.name);
                let argv = systemd::dev_argv(info, &scope);
                (scope, argv)
            };
            if u.runs == Runs::Uwsgi {
                systemd::merciful_uwsgi(&mut argv);
                systemd::collector_quiet_uwsgi(&mut argv, &self.paths.uwsgi_app_load());
            }
            if u.runs == Runs::Console
                && let Some(dir) = layout::dropin_dir(self.s.service.config.as_deref())
            {
                argv.extend(dropin_args(&info.exec_start, &format!("{dir}/{DROPIN}")));
            }
            units.push(DevUnit {
                unit: u.name.clone(),
                argv,
                scope,
                user: info.user.clone().unwrap_or_else(|| "root".into()),
                reload,
                backend: crate::catalog::Service::backend(u),
                stop: systemd::Stop::of(info),
            });
        }
        if detach {
            return Ok(Step::new(
                "start the dev units detached, as systemd services",
                self.target(),
                Action::Detach { units, pins },
            ));
        }
        Ok(Step::new(
            "run in the foreground until Ctrl-C",
            self.target(),
            Action::Foreground { units, pins },
        ))
    }
}

/// What a console script needs so that the log drop-in wins. oslo.config parses the
/// `--config-file`s of the command line after its default folders (`<project>.conf.d`),
/// so when the unit names its config files itself (neutron's agents, a heat-engine
/// started with `--config-file`), its own file would override the drop-in: the drop-in
/// goes last on the command line, as one more `--config-file`.
fn dropin_args(exec_start: &[String], dropin: &str) -> Vec<String> {
    let names_files = exec_start
        .iter()
        .any(|a| a == "--config-file" || a.starts_with("--config-file="));
    let names_dirs = exec_start
        .iter()
        .any(|a| a == "--config-dir" || a.starts_with("--config-dir="));
    if names_files && !names_dirs {
        vec!["--config-file".into(), dropin.into()]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::dropin_args;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn the_dropin_goes_last_when_the_unit_names_its_config_files() {
        let d = "/etc/heat/heat.conf.d/99-git-osa-dev.conf";
        // OSA's heat-engine: oslo.config reads /etc/heat/heat.conf.d itself
        assert!(dropin_args(&argv("/v/bin/heat-engine"), d).is_empty());
        assert_eq!(
            dropin_args(
                &argv("/v/bin/heat-engine --config-file /etc/heat/heat.conf"),
                d
            ),
            argv(&format!("--config-file {d}"))
        );
        assert_eq!(
            dropin_args(
                &argv("/v/bin/neutron-ovn-agent --config-file=/etc/neutron/neutron.conf"),
                d
            ),
            argv(&format!("--config-file {d}"))
        );
        // a unit that names its folders: they come after its files, the drop-in's with them
        assert!(
            dropin_args(
                &argv("/v/bin/x --config-file /etc/x.conf --config-dir /etc/x.conf.d"),
                d
            )
            .is_empty()
        );
    }
}
