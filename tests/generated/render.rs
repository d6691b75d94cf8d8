//! Shell completions and the man pages, generated from the clap definition; the man
//! page's CONFIGURATION and ENVIRONMENT and the README's table of settings, from the one
//! list of settings (`git_osa::settings::keys::KEYS`).
//!
//! The generated files are committed (packagers and `install.sh` need no Rust), and the
//! tests beside this file fail when they are stale; `GIT_OSA_BLESS=1 cargo test --test
//! generated` rewrites them. Only this test crate generates them, so `clap_complete` and
//! `clap_mangen` are dev-dependencies and the binary does not carry them.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use git_osa::cli::Cli;
use git_osa::settings::keys::{KEYS, Kind};

/// The options whose values are names only the deployment knows, and what
/// `git-osa __complete` calls them (`src/complete.rs`).
const NAMED: [(&str, &str); 3] = [
    ("container", "containers"),
    ("service", "units"),
    ("unit", "units"),
];

/// Git's bash completion calls `_git_<subcommand>` for `git <subcommand> <TAB>` (loading
/// `git-osa`'s completion file first if it must); this hands the words to git-osa's. The
/// values of --container, --service and --unit come from `git-osa __complete`, all else
/// from the function clap generates.
const BASH_GLUE: &str = r#"
# --container, --service and --unit take names from the deployment: `git-osa __complete`
# prints the checkout's service's containers or units (nothing on any error), given the
# words typed so far for the deployment options among them. Everything else is clap's
# _git__osa's.
_git_osa_complete() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} what
    # `--container=x` is three words for bash: --container, =, x.
    if [[ $cur == = ]]; then
        cur=
    elif [[ $prev == = ]]; then
        prev=${COMP_WORDS[COMP_CWORD-2]}
    fi
    case $prev in
        --container) what=containers ;;
        --service | --unit) what=units ;;
        *) _git__osa "$@"; return ;;
    esac
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$(git-osa __complete "$what" "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)" -- "$cur"))
}

# `git osa <TAB>`: git's completion calls _git_osa; hand the words to the git-osa function.
_git_osa() {
    local -a words=(git-osa "${COMP_WORDS[@]:2}")
    local cword=$((COMP_CWORD - 1))
    COMP_WORDS=("${words[@]}")
    COMP_CWORD=$cword
    _git_osa_complete git-osa "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

const ZSH_NAMES: &str = r#"
# --container, --service and --unit take names from the deployment: `git-osa __complete` prints the
# checkout's service's containers or units (nothing on any error), given the words typed so
# far (the whole line: zsh has shifted $words past `git osa` and the subcommand).
# _arguments calls it with its description options first: what to complete comes last.
_git_osa_names() {
    local -a names
    names=(${(f)"$(git-osa __complete ${@[-1]} ${(Q)${(z)LBUFFER}} 2>/dev/null)"})
    compadd "${@[1,-2]}" -a names
}
"#;

const FISH_NAMES: &str = r#"
# --container, --service and --unit take names from the deployment: `git-osa __complete` prints the
# checkout's service's containers or units (nothing on any error), given the words typed so
# far.
function __fish_git_osa_names
    git-osa __complete $argv[1] (commandline -opc) 2>/dev/null
end
"#;

/// Sourced when fish starts (`vendor_conf.d`): completing `git` loads git's completions,
/// never git-osa's, and fish 3.6's own hand-off to `git-*` commands completes `git git-osa`
/// instead of `git osa`. This hands `git osa`'s words to git-osa's completions, as later
/// fish versions do.
const FISH_GIT_GLUE: &str = r#"# `git osa ...` in fish: hand the words to git-osa's completions (git-osa.fish).
complete -c git -n __fish_git_needs_command -f -a osa -d 'Run an OpenStack service from this checkout in its OSA container'
complete -c git -n '__fish_git_using_command osa' -f -a '(__fish_git_osa_as_git_osa)'

function __fish_git_osa_as_git_osa
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_git_global_optspecs) -- $cmd 2>/dev/null
    or return
    complete -C "git-osa $argv[2..] "(commandline -ct)
end
"#;

