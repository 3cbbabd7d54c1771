// The pool: isolation, parallelism, pinning, timeouts, cancellation,
// shutdown, and a seeded stress test.
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "test_support.h"

using namespace interpd;
using namespace std::chrono_literals;
using interpd::test::Describe;
using interpd::test::MakePool;
using interpd::test::Run;
using interpd::test::Script;

TEST_CASE("interpreters are isolated: modules and globals of one are absent in another", "[pool]") {
  auto pool = MakePool(2);
  TaskResult a = Run(*pool, "import sys, fractions\nsys.marker = 'w0'\ninterpd_id = 0\n'fractions' in sys.modules", 0);
  INFO(Describe(a));
  REQUIRE(a.value == Value::Bool(true));
  TaskResult b = Run(*pool, "import sys\n('fractions' in sys.modules, hasattr(sys, 'marker'))", 1);
  INFO(Describe(b));
  CHECK(b.value == Value::Tuple({Value::Bool(false), Value::Bool(false)}));
  // The first worker still has its state (interpreters are reused).
  CHECK(Run(*pool, "import sys\nsys.marker", 0).value == Value::Str("w0"));
  CHECK(a.interpreter_id != b.interpreter_id);
}

TEST_CASE("unpinned scripts spread over free workers and pinned ones run where asked", "[pool]") {
  auto pool = MakePool(2);
  // A long task pins worker 0; unpinned work must then go to worker 1.
  TaskFuture busy = pool->Submit(Script("import time\ntime.sleep(0.3)", 0));
  std::this_thread::sleep_for(50ms);
  std::vector<TaskFuture> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(pool->Submit(Script("import interpd\ninterpd.worker_id()")));
  for (auto& f : fs) {
    TaskResult r = f.Get();
    CHECK(r.value == Value::Int(1));
  }
  CHECK(busy.Get().status == TaskStatus::kOk);
  for (int w = 0; w < 2; ++w) CHECK(Run(*pool, "import interpd\ninterpd.worker_id()", w).worker == w);
}

TEST_CASE("a pinned task for a worker that does not exist is refused", "[pool]") {
  auto pool = MakePool(2);
  TaskResult r = Run(*pool, "1", 7);
  CHECK(r.status == TaskStatus::kError);
  CHECK(r.refusal.code() == Status::Code::kInvalidArgument);
}

TEST_CASE("a full queue refuses new work as overloaded", "[pool]") {
  PoolOptions opts;
  opts.queue_limit = 3;
  auto pool = MakePool(1, opts);
  TaskFuture busy = pool->Submit(Script("import time\ntime.sleep(0.3)"));
  std::this_thread::sleep_for(50ms);
  std::vector<TaskFuture> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(pool->Submit(Script("1")));
  TaskResult over = pool->Submit(Script("1")).Get();
  CHECK(over.refusal.code() == Status::Code::kOverloaded);
  for (auto& f : queued) CHECK(f.Get().status == TaskStatus::kOk);
  busy.Get();
}

TEST_CASE("the queue limit can be changed while the pool runs", "[pool]") {
  auto pool = MakePool(1);
  pool->SetLimits(1, std::chrono::seconds(2));
  TaskFuture busy = pool->Submit(Script("import time\ntime.sleep(0.3)"));
  std::this_thread::sleep_for(50ms);
  TaskFuture waiting = pool->Submit(Script("1"));
  CHECK(pool->Submit(Script("1")).Get().refusal.code() == Status::Code::kOverloaded);
  pool->SetLimits(100, std::chrono::seconds(2));
  TaskFuture more = pool->Submit(Script("2"));
  CHECK(waiting.Get().status == TaskStatus::kOk);
  CHECK(more.Get().value == Value::Int(2));
  busy.Get();
}

TEST_CASE("repeated scripts are compiled once per interpreter", "[pool]") {
  auto pool = MakePool(1);
  for (int i = 0; i < 3; ++i) REQUIRE(Run(*pool, "sum(range(10))", 0).value == Value::Int(45));
  PoolStats st = pool->Stats();
  CHECK(st.workers[0].code_cache_misses == 1);
  CHECK(st.workers[0].code_cache_hits == 2);
}

