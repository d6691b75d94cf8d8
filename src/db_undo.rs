//! Restore undoes the session's migrations, not what others wrote meanwhile.
//!
//! A database snapshot (`--db-snapshot`) used to be loaded back whole over the shared
//! database, and rows other users wrote during the session (a stack created through
//! another heat container) were lost. Now the snapshot is the source of only what cannot
//! be undone otherwise: right after it, git-osa notes the schema and a fingerprint of
//! every row; around each db sync of the session it notes which rows the sync changed; at
//! restore it compares all that with the database as it is then, drops what the
//! migrations added (OpenStack's expand migrations are additive), puts back from the
//! snapshot the rows they changed, and reloads whole only a table whose schema they
//! changed in a way no drop undoes. When that would lose rows written since (a row a
//! migration changed that someone changed again, a table to reload that others wrote
//! to), restore names them (table, count) and stops, changing nothing, unless
//! `--discard-newer-rows`.
//!
//! The work is done in the container by `db_undo.py`, with the service venv's own Python
//! (SQLAlchemy and the database's driver), its code on stdin, its notes in the session's
//! folder. It reads the database's URL from the service's config file itself, so the
//! password never travels.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::db::Snapshot;
use crate::error::Error;
use crate::exec::{Exec, Input};
use crate::layout::Paths;

/// The tool, as it runs in the container.
pub const TOOL: &str = include_str!("db_undo.py");

/// The flag that lets restore lose them.
pub const DISCARD: &str = "--discard-newer-rows";

/// The venv's Python, which has SQLAlchemy and the database's driver.
fn python(venv: &str) -> String {
    format!("{venv}/bin/python3")
}

fn tool(venv: &str, args: &[&str]) -> Exec {
    let mut argv = vec![python(venv), "-".into()];
    argv.extend(args.iter().map(|a| a.to_string()));
    Exec::new(argv).with_stdin(Input::Bytes(TOOL.as_bytes().to_vec()))
}

/// Right after the snapshot: the schema and every row's fingerprint, and the URL read
/// from the service's `config` file into the session's folder (mode 600).
pub fn note_base(paths: &Paths, venv: &str, config: &str) -> Exec {
    tool(venv, &["base", &paths.dir, config])
}

/// Runs a db sync (`argv`, as `user`) between notes of the rows before and after it. The
/// note after it runs however the db sync ended.
const NOTED_DB_SYNC: &str = r#"
py=$1 dir=$2 user=$3; shift 3
tool=$(mktemp) || exit 1
cat > "$tool"
"$py" "$tool" before "$dir" || { rm -f "$tool"; exit 1; }
runuser -u "$user" -- "$@" < /dev/null; rc=$?
"$py" "$tool" after "$dir" || { [ "$rc" != 0 ] || rc=1; }
rm -f "$tool"
exit "$rc"
"#;

/// The db sync `argv`, as `user`, noted: what it changes is told from others' writes.
pub fn noted_db_sync(paths: &Paths, venv: &str, user: &str, argv: &[String]) -> Exec {
    let py = python(venv);
    let mut args: Vec<&str> = vec![&py, &paths.dir, user];
    args.extend(argv.iter().map(String::as_str));
    Exec::script(NOTED_DB_SYNC, "git-osa-dbsync", &args)
        .with_stdin(Input::Bytes(TOOL.as_bytes().to_vec()))
}

/// The revision alembic could not find (`Can't locate revision identified by 'abc'`):
/// the database is at a migration the checkout does not have.
pub fn missing_revision(output: &str) -> Option<String> {
    let (_, rest) = output.split_once("Can't locate revision identified by ")?;
    let rev: String = rest
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!rev.is_empty()).then_some(rev)
}

/// What `undo` would do, as a JSON [`Report`] on stdout; it changes nothing.
pub fn check(paths: &Paths, venv: &str, snap: &Snapshot, discard: bool) -> Exec {
    let mut args = vec!["check", paths.dir.as_str(), snap.dump()];
    if discard {
        args.push(DISCARD);
    }
    tool(venv, &args)
}

