// resource_bench: what resource control costs.
//
//   1. Fresh isolation vs reuse: submit-to-result latency of a trivial
//      script, paced at a steady rate, through WorkerPool (the daemon adds
//      the same JSON and socket work to both). First the rate the spares
//      sustain is measured (back-to-back fresh runs), then both isolations
//      run at a fraction of it.
//   2. Memory accounting overhead: an allocation-heavy workload in a
//      runtime with accounting off and one with it on. CPython starts once
//      per process, so each measurement is a child process; off and on
//      alternate so drift on a busy machine hits both. The workload's own
//      thread CPU time is what is compared (time.thread_time() around it):
//      on a shared machine, wall time mostly measures the neighbours. Each
//      child is pinned to the same CPU. Each round pairs one child of each
//      side and takes the ratio of their fastest repetitions; the figure is
//      the median ratio over the rounds, with its range. Beside it, the
//      hook's own cost: a tight loop of PyMem_RawMalloc/PyMem_RawFree pairs,
//      off and on, which with the number of raw calls a workload makes
//      bounds what accounting can cost it.
//   3. RSS after many runs: reuse, reuse with recycling, and fresh, each in
//      its own child process, with the accounted bytes each destroyed
//      interpreter left behind.
// Prints a table per part and, last, one JSON line with every figure.
//
// Usage: resource_bench [--quick] [--only accounting|rss|latency]
//                       [--fresh-runs N] [--reuse-runs N]
// (children are the same binary with --child ...).
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "interpd/pool.h"
#include "interpd/runtime.h"
#include "memory_accounting.h"  // libinterp/src: to bind a bare thread like a worker

using namespace interpd;
using Clock = std::chrono::steady_clock;

