// bench_task_roundtrip: how long does one trivial task take from Submit() to
// its result, and how does that compare with multiprocessing.Pool.apply()?
//
// One submitter thread, one task in flight at a time (closed loop); the
// script is `1`, compiled once and then served from each worker's code cache.
// Measured paths, interleaved round by round:
//   spinning   submits back to back: the worker is still in its idle spin
//              (PoolOptions::idle_spin) when the next task arrives
//   parked     a pause of gap-us (> idle_spin) before each submit, so the
//              worker has parked on its futex and must be woken; the fraction
//              of submits that really found every worker parked is reported
//   uncached   a different script every time (`1 #<i>`): compile included
//   mp         multiprocessing.Pool(workers).apply(f) with a trivial f, back
//              to back and with the same pause (in the Python helper)
// The spinning and parked paths are measured in three thread placements,
// because on a 2-CPU machine the result depends on whether the submitter and
// the worker share a CPU:
//   scheduler  nothing pinned: wherever Linux puts them (what users get)
//   split      submitter pinned to one CPU, the worker to another
//   same_cpu   both pinned to one CPU (a busy or 1-CPU machine)
// (the worker pins itself by running os.sched_setaffinity in a task; Linux
// applies it to the calling thread). The process pool is measured as
// scheduled and with all its processes' threads pinned to one CPU.
// Plus pipelined throughput: batches of `batch` tasks in flight.
// Latencies are measured with steady_clock (perf_counter_ns in the helper)
// around Submit + Get only; request construction is outside the timing.
#include <algorithm>
#include <cmath>
#include <map>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "interpd/pool.h"
#include "interpd/runtime.h"

using namespace interpd;
using namespace interpd::bench;