/// The main page's sections before CONFIGURATION.
const MAN_CYCLE_AND_FILES: &str = r#".SH "THE CYCLE"
\fBgit osa\fR (or \fBgit osa run\fR) maps the checkout to its service through its \fI.gitreview\fR,
its Python package name or its remote URL, finds the service's containers in OSA's
inventory, and then, in the chosen container (through \fBlxc-attach\fR on its host, over ssh
when that host is another): drains it in HAProxy, keeps the production
venv (a snapshot of hard links, or a full copy where the venv's pip may write into files in
place), syncs the checkout as it is on disk (committed or not, minus what git ignores; only
changed files after the first time), stops the production units (a uWSGI service while the
install runs), installs the checkout editable into the venv (skipped when nothing that
affects the install changed), runs the service's db sync (skipped when no migration changed;
a schema upgrade is \fBnot\fR undone by restore unless the session took a database snapshot,
\fB--db-snapshot\fR, the default of \fBgit osa review\fR), and runs the unit's own command
in the foreground as the unit's user with the logs on the terminal, moving HAProxy traffic
to it once it passes a health check. Ctrl-C (or SIGINT or
SIGTERM to git-osa) stops the dev process and re-enables the other HAProxy servers; the
container stays in dev mode until \fBgit osa restore\fR.
.SH "THE REST OF THE ARTICLE"
.TP
\fBConfiguration\fR
\fBgit osa conf set\fR \fIFILE\fR \fISECTION.KEY\fR \fIVALUE\fR (or \fBgit osa run --conf\fR
\fIFILE:SECTION.KEY=VALUE\fR) changes the service's configuration for the session: its own
oslo.config file through a drop-in beside it (production's file untouched), another file in
place. \fBgit osa conf diff\fR and \fBgit osa status\fR show every difference from what the
session found, hand edits in the container included; \fBgit osa restore\fR puts it all back
and says so.
.TP
\fBpdb and pudb\fR
\fBgit osa --debug\fR (\fB--debug=pudb\fR) at a terminal: \fBbreakpoint()\fR in the code
stops there. A uWSGI unit runs one worker with the terminal as its stdin and no harakiri, so
a breakpoint in a request handler stops the request at your prompt (\fBc\fR lets it answer);
a console script such as heat-engine has the terminal already. One unit at a time
(\fB--service\fR), in a container on this host.
.TP
\fBA remote debugger\fR
\fBgit osa --debugpy\fR[\fB=\fR\fIPORT\fR]: debugpy, installed into the venv for the session
from the deployment's package sources, listens on the container's loopback; git-osa
forwards \fIPORT\fR (5678) on this machine to it while the run lasts, through the same
connection as everything else (ssh for a container on another host), and prints VS Code's
\fIlaunch.json\fR entry and the path mappings from the container's copy to your checkout.
.TP
\fBTests and a shell\fR
\fBgit osa exec -- \fR\fICOMMAND\fR, \fBgit osa shell\fR: as the service's user, its venv
active, in the synced tree. \fBgit osa test\fR [\fIARGS\fR]: sync, then the project's unit
tests (stestr or pytest, as it declares) with its test requirements in a venv layered on the
service's.
.TP
\fBRebuilding a container\fR
\fBgit osa rebuild\fR: after a prompt (or \fB--yes\fR), restore its session, then the
deployment's own destroy, create and service playbooks for that container
(\fB--dry-run\fR shows them; \fBosa.rebuildCommand\fR replaces them).
.SH FILES
.TP
\fI/etc/openstack_deploy/openstack_inventory.json\fR
OSA's inventory: which containers run which service (in \fB$OSA_CONFIG_DIR\fR when set).
.TP
\fI/var/lib/git-osa/<service>/\fR (in the container)
The dev session: its state, the synced source, the install's constraints, what the
service's configuration held when it began (\fIconf-before.tar\fR), the test venv. A second
terminal or another developer sees it; \fBgit osa restore\fR finishes from it after a crash.
.TP
\fI/openstack/venvs/.git-osa-prod-<venv>\fR (in the container)
Production's venv, kept during a session (a snapshot of hard links, or a full copy); restore
renames it back.
.TP
\fI<config>.d/98-git-osa-conf.conf\fR (in the container)
The session's values of the service's own configuration file (\fBgit osa conf set\fR);
removed by restore.
.TP
\fI/run/git-osa-0/\fR (as root), \fI$XDG_RUNTIME_DIR/git-osa/\fR or \fI/tmp/git-osa-<uid>/\fR
The sockets of ssh's master connections to the deployment's other hosts, one per host.
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
\fBrun --dry-run\fR, \fBrestore --dry-run\fR, \fBconfig\fR, \fBdoctor\fR,
\fBhooks status\fR and \fBconf diff\fR each print one document with \fB"version": 1\fR and a \fB"kind"\fR;
errors stay on stderr, with the same exit status. Within a version, fields and list entries
may be added (readers ignore what they do not know); a field removed or renamed, or a type,
meaning or enumerated value changed, takes a new version.
"#;

/// The main page's ENVIRONMENT after the variables of the settings.
const MAN_ENVIRONMENT_REST: &str = r#".TP
\fBOSA_CONFIG_DIR\fR
OSA's configuration folder (\fI/etc/openstack_deploy\fR when unset), as OSA's scripts read
it: the inventory is \fIopenstack_inventory.json\fR there, unless an option, a variable or
git config names another.
.TP
\fBGIT_OSA_LOG\fR
How much git-osa says on stderr when neither \fB-v\fR nor \fB-q\fR is given: \fBerror\fR,
\fBwarn\fR (as \fB-q\fR), \fBinfo\fR (the default), \fBdebug\fR (as \fB-v\fR: every command in
a container, where, as whom, how long, how it ended), \fBtrace\fR (as \fB-vv\fR: also the
output of long steps).
.TP
\fBNO_COLOR\fR
Set and not empty: no colour with \fB--color=auto\fR. Otherwise git's \fBcolor.osa\fR, then
\fBcolor.ui\fR, decide, as for git's own commands; \fBTERM=dumb\fR gets neither colour nor
progress bars.
"#;

/// The main page's sections after ENVIRONMENT.
const MAN_EXIT_AND_EXAMPLES: &str = r#".SH "EXIT STATUS"
0 on success; 1 when a command git-osa ran failed, or a check of \fBgit osa doctor\fR; 2 when the request cannot be done as
asked (not a checkout, unknown project, stopped container...); 75 when another git-osa
holds the container; 128+N when signal N (SIGINT, SIGTERM, SIGHUP) stopped it: 130 for Ctrl-C.
.SH EXAMPLES
.nf
~/src/keystone$ git osa status
~/src/keystone$ git osa doctor
~/src/keystone$ git osa -v --dry-run
~/src/keystone$ git osa --container aio1-keystone-container-b7d24e95
~/src/keystone$ git osa --dry-run
~/src/keystone$ git osa --debug
~/src/keystone$ git osa --debugpy=5678
~/src/heat$ git osa --conf heat.conf:DEFAULT.debug=True --detach
~/src/heat$ git osa conf diff
~/src/keystone$ git osa test keystone.tests.unit.test_exception
~/src/keystone$ git osa exec -- python -c 'import keystone; print(keystone.__file__)'
~/src/keystone$ git osa rebuild --dry-run
~/src/keystone$ git osa restore
.fi
"#;

/// What the main page adds to what clap knows: the cycle and the files as written here,
/// the configuration and the environment from the one list of settings.
fn main_page_extra() -> String {
    let mut text = MAN_CYCLE_AND_FILES.to_string();
    text.push_str(
        ".SH CONFIGURATION\n\
         Per checkout or per user, with \\fBgit config\\fR (\\fB--system\\fR, \\fB--global\\fR,\n\
         \\fB--local\\fR, \\fB--worktree\\fR, \\fBinclude\\fR, \\fBincludeIf\\fR, \\fBgit -c\\fR and the\n\
         \\fBGIT_CONFIG_*\\fR variables, read by git itself):\n",
    );
    for key in KEYS {
        let names: Vec<String> = key
            .flag_display()
            .into_iter()
            .chain(key.env.map(String::from))
            .map(|s| format!("\\fB{s}\\fR"))
            .collect();
        let kind = match key.kind {
            Kind::Bool => Some("a boolean".to_string()),
            Kind::List => Some("multi-valued".to_string()),
            Kind::Text | Kind::Path => None,
        };
        let also: Vec<String> = kind
            .into_iter()
            .chain((!names.is_empty()).then(|| names.join(", ")))
            .collect();
        let also = if also.is_empty() {
            String::new()
        } else {
            format!(" ({})", also.join("; "))
        };
        text.push_str(&format!(
            ".TP\n\\fB{}\\fR{also}\n{}.\n",
            key.name,
            roff(&capitalized(key.what))
        ));
    }
    text.push_str(
        ".PP\n\
         Precedence, highest first: the option, the environment variable, git config, the TOML\n\
         config file (\\fBpublic_index\\fR), the built-in default. \\fBgit osa config\\fR shows each\n\
         value and where it came from.\n\
         .SH ENVIRONMENT\n",
    );
    let mut of_options: Vec<String> = Vec::new();
    let mut others = String::new();
    for key in KEYS {
        let Some(env) = key.env else { continue };
        match (key.option, key.kind) {
            (Some(_), Kind::List) => of_options.push(format!("\\fB{env}\\fR (comma-separated)")),
            (Some(_), _) => of_options.push(format!("\\fB{env}\\fR")),
            (None, _) => others.push_str(&format!(
                "\\fB{env}\\fR: the value of \\fB{}\\fR, above git config.\n",
                key.name
            )),
        }
    }
    // Not a git config key: the TOML file has no git config of its own.
    of_options.push("\\fBGIT_OSA_CONFIG\\fR".into());
    text.push_str(&format!(
        "{}: defaults of the options of the same names, above git config.\n{others}",
        of_options.join(", ")
    ));
    text.push_str(MAN_ENVIRONMENT_REST);
    text.push_str(MAN_EXIT_AND_EXAMPLES);
    text
}

/// Markdown's code spans as roff's bold.
fn roff(markdown: &str) -> String {
    let mut out = String::new();
    for (i, part) in markdown.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("\\fB{part}\\fR"));
        } else {
            out.push_str(part);
        }
    }
    out
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The README's table of settings, between its markers.
fn readme(current: &str) -> String {
    let mut table =
        String::from("  | git config | option | environment | what |\n  |---|---|---|---|\n");
    for key in KEYS {
        let kind = match key.kind {
            Kind::Bool => " (boolean)",
            Kind::List => " (multi-valued)",
            Kind::Text | Kind::Path => "",
        };
        let code = |s: Option<String>| s.map(|s| format!("`{s}`")).unwrap_or_default();
        table.push_str(&format!(
            "  | `{}`{kind} | {} | {} | {} |\n",
            key.name,
            code(key.flag_display()),
            code(key.env.map(String::from)),
            key.what
        ));
    }
    let start = current
        .find(README_START)
        .expect("README.md has the settings table's start marker");
    let body = start + README_START.len();
    let end = body
        + current[body..]
            .find(README_END)
            .expect("README.md has the settings table's end marker");
    format!("{}{table}{}", &current[..body], &current[end..])
}

