# Written by git-osa beside a detached dev session started with `--hot-patch`, and run by
# the dev unit's uWSGI master (`--shared-import`, after `uwsgi-preload.py`) before it
# forks its workers.
#
# A sync normally reloads the workers, which import the code under development anew. With
# this, a sync whose edits change only the bodies of functions is applied in the running
# workers instead: each function's code object is replaced in place, so every reference to
# it (a route, a method of a class, a callback held somewhere) runs the new body from its
# next call on. Nothing else is patched: a change to anything but function bodies (an
# import, a module-level statement, a class attribute, a signature, a decorator, a
# default value, a new or removed function, a closure's free variables) is refused with
# the reason, and git-osa reloads the workers as without this.
#
# How:
#  - In the master, a finder notes the source of every module of the code under
#    development as the workers import it (the workers inherit it): the version each
#    running function was compiled from, to compare an edit against.
#  - In each worker, a thread waits for git-osa's request (`hot/request`: an id and the
#    changed files), compares each file with the source it was imported from (both parsed,
#    function bodies left out: the rest must be equal), compiles it, pairs every function
#    of the file alive in the worker (found by the garbage collector) with its new code
#    object by qualified name, and only when every file can be patched, patches them all.
#    It answers in `hot/ack-PID` (the request's id, and whether it patched or why not).
#
# `git osa restore` removes this file with the session's folder.
import ast
import gc
import json
import linecache
import os
import sys
import threading
import time
import types
from importlib.machinery import SourceFileLoader
from itertools import compress, repeat
from operator import attrgetter, is_

DEV = os.path.dirname(os.path.realpath(__file__)) + os.sep
HOT = os.path.join(DEV, "hot")
REQUEST = os.path.join(HOT, "request")
POLL = 0.01

# realpath -> the source bytes this process's modules were compiled from
SOURCES = {}

# A function's file name (as compiled) -> its real path, taken once per worker: a
# realpath per function, of a hundred thousand, cost a second, and one per file at each
# patch still 10 ms. Where a name leads changes only with a symbolic link of the checkout,
# and a sync that changes one reloads the workers (git-osa asks only for Python files,
# and this agent refuses a file that is a link).
REAL = {}


def real_path(name):
    real = REAL.get(name)
    if real is None:
        linked = name.startswith(DEV) or os.path.islink(name)
        real = REAL[name] = os.path.realpath(name) if linked else name
    return real


def dev_path(path):
    return bool(path) and os.path.realpath(path).startswith(DEV)


class Recorder(SourceFileLoader):
    """Loads a module of the code under development as usual, noting its source first."""

    def exec_module(self, module):
        try:
            with open(self.path, "rb") as f:
                SOURCES[os.path.realpath(self.path)] = f.read()
        except OSError:
            pass
        super().exec_module(module)


class NoteDev:
    """Finds a module as the finders after it do; one of the dev code gets a Recorder."""

    busy = threading.local()

    def find_spec(self, name, path=None, target=None):
        if getattr(self.busy, "on", False):
            return None
        self.busy.on = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is None:
                    continue
                if type(spec.loader) is SourceFileLoader and dev_path(spec.origin):
                    spec.loader = Recorder(spec.loader.name, spec.loader.path)
                return spec
            return None
        finally:
            self.busy.on = False


class Refused(Exception):
    pass


