# git-osa's database tool: tells what a dev session's migrations changed in the service's
# database from what others wrote meanwhile, and undoes only the former at restore.
#
# git-osa runs it in the container with the service venv's own Python (which has
# SQLAlchemy and the database's driver), as root, its code on stdin (`python3 - ...`), on
# the session's folder DIR. The database's URL (with its password) never travels: `base`
# reads it from the service's own config file into DIR/db-url (mode 600); the other
# commands read that file.
#
#   base DIR CONFIG   right after the snapshot: the schema and every row's fingerprint
#                     (DIR/db-base.json)
#   before DIR        right before a db sync: the rows' fingerprints (DIR/db-pre.json)
#   after DIR         right after it: what it changed joins DIR/db-migrated.json
#   check DIR SNAP [--discard-newer-rows]
#                     what `undo` would do, as JSON on stdout; changes nothing
#   undo DIR SNAP [--discard-newer-rows]
#                     does it: drops what the migrations added (tables, columns, indexes,
#                     foreign keys), puts back from the snapshot SNAP (a mysqldump file, or
#                     an SQLite copy) only the rows they changed, and reloads whole only the
#                     tables whose schema they changed in a way no drop undoes. A row a db
#                     sync changed that was written again since stays as it is now. Exits
#                     3, changing nothing, when that would lose rows written since (listed
#                     on stderr), unless --discard-newer-rows, which also puts those rows
#                     back.
#
# A row's fingerprint is a hash of its values in the columns its table had at the
# snapshot, keyed by its primary key: a column a migration adds changes no fingerprint, a
# row others insert or update does.

import hashlib
import json
import os
import sys

REFUSED = 3


def fail(msg):
    sys.stderr.write(msg + "\n")
    sys.exit(1)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        if default is None:
            fail("%s is missing: this session's database notes are incomplete" % path)
        return default


def write_json(path, data):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, sort_keys=True)
    os.rename(tmp, path)


class Db:
    """The service's database, through SQLAlchemy for what it knows of the schema and
    through the driver's own cursor for everything else."""

    def __init__(self, url):
        import sqlalchemy

        self.sa = sqlalchemy
        self.engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        self.mysql = self.engine.dialect.name in ("mysql", "mariadb")
        self.ph = "%s" if self.mysql else "?"
        fairy = self.engine.raw_connection()
        # The driver's own connection: its transaction mode is set on it, not on the pool's
        # proxy.
        self.raw = getattr(fairy, "driver_connection", None) or fairy.connection
        self._fairy = fairy
        self.quote = self.engine.dialect.identifier_preparer.quote

    def close(self):
        self._fairy.close()

    def cursor(self):
        return self.raw.cursor()

    def rows(self, sql, args=None):
        cur = self.cursor()
        if args is None:
            cur.execute(sql)
        else:
            cur.execute(sql, args)
        return cur.fetchall()

    def schema(self):
        insp = self.sa.inspect(self.engine)
        out = {}
        for t in sorted(insp.get_table_names()):
            cols = insp.get_columns(t)
            indexes = {}
            for i in insp.get_indexes(t):
                if i.get("name"):
                    indexes[i["name"]] = {
                        "columns": [c for c in i.get("column_names") or [] if c],
                        "unique": bool(i.get("unique")),
                    }
            uniques = {}
            if not self.mysql:
                for n, u in enumerate(insp.get_unique_constraints(t)):
                    uniques[u.get("name") or "unnamed %d" % n] = u["column_names"]
            fks = {}
            for n, f in enumerate(insp.get_foreign_keys(t)):
                fks[f.get("name") or "unnamed %d" % n] = {
                    "columns": f["constrained_columns"],
                    "table": f["referred_table"],
                    "referred": f["referred_columns"],
                }
            out[t] = {
                "columns": {c["name"]: self.column(c) for c in cols},
                "order": [c["name"] for c in cols],
                "pk": insp.get_pk_constraint(t).get("constrained_columns") or [],
                "indexes": indexes,
                "uniques": uniques,
                "fks": fks,
            }
        return out

    def column(self, c):
        try:
            kind = c["type"].compile(dialect=self.engine.dialect)
        except Exception:
            kind = repr(c["type"])
        default = c.get("default")
        return {
            "type": kind,
            "nullable": bool(c.get("nullable")),
            "default": None if default is None else str(default),
        }


