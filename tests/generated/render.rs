//! Shell completions and the man pages, generated from the clap definition.
//!
//! The generated files are committed (packagers and `install.sh` need no Rust), and the
//! tests beside this file fail when they are stale; `GIT_OSA_BLESS=1 cargo test --test
//! generated` rewrites them. Only this test crate generates them, so `clap_complete` and
//! `clap_mangen` are dev-dependencies and the binary does not carry them.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;

use git_osa::cli::Cli;

/// Git's bash completion calls `_git_<subcommand>` for `git <subcommand> <TAB>`; this hands
/// the words to the function clap generates for `git-osa`.
const BASH_GIT_GLUE: &str = r#"
# `git osa <TAB>`: git's completion calls _git_osa; hand the words to the git-osa function.
_git_osa() {
    local -a words=(git-osa "${COMP_WORDS[@]:2}")
    local cword=$((COMP_CWORD - 1))
    COMP_WORDS=("${words[@]}")
    COMP_CWORD=$cword
    _git__osa git-osa "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

/// fish completes `git osa ...` only through completions registered on `git`.
const FISH_GIT_GLUE: &str = r#"
# `git osa ...`: register the subcommand and its completions on git itself.
complete -c git -n '__fish_git_needs_command' -f -a osa -d 'Run an OpenStack service from this checkout in its OSA container'
complete -c git -n '__fish_seen_subcommand_from osa; and not __fish_seen_subcommand_from run status restore config help' -f -a 'run status restore config'
complete -c git -n '__fish_seen_subcommand_from osa' -l container -r -d 'The container to use'
complete -c git -n '__fish_seen_subcommand_from osa' -l service -r -d 'Only swap this unit'
complete -c git -n '__fish_seen_subcommand_from osa' -l dry-run -d 'Print the plan and change nothing'
complete -c git -n '__fish_seen_subcommand_from osa' -l all -d 'Every dev session on this host (restore)'
"#;

const MAN_EXTRA: &str = r#".SH "THE CYCLE"
\fBgit osa\fR (or \fBgit osa run\fR) maps the checkout to its service through its \fI.gitreview\fR,
its Python package name or its remote URL, finds the service's containers in OSA's
inventory, and then, in the chosen container: moves HAProxy traffic to it (once it is
healthy), stops the production units, syncs the checkout as it is on disk (committed or
not, minus what git ignores; only changed files after the first time), keeps an exact copy
of the production venv, installs the checkout editable into the venv (skipped when nothing
that affects the install changed), runs the service's db sync (skipped when no migration
changed; a schema upgrade is \fBnot\fR undone by restore), and runs the unit's own command
in the foreground as the unit's user with the logs on the terminal. Ctrl-C (or SIGINT or
SIGTERM to git-osa) stops the dev process and re-enables the other HAProxy servers; the
container stays in dev mode until \fBgit osa restore\fR.
.SH FILES
.TP
\fI/etc/openstack_deploy/openstack_inventory.json\fR
OSA's inventory: which containers run which service.
.TP
\fI/var/lib/git-osa/<service>/\fR (in the container)
The dev session: its state, the synced source, the install's constraints. A second
terminal or another developer sees it; \fBgit osa restore\fR finishes from it after a crash.
.TP
\fI/etc/git-osa/config.toml\fR, \fI~/.config/git-osa/config.toml\fR
Optional. \fBpublic_index = "URL"\fR is the index offered when the repo server lacks a
requirement. \fB[[service]]\fR entries, in the format of the built-in catalog, add services
(plugins, libraries, unusual layouts) or replace built-in ones of the same name; they are
searched before the built-in ones. \fB[[patch]]\fR entries change a built-in one by name:
\fBremove_units\fR, \fB[[patch.unit]]\fR to add, \fBdb_sync\fR, \fBdb_sync_groups\fR.
.TP
\fIshare/doc/git-osa/git-osa-json.schema.json\fR
The JSON Schema (draft 2020-12) of what \fB--json\fR prints: \fBstatus\fR,
\fBrun --dry-run\fR, \fBrestore --dry-run\fR and \fBconfig\fR each print one document with
\fB"version": 1\fR and a \fB"kind"\fR; errors stay on stderr, with the same exit status.
.SH CONFIGURATION
Per checkout or per user, with \fBgit config\fR (\fB--local\fR, \fB--global\fR,
\fB--worktree\fR, \fBinclude\fR and \fBincludeIf\fR as for git; \fBgit -c\fR too):
.TP
\fBosa.container\fR
The container \fBgit osa\fR runs in when the service has several (an empty value unsets
one from a wider scope).
.TP
\fBosa.service\fR
Only swap this unit (multi-valued: one \fBgit config --add\fR per unit; an empty value
starts the list again).
.TP
\fBosa.publicIndex\fR
The index offered (never used without asking or \fB--allow-public-index\fR) when the repo
server lacks a requirement.
.TP
\fBosa.restoreOnExit\fR
Restore production when the dev process stops (a boolean; \fB--no-restore-on-exit\fR
overrides it).
.TP
\fBosa.inventory\fR, \fBosa.lxcPath\fR, \fBosa.haproxySocket\fR
The deployment options of the same names.
.PP
Precedence, highest first: the option, the environment variable, git config, the TOML
config file (\fBpublic_index\fR), the built-in default. \fBgit osa config\fR shows each
value and where it came from.
.SH ENVIRONMENT
\fBGIT_OSA_INVENTORY\fR, \fBGIT_OSA_LXC_PATH\fR, \fBGIT_OSA_HAPROXY_SOCKET\fR,
\fBGIT_OSA_CONFIG\fR, \fBGIT_OSA_CONTAINER\fR, \fBGIT_OSA_SERVICE\fR (comma-separated),
\fBGIT_OSA_RESTORE_ON_EXIT\fR: defaults of the options of the same names, above git config.
\fBGIT_OSA_PUBLIC_INDEX\fR: the index offered, as \fBosa.publicIndex\fR.
.SH "EXIT STATUS"
0 on success; 1 when a command git-osa ran failed; 2 when the request cannot be done as
asked (not a checkout, unknown project, stopped container...); 75 when another git-osa
holds the container; 128+N when signal N (SIGINT, SIGTERM, SIGHUP) stopped it: 130 for Ctrl-C.
.SH EXAMPLES
.nf
~/src/keystone$ git osa status
~/src/keystone$ git osa --container aio1-keystone-container-b7d24e95
~/src/keystone$ git osa --dry-run
~/src/keystone$ git osa restore
.fi
"#;