/// Undoes the session's migrations from the notes and the snapshot.
pub fn undo(paths: &Paths, venv: &str, snap: &Snapshot, discard: bool) -> Exec {
    let mut args = vec!["undo", paths.dir.as_str(), snap.dump()];
    if discard {
        args.push(DISCARD);
    }
    tool(venv, &args)
}

/// What undoing the session's migrations takes, as the tool's `check` says it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Report {
    /// What the migrations added: `table T`, `column T.C`, `index T.I`, `foreign key T.F`.
    #[serde(default)]
    pub drop: Vec<String>,
    /// Indexes they removed, made again.
    #[serde(default)]
    pub create: Vec<String>,
    /// Tables loaded back whole from the snapshot.
    #[serde(default)]
    pub reload: Vec<String>,
    /// Rows put back from the snapshot, by table.
    #[serde(default)]
    pub revert: BTreeMap<String, u64>,
    /// Rows written since the db sync that undoing loses, by table.
    #[serde(default)]
    pub lost: BTreeMap<String, u64>,
    /// Rows written since the snapshot that stay, by table.
    #[serde(default)]
    pub kept: BTreeMap<String, u64>,
    /// Rows a db sync changed that were written again since (someone else's now): they
    /// stay, by table.
    #[serde(default)]
    pub superseded: BTreeMap<String, u64>,
    /// Of `lost`, rows changed while a db sync's end was never noted (the container
    /// stopped during it): whose they are cannot be told.
    #[serde(default)]
    pub uncertain: BTreeMap<String, u64>,
}

impl Report {
    pub fn parse(out: &[u8]) -> Result<Report, String> {
        serde_json::from_slice(out).map_err(|e| format!("unreadable answer ({e})"))
    }

    /// The restore step's title: what it drops, puts back, keeps and (told to) loses.
    pub fn title(&self, snap: &Snapshot) -> String {
        let mut parts = Vec::new();
        if !self.drop.is_empty() {
            parts.push(format!("drop {}", self.drop.join(", ")));
        }
        if !self.create.is_empty() {
            parts.push(format!("make {} again", self.create.join(", ")));
        }
        if !self.revert.is_empty() {
            parts.push(format!(
                "put back from the snapshot the rows they changed ({})",
                counts(&self.revert)
            ));
        }
        if !self.reload.is_empty() {
            parts.push(format!(
                "load back whole from the snapshot {}",
                self.reload.join(", ")
            ));
        }
        if !self.lost.is_empty() {
            parts.push(format!(
                "discard rows written since the db sync ({})",
                counts(&self.lost)
            ));
        }
        if !self.kept.is_empty() {
            parts.push(format!(
                "keep the rows written since the snapshot ({})",
                counts(&self.kept)
            ));
        }
        if !self.superseded.is_empty() {
            parts.push(format!(
                "keep as they are the rows the db sync changed that were written again since ({})",
                counts(&self.superseded)
            ));
        }
        if parts.is_empty() {
            parts.push("nothing to undo".into());
        }
        format!(
            "undo the session's migrations in {}: {}",
            snap.describe(),
            parts.join("; ")
        )
    }

    /// Restore's answer when undoing would lose rows and the user did not say it may.
    pub fn refusal(&self, container: &str, snap: &Snapshot) -> Option<Error> {
        if self.lost.is_empty() {
            return None;
        }
        let mut e = Error::user(format!(
            "undoing the session's migrations in {} would lose rows written since its db sync: {}; nothing was changed in {container}",
            snap.describe(),
            counts(&self.lost)
        ));
        if !self.uncertain.is_empty() {
            e = e.hint(format!(
                "of those, {} changed while a db sync's end went unnoted (the container stopped during it): git-osa cannot tell whose they are",
                counts(&self.uncertain)
            ));
        }
        Some(e.hint(format!(
            "`git osa restore {DISCARD}` puts the snapshot's rows back anyway, losing those; until then the session stays"
        )))
    }
}

