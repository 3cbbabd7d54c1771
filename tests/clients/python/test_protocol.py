"""The client's shared protocol layer, without a daemon (except to ask the
daemon binary where it would listen)."""

from __future__ import annotations

import ast
import json
import os
import pathlib
import re
import subprocess
import unittest

import daemon_helper
from interpd_client import _protocol as wire
from interpd_client import errors
from interpd_client.result import PythonError, RunResult


class SocketPathTest(unittest.TestCase):
    def test_the_default_path_follows_the_daemons_rule(self) -> None:
        cases = [
            ({"XDG_RUNTIME_DIR": "/run/user/1000"}, 1000, "/run/user/1000/interpd/interpd.sock"),
            ({"XDG_RUNTIME_DIR": "/run/user/1000//"}, 0, "/run/user/1000/interpd/interpd.sock"),
            ({"XDG_RUNTIME_DIR": "relative"}, 1000, "./run/interpd.sock"),
            ({"XDG_RUNTIME_DIR": "relative"}, 0, "/run/interpd/interpd.sock"),
            ({"RUNTIME_DIRECTORY": "/run/interpd"}, 1000, "/run/interpd/interpd.sock"),
            ({}, 1000, "./run/interpd.sock"),
            ({"XDG_RUNTIME_DIR": "/"}, 1000, "/interpd/interpd.sock"),
        ]
        for environ, euid, expected in cases:
            with self.subTest(environ=environ, euid=euid):
                self.assertEqual(wire.default_socket_path(environ, euid), expected)

    def test_the_default_path_is_where_the_daemon_binary_says_it_would_listen(self) -> None:
        # `interpd --check-config` prints the resolved default as a comment.
        for environ in ({"XDG_RUNTIME_DIR": "/tmp/xdg-test"}, {"XDG_RUNTIME_DIR": "not/absolute"},
                        {"RUNTIME_DIRECTORY": "/run/interpd"}, {}):
            with self.subTest(environ=environ):
                env = {k: v for k, v in os.environ.items()
                       if k not in ("XDG_RUNTIME_DIR", "RUNTIME_DIRECTORY", "INTERPD_SOCKET")}
                env.update(environ)
                out = subprocess.run([daemon_helper.daemon_binary(), "--check-config"], env=env,
                                     capture_output=True, text=True, check=True).stdout
                match = re.search(r'^socket = ""\s+# default: (\S+) in this environment', out, re.M)
                self.assertIsNotNone(match, out)
                self.assertEqual(wire.default_socket_path(environ), match.group(1))

    def test_an_explicit_path_beats_INTERPD_SOCKET_which_beats_the_default(self) -> None:
        env = {"XDG_RUNTIME_DIR": "/run/user/5"}
        self.assertEqual(wire.resolve_socket_path(None, env), "/run/user/5/interpd/interpd.sock")
        env["INTERPD_SOCKET"] = "/tmp/env.sock"
        self.assertEqual(wire.resolve_socket_path(None, env), "/tmp/env.sock")
        self.assertEqual(wire.resolve_socket_path("/tmp/arg.sock", env), "/tmp/arg.sock")
        self.assertEqual(wire.resolve_socket_path(pathlib.Path("/tmp/p.sock"), env), "/tmp/p.sock")


class EncodingTest(unittest.TestCase):
    def test_a_request_is_one_compact_utf8_line(self) -> None:
        line = wire.encode_request(7, "run", {"code": "print('h\u00e9')", "args": ["\U0001f40d"]}, 1 << 20)
        self.assertTrue(line.endswith(b"\n"))
        self.assertEqual(line.count(b"\n"), 1)
        self.assertIn("h\u00e9".encode(), line)  # UTF-8, not \u escapes
        self.assertEqual(json.loads(line), {"jsonrpc": "2.0", "id": 7, "method": "run",
                                            "params": {"code": "print('h\u00e9')", "args": ["\U0001f40d"]}})

    def test_a_notification_has_no_id_and_absent_params_are_omitted(self) -> None:
        self.assertEqual(json.loads(wire.encode_request(None, "ping", None, 100)), {"jsonrpc": "2.0", "method": "ping"})

    def test_values_json_cannot_carry_are_refused_before_sending(self) -> None:
        for value, exc in ((float("nan"), ValueError), (float("inf"), ValueError), (object(), TypeError),
                           (b"bytes", TypeError), ("\ud800", ValueError)):
            with self.subTest(value=repr(value)):
                with self.assertRaises(exc):
                    wire.encode_request(1, "actor.call", {"args": [value]}, 1 << 20)

    def test_a_line_over_the_frame_limit_is_refused_locally(self) -> None:
        with self.assertRaises(errors.TooLarge) as cm:
            wire.encode_request(1, "run", {"code": "x" * 2000}, 1000)
        self.assertEqual(cm.exception.code, -32004)

    def test_integers_of_any_size_are_read(self) -> None:
        for value in (0, -1, 2**63, 10**4299, 10**5000 + 17, -(10**9000) - 3):
            with self.subTest(digits=len(repr(abs(value))) if abs(value) < 10**4000 else "many"):
                self.assertEqual(wire.decode_json(f'{{"v":{_int_text(value)}}}')["v"], value)


