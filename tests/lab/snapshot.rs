//! The database snapshot on keystone's database: both keystone containers use the one
//! MariaDB database in the galera container, as OSA deploys keystone (SQLite is
//! `multinode::a_metal_keystone_with_its_own_sqlite_database_…`'s, on compute1).
//! A checkout whose alembic migration adds a table and rewrites rows runs with
//! `--db-snapshot`; `status` shows the snapshot; restore undoes the migration with it, and
//! the database's full dump, read from inside the container, is the same as before the
//! run. Then the same migration while a project is created through the other keystone
//! container: restore keeps it; and while a project the migration rewrote is changed
//! there: restore names that row and stops, unless told to discard it.

use std::time::{Duration, Instant};

use crate::harness::{Lab, Node, PINNED, diff_lines, git, var};

/// keystone's database in the lab, as git-osa names it: `keystone on GALERA_IP`.
const DB: &str = "keystone on ";
/// Where the story keeps its own dump, in the galera container's root home, to put the
/// database back by hand if restore did not (so the stories after this one start from
/// production).
const KEEP: &str = "/root/git-osa-story-keystone.sql";

/// The galera container, keystone's database's.
fn galera() -> Node {
    Node {
        name: var("GIT_OSA_LAB_GALERA_CONTAINER"),
        address: String::new(),
    }
}

