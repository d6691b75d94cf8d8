//! The command line, as clap definitions only: no logic lives here.
//!
//! The man page and the shell completions are generated from these definitions
//! (`tests/generated/render.rs`), so the `///` comments below are the user's documentation.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Run an OpenStack service from your checkout inside its OpenStack-Ansible container.
///
/// Run from a checkout of an OpenStack project (keystone, heat, nova, ... or a Gerrit
/// change of one), `git osa` finds that service's LXC container(s) in an
/// OpenStack-Ansible deployment, stops the production service, syncs the checkout in,
/// installs it into the service's venv, runs the service's db sync, and runs the service
/// in the foreground with its logs on the terminal. `git osa restore` puts production
/// back exactly as it was. Without a subcommand, `git osa` is `git osa run`.
#[derive(Parser, Debug)]
// Not `args_conflicts_with_subcommands`: clap counts global options too, which rejected
// `git osa --inventory X status`. A run option before another subcommand is refused after
// parsing instead (`lib.rs`), so `git osa --container X` still means `git osa run
// --container X` and `git osa --dry-run restore` is not a restore that ignores --dry-run.
#[command(name = "git-osa", version, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,

    // After `run`: the heading it sets would otherwise cover the run's options too.
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where the deployment is; accepted before or after the subcommand.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Deployment options")]
pub struct GlobalArgs {
    /// OSA inventory to read the containers from; git config osa.inventory.
    #[arg(
        long,
        global = true,
        env = "GIT_OSA_INVENTORY",
        value_name = "PATH",
        default_value = "/etc/openstack_deploy/openstack_inventory.json"
    )]
    pub inventory: PathBuf,

    /// LXC path of the containers (lxc-* -P), LXC's default when unset; git config
    /// osa.lxcPath.
    #[arg(long, global = true, env = "GIT_OSA_LXC_PATH", value_name = "PATH")]
    pub lxc_path: Option<PathBuf>,

    /// The deploy host, as ssh names it (`[user@]host`), when git-osa runs elsewhere: the
    /// inventory is read there and every host reached through it; git config
    /// osa.deployHost.
    #[arg(long, global = true, env = "GIT_OSA_DEPLOY_HOST", value_name = "HOST")]
    pub deploy_host: Option<String>,

    /// HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg); git config
    /// osa.haproxySocket.
    #[arg(
        long,
        global = true,
        env = "GIT_OSA_HAPROXY_SOCKET",
        value_name = "PATH",
        default_value = "/var/run/haproxy.stat"
    )]
    pub haproxy_socket: PathBuf,

    /// Configuration file (catalog additions, public index); see FILES.
    #[arg(long, global = true, env = "GIT_OSA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// How much git-osa says on stderr, and in which colours; accepted before or after the
/// subcommand.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Output options")]
pub struct OutputArgs {
    /// Say more, on stderr: -v logs every command git-osa runs in a container (where, as
    /// whom, how long, how it ended); -vv also streams the output of long steps (sync, pip,
    /// db sync). GIT_OSA_LOG=debug is -v, GIT_OSA_LOG=trace is -vv.
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Say only warnings and errors on stderr: no step lines, no progress. What a command
    /// answers on stdout (status, a dry run's plan) is still printed.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Colour git-osa's own `error:`, `warning:` and `hint:`: auto (on a terminal, unless
    /// NO_COLOR is set or git's color.osa / color.ui says otherwise), always, or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorWhen,
}

