// Actors: spawn, call, send, ordering, errors, supervision, deadlock
// detection, stop, shutdown, and the scheduling policy.
#include <chrono>
#include <future>
#include <thread>

#include "test_support.h"

using namespace interpd;
using namespace std::chrono_literals;
using interpd::test::Describe;
using interpd::test::MakePool;
using interpd::test::Run;
using interpd::test::Script;

namespace {

const char* kCounter =
    "class Counter:\n"
    "    def __init__(self, start=0, *, step=1):\n"
    "        self.n = start\n"
    "        self.step = step\n"
    "        self.log = []\n"
    "    def incr(self, by=None):\n"
    "        self.n += self.step if by is None else by\n"
    "        return self.n\n"
    "    def append(self, x):\n"
    "        self.log.append(x)\n"
    "    def get_log(self):\n"
    "        return self.log\n"
    "    def fail(self):\n"
    "        raise KeyError('nope')\n"
    "    def slow(self, s):\n"
    "        import time\n"
    "        time.sleep(s)\n"
    "        return s\n";

std::string Spawn(const std::string& name, const std::string& extra = "") {
  return "import interpd\ninterpd.spawn('" + name + "', " + interpd::test::PyStr(kCounter) + ", 'Counter'" + extra +
         ")\n";
}

ActorReply Wait(std::function<void(std::function<void(ActorReply)>)> op) {
  std::promise<ActorReply> p;
  op([&p](ActorReply r) { p.set_value(std::move(r)); });
  auto f = p.get_future();
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  return f.get();
}

TaskResult Ok(WorkerPool& pool, const std::string& code, int worker = -1) {
  TaskResult r = Run(pool, code, worker);
  INFO(Describe(r));
  CHECK(r.status == TaskStatus::kOk);
  return r;
}

}  // namespace

TEST_CASE("a counter actor spawned by one script is called from another worker", "[actors]") {
  auto pool = MakePool(2);
  Ok(*pool, Spawn("counter", ", 10, step=5"), 0);
  TaskResult r = Ok(*pool, "import interpd\nc = interpd.actor('counter')\n[c.call('incr'), c.call('incr', by=2)]", 1);
  CHECK(r.value == Value::List({Value::Int(15), Value::Int(17)}));
  auto actors = pool->ListActors();
  REQUIRE(actors.size() == 1);
  CHECK(actors[0].name == "counter");
  CHECK(actors[0].class_name == "Counter");
  CHECK(actors[0].state == ActorState::kRunning);
  CHECK(actors[0].messages == 2);
}

TEST_CASE("the pool API spawns, calls, sends to and stops actors with callbacks", "[actors]") {
  auto pool = MakePool(2);
  ActorSpec spec;
  spec.name = "c";
  spec.code = kCounter;
  spec.class_name = "Counter";
  spec.args = Value::List({Value::Int(1)});
  ActorReply spawned = Wait([&](auto cb) { pool->SpawnActor(spec, cb); });
  REQUIRE(spawned.status.ok());
  CHECK(spawned.worker >= 0);
  ActorReply dup = Wait([&](auto cb) { pool->SpawnActor(spec, cb); });
  CHECK(dup.status.code() == Status::Code::kAlreadyExists);
  pool->CallActor("c", "incr", Value::List({}), Value(), nullptr);  // a send
  ActorReply r = Wait([&](auto cb) { pool->CallActor("c", "incr", Value::List({Value::Int(10)}), Value(), cb); });
  REQUIRE(r.status.ok());
  CHECK(r.value == Value::Int(12));
  ActorReply missing = Wait([&](auto cb) { pool->CallActor("nobody", "incr", Value::List({}), Value(), cb); });
  CHECK(missing.status.code() == Status::Code::kNotFound);
  ActorReply priv = Wait([&](auto cb) { pool->CallActor("c", "__init__", Value::List({}), Value(), cb); });
  CHECK(priv.status.code() == Status::Code::kInvalidArgument);
  ActorReply stopped = Wait([&](auto cb) { pool->StopActor("c", cb); });
  CHECK(stopped.status.ok());
  CHECK(pool->ListActors().empty());
  ActorReply after = Wait([&](auto cb) { pool->CallActor("c", "incr", Value::List({}), Value(), cb); });
  CHECK(after.status.code() == Status::Code::kNotFound);
}

