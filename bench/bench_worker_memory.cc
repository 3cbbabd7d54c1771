// bench_worker_memory: how much memory does one more worker cost, in interpd
// and in a multiprocessing.Pool?
//
// interpd: each pool size is measured in a fresh process (this program
// re-run with --child-pool N), so no pool inherits memory an earlier one left
// behind (cached thread stacks, malloc arenas, CPython's leaked interpreter
// state). The child reads its RSS and PSS (/proc/self/status, smaps_rollup)
// after Runtime::Start, after a pool of N workers has started and settled
// (idle workers: interpreter created, `interpd` module imported, stdio sinks
// installed), after each worker ran one trivial task (`1`: the first compile
// fills the code cache), and after each worker ran gc.collect(). The cost of
// a worker is the least-squares slope of the increase over N.
// A second child (--child-churn N) creates and destroys a pool of N workers
// repeatedly: the RSS it keeps per destroyed worker is what replacing
// workers (an abandoned worker's slot) costs for the life of the process.
//
// multiprocessing: the Python helper starts Pool(N) with each start method
// asked for and makes every worker run one trivial task, then gc.collect();
// this program reads each worker process's VmRSS and Pss. RSS counts pages
// the children share with their parent (fork) or with each other once per
// child; PSS splits shared pages among the processes mapping them. Cost of a
// worker = slope over N of (sum of the children's PSS + the helper's PSS
// change), and the same with RSS.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "interpd/pool.h"
#include "interpd/runtime.h"

using namespace interpd;
using namespace interpd::bench;

namespace {

double MiB(long kib) { return static_cast<double>(kib) / 1024.0; }
double R2(double x) { return std::round(x * 100) / 100; }

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

Json MemJson(const Memory& m) {
  return {{"rss_kib", m.rss_kib}, {"pss_kib", m.pss_kib}, {"anon_kib", m.rss_anon_kib}};
}

bool RunOnEach(WorkerPool& pool, int n, const std::string& code) {
  std::vector<TaskFuture> futures;
  for (int w = 0; w < n; ++w) {
    TaskRequest req;
    req.code = code;
    req.worker = w;
    futures.push_back(pool.Submit(std::move(req)));
  }
  bool ok = true;
  for (auto& f : futures) ok = f.Get().status == TaskStatus::kOk && ok;
  return ok;
}

std::unique_ptr<Runtime> StartRuntime() {
  std::unique_ptr<Runtime> runtime;
  Status s = Runtime::Start(RuntimeOptions{}, &runtime);
  if (!s.ok()) {
    std::fprintf(stderr, "bench_worker_memory: %s\n", s.ToString().c_str());
    std::exit(1);
  }
  return runtime;
}

std::unique_ptr<WorkerPool> MakePool(Runtime& runtime, int n) {
  PoolOptions po;
  po.workers = n;
  std::unique_ptr<WorkerPool> pool;
  Status s = WorkerPool::Create(runtime, po, &pool);
  if (!s.ok()) {
    std::fprintf(stderr, "bench_worker_memory: %s\n", s.ToString().c_str());
    std::exit(1);
  }
  return pool;
}

// Child: one pool of n workers in a fresh process; prints one JSON line.
int ChildPool(int n, std::chrono::milliseconds settle) {
  std::this_thread::sleep_for(settle);
  const Memory start = ReadMemory();
  std::unique_ptr<Runtime> runtime = StartRuntime();
  std::this_thread::sleep_for(settle);
  const Memory runtime_mem = ReadMemory();
  Json out;
  {
    std::unique_ptr<WorkerPool> pool = MakePool(*runtime, n);
    std::this_thread::sleep_for(settle);
    const Memory idle = ReadMemory();
    if (!RunOnEach(*pool, n, "1")) return 1;
    std::this_thread::sleep_for(settle);
    const Memory task = ReadMemory();
    if (!RunOnEach(*pool, n, "import gc\ngc.collect()")) return 1;
    std::this_thread::sleep_for(settle);
    const Memory gc = ReadMemory();
    out = {{"start", MemJson(start)}, {"runtime", MemJson(runtime_mem)}, {"idle", MemJson(idle)},
           {"task", MemJson(task)},   {"gc", MemJson(gc)}};
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

// Child: creates and destroys a pool of n workers `cycles` times; prints the
// RSS after each destruction as one JSON line.
int ChildChurn(int n, int cycles, std::chrono::milliseconds settle) {
  std::unique_ptr<Runtime> runtime = StartRuntime();
  Json rss = Json::array();
  for (int c = 0; c < cycles; ++c) {
    {
      std::unique_ptr<WorkerPool> pool = MakePool(*runtime, n);
      if (!RunOnEach(*pool, n, "1")) return 1;
    }
    std::this_thread::sleep_for(settle);
    rss.push_back(ReadMemory().rss_kib);
  }
  std::printf("%s\n", Json{{"rss_kib_after_each", rss}}.dump().c_str());
  return 0;
}

Json LastJsonLine(const std::string& text) {
  std::string last;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty()) last = line;
  }
  return Json::parse(last);
}

struct MpPoint {
  long task_rss = 0, task_pss = 0, gc_rss = 0, gc_pss = 0;  // KiB, summed over the workers
  long helper_before = 0, helper_task = 0, helper_gc = 0;   // the helper's PSS
};

}  // namespace

