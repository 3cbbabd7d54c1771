"""The transport-independent half of the client: finding the socket,
encoding requests, reading the daemon's lines, and turning each kind of
request into its result. The threaded :class:`~interpd_client.Client` and
the asyncio :class:`~interpd_client.AsyncClient` differ only in how bytes
move and how a caller waits; everything here is shared.

Thread safety: pure functions, and objects owned by one request
(:class:`Call`) or one connection (:class:`LineSplitter`).
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from .errors import DaemonUnavailable, ProtocolError, RPCError, TooLarge
from .result import RunResult

PROTOCOL_VERSION = 1

# The daemon's defaults (config/interpd.toml): runs in flight per connection
# (server.max_in_flight_per_connection) and the longest request line
# (server.max_frame_bytes). The client stays under both, so it is never
# answered "overloaded" for its own concurrency, and never sends a line the
# daemon could only answer with an id-less error.
DEFAULT_MAX_IN_FLIGHT = 64
DEFAULT_MAX_FRAME_BYTES = 1 << 20

SYSTEM_SOCKET_PATH = "/run/interpd/interpd.sock"

OutputCallback = Callable[[str, str], None]
"""``on_output(stream, data)``: ``stream`` is ``"stdout"`` or ``"stderr"``."""

JSON = Any


def default_socket_path(environ: Optional[Dict[str, str]] = None, euid: Optional[int] = None) -> str:
    """The daemon's default socket path, by the daemon's own rule
    (``daemon/config.h`` ResolveSocketPath):
    ``$XDG_RUNTIME_DIR/interpd/interpd.sock`` when XDG_RUNTIME_DIR is an
    absolute path, ``/run/interpd/interpd.sock`` as root or under systemd
    (``$RUNTIME_DIRECTORY`` set), else ``./run/interpd.sock``."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_RUNTIME_DIR", "")
    if xdg.startswith("/"):
        xdg = xdg.rstrip("/")
        return xdg + "/interpd/interpd.sock"
    uid = os.geteuid() if euid is None else euid
    if uid == 0 or env.get("RUNTIME_DIRECTORY", ""):
        return SYSTEM_SOCKET_PATH
    return "./run/interpd.sock"


def resolve_socket_path(socket_path: Optional[str] = None, environ: Optional[Dict[str, str]] = None) -> str:
    """``socket_path`` if given, else ``$INTERPD_SOCKET``, else
    :func:`default_socket_path` (the same order as interpctl)."""
    if socket_path:
        return os.fspath(socket_path)
    env = os.environ if environ is None else environ
    return env.get("INTERPD_SOCKET") or default_socket_path(env)


def unavailable(socket_path: str, error: OSError) -> DaemonUnavailable:
    """The exception for a failed connect, saying what to try."""
    hint = "is the daemon running? try: systemctl status interpd"
    if isinstance(error, FileNotFoundError):
        what = f"no socket at {socket_path}"
    elif isinstance(error, ConnectionRefusedError):
        what = f"nothing is listening on {socket_path}"
    elif isinstance(error, PermissionError):
        what = f"permission denied on {socket_path}"
        hint = "connecting needs write permission on the socket (see server.socket_mode, server.allow_groups)"
    else:
        what = f"{socket_path}: {error}"
    return DaemonUnavailable(f"cannot connect to interpd: {what}; {hint}", socket_path)


def _parse_int(text: str) -> int:
    # Python 3.11+ refuses to convert more than sys.get_int_max_str_digits()
    # (4300 by default) digits at once, but PROTOCOL.md promises integers of
    # any size. Today's daemon writes at most 4300 digits (a longer result is
    # a NotRepresentable error); longer literals are still read, in pieces.
    if len(text) <= 4000:
        return int(text)
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    value = 0
    for start in range(0, len(digits), 4000):
        piece = digits[start : start + 4000]
        value = value * 10 ** len(piece) + int(piece)
    return -value if negative else value


def decode_json(text: Union[str, bytes]) -> Any:
    """json.loads with integers of any size (see PROTOCOL.md)."""
    return json.loads(text, parse_int=_parse_int)


