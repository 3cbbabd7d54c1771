"""Test support: start the real interpd on a temporary socket, the way
systemd would (NOTIFY_SOCKET), and wait until it reports READY=1.

The daemon binary comes from $INTERPD_DAEMON_BINARY (CTest sets it; see
tests/clients/CMakeLists.txt). The client package is imported from the
source tree, so the tests check exactly what is in clients/python.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from typing import List, Optional

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CLIENT_SOURCE = os.path.join(SOURCE_ROOT, "clients", "python")
if CLIENT_SOURCE not in sys.path:
    sys.path.insert(0, CLIENT_SOURCE)


def daemon_binary() -> str:
    path = os.environ.get("INTERPD_DAEMON_BINARY")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("set INTERPD_DAEMON_BINARY to the interpd binary (ctest does)")
    return path


class Daemon:
    """One interpd process on a socket in a fresh temporary directory."""

    def __init__(self, workers: int = 2, args: Optional[List[str]] = None, socket_path: Optional[str] = None) -> None:
        # Short paths: a Unix socket address holds 107 bytes.
        self.dir = tempfile.mkdtemp(prefix="interpd-py-", dir="/tmp")
        self.socket_path = socket_path or os.path.join(self.dir, "d.sock")
        self.log_path = os.path.join(self.dir, "daemon.log")
        self._notify_path = os.path.join(self.dir, "notify")
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(self._notify_path)
        env = dict(os.environ, NOTIFY_SOCKET=self._notify_path)
        for name in ("LISTEN_FDS", "LISTEN_PID", "JOURNAL_STREAM"):
            env.pop(name, None)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [daemon_binary(), "--socket", self.socket_path, "--workers", str(workers)] + list(args or []),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=env,
            )
        self._wait_ready(30.0)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._notify.settimeout(0.2)
            try:
                if b"READY=1" in self._notify.recv(4096):
                    return
            except socket.timeout:
                pass
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"interpd did not become ready; its log:\n{self.log()}")

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._notify.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL, leaving the directory (and the stale socket file)."""
        self.process.kill()
        self.process.wait()


class DaemonTestCase(unittest.TestCase):
    """One daemon for all tests of a class (starting one costs ~0.1 s)."""

    workers = 2
    daemon: Daemon

    @classmethod
    def setUpClass(cls) -> None:
        cls.daemon = Daemon(workers=cls.workers)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.daemon.stop()
