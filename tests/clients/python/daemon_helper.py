"""Test support: start the real interpd on a temporary socket, the way
systemd would (NOTIFY_SOCKET), and wait until it reports READY=1.

The daemon binary comes from $INTERPD_DAEMON_BINARY (CTest sets it; see
tests/clients/CMakeLists.txt). The client package is imported from the
source tree, so the tests check exactly what is in clients/python.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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


# The actor the client tests spawn. nap() sleeps in small steps, so a call
# that timed out leaves the actor busy for a short, bounded time.
COUNTER = """\
import time


class Counter:
    def __init__(self, start=0, *, step=1, name=None):
        self.n = start
        self.step = step
        self.name = name

    def add(self, by=None):
        self.n += self.step if by is None else by
        return self.n

    def get(self):
        return self.n

    def echo(self, *args, **kwargs):
        return [list(args), kwargs]

    def fail(self, why):
        raise KeyError(why)

    def nap(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(0.01)
        return seconds

    def raw(self):
        return b"bytes"

    def power(self, exponent):
        return 10 ** exponent
"""


class FakeDaemon:
    """A daemon from before actors: a Unix socket answering every request
    with -32601 (method not found), as such a daemon does for actor.*."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="interpd-fake-", dir="/tmp")
        self.socket_path = os.path.join(self.dir, "f.sock")
        self.methods: List[str] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.socket_path)
        self._server.listen(4)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed by stop()
            with conn:
                buffer = b""
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    buffer += data
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        request = json.loads(line)
                        self.methods.append(request["method"])
                        error = {"code": -32601, "message": f'method not found: "{request["method"]}"'}
                        reply = {"jsonrpc": "2.0", "id": request.get("id"), "error": error}
                        conn.sendall(json.dumps(reply).encode() + b"\n")

    def stop(self) -> None:
        self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(5)
        shutil.rmtree(self.dir, ignore_errors=True)
