//! The command line, as clap definitions only: no logic lives here.
//!
//! The man page and the shell completions are generated from these definitions
//! (`tests/generated/render.rs`), so the `///` comments below are the user's documentation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Run an OpenStack service from your checkout inside its OpenStack-Ansible container.
///
/// Run from a checkout of an OpenStack project (keystone, heat, nova, ... or a Gerrit
/// change of one), `git osa` finds that service's LXC container(s) in an
/// OpenStack-Ansible deployment, stops the production service, syncs the checkout in,
/// installs it into the service's venv, runs the service's db sync, and runs the service
/// in the foreground with its logs on the terminal. `git osa restore` puts production
/// back exactly as it was. Without a subcommand, `git osa` is `git osa run`.
#[derive(Parser, Debug)]
#[command(
    name = "git-osa",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// OSA inventory to read the containers from.
    #[arg(
        long,
        global = true,
        env = "GIT_OSA_INVENTORY",
        value_name = "PATH",
        default_value = "/etc/openstack_deploy/openstack_inventory.json"
    )]
    pub inventory: PathBuf,

    /// LXC path of the containers (lxc-* -P); the LXC default when unset.
    #[arg(long, global = true, env = "GIT_OSA_LXC_PATH", value_name = "PATH")]
    pub lxc_path: Option<PathBuf>,

    /// HAProxy admin socket (`stats socket ... level admin` in haproxy.cfg).
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

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Swap the checkout into its container and run it in the foreground (the default).
    Run(RunArgs),
    /// Show the project's containers, their units, HAProxy servers and dev sessions.
    Status(StatusArgs),
    /// Put production back: stop the dev process, restore the venv, start the units.
    Restore(RestoreArgs),
}

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// The container to use when the service has several (see `git osa status`).
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,

    /// Only swap this unit of the project (repeatable), e.g. `--service heat-engine`.
    #[arg(long = "service", value_name = "UNIT")]
    pub services: Vec<String>,

    /// Print the plan (each command, where, as whom) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Let pip use this index for requirements the deployment's repo server lacks.
    #[arg(long, value_name = "URL")]
    pub allow_public_index: Option<String>,

    /// Restore production as soon as the dev process stops.
    #[arg(long)]
    pub restore_on_exit: bool,

    /// Go on when HAProxy's admin socket cannot be reached: traffic is then not moved to
    /// the container, and requests reach dev and production alike.
    #[arg(long)]
    pub no_haproxy: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct StatusArgs {}

#[derive(Args, Debug, Clone, Default)]
pub struct RestoreArgs {
    /// Restore every dev session on this host, not only the current project's.
    #[arg(long)]
    pub all: bool,

    /// Only restore this container.
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub container: Option<String>,

    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}
