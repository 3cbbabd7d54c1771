// Lanes: fresh isolation from pre-created spares, and the compat lane for
// single-phase-init C extensions (chosen explicitly or by `auto`).
#include <set>
#include <thread>

#include "test_support.h"

using namespace interpd;
using namespace std::chrono_literals;
using interpd::test::Describe;
using interpd::test::MakePool;
using interpd::test::Run;
using interpd::test::Script;

namespace {

PoolOptions WithLanes(int spares, int compat) {
  PoolOptions o;
  o.fresh_spares = spares;
  o.compat_workers = compat;
  return o;
}

TaskRequest Fresh(std::string code) {
  TaskRequest r = Script(std::move(code));
  r.isolation = Isolation::kFresh;
  return r;
}

TaskRequest InLane(std::string code, Lane lane) {
  TaskRequest r = Script(std::move(code));
  r.lane = lane;
  return r;
}

// The test tree builds it (tests/libinterp/singlephase_ext.c) into a
// directory that runtime_main.cc puts on every interpreter's sys.path.
constexpr const char* kImportSinglePhase = "import _interpd_singlephase as m\nm.bump()";

}  // namespace

TEST_CASE("a fresh run sees no module state of any earlier script", "[lanes][fresh]") {
  auto pool = MakePool(1, WithLanes(2, 0));
  // Leave state behind in the regular worker and in a fresh interpreter.
  REQUIRE(Run(*pool, "import sys, fractions\nsys.marker = 'reuse'").status == TaskStatus::kOk);
  TaskResult first = pool->Submit(Fresh("import sys, fractions\nsys.marker = 'fresh'\n'fractions' in sys.modules")).Get();
  INFO(Describe(first));
  REQUIRE(first.value == Value::Bool(true));
  for (int i = 0; i < 4; ++i) {
    TaskResult r =
        pool->Submit(Fresh("import sys\n('fractions' in sys.modules, hasattr(sys, 'marker'), len(sys.argv))")).Get();
    INFO(Describe(r));
    CHECK(r.value == Value::Tuple({Value::Bool(false), Value::Bool(false), Value::Int(1)}));
    CHECK(r.interpreter_id != first.interpreter_id);
  }
  // The regular worker kept its state (fresh runs never touch it).
  CHECK(Run(*pool, "import sys\nsys.marker").value == Value::Str("reuse"));
}

TEST_CASE("every fresh run gets its own interpreter and the spares are refilled", "[lanes][fresh]") {
  auto pool = MakePool(1, WithLanes(2, 0));
  std::set<int64_t> ids;
  std::vector<TaskFuture> fs;
  for (int i = 0; i < 12; ++i) fs.push_back(pool->Submit(Fresh("import interpd\ninterpd.interpreter_id()")));
  for (auto& f : fs) {
    TaskResult r = f.Get();
    INFO(Describe(r));
    REQUIRE(r.status == TaskStatus::kOk);
    CHECK(r.value == Value::Int(r.interpreter_id));
    CHECK(r.lane == Lane::kIsolated);
    // Spares sit after the regular workers and any compat workers.
    CHECK(r.worker >= 1);
    ids.insert(r.interpreter_id);
  }
  CHECK(ids.size() == 12);
  PoolStats st = pool->Stats();
  CHECK(st.fresh_runs == 12);
  CHECK(st.spares.size() == 2);
  CHECK(st.workers.size() == 1);
  for (const auto& s : st.spares) CHECK(s.lane == "fresh");
}

TEST_CASE("fresh runs that cannot be honoured are refused with the reason", "[lanes][fresh]") {
  auto none = MakePool(1);
  TaskResult r = none->Submit(Fresh("1")).Get();
  CHECK(r.refusal.code() == Status::Code::kInvalidArgument);
  CHECK(r.refusal.message().find("fresh isolation is not enabled") != std::string::npos);

  auto pool = MakePool(1, WithLanes(1, 1));
  TaskRequest pinned = Fresh("1");
  pinned.worker = 0;
  CHECK(pool->Submit(pinned).Get().refusal.message().find("cannot be pinned") != std::string::npos);
  TaskRequest compat = Fresh("1");
  compat.lane = Lane::kCompat;
  CHECK(pool->Submit(compat).Get().refusal.message().find("isolated lane only") != std::string::npos);
}

