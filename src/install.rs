//! What installing the synced checkout into the service's venv depends on, the way OSA
//! installs services: OSA's constraints minus the service's own pin (the checkout replaces
//! it), the files whose change means the install must run again, and reading pip's output
//! for requirements the deployment's repo server lacks (named, never fetched silently).
//! [`pip`] is the install command the plan runs (`cycle.rs`).

use crate::catalog::normalize_package;
use crate::exec::{Exec, Input};
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
/// only unless `index` is allowed, in the service's step scope; `built`: this run built
/// its editable wheel beforehand ([`build_editable`]).
pub fn pip(
    venv: &str,
    paths: &Paths,
    index: Option<&str>,
    constraints: bool,
    pbr_version: Option<&str>,
    built: bool,
) -> Exec {
    pip_editable(
        venv,
        &paths.src(),
        &paths.editable(),
        built,
        Editable {
            constraints: constraints.then(|| paths.constraints()),
            index,
            pbr_version,
        },
        paths.step_scope(),
    )
}

/// What an editable install of a checkout depends on besides its folders.
pub struct Editable<'a> {
    /// The constraints file, if there is one.
    pub constraints: Option<String>,
    /// The package index pip may use besides the deployment's sources.
    pub index: Option<&'a str>,
    /// `PBR_VERSION` for pbr, which cannot read a version from the synced tree.
    pub pbr_version: Option<&'a str>,
}

/// The program that builds a checkout's editable wheel and says how pip is to install
/// it (`editable_wheel.py`).
pub const EDITABLE_WHEEL: &str = include_str!("editable_wheel.py");

/// Empties `$out` for a new build and keeps `editable_wheel.py` there, read on stdin:
/// only this can fail the build.
macro_rules! empty_sh {
    () => {
        r#"rm -rf "$out" && mkdir -p "$out" && cat > "$out/editable_wheel.py" || exit 1
"#
    };
}

/// Builds, in `$out`, the editable wheel of the checkout in `$src` with the venv's Python
/// `$python`. Without a wheel, pip builds one.
macro_rules! build_sh {
    () => {
        r#""$python" -I -B "$out/editable_wheel.py" build "$out" "$src" >&2 || echo "git-osa: no editable wheel built beforehand; pip builds it" >&2
"#
    };
}

/// The build ahead of the install.
const BUILD: &str = concat!("out=$1 src=$2 python=$3\n", empty_sh!(), build_sh!());

/// Installs the checkout in `$src` from what [`BUILD`] made in `$out` (built first unless
/// `$built` is 1: this run built it), with pip's argv after them up to what to install:
/// its wheel (`--no-deps` when it requires what the installed one did), recorded then as
/// the editable install of `$src` it is; or `-e` of the checkout when there is no wheel.
const INSTALL: &str = concat!(
    "out=$1 src=$2 built=$3 python=$4\nshift 4\nif [ \"$built\" != 1 ]; then\n",
    empty_sh!(),
    build_sh!(),
    r#"fi
if [ -f "$out/ready" ] && read -r mode wheel < "$out/ready" && [ -f "$wheel" ]; then
  case $mode in
    same) "$@" --no-deps --force-reinstall "$wheel" ;;
    *) "$@" "$wheel" ;;
  esac || exit
  exec "$python" -I -B "$out/editable_wheel.py" editable "$wheel" "$src"
fi
exec "$@" -e "$src""#
);

/// The editable wheel of the checkout in `src`, built into `out` with the venv's own
/// build backend, in `scope`: what pip would build for `-e`, in one process, ahead of the
/// install that needs it (the install with `built` uses it).
pub fn build_editable(
    venv: &str,
    src: &str,
    out: &str,
    pbr_version: Option<&str>,
    scope: String,
) -> Exec {
    let python = format!("{venv}/bin/python");
    Exec::script(BUILD, "git-osa-build", &[out, src, &python])
        .with_stdin(Input::Bytes(EDITABLE_WHEEL.as_bytes().to_vec()))
        .with_env(pbr_env(pbr_version))
        .in_scope(scope)
}

fn pbr_env(pbr_version: Option<&str>) -> Vec<(String, String)> {
    pbr_version
        .map(|v| ("PBR_VERSION".to_string(), v.to_string()))
        .into_iter()
        .collect()
}