/// When to colour git-osa's own messages.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorWhen {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Swap the checkout into its container and run it in the foreground (the default).
    Run(RunArgs),
    /// Show the project's containers, their units, HAProxy servers and dev sessions.
    Status(StatusArgs),
    /// Put production back: end the checkout's watcher and the dev process, restore the
    /// venv, undo the session's migrations (with its database snapshot, keeping the rows
    /// others wrote), start the units.
    Restore(RestoreArgs),
    /// Show the settings in effect and where each comes from.
    ///
    /// One line per value, as `git config --show-scope --show-origin` prints them: the
    /// scope (flag, env, git config's system, global, local, worktree or command, toml,
    /// default), the origin (option, variable or file), then key=value. Precedence,
    /// highest first: flag, environment (GIT_OSA_*), git config (osa.*), the TOML config
    /// file, the built-in default.
    Config(ConfigArgs),
    /// Run a Gerrit change in the service's container, leaving your own tree as it is.
    ///
    /// CHANGE is a change number, NUMBER,PATCHSET, or the change's URL
    /// (https://HOST/c/PROJECT/+/NUMBER[/PATCHSET]). The Gerrit server is the checkout's
    /// Gerrit remote, as git-review names it (git config gitreview.remote, else
    /// .gitreview's defaultremote, else `gerrit`), else the one `.gitreview` describes; git
    /// fetches from it with your own keys and credentials. The patchset (the latest unless
    /// named) is fetched into refs/osa/changes/NUMBER/PATCHSET and checked out into a
    /// worktree git-osa owns (.git/osa/worktrees/NUMBER): your working tree, index, HEAD,
    /// branches and stash are not touched. Then the cycle of `git osa run` runs from that
    /// worktree, with the same options. Another patchset of the same change reuses the
    /// worktree, so only the files that differ are sent. A Change-Id (as CHANGE or in a
    /// footer) is looked up with Gerrit's REST API (`GET /changes/?q=change:ID`) at git
    /// config osa.gerritUrl, else https://HOST/ of .gitreview's host or of the gerrit
    /// remote; the usual https_proxy and no_proxy variables apply. A `Depends-On:` footer
    /// naming a change of another project is fetched the same way in that project's
    /// checkout (the directory git config osa.checkouts names, or one beside this
    /// checkout, or a clone in git-osa's cache) and installed editable into the venv
    /// before the service, as `--with` does. With --dry-run the patchset is
    /// still fetched into git-osa's ref and worktree (the plan is made from its files);
    /// nothing else changes.
    Review(ReviewArgs),
    /// Check that this host and the project's containers have what git-osa needs.
    ///
    /// One line per check, with the fix when it fails: the LXC tools, systemd-run and git,
    /// root, the inventory, ssh to each other host that holds its containers (over the deploy
    /// host from elsewhere), the inventory against LXC on each of those hosts, HAProxy's
    /// admin socket at admin level; from a checkout, that it can be opened and read whole by
    /// this user and that inotify allows `git osa watch` a watch per folder; and in each
    /// container of its service: that it runs, systemd-run, the venv and its
    /// constraints.txt, room to keep the venv, the repo server as pip there reaches it, and
    /// the dev session's record and pins. Exits 0 when every check passes, 1 when one fails
    /// (as a command that failed); with -q only failed checks are printed.
    Doctor(DoctorArgs),
    /// Show the output of the detached dev units (`git osa run --detach`) from the journal.
    ///
    /// Each line starts with its unit when several run. Works from any terminal, after the
    /// one that started them is gone. With --hooks, the log of the redeploys the git hooks
    /// started instead; with --watch, the background watcher's (`git osa watch --detach`).
    Logs(LogsArgs),
    /// End the checkout's watcher (`git osa watch`) and the detached dev units; the
    /// container stays in dev mode.
    ///
    /// Traffic goes back to the other servers first, then the units stop.
    /// `git osa run --detach` starts them again, `git osa restore` ends the session.
    Stop(StopArgs),
    /// Send what changed in the checkout to the container in dev mode and run the detached
    /// dev units on it.
    ///
    /// Installs only when requirements, packaging metadata or entry points changed, db
    /// syncs only when a migration changed, and only when something changed, reloads a
    /// uWSGI unit's workers in place (requests wait for the new ones; none is refused) or
    /// restarts the other units (the other servers take the traffic meanwhile).
    Sync(SyncArgs),
    /// Sync each save of the checkout into the container, until Ctrl-C.
    ///
    /// Follows the checkout's files (not .git, nor what git ignores) and, once a burst of
    /// saves is over, runs what `git osa sync` runs: the changed files travel, the
    /// install and the db sync run only when their inputs changed, and the dev units take
    /// the new code (a uWSGI unit reloads its workers while the old ones still answer; a
    /// console script restarts). A sync that fails is said, and watching goes on. When the
    /// container is in no detached dev session of this checkout, one is started first, as
    /// `git osa run --detach` starts it. On the terminal, the dev units' logs show as
    /// `git osa logs -f` shows them, with one line per sync. Ctrl-C stops watching; a
    /// session watch started is ended then and production put back, one that was there
    /// before goes on. With --detach, the watcher runs in the background instead (`git osa
    /// logs --watch` shows its log, `git osa status` shows it, `git osa stop` and `git osa
    /// restore` end it). One watcher per checkout; it never syncs while a git hook's
    /// redeploy runs.
    Watch(WatchArgs),
    /// Run a command in the service's environment, in its container.
    ///
    /// COMMAND runs as the service's user (the unit's User=), with the unit's
    /// Environment=, the service's venv active (VIRTUAL_ENV, its bin first on PATH) and,
    /// when the container is in a dev session, in the synced tree, where the project's
    /// package is your checkout (`git osa exec -- python -c 'import keystone;
    /// print(keystone.__file__)'`); without a session, on production's code, in the unit's
    /// working directory or the user's home. Its output is streamed and its exit status is
    /// git osa's. It runs in a transient scope (git-osa-exec-SERVICE-PID.scope): without a
    /// terminal, a Ctrl-C stops it there; on a terminal, the terminal is its own. The
    /// container is the one in dev mode (--container when several are), else the one
    /// --container names, or the only one, or a prompt.
    Exec(ExecArgs),
    /// Open an interactive shell in the service's environment, as `git osa exec` runs a
    /// command: as the service's user, the venv active, in the synced tree.
    ///
    /// bash when the container has it (without the user's rc files, the prompt naming the
    /// service), else sh. Exit it to come back; its exit status is git osa's.
    Shell(ShellArgs),
    /// Sync the checkout, then run the project's unit tests in its container.
    ///
    /// As `git osa sync` first (the container must be in a dev session of the service).
    /// The runner is the one the project declares: stestr (.stestr.conf, or `stestr` in
    /// tox.ini's [testenv] commands) or pytest (pytest.ini, [tool.pytest] in
    /// pyproject.toml, [tool:pytest] in setup.cfg, [pytest] or `pytest` in tox.ini); ARGS go
    /// to it (`stestr run ARGS`, `python -m pytest ARGS`), e.g. `git osa test
    /// keystone.tests.unit.test_exception`. Its test requirements (test-requirements.txt, and
    /// the extras tox installs the project with, such as keystone's `.[ldap]`) and the
    /// runner are installed, under the session's constraints and from the
    /// deployment's package sources (a missing one is named and another index offered, as
    /// for the install), into a venv of the session's (test-venv in
    /// /var/lib/git-osa/SERVICE/, gone at restore) that sees the service venv's packages
    /// after its own: the service's venv is not changed. It is made again only when
    /// test-requirements.txt or the runner changed. The tests run as the service's user in
    /// the synced tree; their output is streamed and their exit status is git osa's.
    Test(TestArgs),
    /// Change the service's configuration for the dev session; restore puts production's
    /// back.
    ///
    /// When a session begins, git-osa notes what the service's configuration holds: its
    /// configuration folder (/etc/heat) and its units' uWSGI inis (bytes, owner, mode;
    /// keys, which rotate on their own, are not configuration). `set` changes a value of
    /// one of those files: FILE is its path in the container or its name in the folder
    /// (heat.conf, api-paste.ini, policy.yaml); SECTION.KEY names an ini option
    /// (DEFAULT.debug), a policy's rule is named as it is (identity:get_user). A value of
    /// the service's own oslo.config file goes into a drop-in beside it
    /// (heat.conf.d/98-git-osa-conf.conf), production's file untouched; it must be an
    /// option the file or the service's code knows (its oslo.config namespaces, asked of
    /// the venv). Another file (paste ini, uWSGI ini, policy) is changed in place, its
    /// section must be there. Detached dev units then take it as `git osa sync` would
    /// redeploy them (a uWSGI unit's workers reload; a change of its uWSGI ini restarts
    /// it); units in the foreground take it when they start again. `unset` puts
    /// production's value back. `diff` (and `git osa status`) shows every difference from
    /// what the session found, hand edits in the container included; `git osa restore`
    /// puts every noted file back as it was and removes the files added since, and says
    /// so. `git osa config` is another command: it shows git-osa's own settings.
    Conf(ConfArgs),
    /// Destroy the service's container and make it again with the deployment's own
    /// commands: the article's remedy for a container broken during development.
    ///
    /// It asks first (on a terminal; --yes otherwise). The container's dev session, if it
    /// has one, is restored first (HAProxy's pins and the database are outside the
    /// container). Then, on the deploy host (this one, or --deploy-host), the commands OSA
    /// documents for the deployment's release (/etc/openstack-release there): from 2024.2
    /// on, `openstack-ansible openstack.osa.containers_lxc_destroy --limit
    /// localhost,CONTAINER -e force_containers_destroy=true -e
    /// force_containers_data_destroy=false` (the container's data and logs are kept), then
    /// `openstack.osa.containers_lxc_create --limit localhost,lxc_hosts,CONTAINER`, then the
    /// service's playbook `openstack.osa.SERVICE --limit localhost,CONTAINER`; before
    /// 2024.2, lxc-containers-destroy.yml, lxc-containers-create.yml and
    /// os-SERVICE-install.yml from /opt/openstack-ansible/playbooks. git config
    /// osa.rebuildCommand replaces them. Their output is streamed; then git-osa waits until
    /// the new container's units run and its HAProxy servers are UP, and prints its
    /// status. --dry-run shows all of it and changes nothing.
    Rebuild(RebuildArgs),
    /// Install, remove or show the git hooks that redeploy on commit.
    ///
    /// `install` puts git-osa's post-commit, post-merge, post-checkout (branch switches)
    /// and post-rewrite hooks in this checkout's hooks folder (core.hooksPath when set);
    /// a hook already there is kept and still runs first. After each, `git osa sync` runs
    /// in the background (one at a time; a burst of commits makes at most two), when the
    /// container is in a dev session of this checkout; otherwise they do nothing, quietly.
    /// While a rebase, merge, cherry-pick, revert or bisect is in progress they only note
    /// the wish: the operation's end redeploys once (a bisect's reset leaves the checkout
    /// as deployed; the next hook redeploys). In a repository sharing the hooks folder
    /// (core.hooksPath) that `install` was not run in, they write nothing. `git commit
    /// --no-verify` skips git's pre-commit and commit-msg hooks only: the post-commit hook
    /// still redeploys (`git -c core.hooksPath=/dev/null commit` runs none). `git osa logs
    /// --hooks` shows what they did. `uninstall` leaves the hooks folder as it was before
    /// `install`.
    Hooks(HooksArgs),
}

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// The container to use when the service has several (see `git osa status`); git
    /// config osa.container.
    #[arg(long, value_name = "NAME", env = "GIT_OSA_CONTAINER")]
    pub container: Option<String>,

    /// Only swap this unit of the project (repeatable, or comma-separated), e.g.
    /// `--service heat-engine`; git config osa.service (multi-valued).
    #[arg(
        long = "service",
        value_name = "UNIT",
        env = "GIT_OSA_SERVICE",
        value_delimiter = ','
    )]
    pub services: Vec<String>,

    /// Print the plan (each command, where, as whom) and change nothing (-n as for
    /// git-review and git).
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Print the plan as JSON instead of text (with --dry-run): a versioned document
    /// described by git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/
    /// once installed).
    #[arg(long, requires = "dry_run")]
    pub json: bool,

    /// Let pip use this index for requirements the deployment's repo server lacks.
    #[arg(long, value_name = "URL")]
    pub allow_public_index: Option<String>,

    /// Restore production as soon as the dev process stops; git config osa.restoreOnExit.
    #[arg(
        long,
        env = "GIT_OSA_RESTORE_ON_EXIT",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub restore_on_exit: bool,

    /// Keep the container in dev mode when the dev process stops, whatever
    /// osa.restoreOnExit or GIT_OSA_RESTORE_ON_EXIT say.
    #[arg(long, overrides_with = "restore_on_exit")]
    pub no_restore_on_exit: bool,

    /// Run the dev units as systemd services in the container (`git-osa-dev-<unit>`) and
    /// return once they serve: `git osa logs -f` follows them, `git osa sync` redeploys,
    /// `git osa stop` ends them. git config osa.detach makes it the default.
    #[arg(
        long,
        env = "GIT_OSA_DETACH",
        value_parser = clap::builder::BoolishValueParser::new(),
        conflicts_with = "restore_on_exit"
    )]
    pub detach: bool,
    /// Dump the service's database into the container before the session's first db sync,
    /// and note its rows and what each db sync changes, so that `git osa restore` undoes
    /// the session's migrations before production starts, keeping the rows others write
    /// meanwhile (the default of `git osa review`); git config osa.dbSnapshot.
    #[arg(
        long,
        env = "GIT_OSA_DB_SNAPSHOT",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub db_snapshot: bool,

    /// Run the db sync without a snapshot, whatever osa.dbSnapshot, GIT_OSA_DB_SNAPSHOT or
    /// `git osa review` say: restore then cannot undo a schema upgrade.
    #[arg(long, overrides_with = "db_snapshot")]
    pub no_db_snapshot: bool,

    /// Take over a dev session another user started, without asking (a terminal asks).
    #[arg(long)]
    pub force: bool,

    /// Install this checkout too, editable, into the service's venv before the service
    /// itself (repeatable): a library such as oslo.db or keystonemiddleware, tried inside
    /// the running service. It stays in the venv until `git osa restore`.
    #[arg(long = "with", value_name = "PATH")]
    pub with: Vec<PathBuf>,

    /// Go on when HAProxy's admin socket cannot be reached: traffic is then not moved to
    /// the container, and requests reach dev and production alike.
    #[arg(long)]
    pub no_haproxy: bool,

    /// Debug the dev process at this terminal: `breakpoint()` in the code stops there, in
    /// pdb (the default) or pudb (`--debug=pudb`: installed into the venv for the session,
    /// as PYTHONBREAKPOINT). A uWSGI unit then runs one worker with the terminal as its
    /// stdin and no harakiri, so a breakpoint in a request handler stops at the terminal
    /// (HAProxy's health checks and other clients wait meanwhile); a console script
    /// (heat-engine) has the terminal already, and pdb opens it as /dev/tty (a worker reads
    /// end-of-file from its stdin). The terminal is one: the run must swap one
    /// unit (`--service`), in a container on this host.
    #[arg(
        long,
        value_enum,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "pdb",
        value_name = "DEBUGGER",
        conflicts_with_all = ["detach", "debugpy"]
    )]
    pub debug: Option<TerminalDebugger>,

    /// Have the dev process listen for a remote debugger (debugpy, which VS Code and the
    /// other DAP clients attach to) on the container's loopback at PORT (5678 when not
    /// given), and forward PORT on this machine's loopback to it while the run lasts,
    /// through the same connection as the rest (lxc-attach, or ssh to another host).
    /// debugpy is installed into the venv for the session from the deployment's package
    /// sources (as a missing requirement, another index is offered when they lack it);
    /// restore puts production's venv back, without it. A uWSGI unit runs one worker
    /// without harakiri. The attach configuration (VS Code's launch.json, the path mapping
    /// from the container's copy to your checkout) is printed when the run starts.
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "5678",
        value_name = "PORT",
        conflicts_with = "detach"
    )]
    pub debugpy: Option<u16>,

    /// With --detach: a sync whose edits change only the bodies of functions is applied in
    /// the running uWSGI workers, each function's code replaced in place, with no reload
    /// (on the lab, keystone served a save 0.35 s after it, against 0.6 s with the
    /// workers' reload and 2.9 s for the unit's restart). Anything
    /// else (an import, module-level code, a class, a signature, a new or deleted file, an
    /// install, a db sync) reloads the workers as without it, saying why. Units that are
    /// not uWSGI restart as usual.
    #[arg(long)]
    pub hot_patch: bool,

    /// Start with this development configuration (repeatable), as `git osa conf set FILE
    /// SECTION.KEY VALUE` sets it, before the dev units start: e.g. `--conf
    /// heat.conf:DEFAULT.debug=True`. Restore puts production's back.
    #[arg(long = "conf", value_name = "FILE:SECTION.KEY=VALUE")]
    pub conf: Vec<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ReviewArgs {
    /// The change: NUMBER, NUMBER,PATCHSET, its URL, or its Change-Id (I and 40 hex digits).
    #[arg(value_name = "CHANGE", required_unless_present = "clean")]
    pub change: Option<String>,

    /// The patchset to run (the latest when unset); same as CHANGE,N.
    #[arg(long, value_name = "N")]
    pub patchset: Option<u32>,

    /// Remove git-osa's worktrees and refs of the changes no container of the project runs
    /// now; a worktree with edits of yours is kept (and said).
    #[arg(long, conflicts_with_all = ["change", "patchset"])]
    pub clean: bool,

    /// Clone the checkout of a Depends-On project that git-osa cannot find (in git config
    /// osa.checkouts, or beside this checkout) into git-osa's cache, without asking (a
    /// terminal asks).
    #[arg(long)]
    pub clone_dependencies: bool,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug, Clone, Default)]