/// The lines around the README's table of settings (generated from `KEYS`).
const README_START: &str =
    "<!-- settings: generated from src/settings/keys.rs by tests/generated -->\n";
const README_END: &str = "  <!-- end of settings -->";

/// Every generated file, with its path relative to the repository root.
pub fn all() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = vec![
        ("completions/git-osa.bash", bash()),
        ("completions/_git-osa", zsh()),
        ("completions/git-osa.fish", fish()),
        ("completions/conf.d/git-osa.fish", FISH_GIT_GLUE.to_string()),
    ]
    .into_iter()
    .map(|(name, text)| (PathBuf::from(name), text.into_bytes()))
    .collect::<Vec<_>>();
    files.extend(man_pages());
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let current = std::fs::read_to_string(readme_path).expect("README.md");
    files.push((PathBuf::from("README.md"), readme(&current).into_bytes()));
    files
}

fn generate(shell: Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut visible(&Cli::command()), "git-osa", &mut buf);
    String::from_utf8(buf).expect("completions are UTF-8")
}

/// The command line as completion offers it: without what it hides (`hooks fire` and
/// `hooks work`, which the hooks run; `watch --in-background`, which `watch --detach`
/// starts; `status --offline`, the default), which clap_complete offers all the same.
/// clap can add but not remove a subcommand or an argument, so the tree is copied with
/// what the generators read of it: names, abouts, visible aliases, the visible arguments
/// and subcommands.
fn visible(cmd: &clap::Command) -> clap::Command {
    // Without clap's `string` feature a name is a `&'static str`; a few, once per test.
    let name: &'static str = Box::leak(cmd.get_name().to_string().into_boxed_str());
    let mut out = clap::Command::new(name)
        .args(cmd.get_arguments().filter(|a| !a.is_hide_set()).cloned())
        .subcommands(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(visible),
        )
        .subcommand_required(cmd.is_subcommand_required_set())
        .allow_external_subcommands(cmd.is_allow_external_subcommands_set())
        .disable_help_subcommand(cmd.is_disable_help_subcommand_set());
    for alias in cmd.get_visible_aliases() {
        let alias: &'static str = Box::leak(alias.to_string().into_boxed_str());
        out = out.visible_alias(alias);
    }
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    // clap's --help says "see more with '--help'" when there is more.
    if let Some(about) = cmd.get_long_about() {
        out = out.long_about(about.clone());
    }
    if let Some(version) = cmd.get_version() {
        let version: &'static str = Box::leak(version.to_string().into_boxed_str());
        out = out.version(version);
    }
    out
}