namespace {

struct Sample {
  std::vector<double> us;         // round trip, microseconds
  std::vector<double> queued_us;  // TaskResult::queued_ms (submit -> worker picks it up)
  std::vector<double> run_us;     // TaskResult::duration_ms (in the interpreter)
  std::vector<double> round_p50;  // p50 of each round, to show the spread
  size_t parked_hits = 0;         // parked path: submits that found all workers parked
};

bool AllParked(WorkerPool& pool) {
  for (const auto& w : pool.Stats().workers) {
    if (w.state != "idle") return false;
  }
  return true;
}

const std::vector<std::string> kPlacements = {"scheduler", "split", "same_cpu"};

std::string PyList(const std::vector<int>& cpus) {
  std::string out = "[";
  for (int c : cpus) out += std::to_string(c) + ",";
  return out + "]";
}

// Pins worker `w` (its thread) to `cpus` by running a task on it.
void PinWorker(WorkerPool& pool, int w, const std::vector<int>& cpus) {
  TaskRequest req;
  req.code = "import os\nos.sched_setaffinity(0, " + PyList(cpus) + ")\nlen(os.sched_getaffinity(0))";
  req.worker = w;
  TaskResult r = pool.Submit(std::move(req)).Get();
  if (r.status != TaskStatus::kOk || r.value.as_int() != static_cast<int64_t>(cpus.size())) {
    std::fprintf(stderr, "bench_task_roundtrip: cannot pin worker %d: %s\n", w,
                 r.error ? r.error->traceback.c_str() : r.value.Repr().c_str());
    std::exit(1);
  }
}

// Puts the submitter (this thread) and every worker where `placement` says.
void Place(WorkerPool& pool, const std::string& placement, const std::vector<int>& all) {
  std::vector<int> me = all, worker = all;
  if (placement == "split") {
    me = {all[0]};
    worker = {all[1]};
  } else if (placement == "same_cpu") {
    me = worker = {all[0]};
  }
  if (!PinThisThread(me)) {
    std::fprintf(stderr, "bench_task_roundtrip: cannot pin the submitter\n");
    std::exit(1);
  }
  for (int w = 0; w < pool.size(); ++w) PinWorker(pool, w, worker);
}

// Runs `iters` closed-loop round trips of `code` (unique: append a counter).
void RoundTrips(WorkerPool& pool, int iters, std::chrono::microseconds gap, bool unique, Sample* out) {
  static uint64_t counter = 0;
  std::vector<double> round;
  round.reserve(static_cast<size_t>(iters));
  for (int i = 0; i < iters; ++i) {
    TaskRequest req;
    req.code = unique ? "1 #" + std::to_string(++counter) : "1";
    if (gap.count() > 0) {
      std::this_thread::sleep_for(gap);
      if (AllParked(pool)) ++out->parked_hits;
    }
    const auto t0 = Clock::now();
    TaskFuture f = pool.Submit(std::move(req));
    TaskResult r = f.Get();
    const auto t1 = Clock::now();
    if (r.status != TaskStatus::kOk || r.value.kind() != ValueKind::kInt || r.value.as_int() != 1) {
      std::fprintf(stderr, "bench_task_roundtrip: the trivial task failed: %s %s\n",
                   r.error ? r.error->traceback.c_str() : "", r.refusal.ToString().c_str());
      std::exit(1);
    }
    const double us = std::chrono::duration<double, std::micro>(t1 - t0).count();
    round.push_back(us);
    out->queued_us.push_back(r.queued_ms * 1000);
    out->run_us.push_back(r.duration_ms * 1000);
  }
  out->us.insert(out->us.end(), round.begin(), round.end());
  out->round_p50.push_back(Percentile(round, 50));
}

// Tasks per second with `batch` tasks in flight at a time.
double Pipelined(WorkerPool& pool, int tasks, int batch) {
  const auto t0 = Clock::now();
  std::vector<TaskFuture> futures;
  futures.reserve(static_cast<size_t>(batch));
  for (int done = 0; done < tasks;) {
    const int k = std::min(batch, tasks - done);
    futures.clear();
    for (int i = 0; i < k; ++i) {
      TaskRequest req;
      req.code = "1";
      futures.push_back(pool.Submit(std::move(req)));
    }
    for (auto& f : futures) {
      if (f.Get().status != TaskStatus::kOk) {
        std::fprintf(stderr, "bench_task_roundtrip: a pipelined task failed\n");
        std::exit(1);
      }
    }
    done += k;
  }
  return tasks / Seconds(Clock::now() - t0);
}

void MpRoundTrips(PythonHelper& helper, int iters, int gap_us, Sample* out) {
  const Json j = helper.Call({{"op", "roundtrip"}, {"iters", iters}, {"gap_us", gap_us}});
  std::vector<double> round;
  for (const auto& ns : j["samples_ns"]) round.push_back(ns.get<double>() / 1000);
  out->us.insert(out->us.end(), round.begin(), round.end());
  out->round_p50.push_back(Percentile(round, 50));
}

void PrintRow(const std::string& label, const Latency& l) {
  std::printf("%-44s %8zu %8.1f %8.1f %8.1f %8.1f %9.1f %8.1f\n", label.c_str(), l.n, l.p50, l.p90, l.p99, l.p999,
              l.max, l.mean);
}

Json Figures(const Sample& s) {
  Json j = ToJson(Summarize(s.us));
  j["p50_by_round_us"] = s.round_p50;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags("bench_task_roundtrip",
              "Submit-to-result latency of a trivial cached script, vs multiprocessing.Pool.apply");
  flags.Number("rounds", 5, 2, "rounds; each runs every path once (iterations are split across rounds)");
  flags.Number("workers", 1, 1, "interpd workers and process-pool size (placements need 1)");
  flags.Number("warmup", 20000, 2000, "unmeasured round trips before the first round");
  flags.Number("spin-iters", 50000, 5000, "interpd back-to-back round trips per placement (total)");
  flags.Number("parked-iters", 5000, 500, "interpd round trips after a pause, per placement (total)");
  flags.Number("uncached-iters", 2000, 200, "interpd round trips of never-seen scripts (total)");
  flags.Number("gap-us", 300, 300, "pause before each submit on the parked paths (> idle_spin)");
  flags.Number("mp-iters", 20000, 2000, "multiprocessing back-to-back round trips, as scheduled (total)");
  flags.Number("mp-same-cpu-iters", 10000, 1000, "multiprocessing back-to-back round trips on one CPU (total)");
  flags.Number("mp-parked-iters", 5000, 500, "multiprocessing round trips after a pause (total)");
  flags.Number("pipeline-tasks", 200000, 20000, "interpd tasks for the pipelined throughput (total)");
  flags.Number("mp-pipeline-tasks", 20000, 2000, "multiprocessing tasks for the pipelined throughput (total)");
  flags.Number("batch", 256, 256, "tasks in flight in the pipelined throughput");
  flags.Number("idle-spin-us", 50, 50, "PoolOptions::idle_spin (the library default is 50 us)");
  flags.Parse(argc, argv);
  const int rounds = flags.integer("rounds");
  const int workers = flags.integer("workers");
  const auto gap = std::chrono::microseconds(flags.integer("gap-us"));
  auto per_round = [&](const char* name) { return std::max(1, flags.integer(name) / rounds); };
  const std::vector<int> cpus = AllowedCpus();
  // Placements other than the scheduler's need one worker and two CPUs.
  std::vector<std::string> placements = {"scheduler"};
  if (workers == 1 && cpus.size() >= 2) placements = kPlacements;

  PythonHelper helper;
  helper.Start(flags.python(), flags.bench_dir());
  const Json info = helper.Call({{"op", "info"}});
  const std::string load_before = LoadAverage();
  const std::string date = NowUtc();

  std::unique_ptr<Runtime> runtime;
  Status s = Runtime::Start(RuntimeOptions{}, &runtime);
  if (!s.ok()) {
    std::fprintf(stderr, "bench_task_roundtrip: %s\n", s.ToString().c_str());
    return 1;
  }
  {
    PoolOptions po;
    po.workers = workers;
    po.idle_spin = std::chrono::microseconds(flags.integer("idle-spin-us"));
    std::unique_ptr<WorkerPool> pool;
    s = WorkerPool::Create(*runtime, po, &pool);
    if (!s.ok()) {
      std::fprintf(stderr, "bench_task_roundtrip: %s\n", s.ToString().c_str());
      return 1;
    }
    const Json setup = helper.Call({{"op", "roundtrip_setup"}, {"workers", workers}});
    const std::string start_method = setup["start_method"];
    const std::vector<pid_t> mp_pids = setup["pids"].get<std::vector<pid_t>>();
    std::printf("bench_task_roundtrip: CPython %s, %d worker(s), idle_spin %lld us, %zu CPUs, mp start method "
                "%s, load average %s\n",
                runtime->python_version().c_str(), workers, static_cast<long long>(po.idle_spin.count()),
                cpus.size(), start_method.c_str(), load_before.c_str());

    Sample warm;
    RoundTrips(*pool, flags.integer("warmup"), std::chrono::microseconds(0), false, &warm);

    std::map<std::string, Sample> spin, parked;
    Sample uncached, mp, mp_same, mp_parked;
    std::vector<double> tput, mp_tput;
    for (int r = 0; r < rounds; ++r) {
      std::printf("round %d/%d: p50", r + 1, rounds);
      // Rotate the order: a placement inherits where the previous one left
      // the threads, and the scheduler's choice must not always follow the
      // same pinned run.
      for (size_t k = 0; k < placements.size(); ++k) {
        const std::string& pl = placements[(k + static_cast<size_t>(r)) % placements.size()];
        Place(*pool, pl, cpus);
        RoundTrips(*pool, per_round("spin-iters"), std::chrono::microseconds(0), false, &spin[pl]);
        RoundTrips(*pool, per_round("parked-iters"), gap, false, &parked[pl]);
        std::printf(" %s %.1f/%.1f us;", pl.c_str(), spin[pl].round_p50.back(), parked[pl].round_p50.back());
      }
      Place(*pool, "scheduler", cpus);
      MpRoundTrips(helper, per_round("mp-iters"), 0, &mp);
      MpRoundTrips(helper, per_round("mp-parked-iters"), flags.integer("gap-us"), &mp_parked);
      if (placements.size() > 1) {
        for (pid_t pid : mp_pids) PinProcess(pid, {cpus[0]});
        MpRoundTrips(helper, per_round("mp-same-cpu-iters"), 0, &mp_same);
        for (pid_t pid : mp_pids) PinProcess(pid, cpus);
      }
      tput.push_back(Pipelined(*pool, per_round("pipeline-tasks"), flags.integer("batch")));
      const Json t = helper.Call(
          {{"op", "throughput"}, {"tasks", per_round("mp-pipeline-tasks")}, {"batch", flags.integer("batch")}});
      mp_tput.push_back(t["tasks"].get<double>() / t["wall_s"].get<double>());
      RoundTrips(*pool, per_round("uncached-iters"), std::chrono::microseconds(0), true, &uncached);
      std::printf(" mp %.1f/%.1f us (back to back/paused)\n", mp.round_p50.back(), mp_parked.round_p50.back());
      std::fflush(stdout);
    }
    const PoolStats st = pool->Stats();
    const std::string load_after = LoadAverage();

    // ---- Report ----
    const std::string pool_name = "mp.Pool(" + std::to_string(workers) + ").apply";
    const std::string pause = std::to_string(flags.integer("gap-us")) + " us apart";
    std::printf("\n%-44s %8s %8s %8s %8s %8s %9s %8s\n", "round trip (microseconds)", "n", "p50", "p90", "p99",
                "p99.9", "max", "mean");
    for (const auto& pl : placements) PrintRow("interpd, back to back, " + pl, Summarize(spin[pl].us));
    for (const auto& pl : placements) PrintRow("interpd, " + pause + ", " + pl, Summarize(parked[pl].us));
    PrintRow("interpd, uncached script, scheduler", Summarize(uncached.us));
    PrintRow(pool_name + ", back to back, scheduler", Summarize(mp.us));
    if (!mp_same.us.empty()) PrintRow(pool_name + ", back to back, same_cpu", Summarize(mp_same.us));
    PrintRow(pool_name + ", " + pause + ", scheduler", Summarize(mp_parked.us));
    std::printf("(scheduler: nothing pinned; split: submitter and worker on different CPUs; same_cpu: both on "
                "CPU %d; per-round p50s are in the JSON)\n",
                cpus.empty() ? 0 : cpus[0]);

    const Latency ls = Summarize(spin["scheduler"].us), lp = Summarize(parked["scheduler"].us);
    const Latency lm = Summarize(mp.us), lmp = Summarize(mp_parked.us);
    const double tput_med = Median(tput), mp_tput_med = Median(mp_tput);
    uint64_t hits = 0, misses = 0;
    for (const auto& w : st.workers) {
      hits += w.code_cache_hits;
      misses += w.code_cache_misses;
    }
    std::printf("\nratios (process pool / interpd, > 1: interpd faster), scheduler placement: back to back p50 "
                "%.2fx, p99 %.2fx; after a pause p50 %.2fx, p99 %.2fx\n",
                lm.p50 / ls.p50, lm.p99 / ls.p99, lmp.p50 / lp.p50, lmp.p99 / lp.p99);
    if (!mp_same.us.empty()) {
      const Latency lss = Summarize(spin["same_cpu"].us), lms = Summarize(mp_same.us);
      const Latency lsp = Summarize(spin["split"].us), lpp = Summarize(parked["split"].us);
      std::printf("ratios on one CPU (both sides pinned): back to back p50 %.2fx, p99 %.2fx\n", lms.p50 / lss.p50,
                  lms.p99 / lss.p99);
      std::printf("ratios with interpd split over two CPUs (process pool as scheduled): back to back p50 %.2fx, "
                  "p99 %.2fx; after a pause p50 %.2fx\n",
                  lm.p50 / lsp.p50, lm.p99 / lsp.p99, lmp.p50 / lpp.p50);
    }
    std::printf("closed-loop throughput (1 / mean), scheduler: interpd %.0f tasks/s, %s %.0f tasks/s\n",
                1e6 / ls.mean, pool_name.c_str(), 1e6 / lm.mean);
    std::printf("pipelined throughput (%d in flight), median of rounds: interpd %.0f tasks/s, %s %.0f tasks/s "
                "(%.1fx)\n",
                flags.integer("batch"), tput_med, pool_name.c_str(), mp_tput_med, tput_med / mp_tput_med);
    for (const auto& pl : placements) {
      std::printf("%-9s p50 breakdown: back to back queued %.1f us + in interpreter %.1f us; after a pause queued "
                  "%.1f us + in interpreter %.1f us (worker found parked before %.0f%% of paused submits)\n",
                  pl.c_str(), Percentile(spin[pl].queued_us, 50), Percentile(spin[pl].run_us, 50),
                  Percentile(parked[pl].queued_us, 50), Percentile(parked[pl].run_us, 50),
                  100.0 * static_cast<double>(parked[pl].parked_hits) / static_cast<double>(parked[pl].us.size()));
    }
    std::printf("code cache: %llu hits, %llu misses\n", static_cast<unsigned long long>(hits),
                static_cast<unsigned long long>(misses));
    const bool goal = ls.p50 <= 5.0;
    std::printf("goal p50 <= 5 us for a cached script, back to back, scheduler placement: %s (%.1f us)",
                goal ? "met" : "NOT met", ls.p50);
    if (placements.size() > 1) {
      std::printf("; split %.1f us; same_cpu %.1f us", Summarize(spin["split"].us).p50,
                  Summarize(spin["same_cpu"].us).p50);
    }
    std::printf("\nload average before %s, after %s\n", load_before.c_str(), load_after.c_str());

    auto round2 = [](double x) { return std::round(x * 100) / 100; };
    Json out = Json::object();
    out["date"] = date;
    out["command"] = flags.command_line();
    out["flags"] = flags.ToJson();
    out["python"] = info["python"];
    out["interpd_python"] = runtime->python_version();
    out["workers"] = workers;
    out["cpus"] = cpus.size();
    out["idle_spin_us"] = po.idle_spin.count();
    out["start_method"] = start_method;
    Json jspin = Json::object(), jparked = Json::object();
    for (const auto& pl : placements) {
      jspin[pl] = Figures(spin[pl]);
      jspin[pl]["queued_p50_us"] = round2(Percentile(spin[pl].queued_us, 50));
      jspin[pl]["in_interpreter_p50_us"] = round2(Percentile(spin[pl].run_us, 50));
      jparked[pl] = Figures(parked[pl]);
      jparked[pl]["queued_p50_us"] = round2(Percentile(parked[pl].queued_us, 50));
      jparked[pl]["in_interpreter_p50_us"] = round2(Percentile(parked[pl].run_us, 50));
      jparked[pl]["parked_fraction"] =
          round2(static_cast<double>(parked[pl].parked_hits) / static_cast<double>(parked[pl].us.size()));
    }
    out["interpd_back_to_back"] = jspin;
    out["interpd_paused"] = jparked;
    out["interpd_uncached"] = Figures(uncached);
    out["process_pool_back_to_back"] = Json{{"scheduler", Figures(mp)}};
    if (!mp_same.us.empty()) out["process_pool_back_to_back"]["same_cpu"] = Figures(mp_same);
    out["process_pool_paused"] = Figures(mp_parked);
    out["ratio_process_pool_over_interpd"] = {
        {"back_to_back_p50", round2(lm.p50 / ls.p50)},
        {"back_to_back_p99", round2(lm.p99 / ls.p99)},
        {"paused_p50", round2(lmp.p50 / lp.p50)},
        {"paused_p99", round2(lmp.p99 / lp.p99)}};
    if (!mp_same.us.empty()) {
      const Latency lss = Summarize(spin["same_cpu"].us), lms = Summarize(mp_same.us);
      out["ratio_process_pool_over_interpd"]["same_cpu_back_to_back_p50"] = round2(lms.p50 / lss.p50);
      out["ratio_process_pool_over_interpd"]["same_cpu_back_to_back_p99"] = round2(lms.p99 / lss.p99);
      const Latency lsp = Summarize(spin["split"].us), lpp = Summarize(parked["split"].us);
      out["ratio_process_pool_over_interpd"]["split_back_to_back_p50"] = round2(lm.p50 / lsp.p50);
      out["ratio_process_pool_over_interpd"]["split_back_to_back_p99"] = round2(lm.p99 / lsp.p99);
      out["ratio_process_pool_over_interpd"]["split_paused_p50"] = round2(lmp.p50 / lpp.p50);
    }
    out["closed_loop_tasks_per_s"] = {{"interpd", std::round(1e6 / ls.mean)},
                                      {"process_pool", std::round(1e6 / lm.mean)}};
    out["pipelined_tasks_per_s"] = {{"batch", flags.integer("batch")},
                                    {"interpd", std::round(tput_med)},
                                    {"process_pool", std::round(mp_tput_med)},
                                    {"ratio", round2(tput_med / mp_tput_med)}};
    out["code_cache"] = {{"hits", hits}, {"misses", misses}};
    out["goal_p50_le_5us"] = goal;
    out["loadavg_before"] = load_before;
    out["loadavg_after"] = load_after;
    PrintFinalJson("bench_task_roundtrip", out);
  }
  return 0;
}
