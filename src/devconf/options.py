# git-osa: is SECTION.KEY an option the service knows? Run in the container by the
# service venv's Python, this script on stdin: every oslo.config namespace installed in the
# venv (the `oslo.config.opts` entry points oslo-config-generator reads: the service's,
# oslo.log's, keystonemiddleware's...) lists its options; one that cannot be loaded is
# passed over. Prints one JSON line: {"known": bool, "like": [close "section.key"...],
# "namespaces": n}.

import difflib
import json
import sys
from importlib import metadata

section, key = sys.argv[1], sys.argv[2]
names = set()
loaded = 0
for ep in metadata.entry_points(group="oslo.config.opts"):
    try:
        listed = ep.load()()
    except Exception:
        continue
    loaded += 1
    for group, opts in listed:
        g = getattr(group, "name", group) or "DEFAULT"
        for o in opts:
            for n in (o.dest, o.name):
                names.add((g, n.replace("-", "_")))
            for d in getattr(o, "deprecated_opts", None) or []:
                names.add((d.group or g, (d.name or o.name).replace("-", "_")))
want = (section, key.replace("-", "_"))
flat = sorted("%s.%s" % n for n in names)
print(json.dumps({
    "known": want in names,
    "like": difflib.get_close_matches("%s.%s" % want, flat, n=3, cutoff=0.75),
    "namespaces": loaded,
}))
