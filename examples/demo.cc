// interpd-demo: runs the example scripts in parallel on a worker pool and
// prints what each worker did. The quickest way to see the runtime work
// without the daemon:  interpd-demo examples/scripts
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "interpd/pool.h"
#include "interpd/runtime.h"

namespace fs = std::filesystem;
using namespace interpd;

int main(int argc, char** argv) {
  const fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::path("examples/scripts");
  std::vector<fs::path> scripts;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".py") scripts.push_back(e.path());
  }
  if (ec || scripts.empty()) {
    std::fprintf(stderr, "interpd-demo: no .py scripts in %s\n", dir.c_str());
    return 2;
  }
  std::sort(scripts.begin(), scripts.end());

  std::unique_ptr<Runtime> runtime;
  Status s = Runtime::Start(RuntimeOptions{}, &runtime);
  if (!s.ok()) {
    std::fprintf(stderr, "interpd-demo: %s\n", s.ToString().c_str());
    return 1;
  }
  int rc = 0;
  {
    std::unique_ptr<WorkerPool> pool;
    s = WorkerPool::Create(*runtime, PoolOptions{}, &pool);
    if (!s.ok()) {
      std::fprintf(stderr, "interpd-demo: %s\n", s.ToString().c_str());
      return 1;
    }
    std::printf("CPython %s, %d workers, %zu scripts from %s\n\n", runtime->python_version().c_str(),
                pool->size(), scripts.size(), dir.c_str());
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<TaskFuture> futures;
    for (const auto& p : scripts) {
      std::ifstream in(p);
      std::stringstream text;
      text << in.rdbuf();
      TaskRequest req;
      req.code = text.str();
      req.filename = p.filename().string();
      req.timeout = std::chrono::seconds(30);
      futures.push_back(pool->Submit(std::move(req)));
    }
    for (size_t i = 0; i < futures.size(); ++i) {
      TaskResult r = futures[i].Get();
      std::printf("== %s  worker %d (interpreter %lld)  %s  %.1f ms\n", scripts[i].filename().c_str(), r.worker,
                  static_cast<long long>(r.interpreter_id), std::string(TaskStatusName(r.status)).c_str(),
                  r.duration_ms);
      if (!r.stdout_text.empty()) std::printf("%s", r.stdout_text.c_str());
      if (r.status == TaskStatus::kOk && !r.value.is_none()) std::printf("-> %s\n", r.value.Repr().c_str());
      if (r.error) std::printf("%s", r.error->traceback.c_str());
      if (!r.refusal.ok()) std::printf("refused: %s\n", r.refusal.ToString().c_str());
      std::printf("\n");
      if (!r.refusal.ok()) rc = 1;
    }
    const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    double busy = 0;
    PoolStats st = pool->Stats();
    std::printf("wall %.1f ms; per worker:", wall);
    for (const auto& w : st.workers) {
      std::printf("  #%d ran %llu (cpu %.2f s)", w.id, static_cast<unsigned long long>(w.tasks_run), w.cpu_seconds);
      busy += w.cpu_seconds;
    }
    std::printf("\n");
  }
  return rc;
}
