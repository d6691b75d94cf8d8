//! The committed completions, man pages and README table of settings must be what the CLI
//! definition and the list of settings generate.
//! `GIT_OSA_BLESS=1 cargo test --test generated` rewrites them.

mod render;

use std::path::Path;
use std::process::Command;

use clap::CommandFactory;

use git_osa::cli::Cli;

#[test]
fn committed_completions_and_man_page_are_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("GIT_OSA_BLESS").is_some();
    let mut stale = Vec::new();
    for (rel, want) in render::all() {
        let path = root.join(&rel);
        let have = std::fs::read(&path).unwrap_or_default();
        if have == want {
            continue;
        }
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
        } else {
            stale.push(rel.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {} (run `GIT_OSA_BLESS=1 cargo test --test generated` and commit them)",
        stale.join(", ")
    );
}

/// The README says which Rust builds git-osa, and it is Cargo.toml's `rust-version`.
#[test]
fn the_readme_names_the_rust_version_cargo_toml_needs() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let needs = format!("Rust {} or later", env!("CARGO_PKG_RUST_VERSION"));
    assert!(
        readme.contains(&needs),
        "README.md does not say \"{needs}\""
    );
}

/// A heat checkout beside an OSA inventory that puts heat's units in two containers: what
/// `--container` and `--service` complete from.
struct Deployment {
    dir: tempfile::TempDir,
}

const HEAT_API: &str = "aio1-heat-api-container-1b2c3d4e";
const HEAT_ENGINE: &str = "aio1-heat-engine-container-5f6a7b8c";

impl Deployment {
    fn new() -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let checkout = dir.path().join("heat");
        let st = Command::new("git")
            .args(["init", "-q"])
            .arg(&checkout)
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::write(
            checkout.join(".gitreview"),
            "[gerrit]\nhost=review.opendev.org\nproject=openstack/heat.git\n",
        )
        .unwrap();
        let host = |name: &str| {
            format!(r#""{name}": {{"container_name": "{name}", "physical_host": "aio1"}}"#)
        };
        std::fs::write(
            dir.path().join("inventory.json"),
            format!(
                r#"{{"_meta": {{"hostvars": {{{}, {}}}}},
                "heat_api": {{"hosts": ["{HEAT_API}"]}}, "heat_api_cfn": {{"hosts": ["{HEAT_API}"]}},
                "heat_engine": {{"hosts": ["{HEAT_ENGINE}"]}}}}"#,
                host(HEAT_API),
                host(HEAT_ENGINE)
            ),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        Deployment { dir }
    }

    fn inventory(&self) -> String {
        self.dir.path().join("inventory.json").display().to_string()
    }

    /// `program` run in the checkout, with none of the user's git-osa settings and this
    /// build's git-osa first on PATH (`bin` before it, when given).
    fn command(&self, program: &str, bin: Option<&Path>) -> Command {
        let mut cmd = Command::new(program);
        let build = Path::new(env!("CARGO_BIN_EXE_git-osa")).parent().unwrap();
        let mut path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .collect::<Vec<_>>();
        path.insert(0, build.to_path_buf());
        if let Some(bin) = bin {
            path.insert(0, bin.to_path_buf());
        }
        cmd.current_dir(self.dir.path().join("heat"))
            .env("PATH", std::env::join_paths(path).unwrap())
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("home/.config"))
            .env("GIT_CONFIG_NOSYSTEM", "1");
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("GIT_OSA_") {
                cmd.env_remove(var);
            }
        }
        cmd
    }
}