TEST_CASE("an exception in a method goes to that caller and the actor keeps running", "[actors]") {
  auto pool = MakePool(2);
  Ok(*pool, Spawn("c"), 0);
  TaskResult r = Ok(*pool,
                    "import interpd\nc = interpd.actor('c')\n"
                    "try:\n    c.call('fail')\nexcept interpd.ActorError as e:\n"
                    "    err = (e.type, e.remote_message, 'raise KeyError' in e.remote_traceback)\n"
                    "(err, c.call('incr'))",
                    1);
  CHECK(r.value == Value::Tuple({Value::Tuple({Value::Str("KeyError"), Value::Str("'nope'"), Value::Bool(true)}),
                                 Value::Int(1)}));
}

TEST_CASE("messages from one sender are handled in order", "[actors]") {
  auto pool = MakePool(2);
  Ok(*pool, Spawn("log"), 0);
  TaskResult r = Ok(*pool,
                    "import interpd\nc = interpd.actor('log')\n"
                    "for i in range(2000):\n    c.send('append', i)\n"
                    "c.call('get_log') == list(range(2000))",
                    1);
  CHECK(r.value == Value::Bool(true));
}

TEST_CASE("actors pass a SharedBuffer to each other without a copy", "[actors][sharing]") {
  auto pool = MakePool(2);
  const char* code =
      "import interpd\n"
      "class Store:\n"
      "    def __init__(self):\n"
      "        self.data = interpd.SharedBuffer(b'q' * 1_000_000)\n"
      "    def give(self):\n"
      "        return (self.data, self.data.address)\n"
      "class Reader:\n"
      "    def read(self):\n"
      "        buf, addr = interpd.actor('store').call('give')\n"
      "        return (buf.address == addr, buf.zero_copy, len(buf), interpd.worker_id())\n";
  Ok(*pool, "import interpd\ninterpd.spawn('store', " + interpd::test::PyStr(code) + ", 'Store')", 0);
  Ok(*pool, "import interpd\ninterpd.spawn('reader', " + interpd::test::PyStr(code) + ", 'Reader')", 1);
  auto list = pool->ListActors();
  REQUIRE(list.size() == 2);
  CHECK(list[0].worker != list[1].worker);  // least loaded: one per worker
  TaskResult r = Ok(*pool, "import interpd\ninterpd.actor('reader').call('read')");
  REQUIRE(r.value.kind() == ValueKind::kTuple);
  CHECK(r.value.items()[0] == Value::Bool(true));
  CHECK(r.value.items()[1] == Value::Bool(true));
  CHECK(r.value.items()[2] == Value::Int(1000000));
}

TEST_CASE("a script calling an actor that lives on its own worker is answered, not deadlocked", "[actors]") {
  auto pool = MakePool(1);
  Ok(*pool, Spawn("local"), 0);
  TaskResult r = Ok(*pool, "import interpd\nc = interpd.actor('local')\n[c.call('incr') for _ in range(3)]", 0);
  CHECK(r.value == Value::List({Value::Int(1), Value::Int(2), Value::Int(3)}));
}

