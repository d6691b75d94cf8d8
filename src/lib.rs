//! git-osa: run an OpenStack service from a checkout inside its OpenStack-Ansible LXC
//! container, and put production back.
//!
//! `main.rs` only calls [`main`]; everything else is here so tests can reach it.

pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod cycle;
pub mod error;
pub mod execute;
pub mod foreground;
#[cfg(test)]
mod golden;
pub mod haproxy;
pub mod health;
pub mod install;
pub mod inventory;
pub mod layout;
pub mod lock;
pub mod lxc;
pub mod migrations;
pub mod pbr;
pub mod plan;
pub mod probe;
pub mod project;
pub mod record;
pub mod restore;
pub mod select;
pub mod sessions;
pub mod signals;
pub mod state;
pub mod status;
pub mod survey;
pub mod sync;
pub mod systemd;
pub mod ui;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, parser::ValueSource};

use cli::{Cli, Command};
use context::Context;
use error::{Error, Result};

pub fn main() -> ExitCode {
    let matches = Cli::command().bin_name("git osa").get_matches();
    let inventory_explicit = matches.value_source("inventory") != Some(ValueSource::DefaultValue);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match dispatch(cli, inventory_explicit) {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

fn dispatch(cli: Cli, inventory_explicit: bool) -> Result<ExitCode> {
    let ctx = Context::new(ui::Ui::from_env(), cli.global, inventory_explicit)?;
    match cli.command {
        Some(Command::Status(args)) => {
            commands::status::run(&ctx, &args).map(|_| ExitCode::SUCCESS)
        }
        Some(Command::Run(args)) => commands::run::run(&ctx, &args),
        None => commands::run::run(&ctx, &cli.run),
        Some(Command::Restore(args)) => commands::restore::run(&ctx, &args),
    }
}

/// Prints an error the way every command does and returns its exit code.
fn report(err: &Error) -> ExitCode {
    let mut e = std::io::stderr().lock();
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return ExitCode::SUCCESS;
        }
    }
    let _ = writeln!(e, "git-osa: error: {err}");
    for h in err.hints() {
        let _ = writeln!(e, "  hint: {h}");
    }
    ExitCode::from(err.exit_code())
}
