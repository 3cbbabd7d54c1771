"""The result of a ``run``: what the script did, as PROTOCOL.md describes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from .errors import ProtocolError, ScriptCancelled, ScriptError, ScriptExit, ScriptTimeout

__all__ = ["PythonError", "RunResult"]

_STATUSES = ("ok", "error", "exit", "timeout", "cancelled")


@dataclass(frozen=True)
class PythonError:
    """A Python exception, flattened: its type name (``"ZeroDivisionError"``,
    ``"mymod.MyError"``), ``str(exc)``, and the formatted traceback."""

    type: str
    message: str
    traceback: str


@dataclass(frozen=True)
class RunResult:
    """One script run.

    ``status`` is ``"ok"``, ``"error"`` (the script raised: see ``error``),
    ``"exit"`` (``sys.exit()``: see ``exit_code``), ``"timeout"`` or
    ``"cancelled"``. ``value`` is the value of the script's final expression
    (None if it has none), converted from JSON. ``stdout``/``stderr`` hold
    everything the script wrote, also when it was streamed to an
    ``on_output`` callback.
    """

    status: str
    value: Any = None
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    exit_code: Optional[int] = None
    error: Optional[PythonError] = None
    worker: Optional[int] = None
    duration_ms: Optional[float] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True for a run that succeeded: status ok, or sys.exit(0)."""
        return self.status == "ok" or (self.status == "exit" and self.exit_code == 0)

    def raise_for_status(self) -> "RunResult":
        """Returns self when the run succeeded (see :attr:`ok`), else raises
        :class:`ScriptError` or the subclass for how it ended."""
        if self.ok:
            return self
        if self.status == "error":
            assert self.error is not None
            raise ScriptError(f"the script raised {self.error.type}: {self.error.message}", self)
        if self.status == "exit":
            raise ScriptExit(f"the script exited with code {self.exit_code}", self)
        if self.status == "timeout":
            detail = f": {self.error.message}" if self.error else ""
            raise ScriptTimeout(f"the script timed out{detail}", self)
        raise ScriptCancelled("the run was cancelled", self)

    @classmethod
    def from_wire(cls, obj: Any, stdout: str = "", stderr: str = "") -> "RunResult":
        """Builds a result from the ``run`` result object; ``stdout`` and
        ``stderr`` are prepended (the streamed chunks, when streaming).
        Raises :class:`ProtocolError` for a shape PROTOCOL.md does not allow."""
        if not isinstance(obj, dict):
            raise ProtocolError(f"the run result is not an object: {obj!r:.200}")
        status = obj.get("status")
        if status not in _STATUSES:
            raise ProtocolError(f"the run result has an unknown status: {status!r:.100}")
        error = obj.get("error")
        python_error = None
        if error is not None:
            if not isinstance(error, dict) or not isinstance(error.get("type"), str):
                raise ProtocolError(f"the run result's error is malformed: {error!r:.200}")
            python_error = PythonError(error["type"], str(error.get("message", "")), str(error.get("traceback", "")))
        if status == "error" and python_error is None:
            raise ProtocolError("the run result has status error without an error object")
        exit_code = obj.get("exit_code")
        if status == "exit" and not isinstance(exit_code, int):
            raise ProtocolError("the run result has status exit without an integer exit_code")
        return cls(
            status=status,
            value=obj.get("value"),
            stdout=stdout + (obj.get("stdout") or ""),
            stderr=stderr + (obj.get("stderr") or ""),
            truncated=bool(obj.get("truncated", False)),
            exit_code=exit_code,
            error=python_error,
            worker=obj.get("worker"),
            duration_ms=obj.get("duration_ms"),
            raw=obj,
        )