TEST_CASE("an actor calling itself, or a cycle of synchronous calls, fails with DeadlockError", "[actors]") {
  auto pool = MakePool(2);
  const char* code =
      "import interpd\n"
      "class Node:\n"
      "    def __init__(self, me, other):\n"
      "        self.me, self.other = me, other\n"
      "    def self_call(self):\n"
      "        return interpd.actor(self.me).call('ping')\n"
      "    def ping(self):\n"
      "        return 'pong'\n"
      "    def relay(self, hops):\n"
      "        if hops == 0:\n"
      "            return interpd.actor(self.other).call('ping')\n"
      "        return interpd.actor(self.other).call('relay', hops - 1)\n";
  Ok(*pool, "import interpd\ninterpd.spawn('a', " + interpd::test::PyStr(code) + ", 'Node', 'a', 'b')");
  Ok(*pool, "import interpd\ninterpd.spawn('b', " + interpd::test::PyStr(code) + ", 'Node', 'b', 'a')");
  TaskResult r = Ok(*pool,
                    "import interpd\nout = []\n"
                    "for method, arg in (('self_call', None), ('relay', 1), ('relay', 0)):\n"
                    "    try:\n"
                    "        args = () if arg is None else (arg,)\n"
                    "        out.append(interpd.actor('a').call(method, *args, timeout=10))\n"
                    "    except interpd.DeadlockError as e:\n"
                    "        out.append('deadlock here')\n"
                    "    except interpd.ActorError as e:\n"
                    "        out.append('deadlock inside' if 'DeadlockError' in str(e) else e.type)\n"
                    "out");
  INFO(r.value.Repr());
  // a -> a fails in a's method; a -> b -> a fails in b's method (and reaches
  // the script inside a's ActorError); a -> b -> (b pings back nobody) is fine.
  CHECK(r.value == Value::List({Value::Str("deadlock inside"), Value::Str("deadlock inside"), Value::Str("pong")}));
  // Called directly by a script, an actor calling itself raises DeadlockError
  // in its own method.
  TaskResult direct = Ok(*pool,
                         "import interpd\ntry:\n    interpd.actor('a').call('self_call')\nexcept interpd.ActorError as e:\n"
                         "    t = e.type\nt");
  CHECK(direct.value == Value::Str("interpd.DeadlockError"));
  // The actors are fine afterwards.
  CHECK(Ok(*pool, "import interpd\ninterpd.actor('b').call('ping')").value == Value::Str("pong"));
}

TEST_CASE("a failing __init__ is restarted with backoff under on-failure, and fails under never",
          "[actors][supervision]") {
  auto pool = MakePool(2);
  // Fails the first two constructions (counted in a named channel).
  const char* flaky =
      "import interpd\n"
      "class Flaky:\n"
      "    def __init__(self):\n"
      "        c = interpd.channel('flaky-attempts')\n"
      "        n = c.recv_nowait(0) + 1\n"
      "        c.send(n)\n"
      "        if n <= 2:\n"
      "            raise RuntimeError('attempt %d' % n)\n"
      "        self.n = n\n"
      "    def attempts(self):\n"
      "        return self.n\n";
  ActorSpec spec;
  spec.name = "flaky";
  spec.code = flaky;
  spec.class_name = "Flaky";
  spec.restart = RestartPolicy::kOnFailure;
  spec.max_restarts = 3;
  ActorReply first = Wait([&](auto cb) { pool->SpawnActor(spec, cb); });
  CHECK(first.status.code() == Status::Code::kPythonError);
  REQUIRE(first.error.has_value());
  CHECK(first.error->message == "attempt 1");
  ActorState state = ActorState::kStarting;
  for (int i = 0; i < 100; ++i) {
    state = pool->ListActors()[0].state;
    if (state == ActorState::kRunning) break;
    std::this_thread::sleep_for(20ms);
  }
  CHECK(state == ActorState::kRunning);
  CHECK(pool->ListActors()[0].restarts == 2);
  ActorReply n = Wait([&](auto cb) { pool->CallActor("flaky", "attempts", Value::List({}), Value(), cb); });
  CHECK(n.value == Value::Int(3));

  spec.name = "broken";
  spec.code = "class B:\n    def __init__(self):\n        raise ValueError('never works')\n";
  spec.class_name = "B";
  spec.restart = RestartPolicy::kNever;
  CHECK(Wait([&](auto cb) { pool->SpawnActor(spec, cb); }).status.code() == Status::Code::kPythonError);
  auto broken = pool->ListActors();
  auto it = std::find_if(broken.begin(), broken.end(), [](const ActorInfo& a) { return a.name == "broken"; });
  REQUIRE(it != broken.end());
  CHECK(it->state == ActorState::kFailed);
  CHECK(it->last_error->message == "never works");
  ActorReply call = Wait([&](auto cb) { pool->CallActor("broken", "x", Value::List({}), Value(), cb); });
  CHECK(call.status.code() == Status::Code::kClosed);

  spec.name = "hopeless";
  spec.restart = RestartPolicy::kOnFailure;
  spec.max_restarts = 2;
  Wait([&](auto cb) { pool->SpawnActor(spec, cb); });
  for (int i = 0; i < 200; ++i) {
    auto l = pool->ListActors();
    auto h = std::find_if(l.begin(), l.end(), [](const ActorInfo& a) { return a.name == "hopeless"; });
    if (h->state == ActorState::kFailed) {
      CHECK(h->restarts == 2);
      return;
    }
    std::this_thread::sleep_for(20ms);
  }
  FAIL("hopeless never reached the failed state");
}

