// Helpers shared by the runtime tests.
#ifndef INTERPD_TESTS_TEST_SUPPORT_H_
#define INTERPD_TESTS_TEST_SUPPORT_H_

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "interpd/pool.h"
#include "interpd/runtime.h"

namespace interpd::test {

inline std::unique_ptr<WorkerPool> MakePool(int workers, PoolOptions options = {}) {
  options.workers = workers;
  std::unique_ptr<WorkerPool> pool;
  Status s = WorkerPool::Create(*Runtime::Get(), options, &pool);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return pool;
}

inline TaskRequest Script(std::string code, int worker = -1) {
  TaskRequest r;
  r.code = std::move(code);
  r.worker = worker;
  return r;
}

inline TaskResult Run(WorkerPool& pool, std::string code, int worker = -1) {
  return pool.Submit(Script(std::move(code), worker)).Get();
}

// A Python string literal for `s` (for embedding code in code).
inline std::string PyStr(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "'";
}

inline std::string Describe(const TaskResult& r) {
  std::string s = std::string("status=") + std::string(TaskStatusName(r.status)) + " value=" + r.value.Repr();
  if (r.error) s += " error=" + r.error->type + ": " + r.error->message + "\n" + r.error->traceback;
  if (!r.refusal.ok()) s += " refusal=" + r.refusal.ToString();
  s += " stdout=" + r.stdout_text + " stderr=" + r.stderr_text;
  return s;
}

}  // namespace interpd::test

#endif  // INTERPD_TESTS_TEST_SUPPORT_H_