/// `project 1 row, stack 2 rows`.
fn counts(by_table: &BTreeMap<String, u64>) -> String {
    by_table
        .iter()
        .map(|(t, n)| format!("{t} {n} row{}", if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A session's snapshot taken by a git-osa that did not note its rows can only be loaded
/// back whole, which loses every row written since.
pub fn legacy_refusal(container: &str, snap: &Snapshot) -> Error {
    Error::user(format!(
        "the snapshot of {} was taken without notes of its rows (by an older git-osa): restore can only load it back whole, losing every row written since; nothing was changed in {container}",
        snap.describe()
    ))
    .hint(format!(
        "`git osa restore {DISCARD}` loads it back whole anyway"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alembics_missing_revision_is_read_from_its_error() {
        let out = "ERROR [alembic.util.messaging] Can't locate revision identified by 'c6214ca60943'\n  FAILED: Can't locate revision identified by 'c6214ca60943'";
        assert_eq!(missing_revision(out).as_deref(), Some("c6214ca60943"));
        assert_eq!(missing_revision("Target database is not up to date."), None);
    }

    fn snap() -> Snapshot {
        Snapshot::Mysql {
            dump: "/var/lib/git-osa/heat/db-snapshot.sql".into(),
            password_file: "/var/lib/git-osa/heat/db-password".into(),
            user: "heat".into(),
            host: "172.29.236.21".into(),
            port: None,
            socket: None,
            database: "heat".into(),
        }
    }

    #[test]
    fn the_tools_answer_becomes_what_restore_says() {
        let r = Report::parse(
            br#"{"create": [], "drop": ["table git_osa_probe", "column stack.git_osa_probe"],
                "kept": {"stack": 1, "raw_template": 1}, "lost": {}, "reload": [],
                "revert": {"alembic_version": 2}, "uncertain": {}}"#,
        )
        .unwrap();
        assert_eq!(
            r.title(&snap()),
            "undo the session's migrations in heat on 172.29.236.21: drop table git_osa_probe, \
             column stack.git_osa_probe; put back from the snapshot the rows they changed \
             (alembic_version 2 rows); keep the rows written since the snapshot (raw_template 1 row, stack 1 row)"
        );
        assert!(r.refusal("c1", &snap()).is_none());
        assert_eq!(
            Report::default().title(&snap()),
            "undo the session's migrations in heat on 172.29.236.21: nothing to undo"
        );
        assert!(Report::parse(b"Traceback").is_err());
    }

    #[test]
    fn rows_others_wrote_are_named_and_nothing_is_lost_unless_told() {
        let r = Report {
            lost: [("project".to_string(), 1)].into(),
            ..Report::default()
        };
        let e = r
            .refusal("aio1-keystone-container-b7d24e95", &snap())
            .unwrap();
        let text = format!("{e:#}");
        assert!(
            text.contains("would lose rows written since its db sync: project 1 row; nothing was changed in aio1-keystone-container-b7d24e95"),
            "{text}"
        );
        assert!(
            e.hints()
                .iter()
                .any(|h| h.contains("git osa restore --discard-newer-rows")),
            "{:?}",
            e.hints()
        );
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn the_url_and_its_password_never_reach_a_command_line() {
        let paths = Paths::new("heat");
        let v = "/openstack/venvs/heat-27.0.1";
        for exec in [
            note_base(&paths, v, "/etc/heat/heat.conf"),
            check(&paths, v, &snap(), false),
            undo(&paths, v, &snap(), true),
            noted_db_sync(
                &paths,
                v,
                "heat",
                &[format!("{v}/bin/heat-manage"), "db_sync".into()],
            ),
        ] {
            let argv = exec.full_argv();
            assert!(argv.iter().all(|a| !a.contains("mysql+")), "{argv:?}");
            assert_eq!(exec.stdin, Some(Input::Bytes(TOOL.as_bytes().to_vec())));
        }
        assert_eq!(
            note_base(&paths, v, "/etc/heat/heat.conf").full_argv(),
            [
                "/openstack/venvs/heat-27.0.1/bin/python3",
                "-",
                "base",
                "/var/lib/git-osa/heat",
                "/etc/heat/heat.conf"
            ]
        );
        assert_eq!(
            undo(&paths, v, &snap(), true).full_argv().last().unwrap(),
            DISCARD
        );
    }
}