def encode_request(request_id: Optional[int], method: str, params: Any, max_frame_bytes: int) -> bytes:
    """One request line: ``{"jsonrpc":"2.0","id":...,"method":...,"params":...}\\n``.

    ``request_id`` None makes a notification. Raises ``TypeError`` or
    ``ValueError`` for params JSON cannot carry (NaN, infinities, objects,
    lone surrogates, which the daemon's reader refuses), and
    :class:`TooLarge` for a line longer than ``max_frame_bytes`` (the daemon
    would answer it with an error that carries no id).
    """
    message: Dict[str, Any] = {"jsonrpc": "2.0"}
    if request_id is not None:
        message["id"] = request_id
    message["method"] = method
    if params is not None:
        message["params"] = params
    try:
        text = json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError as e:
        raise ValueError(f"{method}: the parameters cannot be sent as JSON: {e}") from e
    except TypeError as e:
        raise TypeError(f"{method}: the parameters cannot be sent as JSON: {e}") from e
    try:
        line = text.encode("utf-8") + b"\n"
    except UnicodeEncodeError as e:
        raise ValueError(
            f"{method}: a string holds a lone surrogate ({e.object[e.start:e.end]!r}), which the daemon cannot read"
        ) from e
    if len(line) > max_frame_bytes:
        raise TooLarge(
            TooLarge.CODE,
            f"the request is {len(line)} bytes, more than the daemon's frame limit of {max_frame_bytes} "
            "(server.max_frame_bytes)",
            None,
            method,
        )
    return line


class LineSplitter:
    """Splits the byte stream from the daemon into lines.

    Invariants: lines are returned in order, without their ``\\n`` (nor a
    trailing ``\\r``); empty lines are skipped; bytes after the last
    ``\\n`` wait for more input.
    """

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> List[bytes]:
        self._pending += data
        if b"\n" not in data:
            return []
        *lines, rest = bytes(self._pending).split(b"\n")
        self._pending = bytearray(rest)
        return [line.rstrip(b"\r") for line in lines if line.strip()]

    @property
    def partial(self) -> bool:
        """True when part of a line is held (the daemon stopped mid-line)."""
        return bool(self._pending)


class Response:
    """A response line: ``id`` and exactly one of ``result`` / ``error``."""

    __slots__ = ("id", "result", "error")

    def __init__(self, id: Any, result: Any, error: Optional[Dict[str, Any]]) -> None:
        self.id = id
        self.result = result
        self.error = error


class Notification:
    """A notification line, e.g. ``run.output``."""

    __slots__ = ("method", "params")

    def __init__(self, method: str, params: Any) -> None:
        self.method = method
        self.params = params


def decode_message(line: bytes) -> Union[Response, Notification]:
    """Parses one line from the daemon; raises :class:`ProtocolError` for
    anything but a JSON-RPC 2.0 response or notification."""
    try:
        message = decode_json(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"the daemon sent a line that is not JSON: {line[:200]!r} ({e})") from None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise ProtocolError(f"the daemon sent something that is not a JSON-RPC 2.0 message: {line[:200]!r}")
    if "method" in message:
        if not isinstance(message["method"], str) or "id" in message:
            raise ProtocolError(f"the daemon sent a request or a malformed notification: {line[:200]!r}")
        return Notification(message["method"], message.get("params"))
    if "id" not in message or (("result" in message) == ("error" in message)):
        raise ProtocolError(f"the daemon sent a malformed response: {line[:200]!r}")
    error = message.get("error")
    if error is not None and not (
        isinstance(error, dict) and isinstance(error.get("code"), int) and isinstance(error.get("message"), str)
    ):
        raise ProtocolError(f"the daemon sent a malformed error: {line[:200]!r}")
    if "error" in message and error is None:
        raise ProtocolError(f"the daemon sent a response with error null: {line[:200]!r}")
    return Response(message["id"], message.get("result"), error)


class Call:
    """One request and how to turn its answer into a return value.

    ``finish`` converts the ``result`` member; ``on_notification`` receives
    ``run.output`` params addressed to this request. Owned by the one
    request it describes.
    """

    is_run = False

    def __init__(self, method: str, params: Any = None, finish: Optional[Callable[[Any], Any]] = None) -> None:
        self.method = method
        self.params = params
        self._finish = finish
        # How long the daemon itself may take (a run's or actor call's own
        # timeout); the client's wait adds its timeout on top of this.
        self.remote_timeout: float = 0.0

    def on_notification(self, params: Dict[str, Any]) -> None:
        """A notification for this request (only runs get any)."""

    def finish(self, response: Response) -> Any:
        """The return value for the response, or raises its RPCError."""
        if response.error is not None:
            raise RPCError.from_error(response.error, self.method)
        return self._finish(response.result) if self._finish else response.result