TEST_CASE("losing the actor's worker restarts the actor on the replacement", "[actors][supervision]") {
  PoolOptions opts;
  opts.interrupt_grace = 0.3s;
  auto pool = MakePool(2, opts);
  ActorSpec spec;
  spec.name = "survivor";
  spec.code = kCounter;
  spec.class_name = "Counter";
  spec.worker = 0;
  spec.restart = RestartPolicy::kOnFailure;
  REQUIRE(Wait([&](auto cb) { pool->SpawnActor(spec, cb); }).status.ok());
  TaskRequest stuck = Script("import time\ntime.sleep(3)", 0);
  stuck.timeout = 0.2s;
  TaskResult r = pool->Submit(stuck).Get();
  CHECK(r.worker_replaced);
  ActorReply after = Wait([&](auto cb) { pool->CallActor("survivor", "incr", Value::List({}), Value(), cb); });
  INFO(after.status.ToString());
  CHECK(after.status.ok());
  CHECK(after.value == Value::Int(1));  // a fresh instance
  CHECK(pool->ListActors()[0].restarts == 1);
}

TEST_CASE("stop lets the current call finish, runs on_stop, and frees the name", "[actors]") {
  auto pool = MakePool(2);
  const char* code =
      "import interpd, time\n"
      "class S:\n"
      "    def work(self):\n"
      "        time.sleep(0.3)\n"
      "        return 'finished'\n"
      "    def on_stop(self):\n"
      "        interpd.channel('on-stop-ran').send('yes')\n";
  Ok(*pool, "import interpd\ninterpd.spawn('s', " + interpd::test::PyStr(code) + ", 'S')", 0);
  std::promise<ActorReply> call_p;
  pool->CallActor("s", "work", Value::List({}), Value(), [&](ActorReply r) { call_p.set_value(std::move(r)); });
  std::this_thread::sleep_for(50ms);
  ActorReply stopped = Wait([&](auto cb) { pool->StopActor("s", cb); });
  CHECK(stopped.status.ok());
  ActorReply call = call_p.get_future().get();
  CHECK(call.value == Value::Str("finished"));
  CHECK(Ok(*pool, "import interpd\ninterpd.channel('on-stop-ran').recv(timeout=5)").value == Value::Str("yes"));
  // The name can be used again.
  Ok(*pool, "import interpd\ninterpd.spawn('s', " + interpd::test::PyStr(code) + ", 'S')", 1);
}

