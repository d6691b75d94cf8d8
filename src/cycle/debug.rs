//! The dev units run to be debugged (`--debug`, `--debugpy`): the debugger installed into
//! the venv for the session (restore puts production's venv back, without it), and each
//! unit's command changed so a breakpoint stops where the developer is.
//!
//! A uWSGI unit serves with several workers, kills a request that takes long (harakiri)
//! and gives its workers /dev/null as stdin: debugged, it runs one worker, without
//! harakiri, and, for a debugger at the terminal, with the terminal as stdin
//! (`--honour-stdin`); for debugpy, the worker imports a file of the session's that makes
//! it listen (`--import`, run in the worker since the apps load lazily). A console script
//! (heat-engine) has the terminal already; for debugpy it runs under `python -m debugpy`.

use super::{Choice, Cycle, Debug};
use crate::catalog::Runs;
use crate::error::{Error, Result};
use crate::exec::Exec;
use crate::plan::{Action, Step};
use crate::session::Record;

/// What debugpy's listening file says, in a uWSGI worker; `{port}` is the port, `{python}`
/// the venv's Python as a string literal (JSON's quoting, which Python reads as its own),
/// which debugpy starts its adapter with (in uWSGI, `sys.executable` is uWSGI itself).
const LISTEN: &str = "# Written by git-osa for `git osa run --debugpy`: the uWSGI worker listens for a\n# remote debugger on the container's loopback. `git osa restore` removes it.\nimport debugpy\n\ndebugpy.configure(python={python})\ndebugpy.listen((\"127.0.0.1\", {port}))\n";

/// The module `breakpoint()` calls in a console-script unit debugged with pdb: pdb on the
/// unit's terminal, opened as `/dev/tty`. The process's own stdin is that terminal too, but
/// a service's worker (a forked process, a thread of an RPC executor, under eventlet) reads
/// end-of-file from it at once, and pdb then quits (`BdbQuit`) before the developer types.
const PDB_HOOK: &str = "# Written by git-osa for `git osa run --debug`: breakpoint() opens pdb on the unit's\n# terminal. `git osa restore` removes it.\nimport pdb\nimport sys\n\n\ndef set_trace(*args, **kwargs):\n    tty_in = open(\"/dev/tty\")\n    tty_out = open(\"/dev/tty\", \"w\")\n    pdb.Pdb(stdin=tty_in, stdout=tty_out).set_trace(sys._getframe(1))\n";

/// The module's name, as `PYTHONBREAKPOINT` names its function.
const PDB_HOOK_MODULE: &str = "git_osa_pdb";

impl Debug {
    /// The package that brings the debugger.
    pub fn package(self) -> &'static str {
        match self {
            Debug::Pdb => "",
            Debug::Pudb => "pudb",
            Debug::Debugpy { .. } => "debugpy",
        }
    }

    /// A debugger at the terminal (pdb, pudb): the unit needs it as its stdin.
    pub fn at_terminal(self) -> bool {
        !matches!(self, Debug::Debugpy { .. })
    }
}

