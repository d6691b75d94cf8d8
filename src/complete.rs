//! `git-osa __complete containers|units [WORD]...`: the names the shell completions offer
//! after `--container`, and after `--service` and `logs --unit`, one per line: the containers of the current
//! checkout's service, or its units, found as a run finds them (the inventory, or LXC
//! container names without one).
//!
//! The completion scripts in `completions/` pass the words typed so far, so a deployment
//! option on the line (`git osa --inventory PATH restore --container <TAB>`) counts, and
//! so do the environment and git config, as for any command. A completion must never
//! print an error, so this is not a clap subcommand: clap never sees it (nor shows it in
//! `--help`, the man pages or the completions), and whatever fails prints nothing.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::catalog::Service;
use crate::cli::Cli;
use crate::context::{Context, Placement};
use crate::select;
use crate::settings::Settings;
use crate::ui::Ui;

/// The first argument that asks for names instead of running a command.
pub const SUBCOMMAND: &str = "__complete";

/// Answers `git-osa __complete ...`; `None` when the arguments are another command's.
pub fn intercept(args: &[OsString]) -> Option<ExitCode> {
    if args.get(1)? != SUBCOMMAND {
        return None;
    }
    let what = args.get(2).and_then(|w| w.to_str()).unwrap_or_default();
    let words: Vec<String> = args
        .iter()
        .skip(3)
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let Some(names) = names(what, &words) else {
        return Some(ExitCode::FAILURE);
    };
    let mut out = std::io::stdout().lock();
    for name in names {
        // A closed pipe (the shell stopped reading) is no reason to say anything.
        if writeln!(out, "{name}").is_err() {
            break;
        }
    }
    Some(ExitCode::SUCCESS)
}

/// The names to offer, or `None` when they cannot be found (not a checkout, no inventory,
/// an unknown project, bad settings...).
fn names(what: &str, words: &[String]) -> Option<Vec<String>> {
    let mut command = Cli::command();
    let matches = command
        .try_get_matches_from_mut(deployment_options(&command, words))
        .ok()?;
    let cli = Cli::from_arg_matches(&matches).ok()?;
    let cwd = std::env::current_dir().ok()?;
    let settings = Settings::resolve(&matches, &cwd).ok()?;
    let container = typed(words, "--container").or_else(|| settings.container.value.clone());
    let ui = Ui::plain();
    let ctx = Context::new(ui, cli.global, settings).ok()?;
    let project = ctx.project().ok()?;
    let (placements, _) = ctx.placements(&project.service).ok()?;
    match what {
        "containers" => Some(
            placements
                .into_iter()
                .map(|p| p.host.container_name)
                .collect(),
        ),
        "units" => Some(units(&project.service, &placements, container.as_deref())),
        _ => None,
    }
}

/// The units of the container named on the line (or in the settings), else of them all.
fn units(service: &Service, placements: &[Placement], container: Option<&str>) -> Vec<String> {
    let chosen: Vec<&Placement> =
        match container.and_then(|c| select::named(service, placements, c).ok()) {
            Some(p) => vec![p],
            None => placements.iter().collect(),
        };
    let mut names: Vec<String> = Vec::new();
    for p in chosen {
        for u in &p.units {
            if !names.contains(&u.name) {
                names.push(u.name.clone());
            }
        }
    }
    names
}

/// An argv of only the deployment options (the global ones) among the typed words, in
/// either form (`--inventory PATH`, `--inventory=PATH`): the rest of a line being typed
/// may be incomplete or wrong, and must not keep the names from being found.
fn deployment_options(command: &clap::Command, words: &[String]) -> Vec<String> {
    let globals: Vec<String> = command
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(|a| a.get_long())
        .map(|l| format!("--{l}"))
        .collect();
    let mut argv = vec!["git-osa".to_string()];
    for g in &globals {
        if let Some(v) = typed(words, g) {
            argv.push(format!("{g}={v}"));
        }
    }
    argv
}

/// The last value the words give the option `flag`, with a leading `~/` expanded (the
/// shell has not expanded it yet on a line being typed). bash splits `--flag=value` into
/// three words: `--flag`, `=`, `value`.
fn typed(words: &[String], flag: &str) -> Option<String> {
    let mut value = None;
    let mut it = words.iter().peekable();
    while let Some(w) = it.next() {
        if w == flag {
            it.next_if(|w| *w == "=");
            value = it.next().cloned().or(value);
        } else if let Some(v) = w.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            value = Some(v.to_string());
        }
    }
    let value = value.filter(|v| !v.is_empty())?;
    match (value.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Some(format!("{}/{rest}", home.to_string_lossy())),
        _ => Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn only_the_deployment_options_of_the_typed_line_are_parsed() {
        let cmd = Cli::command();
        let argv = deployment_options(
            &cmd,
            &words("git osa --inventory /a restore --bogus --config=/c.toml --container"),
        );
        assert_eq!(argv, ["git-osa", "--inventory=/a", "--config=/c.toml"]);
    }

    #[test]
    fn a_flag_without_its_value_yet_is_ignored_and_the_last_one_counts() {
        assert_eq!(
            typed(&words("--container a --container"), "--container"),
            Some("a".into())
        );
        assert_eq!(
            typed(&words("--container=a --container b"), "--container"),
            Some("b".into())
        );
        assert_eq!(typed(&words("--containers x"), "--container"), None);
        assert_eq!(
            typed(&words("--container = c"), "--container"),
            Some("c".into())
        );
    }
}