fn bash() -> String {
    // clap_complete names the subcommand arms inconsistently for hyphenated binaries
    // (clap-rs/clap#6421); align them with the dispatch code.
    let text = generate(Shell::Bash).replace("git__subcmd__osa__subcmd__", "git__osa__subcmd__");
    let mut text = replace_counted(
        &text,
        "complete -F _git__osa ",
        "complete -F _git_osa_complete ",
    );
    text.push_str(BASH_GLUE);
    text
}

fn zsh() -> String {
    let mut text = generate(Shell::Zsh);
    for (long, what) in NAMED {
        // `'--container=[...]:NAME:_default' \`, `'(--all)--container=[...]...`.
        text = replace_in_lines(
            &text,
            |line| line.contains(&format!("--{long}=[")),
            ":_default' \\",
            &format!(":_git_osa_names {what}' \\"),
        );
    }
    replace_counted(
        &text,
        "autoload -U is-at-least\n",
        &format!("autoload -U is-at-least\n{ZSH_NAMES}"),
    )
}

/// clap_complete's fish guard for the top level fails while an option waits for its value
/// (`git-osa --container <TAB>`: argparse refuses the line), so no value was ever completed
/// there; parse the line without that option instead.
const FISH_GUARD: (&str, &str) = (
    "    argparse -s (__fish_git_osa_global_optspecs) -- $cmd 2>/dev/null
    or return
",
    "    argparse -s (__fish_git_osa_global_optspecs) -- $cmd 2>/dev/null
    or begin
        # An option waiting for its value (`git-osa --container <TAB>`) fails argparse.
        set -e cmd[-1]
        argparse -s (__fish_git_osa_global_optspecs) -- $cmd 2>/dev/null
    end
    or return
",
);

