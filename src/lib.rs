//! git-osa: run an OpenStack service from a checkout inside its OpenStack-Ansible LXC
//! container, and put production back.
//!
//! `main.rs` only calls [`main`]; everything else is here so tests can reach it.

pub(crate) mod catalog;
pub mod cli;
pub(crate) mod clock;
pub(crate) mod color;
pub(crate) mod commands;
pub(crate) mod complete;
pub(crate) mod conf;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod cycle;
pub(crate) mod db;
pub(crate) mod db_undo;
pub(crate) mod detach;
pub(crate) mod devconf;
pub(crate) mod doctor;
pub(crate) mod error;
pub(crate) mod exec;
pub(crate) mod execute;
pub(crate) mod foreground;
pub(crate) mod forward;
pub(crate) mod gerrit;
pub mod haproxy;
pub(crate) mod hooks;
pub(crate) mod hot_patch;
pub(crate) mod inside;
pub(crate) mod install;
pub(crate) mod inventory;
pub(crate) mod journal;
pub(crate) mod json;
pub(crate) mod layout;
pub(crate) mod logs;
pub(crate) mod lxc;
pub(crate) mod migrations;
pub(crate) mod output;
pub(crate) mod owner;
pub mod pbr;
pub(crate) mod plan;
pub(crate) mod probe;
pub(crate) mod project;
pub(crate) mod rebuild;
pub(crate) mod redeploy;
pub(crate) mod restore;
pub(crate) mod select;
pub(crate) mod session;
pub mod settings;
pub(crate) mod signals;
pub(crate) mod site;
pub(crate) mod start;
pub(crate) mod status;
pub(crate) mod survey;
pub(crate) mod sync;
pub(crate) mod systemd;
pub mod traffic;
pub mod transport;
pub(crate) mod ui;
pub(crate) mod unit_tests;
pub(crate) mod watch;

use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches, parser::ValueSource};

use cli::{Cli, Command};
use context::Context;
use error::{Error, Result};

pub fn main() -> ExitCode {
    if let Some(code) = complete::intercept(&std::env::args_os().collect::<Vec<_>>()) {
        return code;
    }
    let mut command = Cli::command().bin_name("git osa");
    let matches = command.get_matches_mut();
    if let Some(err) = run_option_before_subcommand(&mut command, &matches) {
        err.exit();
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let ui = ui::Ui::new(&cli.output);
    ui.install_logger();
    match dispatch(cli, ui.clone(), &matches) {
        Ok(code) => code,
        Err(err) => report(&ui, &err),
    }
}

fn dispatch(cli: Cli, ui: ui::Ui, matches: &ArgMatches) -> Result<ExitCode> {
    let settings = settings::Settings::resolve(matches, &std::env::current_dir()?)?;
    let ctx = Context::new(ui, cli.global, settings)?;
    match cli.command {
        Some(Command::Status(args)) => {
            commands::status::run(&ctx, &args).map(|_| ExitCode::SUCCESS)
        }
        Some(Command::Run(args)) => commands::run::run(&ctx, &args),
        None => commands::run::run(&ctx, &cli.run),
        Some(Command::Restore(args)) => commands::restore::run(&ctx, &args),
        Some(Command::Config(args)) => {
            commands::config::run(&ctx, &args).map(|_| ExitCode::SUCCESS)
        }
        Some(Command::Doctor(args)) => commands::doctor::run(&ctx, &args),
        Some(Command::Review(args)) => commands::review::run(&ctx, &args),
        Some(Command::Logs(args)) => commands::logs::run(&ctx, &args),
        Some(Command::Stop(args)) => commands::stop::run(&ctx, &args),
        Some(Command::Sync(args)) => commands::sync::run(&ctx, &args),
        Some(Command::Hooks(args)) => commands::hooks::run(&ctx, &args),
        Some(Command::Watch(args)) => commands::watch::run(&ctx, &args),
        Some(Command::Exec(args)) => commands::exec::run(&ctx, &args),
        Some(Command::Shell(args)) => commands::shell::run(&ctx, &args),
        Some(Command::Test(args)) => commands::test::run(&ctx, &args),
        Some(Command::Conf(args)) => commands::conf::run(&ctx, &args),
        Some(Command::Rebuild(args)) => commands::rebuild::run(&ctx, &args),
    }
}

/// `git osa --container X` is `git osa run --container X`: the run's options are also
/// options of `git osa` itself. Before a subcommand they would be ignored (`git osa
/// --dry-run restore` would restore), so they are refused there, as clap refuses
/// conflicting options; the deployment options (global) are welcome anywhere.
fn run_option_before_subcommand(
    command: &mut clap::Command,
    matches: &ArgMatches,
) -> Option<clap::Error> {
    let (name, _) = matches.subcommand()?;
    let arg = command.get_arguments().find(|a| {
        !a.is_global_set()
            && matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
    })?;
    let arg = arg.to_string();
    Some(command.error(
        clap::error::ErrorKind::ArgumentConflict,
        format!(
            "'{arg}' is an option of `git osa run`: it cannot come before the subcommand '{name}'"
        ),
    ))
}

/// Prints an error the way every command does and returns its exit code.
fn report(ui: &ui::Ui, err: &Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return ExitCode::SUCCESS;
        }
    }
    ui.error(&err.to_string(), err.hints());
    ExitCode::from(err.exit_code())
}
