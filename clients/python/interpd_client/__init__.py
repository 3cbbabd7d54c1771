"""interpd_client: talk to interpd, the daemon that runs Python scripts in
parallel on isolated subinterpreters, from Python programs.

Standard library only; Python 3.9 or newer.

    from interpd_client import Client

    with Client() as client:
        result = client.run("import sys; print(sys.version); 6 * 7")
        result.raise_for_status()
        print(result.stdout, result.value)

:class:`Client` is thread-safe (one connection, requests multiplexed by id);
:class:`AsyncClient` is its asyncio twin. Errors are exceptions from
:mod:`interpd_client.errors`. The wire contract is PROTOCOL.md.
"""

from ._protocol import PROTOCOL_VERSION, default_socket_path, resolve_socket_path
from .aio import AsyncClient
from .client import Client
from .errors import (
    ActorError,
    DaemonUnavailable,
    InternalError,
    InterpdError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    NotFound,
    NotRepresentable,
    Overloaded,
    ParseError,
    PermissionDenied,
    ProtocolError,
    RemoteTimeout,
    ResponseTimeout,
    RPCError,
    ScriptCancelled,
    ScriptError,
    ScriptExit,
    ScriptTimeout,
    ShuttingDown,
    TooLarge,
)
from .result import PythonError, RunResult

__version__ = "0.1.0"

__all__ = [
    "PROTOCOL_VERSION",
    "ActorError",
    "AsyncClient",
    "Client",
    "DaemonUnavailable",
    "InternalError",
    "InterpdError",
    "InvalidParams",
    "InvalidRequest",
    "MethodNotFound",
    "NotFound",
    "NotRepresentable",
    "Overloaded",
    "ParseError",
    "PermissionDenied",
    "ProtocolError",
    "PythonError",
    "RPCError",
    "RemoteTimeout",
    "ResponseTimeout",
    "RunResult",
    "ScriptCancelled",
    "ScriptError",
    "ScriptExit",
    "ScriptTimeout",
    "ShuttingDown",
    "TooLarge",
    "default_socket_path",
    "resolve_socket_path",
]
