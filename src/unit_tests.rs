//! `git osa test`: the project's unit tests, against the synced tree, in the service's
//! container. The runner is the one the project declares (`.stestr.conf` or tox's
//! `stestr` for stestr; pytest's own config or tox's `pytest` for pytest). The test
//! requirements go into a venv of the session's (`test-venv` in its folder, removed with
//! it) that sees the service venv's packages after its own: the tests import exactly what
//! the service runs, and the service's venv is left as it is. The venv is made again only
//! when the test requirements, the constraints or the runner changed.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::TestRunner;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::exec::Exec;
use crate::execute::Runner;
use crate::inside::Inside;
use crate::plan::Step;
use crate::redeploy::{self, Sync};

impl TestRunner {
    pub fn name(self) -> &'static str {
        match self {
            TestRunner::Stestr => "stestr",
            TestRunner::Pytest => "pytest",
        }
    }

    /// The command that runs the tests, with the user's arguments.
    fn argv(self, args: &[String]) -> Vec<String> {
        let mut argv: Vec<String> = match self {
            TestRunner::Stestr => vec!["stestr".into(), "run".into()],
            TestRunner::Pytest => vec!["python".into(), "-m".into(), "pytest".into()],
        };
        argv.extend(args.iter().cloned());
        argv
    }
}

/// The runners a checkout declares, each with where it says so.
pub fn declared(root: &Path) -> Vec<(TestRunner, String)> {
    let read = |f: &str| std::fs::read_to_string(root.join(f)).ok();
    let mut found: Vec<(TestRunner, String)> = Vec::new();
    let mut add = |r: TestRunner, why: String| {
        if !found.iter().any(|(x, _)| *x == r) {
            found.push((r, why));
        }
    };
    if root.join(".stestr.conf").is_file() {
        add(TestRunner::Stestr, ".stestr.conf".into());
    }
    if root.join("pytest.ini").is_file() {
        add(TestRunner::Pytest, "pytest.ini".into());
    }
    if let Some(t) = read("pyproject.toml")
        && toml::from_str::<toml::Table>(&t)
            .ok()
            .and_then(|d| d.get("tool")?.get("pytest").cloned())
            .is_some()
    {
        add(TestRunner::Pytest, "pyproject.toml [tool.pytest]".into());
    }
    if let Some(t) = read("setup.cfg")
        && t.lines().any(|l| l.trim() == "[tool:pytest]")
    {
        add(TestRunner::Pytest, "setup.cfg [tool:pytest]".into());
    }
    if let Some(t) = read("tox.ini") {
        if t.lines().any(|l| l.trim() == "[pytest]") {
            add(TestRunner::Pytest, "tox.ini [pytest]".into());
        }
        let commands = tox_commands(&t);
        if commands
            .iter()
            .any(|c| c.split_whitespace().next() == Some("stestr"))
        {
            add(TestRunner::Stestr, "tox.ini [testenv] commands".into());
        }
        if commands.iter().any(|c| {
            let mut w = c.split_whitespace();
            let first = w.next();
            first == Some("pytest")
                || first == Some("py.test")
                || (first.is_some_and(|p| p.starts_with("python"))
                    && w.next() == Some("-m")
                    && w.next() == Some("pytest"))
        }) {
            add(TestRunner::Pytest, "tox.ini [testenv] commands".into());
        }
    }
    found
}

/// The lines of tox.ini's `[testenv] commands`, continuation lines included.
fn tox_commands(tox: &str) -> Vec<String> {
    testenv_values(tox, "commands")
}

