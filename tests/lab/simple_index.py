#!/usr/bin/python3
"""Write a PEP 503 simple index for the files in ROOT/files.

ROOT/simple/index.html lists the projects, ROOT/simple/<normalised name>/index.html
links to ../../files/<file>#sha256=<digest>. Served by `python3 -m http.server`,
it stands for the public index in the lab.

Usage: simple_index.py ROOT
"""

import hashlib
import html
import os
import re
import sys


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def project_of(filename):
    if filename.endswith(".whl"):
        return filename.split("-", 1)[0]
    for ext in (".tar.gz", ".zip", ".tar.bz2"):
        if filename.endswith(ext):
            m = re.match(r"^(.+?)-\d", filename[: -len(ext)])
            if m:
                return m.group(1)
    return None


def page(title, links):
    body = "\n".join(f'    <a href="{html.escape(href)}">{html.escape(text)}</a><br/>' for href, text in links)
    return (
        "<!DOCTYPE html>\n<html>\n  <head><meta name=\"pypi:repository-version\" content=\"1.0\">"
        f"<title>{html.escape(title)}</title></head>\n  <body>\n{body}\n  </body>\n</html>\n"
    )


def main(root):
    files_dir = os.path.join(root, "files")
    projects = {}
    for fn in sorted(os.listdir(files_dir)):
        name = project_of(fn)
        if name is None:
            continue
        with open(os.path.join(files_dir, fn), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        projects.setdefault(normalise(name), []).append((f"../../files/{fn}#sha256={digest}", fn))
    simple = os.path.join(root, "simple")
    os.makedirs(simple, exist_ok=True)
    for name, links in projects.items():
        os.makedirs(os.path.join(simple, name), exist_ok=True)
        with open(os.path.join(simple, name, "index.html"), "w") as f:
            f.write(page(f"Links for {name}", links))
    with open(os.path.join(simple, "index.html"), "w") as f:
        f.write(page("Simple index", [(f"{n}/", n) for n in sorted(projects)]))


if __name__ == "__main__":
    main(sys.argv[1])
