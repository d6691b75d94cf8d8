//! End to end, against the lab: real LXC containers with systemd, a real keystone under
//! uWSGI, a real HAProxy, real git checkouts. Each test tells a user's story and asserts
//! what the user would see: HTTP answers through HAProxy, `git osa` output and exit codes,
//! processes and files in the containers.
//!
//! They need the lab up and its environment: `tests/run` does both
//! (`tests/lab/lab up; eval "$(tests/lab/lab env)"`), and runs them with `--include-ignored`.
//!
//! `harness` is the lab as the stories see it, `running` and `pty` the two ways a story
//! runs `git osa` (in the background, or at a terminal); every other module is one family
//! of stories.

#[path = "../gerrit/mod.rs"]
mod gerrit;
mod harness;
mod multi;
mod pty;
mod running;

mod catalog;
mod conf;
mod containers;
mod cycle;
mod debug;
mod detached;
mod exit;
mod faults;
mod haproxy;
mod heat;
mod hooks;
mod hot;
mod index;
mod inside;
mod interrupt;
mod killed;
mod multinode;
mod rebuild;
mod restore;
mod review;
mod snapshot;
mod status;
mod terminal;
mod users;
mod venv;
mod watch;