namespace {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

double Median(std::vector<double> v) { return Percentile(std::move(v), 0.5); }

int64_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

std::unique_ptr<Runtime> StartRuntime(bool accounting) {
  RuntimeOptions ro;
  ro.memory_accounting = accounting;
  std::unique_ptr<Runtime> rt;
  Status s = Runtime::Start(ro, &rt);
  if (!s.ok()) {
    std::fprintf(stderr, "cannot start CPython: %s\n", s.ToString().c_str());
    std::exit(2);
  }
  return rt;
}

std::unique_ptr<WorkerPool> MakePool(int workers, int spares, RecycleOptions recycle = {}) {
  PoolOptions po;
  po.workers = workers;
  po.fresh_spares = spares;
  po.recycle = recycle;
  std::unique_ptr<WorkerPool> pool;
  Status s = WorkerPool::Create(*Runtime::Get(), po, &pool);
  if (!s.ok()) {
    std::fprintf(stderr, "cannot start the pool: %s\n", s.ToString().c_str());
    std::exit(2);
  }
  return pool;
}

TaskResult RunOne(WorkerPool& pool, const std::string& code, Isolation iso) {
  TaskRequest r;
  r.code = code;
  r.isolation = iso;
  return pool.Submit(std::move(r)).Get();
}

// Waits until every spare is idle again (refilled), up to `limit`.
void WaitSparesReady(WorkerPool& pool, std::chrono::seconds limit) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    PoolStats st = pool.Stats();
    bool ready = true;
    for (const auto& s : st.spares) ready = ready && s.state == "idle";
    if (ready) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// ---- Part 1: latency ---------------------------------------------------------------

struct Latency {
  double p50_us = 0, p90_us = 0, p99_us = 0;  // submit to result, as the caller sees it
  double pool_p50_us = 0;                     // queued + in the interpreter (TaskResult)
  int failures = 0;
};

// Runs `n` submissions paced `period` apart (each waits for its result
// before the next is due; a late one starts at once).
Latency Paced(WorkerPool& pool, Isolation iso, int n, std::chrono::microseconds period) {
  std::vector<double> us, pool_us;
  Latency out;
  auto next = Clock::now();
  for (int i = 0; i < n; ++i) {
    std::this_thread::sleep_until(next);
    next += period;
    const auto t0 = Clock::now();
    TaskResult r = RunOne(pool, "1", iso);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    pool_us.push_back((r.queued_ms + r.duration_ms) * 1e3);
    if (r.status != TaskStatus::kOk) ++out.failures;
  }
  out.pool_p50_us = Percentile(pool_us, 0.5);
  out.p50_us = Percentile(us, 0.5);
  out.p90_us = Percentile(us, 0.9);
  out.p99_us = Percentile(us, 0.99);
  return out;
}

struct LatencyPart {
  int spares = 0;
  double max_fresh_rate = 0;    // fresh runs per second, back to back
  double paced_rate = 0;        // the rate latencies were measured at
  Latency reuse, fresh;
};

LatencyPart MeasureLatency(bool quick) {
  LatencyPart part;
  part.spares = 2;
  auto pool = MakePool(1, part.spares);
  // Warm both paths.
  for (int i = 0; i < 20; ++i) RunOne(*pool, "1", Isolation::kReuse);
  for (int i = 0; i < 4; ++i) RunOne(*pool, "1", Isolation::kFresh);
  WaitSparesReady(*pool, std::chrono::seconds(10));

  // The sustainable rate: fresh runs submitted all at once, so each waits
  // for a spare, and the spares are refilled as fast as they can be.
  const int burst = quick ? 40 : 200;
  const auto t0 = Clock::now();
  std::vector<TaskFuture> fs;
  for (int i = 0; i < burst; ++i) {
    TaskRequest r;
    r.code = "1";
    r.isolation = Isolation::kFresh;
    fs.push_back(pool->Submit(std::move(r)));
  }
  for (auto& f : fs) f.Get();
  part.max_fresh_rate = burst / std::chrono::duration<double>(Clock::now() - t0).count();
  WaitSparesReady(*pool, std::chrono::seconds(10));

  // Latency at half that rate: a steady load the spares keep up with.
  part.paced_rate = part.max_fresh_rate / 2;
  const auto period = std::chrono::microseconds(static_cast<int64_t>(1e6 / part.paced_rate));
  const int n = quick ? 60 : 400;
  part.reuse = Paced(*pool, Isolation::kReuse, n, period);
  part.fresh = Paced(*pool, Isolation::kFresh, n, period);
  return part;
}

// ---- Part 2: accounting overhead (children) -----------------------------------------

const std::map<std::string, std::string> kWorkloads = {
    // Blocks above 512 bytes: every one is a raw-domain call (the hook's
    // per-call cost, at its worst).
    {"raw",
     "out = []\n"
     "for i in range(200_000):\n"
     "    out.append(bytes(600 + (i % 7) * 300))\n"
     "    if len(out) > 500:\n"
     "        out.clear()\n"},
    // Small-object churn: containers, strings, ints; arenas come and go.
    {"mixed",
     "out = []\n"
     "for i in range(150_000):\n"
     "    d = {'k': i, 'v': [i, i + 1, str(i)], 's': 'x' * (i % 300)}\n"
     "    out.append(d)\n"
     "    if len(out) > 20_000:\n"
     "        out = out[10_000:]\n"},
};

// Pins the calling process to its last allowed CPU, so that both sides of a
// comparison run on the same one.
void PinToOneCpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return;
  int last = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) last = c;
  }
  if (last < 0) return;
  CPU_ZERO(&set);
  CPU_SET(last, &set);
  sched_setaffinity(0, sizeof set, &set);
}

int ChildAccounting(bool on, const std::string& workload, int reps) {
  PinToOneCpu();
  auto rt = StartRuntime(on);
  auto pool = MakePool(1, 0);
  const std::string code = "import time\nt0 = time.thread_time()\n" + kWorkloads.at(workload) +
                           "time.thread_time() - t0\n";
  RunOne(*pool, code, Isolation::kReuse);  // warm-up: code cache, first arenas
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    TaskResult r = RunOne(*pool, code, Isolation::kReuse);
    if (r.status != TaskStatus::kOk || r.value.kind() != ValueKind::kFloat) return 3;
    ms.push_back(r.value.as_float() * 1e3);
  }
  std::printf("{\"median_ms\": %.3f, \"min_ms\": %.3f}\n", Median(ms), *std::min_element(ms.begin(), ms.end()));
  pool.reset();
  return 0;
}

