"""The threaded client: one connection shared by any number of threads.

Thread safety: every public method may be called from any thread at once.
Requests are multiplexed on one connection by id; one reader thread per
connection reads every line and hands each response to the thread waiting
for it, and each ``run.output`` notification to its run's ``on_output``.

Invariants:
  1. Each request id is used once per client, and each response is
     delivered to exactly one waiter; a response nobody waits for any more
     (the waiter timed out) is dropped.
  2. A run's ``on_output`` calls all happen, in order, on the reader thread
     before its ``run()`` returns.
  3. When the connection is lost every request in flight on it fails with
     DaemonUnavailable; the next request opens a new connection.
  4. At most ``max_in_flight`` runs are in flight at once, so the daemon's
     per-connection limit is never what refuses a run.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Any, Dict, List, Optional, Sequence, Type

from . import _protocol as wire
from .errors import DaemonUnavailable, InterpdError, ProtocolError, ResponseTimeout, RPCError
from .result import RunResult

__all__ = ["Client"]


class _Pending:
    """A request waiting for its response."""

    __slots__ = ("call", "event", "response", "failure")

    def __init__(self, call: wire.Call) -> None:
        self.call = call
        self.event = threading.Event()
        self.response: Optional[wire.Response] = None
        self.failure: Optional[BaseException] = None


class _Connection:
    """One socket, its reader thread, and the requests waiting on it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.send_lock = threading.Lock()  # whole lines, one writer at a time
        self.pending: Dict[int, _Pending] = {}  # protected by Client._lock
        self.closed = False  # protected by Client._lock
        self.reader: Optional[threading.Thread] = None


