//! The binary's answers, with real git repositories and no containers: each command in its
//! module, each story running the real `git-osa` in temp dirs. Bad input names the
//! problem, says what to do, exits non-zero and changes nothing.
//!
//! One test binary for all of them: each integration test binary links the whole crate
//! again, so modules keep the build short.

mod harness;
#[path = "../schema/mod.rs"]
mod schema;

mod checkout;
mod config;
mod doctor;
mod global_options;
mod hooks;
mod inventory;
mod run;
mod status;
mod stop;
