"""The asyncio AsyncClient against the real daemon."""

from __future__ import annotations

import asyncio
import os
import time
import unittest

import daemon_helper
from daemon_helper import COUNTER
from interpd_client import (ActorError, AsyncClient, DaemonUnavailable, InvalidParams, MethodNotFound, NotFound,
                            NotRepresentable, Overloaded, RemoteTimeout, ResponseTimeout, ScriptError)

WAIT_FOREVER = "import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(0.01)\n"


class AsyncClientTest(daemon_helper.DaemonTestCase):
    def run_async(self, coroutine_function) -> None:
        async def main() -> None:
            async with AsyncClient(self.daemon.socket_path, timeout=60) as client:
                await coroutine_function(client)

        asyncio.run(main())

    async def wait_for_cancelled(self, client: AsyncClient, expected: int) -> None:
        for _ in range(500):
            if (await client.stats())["totals"]["cancelled"] >= expected:
                break
            await asyncio.sleep(0.01)
        self.assertEqual((await client.stats())["totals"]["cancelled"], expected)

    def test_a_thousand_concurrent_runs_on_one_connection_all_succeed(self) -> None:
        async def body(client: AsyncClient) -> None:
            start = time.monotonic()
            results = await asyncio.gather(*(client.run(f"print({i})\n{i} * 2") for i in range(1000)))
            self.assertEqual([r.value for r in results], [i * 2 for i in range(1000)])
            self.assertEqual([r.stdout for r in results], [f"{i}\n" for i in range(1000)])
            self.assertLess(time.monotonic() - start, 30)

        self.run_async(body)

    def test_the_clients_run_limit_queues_runs_the_daemon_would_refuse_as_overloaded(self) -> None:
        # 100 runs that cannot finish until a flag file exists. The daemon
        # takes 64 per connection (server.max_in_flight_per_connection):
        # with the default max_in_flight the client holds the other 36 back;
        # with a higher limit the daemon refuses exactly those 36.
        flag = os.path.join(self.daemon.dir, "flag-" + str(time.monotonic_ns()))
        blocked = f"import os, time\nwhile not os.path.exists({flag!r}):\n    time.sleep(0.005)\n"

        async def main(max_in_flight: int) -> list:
            async with AsyncClient(self.daemon.socket_path, max_in_flight=max_in_flight) as client:
                submitted = (await client.stats())["totals"]["submitted"]
                tasks = [asyncio.ensure_future(client.run(blocked)) for _ in range(100)]
                for _ in range(3000):
                    stats = await client.stats()
                    if stats["totals"]["submitted"] - submitted >= 64 and sum(t.done() for t in tasks) >= (
                            36 if max_in_flight > 64 else 0):
                        break
                    await asyncio.sleep(0.01)
                done_before_release = sum(t.done() for t in tasks)
                open(flag, "w").close()
                outcomes = await asyncio.gather(*tasks, return_exceptions=True)
                os.unlink(flag)
                return [done_before_release, outcomes]

        done, outcomes = asyncio.run(main(64))
        self.assertEqual(done, 0)
        self.assertEqual([getattr(o, "status", o) for o in outcomes], ["ok"] * 100)

        done, outcomes = asyncio.run(main(1000))
        self.assertEqual(done, 36)
        self.assertEqual(sum(isinstance(o, Overloaded) for o in outcomes), 36)
        self.assertEqual(sum(getattr(o, "status", None) == "ok" for o in outcomes), 64)

    def test_output_is_streamed_in_order_and_kept_in_the_result(self) -> None:
        async def body(client: AsyncClient) -> None:
            chunks = []
            r = await client.run("import sys\nfor i in range(20):\n    print(i)\n    print(-i, file=sys.stderr)\n",
                                 on_output=lambda s, d: chunks.append((s, d)))
            expected = []
            for i in range(20):
                expected += [("stdout", f"{i}\n"), ("stderr", f"{-i}\n")]
            self.assertEqual(chunks, expected)
            self.assertEqual(r.stdout, "".join(f"{i}\n" for i in range(20)))

        self.run_async(body)

    def test_a_script_error_and_the_rpc_errors_behave_as_in_the_threaded_client(self) -> None:
        async def body(client: AsyncClient) -> None:
            r = await client.run("raise ValueError('no')")
            with self.assertRaises(ScriptError) as cm:
                r.raise_for_status()
            self.assertEqual(cm.exception.type, "ValueError")
            with self.assertRaises(InvalidParams):
                await client.run("1", worker=9)
            self.assertEqual(await client.ping(), "pong")
            self.assertEqual((await client.version())["protocol"], 1)
            self.assertEqual((await client.run("10**4300 - 1")).value, 10**4300 - 1)
            huge = await client.run("10**5000")
            self.assertEqual((huge.status, huge.error.type), ("error", "interpd.NotRepresentable"))
            self.assertIn("4300 digits", huge.error.message)
            with self.assertRaises(ScriptError) as cm3:
                huge.raise_for_status()
            self.assertEqual(cm3.exception.type, "interpd.NotRepresentable")

        self.run_async(body)

    def test_an_actor_is_spawned_called_sent_to_listed_and_stopped(self) -> None:
        async def body(client: AsyncClient) -> None:
            self.assertEqual(await client.spawn("alife", COUNTER, "Counter", 10, step=2, worker=0),
                             {"name": "alife", "worker": 0})
            self.assertEqual(await client.call("alife", "add"), 12)
            self.assertEqual(await client.call("alife", "add", by=-2), 10)
            self.assertEqual(await client.call("alife", "echo", "x", k=[None]), [["x"], {"k": [None]}])
            self.assertIsNone(await client.send("alife", "add", 5))
            self.assertEqual(await client.call("alife", "get"), 15)
            (entry,) = [a for a in await client.actors() if a["name"] == "alife"]
            self.assertEqual(entry, {"name": "alife", "class": "Counter", "worker": 0, "state": "running",
                                     "messages": 5, "restarts": 0})
            self.assertIsNone(await client.stop("alife"))
            self.assertNotIn("alife", [a["name"] for a in await client.actors()])
            with self.assertRaises(NotFound):
                await client.call("alife", "get")

        self.run_async(body)

    def test_actor_errors_timeouts_and_missing_actors_raise_as_in_the_threaded_client(self) -> None:
        async def body(client: AsyncClient) -> None:
            await client.spawn("aerr", COUNTER, "Counter")
            try:
                with self.assertRaises(ActorError) as cm:
                    await client.call("aerr", "fail", "k")
                self.assertEqual((cm.exception.type, cm.exception.exc_message), ("KeyError", "'k'"))
                self.assertIn("raise KeyError(why)", cm.exception.traceback)
                self.assertTrue(cm.exception.traceback.endswith("KeyError: 'k'\n"))
                with self.assertRaises(RemoteTimeout):
                    await client.call("aerr", "nap", 1, timeout=0.2)
                with self.assertRaises(NotRepresentable):
                    await client.call("aerr", "power", 5000)
                with self.assertRaises(InvalidParams):
                    await client.spawn("aerr", COUNTER, "Counter")
                self.assertEqual(await client.call("aerr", "add", timeout=30), 1)
            finally:
                await client.stop("aerr")
            for call in (client.call("aerr", "add"), client.send("aerr", "add"), client.stop("aerr")):
                with self.assertRaises(NotFound):
                    await call

        self.run_async(body)

    def test_concurrent_calls_to_one_actor_see_every_increment_once(self) -> None:
        async def body(client: AsyncClient) -> None:
            await client.spawn("agather", COUNTER, "Counter")
            try:
                answers = await asyncio.gather(*(client.call("agather", "add") for _ in range(500)))
                self.assertEqual(sorted(answers), list(range(1, 501)))
                self.assertEqual(await client.call("agather", "get"), 500)
            finally:
                await client.stop("agather")

        self.run_async(body)

    def test_a_daemon_without_actors_is_reported_as_such(self) -> None:
        fake = daemon_helper.FakeDaemon()
        self.addCleanup(fake.stop)

        async def main() -> None:
            async with AsyncClient(fake.socket_path) as client:
                with self.assertRaises(MethodNotFound) as cm:
                    await client.call("counter", "add", 1)
                self.assertEqual(str(cm.exception),
                                 "this daemon does not support actors yet (actor.call: method not found)")
                with self.assertRaises(MethodNotFound):
                    await client.actors()

        asyncio.run(main())
        self.assertEqual(fake.methods, ["actor.call", "actor.list"])

    def test_cancelling_the_awaiting_task_cancels_the_run(self) -> None:
        async def body(client: AsyncClient) -> None:
            before = (await client.stats())["totals"]["cancelled"]
            started = asyncio.Event()
            task = asyncio.ensure_future(client.run(WAIT_FOREVER, on_output=lambda s, d: started.set()))
            await asyncio.wait_for(started.wait(), 30)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            await self.wait_for_cancelled(client, before + 1)
            self.assertEqual((await client.run("'still usable'")).value, "still usable")

        self.run_async(body)

    def test_a_client_side_timeout_raises_and_cancels_the_run(self) -> None:
        async def main() -> None:
            async with AsyncClient(self.daemon.socket_path, timeout=0.3) as client:
                before = (await client.stats())["totals"]["cancelled"]
                with self.assertRaises(ResponseTimeout):
                    await client.run(WAIT_FOREVER)
                await self.wait_for_cancelled(client, before + 1)

        asyncio.run(main())

    def test_an_unreachable_daemon_raises_daemon_unavailable(self) -> None:
        async def main() -> None:
            client = AsyncClient("/tmp/interpd-no-such-dir/d.sock")
            with self.assertRaises(DaemonUnavailable) as cm:
                await client.ping()
            self.assertIn("no socket at", str(cm.exception))

        asyncio.run(main())

    def test_a_dropped_connection_fails_the_runs_in_flight_and_the_next_request_reconnects(self) -> None:
        async def body(client: AsyncClient) -> None:
            started = asyncio.Event()
            task = asyncio.ensure_future(client.run(WAIT_FOREVER, on_output=lambda s, d: started.set()))
            await asyncio.wait_for(started.wait(), 30)
            # Cut the connection under the client, as a daemon restart would.
            client._conn.writer.transport.abort()  # type: ignore[union-attr]
            with self.assertRaises(DaemonUnavailable):
                await task
            self.assertEqual(await client.ping(), "pong")

        self.run_async(body)


if __name__ == "__main__":
    unittest.main()
