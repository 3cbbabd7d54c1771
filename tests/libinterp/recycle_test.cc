// Recycling: interpreters replaced after N tasks, past a memory threshold or
// an age, by a standby successor that takes the slot between two tasks.
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "recycle.h"
#include "test_support.h"

using namespace interpd;
using namespace std::chrono_literals;
using interpd::test::Describe;
using interpd::test::MakePool;
using interpd::test::Run;
using interpd::test::Script;

namespace {

PoolOptions Recycling(RecycleOptions r) {
  PoolOptions o;
  o.recycle = r;
  return o;
}

// Runs trivial pinned tasks until worker `w` runs on an interpreter other
// than `old` (the successor took over), or gives up after `limit` tasks.
int64_t RunUntilReplaced(WorkerPool& pool, int w, int64_t old, int limit = 500) {
  for (int i = 0; i < limit; ++i) {
    TaskResult r = Run(pool, "1", w);
    if (r.interpreter_id != old) return r.interpreter_id;
    std::this_thread::sleep_for(2ms);
  }
  return old;
}

}  // namespace

TEST_CASE("the recycling rules fire on tasks, then memory, then age, and zero disables each", "[recycle]") {
  RecycleOptions all{10, 1000, std::chrono::duration<double>(60)};
  struct Row {
    RecycleOptions options;
    uint64_t tasks;
    int64_t memory;
    double age;
    std::optional<RecycleReason> expected;
  } rows[] = {
      {all, 9, 999, 59, std::nullopt},
      {all, 10, 0, 0, RecycleReason::kMaxTasks},
      {all, 10, 5000, 100, RecycleReason::kMaxTasks},
      {all, 1, 1000, 100, RecycleReason::kMaxMemory},
      {all, 1, -5, 60, RecycleReason::kMaxAge},
      {RecycleOptions{}, 1'000'000, 1 << 30, 1e9, std::nullopt},
      {RecycleOptions{0, 1000, {}}, 1'000'000, 999, 1e9, std::nullopt},
  };
  for (const Row& row : rows) {
    INFO("tasks " << row.tasks << " memory " << row.memory << " age " << row.age);
    CHECK(RecycleDue(row.options, row.tasks, row.memory, row.age) == row.expected);
  }
  CHECK(RecycleReasonName(RecycleReason::kMaxMemory) == "max_memory");
}

TEST_CASE("a worker is recycled after max_tasks and its pinned tasks keep their order", "[recycle]") {
  auto pool = MakePool(1, Recycling({3, 0, {}}));
  std::vector<TaskFuture> fs;
  for (int i = 0; i < 40; ++i) {
    fs.push_back(pool->Submit(Script("import time\n(time.monotonic_ns(), " + std::to_string(i) + ")", 0)));
  }
  std::map<int64_t, int> per_interpreter;
  int64_t last_start = 0;
  for (int i = 0; i < 40; ++i) {
    TaskResult r = fs[static_cast<size_t>(i)].Get();
    INFO(Describe(r));
    REQUIRE(r.status == TaskStatus::kOk);
    const auto& items = r.value.items();
    CHECK(items[1] == Value::Int(i));
    // Pinned tasks start in submission order, across interpreters.
    CHECK(items[0].as_int() > last_start);
    last_start = items[0].as_int();
    per_interpreter[r.interpreter_id]++;
  }
  // max_tasks is a hard cap: 40 tasks, 3 per interpreter.
  CHECK(per_interpreter.size() == 14);
  for (const auto& [id, n] : per_interpreter) CHECK(n <= 3);
  PoolStats st = pool->Stats();
  CHECK(st.workers[0].recycled >= 1);
  CHECK(st.workers[0].recycled == st.workers[0].recycled_by[0]);
  CHECK(st.recycled == st.workers[0].recycled);
  CHECK(st.workers[0].replacements == 0);  // recycling is not abandonment
  CHECK(st.workers[0].tasks_run == 40);
}

TEST_CASE("a worker whose memory passes max_memory is recycled and its successor starts small", "[recycle][memory]") {
  auto pool = MakePool(1, Recycling({0, 64 << 20, {}}));
  TaskResult small = Run(*pool, "import sys\nsys.keep = bytes(10_000_000)", 0);
  REQUIRE(small.status == TaskStatus::kOk);
  // Under the threshold: the same interpreter serves the next task.
  CHECK(Run(*pool, "1", 0).interpreter_id == small.interpreter_id);
  TaskResult big = Run(*pool, "import sys\nsys.keep2 = bytes(80_000_000)", 0);
  REQUIRE(big.status == TaskStatus::kOk);
  const int64_t next = RunUntilReplaced(*pool, 0, big.interpreter_id);
  CHECK(next != big.interpreter_id);
  PoolStats st = pool->Stats();
  CHECK(st.workers[0].recycled_by[static_cast<size_t>(RecycleReason::kMaxMemory)] == 1);
  CHECK(st.workers[0].memory_bytes < 32 << 20);
  // The new interpreter has none of the old one's state.
  CHECK(Run(*pool, "import sys\nhasattr(sys, 'keep')", 0).value == Value::Bool(false));
}

