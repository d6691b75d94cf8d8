# git-osa: a service's configuration as a dev session found it, and as it is now.
#
# Run in the container by the system's python3 (Ansible's, on every OSA host and
# container), this script on stdin, its data as arguments:
#   note OUT ROOT...      a tar of the configuration files under the roots into OUT
#   now BEFORE ROOT...    to stdout, one tar: the noted files (under before/) and the files
#                         under the roots now (under now/), for git-osa to compare
#   restore BEFORE ROOT...  put each noted file back as it was (bytes, owner, mode), remove
#                         the files added since; print what it did, a line each
# A root is a folder (its configuration files, at any depth) or one file. Configuration
# files are those with a configuration suffix (so not fernet or credential keys, which
# rotate on their own and must never be put back), minus git-osa's own drop-ins, whose
# own records undo them.

import io
import os
import sys
import tarfile

SUFFIXES = (".conf", ".ini", ".cfg", ".yaml", ".yml", ".json", ".py", ".txt")
OWN = ("98-git-osa-", "99-git-osa-")


def files(roots):
    seen = set()
    for root in roots:
        if not os.path.isdir(root):
            if os.path.lexists(root) and root not in seen:
                seen.add(root)
                yield root
            continue
        for d, dirs, names in os.walk(root):
            dirs.sort()
            for n in sorted(names):
                p = os.path.join(d, n)
                if n.startswith(OWN) or not n.endswith(SUFFIXES) or p in seen:
                    continue
                if os.path.isfile(p) or os.path.islink(p):
                    seen.add(p)
                    yield p


def add(t, path, name):
    info = t.gettarinfo(path, arcname=name)
    if info.isfile():
        with open(path, "rb") as f:
            t.addfile(info, f)
    else:
        t.addfile(info)


def note(out, roots):
    n = 0
    with tarfile.open(out + ".tmp", "w") as t:
        for p in files(roots):
            add(t, p, p.lstrip("/"))
            n += 1
    os.rename(out + ".tmp", out)
    print("noted %d files" % n)


def now(before, roots):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        with tarfile.open(before) as b:
            for m in b.getmembers():
                data = b.extractfile(m) if m.isfile() else None
                m.name = "before/" + m.name
                t.addfile(m, data)
        for p in files(roots):
            add(t, p, "now/" + p.lstrip("/"))
    sys.stdout.buffer.write(buf.getvalue())


def same(path, m, data):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if (st.st_mode & 0o7777) != m.mode or st.st_uid != m.uid or st.st_gid != m.gid:
        return False
    if m.issym():
        return os.path.islink(path) and os.readlink(path) == m.linkname
    if not os.path.isfile(path) or os.path.islink(path):
        return False
    with open(path, "rb") as f:
        return f.read() == data


def restore(before, roots):
    with tarfile.open(before) as b:
        noted = {"/" + m.name: m for m in b.getmembers()}
        for p in sorted(set(files(roots)) - set(noted)):
            os.remove(p)
            print("removed %s (added during the session)" % p)
        for p, m in sorted(noted.items()):
            data = b.extractfile(m).read() if m.isfile() else None
            if same(p, m, data):
                continue
            existed = os.path.lexists(p)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            tmp = p + ".git-osa-tmp"
            if os.path.lexists(tmp):
                os.remove(tmp)
            if m.issym():
                os.symlink(m.linkname, tmp)
            else:
                with open(tmp, "wb") as f:
                    f.write(data)
                os.chmod(tmp, m.mode)
            os.lchown(tmp, m.uid, m.gid)
            os.rename(tmp, p)
            print("put back %s (%s during the session)" % (p, "changed" if existed else "removed"))


def main(argv):
    what, rest = argv[0], argv[1:]
    if what == "note":
        note(rest[0], rest[1:])
    elif what == "now":
        now(rest[0], rest[1:])
    elif what == "restore":
        restore(rest[0], rest[1:])
    else:
        sys.exit("git-osa: unknown command %r" % what)


main(sys.argv[1:])
