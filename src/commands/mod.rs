//! One module per command; each handler takes the context and its own arguments.

pub mod config;
pub mod doctor;
pub mod hooks;
pub mod logs;
pub mod restore;
pub mod review;
pub mod run;
pub mod status;
pub mod stop;
pub mod sync;
pub mod watch;
