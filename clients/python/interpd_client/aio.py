"""The asyncio client: the same requests as :class:`~interpd_client.Client`,
awaited instead of waited for, on one connection per client.

Thread safety: an AsyncClient belongs to the event loop it first connects
in; use it from coroutines and callbacks of that loop only.

Invariants:
  1. Each request id is used once per client; each response resolves
     exactly one future; a response for a request whose awaiting task gave
     up (cancelled, timed out) is dropped.
  2. A run's ``on_output`` calls all happen, in order, in the loop, before
     its ``run()`` returns.
  3. When the connection is lost every request in flight on it fails with
     DaemonUnavailable; the next request opens a new connection.
  4. At most ``max_in_flight`` runs are in flight at once (the daemon's
     per-connection limit is 64 by default): 1,000 concurrent ``run()``
     calls queue here instead of being refused as overloaded.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Dict, List, Optional, Sequence, Type

from . import _protocol as wire
from .errors import DaemonUnavailable, InterpdError, ProtocolError, ResponseTimeout, RPCError
from .result import RunResult

__all__ = ["AsyncClient"]


class _Connection:
    """One stream pair, its reader task, and the requests waiting on it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.write_lock = asyncio.Lock()  # write + drain, one task at a time
        self.pending: Dict[int, "asyncio.Future[wire.Response]"] = {}
        self.calls: Dict[int, wire.Call] = {}
        self.closed = False
        self.task: Optional["asyncio.Task[None]"] = None