TEST_CASE("a pure-Python loop past its deadline is interrupted and the worker is kept", "[pool][timeout]") {
  auto pool = MakePool(1);
  const int64_t interp = Run(*pool, "1").interpreter_id;
  TaskRequest req = Script("print('started')\nwhile True:\n    pass");
  req.timeout = 0.2s;
  const auto t0 = std::chrono::steady_clock::now();
  TaskResult r = pool->Submit(req).Get();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(Describe(r));
  CHECK(r.status == TaskStatus::kTimeout);
  CHECK_FALSE(r.worker_replaced);
  REQUIRE(r.error.has_value());
  CHECK(r.error->type == "interpd.TaskTimeout");
  CHECK(r.error->traceback.find("line 2") != std::string::npos);
  CHECK(r.stdout_text == "started\n");
  CHECK(took >= 0.2);
  CHECK(took < 1.5);
  TaskResult after = Run(*pool, "'still here'");
  CHECK(after.value == Value::Str("still here"));
  CHECK(after.interpreter_id == interp);
}

TEST_CASE("a loop that swallows the interrupt gets its worker replaced", "[pool][timeout]") {
  PoolOptions opts;
  opts.interrupt_grace = 0.3s;
  auto pool = MakePool(1, opts);
  const int64_t interp = Run(*pool, "1").interpreter_id;
  // The inner loop sits inside the try, so the interrupt is caught there and
  // the outer loop carries on.
  TaskRequest req = Script(
      "while True:\n"
      "    try:\n"
      "        while True:\n"
      "            pass\n"
      "    except BaseException:\n"
      "        pass\n");
  req.timeout = 0.2s;
  TaskResult r = pool->Submit(req).Get();
  INFO(Describe(r));
  CHECK(r.status == TaskStatus::kTimeout);
  CHECK(r.worker_replaced);
  // The pool keeps serving, on a fresh interpreter in the same slot.
  TaskResult after = Run(*pool, "'served'", 0);
  CHECK(after.value == Value::Str("served"));
  CHECK(after.interpreter_id != interp);
  PoolStats st = pool->Stats();
  CHECK(st.abandoned_workers == 1);
  CHECK(st.workers[0].replacements == 1);
}

TEST_CASE("time.sleep past its deadline gets its worker replaced and other workers are undisturbed",
          "[pool][timeout]") {
  PoolOptions opts;
  opts.interrupt_grace = 0.3s;
  auto pool = MakePool(2, opts);
  const int64_t other = Run(*pool, "1", 1).interpreter_id;
  // A long job on the other worker must run through undisturbed.
  TaskFuture bystander = pool->Submit(Script("import time\ntime.sleep(1.0)\n'ok'", 1));
  TaskRequest req = Script("import time\ntime.sleep(5)", 0);
  req.timeout = 0.2s;
  const auto t0 = std::chrono::steady_clock::now();
  TaskResult r = pool->Submit(req).Get();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(Describe(r));
  CHECK(r.status == TaskStatus::kTimeout);
  CHECK(r.worker_replaced);
  CHECK(took < 2.0);
  CHECK(Run(*pool, "'fresh'", 0).value == Value::Str("fresh"));
  TaskResult b = bystander.Get();
  CHECK(b.value == Value::Str("ok"));
  CHECK(b.interpreter_id == other);
}

TEST_CASE("cancelling a queued task means it never runs", "[pool][cancel]") {
  auto pool = MakePool(1);
  TaskFuture busy = pool->Submit(Script("import time\ntime.sleep(0.3)"));
  TaskFuture victim = pool->Submit(Script("import sys\nsys.victim_ran = True"));
  REQUIRE(pool->Cancel(victim.handle()));
  TaskResult r = victim.Get();
  CHECK(r.status == TaskStatus::kCancelled);
  busy.Get();
  CHECK(Run(*pool, "import sys\nhasattr(sys, 'victim_ran')").value == Value::Bool(false));
  CHECK_FALSE(pool->Cancel(victim.handle()));  // already done
}

TEST_CASE("cancelling a running task interrupts it", "[pool][cancel]") {
  auto pool = MakePool(1);
  TaskFuture f = pool->Submit(Script("print('go')\nwhile True:\n    pass"));
  std::this_thread::sleep_for(100ms);
  REQUIRE(pool->Cancel(f.handle()));
  TaskResult r = f.Get();
  INFO(Describe(r));
  CHECK(r.status == TaskStatus::kCancelled);
  CHECK_FALSE(r.worker_replaced);
  CHECK(r.error->type == "interpd.TaskCancelled");
  CHECK(Run(*pool, "2").value == Value::Int(2));
}

