# A checkout's editable install (PEP 660), as `pip install -e SRC --no-build-isolation`
# makes it, with less of pip's time.
#
# Run by git-osa in the service's container with the venv's own Python (`-I -B`: no
# current folder on the path, nothing byte-compiled into the venv), in two steps:
#
#   build OUT SRC    before the install, while production stops. What pip does before
#                    it installs, in one process instead of pip's three (each importing
#                    the backend: whether it builds editables, the metadata, the wheel):
#                    the project's own build backend (`[build-system]` in pyproject.toml,
#                    setuptools' legacy backend without one), imported from the venv as
#                    pip does without build isolation, builds the editable wheel into OUT
#                    (an empty folder of git-osa's session), and OUT/ready, written last,
#                    says how pip is to install it:
#                    - `same WHEEL`: the wheel requires exactly what the distribution of
#                      that name installed in the venv requires now. Every requirement is
#                      then met, as pip found when it installed that one: pip installs the
#                      wheel alone (`--no-deps`), skipping a resolution of them all.
#                    - `resolve WHEEL`: pip resolves the requirements, as for `-e`.
#                    No ready file when that distribution is installed at the wheel's
#                    version and not editable (pip would keep it), nor on any failure: then
#                    pip installs `-e SRC` itself, and says what is wrong if anything is.
#   editable WHEEL SRC  after pip installed WHEEL: the record of where it came from
#                    (`direct_url.json`, PEP 610) says what `-e SRC` would have, the
#                    checkout's folder, editable, so that pip, `pip freeze` and the next
#                    install see an editable install. The file and the RECORD line that
#                    hashes it are replaced by new files renamed over them, never written
#                    in place (the production venv's snapshot shares its files).
import base64
import email.parser
import hashlib
import importlib
import importlib.metadata
import json
import os
import sys
import urllib.parse
import urllib.request
import zipfile


def backend():
    spec, paths = "setuptools.build_meta:__legacy__", []
    if os.path.exists("pyproject.toml"):
        import tomllib

        with open("pyproject.toml", "rb") as f:
            system = tomllib.load(f).get("build-system", {})
        spec = system.get("build-backend", spec)
        paths = system.get("backend-path", [])
    for p in reversed(paths):
        sys.path.insert(0, os.path.abspath(p))
    module, _, attrs = spec.partition(":")
    found = importlib.import_module(module)
    for a in filter(None, attrs.split(".")):
        found = getattr(found, a)
    return spec, found


def metadata(wheel):
    """The wheel's dist-info folder and its METADATA's headers."""
    with zipfile.ZipFile(wheel) as z:
        meta = [n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(meta) != 1:
            sys.exit("git-osa: %s has %d METADATA files" % (wheel, len(meta)))
        headers = email.parser.BytesParser().parsebytes(z.read(meta[0]), headersonly=True)
    return meta[0].split("/")[0], headers


def installed(name):
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def editable(dist):
    try:
        url = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return False
    return bool(url.get("dir_info", {}).get("editable"))


def build(out, src):
    os.chdir(src)
    spec, found = backend()
    hook = getattr(found, "build_editable", None)
    if hook is None:
        sys.exit("git-osa: the build backend %s builds no editable wheel" % spec)
    into = os.path.join(out, "build")
    os.mkdir(into)
    # What the backend prints is its log, not an answer: it goes to stderr.
    stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        name = hook(into)
    finally:
        sys.stdout = stdout
    wheel = os.path.join(out, name)
    os.rename(os.path.join(into, name), wheel)
    _, headers = metadata(wheel)
    requires = sorted(headers.get_all("Requires-Dist") or [])
    dist = installed(headers["Name"])
    if dist is not None and sorted(dist.requires or []) == requires:
        mode = "same"
    elif dist is None or dist.version != headers["Version"] or editable(dist):
        mode = "resolve"
    else:
        sys.exit("git-osa: %s %s is installed, not editable: pip installs -e" % (headers["Name"], dist.version))
    with open(os.path.join(out, "ready.new"), "w") as f:
        f.write("%s %s\n" % (mode, wheel))
    os.rename(os.path.join(out, "ready.new"), os.path.join(out, "ready"))


def replace(path, data):
    with open(path + ".git-osa-new", "wb") as f:
        f.write(data)
    os.chmod(path + ".git-osa-new", 0o644)
    os.replace(path + ".git-osa-new", path)


def record_editable(wheel, src):
    info, headers = metadata(wheel)
    dist = installed(headers["Name"])
    if dist is None:
        sys.exit("git-osa: %s is not installed" % headers["Name"])
    # As pip writes it for `-e SRC`.
    url = urllib.parse.urljoin("file:", urllib.request.pathname2url(os.path.normpath(os.path.abspath(src))))
    data = json.dumps({"dir_info": {"editable": True}, "url": url}, sort_keys=True).encode()
    relative = info + "/direct_url.json"
    replace(str(dist.locate_file(relative)), data)
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    row = b"%s,sha256=%s,%d" % (relative.encode(), digest, len(data))
    record = str(dist.locate_file(info + "/RECORD"))
    with open(record, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    ending = lines[0][len(lines[0].rstrip(b"\r\n")):] if lines else b"\n"
    mine = [i for i, line in enumerate(lines) if line.startswith(relative.encode() + b",")]
    if mine:
        lines[mine[0]] = row + ending
    else:
        lines.append(row + ending)
    replace(record, b"".join(lines))


if __name__ == "__main__":
    if sys.argv[1:2] == ["build"] and len(sys.argv) == 4:
        build(os.path.abspath(sys.argv[2]), sys.argv[3])
    elif sys.argv[1:2] == ["editable"] and len(sys.argv) == 4:
        record_editable(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: editable_wheel.py build OUT SRC | editable WHEEL SRC")