#[test]
fn bash_completion_completes_git_osa_subcommands_options_and_names() {
    // Drive git's real bash completion the way a shell does for `git osa st<TAB>`: git's
    // function calls our _git_osa, which hands --container's and --service's values to
    // `git-osa __complete`.
    let git_completion = [
        "/usr/share/bash-completion/completions/git",
        "/usr/share/bash-completion/completions/git.bash",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists());
    let Some(git_completion) = git_completion else {
        panic!("git's bash completion is not installed (apt-get install bash-completion git)");
    };
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/git-osa.bash");
    let script = r#"
        source "$1"; source "$2"; inv=$3
        tab() {
            COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
            __git_wrap__git_main
            echo "$*|${COMPREPLY[*]}"
        }
        tab git osa st
        tab git osa restore --
        tab git osa config --
        tab git osa --inventory "$inv" restore --container ''
        tab git osa --inventory "$inv" --container = aio1-heat-e
        # bash splits --inventory=PATH into three words, as it does --container=x.
        tab git osa --inventory = "$inv" run --service heat-api
        tab git osa --inventory "$inv" --container aio1-heat-engine-container-5f6a7b8c --service ''
        GIT_OSA_INVENTORY=/nowhere tab git osa --container ''
        tab git osa --inventory "$inv" logs --unit ''
        tab git osa hooks ''
        tab git osa watch --
        tab git osa status --
    "#;
    let d = Deployment::new();
    let out = d
        .command("bash", None)
        .args(["-c", script, "bash", git_completion])
        .arg(&ours)
        .arg(d.inventory())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // Options: at least these; names: exactly these. Never what git-osa hides.
    let want: [(&[&str], bool); 12] = [
        (&["status", "stop"], true),
        (&["--all", "--container", "--dry-run", "--json"], false),
        (&["--json", "--inventory"], false),
        (&[HEAT_API, HEAT_ENGINE], true),
        (&[HEAT_ENGINE], true),
        (&["heat-api", "heat-api-cfn"], true),
        (&["heat-engine"], true),
        (&[], true),
        (&["heat-api", "heat-api-cfn", "heat-engine"], true),
        (&["install", "status", "uninstall"], false),
        (&["--detach", "--container"], false),
        (&["--json", "--online"], false),
    ];
    let hidden = ["fire", "work", "--in-background", "--offline"];
    assert_eq!(
        text.lines().count(),
        want.len(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (line, (want, exact)) in text.lines().zip(want) {
        let have: Vec<&str> = line
            .rsplit('|')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        if exact {
            assert_eq!(have, want, "{line}");
        } else {
            assert!(
                want.iter().all(|w| have.contains(w)),
                "{line}: not all of {want:?}"
            );
        }
        assert!(!hidden.iter().any(|h| have.contains(h)), "{line}");
    }
}

#[test]
fn git_help_opens_the_installed_man_pages() {
    // Installed as install.sh does: PREFIX/bin/git-osa beside PREFIX/share/man/man1/*.1;
    // man-db finds the pages from PATH, git runs `man git-osa` for `git help osa`.
    let prefix = tempfile::tempdir().unwrap();
    let bin = prefix.path().join("bin");
    let man1 = prefix.path().join("share/man/man1");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&man1).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_git-osa"), bin.join("git-osa")).unwrap();
    for (name, _) in man_pages() {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("man")
                .join(&name),
            man1.join(&name),
        )
        .unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // `git help osa-run` cannot work: git opens `gitosa-run` for what is not a command on
    // PATH (as `git help workflows` opens gitworkflows); `git help git-osa-run` is given
    // to man as it is.
    let cases: [(&str, &[&str], &str); 6] = [
        ("git", &["help", "osa"], "THE CYCLE"),
        ("git", &["osa", "--help"], "THE CYCLE"),
        ("git", &["help", "git-osa-run"], "--allow-public-index"),
        (
            "git",
            &["help", "git-osa-restore"],
            "Only restore this container",
        ),
        ("man", &["git-osa-status"], "HAProxy servers"),
        ("man", &["git-osa-config"], "--json"),
    ];
    for (program, args, want) in cases {
        let out = std::process::Command::new(program)
            .args(args)
            .env("PATH", &path)
            .env_remove("MANPATH")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let title = match args {
            ["help", "osa"] | ["osa", _] => "GIT-OSA(1)".into(),
            [.., page] => format!("{}(1)", page.to_uppercase()),
            [] => unreachable!(),
        };
        assert!(
            text.contains(&title) && text.contains(want),
            "{program} {args:?}: no {title} or {want}:\n{text}"
        );
    }
}

/// The committed man pages: file name and text, the roff escapes of `-` undone.
fn man_pages() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut pages: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".1"))
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(&name)).unwrap();
            (name, text.replace("\\-", "-"))
        })
        .collect();
    pages.sort();
    pages
}