/// The requirements of the extras tox installs the project with for its tests (`.[ldap]`
/// in `[testenv] deps`: keystone's unit tests import python-ldap), from the project's
/// `[project.optional-dependencies]` (pyproject.toml) or `[extras]` (setup.cfg).
pub fn test_extras(root: &Path) -> Vec<String> {
    let read = |f: &str| std::fs::read_to_string(root.join(f)).ok();
    let Some(tox) = read("tox.ini") else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    for dep in testenv_values(&tox, "deps") {
        let dep = dep.trim_start_matches("-e").trim();
        let Some(rest) = dep
            .strip_prefix(".[")
            .or_else(|| dep.strip_prefix("{toxinidir}["))
        else {
            continue;
        };
        let Some(list) = rest.split(']').next() else {
            continue;
        };
        names.extend(
            list.split(',')
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
        );
    }
    let pyproject = read("pyproject.toml").and_then(|t| toml::from_str::<toml::Table>(&t).ok());
    let setup = read("setup.cfg").unwrap_or_default();
    let mut out = Vec::new();
    for name in names {
        let from_pyproject = pyproject
            .as_ref()
            .and_then(|d| {
                d.get("project")?
                    .get("optional-dependencies")?
                    .get(&name)?
                    .as_array()
                    .cloned()
            })
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect::<Vec<_>>()
            });
        let reqs = from_pyproject.unwrap_or_else(|| setup_cfg_extra(&setup, &name));
        for r in reqs {
            let r = r.split('#').next().unwrap_or_default().trim().to_string();
            if !r.is_empty() && !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// The requirements of `name` in setup.cfg's `[extras]`, a line each below it.
fn setup_cfg_extra(setup: &str, name: &str) -> Vec<String> {
    let mut in_extras = false;
    let mut in_name = false;
    let mut out = Vec::new();
    for line in setup.lines() {
        let t = line.trim();
        if let Some(section) = t.strip_prefix('[') {
            in_extras = section.trim_end_matches(']').trim() == "extras";
            in_name = false;
            continue;
        }
        if !in_extras {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if in_name && !t.is_empty() {
                out.push(t.to_string());
            }
            continue;
        }
        in_name = t.split_once('=').is_some_and(|(k, _)| k.trim() == name);
    }
    out
}

/// The values of `key` in tox.ini's `[testenv]`: on its line and the indented ones after.
fn testenv_values(tox: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_testenv = false;
    let mut in_commands = false;
    for line in tox.lines() {
        let t = line.trim();
        if let Some(section) = t.strip_prefix('[') {
            in_testenv = section.trim_end_matches(']').trim() == "testenv";
            in_commands = false;
            continue;
        }
        if !in_testenv {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if in_commands && indented && !t.is_empty() {
            out.push(t.to_string());
            continue;
        }
        in_commands = false;
        if let Some((k, v)) = t.split_once('=')
            && k.trim() == key
        {
            in_commands = true;
            if !v.trim().is_empty() {
                out.push(v.trim().to_string());
            }
        }
    }
    out
}

/// The runner to use: the one asked for, which the project must declare; else the one it
/// declares.
pub fn choose(root: &Path, asked: Option<TestRunner>) -> Result<TestRunner> {
    let found = declared(root);
    let list = |f: &[(TestRunner, String)]| -> String {
        f.iter()
            .map(|(r, why)| format!("{} ({why})", r.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (asked, found.as_slice()) {
        (Some(r), f) if f.iter().any(|(x, _)| *x == r) => Ok(r),
        (Some(r), []) => Err(Error::user(format!(
            "{} declares no test runner, so not {}: nothing was changed",
            root.display(),
            r.name()
        ))
        .hint("git osa runs the runner a project declares: .stestr.conf, pytest's configuration, or tox.ini's [testenv] commands")),
        (Some(r), f) => Err(Error::user(format!(
            "{} does not declare {}: it declares {}; nothing was changed",
            root.display(),
            r.name(),
            list(f)
        ))
        .hint(format!("run `git osa test --runner {}`, or leave --runner out", f[0].0.name()))),
        (None, []) => Err(Error::user(format!(
            "{} declares no test runner: nothing was changed",
            root.display()
        ))
        .hint("git osa runs the runner a project declares: .stestr.conf, pytest's configuration, or tox.ini's [testenv] commands")),
        (None, [(r, _)]) => Ok(*r),
        (None, f) => Err(Error::user(format!(
            "{} declares more than one test runner: {}; nothing was changed",
            root.display(),
            list(f)
        ))
        .hint(format!("pick one with --runner, e.g. `git osa test --runner {}`", f[0].0.name()))),
    }
}

/// Makes the test venv again when what it was made from changed: created from the
/// service venv's Python, layered on the service venv (a `.pth` adds its site-packages,
/// with their own `.pth` files, after the test venv's own), then pip with the arguments
/// after the fingerprint. The fingerprint is written last: a venv cut short is made again.
const TEST_VENV: &str = r#"
venv=$1 tv=$2 want=$3; shift 3
if [ -f "$tv/git-osa-fingerprint" ] && [ "$(cat "$tv/git-osa-fingerprint")" = "$want" ]; then
  echo "the test venv $tv is up to date"; exit 0
fi
rm -rf "$tv"
"$venv/bin/python" -m venv "$tv" || exit 1
for site in "$venv"/lib/python3*/site-packages; do :; done
"$tv/bin/python" -c 'import os, sys, sysconfig
p = os.path.join(sysconfig.get_paths()["purelib"], "zz-git-osa-service-venv.pth")
open(p, "w").write("import site; site.addsitedir(%r)\n" % sys.argv[1])' "$site" || exit 1
"$tv/bin/pip" "$@" || exit 1
printf '%s' "$want" > "$tv/git-osa-fingerprint"
"#;

/// What `git osa test` asks for.
pub struct Tests<'a> {
    pub container: Option<String>,
    pub runner: Option<TestRunner>,
    pub allow_public_index: Option<String>,
    pub force: bool,
    pub args: &'a [String],
}

pub fn test(ctx: &Context, req: &Tests) -> Result<ExitCode> {
    let project = ctx.project()?;
    let runner = choose(&project.checkout.root, req.runner)?;
    redeploy::sync(
        ctx,
        &Sync {
            container: req.container.clone(),
            allow_public_index: req.allow_public_index.clone(),
            dry_run: false,
            force: req.force,
            reconfigure: Default::default(),
        },
    )?;
    let inside = Inside::find(ctx, req.container.as_deref())?;
    let Some(session) = inside.session.clone() else {
        return Err(Error::failed(format!(
            "{} is in no dev session after the sync",
            inside.target.name
        )));
    };
    let paths = inside.paths.clone();
    let tv = paths.test_venv();
    let reqs = project.checkout.root.join("test-requirements.txt");
    let reqs_text = std::fs::read(&reqs).unwrap_or_default();
    let extras = test_extras(&project.checkout.root);
    // What the test venv is made from: made again when any of it changes.
    let fingerprint = |index: Option<&str>| {
        crate::sync::fingerprint(&[
            inside.venv.as_bytes(),
            &reqs_text,
            runner.name().as_bytes(),
            index.unwrap_or_default().as_bytes(),
            extras.join("\n").as_bytes(),
        ])
    };
    let pip = |index: Option<&str>| -> Exec {
        // The session's constraints: OSA's, without the service's own pin.
        let (mut args, env) = crate::install::pip_install(&[], index, Some(paths.constraints()));
        if reqs.is_file() {
            args.extend([
                "-r".into(),
                format!("{}/test-requirements.txt", paths.src()),
            ]);
        }
        args.extend(extras.iter().cloned());
        args.push(runner.name().into());
        let want = fingerprint(index);
        let mut script_args: Vec<&str> = vec![&inside.venv, &tv, &want];
        script_args.extend(args.iter().map(String::as_str));
        Exec::script(TEST_VENV, "git-osa-test-venv", &script_args)
            .with_env(env)
            .in_scope(paths.step_scope())
    };
    let title = format!(
        "the test requirements and {} in {tv}, a venv layered on {}",
        runner.name(),
        inside.venv
    );
    // A test venv made from the same, with or without the public index, is kept.
    let made = inside
        .target
        .output(&["cat", &format!("{tv}/git-osa-fingerprint")], None)
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let offer = &ctx.settings.public_index.value;
    let up_to_date = made.is_some_and(|m| {
        [
            req.allow_public_index.as_deref(),
            None,
            Some(offer.as_str()),
        ]
        .iter()
        .any(|i| fingerprint(*i) == m)
    });
    let step = Step::pip(
        title,
        &inside.target,
        pip,
        req.allow_public_index.as_deref(),
        offer,
    )
    .skip_if(up_to_date.then(|| format!("the test venv {tv} is up to date")));
    Runner::new(&ctx.ui, ctx.haproxy(), paths.clone(), session).run(&step)?;
    let command = runner.argv(req.args);
    ctx.ui.step(format!(
        "running {} {}",
        crate::transport::shell_words(&command),
        inside.describe()
    ));
    let terminal = ctx.ui.interactive;
    let mut extra = if terminal {
        crate::inside::term()
    } else {
        Vec::new()
    };
    extra.push("PYTHONDONTWRITEBYTECODE=1".into());
    let argv = inside.argv(
        &tv,
        &format!("{tv}/bin:{}/bin", inside.venv),
        &extra,
        &command,
    );
    inside.run(&argv, terminal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkout(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (f, t) in files {
            std::fs::write(d.path().join(f), t).unwrap();
        }
        d
    }

    #[test]
    fn the_runner_is_the_one_the_project_declares() {
        let keystone = checkout(&[
            (
                ".stestr.conf",
                "[DEFAULT]\ntest_path=./keystone/tests/unit\n",
            ),
            (
                "tox.ini",
                "[tox]\nminversion = 3.18.0\n\n[testenv]\nusedevelop = True\ncommands =\n  stestr run {posargs}\nallowlist_externals =\n  bash\n\n[testenv:venv]\ncommands = {posargs}\n",
            ),
        ]);
        let found = declared(keystone.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, TestRunner::Stestr);
        assert_eq!(choose(keystone.path(), None).unwrap(), TestRunner::Stestr);
        let err = choose(keystone.path(), Some(TestRunner::Pytest)).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "does not declare pytest: it declares stestr (.stestr.conf); nothing was changed"
            ),
            "{err}"
        );
        assert_eq!(err.exit_code(), 2);

        let lib = checkout(&[(
            "tox.ini",
            "[testenv]\ncommands = python -m pytest {posargs}\n",
        )]);
        assert_eq!(choose(lib.path(), None).unwrap(), TestRunner::Pytest);
        let py = checkout(&[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\naddopts = \"-q\"\n",
        )]);
        assert_eq!(choose(py.path(), None).unwrap(), TestRunner::Pytest);

        let none = checkout(&[("README", "x")]);
        let err = choose(none.path(), None).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("declares no test runner: nothing was changed")
        );
        let both = checkout(&[(".stestr.conf", ""), ("pytest.ini", "[pytest]\n")]);
        assert!(choose(both.path(), None).is_err());
        assert_eq!(
            choose(both.path(), Some(TestRunner::Pytest)).unwrap(),
            TestRunner::Pytest
        );
    }

    /// keystone's tox installs it with its `ldap` extra, which its unit tests import.
    #[test]
    fn the_extras_tox_installs_for_the_tests_are_test_requirements_too() {
        let keystone = checkout(&[
            (
                "tox.ini",
                "[testenv]\nusedevelop = True\ndeps =\n  -c{env:TOX_CONSTRAINTS_FILE:https://x}\n  -r{toxinidir}/test-requirements.txt\n  .[ldap]\ncommands =\n  stestr run {posargs}\n\n[testenv:docs]\ndeps = .[docs]\n",
            ),
            (
                "pyproject.toml",
                "[project]\nname = \"keystone\"\n[project.optional-dependencies]\nldap = [\n    \"python-ldap>=3.0.0\", # PSF\n    \"ldappool>=2.3.1\",\n]\ndocs = [\"sphinx\"]\n",
            ),
        ]);
        assert_eq!(
            test_extras(keystone.path()),
            ["python-ldap>=3.0.0", "ldappool>=2.3.1"]
        );
        let old = checkout(&[
            ("tox.ini", "[testenv]\ndeps = -e .[ldap,memcache]\n"),
            (
                "setup.cfg",
                "[metadata]\nname = keystone\n\n[extras]\nldap =\n  python-ldap>=3.0.0 # PSF\n  ldappool>=2.3.1 # MPL\nmemcache =\n  python-memcached>=1.56 # PSF\n",
            ),
        ]);
        assert_eq!(
            test_extras(old.path()),
            [
                "python-ldap>=3.0.0",
                "ldappool>=2.3.1",
                "python-memcached>=1.56"
            ]
        );
        assert!(test_extras(checkout(&[("README", "")]).path()).is_empty());
    }

    #[test]
    fn the_runners_command_takes_the_users_arguments() {
        let args = vec!["keystone.tests.unit.test_exception".to_string()];
        assert_eq!(
            TestRunner::Stestr.argv(&args),
            ["stestr", "run", "keystone.tests.unit.test_exception"]
        );
        assert_eq!(TestRunner::Pytest.argv(&[]), ["python", "-m", "pytest"]);
    }
}
