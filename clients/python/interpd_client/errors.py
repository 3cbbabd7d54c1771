"""Exceptions raised by the interpd client.

The hierarchy::

    InterpdError
    ├── DaemonUnavailable      cannot connect, or the connection was lost
    │                          (also a ConnectionError)
    ├── ProtocolError          the daemon's answer broke the protocol
    ├── ResponseTimeout        no answer within the client's timeout
    │                          (also a TimeoutError)
    ├── RPCError               a JSON-RPC error answer: .code .message .data
    │   ├── ParseError         -32700
    │   ├── InvalidRequest     -32600
    │   ├── MethodNotFound     -32601 (e.g. actors on a daemon without them)
    │   ├── InvalidParams      -32602
    │   ├── InternalError      -32603
    │   ├── Overloaded         -32000 (retry later)
    │   ├── ShuttingDown       -32001
    │   ├── NotFound           -32002
    │   ├── PermissionDenied   -32003
    │   ├── TooLarge           -32004
    │   ├── ActorError         -32010: .type .traceback of the actor's exception
    │   ├── RemoteTimeout      -32011
    │   └── NotRepresentable   -32012
    └── ScriptError            raised by RunResult.raise_for_status()
        ├── ScriptExit         sys.exit() with a non-zero code: .exit_code
        ├── ScriptTimeout      the run hit its timeout
        └── ScriptCancelled    the run was cancelled

A run whose script raises is *not* an RPCError: it is a successful request
whose result has ``status == "error"``; ``raise_for_status()`` turns it into
a :class:`ScriptError` carrying the exception's type, message and traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Type

if TYPE_CHECKING:  # pragma: no cover - import cycle only for type checkers
    from .result import RunResult

__all__ = [
    "InterpdError",
    "DaemonUnavailable",
    "ProtocolError",
    "ResponseTimeout",
    "RPCError",
    "ParseError",
    "InvalidRequest",
    "MethodNotFound",
    "InvalidParams",
    "InternalError",
    "Overloaded",
    "ShuttingDown",
    "NotFound",
    "PermissionDenied",
    "TooLarge",
    "ActorError",
    "RemoteTimeout",
    "NotRepresentable",
    "ScriptError",
    "ScriptExit",
    "ScriptTimeout",
    "ScriptCancelled",
]


class InterpdError(Exception):
    """Base class of every exception this package raises on purpose."""


class DaemonUnavailable(InterpdError, ConnectionError):
    """The daemon could not be reached, or the connection to it was lost.

    ``socket_path`` is where the client looked. A lost connection fails
    every request in flight; the next request connects again.
    """

    def __init__(self, message: str, socket_path: Optional[str] = None) -> None:
        # One argument only: OSError subclasses read two as (errno, strerror).
        super().__init__(message)
        self.socket_path = socket_path


class ProtocolError(InterpdError):
    """The daemon sent something that is not JSON-RPC 2.0 as PROTOCOL.md
    defines it. The connection is closed: nothing after it can be trusted."""


class ResponseTimeout(InterpdError, TimeoutError):
    """No answer arrived within the client's ``timeout``. For a run, the
    client asked the daemon to cancel it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


_BY_CODE: Dict[int, Type["RPCError"]] = {}


class RPCError(InterpdError):
    """The daemon answered a request with a JSON-RPC error.

    ``code`` and ``message`` are the error's; ``data`` is its optional
    ``data`` member (None when absent); ``method`` is the request's method.
    Subclasses exist for every code PROTOCOL.md defines; :meth:`from_error`
    picks the right one, and an unknown code gives a plain RPCError.
    """

    CODE: Optional[int] = None

    def __init__(self, code: int, message: str, data: Any = None, method: Optional[str] = None) -> None:
        super().__init__(code, message, data)
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.CODE is not None:
            _BY_CODE[cls.CODE] = cls

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        return f"{where}{self.message} ({self.code})"

    @staticmethod
    def from_error(error: Dict[str, Any], method: Optional[str] = None) -> "RPCError":
        """The exception for a JSON-RPC ``error`` object."""
        code = error["code"]
        cls = _BY_CODE.get(code, RPCError)
        return cls(code, error["message"], error.get("data"), method)


class ParseError(RPCError):
    """-32700: the daemon could not parse a request as JSON."""

    CODE = -32700


class InvalidRequest(RPCError):
    """-32600: the request is not a valid JSON-RPC request."""

    CODE = -32600


class MethodNotFound(RPCError):
    """-32601: the daemon has no such method. For ``actor.*`` methods this
    means the daemon does not support actors yet."""

    CODE = -32601

    def __str__(self) -> str:
        if self.method and self.method.startswith("actor."):
            return f"this daemon does not support actors yet ({self.method}: method not found)"
        return super().__str__()


class InvalidParams(RPCError):
    """-32602: the method's parameters are invalid (the message says which)."""

    CODE = -32602


class InternalError(RPCError):
    """-32603: the daemon failed internally."""

    CODE = -32603


class Overloaded(RPCError):
    """-32000: a queue or connection limit was reached; retry later."""

    CODE = -32000


class ShuttingDown(RPCError):
    """-32001: the daemon is shutting down and accepts no new work."""

    CODE = -32001


class NotFound(RPCError):
    """-32002: the actor, path or run named does not exist."""

    CODE = -32002


class PermissionDenied(RPCError):
    """-32003: the daemon refused the operation (or the connection)."""

    CODE = -32003


class TooLarge(RPCError):
    """-32004: a request was too large or nested too deeply."""

    CODE = -32004


class ActorError(RPCError):
    """-32010: an actor method raised. ``type``, ``traceback`` and
    ``exc_message`` come from the error's data."""

    CODE = -32010

    @property
    def type(self) -> Optional[str]:
        return self.data.get("type") if isinstance(self.data, dict) else None

    @property
    def exc_message(self) -> Optional[str]:
        return self.data.get("message") if isinstance(self.data, dict) else None

    @property
    def traceback(self) -> Optional[str]:
        return self.data.get("traceback") if isinstance(self.data, dict) else None


class RemoteTimeout(RPCError):
    """-32011: the operation timed out on the daemon."""

    CODE = -32011


class NotRepresentable(RPCError):
    """-32012: a value is not shareable or cannot be represented as JSON."""

    CODE = -32012


class ScriptError(InterpdError):
    """A run that did not succeed, raised by ``RunResult.raise_for_status()``.

    ``result`` is the whole :class:`RunResult`. ``type``, ``message`` and
    ``traceback`` describe the Python exception (``traceback`` is as
    ``traceback.format_exception`` prints it); they are None when the run
    ended without one.
    """

    def __init__(self, description: str, result: "RunResult") -> None:
        super().__init__(description)
        self.result = result
        error = result.error
        self.type: Optional[str] = error.type if error else None
        self.message: Optional[str] = error.message if error else None
        self.traceback: Optional[str] = error.traceback if error else None


class ScriptExit(ScriptError):
    """The script called ``sys.exit()`` with a non-zero code."""

    @property
    def exit_code(self) -> Optional[int]:
        return self.result.exit_code


class ScriptTimeout(ScriptError):
    """The run was interrupted at its timeout."""


class ScriptCancelled(ScriptError):
    """The run was cancelled (by this client, or by the daemon shutting down)."""