#[test]
fn every_page_a_man_page_names_exists_and_every_subcommand_has_one() {
    let pages = man_pages();
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    for (page, text) in &pages {
        let text = text.replace("\\fB", "").replace("\\fR", "");
        for (i, _) in text.match_indices("(1)") {
            let named = text[..i]
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .next()
                .unwrap();
            if named.starts_with("git-osa") {
                let file = format!("{named}.1");
                assert!(
                    names.contains(&file.as_str()),
                    "{page} names {named}(1): no man/{file}"
                );
            }
        }
    }
    let (_, main) = pages.iter().find(|(n, _)| n == "git-osa.1").unwrap();
    let mut cmd = Cli::command();
    cmd.build();
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let file = format!("git-osa-{}.1", sub.get_name());
        assert!(names.contains(&file.as_str()), "no man/{file}");
        assert!(
            main.contains(&format!("git-osa-{}(1)", sub.get_name())),
            "git-osa.1 does not name {file}"
        );
    }
}

#[test]
fn every_option_is_on_its_commands_man_page() {
    let pages = man_pages();
    let mut cmd = Cli::command();
    cmd.build();
    let subs = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help");
    for c in std::iter::once(&cmd).chain(subs) {
        let name = format!("{}.1", c.get_display_name().unwrap_or(c.get_name()));
        let (_, text) = pages.iter().find(|(n, _)| *n == name).expect(&name);
        for arg in c.get_arguments().filter(|a| !a.is_hide_set()) {
            let Some(long) = arg.get_long() else { continue };
            // Past the synopsis, which names every option without saying what it does.
            let described = &text[text.find(".SH DESCRIPTION").unwrap()..];
            assert!(
                described.contains(&format!("\\fB--{long}\\fR")),
                "man/{name} does not document --{long}"
            );
        }
    }
}

