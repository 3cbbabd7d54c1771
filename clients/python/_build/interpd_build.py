"""A PEP 517 build backend for interpd-client, standard library only.

Why not setuptools: the client must install from the source tree on
machines that cannot reach PyPI, and not every Python there has setuptools
(pyenv's 3.13 does not). A pure-Python package with no extensions needs
little more than a zip file with the right metadata, so this backend writes
it directly, and ``pip install clients/python`` works offline on any
Python >= 3.9 with pip, with or without build isolation.

The metadata comes from pyproject.toml's [project] table (the few keys
below are read with a line parser: tomllib only exists from Python 3.11).

Hooks: build_wheel, build_sdist, build_editable (PEP 660, a .pth file
pointing at the source tree), and the get_requires_* hooks (nothing).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile
from typing import Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "interpd_client"


def _project() -> Dict[str, object]:
    """name, version, description, requires-python and classifiers from
    the [project] table of pyproject.toml."""
    text = open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8").read()
    match = re.search(r"^\[project\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    if not match:
        raise RuntimeError("pyproject.toml has no [project] table")
    table = match.group(1)
    project: Dict[str, object] = {}
    for key in ("name", "version", "description", "requires-python"):
        m = re.search(r'^%s\s*=\s*"([^"]*)"' % re.escape(key), table, re.M)
        if m:
            project[key] = m.group(1)
    m = re.search(r"^classifiers\s*=\s*\[(.*?)\]", table, re.S | re.M)
    project["classifiers"] = re.findall(r'"([^"]*)"', m.group(1)) if m else []
    for key in ("name", "version"):
        if key not in project:
            raise RuntimeError(f"pyproject.toml [project] lacks {key}")
    return project


def _dist_name(project: Dict[str, object]) -> str:
    # Wheel and sdist file names use the normalized name with underscores.
    return re.sub(r"[-_.]+", "_", str(project["name"])).lower()


def _metadata(project: Dict[str, object]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
    ]
    if "description" in project:
        lines.append(f"Summary: {project['description']}")
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    lines += [f"Classifier: {c}" for c in project["classifiers"]]  # type: ignore[union-attr]
    return "\n".join(lines) + "\n"


def _package_files() -> List[Tuple[str, str]]:
    """(path in the archive, path on disk) of every file of the package."""
    files = []
    base = os.path.join(ROOT, PACKAGE)
    for directory, dirs, names in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".typed")):
                full = os.path.join(directory, name)
                files.append((os.path.relpath(full, ROOT).replace(os.sep, "/"), full))
    return files


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{path},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, contents: List[Tuple[str, bytes]]) -> str:
    project = _project()
    dist = _dist_name(project)
    info = f"{dist}-{project['version']}.dist-info"
    contents = list(contents) + [
        (f"{info}/METADATA", _metadata(project).encode("utf-8")),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: interpd_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = [_record_line(path, data) for path, data in contents] + [f"{info}/RECORD,,"]
    contents.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode("utf-8")))
    name = f"{dist}-{project['version']}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in contents:
            # A fixed timestamp makes the wheel reproducible.
            entry = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(entry, data)
    return name


def get_requires_for_build_wheel(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[dict] = None) -> List[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: Optional[dict] = None,
                metadata_directory: Optional[str] = None) -> str:
    contents = []
    for arcname, full in _package_files():
        with open(full, "rb") as f:
            contents.append((arcname, f.read()))
    return _write_wheel(wheel_directory, contents)


def build_editable(wheel_directory: str, config_settings: Optional[dict] = None,
                   metadata_directory: Optional[str] = None) -> str:
    # The package stays in the source tree; a .pth file puts it on sys.path.
    return _write_wheel(wheel_directory, [(f"_{PACKAGE}_editable.pth", (ROOT + "\n").encode("utf-8"))])


def build_sdist(sdist_directory: str, config_settings: Optional[dict] = None) -> str:
    project = _project()
    base = f"{_dist_name(project)}-{project['version']}"
    members = [("pyproject.toml", os.path.join(ROOT, "pyproject.toml")),
               ("_build/interpd_build.py", os.path.abspath(__file__))] + _package_files()
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        def add(arcname: str, data: bytes) -> None:
            entry = tarfile.TarInfo(f"{base}/{arcname}")
            entry.size = len(data)
            entry.mode = 0o644
            entry.mtime = int(time.time())
            tar.addfile(entry, io.BytesIO(data))

        add("PKG-INFO", _metadata(project).encode("utf-8"))
        for arcname, full in members:
            with open(full, "rb") as f:
                add(arcname, f.read())
    return name