class RunCall(Call):
    """A ``run``: collects streamed output, hands it to ``on_output``, and
    builds a :class:`RunResult` whose stdout/stderr hold all of it."""

    is_run = True

    def __init__(self, params: Dict[str, Any], on_output: Optional[OutputCallback]) -> None:
        super().__init__("run", params)
        self._on_output = on_output
        self._stdout: List[str] = []
        self._stderr: List[str] = []
        timeout = params.get("timeout")
        self.remote_timeout = float(timeout) if timeout else 0.0
        # An exception raised by on_output: re-raised to the caller once the
        # run is over, since it is the caller's code that failed.
        self.callback_error: Optional[BaseException] = None

    def on_notification(self, params: Dict[str, Any]) -> None:
        stream = params.get("stream")
        data = params.get("data")
        if stream not in ("stdout", "stderr") or not isinstance(data, str):
            return
        (self._stdout if stream == "stdout" else self._stderr).append(data)
        if self._on_output is not None and self.callback_error is None:
            try:
                self._on_output(stream, data)
            except Exception as e:  # noqa: BLE001 - re-raised in the caller
                self.callback_error = e

    def finish(self, response: Response) -> RunResult:
        if response.error is not None:
            raise RPCError.from_error(response.error, self.method)
        result = RunResult.from_wire(response.result, "".join(self._stdout), "".join(self._stderr))
        if self.callback_error is not None:
            raise self.callback_error
        return result


def run_call(
    code: Optional[str],
    path: Optional[str],
    args: Optional[Sequence[str]],
    stdin: Optional[str],
    timeout: Optional[float],
    on_output: Optional[OutputCallback],
    worker: Optional[int],
    isolation: Optional[str],
    name: Optional[str],
    memory_limit: Optional[int],
    lane: Optional[str],
) -> RunCall:
    """The ``run`` request for these arguments (see ``Client.run``)."""
    if (code is None) == (path is None):
        raise ValueError("run: give exactly one of code and path")
    params: Dict[str, Any] = {"code": code} if code is not None else {"path": os.fspath(path)}  # type: ignore[arg-type]
    if args is not None:
        if isinstance(args, str):
            raise TypeError("run: args must be a sequence of strings, not a string")
        params["args"] = [str(a) for a in args]
    optional = {
        "stdin": stdin,
        "timeout": timeout,
        "worker": worker,
        "isolation": isolation,
        "name": name,
        "memory_limit": memory_limit,
        "lane": lane,
    }
    params.update({k: v for k, v in optional.items() if v is not None})
    if on_output is not None:
        params["stream"] = True
    return RunCall(params, on_output)


def actor_call(method: str, actor: str, actor_method: str, args: Sequence[Any], kwargs: Dict[str, Any],
               timeout: Optional[float] = None) -> Call:
    """``actor.call`` / ``actor.send`` (``method``) for ``actor.actor_method(*args, **kwargs)``."""
    params: Dict[str, Any] = {"name": actor, "method": actor_method}
    if args:
        params["args"] = list(args)
    if kwargs:
        params["kwargs"] = dict(kwargs)
    if timeout is not None:
        params["timeout"] = timeout
    call = Call(method, params, None if method == "actor.call" else (lambda _result: None))
    call.remote_timeout = float(timeout or 0.0)
    return call


def spawn_call(name: str, code: str, cls: str, args: Sequence[Any], kwargs: Dict[str, Any],
               worker: Optional[int], restart: Optional[str], max_restarts: Optional[int],
               memory_limit: Optional[int] = None) -> Call:
    """``actor.spawn``: an instance of class ``cls`` defined by ``code``."""
    params: Dict[str, Any] = {"name": name, "code": code, "class": cls}
    if args:
        params["args"] = list(args)
    if kwargs:
        params["kwargs"] = dict(kwargs)
    optional = {"worker": worker, "restart": restart, "max_restarts": max_restarts, "memory_limit": memory_limit}
    params.update({k: v for k, v in optional.items() if v is not None})
    return Call("actor.spawn", params)


def cancel_line(run_id: int, request_id: Optional[int], max_frame_bytes: int) -> bytes:
    """The ``cancel`` request for the run with id ``run_id``."""
    return encode_request(request_id, "cancel", {"id": run_id}, max_frame_bytes)


def connection_lost(socket_path: str, detail: str) -> DaemonUnavailable:
    """The exception for requests in flight when the connection drops."""
    return DaemonUnavailable(
        f"lost the connection to interpd at {socket_path} ({detail}); the daemon may have stopped or restarted",
        socket_path,
    )
