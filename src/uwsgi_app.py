# The start of both scripts git-osa writes for a dev uWSGI (`uwsgi_preload.py`,
# `uwsgi_app_load.py`, each written as this file followed by its own): what the app is,
# from uWSGI's options.


def uwsgi_opt(*names):
    """The first of these uWSGI options that is set (the last value of a repeated one)."""
    import uwsgi

    for n in names:
        v = uwsgi.opt.get(n)
        if isinstance(v, list):
            v = v[-1]
        if isinstance(v, bytes):
            v = v.decode()
        if isinstance(v, str) and v:
            return v
    return None


def app():
    """What the worker would load, from uWSGI's options: the loader's module, or file."""
    module = uwsgi_opt("wsgi", "module", "w")
    if module:
        name = module.split(":", 1)[0]
        if name.endswith(".py") or "/" in name:
            return ("file", name)
        return ("module", name)
    path = uwsgi_opt("wsgi-file", "file")
    return ("file", path) if path else None