impl Cycle<'_> {
    /// The debugger's package into the venv (pdb needs none), and debugpy's listening
    /// file for uWSGI units.
    pub(super) fn debugger(
        &self,
        d: Debug,
        constraints: &Option<Vec<u8>>,
        choice: &Choice,
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        let package = d.package();
        if !package.is_empty() {
            let venv = &self.s.venv;
            let pip = |index: Option<&str>| {
                let (args, env) = crate::install::pip_install(
                    &[],
                    index,
                    constraints.is_some().then(|| self.paths.constraints()),
                );
                let mut argv = vec![format!("{venv}/bin/pip")];
                argv.extend(args);
                argv.push(package.to_string());
                Exec::new(argv)
                    .with_env(env)
                    .in_scope(self.paths.step_scope())
            };
            let title = format!(
                "install {package} into the venv for the session (restore puts production's venv back, without it)"
            );
            let mark = match d {
                Debug::Pudb => "pudb installed",
                _ => "debugpy installed",
            };
            let mut step = self
                .install_step(title, pip, choice)
                .skip_if(
                    self.session
                        .applied
                        .iter()
                        .any(|m| m == mark)
                        .then(|| "installed earlier in this session".to_string()),
                )
                .after(Record::Mark(mark));
            if let Debug::Debugpy { port } = d {
                step = step.before(Record::Debugger(crate::session::Debugger {
                    kind: "debugpy".into(),
                    port,
                }));
            }
            steps.push(step);
        }
        if d == Debug::Pdb && self.s.units.iter().any(|u| u.runs != Runs::Uwsgi) {
            let file = format!("{}/{PDB_HOOK_MODULE}.py", self.paths.dir);
            steps.push(Step::exec(
                format!("write {file}, which opens pdb on the unit's terminal at breakpoint()"),
                self.target(),
                Exec::write_file(&file, "git-osa-pdb", PDB_HOOK.as_bytes().to_vec()),
            ));
        }
        if let Debug::Debugpy { port } = d
            && self.s.units.iter().any(|u| u.runs == Runs::Uwsgi)
        {
            let file = self.listen_file();
            let text = LISTEN.replace("{port}", &port.to_string()).replace(
                "{python}",
                &serde_json::Value::from(format!("{}/bin/python", self.s.venv)).to_string(),
            );
            steps.push(Step::exec(
                format!("write {file}, which makes a uWSGI worker listen for debugpy on 127.0.0.1:{port}"),
                self.target(),
                Exec::write_file(&file, "git-osa-debugpy", text.into_bytes()),
            ));
        }
        steps
    }

    fn listen_file(&self) -> String {
        format!("{}/debugpy-listen.py", self.paths.dir)
    }

    /// The foreground step's units, changed to be debugged. A debugger at the terminal
    /// has one unit only: the terminal is one.
    pub(super) fn debugged(&self, step: &mut Step, d: Debug) -> Result<()> {
        let Action::Foreground { units, .. } = &mut step.action else {
            return Err(Error::user(
                "--debug and --debugpy debug a run in the foreground, not --detach",
            ));
        };
        if d.at_terminal() && units.len() != 1 {
            let names: Vec<&str> = units.iter().map(|u| u.unit.as_str()).collect();
            return Err(Error::user(format!(
                "--debug gives the terminal to one unit, and this run has {}: {}; nothing was changed",
                units.len(),
                names.join(", ")
            ))
            .hint(format!(
                "name the one to debug with --service, e.g. `--service {}`",
                names.last().copied().unwrap_or_default()
            )));
        }
        let venv = &self.s.venv;
        for u in units.iter_mut() {
            let Some(unit) = self.s.units.iter().find(|x| x.name == u.unit) else {
                continue;
            };
            let Some(info) = self.s.probe.unit(&unit.name) else {
                continue;
            };
            // The unit's own program, where the dev argv has it (after systemd-run's and
            // env's words).
            let program = info.exec_start.first().cloned().unwrap_or_default();
            let at = u
                .argv
                .iter()
                .rposition(|a| *a == program)
                .unwrap_or(u.argv.len());
            let mut before: Vec<String> = Vec::new();
            if d == Debug::Pudb {
                before.push("PYTHONBREAKPOINT=pudb.set_trace".into());
            }
            match (unit.runs, d) {
                (Runs::Uwsgi, _) => {
                    u.argv.extend(
                        [
                            "--processes",
                            "1",
                            "--threads",
                            "1",
                            "--harakiri",
                            "0",
                            "--lazy-apps",
                            "--enable-threads",
                        ]
                        .map(String::from),
                    );
                    match d {
                        Debug::Debugpy { .. } => {
                            u.argv.extend(["--import".into(), self.listen_file()])
                        }
                        _ => u.argv.push("--honour-stdin".into()),
                    }
                }
                (_, Debug::Pdb) => before.extend([
                    format!("PYTHONPATH={}", self.paths.dir),
                    format!("PYTHONBREAKPOINT={PDB_HOOK_MODULE}.set_trace"),
                ]),
                (_, Debug::Debugpy { port }) => before.extend([
                    format!("{venv}/bin/python"),
                    "-m".into(),
                    "debugpy".into(),
                    "--listen".into(),
                    format!("127.0.0.1:{port}"),
                ]),
                _ => {}
            }
            u.argv.splice(at..at, before);
        }
        step.title = match d {
            Debug::Pdb => "run in the foreground to be debugged with pdb at this terminal (breakpoint()), until Ctrl-C".into(),
            Debug::Pudb => "run in the foreground to be debugged with pudb at this terminal (breakpoint()), until Ctrl-C".into(),
            Debug::Debugpy { port } => format!(
                "run in the foreground, listening for debugpy on 127.0.0.1:{port} in the container, until Ctrl-C"
            ),
        };
        Ok(())
    }
}