TEST_CASE("a fresh run's timeout and cancellation work like any other run's", "[lanes][fresh]") {
  auto pool = MakePool(1, WithLanes(1, 0));
  TaskRequest loop = Fresh("while True:\n    pass");
  loop.timeout = 0.2s;
  TaskResult r = pool->Submit(loop).Get();
  INFO(Describe(r));
  CHECK(r.status == TaskStatus::kTimeout);
  CHECK(pool->Submit(Fresh("'next'")).Get().value == Value::Str("next"));
}

TEST_CASE("the isolated lane refuses a single-phase extension with an error that names the compat lane",
          "[lanes][compat]") {
  auto pool = MakePool(1, WithLanes(0, 1));
  TaskResult r = Run(*pool, kImportSinglePhase);
  INFO(Describe(r));
  REQUIRE(r.status == TaskStatus::kError);
  CHECK(r.error->type == "ImportError");
  CHECK(r.error->message.find("_interpd_singlephase does not support loading in subinterpreters") !=
        std::string::npos);
  CHECK(r.error->message.find("lane \"compat\" or \"auto\"") != std::string::npos);
  CHECK(r.lane == Lane::kIsolated);

  auto no_compat = MakePool(1);
  TaskResult n = Run(*no_compat, kImportSinglePhase);
  REQUIRE(n.error.has_value());
  CHECK(n.error->message.find("the compat lane that can has no workers") != std::string::npos);
}

TEST_CASE("the compat lane runs a script that imports a single-phase extension", "[lanes][compat]") {
  auto pool = MakePool(1, WithLanes(0, 1));
  TaskResult a = pool->Submit(InLane(kImportSinglePhase, Lane::kCompat)).Get();
  INFO(Describe(a));
  REQUIRE(a.status == TaskStatus::kOk);
  CHECK(a.lane == Lane::kCompat);
  CHECK(a.value == Value::Int(1));
  // Its C state is process-global: the second call in the lane sees it.
  TaskResult b = pool->Submit(InLane(kImportSinglePhase, Lane::kCompat)).Get();
  CHECK(b.value == Value::Int(2));
  PoolStats st = pool->Stats();
  REQUIRE(st.compat_workers.size() == 1);
  CHECK(st.compat_workers[0].lane == "compat");
  CHECK(st.compat_workers[0].tasks_run == 2);
  CHECK(a.worker == st.compat_workers[0].id);
}

TEST_CASE("the auto lane runs in isolation and retries in the compat lane only on a single-phase import",
          "[lanes][compat]") {
  auto pool = MakePool(1, WithLanes(0, 1));
  TaskResult plain = pool->Submit(InLane("6 * 7", Lane::kAuto)).Get();
  CHECK(plain.value == Value::Int(42));
  CHECK(plain.lane == Lane::kIsolated);

  TaskResult ext = pool->Submit(InLane("print('attempt')\n" + std::string(kImportSinglePhase), Lane::kAuto)).Get();
  INFO(Describe(ext));
  REQUIRE(ext.status == TaskStatus::kOk);
  CHECK(ext.lane == Lane::kCompat);
  // The isolated attempt's output is dropped with its result.
  CHECK(ext.stdout_text == "attempt\n");

  TaskResult other = pool->Submit(InLane("import no_such_module_here", Lane::kAuto)).Get();
  REQUIRE(other.error.has_value());
  CHECK(other.error->type == "ModuleNotFoundError");
  CHECK(other.lane == Lane::kIsolated);
  CHECK(pool->Stats().compat_retries == 1);
}

TEST_CASE("compat runs that cannot be honoured are refused with the reason", "[lanes][compat]") {
  auto none = MakePool(1);
  CHECK(none->Submit(InLane("1", Lane::kCompat)).Get().refusal.message().find("compat lane has no workers") !=
        std::string::npos);
  auto pool = MakePool(1, WithLanes(0, 1));
  TaskRequest pinned = InLane("1", Lane::kCompat);
  pinned.worker = 0;
  CHECK(pool->Submit(pinned).Get().refusal.code() == Status::Code::kInvalidArgument);
}

TEST_CASE("compat workers take turns on the main GIL but all complete", "[lanes][compat]") {
  auto pool = MakePool(1, WithLanes(0, 2));
  std::vector<TaskFuture> fs;
  for (int i = 0; i < 10; ++i) {
    fs.push_back(pool->Submit(InLane("s = 0\nfor i in range(200_000):\n    s += i\ns", Lane::kCompat)));
  }
  for (auto& f : fs) CHECK(f.Get().value == Value::Int(19999900000));
  PoolStats st = pool->Stats();
  CHECK(st.compat_workers.size() == 2);
  CHECK(st.compat_workers[0].tasks_run + st.compat_workers[1].tasks_run == 10);
}