def norm(v):
    if v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "b:" + bytes(v).hex()
    if hasattr(v, "isoformat"):
        return "t:" + v.isoformat()
    return "%s:%r" % (type(v).__name__, v)


def digest(values):
    return hashlib.sha1(
        json.dumps([norm(v) for v in values]).encode()
    ).hexdigest()[:20]


def fingerprint(db, schema, reference):
    """Every row's hash, in the columns each table had in `reference` (the snapshot's
    schema; all its columns for a table the snapshot did not have)."""
    out = {}
    for t, ts in schema.items():
        ref = reference.get(t)
        cols = [c for c in (ref["order"] if ref else ts["order"]) if c in ts["columns"]]
        if not cols:
            continue
        pk = (ref or ts)["pk"]
        pk = pk if pk and all(c in cols for c in pk) else []
        sql = "SELECT %s FROM %s" % (", ".join(db.quote(c) for c in cols), db.quote(t))
        rows = {}
        at = [cols.index(c) for c in pk]
        for r in db.rows(sql):
            h = digest(r)
            if at:
                rows[json.dumps([norm(r[i]) for i in at])] = h
            else:
                rows[h] = rows.get(h, 0) + 1
        out[t] = {"key": pk, "rows": rows}
    return out


def connect(d):
    with open(os.path.join(d, "db-url")) as f:
        return Db(f.read().strip())


def connection_of(config):
    """The `[database] connection` of the service's config file, as oslo.config reads it
    (the last one wins)."""
    import configparser

    cp = configparser.RawConfigParser(strict=False)
    if not cp.read(config):
        fail("%s cannot be read" % config)
    try:
        return cp.get("database", "connection").strip()
    except (configparser.NoSectionError, configparser.NoOptionError):
        fail("%s has no [database] connection" % config)


