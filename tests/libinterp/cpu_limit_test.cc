// CPU time limits: the watchdog reads the worker thread's CPU clock and
// ends a task past its limit like a timeout.
#include <chrono>

#include "test_support.h"

using namespace interpd;
using namespace std::chrono_literals;
using interpd::test::Describe;
using interpd::test::MakePool;
using interpd::test::Run;
using interpd::test::Script;

namespace {

TaskRequest CpuLimited(std::string code, std::chrono::duration<double> limit) {
  TaskRequest r = Script(std::move(code));
  r.cpu_limit = limit;
  return r;
}

}  // namespace

TEST_CASE("a CPU-bound script past its CPU limit ends as a timeout that says CPU", "[cpu]") {
  auto pool = MakePool(1);
  const int64_t interp = Run(*pool, "1").interpreter_id;
  const auto t0 = std::chrono::steady_clock::now();
  TaskResult r = pool->Submit(CpuLimited("print('spinning')\nwhile True:\n    pass", 0.3s)).Get();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(Describe(r));
  CHECK(r.status == TaskStatus::kTimeout);
  REQUIRE(r.error.has_value());
  CHECK(r.error->type == "interpd.TaskTimeout");
  CHECK(r.error->message == "the script used more than its 0.3 s CPU time limit");
  CHECK(r.stdout_text == "spinning\n");
  CHECK(took >= 0.3);
  CHECK(took < 5.0);  // a busy machine stretches wall time, not CPU time
  CHECK_FALSE(r.worker_replaced);
  // The worker is kept and serves the next task.
  CHECK(Run(*pool, "'next'").interpreter_id == interp);
  CHECK(pool->Stats().timeouts == 1);
}

TEST_CASE("a script that sleeps is not stopped by a CPU limit shorter than its run", "[cpu]") {
  auto pool = MakePool(1);
  TaskResult r = pool->Submit(CpuLimited("import time\ntime.sleep(0.6)\n'rested'", 0.2s)).Get();
  INFO(Describe(r));
  CHECK(r.status == TaskStatus::kOk);
  CHECK(r.value == Value::Str("rested"));
}

TEST_CASE("a CPU limit and a wall-clock timeout together: whichever comes first ends the task", "[cpu]") {
  auto pool = MakePool(1);
  TaskRequest sleepy = CpuLimited("import time\ntime.sleep(3)", 0.2s);
  sleepy.timeout = 0.3s;
  TaskResult a = pool->Submit(sleepy).Get();
  INFO(Describe(a));
  REQUIRE(a.error.has_value());
  CHECK(a.error->message.find("timeout") != std::string::npos);

  TaskRequest busy = CpuLimited("while True:\n    pass", 0.2s);
  busy.timeout = 30s;
  TaskResult b = pool->Submit(busy).Get();
  INFO(Describe(b));
  REQUIRE(b.error.has_value());
  CHECK(b.error->message.find("CPU time limit") != std::string::npos);
}
