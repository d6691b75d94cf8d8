//! The committed completions and man page must be what the CLI definition generates.
//! `GIT_OSA_BLESS=1 cargo test --test generated` rewrites them.

mod render;

use std::path::Path;

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

#[test]
fn bash_completion_completes_git_osa_subcommands() {
    // Drive git's real bash completion the way a shell does for `git osa st<TAB>`.
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
        source "$1"; source "$2"
        COMP_WORDS=(git osa st); COMP_CWORD=2; COMP_LINE="git osa st"; COMP_POINT=${#COMP_LINE}
        __git_wrap__git_main; printf '%s\n' "${COMPREPLY[@]}"
        COMP_WORDS=(git osa restore --); COMP_CWORD=3; COMP_LINE="git osa restore --"; COMP_POINT=${#COMP_LINE}
        COMPREPLY=(); __git_wrap__git_main; printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let out = std::process::Command::new("bash")
        .args(["-c", script, "bash", git_completion])
        .arg(&ours)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(
        words.contains(&"status"),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(words.contains(&"--all"), "{text}");
    assert!(words.contains(&"--dry-run"), "{text}");
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
fn fish_completes_git_osa_subcommands_and_options() {
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/git-osa.fish");
    let script = format!(
        "source {}; complete -C 'git osa st'; complete -C 'git osa --cont'; complete -C 'git-osa restore --a'",
        ours.display()
    );
    let out = std::process::Command::new("fish")
        .args(["--no-config", "-c", &script])
        .output()
        .expect("fish is installed (apt-get install fish)");
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    for want in ["status", "--container", "--all"] {
        assert!(
            words.contains(&want),
            "{want} not offered:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn zsh_completes_git_osa_subcommands_and_options() {
    // An interactive zsh in a zpty, with compinit and our _git-osa on fpath (an installed
    // copy is kept out): type, press Tab, read the line back. Nothing is ever executed
    // (writes have no newline). Without our file, neither line completes.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/_git-osa"),
        dir.path().join("_git-osa"),
    )
    .unwrap();
    let script = r#"
        zmodload zsh/zpty
        zpty z 'zsh -f -i'
        zpty -w z "PS1='>'; fpath=($1 \${fpath:#/usr/local/share/zsh/site-functions}); autoload -Uz compinit; compinit -u -D"
        out=""
        for line in 'git osa --allow-p' 'git osa restore --a'; do
          zpty -w -n z "$line"$'\t'
          sleep 2
          while zpty -rt z chunk 2>/dev/null; do out+=$chunk; done
          zpty -w -n z $'\C-u'
        done
        zpty -d z
        print -r -- "$out"
    "#;
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_git-osa")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("zsh")
        .args(["-f", "-c", script, "zsh"])
        .arg(dir.path())
        .env("PATH", path)
        .output()
        .expect("zsh is installed (apt-get install zsh)");
    let text = strip_ansi(&String::from_utf8_lossy(&out.stdout));
    assert!(text.contains("git osa --allow-public-index="), "{text}");
    assert!(text.contains("git osa restore --all"), "{text}");
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