struct MemoryAccountProbe {
  explicit MemoryAccountProbe(bool on) {
    if (on) MemoryAccounting::BindThread(&account);
  }
  ~MemoryAccountProbe() { MemoryAccounting::BindThread(nullptr); }
  MemoryAccount account;
};

// ns per PyMem_RawMalloc(1000) + PyMem_RawFree pair on a worker-like thread
// (bound to an account when accounting is on); best of 5 rounds.
int ChildHookCost(bool on) {
  PinToOneCpu();
  auto rt = StartRuntime(on);
  double best = 1e9;
  std::thread t([&] {
    // A thread bound the way a worker thread is, without an interpreter:
    // the raw domain needs no GIL.
    MemoryAccountProbe probe(on);
    constexpr int kPairs = 2'000'000;
    for (int round = 0; round < 5; ++round) {
      timespec a{}, b{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
      for (int i = 0; i < kPairs; ++i) {
        void* p = PyMem_RawMalloc(1000 + static_cast<size_t>(i & 7) * 64);
        asm volatile("" : : "r"(p) : "memory");
        PyMem_RawFree(p);
      }
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
      const double ns = (static_cast<double>(b.tv_sec - a.tv_sec) * 1e9 + static_cast<double>(b.tv_nsec - a.tv_nsec)) / kPairs;
      best = std::min(best, ns);
    }
  });
  t.join();
  std::printf("{\"ns_per_pair\": %.2f}\n", best);
  return 0;
}

// ---- Part 3: RSS (children) --------------------------------------------------------

int ChildRss(const std::string& mode, int runs) {
  auto rt = StartRuntime(true);
  RecycleOptions recycle;
  if (mode == "recycle") recycle.max_tasks = 100;
  auto pool = MakePool(1, mode == "fresh" ? 2 : 0, recycle);
  const Isolation iso = mode == "fresh" ? Isolation::kFresh : Isolation::kReuse;
  // Scripts that import something and leave a little behind in the
  // interpreter, as real ones do.
  const std::string code = "import json\njson.dumps({'n': [1, 2, 3]})";
  for (int i = 0; i < 10; ++i) RunOne(*pool, code, iso);
  const int64_t rss0 = RssBytes();
  const auto t0 = Clock::now();
  std::vector<int64_t> samples;
  for (int i = 0; i < runs; ++i) {
    RunOne(*pool, code, iso);
    if ((i + 1) % std::max(1, runs / 4) == 0) samples.push_back(RssBytes());
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  WaitSparesReady(*pool, std::chrono::seconds(30));
  // Let the last destroyed interpreters finish their teardown.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  PoolStats st = pool->Stats();
  const int64_t rss1 = RssBytes();
  std::printf("{\"rss_before\": %lld, \"rss_after\": %lld, \"seconds\": %.3f, \"destroyed\": %llu, "
              "\"left_behind\": %lld, \"samples\": [",
              static_cast<long long>(rss0), static_cast<long long>(rss1), secs,
              static_cast<unsigned long long>(st.interpreters_destroyed), static_cast<long long>(st.memory_left_behind));
  for (size_t i = 0; i < samples.size(); ++i) std::printf("%s%lld", i ? ", " : "", static_cast<long long>(samples[i]));
  std::printf("]}\n");
  std::fflush(stdout);
  // Skip finalization: its cost is not what is measured.
  _exit(0);
}

// ---- Parent: run children, read their JSON line --------------------------------------

std::string SelfExe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// Runs this binary with `args`; returns its last stdout line.
std::string RunChild(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::vector<std::string> all = {SelfExe()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

// A number field of a flat JSON object line (the children's output).
double Field(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const size_t at = json.find(k);
  return at == std::string::npos ? std::nan("") : std::strtod(json.c_str() + at + k.size(), nullptr);
}

std::vector<double> Samples(const std::string& json) {
  std::vector<double> out;
  const size_t at = json.find("\"samples\": [");
  if (at == std::string::npos) return out;
  const char* p = json.c_str() + at + 12;
  while (*p && *p != ']') {
    char* end = nullptr;
    out.push_back(std::strtod(p, &end));
    p = end;
    while (*p == ',' || *p == ' ') ++p;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 4 && args[0] == "--child" && args[1] == "accounting") {
    return ChildAccounting(args[2] == "on", args[3], args.size() > 4 ? std::atoi(args[4].c_str()) : 5);
  }
  if (args.size() >= 3 && args[0] == "--child" && args[1] == "hook") return ChildHookCost(args[2] == "on");
  if (args.size() >= 4 && args[0] == "--child" && args[1] == "rss") {
    return ChildRss(args[2], std::atoi(args[3].c_str()));
  }
  bool quick = false;
  std::string only;
  int fresh_runs = 1000;
  int reuse_runs = 10000;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--quick") quick = true;
    if (args[i] == "--only" && i + 1 < args.size()) only = args[++i];
    if (args[i] == "--fresh-runs" && i + 1 < args.size()) fresh_runs = std::atoi(args[++i].c_str());
    if (args[i] == "--reuse-runs" && i + 1 < args.size()) reuse_runs = std::atoi(args[++i].c_str());
  }
  if (quick) {
    fresh_runs = std::min(fresh_runs, 100);
    reuse_runs = std::min(reuse_runs, 1000);
  }

  // Part 2 and 3 first: they are children, and the parent's own runtime
  // (part 1) would otherwise sit in memory while they run.
  std::printf("== memory accounting overhead (workload thread CPU time; child processes pinned to one CPU, off/on paired per round)\n");
  std::printf("%-8s %12s %12s %10s\n", "workload", "best off ms", "best on ms", "overhead");
  std::map<std::string, double> overhead;
  // best off, best on, lowest and highest per-round ratio - 1
  std::map<std::string, std::array<double, 4>> figures;
  const int rounds = quick ? 2 : 10;
  for (const auto& [name, code] : kWorkloads) {
    if (!only.empty() && only != "accounting") break;
    std::vector<double> off_min, on_min, ratios;
    for (int r = 0; r < rounds; ++r) {
      // Alternate which side goes first, so drift within a round cancels.
      std::string a, b;
      if (r % 2 == 0) {
        a = RunChild({"--child", "accounting", "off", name, quick ? "3" : "7"});
        b = RunChild({"--child", "accounting", "on", name, quick ? "3" : "7"});
      } else {
        b = RunChild({"--child", "accounting", "on", name, quick ? "3" : "7"});
        a = RunChild({"--child", "accounting", "off", name, quick ? "3" : "7"});
      }
      off_min.push_back(Field(a, "min_ms"));
      on_min.push_back(Field(b, "min_ms"));
      ratios.push_back(on_min.back() / off_min.back());
    }
    const double best_off = *std::min_element(off_min.begin(), off_min.end());
    const double best_on = *std::min_element(on_min.begin(), on_min.end());
    overhead[name] = Median(ratios) - 1;
    figures[name] = {best_off, best_on, *std::min_element(ratios.begin(), ratios.end()) - 1,
                     *std::max_element(ratios.begin(), ratios.end()) - 1};
    std::printf("%-8s %12.2f %12.2f %+9.1f%%   (per-round range %+.1f%% .. %+.1f%%)\n", name.c_str(), best_off,
                best_on, 100 * overhead[name], 100 * figures[name][2], 100 * figures[name][3]);
  }
  double hook_off = 0, hook_on = 0;
  if (only.empty() || only == "accounting") {
    hook_off = Field(RunChild({"--child", "hook", "off"}), "ns_per_pair");
    hook_on = Field(RunChild({"--child", "hook", "on"}), "ns_per_pair");
    std::printf("raw malloc+free pair, best of 5: %.1f ns off, %.1f ns on (+%.1f ns per pair)\n", hook_off,
                hook_on, hook_on - hook_off);
  }

  std::printf("\n== RSS after many runs (one child process each; script: import json, dumps a dict)\n");
  std::printf("%-22s %8s %12s %12s %10s %12s %14s\n", "mode", "runs", "RSS before", "RSS after", "destroyed",
              "RSS/destroy", "accounted/dest");
  struct RssRow {
    std::string mode;
    int runs;
    std::string json;
  };
  std::vector<RssRow> rss = {{"reuse", reuse_runs, ""}, {"recycle", reuse_runs, ""}, {"fresh", fresh_runs, ""}};
  for (auto& row : rss) {
    if (!only.empty() && only != "rss") break;
    row.json = RunChild({"--child", "rss", row.mode, std::to_string(row.runs)});
    const double before = Field(row.json, "rss_before"), after = Field(row.json, "rss_after");
    const double destroyed = Field(row.json, "destroyed");
    const double per = destroyed > 0 ? (after - before) / destroyed : 0;
    const double acc = destroyed > 0 ? Field(row.json, "left_behind") / destroyed : 0;
    const char* label = row.mode == "reuse"     ? "reuse"
                        : row.mode == "recycle" ? "reuse, max_tasks=100"
                                                : "fresh (spares=2)";
    std::printf("%-22s %8d %10.1fMB %10.1fMB %10.0f %10.2fMB %12.2fMB\n", label, row.runs, before / 1e6, after / 1e6,
                destroyed, per / 1e6, acc / 1e6);
  }
  const std::vector<double> fresh_samples = Samples(rss[2].json);
  if (!fresh_samples.empty()) {
    std::printf("fresh RSS at each quarter of the runs:");
    for (double s : fresh_samples) std::printf(" %.1fMB", s / 1e6);
    std::printf("\n");
  }

  std::printf("\n== fresh isolation vs reuse: submit-to-result latency of `1` (1 worker, 2 spares)\n");
  auto rt = StartRuntime(true);
  LatencyPart lat = only.empty() || only == "latency" ? MeasureLatency(quick) : LatencyPart{};
  std::printf("fresh runs back to back: %.0f/s (what 2 spares sustain); paced at %.0f/s\n", lat.max_fresh_rate,
              lat.paced_rate);
  std::printf("%-10s %10s %10s %10s %16s %9s\n", "isolation", "p50 us", "p90 us", "p99 us", "pool p50 us", "failures");
  for (const auto& [name, l] : {std::pair<const char*, Latency>{"reuse", lat.reuse}, {"fresh", lat.fresh}}) {
    std::printf("%-10s %10.1f %10.1f %10.1f %16.1f %9d\n", name, l.p50_us, l.p90_us, l.p99_us, l.pool_p50_us,
                l.failures);
  }
  std::printf("(pool: queued + time in the interpreter, from TaskResult. The rest is two thread wake-ups,\n"
              " submit -> worker and result -> caller, which cost what the CPUs let them: each fresh run\n"
              " starts a spare's rebuild and a teardown in the background as its result is delivered)\n");
  const double added = lat.fresh.p50_us - lat.reuse.p50_us;
  std::printf("fresh adds %.1f us at p50 (goal <= 200 us)\n", added);

  std::ostringstream json;
  json << "{\"bench\": \"resource\", \"python\": \"" << rt->python_version() << "\", \"quick\": " << (quick ? "true" : "false")
       << ", \"accounting\": {";
  bool first = true;
  for (const auto& [name, o] : overhead) {
    const auto& f = figures[name];
    json << (first ? "" : ", ") << "\"" << name << "\": {\"best_off_ms\": " << f[0] << ", \"best_on_ms\": " << f[1]
         << ", \"overhead_median\": " << o << ", \"overhead_low\": " << f[2] << ", \"overhead_high\": " << f[3] << "}";
    first = false;
  }
  json << ", \"raw_pair_ns_off\": " << hook_off << ", \"raw_pair_ns_on\": " << hook_on;
  json << "}, \"rss\": {";
  first = true;
  for (const auto& row : rss) {
    json << (first ? "" : ", ") << "\"" << row.mode << "\": " << row.json;
    first = false;
  }
  json << "}, \"latency\": {\"spares\": " << lat.spares << ", \"max_fresh_rate\": " << lat.max_fresh_rate
       << ", \"paced_rate\": " << lat.paced_rate << ", \"reuse_p50_us\": " << lat.reuse.p50_us
       << ", \"reuse_p99_us\": " << lat.reuse.p99_us << ", \"fresh_p50_us\": " << lat.fresh.p50_us
       << ", \"fresh_p99_us\": " << lat.fresh.p99_us << ", \"reuse_pool_p50_us\": " << lat.reuse.pool_p50_us
       << ", \"fresh_pool_p50_us\": " << lat.fresh.pool_p50_us << ", \"added_p50_us\": " << added << "}}";
  std::printf("%s\n", json.str().c_str());
  return 0;
}