fn fish() -> String {
    let mut text = replace_counted(&generate(Shell::Fish), FISH_GUARD.0, FISH_GUARD.1);
    for (long, what) in NAMED {
        // `complete -c git-osa -n "..." -l container -d '...' -r`
        text = replace_in_lines(
            &text,
            |line| line.contains(&format!(" -l {long} ")) && line.ends_with(" -r"),
            " -r",
            &format!(" -r -f -a \"(__fish_git_osa_names {what})\""),
        );
    }
    text.push_str(FISH_NAMES);
    text
}

/// `text` with `from` replaced by `to`; panics when `from` is not there, so that a change
/// in clap_complete's output fails the tests instead of dropping our additions.
fn replace_counted(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "clap_complete's output has no {from:?}"
    );
    text.replace(from, to)
}

/// `text` with `from` replaced by `to` at the end of the lines `pick` picks (one at least).
fn replace_in_lines(text: &str, pick: impl Fn(&str) -> bool, from: &str, to: &str) -> String {
    let mut picked = 0;
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        match body.strip_suffix(from) {
            Some(head) if pick(body) => {
                picked += 1;
                out.push_str(head);
                out.push_str(to);
            }
            _ => out.push_str(body),
        }
        out.push_str(nl);
    }
    assert!(
        picked > 0,
        "clap_complete's output has no line ending in {from:?} to change"
    );
    out
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
    let mut pages = vec![man_page(&cmd, &main_page_extra())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(man_page(sub, SUBCOMMAND_MAN_EXTRA));
        // `git osa hooks install`...: the page of `hooks` names theirs.
        for action in sub
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        {
            pages.push(man_page(action, SUBCOMMAND_MAN_EXTRA));
        }
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