TEST_CASE("shutdown stops busy actors and calls on_stop without hanging", "[actors][shutdown]") {
  auto pool = MakePool(2);
  const char* code =
      "import interpd, time\n"
      "class Busy:\n"
      "    def work(self, s):\n"
      "        time.sleep(s)\n"
      "        return s\n"
      "    def on_stop(self):\n"
      "        interpd.channel('busy-stopped').send(1)\n";
  Ok(*pool, "import interpd\ninterpd.spawn('busy', " + interpd::test::PyStr(code) + ", 'Busy')");
  std::promise<ActorReply> p;
  pool->CallActor("busy", "work", Value::List({Value::Float(0.5)}), Value(), [&](ActorReply r) { p.set_value(r); });
  std::this_thread::sleep_for(50ms);
  const auto t0 = std::chrono::steady_clock::now();
  pool->Shutdown(2s);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(p.get_future().get().value == Value::Float(0.5));
  CHECK(pool->ListActors().empty());
}

TEST_CASE("scheduling: an actor on a worker busy with a long script answers when the script ends",
          "[actors][fairness]") {
  auto pool = MakePool(2);
  ActorSpec spec;
  spec.name = "shared";
  spec.code = kCounter;
  spec.class_name = "Counter";
  spec.worker = 0;
  REQUIRE(Wait([&](auto cb) { pool->SpawnActor(spec, cb); }).status.ok());
  TaskFuture long_script = pool->Submit(Script("import time\ntime.sleep(0.6)", 0));
  std::this_thread::sleep_for(50ms);
  const auto t0 = std::chrono::steady_clock::now();
  ActorReply r = Wait([&](auto cb) { pool->CallActor("shared", "incr", Value::List({}), Value(), cb); });
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(r.status.ok());
  CHECK(waited > 0.3);  // waited for the script...
  CHECK(waited < 3.0);  // ...but not forever
  long_script.Get();
}

TEST_CASE("scheduling: dedicated actor workers answer while every script worker is busy", "[actors][fairness]") {
  PoolOptions opts;
  opts.actor_workers = 1;
  auto pool = MakePool(1, opts);
  CHECK(pool->size() == 2);
  ActorSpec spec;
  spec.name = "dedicated";
  spec.code = kCounter;
  spec.class_name = "Counter";
  REQUIRE(Wait([&](auto cb) { pool->SpawnActor(spec, cb); }).status.ok());
  CHECK(pool->ListActors()[0].worker == 1);  // placed on the actor worker
  TaskFuture long_script = pool->Submit(Script("import time\ntime.sleep(1.0)"));
  std::this_thread::sleep_for(50ms);
  const auto t0 = std::chrono::steady_clock::now();
  ActorReply r = Wait([&](auto cb) { pool->CallActor("dedicated", "incr", Value::List({}), Value(), cb); });
  CHECK(r.status.ok());
  CHECK(std::chrono::steady_clock::now() - t0 < 0.5s);
  // Unpinned scripts never land on the actor worker.
  std::vector<TaskFuture> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(pool->Submit(Script("1")));
  for (auto& f : fs) CHECK(f.Get().worker == 0);
  long_script.Get();
}

TEST_CASE("a call timeout raises TimeoutError in the caller", "[actors]") {
  auto pool = MakePool(2);
  Ok(*pool, Spawn("slowpoke"), 0);
  TaskResult r = Ok(*pool,
                    "import interpd\ntry:\n    interpd.actor('slowpoke').call('slow', 1.0, timeout=0.1)\n"
                    "    out = 'answered'\nexcept TimeoutError:\n    out = 'timeout'\nout",
                    1);
  CHECK(r.value == Value::Str("timeout"));
  CHECK(Ok(*pool, "import interpd\ntry:\n    interpd.actor('ghost')\nexcept interpd.ActorNotFound:\n    x = 1\nx")
            .value == Value::Int(1));
  // A send the actor would refuse raises in the sender, as there is no reply.
  CHECK(Ok(*pool, "import interpd\ntry:\n    interpd.actor('slowpoke').send('_secret')\nexcept ValueError:\n    x = 2\nx")
            .value == Value::Int(2));
}