class Client:
    """A connection to interpd, usable from many threads at once.

    ``socket_path``: the daemon's socket; default ``$INTERPD_SOCKET``, else
    the daemon's default path (see :func:`interpd_client.default_socket_path`).
    ``timeout``: seconds to wait for each answer, on top of a run's own
    ``timeout`` (which the daemon enforces); None waits as long as it takes.
    ``max_in_flight``: runs this client has in flight at once; more wait
    their turn (the daemon allows 64 per connection by default).

    Connects at once and raises :class:`DaemonUnavailable` when it cannot.
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        socket_path: Optional[str] = None,
        timeout: Optional[float] = None,
        *,
        max_in_flight: int = wire.DEFAULT_MAX_IN_FLIGHT,
        max_frame_bytes: int = wire.DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.socket_path = wire.resolve_socket_path(socket_path)
        self.timeout = timeout
        self._max_frame_bytes = max_frame_bytes
        self._runs = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self._next_id = 1  # protected by _lock
        self._conn: Optional[_Connection] = None  # protected by _lock
        self._closed = False  # protected by _lock
        with self._lock:
            self._connect_locked()

    # ---- context manager ----

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection; requests in flight fail with
        DaemonUnavailable and the daemon cancels their runs."""
        with self._lock:
            self._closed = True
            conn = self._conn
            self._conn = None
        if conn is not None:
            self._fail_connection(conn, DaemonUnavailable("the client was closed", self.socket_path))
            if conn.reader is not None and conn.reader is not threading.current_thread():
                conn.reader.join(timeout=5)

    # ---- the API ----

    def run(
        self,
        code: Optional[str] = None,
        *,
        path: Optional[str] = None,
        args: Optional[Sequence[str]] = None,
        stdin: Optional[str] = None,
        timeout: Optional[float] = None,
        on_output: Optional[wire.OutputCallback] = None,
        worker: Optional[int] = None,
        isolation: Optional[str] = None,
        name: Optional[str] = None,
        memory_limit: Optional[int] = None,
        lane: Optional[str] = None,
    ) -> RunResult:
        """Runs a script in a worker interpreter and returns its
        :class:`RunResult` (a script that raises is ``status == "error"``,
        not an exception: call ``raise_for_status()`` for one).

        Give ``code`` (source text) or ``path`` (absolute, read by the
        daemon). ``args`` become ``sys.argv[1:]``, ``stdin`` is what
        ``sys.stdin`` reads, ``timeout`` (seconds) is enforced by the daemon.
        ``on_output(stream, data)`` receives output as it is produced, on the
        client's reader thread: keep it short, and do not call this client
        from it. If it raises, the exception is re-raised here once the run
        is over. ``worker``, ``isolation``, ``name``, ``memory_limit`` and
        ``lane`` are passed as PROTOCOL.md describes.

        KeyboardInterrupt (or any exception) while waiting cancels the run.
        """
        call = wire.run_call(code, path, args, stdin, timeout, on_output, worker, isolation, name, memory_limit, lane)
        return self._execute(call)

    def call(self, actor: str, method: str, /, *args: Any, timeout: Optional[float] = None, **kwargs: Any) -> Any:
        """Calls ``method`` of the actor named ``actor`` and returns its
        return value; an exception in the method raises :class:`ActorError`,
        a call past ``timeout`` seconds :class:`RemoteTimeout` (the daemon's
        ``actors.call_timeout`` applies without one), a missing or failed
        actor :class:`NotFound`. Every keyword but ``timeout`` goes to the
        method."""
        return self._execute(wire.actor_call("actor.call", actor, method, args, kwargs, timeout))

    def send(self, actor: str, method: str, /, *args: Any, **kwargs: Any) -> None:
        """Queues a message for an actor without waiting for the method."""
        self._execute(wire.actor_call("actor.send", actor, method, args, kwargs))

    def spawn(
        self,
        name: str,
        code: str,
        cls: str,
        /,
        *args: Any,
        worker: Optional[int] = None,
        restart: Optional[str] = None,
        max_restarts: Optional[int] = None,
        memory_limit: Optional[int] = None,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """Starts an actor ``name``: an instance of class ``cls`` defined by
        ``code``, built with ``*args, **kwargs`` (every keyword but
        ``worker``, ``restart``, ``max_restarts`` and ``memory_limit``). Returns
        ``{"name": ..., "worker": ...}``. ``memory_limit`` (bytes) bounds how
        much the actor may grow its interpreter over its life (a method past
        it raises MemoryError; an interpd addition to the protocol). A
        constructor that raises is an
        :class:`ActorError`, a name in use :class:`InvalidParams`."""
        call = wire.spawn_call(name, code, cls, args, kwargs, worker, restart, max_restarts, memory_limit)
        return self._execute(call)

    def stop(self, name: str) -> None:
        """Stops the actor ``name``."""
        self._execute(wire.Call("actor.stop", {"name": name}, lambda _result: None))

    def actors(self) -> List[Dict[str, Any]]:
        """The actors: name, class, worker, state, messages, restarts."""
        return self._execute(wire.Call("actor.list"))

    def stats(self) -> Dict[str, Any]:
        """The daemon's workers, queues, totals and uptime."""
        return self._execute(wire.Call("stats"))

    def ping(self) -> str:
        """``"pong"``."""
        return self._execute(wire.Call("ping"))

    def version(self) -> Dict[str, Any]:
        """``{"interpd": ..., "python": ..., "protocol": 1}``."""
        return self._execute(wire.Call("version"))

    def request(self, method: str, params: Any = None) -> Any:
        """Any JSON-RPC method, for what has no method of its own here."""
        return self._execute(wire.Call(method, params))

    # ---- machinery ----

    def _connect_locked(self) -> _Connection:
        # REQUIRES: _lock held.
        if self._closed:
            raise InterpdError("the client is closed")
        if self._conn is not None and not self._conn.closed:
            return self._conn
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.socket_path)
        except OSError as e:
            sock.close()
            raise wire.unavailable(self.socket_path, e) from None
        conn = _Connection(sock)
        conn.reader = threading.Thread(target=self._read, args=(conn,), name="interpd-client-reader", daemon=True)
        self._conn = conn
        conn.reader.start()
        return conn

    def _execute(self, call: wire.Call) -> Any:
        conn = self._conn
        if conn is not None and conn.reader is threading.current_thread():
            raise RuntimeError("the client cannot be called from an on_output callback (it runs on the reader thread)")
        if call.is_run and not self._runs.acquire(timeout=-1 if self.timeout is None else self.timeout):
            raise ResponseTimeout(f"run: {self.timeout:g} s passed waiting for one of the client's run slots")
        try:
            return self._roundtrip(call)
        finally:
            if call.is_run:
                self._runs.release()

    def _roundtrip(self, call: wire.Call) -> Any:
        pending = _Pending(call)
        with self._lock:
            request_id = self._next_id
            self._next_id += 1
        line = wire.encode_request(request_id, call.method, call.params, self._max_frame_bytes)
        with self._lock:
            conn = self._connect_locked()
            conn.pending[request_id] = pending
        sent = False
        wait = None if self.timeout is None else self.timeout + call.remote_timeout
        try:
            try:
                with conn.send_lock:
                    conn.sock.sendall(line)
                sent = True
            except OSError as e:
                self._fail_connection(conn, wire.connection_lost(self.socket_path, f"sending failed: {e}"))
            answered = pending.event.wait(wait)
        except BaseException:
            # KeyboardInterrupt and the like: the caller gives up. Raised
            # inside sendall, it may have left half a line on the socket,
            # after which nothing could be parsed: drop the connection (the
            # daemon cancels its runs). Otherwise cancel just this run.
            if sent:
                self._abandon(conn, request_id, call)
            else:
                self._fail_connection(conn, wire.connection_lost(self.socket_path, "interrupted while sending"))
            raise
        if not answered:
            self._abandon(conn, request_id, call)
            raise ResponseTimeout(f"{call.method}: no answer from interpd within {wait:g} s")
        if pending.failure is not None:
            raise pending.failure
        assert pending.response is not None
        return call.finish(pending.response)

    def _abandon(self, conn: _Connection, request_id: int, call: wire.Call) -> None:
        """Forgets a request nobody waits for; a run is cancelled with a
        notification (no answer to wait for)."""
        with self._lock:
            still_pending = conn.pending.pop(request_id, None) is not None
        if call.is_run and still_pending:
            try:
                with conn.send_lock:
                    conn.sock.sendall(wire.cancel_line(request_id, None, self._max_frame_bytes))
            except OSError:
                pass  # the connection is gone, and the daemon cancels with it

    def _read(self, conn: _Connection) -> None:
        # The reader alone closes the socket (in _fail_connection); other
        # threads only shut it down, which wakes this recv. Closing under a
        # blocked recv could let the descriptor number be reused by another
        # socket before the recv starts.
        splitter = wire.LineSplitter()
        failure: BaseException
        try:
            while True:
                data = conn.sock.recv(65536)
                if not data:
                    detail = "closed in the middle of a message" if splitter.partial else "closed by the daemon"
                    failure = wire.connection_lost(self.socket_path, detail)
                    break
                for line in splitter.feed(data):
                    self._dispatch(conn, wire.decode_message(line))
        except ProtocolError as e:
            failure = e
        except RPCError as e:
            failure = e
        except OSError as e:
            failure = wire.connection_lost(self.socket_path, str(e))
        self._fail_connection(conn, failure)

    def _dispatch(self, conn: _Connection, message: Any) -> None:
        if isinstance(message, wire.Notification):
            params = message.params
            if message.method == "run.output" and isinstance(params, dict):
                with self._lock:
                    pending = conn.pending.get(params.get("id"))  # type: ignore[arg-type]
                if pending is not None:
                    pending.call.on_notification(params)
            return
        if message.id is None:
            # An error no request can claim: the daemon refused the
            # connection or could not read a line. Nothing on this
            # connection can be matched any more (invariant 3).
            raise RPCError.from_error(message.error or {"code": -32603, "message": "error without id"})
        with self._lock:
            pending = conn.pending.pop(message.id, None)
        if pending is not None:  # else: abandoned by its waiter (invariant 1)
            pending.response = message
            pending.event.set()

    def _fail_connection(self, conn: _Connection, failure: BaseException) -> None:
        with self._lock:
            conn.closed = True
            if self._conn is conn:
                self._conn = None
            waiting = list(conn.pending.values())
            conn.pending.clear()
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if conn.reader is threading.current_thread():
            conn.sock.close()
        for pending in waiting:
            pending.failure = failure
            pending.event.set()