pub struct StatusArgs {
    /// Print JSON instead of text: a versioned document described by
    /// git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed).
    #[arg(long)]
    pub json: bool,

    /// Ask the Gerrit server whether a reviewed change has a newer patchset: one `git
    /// ls-remote` a change, given up after 5 s, never asking for a password, a passphrase
    /// or a host key (when it cannot ask, status says why). Without it, status asks Gerrit
    /// nothing (the deployment's other hosts are still read, over ssh).
    #[arg(long)]
    pub online: bool,

    /// Ask Gerrit nothing: the default (kept for scripts that pass it).
    #[arg(long, hide = true, overrides_with = "online")]
    pub offline: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RestoreArgs {
    /// Restore every dev session on this host, not only the current project's.
    #[arg(long)]
    pub all: bool,

    /// Only restore this container.
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub container: Option<String>,

    /// Undo the session's migrations even where that loses rows written since its db
    /// sync. With a database snapshot, restore drops what the migrations added and puts
    /// back only the rows they changed, keeping what others wrote; when that would lose
    /// rows (a row a migration changed that someone changed again, a table to load back
    /// whole that others wrote to), it names them (table, count) and stops, changing
    /// nothing, unless given this.
    #[arg(long)]
    pub discard_newer_rows: bool,

    /// Print the plan and change nothing (-n as for git).
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Print the plan as JSON instead of text (with --dry-run): a versioned document
    /// described by git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/
    /// once installed).
    #[arg(long, requires = "dry_run")]
    pub json: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Print JSON instead of text: a versioned document described by
    /// git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct DoctorArgs {
    /// Print JSON instead of text: every check, with its result and fix (a versioned
    /// document described by git-osa-json.schema.json, doc/ in the source,
    /// share/doc/git-osa/ once installed). The exit status is the same.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct LogsArgs {
    /// Keep following: print new lines as they come, until Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,

    /// Only this unit of the project (repeatable), e.g. `--unit heat-engine`.
    #[arg(long = "unit", value_name = "UNIT")]
    pub units: Vec<String>,

    /// Only lines since this time, in journalctl's words (`10 min ago`, `today`,
    /// `2024-05-01 12:00`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Show the log of the redeploys the git hooks ran (`git osa hooks install`).
    #[arg(long, conflicts_with_all = ["units", "since", "container", "watch"])]
    pub hooks: bool,

    /// Show the log of the background watcher (`git osa watch --detach`): one line per
    /// sync, with what changed and how it ended.
    #[arg(long, conflicts_with_all = ["units", "since", "container"])]
    pub watch: bool,

    /// The container, when the service has several and more than one is in dev mode.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct StopArgs {
    /// The container, when the service has several in dev mode.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct SyncArgs {
    /// The container, when the service has several in dev mode.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,

    /// Print the plan and change nothing (-n as for git).
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Let pip use this index for requirements the deployment's repo server lacks.
    #[arg(long, value_name = "URL")]
    pub allow_public_index: Option<String>,

    /// Sync this checkout into a session another checkout started (a linked worktree, a
    /// reviewed change) without asking: its code is replaced.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct WatchArgs {
    /// The container, when the service has several (see `git osa status`); git config
    /// osa.container.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,

    /// Watch in the background and return: `git osa logs --watch` shows what it does,
    /// `git osa stop` ends it.
    #[arg(long)]
    pub detach: bool,

    /// When watch starts the dev units (no detached session runs them yet), start them
    /// as `git osa run --detach --hot-patch` does: a save that changes only function
    /// bodies is patched into the running uWSGI workers, with no reload.
    #[arg(long)]
    pub hot_patch: bool,

    /// The background watcher itself (what --detach starts).
    #[arg(long, hide = true, conflicts_with = "detach")]
    pub in_background: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ConfArgs {
    #[command(subcommand)]
    pub action: ConfAction,
}

#[derive(Subcommand, Debug, Clone)]
pub enum ConfAction {
    /// Set a value of the service's configuration for the dev session.
    Set {
        /// The container, when the service has several in dev mode.
        #[arg(long, value_name = "NAME")]
        container: Option<String>,
        /// The file: its path in the container, or its name in the service's
        /// configuration folder (heat.conf, api-paste.ini, policy.yaml).
        #[arg(value_name = "FILE")]
        file: String,
        /// SECTION.KEY of an ini file (DEFAULT.debug); a policy's rule as it is named.
        #[arg(value_name = "SECTION.KEY")]
        key: String,
        /// The value.
        #[arg(value_name = "VALUE", allow_hyphen_values = true)]
        value: String,
    },
    /// Put production's value back (as the session found it).
    Unset {
        /// The container, when the service has several in dev mode.
        #[arg(long, value_name = "NAME")]
        container: Option<String>,
        /// The file, as `set` names it.
        #[arg(value_name = "FILE")]
        file: String,
        /// SECTION.KEY, as `set` names it.
        #[arg(value_name = "SECTION.KEY")]
        key: String,
    },
    /// Show every difference from the configuration the session found: git osa conf's
    /// values and hand edits.
    Diff {
        /// The container, when the service has several in dev mode.
        #[arg(long, value_name = "NAME")]
        container: Option<String>,
        /// Print JSON instead of text: a versioned document described by
        /// git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once
        /// installed).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub struct RebuildArgs {
    /// The container, when the service has several (a terminal asks otherwise).
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,

    /// Rebuild without asking (without a terminal, rebuild needs it).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Print what would run, where, and change nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ExecArgs {
    /// The container, when several of the service's are in dev mode, or to run in one
    /// that is in none (on production's code).
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,

    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ShellArgs {
    /// The container, when several of the service's are in dev mode, or to open one in a
    /// container that is in none (on production's code).
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct TestArgs {
    /// The container, when the service has several in dev mode.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,

    /// The runner, when the project declares both (it must declare the one named).
    #[arg(long, value_enum, value_name = "RUNNER")]
    pub runner: Option<TestRunner>,

    /// Let pip use this index for test requirements (and the checkout's requirements) the
    /// deployment's repo server lacks.
    #[arg(long, value_name = "URL")]
    pub allow_public_index: Option<String>,

    /// Sync this checkout into a session another checkout started without asking, as
    /// `git osa sync --force`.
    #[arg(long)]
    pub force: bool,

    /// What the runner gets: a test filter, its own options.
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

/// A debugger at the terminal.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalDebugger {
    Pdb,
    Pudb,
}

/// A unit test runner a project declares.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestRunner {
    Stestr,
    Pytest,
}

#[derive(Args, Debug, Clone)]
pub struct HooksArgs {
    #[command(subcommand)]
    pub action: HooksAction,
}

#[derive(Subcommand, Debug, Clone)]
pub enum HooksAction {
    /// Install the hooks (again: updates them).
    Install {
        /// Also start a detached dev session when the container is in none (otherwise
        /// the hooks only redeploy into a session this checkout started).
        #[arg(long)]
        start: bool,
    },
    /// Remove git-osa's hooks and put back those they replaced.
    Uninstall,
    /// Show which hooks are git-osa's and how the last redeploy ended.
    Status {
        /// Print JSON instead of text: a versioned document described by
        /// git-osa-json.schema.json (doc/ in the source, share/doc/git-osa/ once installed).
        #[arg(long)]
        json: bool,
    },
    /// What an installed hook runs: start a redeploy in the background and return.
    #[command(hide = true)]
    Fire {
        /// The hook's name.
        hook: String,
    },
    /// The background redeploy a hook started.
    #[command(hide = true)]
    Work,
}