/// Every table and row of keystone's database, as SQL, each row a line in primary-key
/// order. A table's next AUTO_INCREMENT value is left out: it is the engine's counter
/// (it moves when a row is added and deleted again), not a row.
fn db_dump(lab: &Lab) -> String {
    let o = lab.attach(
        &galera(),
        &[
            "mysqldump",
            "--skip-dump-date",
            "--single-transaction",
            "--skip-extended-insert",
            "--order-by-primary",
            "keystone",
        ],
    );
    assert!(o.status.success(), "mysqldump keystone: {o:?}");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| match l.find(" AUTO_INCREMENT=") {
            Some(at) => {
                let rest = &l[at + " AUTO_INCREMENT=".len()..];
                let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
                format!("{}{}", &l[..at], &rest[digits..])
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Keeps keystone's database in [`KEEP`] (in the galera container).
fn keep(lab: &Lab) {
    let o = lab.attach(
        &galera(),
        &[
            "sh",
            "-c",
            r#"mysqldump --single-transaction keystone >"$1""#,
            "keep",
            KEEP,
        ],
    );
    assert!(o.status.success(), "keep keystone's database: {o:?}");
}

/// Puts keystone's database back from [`KEEP`] (the probe's table goes: the dump does not
/// know it), or only removes [`KEEP`] when `put_back` is false.
fn put_back(lab: &Lab, put_back: bool) {
    let script = if put_back {
        r#"mysql keystone -e 'DROP TABLE IF EXISTS git_osa_snapshot_probe' && mysql keystone <"$1" && rm -f "$1""#
    } else {
        r#"rm -f "$1""#
    };
    let o = lab.attach(&galera(), &["sh", "-c", script, "put-back", KEEP]);
    assert!(o.status.success(), "put keystone's database back: {o:?}");
}

/// A keystone expand migration after 2026.1's head: a new table, and every project's
/// description rewritten (rows, not only the schema, must come back).
pub(crate) fn add_migration(repo: &std::path::Path) {
    let dir = repo.join("keystone/common/sql/migrations/versions/2026.1/expand");
    let head =
        std::fs::read_to_string(repo.join("keystone/common/sql/migrations/versions/EXPAND_HEAD"))
            .unwrap();
    let head = head.trim();
    assert!(
        dir.join(format!("{head}_add_index_in_revocation_event.py"))
            .exists(),
        "keystone's expand head {head} is not where the story expects it"
    );
    std::fs::write(
        dir.join("5a0f5e1dca7e_git_osa_snapshot_probe.py"),
        format!(
            "\"\"\"git-osa snapshot probe\n\nRevision ID: 5a0f5e1dca7e\nRevises: {head}\n\"\"\"\n\n\
             from alembic import op\nimport sqlalchemy as sa\n\n\
             revision = '5a0f5e1dca7e'\ndown_revision = '{head}'\nbranch_labels = None\ndepends_on = None\n\n\n\
             def upgrade():\n\
             \x20   op.create_table('git_osa_snapshot_probe', sa.Column('id', sa.Integer, primary_key=True))\n\
             \x20   op.execute(\"UPDATE project SET description = 'rewritten by the git-osa probe'\")\n"
        ),
    )
    .unwrap();
    git(repo, &["add", "-A"]);
    git(
        repo,
        &[
            "commit",
            "-q",
            "-m",
            "A migration that adds a table and rewrites rows",
        ],
    );
}

#[test]
#[ignore = "needs the lab: tests/run"]
fn a_keystone_migration_with_a_db_snapshot_is_undone_by_restore() {
    let lab = Lab::get();
    let production = lab.production();
    let target = &lab.new;
    let before = db_dump(&lab);
    keep(&lab);
    let dir = lab.checkout("git-osa-keystone-snapshot");
    let repo = dir.path().join("keystone");
    add_migration(&repo);

    let t0 = Instant::now();
    let mut run = lab.start(&repo, &["--container", &target.name, "--db-snapshot"]);
    run.wait_for(
        &format!("snapshot the database {DB}"),
        Duration::from_secs(300),
    );
    run.wait_for("db sync", Duration::from_secs(120));
    run.wait_for(PINNED, Duration::from_secs(240));
    let served = t0.elapsed();
    let during = db_dump(&lab);
    let status = lab.run(&repo, &["status"]);
    let status_out = String::from_utf8_lossy(&status.stdout).into_owned();
    let json = lab.run(&repo, &["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap_or_default();
    run.signal(libc::SIGINT);
    let code = run.finish(Duration::from_secs(180));
    let out = run.output();

    let t1 = Instant::now();
    let restore = lab.run(&repo, &["restore"]);
    let restored_in = t1.elapsed();
    let restore_out = String::from_utf8_lossy(&restore.stderr).into_owned();
    let after = db_dump(&lab);
    let left = lab.sh(
        target,
        "ls -A /var/lib/git-osa/keystone 2>/dev/null; find / -xdev -name 'db-snapshot*' 2>/dev/null",
    );
    // put the database back by hand if restore did not, for the next stories
    put_back(&lab, after != before);
    let db_line = status_out
        .lines()
        .find(|l| l.starts_with("  db       "))
        .unwrap_or_default()
        .to_string();
    eprintln!(
        "keystone on MariaDB: run to pinned {served:?}; git osa restore {restored_in:?}; \
         keystone's database: {} lines of SQL; status said: {db_line}",
        before.lines().count()
    );

    assert!(
        during.contains("CREATE TABLE `git_osa_snapshot_probe`")
            && during.contains("rewritten by the git-osa probe"),
        "the migration ran during the session: {out}"
    );
    assert!(
        out.contains(
            "the database schema was upgraded: `git osa restore` undoes it with the snapshot"
        ),
        "{out}"
    );
    let block = status_out
        .split("\n\n")
        .find(|b| b.starts_with(&format!("{}\n", target.name)))
        .unwrap_or_default();
    assert!(
        block.contains(&format!("  db       snapshot of {DB}"))
            && block.contains(" (mysql), ")
            && block.contains(
                "in /var/lib/git-osa/keystone/db-snapshot.sql; `git osa restore` undoes the session's migrations with it"
            ),
        "status shows the snapshot:\n{status_out}"
    );
    let snap = doc["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == target.name.as_str()))
        .map(|c| c["session"]["db_snapshot"].clone())
        .unwrap_or_default();
    assert_eq!(snap["engine"], "mysql", "{doc}");
    assert!(
        snap["database"].as_str().is_some_and(|d| d.starts_with(DB)),
        "{snap}"
    );
    assert!(
        snap["bytes"].as_u64().is_some_and(|b| b > 4096),
        "the copy's size: {snap}"
    );
    assert!(snap["taken_at"].is_u64(), "{snap}");
    assert_eq!(code, 130, "{out}");
    assert!(restore.status.success(), "{restore_out}");
    assert!(
        restore_out.contains(&format!(
            "undo the session's migrations in {DB}"
        )) && restore_out.contains(
            ": drop table git_osa_snapshot_probe; put back from the snapshot the rows they changed (alembic_version "
        ),
        "restore says what it undoes: {restore_out}"
    );
    assert!(
        before == after,
        "keystone's database differs from before the run:\n{}",
        diff_lines(&before, &after)
    );
    assert_eq!(
        left.trim(),
        "",
        "nothing of the snapshot is left in the container"
    );
    lab.assert_production_back(&production, &[target]);
}

/// curl, no shell: (status line + headers, body).
fn curl(args: &[&str]) -> (String, String) {
    let o = std::process::Command::new("curl")
        .args(["-s", "--noproxy", "*", "-m", "30", "-D", "-"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    match text.split_once("\r\n\r\n") {
        Some((h, b)) => (h.to_string(), b.to_string()),
        None => (text, String::new()),
    }
}

/// An admin token from the keystone at `keystone` (`http://HOST:5000`).
fn admin_token(keystone: &str) -> String {
    let body = serde_json::json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"},
            "password": crate::harness::var("GIT_OSA_LAB_ADMIN_PASSWORD")}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
    let (h, b) = curl(&[
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body.to_string(),
        &format!("{keystone}/v3/auth/tokens"),
    ]);
    assert!(h.starts_with("HTTP/1.1 201"), "{h}\n{b}");
    crate::harness::header(&h, "x-subject-token").expect("a token")
}

/// Creates a project through the keystone at `keystone`; its id.
fn create_project(keystone: &str, name: &str, description: &str) -> String {
    let token = admin_token(keystone);
    let body = serde_json::json!({"project": {
        "name": name, "domain_id": "default", "description": description}});
    let (h, b) = curl(&[
        "-H",
        "Content-Type: application/json",
        "-H",
        &format!("X-Auth-Token: {token}"),
        "--data-binary",
        &body.to_string(),
        &format!("{keystone}/v3/projects"),
    ]);
    assert!(
        h.starts_with("HTTP/1.1 201"),
        "create project {name}: {h}\n{b}"
    );
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    v["project"]["id"].as_str().unwrap().to_string()
}

fn delete_project(keystone: &str, id: &str) {
    let token = admin_token(keystone);
    let _ = curl(&[
        "-X",
        "DELETE",
        "-H",
        &format!("X-Auth-Token: {token}"),
        &format!("{keystone}/v3/projects/{id}"),
    ]);
}

/// The same migration (a table, every project's description rewritten) during a session
/// in one keystone container, while a user creates a project through the *other*
/// container's own keystone (production, on the same database): restore drops the
/// table and puts back the descriptions the migration rewrote, and keeps that project
/// (before, it copied the whole snapshot back over the database: the project was gone).
#[test]
#[ignore = "needs the lab: tests/run"]
fn a_project_created_through_the_other_keystone_during_a_migration_session_survives_restore() {
    let lab = Lab::get();
    let production = lab.production();
    let (target, other) = (&lab.new, &lab.old);
    // A login first: a successful one resets admin's failed-login count, which anything
    // before this story may have left above 0 (the lab's `up` waiting for keystone), and
    // the project's creation below logs in: the rows before must not differ by that.
    admin_token(&lab.frontend);
    let before = db_dump(&lab);
    keep(&lab);
    let dir = lab.checkout("git-osa-keystone-others");
    let repo = dir.path().join("keystone");
    add_migration(&repo);

    let mut run = lab.start(&repo, &["--container", &target.name, "--db-snapshot"]);
    run.wait_for(PINNED, Duration::from_secs(300));
    let during = db_dump(&lab);
    // Through the other container's own keystone, not HAProxy's (pinned to the dev run).
    let production_keystone = format!("http://{}:5000", other.address);
    let id = create_project(&production_keystone, "git-osa-others", "made by others");
    run.signal(libc::SIGINT);
    let code = run.finish(Duration::from_secs(180));
    let out = run.output();

    let restore = lab.run(&repo, &["restore"]);
    let restored = String::from_utf8_lossy(&restore.stderr).into_owned();
    let after = db_dump(&lab);
    delete_project(&lab.frontend, &id);
    let cleaned = db_dump(&lab);
    // put the database back by hand if restore did not, for the next stories
    put_back(&lab, !restore.status.success() || !after.contains(&id));

    assert!(
        during.contains("rewritten by the git-osa probe"),
        "the migration ran: {out}"
    );
    assert_eq!(code, 130, "{out}");
    assert!(restore.status.success(), "{restored}");
    let changed = diff_lines(&before, &after);
    assert!(
        after.contains(&id) && after.contains("made by others"),
        "the project made through the other keystone is still there:\n{changed}\n{restored}"
    );
    assert!(
        changed.lines().all(|l| l.contains(&id)),
        "only that project differs from before the run:\n{changed}"
    );
    assert!(
        restored.contains("keep the rows written since the snapshot (project 1 row)"),
        "restore says it keeps it:\n{restored}"
    );
    // keystone notes the deletion as a revocation event of that project
    let left = diff_lines(&before, &cleaned);
    assert!(
        left.lines()
            .all(|l| l.contains(&id) && l.contains("revocation_event")),
        "once that project is deleted, keystone's database is as before:\n{left}"
    );
    lab.assert_production_back(&production, &[target]);
}