def cmd_base(d, config):
    url = connection_of(config)
    fd = os.open(os.path.join(d, "db-url"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(url + "\n")
    db = Db(url)
    schema = db.schema()
    write_json(
        os.path.join(d, "db-base.json"),
        {"schema": schema, "rows": fingerprint(db, schema, schema)},
    )


def changed(a, b):
    """The keys of rows that differ between two fingerprints of one table."""
    return [k for k in set(a) | set(b) if a.get(k) != b.get(k)]


def note(migrated, pre, now, uncertain):
    """Adds what changed from `pre` to `now` to what the session's db syncs changed."""
    rows = migrated.setdefault("rows", {})
    whole = migrated.setdefault("whole", [])
    unsure = migrated.setdefault("uncertain", {})
    for t, p in pre.items():
        n = now.get(t)
        if n is None:
            continue
        if not p["key"] or p["key"] != n["key"]:
            if p["rows"] != n["rows"] and t not in whole:
                whole.append(t)
            continue
        keys = changed(p["rows"], n["rows"])
        if keys:
            mine = rows.setdefault(t, {})
            for k in keys:
                mine[k] = n["rows"].get(k)
            if uncertain:
                unsure[t] = unsure.get(t, 0) + len(keys)


def close_pre(d, db, base):
    """A note taken before a db sync whose end was never noted (the container stopped in
    between): what changed since cannot be told from others' writes."""
    pre_path = os.path.join(d, "db-pre.json")
    if not os.path.exists(pre_path):
        return None
    migrated = read_json(os.path.join(d, "db-migrated.json"), {})
    now = fingerprint(db, db.schema(), base["schema"])
    note(migrated, read_json(pre_path), now, True)
    return migrated


def cmd_before(d):
    db = connect(d)
    base = read_json(os.path.join(d, "db-base.json"))
    migrated = close_pre(d, db, base)
    if migrated is not None:
        write_json(os.path.join(d, "db-migrated.json"), migrated)
    write_json(
        os.path.join(d, "db-pre.json"),
        fingerprint(db, db.schema(), base["schema"]),
    )


def cmd_after(d):
    db = connect(d)
    base = read_json(os.path.join(d, "db-base.json"))
    pre_path = os.path.join(d, "db-pre.json")
    migrated = read_json(os.path.join(d, "db-migrated.json"), {})
    note(migrated, read_json(pre_path), fingerprint(db, db.schema(), base["schema"]), False)
    write_json(os.path.join(d, "db-migrated.json"), migrated)
    os.remove(pre_path)


def plan(db, base, migrated, live_schema, live, discard=False):
    """What undoing the session's migrations takes, and what it would cost others: `lost`
    counts the rows written since the db sync that it would lose (with `discard`, that it
    will lose)."""
    bs = base["schema"]
    p = {
        "drop_fks": [], "drop_tables": [], "drop_indexes": [], "drop_columns": [],
        "create_indexes": [], "reload": [], "revert": {}, "revert_keys": {}, "lost": {},
        "kept": {}, "superseded": {}, "uncertain": {},
    }
    for t in sorted(set(live_schema) - set(bs)):
        p["drop_tables"].append(t)
    reload = set(migrated.get("whole", []))
    for t in sorted(set(bs) & set(live_schema)):
        b, l = bs[t], live_schema[t]
        if any(c not in l["columns"] or l["columns"][c] != b["columns"][c] for c in b["columns"]):
            reload.add(t)
        if b["pk"] != l["pk"] or any(
            n not in l["fks"] or l["fks"][n] != f for n, f in b["fks"].items()
        ) or any(n not in l["uniques"] or l["uniques"][n] != u for n, u in b["uniques"].items()):
            reload.add(t)
        added_cols = [c for c in l["order"] if c not in b["columns"]]
        if not db.mysql and (
            any(n not in b["uniques"] for n in l["uniques"])
            or any(n not in b["fks"] for n in l["fks"])
        ):
            # SQLite keeps these inside CREATE TABLE: no ALTER takes them out.
            reload.add(t)
        if t in reload:
            continue
        for n in sorted(l["fks"]):
            if n not in b["fks"]:
                p["drop_fks"].append([t, n])
        for n, i in sorted(l["indexes"].items()):
            if n not in b["indexes"]:
                p["drop_indexes"].append([t, n])
            elif i != b["indexes"][n]:
                p["drop_indexes"].append([t, n])
                p["create_indexes"].append([t, n, b["indexes"][n]])
        for n, i in sorted(b["indexes"].items()):
            if n not in l["indexes"]:
                p["create_indexes"].append([t, n, i])
        for c in added_cols:
            p["drop_columns"].append([t, c])
    for t in sorted(set(bs) - set(live_schema)):
        reload.add(t)
    p["reload"] = sorted(reload)
    mig = migrated.get("rows", {})
    for t in sorted(bs):
        if t not in base["rows"]:
            continue
        brows = base["rows"][t]["rows"]
        lrows = live.get(t, {"rows": {}})["rows"]
        mine = mig.get(t, {})
        ours = lambda k: k in mine and lrows.get(k) == mine[k]
        if t in reload:
            lost = [k for k in changed(brows, lrows) if not ours(k)] if t in live else []
            if lost:
                p["lost"][t] = len(lost) if base["rows"][t]["key"] else sum(
                    abs(brows.get(k, 0) - lrows.get(k, 0)) for k in lost
                )
            continue
        # A row a db sync changed is put back when it is still as the db sync left it; one
        # written again since is someone else's now (an engine's heartbeat, a user's edit):
        # it stays, unless told to discard it.
        revert, superseded = [], []
        for k, post in mine.items():
            if lrows.get(k) == brows.get(k):
                continue
            (revert if lrows.get(k) == post else superseded).append(k)
        if discard:
            revert += superseded
            if superseded:
                p["lost"][t] = len(superseded)
        elif superseded:
            p["superseded"][t] = len(superseded)
        unsure = migrated.get("uncertain", {}).get(t, 0)
        if unsure and revert:
            p["lost"][t] = p["lost"].get(t, 0) + min(unsure, len(revert))
            p["uncertain"][t] = unsure
        if revert:
            p["revert"][t] = len(revert)
            p["revert_keys"][t] = revert
        kept = [k for k in changed(brows, lrows) if k not in mine]
        if kept:
            p["kept"][t] = len(kept)
    return p


def describe(p):
    """What the plan changes, as restore says it."""
    parts = []
    parts += ["table %s" % t for t in p["drop_tables"]]
    parts += ["column %s.%s" % (t, c) for t, c in p["drop_columns"]]
    parts += ["index %s.%s" % (t, n) for t, n in p["drop_indexes"]]
    parts += ["foreign key %s.%s" % (t, n) for t, n in p["drop_fks"]]
    return parts


def dump_sections(path):
    """A mysqldump file cut into its head (the SET statements) and each table's part."""
    head, sections, name, cur = [], {}, None, None
    marker = "-- Table structure for table `"
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            if line.startswith(marker):
                name = line[len(marker):].rstrip().rstrip("`").replace("``", "`")
                cur = sections.setdefault(name, [])
                continue
            if line.startswith("-- Dumping routines") or line.startswith(
                "/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */"
            ):
                name, cur = None, None
                continue
            if cur is not None:
                cur.append(line)
            elif name is None and not sections:
                head.append(line)
    return head, sections


def statements(lines):
    """mysqldump's statements: one or more lines, the last ending with ';' (a value's own
    newlines are escaped as \\n, so none ends a line inside a value)."""
    out, cur = [], []
    for line in lines:
        if not cur and (line.startswith("--") or not line.strip()):
            continue
        cur.append(line)
        if line.rstrip().endswith(";"):
            out.append("".join(cur).rstrip().rstrip(";"))
            cur = []
    if any("DELIMITER" in s for s in out):
        fail("the snapshot's part for a table holds triggers: git-osa cannot load it by parts")
    return out


SCRATCH = "git_osa_snapshot"


def scratch_statements(table, lines):
    """A table's part of the dump, loaded as a temporary table of the snapshot's rows:
    its columns and primary key only (no constraint names to clash with the live table's)."""
    q = "`" + table.replace("`", "``") + "`"
    out = []
    for s in statements(lines):
        if s.startswith("CREATE TABLE " + q + " ("):
            body = s.split("\n")
            keep = [
                l.strip().rstrip(",")
                for l in body[1:-1]
                if l.strip().startswith("`") or l.strip().startswith("PRIMARY KEY")
            ]
            out.append(
                "CREATE TEMPORARY TABLE `%s` (\n  %s\n) %s"
                % (SCRATCH, ",\n  ".join(keep), body[-1].lstrip(") ").strip())
            )
        elif s.startswith("INSERT INTO " + q + " "):
            out.append("INSERT INTO `%s` " % SCRATCH + s[len("INSERT INTO " + q + " "):])
    return out


def apply(d, db, snap, base, migrated, p, live):
    q = db.quote
    cur = db.cursor()
    run = cur.execute
    if db.mysql:
        head, sections = dump_sections(snap)
        for s in statements(head):
            if s.startswith("/*!") and " SET " in s:
                run(s)
        run("SET FOREIGN_KEY_CHECKS=0")
    else:
        db.raw.isolation_level = None
        run("PRAGMA foreign_keys = OFF")
        run("ATTACH DATABASE ? AS %s" % SCRATCH, (snap,))
        run("BEGIN IMMEDIATE")
    for t, n in p["drop_fks"]:
        run("ALTER TABLE %s DROP FOREIGN KEY %s" % (q(t), q(n)))
    for t in p["drop_tables"]:
        run("DROP TABLE %s" % q(t))
    for t, n in p["drop_indexes"]:
        run("DROP INDEX %s ON %s" % (q(n), q(t)) if db.mysql else "DROP INDEX %s" % q(n))
    for t, c in p["drop_columns"]:
        run("ALTER TABLE %s DROP COLUMN %s" % (q(t), q(c)))
    for t, n, i in p["create_indexes"]:
        run(
            "CREATE %sINDEX %s ON %s (%s)"
            % ("UNIQUE " if i["unique"] else "", q(n), q(t), ", ".join(q(c) for c in i["columns"]))
        )
    for t in p["reload"]:
        if db.mysql:
            if t not in sections:
                fail("the snapshot has no part for table %s" % t)
            run("DROP TABLE IF EXISTS %s" % q(t))
            for s in statements(sections[t]):
                run(s)
        else:
            run("DROP TABLE IF EXISTS main.%s" % q(t))
            ddl = db.rows(
                "SELECT type, sql FROM %s.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                "ORDER BY type = 'table' DESC" % SCRATCH,
                (t,),
            )
            for kind, sql in ddl:
                if kind == "table":
                    run(sql)
                    run("INSERT INTO main.%s SELECT * FROM %s.%s" % (q(t), SCRATCH, q(t)))
                else:
                    run(sql)
    for t in sorted(p["revert_keys"]):
        key = base["rows"][t]["key"]
        cols = [c for c in base["schema"][t]["order"]]
        brows = base["rows"][t]["rows"]
        lrows = live[t]["rows"]
        todo = p["revert_keys"][t]
        snap_t = "%s.%s" % (SCRATCH, q(t)) if not db.mysql else q(SCRATCH)
        if db.mysql:
            for s in scratch_statements(t, sections.get(t) or fail("the snapshot has no part for table %s" % t)):
                run(s)
        where = " AND ".join("%s = %s" % (q(c), db.ph) for c in key)
        for k in todo:
            if k in lrows and k not in brows:
                run("DELETE FROM %s WHERE %s" % (q(t), where), json.loads(k))
        for k in todo:
            if k in lrows and k in brows:
                if db.mysql:
                    run(
                        "UPDATE %s AS t JOIN %s AS s ON %s SET %s WHERE %s"
                        % (
                            q(t), snap_t,
                            " AND ".join("t.%s = s.%s" % (q(c), q(c)) for c in key),
                            ", ".join("t.%s = s.%s" % (q(c), q(c)) for c in cols),
                            " AND ".join("t.%s = %s" % (q(c), db.ph) for c in key),
                        ),
                        json.loads(k),
                    )
                else:
                    run(
                        "UPDATE main.%s SET (%s) = (SELECT %s FROM %s AS s WHERE %s) WHERE %s"
                        % (
                            q(t),
                            ", ".join(q(c) for c in cols),
                            ", ".join("s.%s" % q(c) for c in cols),
                            snap_t,
                            " AND ".join("s.%s = main.%s.%s" % (q(c), q(t), q(c)) for c in key),
                            where,
                        ),
                        json.loads(k),
                    )
        for k in todo:
            if k in brows and k not in lrows:
                names = ", ".join(q(c) for c in cols)
                match = " AND ".join("s.%s = %s" % (q(c), db.ph) for c in key)

                def insert(rowid):
                    run(
                        "INSERT INTO " + q(t) + " (" + ("rowid, " if rowid else "") + names
                        + ") SELECT " + ("s.rowid, " if rowid else "")
                        + ", ".join("s.%s" % q(c) for c in cols)
                        + " FROM " + snap_t + " AS s WHERE " + match,
                        json.loads(k),
                    )

                if db.mysql:
                    insert(False)
                else:
                    # the row's own rowid back, so that SQLite lists it where it was
                    try:
                        run("SAVEPOINT rowid_back")
                        insert(True)
                        run("RELEASE rowid_back")
                    except Exception:
                        run("ROLLBACK TO rowid_back")
                        run("RELEASE rowid_back")
                        insert(False)
        if db.mysql:
            run("DROP TEMPORARY TABLE %s" % q(SCRATCH))
    if db.mysql:
        run("SET FOREIGN_KEY_CHECKS=1")
    else:
        run("COMMIT")
        run("DETACH DATABASE %s" % SCRATCH)
    db.raw.commit()


def report(p):
    return {
        "drop": describe(p),
        "create": ["index %s.%s" % (t, n) for t, n, _ in p["create_indexes"]],
        "reload": p["reload"],
        "revert": p["revert"],
        "lost": p["lost"],
        "kept": p["kept"],
        "superseded": p["superseded"],
        "uncertain": p["uncertain"],
    }


def state(d):
    base = read_json(os.path.join(d, "db-base.json"))
    db = connect(d)
    migrated = close_pre(d, db, base)
    if migrated is None:
        migrated = read_json(os.path.join(d, "db-migrated.json"), {})
    live_schema = db.schema()
    live = fingerprint(db, live_schema, base["schema"])
    return db, base, migrated, live_schema, live


def cmd_check(d, snap, discard):
    db, base, migrated, live_schema, live = state(d)
    json.dump(
        report(plan(db, base, migrated, live_schema, live, discard)), sys.stdout, sort_keys=True
    )
    sys.stdout.write("\n")
    db.close()


def cmd_undo(d, snap, discard):
    if not os.path.exists(snap):
        fail("the database snapshot %s is gone: restore cannot put rows back from it" % snap)
    db, base, migrated, live_schema, live = state(d)
    p = plan(db, base, migrated, live_schema, live, discard)
    if p["lost"] and not discard:
        sys.stderr.write(
            "rows written since the db sync would be lost: %s\n"
            % ", ".join("%s %d" % (t, n) for t, n in sorted(p["lost"].items()))
        )
        sys.exit(REFUSED)
    apply(d, db, snap, base, migrated, p, live)
    db.close()
    # What is there now must be the snapshot's schema, and the rows put back the snapshot's.
    db = connect(d)
    now_schema = db.schema()
    now = fingerprint(db, now_schema, base["schema"])
    again = plan(db, base, {}, now_schema, now)
    left = describe(again) + ["table %s" % t for t in again["reload"]]
    if left:
        fail("the schema still differs from the snapshot's: " + ", ".join(left))
    for t, keys in p["revert_keys"].items():
        for k in keys:
            if now.get(t, {"rows": {}})["rows"].get(k) != base["rows"][t]["rows"].get(k):
                fail("a row of %s is not the snapshot's after it was put back: %s" % (t, k))
    db.close()
    json.dump(report(p), sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


def main(argv):
    if len(argv) < 2:
        fail("usage: base DIR CONFIG, before|after DIR, check DIR SNAPSHOT, undo DIR SNAPSHOT [--discard-newer-rows]")
    cmd, d = argv[0], argv[1]
    if cmd == "base" and len(argv) == 3:
        cmd_base(d, argv[2])
    elif cmd == "before":
        cmd_before(d)
    elif cmd == "after":
        cmd_after(d)
    elif cmd == "check" and len(argv) in (3, 4):
        cmd_check(d, argv[2], argv[3:] == ["--discard-newer-rows"])
    elif cmd == "undo" and len(argv) in (3, 4):
        cmd_undo(d, argv[2], argv[3:] == ["--discard-newer-rows"])
    else:
        fail("unknown command: %s" % " ".join(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
