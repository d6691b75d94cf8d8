# Follows `uwsgi_app.py` (`uwsgi_opt`, `app`) in the file git-osa writes.
#
# Written by git-osa into the session's folder and imported by each dev uWSGI worker
# (`--import`) right before it loads the app: the app loads with Python's garbage
# collector off, and the collector is on again as soon as that load ends, however it
# ends.
#
# Loading an OpenStack app imports a couple of thousand modules, and with the collector
# on, every few hundred allocations run a collection over what is already there:
# keystone's app loaded in 1.24 s instead of 1.87 s with it off, measured in the lab's
# container. What the load leaves as garbage goes with the first collection after it.
#
# Only an app given as a module (uWSGI's `wsgi`/`module`) loads through Python's import
# system, where a finder can tell when its load ends: that module's loader, and those of
# the packages above it (which load first, and may fail first), are wrapped to turn the
# collector on again. An app given as a file (`wsgi-file`), loaded by uWSGI past any
# finder, or one some earlier import already loaded, is left as it is.
#
# `git osa restore` removes this file with the session's folder.
import gc
import sys


def app_module():
    """The app's module, when the app is one (not a file)."""
    what = app()
    return what[1] if what and what[0] == "module" else None


class Around:
    """Turns the collector on again when the app's module has loaded, or when it or a
    package above it failed to."""

    def __init__(self, app):
        self.app = app
        parts = app.split(".")
        self.above = {".".join(parts[:i]) for i in range(1, len(parts))}
        self.busy = False

    def find_spec(self, name, path=None, target=None):
        # A finder after this one may ask the others in turn (the hot-patch agent's does),
        # this one too: it answers only the outer call, and wraps the loader found last.
        if self.busy or (name != self.app and name not in self.above):
            return None
        self.busy = True
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        finally:
            self.busy = False
        if spec is None:
            if name == self.app:
                self.done()
            return None
        loader = spec.loader
        # A loader that is a class (builtins, frozen modules) is shared: never wrapped.
        if loader is None or isinstance(loader, type) or not hasattr(loader, "exec_module"):
            self.done()
            return spec
        run = loader.exec_module
        is_app = name == self.app

        def exec_module(module):
            try:
                run(module)
            except BaseException:
                self.done()
                raise
            if is_app:
                self.done()

        loader.exec_module = exec_module
        return spec

    def done(self):
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        gc.enable()


def around_app_load():
    app = app_module()
    if app is None or app in sys.modules or not gc.isenabled():
        return
    gc.disable()
    sys.meta_path.insert(0, Around(app))


around_app_load()
