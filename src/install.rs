//! What installing the synced checkout into the service's venv depends on, the way OSA
//! installs services: OSA's constraints minus the service's own pin (the checkout replaces
//! it), the files whose change means the install must run again, and reading pip's output
//! for requirements the deployment's repo server lacks (named, never fetched silently).
//! [`pip`] is the install command the plan runs (`cycle.rs`).

use crate::catalog::normalize_package;
use crate::exec::Exec;
use crate::layout::Paths;
use crate::sync;

/// OSA's constraints without the lines that pin the service itself.
pub fn filter_constraints(text: &str, own: &[String]) -> String {
    let own: Vec<String> = own.iter().map(|p| normalize_package(p)).collect();
    let mut out = String::new();
    for line in text.lines() {
        let name: String = line
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        if !name.is_empty() && own.contains(&normalize_package(&name)) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The requirements pip could not find, from its error output.
pub fn missing_requirements(pip_output: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in pip_output.lines() {
        let rest = line
            .split_once("No matching distribution found for ")
            .map(|(_, r)| r)
            .or_else(|| {
                line.split_once("Could not find a version that satisfies the requirement ")
                    .map(|(_, r)| r)
            });
        if let Some(rest) = rest {
            let name: String = rest
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The package sources (`host:port`) pip could not reach, from its error output: a repo
/// server that is down makes pip say "No matching distribution" too, though the repo
/// server has the requirement.
pub fn unreachable_sources(pip_output: &str) -> Vec<String> {
    let mut sources = Vec::new();
    for line in pip_output.lines() {
        if !(line.contains("after connection broken by") || line.contains("Could not fetch URL")) {
            continue;
        }
        let Some((host, rest)) = line
            .split_once("host='")
            .and_then(|(_, r)| r.split_once('\''))
        else {
            continue;
        };
        let port: String = rest
            .split_once("port=")
            .map(|(_, p)| p.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        let source = if port.is_empty() {
            host.to_string()
        } else {
            format!("{host}:{port}")
        };
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    sources
}

/// Files whose change means the install must run again: requirements, packaging
/// metadata and entry points (which pbr and setuptools read from setup.cfg).
pub const INSTALL_INPUTS: [&str; 5] = [
    "requirements.txt",
    "setup.cfg",
    "setup.py",
    "pyproject.toml",
    "MANIFEST.in",
];

/// What the last install depended on: the venv, the constraints, and the install inputs.
pub fn fingerprint(venv: &str, constraints: Option<&[u8]>, inputs: &[(String, Vec<u8>)]) -> String {
    let mut parts: Vec<&[u8]> = vec![venv.as_bytes(), constraints.unwrap_or_default()];
    for (name, data) in inputs {
        parts.push(name.as_bytes());
        parts.push(data);
    }
    sync::fingerprint(&parts)
}

/// `pip install -e` of the synced checkout into `venv`, from the deployment's sources
/// only unless `index` is allowed, in the service's step scope.
pub fn pip(
    venv: &str,
    paths: &Paths,
    index: Option<&str>,
    constraints: bool,
    pbr_version: Option<&str>,
) -> Exec {
    pip_editable(
        venv,
        &paths.src(),
        constraints.then(|| paths.constraints()),
        index,
        pbr_version,
        paths.step_scope(),
    )
}

/// `pip install -e SRC` into `venv`, from the deployment's sources only unless `index`
/// is allowed, with the `constraints` file if there is one, in `scope`.
pub fn pip_editable(
    venv: &str,
    src: &str,
    constraints: Option<String>,
    index: Option<&str>,
    pbr_version: Option<&str>,
    scope: String,
) -> Exec {
    let (args, mut env) = pip_install(&["--no-build-isolation"], index, constraints);
    let mut argv = vec![format!("{venv}/bin/pip")];
    argv.extend(args);
    argv.extend(["-e".into(), src.to_string()]);
    if let Some(v) = pbr_version {
        env.push(("PBR_VERSION".into(), v.to_string()));
    }
    Exec::new(argv).with_env(env).in_scope(scope)
}

/// pip's arguments from `install` on, and the environment they need, as git-osa installs:
/// without a prompt, `extra` options, from the deployment's sources only unless `index`
/// is allowed, with the `constraints` file if there is one. What to install comes after.
pub fn pip_install(
    extra: &[&str],
    index: Option<&str>,
    constraints: Option<String>,
) -> (Vec<String>, Vec<(String, String)>) {
    let mut args = vec![
        "install".to_string(),
        "--no-input".into(),
        "--disable-pip-version-check".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let mut env = Vec::new();
    match index {
        // pip.conf may say no-index (OSA before Stein, and the lab); the environment
        // outranks the config file.
        Some(url) => {
            args.extend(["--index-url".into(), url.to_string()]);
            env.push(("PIP_NO_INDEX".to_string(), "0".to_string()));
        }
        None => args.push("--no-index".into()),
    }
    if let Some(c) = constraints {
        args.extend(["-c".into(), c]);
    }
    (args, env)
}

/// How the production venv is kept before the first change: a snapshot of hard links
/// (its cost is a directory walk, not the venv's bytes), or a full copy where git-osa
/// cannot be sure the install writes only new files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// `cp -al`: every file of the snapshot is the production file itself. Exact as long
    /// as nothing writes into an existing file in place: pip from 25.3 installs every
    /// distribution (editable ones too, PEP 660) from a wheel with its own installer, which
    /// unlinks a file before it writes one at its path, writes metadata and byte-compiled
    /// files to a temporary file renamed into place, and uninstalls by moving files away.
    Links,
    /// `cp -a`, and why.
    Copy(String),
}

/// The first pip that installs everything from a wheel with its own installer: 25.3
/// removed `setup.py develop` (which rewrites `easy-install.pth` in place) and
/// `setup.py install` went in 23.1.
pub const PIP_LINKS_FROM: (u32, u32) = (25, 3);

/// How to keep the venv whose pip is `pip` (its version, from its dist-info; None when
/// none was found) and whose site-packages has an `easy-install.pth` or not: pip rewrites
/// that file in place when it uninstalls an egg or a `setup.py develop` install.
pub fn keeping(pip: Option<&str>, easy_install_pth: bool) -> Keep {
    let Some(version) = pip else {
        return Keep::Copy("no pip found in the venv".into());
    };
    let Some(release) = release(version) else {
        return Keep::Copy(format!(
            "pip {version} in the venv: a version git-osa cannot read"
        ));
    };
    if release < PIP_LINKS_FROM {
        return Keep::Copy(format!(
            "pip {version} in the venv may install with setuptools' `setup.py develop`, which writes into files in place"
        ));
    }
    if easy_install_pth {
        return Keep::Copy(
            "its easy-install.pth, which pip rewrites in place when it uninstalls an egg".into(),
        );
    }
    Keep::Links
}

/// The first two numbers of a version (`25.3` of `25.3.1`, `26.0b1`).
fn release(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()
        .unwrap_or("0")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

/// The version of the pip installed in `venv`, from the `pip-<version>.dist-info` folder
/// among `paths` (what the survey's probe found).
pub fn pip_version(venv: &str, paths: &[String]) -> Option<String> {
    let site = format!("{venv}/lib/python3");
    paths.iter().find_map(|p| {
        let rest = p.strip_prefix(&site)?;
        let (_, name) = rest.split_once("/site-packages/")?;
        name.strip_prefix("pip-")?
            .strip_suffix(".dist-info")
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_only_the_services_own_pin() {
        let c = "keystone==30.0.0\nkeystonemiddleware==10.9.0\nKeystone_Client==1\noslo.config===9.6.0\n";
        let out = filter_constraints(c, &["keystone".into()]);
        assert_eq!(
            out,
            "keystonemiddleware==10.9.0\nKeystone_Client==1\noslo.config===9.6.0\n"
        );
        let out = filter_constraints(
            "openstack_heat==23.0.0\nheat-translator==1\n",
            &["openstack-heat".into()],
        );
        assert_eq!(out, "heat-translator==1\n");
    }

    #[test]
    fn names_what_the_repo_server_lacks() {
        let pip = "Looking in links: http://172.29.236.1:8181/\n\
ERROR: Could not find a version that satisfies the requirement pyjokes>=0.6 (from keystone) (from versions: none)\n\
ERROR: No matching distribution found for pyjokes>=0.6\n";
        assert_eq!(missing_requirements(pip), ["pyjokes"]);
        assert!(missing_requirements("ERROR: some other failure").is_empty());
    }

    #[test]
    fn a_repo_server_that_is_down_is_told_from_one_that_lacks_a_requirement() {
        let pip = "Looking in links: http://172.29.236.1:8181/\n\
WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError(\"HTTPConnection(host='172.29.236.1', port=8181): Failed to establish a new connection: [Errno 111] Connection refused\")': /\n\
ERROR: Could not find a version that satisfies the requirement uWSGI (from versions: none)\n\
ERROR: No matching distribution found for uWSGI\n";
        assert_eq!(unreachable_sources(pip), ["172.29.236.1:8181"]);
        assert_eq!(missing_requirements(pip), ["uWSGI"]);
        let lacks = "ERROR: No matching distribution found for pyjokes\n";
        assert!(unreachable_sources(lacks).is_empty());
    }

    #[test]
    fn the_venv_is_linked_only_where_pip_installs_every_file_anew() {
        assert_eq!(keeping(Some("26.3"), false), Keep::Links);
        assert_eq!(keeping(Some("25.3"), false), Keep::Links);
        assert_eq!(keeping(Some("25.3.1"), false), Keep::Links);
        let Keep::Copy(why) = keeping(Some("25.2"), false) else {
            panic!("pip 25.2 may run setup.py develop")
        };
        assert!(why.contains("pip 25.2"), "{why}");
        assert!(matches!(keeping(Some("24.0"), false), Keep::Copy(_)));
        assert!(matches!(keeping(Some("9.0.1"), false), Keep::Copy(_)));
        assert!(matches!(keeping(None, false), Keep::Copy(_)));
        assert!(matches!(keeping(Some("main"), false), Keep::Copy(_)));
        let Keep::Copy(why) = keeping(Some("26.3"), true) else {
            panic!("easy-install.pth is rewritten in place")
        };
        assert!(why.contains("easy-install.pth"), "{why}");
        assert_eq!(keeping(Some("26.0b1"), false), Keep::Links);
    }

    #[test]
    fn pip_s_version_comes_from_its_dist_info_in_the_venv() {
        let paths = [
            "/openstack/venvs/keystone-29.0.0/lib/python3.11/site-packages/pip-24.0.dist-info"
                .to_string(),
            "/openstack/venvs/keystone-30.0.0".to_string(),
            "/openstack/venvs/keystone-30.0.0/lib/python3.11/site-packages/pip-26.3.dist-info"
                .to_string(),
        ];
        assert_eq!(
            pip_version("/openstack/venvs/keystone-30.0.0", &paths).as_deref(),
            Some("26.3")
        );
        assert_eq!(pip_version("/openstack/venvs/heat-1", &paths), None);
    }
}