/// `pip install -e SRC` into `venv` as git-osa installs, in `scope`: through the editable
/// wheel in `out` ([`build_editable`], there already when `built`, else built first),
/// which is what pip would build for `-e`, in one process instead of pip's three, and
/// without resolving the requirements again when they are the installed distribution's.
pub fn pip_editable(
    venv: &str,
    src: &str,
    out: &str,
    built: bool,
    with: Editable,
    scope: String,
) -> Exec {
    let (pip_args, mut env) = pip_install(&["--no-build-isolation"], with.index, with.constraints);
    env.extend(pbr_env(with.pbr_version));
    let python = format!("{venv}/bin/python");
    let pip = format!("{venv}/bin/pip");
    let flag = if built { "1" } else { "0" };
    let mut args: Vec<&str> = vec![out, src, flag, &python, &pip];
    args.extend(pip_args.iter().map(String::as_str));
    let exec = Exec::script(INSTALL, "git-osa-install", &args)
        .with_env(env)
        .in_scope(scope);
    // pip reads nothing (`--no-input`): the program is for the build, when it runs here.
    if built {
        exec
    } else {
        exec.with_stdin(Input::Bytes(EDITABLE_WHEEL.as_bytes().to_vec()))
    }
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

    /// `editable_wheel.py` as the container runs it, with the host's Python: a project
    /// whose in-tree backend builds a wheel (a METADATA and a line on stdout), against
    /// what the venv has installed of it.
    #[test]
    fn the_editable_wheel_says_how_pip_installs_it_and_its_record_says_editable() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let out = tmp.path().join("out");
        std::fs::create_dir_all(&src).unwrap();
        let write = |path: &std::path::Path, text: &str| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            &src.join("pyproject.toml"),
            "[build-system]\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n",
        );
        write(
            &src.join("backend.py"),
            "import os, zipfile\n\
             def build_editable(wheel_directory, config_settings=None, metadata_directory=None):\n\
             \x20   print('building on stdout')\n\
             \x20   name = 'demo-1.1-0.editable-py3-none-any.whl'\n\
             \x20   with zipfile.ZipFile(os.path.join(wheel_directory, name), 'w') as z:\n\
             \x20       z.writestr('demo-1.1.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: demo\\nVersion: 1.1\\nRequires-Dist: alpha>=1\\nRequires-Dist: beta\\n')\n\
             \x20       z.writestr('__editable__.demo-1.1.pth', '/src\\n')\n\
             \x20   return name\n",
        );
        let wheel = out.join("demo-1.1-0.editable-py3-none-any.whl");
        // The venv's site-packages, where pip installed it: on the path of `editable`.
        let site = tmp.path().join("site");
        let run = |args: &[&std::path::Path]| {
            let mut python = std::process::Command::new("python3");
            if args[0] == std::path::Path::new("editable") {
                python.arg("-B").env("PYTHONPATH", &site);
            } else {
                python.args(["-I", "-B"]);
            }
            let o = python
                .arg(out.join("editable_wheel.py"))
                .args(args)
                .output()
                .expect("python3 runs (the host's, as on the lab's machines)");
            (
                o.status.success(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        };
        // As the build step does: an empty folder holding the program.
        let build = || {
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir_all(&out).unwrap();
            std::fs::write(out.join("editable_wheel.py"), EDITABLE_WHEEL).unwrap();
            let r = run(&[std::path::Path::new("build"), &out, &src]);
            (r, std::fs::read_to_string(out.join("ready")).ok())
        };
        let uninstall = || {
            for d in std::fs::read_dir(&src).unwrap() {
                let d = d.unwrap().path();
                if d.to_string_lossy().ends_with(".dist-info") {
                    std::fs::remove_dir_all(d).unwrap();
                }
            }
        };
        // What the venv has installed of it: a dist-info on the path (the backend's).
        let installed = |version: &str, requires: &[&str], direct_url: Option<&str>| {
            uninstall();
            let info = src.join(format!("demo-{version}.dist-info"));
            let mut meta = format!("Metadata-Version: 2.1\nName: demo\nVersion: {version}\n");
            for r in requires {
                meta.push_str(&format!("Requires-Dist: {r}\n"));
            }
            write(&info.join("METADATA"), &meta);
            if let Some(u) = direct_url {
                write(&info.join("direct_url.json"), u);
            }
        };
        let resolve = format!("resolve {}\n", wheel.display());
        let same = format!("same {}\n", wheel.display());

        // Nothing installed: pip resolves its requirements.
        let ((ok, stdout, stderr), ready) = build();
        assert!(ok, "{stderr}");
        assert_eq!(ready.as_deref(), Some(resolve.as_str()));
        assert!(wheel.is_file());
        assert_eq!(stdout, "", "the backend's log goes to stderr");
        assert!(stderr.contains("building on stdout"), "{stderr}");
        // Production at another version requiring the same, in another order: pip
        // installs the wheel alone.
        installed("1.0", &["beta", "alpha>=1"], None);
        assert_eq!(build().1.as_deref(), Some(same.as_str()));
        // ... requiring something else: resolved.
        installed("1.0", &["alpha>=2", "beta"], None);
        assert_eq!(build().1.as_deref(), Some(resolve.as_str()));
        // The wheel's version, editable (an earlier install of the session): resolved.
        installed(
            "1.1",
            &["alpha>=2"],
            Some(r#"{"dir_info": {"editable": true}, "url": "file:///x"}"#),
        );
        assert_eq!(build().1.as_deref(), Some(resolve.as_str()));
        // The wheel's version, not editable: pip would keep it, so no wheel is offered.
        installed(
            "1.1",
            &["alpha>=2"],
            Some(r#"{"archive_info": {}, "url": "file:///x.whl"}"#),
        );
        let ((ok, _, stderr), ready) = build();
        assert!(!ok && ready.is_none(), "{stderr}");
        assert!(
            stderr.contains("demo 1.1 is installed, not editable"),
            "{stderr}"
        );
        // A backend that builds no editables: no wheel.
        let pyproject = std::fs::read_to_string(src.join("pyproject.toml")).unwrap();
        write(
            &src.join("pyproject.toml"),
            "[build-system]\nbuild-backend = \"json\"\n",
        );
        let ((ok, _, stderr), ready) = build();
        assert!(!ok && ready.is_none(), "{stderr}");
        assert!(
            stderr.contains("the build backend json builds no editable wheel"),
            "{stderr}"
        );
        write(&src.join("pyproject.toml"), &pyproject);
        uninstall();
        assert_eq!(build().1.as_deref(), Some(resolve.as_str()));

        // After pip installed the wheel, its record says editable, as `-e` would; RECORD
        // hashes the new file.
        let info = site.join("demo-1.1.dist-info");
        write(
            &info.join("METADATA"),
            "Metadata-Version: 2.1\nName: demo\nVersion: 1.1\n",
        );
        let old = r#"{"archive_info": {}, "url": "file:///out/demo.whl"}"#;
        write(&info.join("direct_url.json"), old);
        let record = "demo-1.1.dist-info/METADATA,sha256=abc,40\r\n\
                      demo-1.1.dist-info/direct_url.json,sha256=old,51\r\n\
                      demo-1.1.dist-info/RECORD,,\r\n";
        write(&info.join("RECORD"), record);
        // The snapshot's hard link keeps production's bytes.
        std::fs::hard_link(info.join("direct_url.json"), tmp.path().join("kept")).unwrap();
        let (ok, _, stderr) = run(&[std::path::Path::new("editable"), &wheel, &src]);
        assert!(ok, "{stderr}");
        let url = format!(
            r#"{{"dir_info": {{"editable": true}}, "url": "file://{}"}}"#,
            src.display()
        );
        assert_eq!(
            std::fs::read_to_string(info.join("direct_url.json")).unwrap(),
            url
        );
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("kept")).unwrap(),
            old
        );
        // The hash as the wheel format spells it, by Python's own hashlib.
        let digest = std::process::Command::new("python3")
            .args([
                "-c",
                "import base64, hashlib, sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b'=').decode())",
                &url,
            ])
            .output()
            .unwrap();
        let digest = String::from_utf8(digest.stdout).unwrap();
        let digest = digest.trim();
        assert_eq!(
            std::fs::read_to_string(info.join("RECORD")).unwrap(),
            format!(
                "demo-1.1.dist-info/METADATA,sha256=abc,40\r\n\
                 demo-1.1.dist-info/direct_url.json,sha256={digest},{}\r\n\
                 demo-1.1.dist-info/RECORD,,\r\n",
                url.len()
            )
        );
    }
}