TEST_CASE("a worker older than max_age is recycled after its next task", "[recycle]") {
  auto pool = MakePool(1, Recycling({0, 0, std::chrono::duration<double>(0.3)}));
  const int64_t first = Run(*pool, "1", 0).interpreter_id;
  std::this_thread::sleep_for(400ms);
  const int64_t next = RunUntilReplaced(*pool, 0, first);
  CHECK(next != first);
  PoolStats st = pool->Stats();
  CHECK(st.workers[0].recycled_by[static_cast<size_t>(RecycleReason::kMaxAge)] >= 1);
  CHECK(st.workers[0].worker_age_seconds < 0.3);
}

TEST_CASE("destroyed interpreters are counted with what they left behind", "[recycle][memory]") {
  auto pool = MakePool(1, Recycling({1, 0, {}}));
  int64_t id = Run(*pool, "1", 0).interpreter_id;
  for (int i = 0; i < 3; ++i) id = RunUntilReplaced(*pool, 0, id);
  // Give the last replaced interpreter time to finish its teardown.
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (pool->Stats().interpreters_destroyed < 3 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  PoolStats st = pool->Stats();
  REQUIRE(st.interpreters_destroyed >= 3);
  const double per_destroy = static_cast<double>(st.memory_left_behind) / static_cast<double>(st.interpreters_destroyed);
  // CPython 3.12/3.13 keeps the arenas of an isolated interpreter that
  // still has live blocks when it is destroyed: about 1.7 MB each.
  WARN("accounted bytes left behind per destroyed interpreter: " << per_destroy);
  CHECK(per_destroy > 0);
  CHECK(per_destroy < 16 << 20);
}

TEST_CASE("recycling under load loses no queued task and runs each exactly once", "[recycle][stress]") {
  const uint32_t seed = 20261122;
  std::mt19937 rng(seed);
  INFO("seed " << seed);
  auto pool = MakePool(2, Recycling({7, 0, {}}));
  const int kTasks = 1500;
  std::mutex mu;
  std::map<TaskId, int> completions;     // protected by mu
  std::map<TaskId, TaskResult> results;  // protected by mu
  std::map<TaskId, int64_t> expected;
  std::atomic<int> done{0};
  std::vector<TaskHandle> handles;
  for (int i = 0; i < kTasks; ++i) {
    const int64_t n = static_cast<int64_t>(rng() % 1000);
    TaskRequest req = Script("n = " + std::to_string(n) + "\nn * 3 + " + std::to_string(i % 5));
    const int pick = static_cast<int>(rng() % 3);
    req.worker = pick < 2 ? pick : -1;
    TaskHandle h = pool->Submit(req, [&](TaskResult r) {
      std::lock_guard<std::mutex> lock(mu);
      completions[r.id]++;
      results[r.id] = std::move(r);
      done++;
    });
    expected[h.id()] = n * 3 + i % 5;
    handles.push_back(h);
  }
  const auto until = std::chrono::steady_clock::now() + 120s;
  while (done.load() < kTasks && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(completions.size() == static_cast<size_t>(kTasks));
  for (const auto& [id, count] : completions) {
    CHECK(count == 1);
    const TaskResult& r = results[id];
    CHECK(r.status == TaskStatus::kOk);
    CHECK(r.value == Value::Int(expected[id]));
  }
  PoolStats st = pool->Stats();
  CHECK(st.completed == static_cast<uint64_t>(kTasks));
  CHECK(st.recycled >= 20);
  CHECK(st.abandoned_workers == 0);
}

TEST_CASE("shutdown with a successor still warming up ends both cleanly", "[recycle][shutdown]") {
  auto pool = MakePool(1, Recycling({1, 0, {}}));
  // The first task starts a successor; shut down while it is being created.
  CHECK(Run(*pool, "1", 0).status == TaskStatus::kOk);
  pool->Shutdown(1s);
  PoolStats st = pool->Stats();
  CHECK(st.workers[0].state == "stopped");
  CHECK(Run(*pool, "1").refusal.code() == Status::Code::kShuttingDown);
}
