//! One module per command; each handler takes the context and its own arguments.

pub mod conf;
pub mod config;
pub mod doctor;
pub mod exec;
pub mod hooks;
pub mod logs;
pub mod rebuild;
pub mod restore;
pub mod review;
pub mod run;
pub mod shell;
pub mod status;
pub mod stop;
pub mod sync;
pub mod test;
pub mod watch;