int main(int argc, char** argv) {
  // Internal modes: this program re-run as a fresh process for one measurement.
  if (argc >= 4 && std::strcmp(argv[1], "--child-pool") == 0) {
    return ChildPool(std::atoi(argv[2]), std::chrono::milliseconds(std::atoi(argv[3])));
  }
  if (argc >= 5 && std::strcmp(argv[1], "--child-churn") == 0) {
    return ChildChurn(std::atoi(argv[2]), std::atoi(argv[3]), std::chrono::milliseconds(std::atoi(argv[4])));
  }

  Flags flags("bench_worker_memory", "Memory per worker: interpd workers vs multiprocessing.Pool processes");
  flags.Number("rounds", 3, 1, "sweeps over the pool sizes (figures are medians)");
  flags.Text("sizes", "1,2,4,8", "1,2,4", "pool sizes, comma-separated");
  flags.Number("settle-ms", 300, 100, "pause before each reading");
  flags.Text("start-methods", "default,spawn,forkserver", "default",
             "multiprocessing start methods to measure ('default': the platform's)");
  flags.Number("churn-cycles", 10, 4, "pool create/destroy cycles for the retained-memory figure");
  flags.Number("churn-workers", 2, 2, "workers per pool in those cycles");
  flags.Parse(argc, argv);
  const int rounds = flags.integer("rounds");
  std::vector<int> sizes;
  for (const auto& s : Split(flags.text("sizes"))) sizes.push_back(std::stoi(s));
  const int settle_ms = flags.integer("settle-ms");
  const auto settle = std::chrono::milliseconds(settle_ms);
  if (sizes.size() < 2) {
    std::fprintf(stderr, "bench_worker_memory: --sizes needs at least two sizes for a slope\n");
    return 2;
  }
  const std::vector<double> xs(sizes.begin(), sizes.end());
  const std::string self = "/proc/self/exe";

  PythonHelper helper;
  helper.Start(flags.python(), flags.bench_dir());
  const Json info = helper.Call({{"op", "info"}});
  const std::string default_method = info["default_start_method"];
  const std::string date = NowUtc();
  std::printf("bench_worker_memory: CPython %s, sizes %s, %d round(s), settle %d ms; load average %s\n",
              info["python"].get<std::string>().c_str(), flags.text("sizes").c_str(), rounds, settle_ms,
              LoadAverage().c_str());

  // ---- interpd: one fresh process per (round, size) ----
  // stage -> per round -> per size: increase over the RSS after Runtime::Start, KiB.
  const std::vector<std::string> stages = {"idle", "task", "gc"};
  std::map<std::string, std::vector<std::vector<double>>> rss, pss, anon;
  std::vector<double> runtime_rss, start_rss;
  for (int r = 0; r < rounds; ++r) {
    for (const auto& st : stages) {
      rss[st].emplace_back();
      pss[st].emplace_back();
      anon[st].emplace_back();
    }
    for (int n : sizes) {
      const Json j = LastJsonLine(RunAndCapture({self, "--child-pool", std::to_string(n), std::to_string(settle_ms)}));
      const Json& base = j["runtime"];
      start_rss.push_back(MiB(j["start"]["rss_kib"].get<long>()));
      runtime_rss.push_back(MiB(base["rss_kib"].get<long>()));
      for (const auto& st : stages) {
        rss[st].back().push_back(MiB(j[st]["rss_kib"].get<long>() - base["rss_kib"].get<long>()));
        pss[st].back().push_back(MiB(j[st]["pss_kib"].get<long>() - base["pss_kib"].get<long>()));
        anon[st].back().push_back(MiB(j[st]["anon_kib"].get<long>() - base["anon_kib"].get<long>()));
      }
      std::printf("round %d, interpd %d worker(s): RSS +%.2f MiB idle, +%.2f MiB after a task, +%.2f MiB after "
                  "gc.collect()\n",
                  r + 1, n, rss["idle"].back().back(), rss["task"].back().back(), rss["gc"].back().back());
      std::fflush(stdout);
    }
  }
  auto slope = [&](const std::vector<std::vector<double>>& per_round) {
    std::vector<double> s;
    for (const auto& ys : per_round) s.push_back(Slope(xs, ys));
    return Median(s);
  };
  auto at = [&](const std::vector<std::vector<double>>& per_round, size_t k) {
    std::vector<double> v;
    for (const auto& ys : per_round) v.push_back(ys[k]);
    return Median(v);
  };

  // ---- interpd: memory kept by destroyed workers ----
  const int churn_n = flags.integer("churn-workers"), churn_cycles = flags.integer("churn-cycles");
  const Json churn = LastJsonLine(RunAndCapture(
      {self, "--child-churn", std::to_string(churn_n), std::to_string(churn_cycles), std::to_string(settle_ms)}));
  std::vector<double> cx, cy;
  for (size_t c = 0; c < churn["rss_kib_after_each"].size(); ++c) {
    cx.push_back(static_cast<double>(c));
    cy.push_back(MiB(churn["rss_kib_after_each"][c].get<long>()));
  }
  const double kept_per_worker = Slope(cx, cy) / churn_n;
  std::printf("pool create/destroy x%d (%d workers each): RSS %.1f -> %.1f MiB, %.2f MiB kept per destroyed "
              "worker\n",
              churn_cycles, churn_n, cy.front(), cy.back(), kept_per_worker);

  // ---- multiprocessing ----
  std::vector<std::string> methods;
  for (const auto& m : Split(flags.text("start-methods"))) {
    const std::string name = m == "default" ? default_method : m;
    if (std::find(methods.begin(), methods.end(), name) == methods.end()) methods.push_back(name);
  }
  std::map<std::string, std::vector<std::vector<MpPoint>>> mp;
  for (const auto& method : methods) {
    auto& per_round = mp[method];
    per_round.resize(static_cast<size_t>(rounds));
    for (int r = 0; r < rounds; ++r) {
      for (int n : sizes) {
        MpPoint p;
        std::this_thread::sleep_for(settle);
        p.helper_before = ReadMemory(helper.pid()).pss_kib;
        const Json j = helper.Call({{"op", "mem_pool"}, {"workers", n}, {"start_method", method}});
        std::this_thread::sleep_for(settle);
        for (const auto& pid : j["pids"]) {
          const Memory m = ReadMemory(pid.get<pid_t>());
          p.task_rss += m.rss_kib;
          p.task_pss += m.pss_kib;
        }
        p.helper_task = ReadMemory(helper.pid()).pss_kib;
        helper.Call({{"op", "mem_pool_gc"}});
        std::this_thread::sleep_for(settle);
        for (const auto& pid : j["pids"]) {
          const Memory m = ReadMemory(pid.get<pid_t>());
          p.gc_rss += m.rss_kib;
          p.gc_pss += m.pss_kib;
        }
        p.helper_gc = ReadMemory(helper.pid()).pss_kib;
        helper.Call({{"op", "mem_pool_close"}});
        per_round[static_cast<size_t>(r)].push_back(p);
        std::printf("round %d, mp.Pool(%d) [%s]: workers' RSS %.1f MiB, PSS %.1f MiB; after gc.collect() RSS "
                    "%.1f MiB, PSS %.1f MiB\n",
                    r + 1, n, method.c_str(), MiB(p.task_rss), MiB(p.task_pss), MiB(p.gc_rss), MiB(p.gc_pss));
        std::fflush(stdout);
      }
    }
  }

  // ---- Report ----
  std::printf("\nthis process: RSS %.1f MiB before Runtime::Start, %.1f MiB after (medians over the children)\n",
              Median(start_rss), Median(runtime_rss));
  std::printf("\n%-30s %8s %10s %10s %10s %10s\n", "interpd, MiB over Runtime", "workers", "RSS idle",
              "+1st task", "+gc", "PSS idle");
  Json jpoints = Json::array();
  for (size_t k = 0; k < sizes.size(); ++k) {
    std::printf("%-30s %8d %+10.2f %+10.2f %+10.2f %+10.2f\n", k == 0 ? "(fresh process per size)" : "", sizes[k],
                at(rss["idle"], k), at(rss["task"], k), at(rss["gc"], k), at(pss["idle"], k));
    jpoints.push_back({{"workers", sizes[k]},
                       {"rss_idle_mib", R2(at(rss["idle"], k))},
                       {"rss_after_task_mib", R2(at(rss["task"], k))},
                       {"rss_after_gc_mib", R2(at(rss["gc"], k))},
                       {"pss_idle_mib", R2(at(pss["idle"], k))}});
  }
  const double i_idle = slope(rss["idle"]), i_task = slope(rss["task"]), i_gc = slope(rss["gc"]);
  const double i_idle_pss = slope(pss["idle"]), i_task_pss = slope(pss["task"]), i_gc_pss = slope(pss["gc"]);
  std::printf("%-30s %8s %+10.2f %+10.2f %+10.2f %+10.2f\n", "per worker (slope)", "", i_idle, i_task, i_gc,
              i_idle_pss);
  std::printf("  per worker: idle RSS %.2f MiB (anonymous %.2f), PSS %.2f; after a task RSS %.2f, PSS %.2f; after "
              "gc.collect() RSS %.2f, PSS %.2f\n",
              i_idle, slope(anon["idle"]), i_idle_pss, i_task, i_task_pss, i_gc, i_gc_pss);

  std::printf("\n%-30s %8s %10s %10s %10s %10s\n", "multiprocessing, MiB", "workers", "sum RSS", "sum PSS",
              "RSS +gc", "PSS +gc");
  Json jmp = Json::object();
  std::map<std::string, std::map<std::string, double>> ms;  // method -> figure -> per worker
  for (const auto& method : methods) {
    const auto& per_round = mp[method];
    Json points = Json::array();
    // PSS totals include the helper's own change (fork children take a
    // share of pages the helper had to itself before).
    auto total = [](long children, long helper_now, long helper_before) {
      return MiB(children + helper_now - helper_before);
    };
    std::vector<std::vector<double>> y_rss(per_round.size()), y_pss(per_round.size()), y_grss(per_round.size()),
        y_gpss(per_round.size());
    for (size_t r = 0; r < per_round.size(); ++r) {
      for (const auto& p : per_round[r]) {
        y_rss[r].push_back(MiB(p.task_rss));
        y_pss[r].push_back(total(p.task_pss, p.helper_task, p.helper_before));
        y_grss[r].push_back(MiB(p.gc_rss));
        y_gpss[r].push_back(total(p.gc_pss, p.helper_gc, p.helper_before));
      }
    }
    for (size_t k = 0; k < sizes.size(); ++k) {
      std::printf("%-30s %8d %10.2f %10.2f %10.2f %10.2f\n", k == 0 ? ("Pool [" + method + "]").c_str() : "",
                  sizes[k], at(y_rss, k), at(y_pss, k), at(y_grss, k), at(y_gpss, k));
      points.push_back({{"workers", sizes[k]},
                        {"children_rss_mib", R2(at(y_rss, k))},
                        {"total_pss_mib", R2(at(y_pss, k))},
                        {"children_rss_after_gc_mib", R2(at(y_grss, k))},
                        {"total_pss_after_gc_mib", R2(at(y_gpss, k))}});
    }
    ms[method] = {{"rss", slope(y_rss)}, {"pss", slope(y_pss)}, {"rss_gc", slope(y_grss)}, {"pss_gc", slope(y_gpss)}};
    std::printf("%-30s %8s %10.2f %10.2f %10.2f %10.2f\n", "per worker (slope)", "", ms[method]["rss"],
                ms[method]["pss"], ms[method]["rss_gc"], ms[method]["pss_gc"]);
    jmp[method] = {{"points", points},
                   {"per_worker_rss_mib", R2(ms[method]["rss"])},
                   {"per_worker_pss_mib", R2(ms[method]["pss"])},
                   {"per_worker_rss_after_gc_mib", R2(ms[method]["rss_gc"])},
                   {"per_worker_pss_after_gc_mib", R2(ms[method]["pss_gc"])}};
  }
  std::printf("(PSS columns: the workers' PSS plus the change in the helper's own PSS)\n");

  std::printf("\nper worker, process pool / interpd (> 1: interpd smaller):\n");
  Json ratios = Json::object();
  for (const auto& method : methods) {
    auto& m = ms[method];
    std::printf("  %-11s after 1 task: PSS %.2f / %.2f MiB = %.2fx, RSS %.2f / %.2f MiB = %.2fx; after "
                "gc.collect(): PSS %.2f / %.2f MiB = %.2fx\n",
                method.c_str(), m["pss"], i_task_pss, m["pss"] / i_task_pss, m["rss"], i_task, m["rss"] / i_task,
                m["pss_gc"], i_gc_pss, m["pss_gc"] / i_gc_pss);
    ratios[method] = {{"pss_after_task", R2(m["pss"] / i_task_pss)},
                      {"rss_after_task", R2(m["rss"] / i_task)},
                      {"pss_after_gc", R2(m["pss_gc"] / i_gc_pss)}};
  }
  const bool goal = i_idle <= 3.0;
  std::printf("goal <= 3 MiB per idle worker: %s (%.2f MiB RSS)\n", goal ? "met" : "NOT met", i_idle);

  Json out = Json::object();
  out["date"] = date;
  out["command"] = flags.command_line();
  out["flags"] = flags.ToJson();
  out["python"] = info["python"];
  out["default_start_method"] = default_method;
  out["rss_before_runtime_mib"] = R2(Median(start_rss));
  out["rss_after_runtime_mib"] = R2(Median(runtime_rss));
  out["interpd"] = {{"points", jpoints},
                    {"per_worker_idle_rss_mib", R2(i_idle)},
                    {"per_worker_idle_anon_mib", R2(slope(anon["idle"]))},
                    {"per_worker_idle_pss_mib", R2(i_idle_pss)},
                    {"per_worker_after_task_rss_mib", R2(i_task)},
                    {"per_worker_after_task_pss_mib", R2(i_task_pss)},
                    {"per_worker_after_gc_rss_mib", R2(i_gc)},
                    {"per_worker_after_gc_pss_mib", R2(i_gc_pss)},
                    {"rss_kept_per_destroyed_worker_mib", R2(kept_per_worker)},
                    {"churn_rss_mib", cy}};
  out["process_pool"] = jmp;
  out["ratio_process_pool_over_interpd"] = ratios;
  out["goal_idle_worker_le_3mib"] = goal;
  out["loadavg"] = LoadAverage();
  PrintFinalJson("bench_worker_memory", out);
  return 0;
}