def _int_text(value: int) -> str:
    # str() of a huge int is itself limited on 3.11+; build the digits in pieces.
    if abs(value) < 10**4000:
        return str(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    pieces = []
    while value:
        value, rest = divmod(value, 10**1000)
        pieces.append(str(rest).zfill(1000))
    return sign + "".join(reversed(pieces)).lstrip("0")


class DecodingTest(unittest.TestCase):
    def test_responses_and_notifications_are_told_apart(self) -> None:
        r = wire.decode_message(b'{"jsonrpc":"2.0","id":3,"result":{"a":[1,2.5,null]}}')
        self.assertIsInstance(r, wire.Response)
        self.assertEqual((r.id, r.result, r.error), (3, {"a": [1, 2.5, None]}, None))
        e = wire.decode_message(b'{"jsonrpc":"2.0","id":null,"error":{"code":-32003,"message":"no"}}')
        self.assertEqual((e.id, e.error["code"]), (None, -32003))
        n = wire.decode_message(b'{"jsonrpc":"2.0","method":"run.output","params":{"id":1,"stream":"stdout","data":"x"}}')
        self.assertIsInstance(n, wire.Notification)
        self.assertEqual(n.method, "run.output")

    def test_anything_else_is_a_protocol_error(self) -> None:
        for line in (b"+PONG", b"\xff\xfe", b"[1]", b'{"id":1,"result":1}', b'{"jsonrpc":"2.0","result":1}',
                     b'{"jsonrpc":"2.0","id":1}', b'{"jsonrpc":"2.0","id":1,"result":1,"error":{}}',
                     b'{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}',
                     b'{"jsonrpc":"2.0","id":1,"error":null}', b'{"jsonrpc":"2.0","id":1,"method":"x"}'):
            with self.subTest(line=line):
                with self.assertRaises(errors.ProtocolError):
                    wire.decode_message(line)

    def test_lines_are_reassembled_from_any_chunking(self) -> None:
        stream = b'{"a":1}\n\r\n{"b":"\xc3\xa9"}\r\n{"c":3}\n'
        for size in (1, 2, 3, 7, len(stream)):
            with self.subTest(chunk=size):
                splitter = wire.LineSplitter()
                lines = []
                for i in range(0, len(stream), size):
                    lines += splitter.feed(stream[i : i + size])
                self.assertEqual(lines, [b'{"a":1}', b'{"b":"\xc3\xa9"}', b'{"c":3}'])
                self.assertFalse(splitter.partial)
        splitter = wire.LineSplitter()
        self.assertEqual(splitter.feed(b'{"half"'), [])
        self.assertTrue(splitter.partial)


class ErrorsTest(unittest.TestCase):
    def test_every_protocol_error_code_has_its_class(self) -> None:
        table = {-32700: errors.ParseError, -32600: errors.InvalidRequest, -32601: errors.MethodNotFound,
                 -32602: errors.InvalidParams, -32603: errors.InternalError, -32000: errors.Overloaded,
                 -32001: errors.ShuttingDown, -32002: errors.NotFound, -32003: errors.PermissionDenied,
                 -32004: errors.TooLarge, -32010: errors.ActorError, -32011: errors.RemoteTimeout,
                 -32012: errors.NotRepresentable}
        for code, cls in table.items():
            with self.subTest(code=code):
                e = errors.RPCError.from_error({"code": code, "message": "m", "data": {"k": 1}}, "run")
                self.assertIs(type(e), cls)
                self.assertIsInstance(e, errors.InterpdError)
                self.assertEqual((e.code, e.message, e.data, e.method), (code, "m", {"k": 1}, "run"))
        unknown = errors.RPCError.from_error({"code": -31999, "message": "new"})
        self.assertIs(type(unknown), errors.RPCError)
        self.assertIsNone(unknown.data)

    def test_a_missing_actor_method_says_actors_are_not_supported(self) -> None:
        e = errors.RPCError.from_error({"code": -32601, "message": 'method not found: "actor.call"'}, "actor.call")
        self.assertEqual(str(e), "this daemon does not support actors yet (actor.call: method not found)")

    def test_an_actor_exception_carries_type_and_traceback(self) -> None:
        e = errors.RPCError.from_error({"code": -32010, "message": "boom", "data": {
            "type": "KeyError", "message": "'k'", "traceback": "Traceback ...\nKeyError: 'k'\n"}})
        self.assertIsInstance(e, errors.ActorError)
        self.assertEqual((e.type, e.exc_message), ("KeyError", "'k'"))
        self.assertTrue(e.traceback.endswith("KeyError: 'k'\n"))

    def test_connection_and_timeout_errors_are_also_the_builtin_kinds(self) -> None:
        self.assertIsInstance(errors.DaemonUnavailable("x", "/s"), ConnectionError)
        self.assertEqual(str(errors.DaemonUnavailable("gone", "/s")), "gone")
        self.assertIsInstance(errors.ResponseTimeout("slow"), TimeoutError)
        self.assertEqual(str(errors.ResponseTimeout("slow")), "slow")


class RunResultTest(unittest.TestCase):
    def result(self, **fields):
        base = {"status": "ok", "value": None, "stdout": "", "stderr": "", "truncated": False, "exit_code": None,
                "error": None, "worker": 0, "duration_ms": 0.5}
        base.update(fields)
        return RunResult.from_wire(base)

    def test_raise_for_status_passes_success_and_raises_the_right_class_otherwise(self) -> None:
        ok = self.result(value=42)
        self.assertIs(ok.raise_for_status(), ok)
        self.assertEqual(self.result(status="exit", exit_code=0).raise_for_status().status, "exit")
        tb = "Traceback (most recent call last):\n  ...\nZeroDivisionError: division by zero\n"
        error = {"type": "ZeroDivisionError", "message": "division by zero", "traceback": tb}
        cases = [
            (self.result(status="error", error=error), errors.ScriptError),
            (self.result(status="exit", exit_code=3), errors.ScriptExit),
            (self.result(status="timeout", error={"type": "interpd.TaskTimeout", "message": "past 1 s",
                                                  "traceback": ""}), errors.ScriptTimeout),
            (self.result(status="cancelled"), errors.ScriptCancelled),
        ]
        for result, cls in cases:
            with self.subTest(status=result.status):
                with self.assertRaises(errors.ScriptError) as cm:
                    result.raise_for_status()
                self.assertIs(type(cm.exception), cls)
                self.assertIs(cm.exception.result, result)
        with self.assertRaises(errors.ScriptError) as cm:
            cases[0][0].raise_for_status()
        self.assertEqual((cm.exception.type, cm.exception.message, cm.exception.traceback),
                         ("ZeroDivisionError", "division by zero", tb))
        with self.assertRaises(errors.ScriptExit) as cm2:
            cases[1][0].raise_for_status()
        self.assertEqual(cm2.exception.exit_code, 3)

    def test_streamed_output_is_kept_in_the_result(self) -> None:
        r = RunResult.from_wire({"status": "ok", "stdout": "", "stderr": ""}, "a\nb\n", "e\n")
        self.assertEqual((r.stdout, r.stderr), ("a\nb\n", "e\n"))
        self.assertEqual(r.error, None)
        self.assertIsInstance(PythonError("T", "m", ""), PythonError)

    def test_a_result_that_breaks_the_protocol_is_a_protocol_error(self) -> None:
        for obj in ([], {"status": "paused"}, {"status": "error"}, {"status": "exit", "exit_code": None},
                    {"status": "error", "error": {"message": "no type"}}):
            with self.subTest(obj=obj):
                with self.assertRaises(errors.ProtocolError):
                    RunResult.from_wire(obj)


class CompatibilityTest(unittest.TestCase):
    def test_the_package_is_python_3_9_syntax(self) -> None:
        # The tests run on 3.11 and 3.13; this catches syntax newer than 3.9
        # (match, except*, parenthesized context managers, ...).
        package = pathlib.Path(daemon_helper.CLIENT_SOURCE)
        files = sorted(package.glob("interpd_client/*.py")) + [package / "_build" / "interpd_build.py"]
        self.assertGreater(len(files), 5)
        for path in files:
            with self.subTest(file=path.name):
                ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 9))

    def test_the_package_is_typed(self) -> None:
        self.assertTrue((pathlib.Path(daemon_helper.CLIENT_SOURCE) / "interpd_client" / "py.typed").exists())


if __name__ == "__main__":
    unittest.main()