class AsyncClient:
    """An asyncio connection to interpd.

    Arguments as for :class:`~interpd_client.Client`. The connection opens
    on the first request (or ``await client.connect()``, or ``async with``)::

        async with AsyncClient() as client:
            results = await asyncio.gather(*(client.run(f"{i} * 2") for i in range(1000)))
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
        self._max_in_flight = max_in_flight
        self._max_frame_bytes = max_frame_bytes
        self._runs: Optional[asyncio.Semaphore] = None  # made in the loop (Python < 3.10 binds one at creation)
        self._connecting: Optional[asyncio.Lock] = None
        self._next_id = 1
        self._conn: Optional[_Connection] = None
        self._closed = False

    async def __aenter__(self) -> "AsyncClient":
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Opens the connection now (requests open it when needed);
        raises :class:`DaemonUnavailable` when it cannot."""
        await self._connection()

    async def close(self) -> None:
        """Closes the connection; requests in flight fail with
        DaemonUnavailable and the daemon cancels their runs."""
        self._closed = True
        conn = self._conn
        self._conn = None
        if conn is not None:
            self._fail_connection(conn, DaemonUnavailable("the client was closed", self.socket_path))
            if conn.task is not None:
                conn.task.cancel()
                try:
                    await conn.task
                except asyncio.CancelledError:
                    pass
            try:
                await conn.writer.wait_closed()
            except OSError:
                pass

    # ---- the API (see Client for the details of each) ----

    async def run(
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
        """Runs a script and returns its :class:`RunResult`; see
        ``Client.run``. ``on_output(stream, data)`` is called in the event
        loop as output arrives. Cancelling the awaiting task cancels the run
        on the daemon."""
        call = wire.run_call(code, path, args, stdin, timeout, on_output, worker, isolation, name, memory_limit, lane)
        return await self._execute(call)

    async def call(
        self, actor: str, method: str, /, *args: Any, timeout: Optional[float] = None, **kwargs: Any
    ) -> Any:
        """Calls an actor's method and returns its return value (see
        :meth:`Client.call <interpd_client.Client.call>`)."""
        return await self._execute(wire.actor_call("actor.call", actor, method, args, kwargs, timeout))

    async def send(self, actor: str, method: str, /, *args: Any, **kwargs: Any) -> None:
        """Queues a message for an actor without waiting for the method."""
        await self._execute(wire.actor_call("actor.send", actor, method, args, kwargs))

    async def spawn(
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
        """Starts an actor; returns ``{"name": ..., "worker": ...}``."""
        call = wire.spawn_call(name, code, cls, args, kwargs, worker, restart, max_restarts, memory_limit)
        return await self._execute(call)

    async def stop(self, name: str) -> None:
        """Stops the actor ``name``."""
        await self._execute(wire.Call("actor.stop", {"name": name}, lambda _result: None))

    async def actors(self) -> List[Dict[str, Any]]:
        """The actors: name, class, worker, state, messages, restarts."""
        return await self._execute(wire.Call("actor.list"))

    async def stats(self) -> Dict[str, Any]:
        """The daemon's workers, queues, totals and uptime."""
        return await self._execute(wire.Call("stats"))

    async def ping(self) -> str:
        """``"pong"``."""
        return await self._execute(wire.Call("ping"))

    async def version(self) -> Dict[str, Any]:
        """``{"interpd": ..., "python": ..., "protocol": 1}``."""
        return await self._execute(wire.Call("version"))

    async def request(self, method: str, params: Any = None) -> Any:
        """Any JSON-RPC method, for what has no method of its own here."""
        return await self._execute(wire.Call(method, params))

    # ---- machinery ----

    async def _connection(self) -> _Connection:
        if self._closed:
            raise InterpdError("the client is closed")
        if self._conn is not None and not self._conn.closed:
            return self._conn
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # one connect even when many tasks start at once
            if self._conn is not None and not self._conn.closed:
                return self._conn
            try:
                # No line-length limit of the StreamReader applies: the
                # reader task reads chunks, not lines.
                reader, writer = await asyncio.open_unix_connection(self.socket_path)
            except OSError as e:
                raise wire.unavailable(self.socket_path, e) from None
            conn = _Connection(reader, writer)
            conn.task = asyncio.ensure_future(self._read(conn))
            self._conn = conn
            return conn

    async def _execute(self, call: wire.Call) -> Any:
        if not call.is_run:
            return await self._roundtrip(call)
        if self._runs is None:
            self._runs = asyncio.Semaphore(self._max_in_flight)
        try:
            await asyncio.wait_for(self._runs.acquire(), self.timeout)
        except asyncio.TimeoutError:
            raise ResponseTimeout(f"run: {self.timeout:g} s passed waiting for one of the client's run slots") from None
        try:
            return await self._roundtrip(call)
        finally:
            self._runs.release()

    async def _roundtrip(self, call: wire.Call) -> Any:
        request_id = self._next_id
        self._next_id += 1
        line = wire.encode_request(request_id, call.method, call.params, self._max_frame_bytes)
        conn = await self._connection()
        future: "asyncio.Future[wire.Response]" = asyncio.get_running_loop().create_future()
        conn.pending[request_id] = future
        conn.calls[request_id] = call
        wait = None if self.timeout is None else self.timeout + call.remote_timeout
        try:
            try:
                # write() buffers the whole line at once, so a cancellation
                # during drain() cannot leave half a line behind.
                async with conn.write_lock:
                    conn.writer.write(line)
                    await conn.writer.drain()
            except OSError as e:
                self._fail_connection(conn, wire.connection_lost(self.socket_path, f"sending failed: {e}"))
            response = await asyncio.wait_for(asyncio.shield(future), wait)
        except asyncio.TimeoutError:
            self._abandon(conn, request_id, call)
            raise ResponseTimeout(f"{call.method}: no answer from interpd within {wait:g} s") from None
        except asyncio.CancelledError:
            self._abandon(conn, request_id, call)
            raise
        finally:
            conn.calls.pop(request_id, None)
        return call.finish(response)

    def _abandon(self, conn: _Connection, request_id: int, call: wire.Call) -> None:
        """Forgets a request nobody awaits; a run is cancelled with a
        notification (there is no answer to wait for)."""
        future = conn.pending.pop(request_id, None)
        if future is None or not call.is_run or conn.closed:
            return
        future.cancel()
        # Written without awaiting drain: this runs while the caller is
        # being cancelled, and the line is small.
        try:
            conn.writer.write(wire.cancel_line(request_id, None, self._max_frame_bytes))
        except (OSError, RuntimeError):
            pass  # the connection is gone, and the daemon cancels with it

    async def _read(self, conn: _Connection) -> None:
        splitter = wire.LineSplitter()
        failure: BaseException
        try:
            while True:
                data = await conn.reader.read(65536)
                if not data:
                    detail = "closed in the middle of a message" if splitter.partial else "closed by the daemon"
                    failure = wire.connection_lost(self.socket_path, detail)
                    break
                for line in splitter.feed(data):
                    self._dispatch(conn, wire.decode_message(line))
        except (ProtocolError, RPCError) as e:
            failure = e
        except OSError as e:
            failure = wire.connection_lost(self.socket_path, str(e))
        except asyncio.CancelledError:
            failure = DaemonUnavailable("the client was closed", self.socket_path)
            self._fail_connection(conn, failure)
            raise
        self._fail_connection(conn, failure)

    def _dispatch(self, conn: _Connection, message: Any) -> None:
        if isinstance(message, wire.Notification):
            params = message.params
            if message.method == "run.output" and isinstance(params, dict):
                call = conn.calls.get(params.get("id"))  # type: ignore[arg-type]
                if call is not None:
                    call.on_notification(params)
            return
        if message.id is None:
            # An error no request can claim (a refused connection, a line
            # the daemon could not read): fail everything on it.
            raise RPCError.from_error(message.error or {"code": -32603, "message": "error without id"})
        future = conn.pending.pop(message.id, None)
        if future is not None and not future.done():
            future.set_result(message)

    def _fail_connection(self, conn: _Connection, failure: BaseException) -> None:
        if conn.closed:
            return
        conn.closed = True
        if self._conn is conn:
            self._conn = None
        waiting = list(conn.pending.values())
        conn.pending.clear()
        conn.writer.close()
        for future in waiting:
            if not future.done():
                future.set_exception(failure)
