//! The `config` document: each setting, its value and where it came from.

use serde::Serialize;

use serde_json::Value;

use crate::settings;

use super::Document;

#[derive(Serialize)]
pub struct Config {
    pub settings: Vec<SettingView>,
}

impl Document for Config {
    const KIND: &'static str = "config";
}

#[derive(Serialize)]
pub struct SettingView {
    pub key: &'static str,
    /// A string, a boolean (`osa.restoreOnExit`, `osa.detach`), or null when unset.
    pub value: Value,
    /// `flag`, `env`, git config's `system`, `global`, `local`, `worktree` or `command`,
    /// `toml`, `default`.
    pub scope: &'static str,
    /// The option, the variable or the file (`file:PATH`); null for a default.
    pub origin: Option<String>,
}

impl Config {
    pub fn new(lines: &[settings::Line]) -> Config {
        Config {
            settings: lines
                .iter()
                .map(|l| SettingView {
                    key: l.key,
                    value: match &l.value {
                        settings::Value::Text(s) => Value::String(s.clone()),
                        settings::Value::Bool(b) => Value::Bool(*b),
                        settings::Value::Unset => Value::Null,
                    },
                    scope: l.origin.scope(),
                    origin: l.origin.source(),
                })
                .collect(),
        }
    }
}
