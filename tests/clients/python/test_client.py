"""The threaded Client against the real daemon."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import unittest

import daemon_helper
from daemon_helper import COUNTER
from interpd_client import (ActorError, Client, DaemonUnavailable, InvalidParams, MethodNotFound, NotFound,
                            NotRepresentable, RemoteTimeout, ResponseTimeout, ScriptError, ScriptExit, ScriptTimeout)

WAIT_FOREVER = "import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(0.01)\n"


def start_run_that_waits(test: unittest.TestCase, client: Client) -> tuple[threading.Thread, list]:
    """Starts a run that never ends on another thread; returns once it
    printed, with the thread and the list its DaemonUnavailable lands in."""
    failures: list = []
    started = threading.Event()

    def work() -> None:
        try:
            client.run(WAIT_FOREVER, on_output=lambda s, d: started.set())
        except DaemonUnavailable as e:
            failures.append(e)

    th = threading.Thread(target=work)
    th.start()
    test.assertTrue(started.wait(30))
    return th, failures


class ClientTest(daemon_helper.DaemonTestCase):
    def setUp(self) -> None:
        self.client = Client(self.daemon.socket_path, timeout=60)
        self.addCleanup(self.client.close)

    def total(self, key: str) -> int:
        return self.client.stats()["totals"][key]

    def wait_for_total(self, key: str, expected: int) -> None:
        """Cancellation is counted when the worker is back, a moment after
        the client is told; wait for the count instead of sleeping."""
        for _ in range(500):
            if self.total(key) >= expected:
                break
            time.sleep(0.01)
        self.assertEqual(self.total(key), expected)

    def test_a_run_returns_its_value_and_output(self) -> None:
        r = self.client.run("import sys\nprint('out')\nprint('err', file=sys.stderr)\n{'n': 6 * 7, 'f': [1.5, None]}")
        self.assertEqual(r.status, "ok")
        self.assertTrue(r.ok)
        self.assertEqual(r.value, {"n": 42, "f": [1.5, None]})
        self.assertEqual((r.stdout, r.stderr), ("out\n", "err\n"))
        self.assertIsNone(r.error)
        self.assertIn(r.worker, (0, 1))
        self.assertGreater(r.duration_ms, 0)

    def test_args_stdin_and_name_reach_the_script(self) -> None:
        r = self.client.run("import sys\nsys.argv, sys.stdin.read(), 1 / 0", args=["-x", "\u00e9"], stdin="in\n",
                            name="job.py")
        self.assertEqual(r.status, "error")
        self.assertIn('File "job.py", line 2', r.error.traceback)
        r = self.client.run("import sys\nsys.argv, sys.stdin.read()", args=["-x", "\u00e9"], stdin="in\n")
        self.assertEqual(r.value, [["<script>", "-x", "\u00e9"], "in\n"])

    def test_a_script_file_is_read_by_the_daemon(self) -> None:
        path = os.path.join(self.daemon.dir, "by_path.py")
        with open(path, "w") as f:
            f.write("import os\nos.path.basename(__file__)\n")
        self.assertEqual(self.client.run(path=path).value, "by_path.py")
        with self.assertRaises(NotFound):
            self.client.run(path=os.path.join(self.daemon.dir, "missing.py"))
        with self.assertRaises(ValueError):
            self.client.run("1", path=path)

    def test_an_exception_in_the_script_is_a_result_until_raise_for_status(self) -> None:
        r = self.client.run("print('before')\nraise KeyError('k')")
        self.assertEqual((r.status, r.stdout), ("error", "before\n"))
        with self.assertRaises(ScriptError) as cm:
            r.raise_for_status()
        self.assertEqual((cm.exception.type, cm.exception.message), ("KeyError", "'k'"))
        self.assertTrue(cm.exception.traceback.startswith("Traceback (most recent call last):"))
        self.assertTrue(cm.exception.traceback.endswith("KeyError: 'k'\n"))

    def test_exit_and_timeout_have_their_own_exceptions(self) -> None:
        r = self.client.run("import sys; sys.exit(3)")
        self.assertEqual((r.status, r.exit_code), ("exit", 3))
        with self.assertRaises(ScriptExit) as cm:
            r.raise_for_status()
        self.assertEqual(cm.exception.exit_code, 3)
        self.assertTrue(self.client.run("raise SystemExit(0)").ok)
        t = self.client.run("import time\nwhile True:\n    time.sleep(0.01)\n", timeout=0.2)
        self.assertEqual(t.status, "timeout")
        with self.assertRaises(ScriptTimeout):
            t.raise_for_status()

    def test_output_is_streamed_in_the_order_written_and_also_kept_in_the_result(self) -> None:
        chunks = []
        r = self.client.run(
            "import sys\nfor i in range(50):\n    print('o', i)\n    print('e', i, file=sys.stderr)\n",
            on_output=lambda stream, data: chunks.append((stream, data)))
        expected = []
        for i in range(50):
            expected += [("stdout", f"o {i}\n"), ("stderr", f"e {i}\n")]
        self.assertEqual(chunks, expected)
        self.assertEqual(r.stdout, "".join(d for s, d in expected if s == "stdout"))
        self.assertEqual(r.stderr, "".join(d for s, d in expected if s == "stderr"))

    def test_output_reaches_the_callback_while_the_script_runs(self) -> None:
        flag = os.path.join(self.daemon.dir, "go-on")
        seen = threading.Event()

        def on_output(stream: str, data: str) -> None:
            if data == "first\n":
                seen.set()
                # The script waits for this file, so it is still running.
                open(flag, "w").close()

        r = self.client.run(
            f"import os, time\nprint('first', flush=True)\nwhile not os.path.exists({flag!r}):\n    time.sleep(0.01)\n"
            "print('second')\n", on_output=on_output, timeout=30)
        self.assertTrue(seen.is_set())
        self.assertEqual(r.stdout, "first\nsecond\n")

    def test_an_exception_in_on_output_is_raised_by_run(self) -> None:
        def on_output(stream: str, data: str) -> None:
            raise LookupError("callback failed")

        with self.assertRaisesRegex(LookupError, "callback failed"):
            self.client.run("print(1)", on_output=on_output)
        self.assertEqual(self.client.ping(), "pong")  # the connection is still fine

    def test_the_client_cannot_be_used_from_its_own_callback(self) -> None:
        errors = []

        def on_output(stream: str, data: str) -> None:
            try:
                self.client.ping()
            except RuntimeError as e:
                errors.append(e)

        self.client.run("print(1)", on_output=on_output)
        self.assertEqual(len(errors), 1)
        self.assertIn("on_output", str(errors[0]))

    def test_big_integers_and_floats_map_as_the_protocol_says(self) -> None:
        # Up to 4300 digits (Python's default int/str conversion limit, sign
        # not counted), in both directions.
        self.assertEqual(self.client.run("10**4300 - 1").value, 10**4300 - 1)
        self.assertEqual(self.client.run("-(10**4300 - 1)").value, -(10**4300 - 1))
        self.assertEqual(self.client.run("-(2**200)").value, -(2**200))
        v = self.client.run("[0.1, 1e16, -0.0, 1.0, 2**63]").value
        self.assertEqual(v, [0.1, 1e16, -0.0, 1.0, 2**63])
        self.assertIsInstance(v[3], float)
        self.assertIsInstance(v[4], int)
        self.assertEqual(self.client.run("'\\ud800'").value, "\ud800")

    def test_an_integer_longer_than_4300_digits_is_a_not_representable_error(self) -> None:
        for code in ("10**4300", "10**5000 + 1", "[1, {'k': -(10**5000)}]"):
            with self.subTest(code=code):
                r = self.client.run(f"print('before')\n{code}")
                self.assertEqual(r.status, "error")
                self.assertIsNone(r.value)
                self.assertEqual(r.stdout, "before\n")  # the output is kept
                self.assertEqual(r.error.type, "interpd.NotRepresentable")
                self.assertIn("4300 digits", r.error.message)
                with self.assertRaises(ScriptError) as cm:
                    r.raise_for_status()
                self.assertEqual(cm.exception.type, "interpd.NotRepresentable")
                self.assertIs(cm.exception.result, r)

    def test_ping_version_stats_and_the_generic_request(self) -> None:
        self.assertEqual(self.client.ping(), "pong")
        version = self.client.version()
        self.assertEqual(version["protocol"], 1)
        # The CPython the daemon embeds (CTest passes the version the build found).
        embedded = os.environ.get("INTERPD_EMBEDDED_PYTHON", "3.13")
        self.assertTrue(version["python"].startswith(embedded + "."), version["python"])
        stats = self.client.stats()
        self.assertEqual(len(stats["workers"]), 2)
        self.assertEqual(self.client.request("ping"), "pong")

    def test_rpc_errors_raise_with_their_code(self) -> None:
        with self.assertRaises(InvalidParams) as cm:
            self.client.run("1", worker=9)
        self.assertEqual(cm.exception.code, -32602)
        self.assertIn("no worker 9", cm.exception.message)
        with self.assertRaises(MethodNotFound):
            self.client.request("no.such.method")

    # ---- actors ----

    def test_an_actor_is_spawned_called_sent_to_listed_and_stopped(self) -> None:
        spawned = self.client.spawn("life", COUNTER, "Counter", 10, step=2, worker=1)
        self.assertEqual(spawned, {"name": "life", "worker": 1})
        self.assertEqual(self.client.call("life", "add"), 12)
        self.assertEqual(self.client.call("life", "add", 5), 17)
        self.assertEqual(self.client.call("life", "add", by=-20), -3)
        self.assertEqual(self.client.call("life", "echo", "s", 2.5, [1, None], {"k": True}, kw={"x": [1]}),
                         [["s", 2.5, [1, None], {"k": True}], {"kw": {"x": [1]}}])
        # send: queued before it returns, handled before any later call.
        self.assertIsNone(self.client.send("life", "add", 100))
        self.assertIsNone(self.client.send("life", "add", by=1000))
        self.assertEqual(self.client.call("life", "get"), 1097)
        listed = [a for a in self.client.actors() if a["name"] == "life"]
        self.assertEqual(listed, [{"name": "life", "class": "Counter", "worker": 1, "state": "running",
                                   "messages": 7, "restarts": 0}])
        self.assertIsNone(self.client.stop("life"))
        self.assertNotIn("life", [a["name"] for a in self.client.actors()])
        with self.assertRaises(NotFound):
            self.client.call("life", "get")

    def test_keyword_arguments_may_share_a_name_with_the_clients_own_parameters(self) -> None:
        # name/code/cls/actor/method are positional-only, so they reach the
        # actor; timeout/worker/restart/max_restarts are the client's.
        self.client.spawn("kw", COUNTER, "Counter", name="named", step=3)
        self.addCleanup(self.client.stop, "kw")
        self.assertEqual(self.client.call("kw", "echo", actor=1, method=2, name=3, code=4, cls=5),
                         [[], {"actor": 1, "method": 2, "name": 3, "code": 4, "cls": 5}])
        self.assertEqual(self.client.call("kw", "add"), 3)

    def test_an_actor_method_that_raises_is_an_actor_error_with_its_traceback(self) -> None:
        self.client.spawn("raiser", COUNTER, "Counter")
        self.addCleanup(self.client.stop, "raiser")
        with self.assertRaises(ActorError) as cm:
            self.client.call("raiser", "fail", "no such key")
        e = cm.exception
        self.assertEqual((e.code, e.method), (-32010, "actor.call"))
        self.assertEqual((e.type, e.exc_message), ("KeyError", "'no such key'"))
        self.assertTrue(e.traceback.startswith("Traceback (most recent call last):\n"))
        self.assertIn("raise KeyError(why)", e.traceback)
        self.assertTrue(e.traceback.endswith("KeyError: 'no such key'\n"))
        with self.assertRaises(ActorError) as cm:
            self.client.call("raiser", "no_such_method")
        self.assertEqual(cm.exception.type, "AttributeError")
        # The actor lives on; a send that raises is reported to nobody.
        self.assertEqual(self.client.call("raiser", "add"), 1)
        self.client.send("raiser", "fail", "x")
        self.assertEqual(self.client.call("raiser", "get"), 1)

    def test_an_actor_with_a_memory_limit_gets_memory_error_and_lives_on(self) -> None:
        code = (
            "class Hog:\n"
            "    def __init__(self):\n"
            "        self.kept = []\n"
            "    def grow(self, mib):\n"
            "        self.kept.append(bytearray(mib * 1024 * 1024))\n"
            "        return len(self.kept)\n"
        )
        self.client.spawn("hog", code, "Hog", memory_limit=32 * 1024 * 1024)
        self.addCleanup(self.client.stop, "hog")
        self.assertEqual(self.client.call("hog", "grow", 1), 1)
        with self.assertRaises(ActorError) as cm:
            self.client.call("hog", "grow", 64)
        self.assertEqual(cm.exception.type, "MemoryError")
        self.assertEqual(self.client.call("hog", "grow", 1), 2)

    def test_a_call_past_its_timeout_raises_remote_timeout(self) -> None:
        self.client.spawn("sleepy", COUNTER, "Counter")
        self.addCleanup(self.client.stop, "sleepy")
        start = time.monotonic()
        with self.assertRaises(RemoteTimeout) as cm:
            self.client.call("sleepy", "nap", 1, timeout=0.2)
        self.assertLess(time.monotonic() - start, 0.9)
        self.assertEqual(cm.exception.code, -32011)
        self.assertIn('actor "sleepy" did not answer within 0.2 s', cm.exception.message)
        # Not interrupted: the next call is answered once the nap is over.
        self.assertEqual(self.client.call("sleepy", "nap", 0, timeout=30), 0)

    def test_an_actor_that_does_not_exist_raises_not_found(self) -> None:
        for method, call in (("actor.call", lambda: self.client.call("ghost", "add")),
                             ("actor.send", lambda: self.client.send("ghost", "add")),
                             ("actor.stop", lambda: self.client.stop("ghost"))):
            with self.subTest(method=method):
                with self.assertRaises(NotFound) as cm:
                    call()
                self.assertEqual((cm.exception.code, cm.exception.method), (-32002, method))
                self.assertEqual(cm.exception.message, 'no actor named "ghost"')

    def test_what_the_daemon_refuses_raises_invalid_params(self) -> None:
        self.client.spawn("taken", COUNTER, "Counter", 5)
        self.addCleanup(self.client.stop, "taken")
        with self.assertRaises(InvalidParams) as cm:
            self.client.spawn("taken", COUNTER, "Counter")
        self.assertIn('an actor named "taken" already exists', cm.exception.message)
        self.assertEqual(self.client.call("taken", "get"), 5)  # the first one is untouched
        with self.assertRaises(InvalidParams) as cm:
            self.client.call("taken", "__init__")
        self.assertIn("names starting with '_' are private", cm.exception.message)
        with self.assertRaises(InvalidParams) as cm:
            self.client.spawn("far", COUNTER, "Counter", worker=9)
        self.assertIn("no worker 9", cm.exception.message)
        with self.assertRaises(InvalidParams):
            self.client.spawn("odd", COUNTER, "Counter", restart="sometimes")
        with self.assertRaises(InvalidParams):
            self.client.call("taken", "get", timeout=0)

    def test_a_constructor_that_raises_fails_the_spawn_and_the_actor_until_stopped(self) -> None:
        bad = "class Bad:\n    def __init__(self, path):\n        open(path)\n"
        with self.assertRaises(ActorError) as cm:
            self.client.spawn("bad", bad, "Bad", "/nonexistent/config.toml")
        self.assertEqual(cm.exception.type, "FileNotFoundError")
        self.assertIn("open(path)", cm.exception.traceback)
        self.assertEqual([a["state"] for a in self.client.actors() if a["name"] == "bad"], ["failed"])
        with self.assertRaises(NotFound) as cm2:
            self.client.call("bad", "anything")
        self.assertIn('actor "bad" is failed: FileNotFoundError', cm2.exception.message)
        with self.assertRaises(InvalidParams):  # the name stays taken
            self.client.spawn("bad", bad, "Bad", "/")
        self.client.stop("bad")
        self.assertNotIn("bad", [a["name"] for a in self.client.actors()])
        with self.assertRaises(ActorError) as cm:
            self.client.spawn("noclass", "class C: pass", "D")
        self.assertEqual(cm.exception.type, "NameError")
        self.client.stop("noclass")

    def test_restart_on_failure_rebuilds_an_actor_whose_constructor_failed(self) -> None:
        flag = os.path.join(self.daemon.dir, f"tried-{time.monotonic_ns()}")
        flaky = ("import os\nclass Flaky:\n    def __init__(self, flag):\n        if not os.path.exists(flag):\n"
                 "            open(flag, 'w').close()\n            raise RuntimeError('first start fails')\n"
                 "    def ping(self):\n        return 'pong'\n")
        # The spawn is answered with the first failure; the restart follows.
        with self.assertRaises(ActorError) as cm:
            self.client.spawn("flaky", flaky, "Flaky", flag, restart="on-failure", max_restarts=2)
        self.addCleanup(self.client.stop, "flaky")
        self.assertEqual(cm.exception.exc_message, "first start fails")
        for _ in range(200):
            (entry,) = [a for a in self.client.actors() if a["name"] == "flaky"]
            if entry["state"] == "running":
                break
            time.sleep(0.05)
        self.assertEqual((entry["state"], entry["restarts"]), ("running", 1))
        self.assertEqual(self.client.call("flaky", "ping"), "pong")

    def test_a_return_value_json_cannot_carry_raises_not_representable(self) -> None:
        self.client.spawn("values", COUNTER, "Counter")
        self.addCleanup(self.client.stop, "values")
        with self.assertRaises(NotRepresentable) as cm:
            self.client.call("values", "raw")
        self.assertEqual(cm.exception.code, -32012)
        # Integers of up to 4300 digits go both ways, longer ones do not.
        self.assertEqual(self.client.call("values", "power", 4299), 10**4299)
        self.assertEqual(self.client.call("values", "echo", -(10**4300 - 1)), [[-(10**4300 - 1)], {}])
        with self.assertRaises(NotRepresentable) as cm:
            self.client.call("values", "power", 5000)
        self.assertIn("4300", cm.exception.message)
        with self.assertRaises(ValueError):  # refused before sending
            self.client.call("values", "echo", 10**5000)
        self.assertEqual(self.client.call("values", "add"), 1)

    def test_sixteen_threads_calling_one_actor_see_every_increment_once(self) -> None:
        self.client.spawn("shared", COUNTER, "Counter")
        self.addCleanup(self.client.stop, "shared")
        answers: list = [[] for _ in range(16)]
        failures = []

        def work(t: int) -> None:
            try:
                for i in range(25):
                    answers[t].append(self.client.call("shared", "add"))
                    if i % 5 == 0:
                        self.client.send("shared", "add", 0)
            except BaseException as e:  # noqa: BLE001 - checked after join
                failures.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(failures, [])
        # Each call saw a distinct count, each thread's rising, and none lost.
        self.assertEqual(sorted(n for a in answers for n in a), list(range(1, 401)))
        for a in answers:
            self.assertEqual(a, sorted(a))
        self.assertEqual(self.client.call("shared", "get"), 400)

    def test_sixteen_threads_share_one_client(self) -> None:
        rng = random.Random(1234)
        plans = [[rng.randrange(1000) for _ in range(40)] for _ in range(16)]
        results = [[] for _ in range(16)]
        failures = []

        def work(t: int) -> None:
            try:
                for n in plans[t]:
                    if n % 5 == 0:
                        seen = []
                        r = self.client.run(f"print({n})\n{n} * 3", on_output=lambda s, d: seen.append(d))
                        results[t].append((r.value, r.stdout, "".join(seen)))
                    else:
                        r = self.client.run(f"print({n})\n{n} * 3")
                        results[t].append((r.value, r.stdout, f"{n}\n"))
            except BaseException as e:  # noqa: BLE001 - checked after join
                failures.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(failures, [])
        for t in range(16):
            self.assertEqual(results[t], [(n * 3, f"{n}\n", f"{n}\n") for n in plans[t]])

    def test_a_client_side_timeout_raises_and_cancels_the_run(self) -> None:
        before = self.total("cancelled")
        client = Client(self.daemon.socket_path, timeout=0.3)
        self.addCleanup(client.close)
        start = time.monotonic()
        with self.assertRaises(ResponseTimeout):
            client.run(WAIT_FOREVER)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(client.ping(), "pong")
        self.wait_for_total("cancelled", before + 1)

    def test_ctrl_c_while_waiting_cancels_the_run(self) -> None:
        before = self.total("cancelled")
        main = threading.main_thread().ident

        def on_output(stream: str, data: str) -> None:
            # A real SIGINT, aimed at the thread blocked in run().
            signal.pthread_kill(main, signal.SIGINT)

        with self.assertRaises(KeyboardInterrupt):
            self.client.run(WAIT_FOREVER, on_output=on_output)
        self.wait_for_total("cancelled", before + 1)

    def test_close_fails_the_requests_in_flight_and_the_daemon_cancels_them(self) -> None:
        before = self.total("cancelled")
        client = Client(self.daemon.socket_path)
        th, failures = start_run_that_waits(self, client)
        client.close()
        th.join(30)
        self.assertEqual(len(failures), 1)
        self.wait_for_total("cancelled", before + 1)


class ConnectionTest(unittest.TestCase):
    def test_an_unreachable_daemon_raises_daemon_unavailable_with_a_hint(self) -> None:
        with self.assertRaises(DaemonUnavailable) as cm:
            Client("/tmp/interpd-no-such-dir/d.sock")
        self.assertIn("no socket at /tmp/interpd-no-such-dir/d.sock", str(cm.exception))
        self.assertIn("systemctl status interpd", str(cm.exception))
        self.assertIsInstance(cm.exception, ConnectionError)

    def test_INTERPD_SOCKET_is_used_when_no_path_is_given(self) -> None:
        daemon = daemon_helper.Daemon()
        self.addCleanup(daemon.stop)
        saved = os.environ.get("INTERPD_SOCKET")
        os.environ["INTERPD_SOCKET"] = daemon.socket_path
        try:
            with Client() as client:
                self.assertEqual(client.socket_path, daemon.socket_path)
                self.assertEqual(client.ping(), "pong")
        finally:
            if saved is None:
                del os.environ["INTERPD_SOCKET"]
            else:
                os.environ["INTERPD_SOCKET"] = saved

    def test_a_daemon_without_actors_is_reported_as_such(self) -> None:
        fake = daemon_helper.FakeDaemon()
        self.addCleanup(fake.stop)
        client = Client(fake.socket_path)
        self.addCleanup(client.close)
        calls = [("actor.list", lambda: client.actors()), ("actor.call", lambda: client.call("counter", "add", 1)),
                 ("actor.send", lambda: client.send("counter", "add", 1)),
                 ("actor.spawn", lambda: client.spawn("c", "class C: pass", "C")),
                 ("actor.stop", lambda: client.stop("c"))]
        for method, call in calls:
            with self.subTest(method=method):
                with self.assertRaises(MethodNotFound) as cm:
                    call()
                self.assertEqual(str(cm.exception),
                                 f"this daemon does not support actors yet ({method}: method not found)")
        self.assertEqual(fake.methods, [m for m, _ in calls])

    def test_a_daemon_restart_fails_the_runs_in_flight_and_the_next_request_reconnects(self) -> None:
        first = daemon_helper.Daemon()
        path = first.socket_path
        client = Client(path)
        self.addCleanup(client.close)
        th, failures = start_run_that_waits(self, client)
        first.kill()
        th.join(30)
        self.assertEqual(len(failures), 1)
        self.assertIn("lost the connection", str(failures[0]))
        os.unlink(path)
        second = daemon_helper.Daemon(socket_path=path)
        self.addCleanup(second.stop)
        self.addCleanup(first.stop)
        self.assertEqual(client.run("'again'").value, "again")


if __name__ == "__main__":
    unittest.main()
