"""The client installs from the source tree with nothing from PyPI."""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

import daemon_helper

BACKEND = os.path.join(daemon_helper.CLIENT_SOURCE, "_build", "interpd_build.py")


def load_backend():
    spec = importlib.util.spec_from_file_location("interpd_build", BACKEND)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


class BackendTest(unittest.TestCase):
    def setUp(self) -> None:
        self.backend = load_backend()
        self.out = tempfile.mkdtemp(prefix="interpd-wheel-")

    def tearDown(self) -> None:
        shutil.rmtree(self.out, ignore_errors=True)

    def test_the_wheel_holds_the_package_and_a_record_that_matches_it(self) -> None:
        self.assertEqual(self.backend.get_requires_for_build_wheel(), [])
        name = self.backend.build_wheel(self.out)
        self.assertEqual(name, "interpd_client-0.1.0-py3-none-any.whl")
        with zipfile.ZipFile(os.path.join(self.out, name)) as wheel:
            names = set(wheel.namelist())
            for required in ("interpd_client/__init__.py", "interpd_client/client.py", "interpd_client/aio.py",
                             "interpd_client/py.typed", "interpd_client-0.1.0.dist-info/METADATA",
                             "interpd_client-0.1.0.dist-info/WHEEL", "interpd_client-0.1.0.dist-info/RECORD"):
                self.assertIn(required, names)
            self.assertFalse(any("__pycache__" in n for n in names))
            metadata = wheel.read("interpd_client-0.1.0.dist-info/METADATA").decode()
            self.assertIn("Name: interpd-client\n", metadata)
            self.assertIn("Requires-Python: >=3.9\n", metadata)
            rows = list(csv.reader(io.StringIO(wheel.read("interpd_client-0.1.0.dist-info/RECORD").decode())))
            self.assertEqual({r[0] for r in rows}, names)
            for path, digest, size in rows:
                if path.endswith("RECORD"):
                    continue
                data = wheel.read(path)
                expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                self.assertEqual((digest, int(size)), (f"sha256={expected}", len(data)), path)

    def test_the_sdist_can_build_the_wheel_again(self) -> None:
        name = self.backend.build_sdist(self.out)
        with tarfile.open(os.path.join(self.out, name)) as sdist:
            names = sdist.getnames()
        for required in ("pyproject.toml", "_build/interpd_build.py", "interpd_client/client.py", "PKG-INFO"):
            self.assertIn("interpd_client-0.1.0/" + required, names)

    def test_an_editable_wheel_points_at_the_source_tree(self) -> None:
        name = self.backend.build_editable(self.out)
        with zipfile.ZipFile(os.path.join(self.out, name)) as wheel:
            self.assertEqual(wheel.read("_interpd_client_editable.pth").decode().strip(), daemon_helper.CLIENT_SOURCE)


class PipInstallTest(unittest.TestCase):
    def test_pip_installs_it_offline_and_the_installed_copy_imports(self) -> None:
        if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
            self.skipTest(f"{sys.executable} has no pip")
        target = tempfile.mkdtemp(prefix="interpd-pip-")
        try:
            install = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--no-index", "--no-cache-dir", "--disable-pip-version-check",
                 "--quiet", "--target", target, daemon_helper.CLIENT_SOURCE],
                capture_output=True, text=True)
            self.assertEqual(install.returncode, 0, install.stderr)
            # -I: ignore PYTHONPATH and the working directory, so only the
            # installed copy can be found.
            probe = subprocess.run(
                [sys.executable, "-I", "-c",
                 "import sys; sys.path.insert(0, sys.argv[1]); import interpd_client as c; "
                 "print(c.__file__, c.Client.__name__, c.AsyncClient.__name__)", target],
                capture_output=True, text=True)
            self.assertEqual(probe.returncode, 0, probe.stderr)
            self.assertTrue(probe.stdout.startswith(os.path.join(target, "interpd_client", "__init__.py")))
            self.assertTrue(os.path.exists(os.path.join(target, "interpd_client", "py.typed")))
        finally:
            shutil.rmtree(target, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
