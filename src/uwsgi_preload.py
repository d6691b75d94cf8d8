# Follows `uwsgi_app.py` (`uwsgi_opt`, `app`) in the file git-osa writes.
#
# Written by git-osa beside a detached dev session (`git osa run --detach`) and run by
# the dev unit's uWSGI master (`--shared-import`) before it forks its workers.
#
# A sync reloads the workers (`w` on the master FIFO), and each new worker loads the
# app anew: with lazy-apps, that is every module the app imports, the service's and the
# libraries' alike, about 1.8 s of keystone's 2 s. The libraries do not change between
# syncs; the code under development does. So the master imports, once, every module the
# app imports except the code under development, and each new worker, a fork of the
# master, imports only the developer's code.
#
# Which modules: a scout, a fork of this master (so a worker's twin), loads the app and
# names each module as it is imported; the master imports them as they come, both at once.
# Never imported here: anything of the folders git-osa syncs (the checkout and the
# libraries given `--with`, all under this file's folder). A finder refuses them for as
# long as this runs, and whatever an import brought in while it reached for the dev code
# (a library importing it, even optionally) is dropped again: left to the workers whole. No app is made in the master: only modules are imported, which is what
# uWSGI's own preforking mode does with far more (it makes the app too).
#
# The garbage collector: off while the master imports (each of the thousands of imports
# would otherwise run collections over everything imported before), then one collection
# of what the imports left, then everything the master holds is frozen (`gc.freeze`)
# before the fork, as Python's documentation advises for a process that forks without
# exec. A worker's collections then walk only its own objects, not the libraries'
# million: keystone's workers imported its code in 0.17 s instead of 0.29 s, measured
# in the lab's container. Not when the master holds some of the dev code (below): a
# unit that restarts on each sync.
#
# `git osa restore` removes this file with the session's folder.
import gc
import importlib
import os
import select
import sys
import time

DEV = os.path.dirname(os.path.realpath(__file__)) + os.sep
SCOUT_TIMEOUT = 60.0
# Beside the master FIFO when the master holds some of the dev code (see `preload`).
MARK = "master-holds-dev-code"


def dev_path(path):
    return bool(path) and os.path.realpath(path).startswith(DEV)


def dev_spec(spec):
    return dev_path(spec.origin) or any(
        dev_path(p) for p in (spec.submodule_search_locations or ())
    )


class RefuseDev:
    """Finds a module as the finders after it do, and refuses it when it is the dev code."""

    refused = 0

    def find_spec(self, name, path=None, target=None):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if dev_spec(spec):
                    self.refused += 1
                    raise ImportError("git-osa: %s is the code under development" % name)
                return spec
        return None


class Report:
    """In the scout: names each module the app's load imports, as it starts."""

    def __init__(self, out):
        self.out = out

    def find_spec(self, name, path=None, target=None):
        self.out.write(name + "\n")
        self.out.flush()
        return None


def scout(what, out):
    """The child: loads the app as a worker would, reporting every import."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sys.meta_path.insert(0, Report(out))
    kind, name = what
    if kind == "module":
        importlib.import_module(name)
    else:
        import runpy

        runpy.run_path(name, run_name="uwsgi_file_git_osa_scout")


def names_from(pid, r):
    """The scout's names as they come, until it ends or SCOUT_TIMEOUT passes."""
    deadline = time.monotonic() + SCOUT_TIMEOUT
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([r], [], [], left)[0]:
            os.kill(pid, 9)
            break
        chunk = os.read(r, 65536)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            yield line.decode()
    os.close(r)
    os.waitpid(pid, 0)


def preload():
    what = app()
    if what is None:
        return
    start = time.monotonic()
    collecting = gc.isenabled()
    gc.disable()
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        if collecting:
            gc.enable()
        raise
    if pid == 0:
        try:
            os.close(r)
            scout(what, os.fdopen(w, "w"))
        finally:
            os._exit(0)
    os.close(w)
    refuse = RefuseDev()
    sys.meta_path.insert(0, refuse)
    before = len(sys.modules)
    try:
        for name in names_from(pid, r):
            if name in sys.modules:
                continue
            had, refused = set(sys.modules), refuse.refused
            try:
                importlib.import_module(name)
            except Exception:
                pass
            if refuse.refused != refused:
                # It reached for the dev code (and may have gone on without it, as an
                # optional import): all it brought in is left to the workers.
                for n in set(sys.modules) - had:
                    del sys.modules[n]
    finally:
        sys.meta_path.remove(refuse)
        if collecting:
            gc.enable()
    leaked = sorted(
        n
        for n, m in list(sys.modules.items())
        if n != __name__ and dev_path(getattr(m, "__file__", None))
    )
    if leaked:
        # Not through an import the finder saw (a library loading a file by its path):
        # new workers would inherit this version. The mark beside the master FIFO tells
        # git-osa's reload to restart the unit instead, with a new master.
        fifo = uwsgi_opt("master-fifo")
        if fifo:
            with open(os.path.join(os.path.dirname(fifo), MARK), "w") as f:
                f.write("\n".join(leaked) + "\n")
        print(
            "git-osa: the uWSGI master imported the dev code (%s): a sync restarts this "
            "unit instead of reloading its workers" % ", ".join(leaked),
            file=sys.stderr,
        )
    elif collecting:
        gc.collect()
        gc.freeze()
    print(
        "git-osa: the uWSGI master preloaded %d modules in %.1f s%s; the workers import "
        "the code under development"
        % (
            len(sys.modules) - before,
            time.monotonic() - start,
            " (frozen for the garbage collector)" if gc.get_freeze_count() else "",
        ),
        file=sys.stderr,
    )


preload()
