//! A host git-osa cannot even try to reach (no ssh client, an inventory entry ssh would
//! misread): every use fails with why, naming the host, so the command that needed it
//! says so where it would have run something there, and no other host is held up.

use std::ffi::OsString;
use std::path::Path;

use super::{Process, Transport};
use crate::error::{Error, Result};

#[derive(Debug)]
pub struct Unreachable {
    message: String,
    hints: Vec<String>,
}

impl Unreachable {
    pub fn new(host: &str, why: Error) -> Unreachable {
        Unreachable {
            message: format!("{host} cannot be reached: {why}"),
            hints: why.hints().to_vec(),
        }
    }

    fn error(&self) -> Error {
        self.hints
            .iter()
            .fold(Error::user(self.message.clone()), |e, h| e.hint(h.clone()))
    }
}

impl Transport for Unreachable {
    fn process(&self, _argv: &[OsString], _env: Option<&[(&str, &str)]>) -> Result<Process> {
        Err(self.error())
    }

    fn haproxy(&self, _socket: &Path, _line: &str) -> anyhow::Result<String> {
        Err(anyhow::anyhow!("{}", self.message))
    }

    fn read(&self, _path: &Path) -> Result<Option<Vec<u8>>> {
        Err(self.error())
    }

    fn list(&self, _dir: &Path) -> Result<Vec<String>> {
        Err(self.error())
    }
}