TEST_CASE("shutdown lets queued work finish within the grace, cancels the rest, refuses new work",
          "[pool][shutdown]") {
  PoolOptions opts;
  opts.interrupt_grace = 0.3s;
  auto pool = MakePool(3, opts);
  TaskFuture looping = pool->Submit(Script("while True:\n    pass", 0));
  TaskFuture sleeping = pool->Submit(Script("import time\ntime.sleep(30)", 1));
  std::this_thread::sleep_for(100ms);
  // Only worker 2 is free: these queue up behind each other.
  std::vector<TaskFuture> quick;
  for (int i = 0; i < 10; ++i) quick.push_back(pool->Submit(Script("import time\ntime.sleep(0.02)\n7")));
  const auto t0 = std::chrono::steady_clock::now();
  pool->Shutdown(1s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& f : quick) CHECK(f.Get().value == Value::Int(7));
  TaskResult l = looping.Get();
  CHECK(l.status == TaskStatus::kCancelled);
  CHECK_FALSE(l.worker_replaced);
  TaskResult s = sleeping.Get();
  CHECK(s.status == TaskStatus::kCancelled);
  CHECK(s.worker_replaced);
  // grace (1 s) + interrupt grace (0.3 s) + interpreter teardown.
  CHECK(took < 3.0);
  TaskResult late = pool->Submit(Script("1")).Get();
  CHECK(late.refusal.code() == Status::Code::kShuttingDown);
}

TEST_CASE("shutdown cancels queued work that no worker reached", "[pool][shutdown]") {
  auto pool = MakePool(1);
  TaskFuture busy = pool->Submit(Script("import time\ntime.sleep(0.5)\n'done'"));
  std::this_thread::sleep_for(50ms);
  TaskFuture queued = pool->Submit(Script("import sys\nsys.queued_ran = True"));
  pool->Shutdown(1s);
  CHECK(busy.Get().value == Value::Str("done"));
  TaskResult q = queued.Get();
  // With a 1 s grace the queued task gets its turn after the 0.5 s one.
  CHECK(q.status == TaskStatus::kOk);
}

TEST_CASE("seeded stress: every task completes exactly once with its own result", "[pool][stress]") {
  const uint32_t seed = 20261121;
  std::mt19937 rng(seed);
  INFO("seed " << seed);
  auto pool = MakePool(2);
  const int kTasks = 3000;
  std::mutex mu;
  std::map<TaskId, int> completions;            // protected by mu
  std::map<TaskId, TaskResult> results;         // protected by mu
  std::map<TaskId, int64_t> expected;
  std::set<TaskId> cancelled;
  std::atomic<int> done{0};
  std::vector<TaskHandle> handles;
  for (int i = 0; i < kTasks; ++i) {
    const int64_t n = static_cast<int64_t>(rng() % 1000);
    TaskRequest req = Script("n = " + std::to_string(n) + "\nn * n + " + std::to_string(i % 7));
    const int pick = static_cast<int>(rng() % 4);
    req.worker = pick < 2 ? pick : -1;
    TaskHandle h = pool->Submit(req, [&](TaskResult r) {
      std::lock_guard<std::mutex> lock(mu);
      completions[r.id]++;
      results[r.id] = std::move(r);
      done++;
    });
    expected[h.id()] = n * n + i % 7;
    if (rng() % 20 == 0 && pool->Cancel(h)) cancelled.insert(h.id());
    handles.push_back(h);
  }
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (done.load() < kTasks && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(completions.size() == static_cast<size_t>(kTasks));
  int ok = 0;
  int was_cancelled = 0;
  for (const auto& [id, count] : completions) {
    CHECK(count == 1);
    const TaskResult& r = results[id];
    if (r.status == TaskStatus::kOk) {
      ++ok;
      CHECK(r.value == Value::Int(expected[id]));
    } else {
      // Only tasks we cancelled may end otherwise (a cancel can also lose
      // the race against a task that was just finishing).
      CHECK(r.status == TaskStatus::kCancelled);
      CHECK(cancelled.count(id) == 1);
      ++was_cancelled;
    }
  }
  CHECK(ok + was_cancelled == kTasks);
  CHECK(was_cancelled <= static_cast<int>(cancelled.size()));
  PoolStats st = pool->Stats();
  CHECK(st.completed == static_cast<uint64_t>(kTasks));
  CHECK(st.queued == 0);
}
