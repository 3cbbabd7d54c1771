// The process-wide code cache: a script compiled in one interpreter is
// loaded from marshal data in the next, with the same meaning.
#include "shared_code_cache.h"
#include "test_support.h"

using namespace interpd;
using interpd::test::Describe;
using interpd::test::MakePool;
using interpd::test::Run;

TEST_CASE("a script compiled by one interpreter runs the same in another from the shared cache", "[code_cache]") {
  auto pool = MakePool(2);
  const std::string code = "import sys\ndef f(n):\n    return [i * i for i in range(n)]\nf(4)";
  const size_t before = SharedCodeCache::entries();
  TaskResult a = Run(*pool, code, 0);
  INFO(Describe(a));
  REQUIRE(a.value == Value::List({Value::Int(0), Value::Int(1), Value::Int(4), Value::Int(9)}));
  CHECK(SharedCodeCache::entries() == before + 1);
  // Worker 1 misses in its own cache and loads the marshal data.
  TaskResult b = Run(*pool, code, 1);
  CHECK(b.value == a.value);
  CHECK(SharedCodeCache::entries() == before + 1);
  CHECK(pool->Stats().workers[1].code_cache_misses >= 1);
  // Tracebacks still name the file and line the script was compiled with.
  TaskRequest named;
  named.code = "x = 1\n1 / 0";
  named.filename = "job.py";
  named.worker = 0;
  REQUIRE(pool->Submit(named).Get().status == TaskStatus::kError);
  named.worker = 1;
  TaskResult err = pool->Submit(named).Get();
  REQUIRE(err.error.has_value());
  CHECK(err.error->traceback.find("File \"job.py\", line 2") != std::string::npos);
  // The same text under another file name is another entry.
  named.filename = "other.py";
  TaskResult other = pool->Submit(named).Get();
  CHECK(other.error->traceback.find("File \"other.py\", line 2") != std::string::npos);
}

TEST_CASE("a script that does not compile is not stored", "[code_cache]") {
  auto pool = MakePool(1);
  const size_t before = SharedCodeCache::entries();
  TaskResult r = Run(*pool, "def (:\n");
  CHECK(r.error->type == "SyntaxError");
  CHECK(SharedCodeCache::entries() == before);
  CHECK(SharedCodeCache::bytes() <= SharedCodeCache::kMaxBytes);
}