#[test]
fn fish_completes_git_osa_subcommands_options_and_names() {
    // Installed as a package installs them, in a prefix fish is pointed at: the completions
    // for git-osa in vendor_completions.d, the hand-off from `git osa` in vendor_conf.d
    // (fish loads git's completions for `git osa`, never git-osa's).
    let d = Deployment::new();
    let share = d.dir.path().join("share/fish");
    for (from, to) in [
        (
            "completions/git-osa.fish",
            "vendor_completions.d/git-osa.fish",
        ),
        (
            "completions/conf.d/git-osa.fish",
            "vendor_conf.d/git-osa.fish",
        ),
    ] {
        std::fs::create_dir_all(share.join(to).parent().unwrap()).unwrap();
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(from),
            share.join(to),
        )
        .unwrap();
    }
    let inv = d.inventory();
    let lines = [
        "git osa st".to_string(),
        "git osa --cont".into(),
        "git osa restore --a".into(),
        "git osa config --j".into(),
        "git-osa restore --a".into(),
        format!("git osa --inventory {inv} restore --container "),
        format!("git osa --inventory={inv} --container aio1-heat-e"),
        format!("git-osa --inventory {inv} run --container {HEAT_ENGINE} --service "),
        "git osa --inventory /nowhere --service ".into(),
        format!("git osa --inventory {inv} logs --unit "),
        "git osa hooks ".into(),
        "git osa watch --".into(),
        "git osa status --".into(),
    ];
    let script =
        "for line in $argv; echo \"$line|\"(complete -C $line | cut -f1 | string join ' '); end";
    let out = d
        .command("fish", None)
        .env(
            "XDG_DATA_DIRS",
            format!("{}:/usr/share", d.dir.path().join("share").display()),
        )
        .args(["-c", script])
        .args(&lines)
        .output()
        .expect("fish is installed (apt-get install fish)");
    let text = String::from_utf8_lossy(&out.stdout);
    // Exactly these, or (false) at least these; never what git-osa hides.
    let want: [(&[&str], bool); 13] = [
        (&["status", "stop"], true),
        (&["--container"], true),
        (&["--all"], true),
        (&["--json"], true),
        (&["--all"], true),
        (&[HEAT_API, HEAT_ENGINE], true),
        (&[HEAT_ENGINE], true),
        (&["heat-engine"], true),
        (&[], true),
        (&["heat-api", "heat-api-cfn", "heat-engine"], true),
        (&["help", "install", "status", "uninstall"], true),
        (&["--container", "--detach"], false),
        (&["--json", "--online"], false),
    ];
    let hidden = ["fire", "work", "--in-background", "--offline"];
    assert_eq!(
        text.lines().count(),
        want.len(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (line, (want, exact)) in text.lines().zip(want) {
        let have: Vec<&str> = line
            .rsplit('|')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        if exact {
            assert_eq!(have, want, "{line}");
        } else {
            assert!(
                want.iter().all(|w| have.contains(w)),
                "{line}: not all of {want:?}"
            );
        }
        assert!(!hidden.iter().any(|h| have.contains(h)), "{line}");
    }
}

#[test]
fn zsh_completes_git_osa_subcommands_options_and_names() {
    // An interactive zsh in a zpty, with compinit and our _git-osa on fpath (an installed
    // copy is kept out): type, press Tab, read the line back. Nothing is ever executed
    // (writes have no newline). Without our file, no line completes.
    let d = Deployment::new();
    let fpath = d.dir.path().join("zsh");
    std::fs::create_dir(&fpath).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/_git-osa"),
        fpath.join("_git-osa"),
    )
    .unwrap();
    let script = r#"
        zmodload zsh/zpty
        zpty z 'zsh -f -i'
        zpty -w z "PS1='>'; fpath=($1 \${fpath:#/usr/local/share/zsh/site-functions}); autoload -Uz compinit; compinit -u -D"
        out=""
        for line in 'git osa --allow-p' 'git osa restore --a' 'git osa restore --container aio1-heat-e' \
            'git osa --inventory=/nowhere --service heat-en' 'git osa --inventory=../inventory.json --service heat-en' \
            'git osa logs --unit heat-en' 'git osa hooks ' 'git osa watch --in-b' 'git osa status --of'; do
          zpty -w -n z "$line"$'\t'
          sleep 2
          while zpty -rt z chunk 2>/dev/null; do out+=$chunk; done
          zpty -w -n z $'\C-u'
        done
        zpty -d z
        print -r -- "$out"
    "#;
    let out = d
        .command("zsh", None)
        .args(["-f", "-c", script, "zsh"])
        .arg(&fpath)
        // Lines are kept short: the terminal is 80 columns wide and a longer one wraps.
        .env("GIT_OSA_INVENTORY", d.inventory())
        .output()
        .expect("zsh is installed (apt-get install zsh)");
    let text = strip_ansi(&String::from_utf8_lossy(&out.stdout));
    assert!(text.contains("git osa --allow-public-index="), "{text}");
    assert!(text.contains("git osa restore --all"), "{text}");
    assert!(
        text.contains(&format!("restore --container {HEAT_ENGINE}")),
        "{text}"
    );
    // The line's --inventory counts, before the environment's.
    assert!(!text.contains("nowhere --service heat-engine"), "{text}");
    assert!(
        text.contains("../inventory.json --service heat-engine"),
        "{text}"
    );
    assert!(text.contains("git osa logs --unit heat-engine"), "{text}");
    // `hooks <TAB>` lists the subcommands with what they do; the hidden ones are not there.
    assert!(text.contains("uninstall"), "{text}");
    for hidden in [
        "fire",
        "background redeploy",
        "--in-background",
        "--offline",
    ] {
        assert!(!text.contains(hidden), "{hidden} offered:\n{text}");
    }
}

/// The text of terminal output, without its escape sequences.
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}