/// Every generated file, with its path relative to the repository root.
pub fn all() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "completions/git-osa.bash"),
        (Shell::Zsh, "completions/_git-osa"),
        (Shell::Fish, "completions/git-osa.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "git-osa", &mut buf);
        let mut text = String::from_utf8(buf).expect("completions are UTF-8");
        match shell {
            Shell::Bash => {
                // clap_complete names the subcommand arms inconsistently for hyphenated
                // binaries (clap-rs/clap#6421); align them with the dispatch code.
                text = text.replace("git__subcmd__osa__subcmd__", "git__osa__subcmd__");
                text.push_str(BASH_GIT_GLUE);
            }
            Shell::Fish => text.push_str(FISH_GIT_GLUE),
            _ => {}
        }
        files.push((PathBuf::from(name), text.into_bytes()));
    }
    files.extend(man_pages());
    files
}

/// What each subcommand's page adds to what clap knows.
const SUBCOMMAND_MAN_EXTRA: &str = r#".SH "SEE ALSO"
\fBgit-osa\fR(1): the cycle, the files, the configuration (git config \fBosa.*\fR), the
environment, the exit status.
"#;

/// The main page and one page per subcommand, named as `clap_mangen::generate_to` names
/// them (git-osa-run.1...), so that `git help osa-run` finds its page. `help` gets none and
/// is not listed: it only prints what `--help` does.
fn man_pages() -> Vec<(PathBuf, Vec<u8>)> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Built, the subcommands know their full names and carry the global options.
    cmd.build();
    let mut pages = vec![man_page(&cmd, MAN_EXTRA)];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(man_page(sub, SUBCOMMAND_MAN_EXTRA));
    }
    pages
}

fn man_page(cmd: &clap::Command, extra: &str) -> (PathBuf, Vec<u8>) {
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    let man = clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .section("1")
        .source(format!("git-osa {}", env!("CARGO_PKG_VERSION")))
        .manual("Git Manual");
    let mut page = Vec::new();
    man.render(&mut page)
        .expect("rendering to memory cannot fail");
    page.extend_from_slice(extra.as_bytes());
    (PathBuf::from(format!("man/{}", man.get_filename())), page)
}