def skeleton(source, path):
    """The module's statements as parsed, every function's body (its docstring too) left
    out: (line, dump) for each top-level statement."""
    tree = ast.parse(source, path)

    def strip(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                child.body = []
            else:
                strip(child)

    strip(tree)
    return [(node.lineno, ast.dump(node)) for node in tree.body]


def first_change(old, new, path):
    """The line, in the new source, of its first top-level statement that differs from
    the old one but for function bodies; None when none does."""
    a, b = skeleton(old, path), skeleton(new, path)
    for (_, x), (line, y) in zip(a, b):
        if x != y:
            return line
    if len(a) != len(b):
        return b[len(a)][0] if len(b) > len(a) else (b[-1][0] if b else 1)
    return None


def code_objects(code, into):
    """Every code object below `code`, by qualified name, in the order they come."""
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            into.setdefault(c.co_qualname, []).append(c)
            code_objects(c, into)
    return into


def plan(path, rel, functions):
    """What patching `path` replaces: [(function, new code)]; Refused says why not."""
    old = SOURCES.get(path)
    if old is None:
        if functions:
            raise Refused("%s: its source as this worker imported it is not known" % rel)
        return [], None
    try:
        with open(path, "rb") as f:
            new = f.read()
    except OSError as e:
        raise Refused("%s: %s" % (rel, e.strerror))
    if new == old:
        return [], new
    try:
        changed = first_change(old, new, path)
    except SyntaxError as e:
        raise Refused("%s: line %s: %s" % (rel, e.lineno, e.msg))
    if changed is not None:
        raise Refused(
            "%s: more than function bodies changed, at line %d (an import, module-level "
            "code, a class, a signature, a decorator or a default)" % (rel, changed)
        )
    new_codes = code_objects(compile(new, path, "exec", dont_inherit=True), {})
    by_code = {}
    for f in functions:
        by_code.setdefault(f.__code__, []).append(f)
    olds = {}
    for c in by_code:
        olds.setdefault(c.co_qualname, []).append(c)
    pairs = []
    for name, codes in olds.items():
        codes.sort(key=lambda c: c.co_firstlineno)
        news = new_codes.get(name, [])
        if len(news) != len(codes):
            raise Refused("%s: %s is defined %d times now, %d before" % (rel, name, len(news), len(codes)))
        for old_code, new_code in zip(codes, news):
            if old_code.co_freevars != new_code.co_freevars:
                raise Refused("%s: %s uses other variables of its enclosing function" % (rel, name))
            pairs.extend((f, new_code) for f in by_code[old_code])
    return pairs, new


def patch(files):
    """Patches every file or none: (functions patched, None) or (0, why not)."""
    if not hasattr(types.CodeType, "co_qualname"):
        return 0, "this Python (%s) has no qualified names in its code objects (3.11 has)" % sys.version.split()[0]
    wanted = {}
    for f in files:
        if os.path.islink(f):
            return 0, "%s is a symbolic link" % f
        real = os.path.realpath(f)
        if not real.startswith(DEV):
            return 0, "%s is not code under development" % f
        if not real.endswith(".py"):
            return 0, "%s is not Python source" % f
        src = os.path.join(DEV, "src") + os.sep
        wanted[real] = real[len(src):] if real.startswith(src) else f
    functions = {p: [] for p in wanted}
    # The functions alive in this worker, and the file each comes from, picked out by
    # C loops (map, compress): a loop in Python over the worker's objects cost ~20 ms.
    objects = gc.get_objects()
    alive = list(compress(objects, map(is_, map(type, objects), repeat(types.FunctionType))))
    del objects
    names = list(map(attrgetter("__code__.co_filename"), alive))
    hit = {n for n in set(names) if real_path(n) in functions}
    for f, n in compress(zip(alive, names), map(hit.__contains__, names)):
        functions[REAL[n]].append(f)
    todo = []
    try:
        for p, f in wanted.items():
            pairs, new = plan(p, f, functions[p])
            todo.append((p, pairs, new))
    except Refused as e:
        return 0, str(e)
    n = 0
    for p, pairs, new in todo:
        for f, code in pairs:
            f.__code__ = code
            n += 1
        if new is not None:
            SOURCES[p] = new
        linecache.checkcache(p)
    return n, None


def answer(request_id, patched, why):
    ack = os.path.join(HOT, "ack-%d" % os.getpid())
    tmp = ack + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"id": request_id, "patched": patched, "why": why}, f)
    os.replace(tmp, ack)


def serve():
    """A worker's thread: answers each new request once. A request there already when the
    worker starts is answered at once, unpatched: the worker imports the files as they
    are now."""
    seen = None
    try:
        with open(REQUEST) as f:
            seen = json.load(f).get("id")
        answer(seen, 0, None)
    except (OSError, ValueError, AttributeError):
        pass
    stamp = None
    while True:
        # A new request is a new file (written aside, then renamed over the old one).
        try:
            st = os.stat(REQUEST)
            now = (st.st_ino, st.st_mtime_ns)
        except OSError:
            now = None
        req = None
        if now is not None and now != stamp:
            stamp = now
            try:
                with open(REQUEST) as f:
                    req = json.load(f)
            except (OSError, ValueError):
                stamp = None
        if req and req.get("id") != seen:
            seen = req.get("id")
            try:
                patched, why = patch(req.get("files") or [])
            except Exception as e:  # a failed patch: git-osa reloads instead
                patched, why = 0, "the patch failed: %s: %s" % (type(e).__name__, e)
            if why is None and patched:
                print("git-osa: hot-patched %d functions in worker %d" % (patched, os.getpid()), file=sys.stderr)
            try:
                answer(seen, patched, why)
            except OSError as e:
                print("git-osa: cannot answer the hot patch: %s" % e, file=sys.stderr)
        time.sleep(POLL)


def after_fork(chain):
    def hook():
        threading.Thread(target=serve, name="git-osa-hot-patch", daemon=True).start()
        if chain:
            chain()

    return hook


def install():
    sys.meta_path.insert(0, NoteDev())
    try:
        import uwsgi
    except ImportError:
        return
    uwsgi.post_fork_hook = after_fork(getattr(uwsgi, "post_fork_hook", None))


install()
