// bench_sharing: interpd's Python-level channels and SharedBuffer between two
// worker interpreters, against the alternatives a user has today, all in one
// run (issue 3; DESIGN.md "Why it exists").
//
//   interpd    two pinned scripts in one WorkerPool (two threads, two isolated
//              interpreters with their own GIL), interpd.channel(name).
//   cpq        CPython 3.13's cross-interpreter queue
//              (test.support.interpreters.queues over _interpqueues),
//              syncobj=True, get() as shipped: it sleeps 10 ms while empty.
//              Main interpreter + one subinterpreter (own GIL) on a thread.
//   cpq_poll   the same queue, get_nowait() in a busy loop (no sleeping):
//              the queue's own cost, at the price of a core.
//   mpq        multiprocessing.Queue between two processes.
// The alternatives run in one helper process (bench/sharing_alternatives.py,
// under the CPython the runtime embeds) that takes commands on stdin, so every
// test runs interpd and each alternative back to back, in a rotated order,
// round after round; each figure is the median over rounds.
//
// Tests (timing is taken inside the scripts with time.perf_counter, which is
// CLOCK_MONOTONIC and so comparable across threads and processes):
//   1. throughput, one direction, of int and of one 16-byte bytes object:
//      N / (consumer's time after the last recv - producer's before the first
//      send), and each side's thread CPU time per message (on a shared
//      machine the wall time also counts the time a thread did not run);
//   2. ping-pong round trip of an int, p50/p99;
//   3. 1 MiB and 64 MiB payloads, receiver-driven one at a time: one-way
//      latency (sender's clock before it wraps/sends, receiver's clock when it
//      has the object), p50/p99; interpd sends a SharedBuffer (and, for
//      reference, plain bytes), the alternatives send bytes (copied), and
//      cpq also a memoryview (3.13 shares it read-only). The address of the
//      first byte is compared on both sides.
//   4. breakdown: in ONE interpreter (no second thread, nobody to wake), the
//      per-call cost of send/recv, send_nowait/recv_nowait and is_shareable
//      (conversion alone), so conversion and queue cost can be told apart
//      from cross-thread wake-up and cache-line transfer.
//
// Prints a table (figures, and ratios interpd / alternative per line), the
// goals met or missed, and one final line of JSON.
//
// Usage: bench_sharing [--rounds N] [--quick] [--python PATH] [--helper PATH]
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "interpd/pool.h"
#include "interpd/runtime.h"

extern char** environ;

namespace interpd {
namespace {

using json = nlohmann::json;

// ---- Parameters ----------------------------------------------------------------

struct Options {
  int rounds = 5;
  bool quick = false;
  std::string python = INTERPD_BENCH_PYTHON;
  std::string helper = INTERPD_BENCH_HELPER;
  // Messages per run, per implementation: each run lasts ~0.2-0.8 s on an
  // idle machine (CPython's queue waits in 10 ms sleeps, so it gets fewer).
  int64_t tput_interpd = 1'000'000;
  int64_t tput_cpq = 100'000;
  int64_t tput_mpq = 30'000;
  int pp_interpd = 20'000;
  int pp_cpq = 60;  // ~15 ms each as shipped
  int pp_cpq_poll = 5'000;
  int pp_mpq = 3'000;
  int pay_interpd = 300;       // SharedBuffer: any size
  int pay_interpd_bytes_1m = 100;
  int pay_interpd_bytes_64m = 4;
  int pay_cpq_1m = 30;
  int pay_cpq_64m = 6;
  int pay_poll_1m = 100;
  int pay_mpq_1m = 50;
  int pay_mpq_64m = 3;
  int64_t local_n = 20'000;  // calls per repetition (kLocalReps repetitions)
};

void MakeQuick(Options* o) {
  o->quick = true;
  o->rounds = 1;
  o->tput_interpd = 100'000;
  o->tput_cpq = 10'000;
  o->tput_mpq = 5'000;
  o->pp_interpd = 2'000;
  o->pp_cpq = 10;
  o->pp_cpq_poll = 300;
  o->pp_mpq = 300;
  o->pay_interpd = 50;
  o->pay_interpd_bytes_1m = 10;
  o->pay_interpd_bytes_64m = 2;
  o->pay_cpq_1m = 5;
  o->pay_cpq_64m = 2;
  o->pay_poll_1m = 10;
  o->pay_mpq_1m = 5;
  o->pay_mpq_64m = 2;
  o->local_n = 5'000;
}

constexpr int64_t kMiB = 1 << 20;
constexpr int kLocalReps = 7;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- Small helpers -------------------------------------------------------------

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_sharing: %s\n", what.c_str());
  std::exit(1);
}

double Median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest-rank on the sorted samples (index floor(q * (n - 1))).
double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  f >> one;
  return one.empty() ? "?" : one;
}

std::string Replace(std::string s, const std::vector<std::pair<std::string, std::string>>& subst) {
  for (const auto& [from, to] : subst) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  }
  return s;
}

// ---- The helper process (the alternatives) ---------------------------------------

class Helper {
 public:
  Helper(const std::string& python, const std::string& script) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) Die("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    for (int fd : {in[0], in[1], out[0], out[1]}) posix_spawn_file_actions_addclose(&fa, fd);
    std::vector<std::string> args = {python, "-X", "faulthandler", script};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, python.c_str(), &fa, nullptr, argv.data(), environ) != 0) {
      Die("cannot start " + python);
    }
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    json hello = ReadLine();
    if (!hello.value("ready", false)) Die("helper did not start: " + hello.dump());
    python_version_ = hello.value("python", "?");
  }
  ~Helper() {
    std::fputs("{\"test\":\"quit\"}\n", to_);
    std::fclose(to_);
    std::fclose(from_);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;

  json Call(const json& cmd) {
    const std::string line = cmd.dump() + "\n";
    std::fputs(line.c_str(), to_);
    std::fflush(to_);
    json r = ReadLine();
    if (r.contains("error")) Die("helper: " + cmd.dump() + ": " + r["error"].get<std::string>());
    if (r.contains("ok") && !r["ok"].get<bool>()) Die("helper: wrong values received in " + cmd.dump());
    return r;
  }

  const std::string& python_version() const { return python_version_; }

 private:
  json ReadLine() {
    std::string line;
    char buf[1 << 16];
    while (std::fgets(buf, sizeof buf, from_) != nullptr) {
      line += buf;
      if (!line.empty() && line.back() == '\n') break;
    }
    if (line.empty()) Die("helper exited (see its stderr above)");
    return json::parse(line);
  }

  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
  std::string python_version_;
};

// ---- interpd scripts -------------------------------------------------------------

// Every hot loop is in a function (fast locals), as in the helper: at module
// level each name costs a dict lookup, which measured 40-200 ns per loop
// iteration here, more than the channel call itself.

// Throughput: the consumer (worker 0) signals ready, the producer (worker 1)
// takes t0 and sends N values; the consumer takes t1 after the last.
const char* kTputConsumer = R"(import interpd, time
def main(n):
    pc = time.perf_counter
    q = interpd.channel('@NAME@')
    interpd.channel('@NAME@-ctl').send(1)
    recv = q.recv
    x = None
    c0 = time.thread_time()
    for _ in range(n):
        x = recv()
    t1 = pc()
    return (t1, x == n - 1 if '@KIND@' == 'int' else x == bytes(16), time.thread_time() - c0)
main(@N@)
)";
const char* kTputProducer = R"(import interpd, time
def main(n):
    pc = time.perf_counter
    q = interpd.channel('@NAME@')
    value = bytes(16)
    send = q.send
    interpd.channel('@NAME@-ctl').recv()
    c0 = time.thread_time()
    t0 = pc()
    if '@KIND@' == 'int':
        for i in range(n):
            send(i)
    else:
        for i in range(n):
            send(value)
    return (t0, pc(), time.thread_time() - c0)
main(@N@)
)";

const char* kEcho = R"(import interpd
def main():
    ping = interpd.channel('@NAME@-ping')
    pong = interpd.channel('@NAME@-pong')
    recv, send = ping.recv, pong.send
    while True:
        x = recv()
        send(x)
        if x is None:
            break
main()
)";
const char* kPingPong = R"(import interpd, time
def main(n, warmup):
    pc = time.perf_counter
    ping = interpd.channel('@NAME@-ping')
    pong = interpd.channel('@NAME@-pong')
    send, recv = ping.send, pong.recv
    rtt = []
    ok = True
    for i in range(warmup + n):
        t0 = pc()
        send(i)
        x = recv()
        t1 = pc()
        ok = ok and x == i
        if i >= warmup:
            rtt.append(t1 - t0)
    send(None)
    recv()
    return (rtt, ok)
main(@N@, @WARMUP@)
)";

// Payload, receiver-driven: the receiver (worker 0) asks, the sender
// (worker 1) takes t0, wraps (SharedBuffer mode) and sends.
const char* kPayloadReceiver = R"(import interpd, time
def main(n, size, sb):
    pc = time.perf_counter
    q = interpd.channel('@NAME@')
    req = interpd.channel('@NAME@-req')
    t1s, addrs = [], []
    ok = True
    for _ in range(n):
        req.send(1)
        x = q.recv()
        t1s.append(pc())
        ok = ok and len(x) == size
        addrs.append(x.address if sb else 0)
        del x
    req.send(1)
    return (t1s, addrs, ok)
main(@N@, @SIZE@, @SB@)
)";
const char* kPayloadSender = R"(import interpd, sys, time
def main(n, size, sb):
    pc = time.perf_counter
    SharedBuffer = interpd.SharedBuffer
    q = interpd.channel('@NAME@')
    req = interpd.channel('@NAME@-req')
    data = b'\x01' * size
    addr = id(data) + sys.getsizeof(b'') - 1  # the first byte of the bytes object
    t0s = []
    zero_copy = True
    for _ in range(n):
        req.recv()
        t0 = pc()
        if sb:
            b = SharedBuffer(data)
            q.send(b)
            zero_copy = zero_copy and b.zero_copy and b.address == addr
            del b
        else:
            q.send(data)
        t0s.append(t0)
    req.recv()
    return (t0s, addr, zero_copy)
main(@N@, @SIZE@, @SB@)
)";

// Single interpreter, nobody to wake: ns per call, the best of `reps`
// repetitions of n calls (the minimum is the cost without preemption, which
// on a shared machine hits some repetitions). "fill" sends n into an empty
// channel, "drain" receives them; is_shareable() is the conversion alone.
const char* kLocal = R"(import interpd, time
def main(n, reps):
    pc = time.perf_counter
    c = interpd.Channel()
    sn, rn, s, r = c.send_nowait, c.recv_nowait, c.send, c.recv
    ish = interpd.is_shareable
    SharedBuffer = interpd.SharedBuffer
    big = b'\x01' * (64 << 20)
    out = {}
    def best(name, fn, calls):
        ts = []
        for _ in range(reps):
            ts.append(fn(calls))
        out[name] = min(ts) / calls * 1e9
    for kind in ('int', 'bytes16'):
        values = list(range(n)) if kind == 'int' else [bytes(16)] * n
        def conv(k):
            t0 = pc()
            for v in values:
                ish(v)
            return pc() - t0
        def fill_nowait(k):
            t0 = pc()
            for v in values:
                sn(v)
            t = pc() - t0
            for _ in values:
                rn()
            return t
        def drain_nowait(k):
            for v in values:
                sn(v)
            t0 = pc()
            for _ in values:
                rn()
            return pc() - t0
        def fill_send(k):
            t0 = pc()
            for v in values:
                s(v)
            t = pc() - t0
            for _ in values:
                rn()
            return t
        def drain_recv(k):
            for v in values:
                sn(v)
            t0 = pc()
            for _ in values:
                r()
            return pc() - t0
        def pair_nowait(k):
            t0 = pc()
            for v in values:
                sn(v)
                rn()
            return pc() - t0
        best('is_shareable_' + kind, conv, n)
        best('send_nowait_' + kind, fill_nowait, n)
        best('recv_nowait_' + kind, drain_nowait, n)
        best('send_' + kind, fill_send, n)
        best('recv_' + kind, drain_recv, n)
        best('pair_nowait_' + kind, pair_nowait, n)
    values = list(range(n))
    def loop_abs(k):
        f = abs
        t0 = pc()
        for v in values:
            f(v)
        return pc() - t0
    best('loop_abs', loop_abs, n)
    def pair_sharedbuffer(k):
        t0 = pc()
        for _ in range(k):
            sn(SharedBuffer(big))
            rn()
        return pc() - t0
    best('pair_nowait_sharedbuffer_64m', pair_sharedbuffer, max(n // 10, 100))
    return tuple(sorted(out.items()))
main(@N@, @REPS@)
)";

// ---- The interpd side ------------------------------------------------------------

class InterpdSide {
 public:
  explicit InterpdSide(WorkerPool* pool) : pool_(pool) {}

  json Tput(const std::string& kind, int64_t n) {
    const auto subst = Subst({{"@KIND@", kind}, {"@N@", std::to_string(n)}});
    TaskFuture consumer = Submit(Replace(kTputConsumer, subst), 0);
    TaskResult p = Wait(Submit(Replace(kTputProducer, subst), 1), "producer");
    TaskResult c = Wait(std::move(consumer), "consumer");
    if (!c.value.items()[1].as_bool()) Die("interpd tput: wrong last value");
    return {{"t0", p.value.items()[0].as_float()},
            {"t0_end", p.value.items()[1].as_float()},
            {"producer_cpu", p.value.items()[2].as_float()},
            {"t1", c.value.items()[0].as_float()},
            {"consumer_cpu", c.value.items()[2].as_float()},
            {"n", n}};
  }

  json PingPong(int n, int warmup) {
    const auto subst = Subst({{"@N@", std::to_string(n)}, {"@WARMUP@", std::to_string(warmup)}});
    TaskFuture echo = Submit(Replace(kEcho, subst), 1);
    TaskResult m = Wait(Submit(Replace(kPingPong, subst), 0), "ping-pong");
    Wait(std::move(echo), "echo");
    if (!m.value.items()[1].as_bool()) Die("interpd ping-pong: wrong value echoed");
    return {{"rtt", Floats(m.value.items()[0])}};
  }

  json Payload(int64_t size, int n, bool shared_buffer) {
    const auto subst = Subst({{"@N@", std::to_string(n)},
                              {"@SIZE@", std::to_string(size)},
                              {"@SB@", shared_buffer ? "True" : "False"}});
    TaskFuture receiver = Submit(Replace(kPayloadReceiver, subst), 0);
    TaskResult s = Wait(Submit(Replace(kPayloadSender, subst), 1), "payload sender");
    TaskResult r = Wait(std::move(receiver), "payload receiver");
    if (!r.value.items()[2].as_bool()) Die("interpd payload: wrong length received");
    json out = {{"t0", Floats(s.value.items()[0])},
                {"t1", Floats(r.value.items()[0])},
                {"addr_sent", s.value.items()[1].as_int()},
                {"sender_zero_copy", s.value.items()[2].as_bool()}};
    std::vector<int64_t> addrs;
    for (const Value& v : r.value.items()[1].items()) addrs.push_back(v.as_int());
    out["addr_recv"] = addrs;
    return out;
  }

  json Local(int64_t n) {
    TaskResult r =
        Wait(Submit(Replace(kLocal, {{"@N@", std::to_string(n)}, {"@REPS@", std::to_string(kLocalReps)}}), 0), "local");
    json out = json::object();
    for (const Value& kv : r.value.items()) out[kv.items()[0].str()] = kv.items()[1].as_float();
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> Subst(std::vector<std::pair<std::string, std::string>> s) {
    s.emplace_back("@NAME@", "bench-sharing-" + std::to_string(getpid()) + "-" + std::to_string(++runs_));
    return s;
  }

  TaskFuture Submit(std::string code, int worker) {
    TaskRequest req;
    req.code = std::move(code);
    req.worker = worker;
    req.timeout = std::chrono::seconds(300);
    return pool_->Submit(std::move(req));
  }

  static TaskResult Wait(TaskFuture f, const char* what) {
    TaskResult r = f.Get();
    if (r.status != TaskStatus::kOk) {
      std::string msg = std::string("interpd ") + what + " failed: " + std::string(TaskStatusName(r.status));
      if (r.error) msg += ": " + r.error->type + ": " + r.error->message + "\n" + r.error->traceback;
      if (!r.refusal.ok()) msg += ": " + r.refusal.ToString();
      Die(msg + r.stderr_text);
    }
    return r;
  }

  static std::vector<double> Floats(const Value& list) {
    std::vector<double> out;
    out.reserve(list.items().size());
    for (const Value& v : list.items()) out.push_back(v.as_float());
    return out;
  }

  WorkerPool* pool_;
  int runs_ = 0;
};

// ---- Collecting figures ----------------------------------------------------------

const char* const kImpls[] = {"interpd", "cpq", "cpq_poll", "mpq"};

// figures[metric][impl] = one figure per round.
using Figures = std::map<std::string, std::map<std::string, std::vector<double>>>;

struct ZeroCopy {
  int64_t messages = 0;
  int64_t same_address = 0;
};

class Collector {
 public:
  void Tput(const std::string& metric, const std::string& impl, const json& r) {
    const double secs = r["t1"].get<double>() - r["t0"].get<double>();
    figures_[metric][impl].push_back(r["n"].get<double>() / secs);
    // How long the producer's own loop took per message while the consumer
    // ran (it can only be slower than alone if the two sides interfere).
    if (r.contains("t0_end")) {
      const double loop = r["t0_end"].get<double>() - r["t0"].get<double>();
      figures_[metric + "_producer_ns"][impl].push_back(loop / r["n"].get<double>() * 1e9);
    }
    // CPU time of each side per message: wall time above it is time the
    // thread did not run (other runnable threads on the 2 vCPUs) or slept.
    for (const char* side : {"producer", "consumer"}) {
      const std::string key = std::string(side) + "_cpu";
      if (r.contains(key)) {
        figures_[metric + "_" + key + "_ns"][impl].push_back(r[key].get<double>() / r["n"].get<double>() * 1e9);
      }
    }
  }
  void PingPong(const std::string& impl, const json& r) {
    auto rtt = r["rtt"].get<std::vector<double>>();
    for (double& x : rtt) x *= 1e6;
    figures_["pp_p50"][impl].push_back(Percentile(rtt, 0.50));
    figures_["pp_p99"][impl].push_back(Percentile(rtt, 0.99));
  }
  // metric: e.g. "pay1m_sb"; the zero-copy tally is kept per metric+impl.
  void Payload(const std::string& metric, const std::string& impl, const json& r) {
    const auto t0 = r["t0"].get<std::vector<double>>();
    const auto t1 = r["t1"].get<std::vector<double>>();
    if (t0.size() != t1.size()) Die("payload: sample counts differ");
    std::vector<double> lat;
    for (size_t i = 0; i < t0.size(); ++i) lat.push_back((t1[i] - t0[i]) * 1e6);
    figures_[metric + "_p50"][impl].push_back(Percentile(lat, 0.50));
    figures_[metric + "_p99"][impl].push_back(Percentile(lat, 0.99));
    ZeroCopy& z = zero_copy_[metric + "/" + impl];
    const int64_t sent = r["addr_sent"].get<int64_t>();
    for (const auto& a : r["addr_recv"]) {
      ++z.messages;
      if (a.get<int64_t>() == sent) ++z.same_address;
    }
    if (r.contains("sender_zero_copy") && !r["sender_zero_copy"].get<bool>()) sender_copied_ = true;
    if (r.contains("separate_process")) separate_process_.insert(metric + "/" + impl);
  }
  void Local(const std::string& impl, const json& r) {
    for (const auto& [k, v] : r.items()) local_[impl][k].push_back(v.get<double>());
  }

  std::vector<double> All(const std::string& metric, const std::string& impl) const {
    auto m = figures_.find(metric);
    if (m == figures_.end()) return {};
    auto i = m->second.find(impl);
    return i == m->second.end() ? std::vector<double>{} : i->second;
  }
  double Med(const std::string& metric, const std::string& impl) const {
    auto m = figures_.find(metric);
    if (m == figures_.end()) return kNaN;
    auto i = m->second.find(impl);
    return i == m->second.end() ? kNaN : Median(i->second);
  }
  double LocalMed(const std::string& impl, const std::string& key) const {
    auto i = local_.find(impl);
    if (i == local_.end()) return kNaN;
    auto k = i->second.find(key);
    return k == i->second.end() ? kNaN : Median(k->second);
  }
  const std::map<std::string, ZeroCopy>& zero_copy() const { return zero_copy_; }
  bool sender_copied() const { return sender_copied_; }
  bool separate_process(const std::string& key) const { return separate_process_.count(key) != 0; }
  const std::map<std::string, std::map<std::string, std::vector<double>>>& local() const { return local_; }

 private:
  Figures figures_;
  std::map<std::string, ZeroCopy> zero_copy_;
  std::map<std::string, std::map<std::string, std::vector<double>>> local_;
  std::set<std::string> separate_process_;
  bool sender_copied_ = false;
};

// ---- One round -------------------------------------------------------------------

// Runs `fns` (one per implementation) in an order rotated by `round`, so no
// implementation always runs first (or right after the 64 MiB copies).
void Rotated(int round, std::vector<std::function<void()>> fns) {
  const size_t n = fns.size();
  for (size_t k = 0; k < n; ++k) fns[(k + static_cast<size_t>(round)) % n]();
}

void RunRound(int round, const Options& o, InterpdSide& ip, Helper& h, Collector& c) {
  for (const std::string kind : {"int", "bytes16"}) {
    const std::string metric = "tput_" + kind;
    Rotated(round, {
        [&] { c.Tput(metric, "interpd", ip.Tput(kind, o.tput_interpd)); },
        [&] { c.Tput(metric, "cpq", h.Call({{"impl", "cpq"}, {"test", "tput"}, {"kind", kind}, {"n", o.tput_cpq}})); },
        [&] {
          c.Tput(metric, "cpq_poll",
                 h.Call({{"impl", "cpq_poll"}, {"test", "tput"}, {"kind", kind}, {"n", o.tput_cpq}}));
        },
        [&] { c.Tput(metric, "mpq", h.Call({{"impl", "mpq"}, {"test", "tput"}, {"kind", kind}, {"n", o.tput_mpq}})); },
    });
  }
  auto warm = [](int n) { return std::max(5, std::min(1000, n / 10)); };
  Rotated(round, {
      [&] { c.PingPong("interpd", ip.PingPong(o.pp_interpd, warm(o.pp_interpd))); },
      [&] {
        c.PingPong("cpq", h.Call({{"impl", "cpq"}, {"test", "pingpong"}, {"n", o.pp_cpq}, {"warmup", 3}}));
      },
      [&] {
        c.PingPong("cpq_poll", h.Call({{"impl", "cpq_poll"},
                                       {"test", "pingpong"},
                                       {"n", o.pp_cpq_poll},
                                       {"warmup", warm(o.pp_cpq_poll)}}));
      },
      [&] {
        c.PingPong("mpq",
                   h.Call({{"impl", "mpq"}, {"test", "pingpong"}, {"n", o.pp_mpq}, {"warmup", warm(o.pp_mpq)}}));
      },
  });
  for (const int64_t mib : {int64_t{1}, int64_t{64}}) {
    const int64_t size = mib * kMiB;
    const std::string m = "pay" + std::to_string(mib) + "m";
    const bool big = mib > 1;
    auto alt = [&](const char* impl, const char* as, int n) {
      return h.Call({{"impl", impl}, {"test", "payload"}, {"size", size}, {"n", n}, {"as", as}});
    };
    Rotated(round, {
        [&] { c.Payload(m + "_sb", "interpd", ip.Payload(size, o.pay_interpd, true)); },
        [&] {
          c.Payload(m + "_bytes", "interpd",
                    ip.Payload(size, big ? o.pay_interpd_bytes_64m : o.pay_interpd_bytes_1m, false));
        },
        [&] { c.Payload(m + "_bytes", "cpq", alt("cpq", "bytes", big ? o.pay_cpq_64m : o.pay_cpq_1m)); },
        [&] { c.Payload(m + "_mv", "cpq", alt("cpq", "memoryview", big ? o.pay_cpq_64m : o.pay_cpq_1m)); },
        [&] { c.Payload(m + "_bytes", "cpq_poll", alt("cpq_poll", "bytes", big ? o.pay_cpq_64m : o.pay_poll_1m)); },
        [&] {
          c.Payload(m + "_mv", "cpq_poll", alt("cpq_poll", "memoryview", big ? o.pay_cpq_64m : o.pay_poll_1m));
        },
        [&] { c.Payload(m + "_bytes", "mpq", alt("mpq", "bytes", big ? o.pay_mpq_64m : o.pay_mpq_1m)); },
    });
  }
  c.Local("interpd", ip.Local(o.local_n));
  c.Local("cpython", h.Call({{"test", "local"}, {"n", o.local_n}, {"reps", kLocalReps}}));
}

// ---- Report ----------------------------------------------------------------------

struct Row {
  std::string label;
  std::string interpd_metric;  // the interpd figure
  std::string other_metric;    // the alternatives' figure
  bool higher_is_better;
};

// Rates in millions ("1.21M"); times in microseconds, whole above 100.
std::string Fmt(double v, bool rate) {
  if (std::isnan(v)) return "-";
  char buf[32];
  if (rate) {
    std::snprintf(buf, sizeof buf, "%.3gM", v / 1e6);
  } else if (v >= 100) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

// "ratio (factor)": the factor is in interpd's favour ("x") or against it ("/").
std::string FmtRatio(double r, bool higher_is_better) {
  if (std::isnan(r)) return "-";
  char buf[48];
  const double favour = higher_is_better ? r : 1.0 / r;
  if (favour >= 1) {
    std::snprintf(buf, sizeof buf, "%.2g (%.3gx)", r, favour);
  } else {
    std::snprintf(buf, sizeof buf, "%.2g (1/%.3g)", r, 1.0 / favour);
  }
  return buf;
}

struct Goal {
  std::string name;
  double value;
  double target;
  bool at_least;  // value >= target, else value <= target
  bool met() const { return at_least ? value >= target : value <= target; }
};

int Report(const Options& o, const Collector& c, const std::string& python, const std::string& load_before,
           const std::string& load_after, double wall_s) {
  const std::vector<Row> rows = {
      {"int, msgs/s one way", "tput_int", "tput_int", true},
      {"bytes16, msgs/s one way", "tput_bytes16", "tput_bytes16", true},
      {"ping-pong RTT p50 us", "pp_p50", "pp_p50", false},
      {"ping-pong RTT p99 us", "pp_p99", "pp_p99", false},
      {"1 MiB p50 us: SharedBuffer | bytes", "pay1m_sb_p50", "pay1m_bytes_p50", false},
      {"1 MiB p99 us: SharedBuffer | bytes", "pay1m_sb_p99", "pay1m_bytes_p99", false},
      {"64 MiB p50 us: SharedBuffer | bytes", "pay64m_sb_p50", "pay64m_bytes_p50", false},
      {"64 MiB p99 us: SharedBuffer | bytes", "pay64m_sb_p99", "pay64m_bytes_p99", false},
      {"1 MiB p50 us: SharedBuffer | memoryview", "pay1m_sb_p50", "pay1m_mv_p50", false},
      {"64 MiB p50 us: SharedBuffer | memoryview", "pay64m_sb_p50", "pay64m_mv_p50", false},
      {"1 MiB p50 us: bytes | bytes", "pay1m_bytes_p50", "pay1m_bytes_p50", false},
      {"64 MiB p50 us: bytes | bytes", "pay64m_bytes_p50", "pay64m_bytes_p50", false},
  };
  std::printf("\nmedian of %d round(s); ratio = interpd / alternative; (Nx) = interpd N times better, "
              "(1/N) = N times worse\n",
              o.rounds);
  std::printf("%-42s %9s %9s %9s %9s | %-17s %-17s %-17s\n", "", "interpd", "cpq", "cpq_poll", "mp.Queue",
              "/cpq", "/cpq_poll", "/mp.Queue");
  json jrows = json::array();
  for (const Row& row : rows) {
    const double v[4] = {c.Med(row.interpd_metric, "interpd"), c.Med(row.other_metric, "cpq"),
                         c.Med(row.other_metric, "cpq_poll"), c.Med(row.other_metric, "mpq")};
    const bool rate = row.higher_is_better;
    std::printf("%-42s %9s %9s %9s %9s | %-17s %-17s %-17s\n", row.label.c_str(), Fmt(v[0], rate).c_str(),
                Fmt(v[1], rate).c_str(), Fmt(v[2], rate).c_str(), Fmt(v[3], rate).c_str(),
                FmtRatio(v[0] / v[1], row.higher_is_better).c_str(),
                FmtRatio(v[0] / v[2], row.higher_is_better).c_str(),
                FmtRatio(v[0] / v[3], row.higher_is_better).c_str());
    json j = {{"name", row.label}, {"higher_is_better", row.higher_is_better}};
    json per_round = json::object();
    per_round["interpd"] = c.All(row.interpd_metric, "interpd");
    for (int i = 1; i < 4; ++i) per_round[kImpls[i]] = c.All(row.other_metric, kImpls[i]);
    j["per_round"] = per_round;
    for (int i = 0; i < 4; ++i) {
      j[kImpls[i]] = std::isnan(v[i]) ? json(nullptr) : json(v[i]);
      if (i > 0) j[std::string("ratio_vs_") + kImpls[i]] = std::isnan(v[i]) ? json(nullptr) : json(v[0] / v[i]);
    }
    jrows.push_back(j);
  }

  // Zero-copy: the address of the first byte on both sides.
  std::printf("\nzero-copy check (receiver's address of the first byte == sender's bytes object):\n");
  json jzc = json::object();
  for (const auto& [key, z] : c.zero_copy()) {
    const bool other_process = c.separate_process(key);
    std::printf("  %-22s %5lld / %5lld messages at the sender's address%s\n", key.c_str(),
                static_cast<long long>(z.same_address), static_cast<long long>(z.messages),
                other_process ? " (another process: pickled and piped, a copy by construction)" : "");
    jzc[key] = {{"messages", z.messages}, {"same_address", z.same_address}};
  }
  if (c.sender_copied()) std::printf("  WARNING: a SharedBuffer reported zero_copy False on the sender\n");

  // Breakdown: single-interpreter cost.
  const auto& L = c.local();
  std::printf("\nbreakdown, ONE interpreter (no second thread, no wake-up), ns per call incl. the loop, "
              "best of %d repetitions, median of rounds:\n", kLocalReps);
  json jlocal = json::object();
  for (const auto& [impl, keys] : L) {
    for (const auto& [k, vals] : keys) {
      const double m = Median(vals);
      std::printf("  %-8s %-34s %9.0f\n", impl.c_str(), k.c_str(), m);
      jlocal[impl][k] = m;
    }
  }
  // Cross-thread cost per message = 1 / throughput, against what the same
  // calls cost in one interpreter where nobody has to be woken and no cache
  // line moves between cores. The throughput test uses send()/recv().
  // Throughput per message: wall time (1 / throughput) against each side's
  // thread CPU time per message. With dedicated cores the wall time would be
  // about the busier side's CPU time; what is above it is time the threads
  // did not run (more runnable threads than the 2 vCPUs) or slept.
  std::printf("\nthroughput test per message, ns: wall = 1/throughput; CPU = each side's thread CPU time "
              "(mp.Queue producer: its whole process)\n");
  json jsplit = json::object();
  for (const std::string kind : {"int", "bytes16"}) {
    const std::string m = "tput_" + kind;
    for (const char* impl : kImpls) {
      const double wall = 1e9 / c.Med(m, impl);
      const double prod = c.Med(m + "_producer_cpu_ns", impl);
      const double cons = c.Med(m + "_consumer_cpu_ns", impl);
      std::printf("  %-8s %-9s wall %6.0f   producer CPU %6.0f   consumer CPU %6.0f\n", kind.c_str(),
                  impl == std::string("mpq") ? "mp.Queue" : impl, wall, prod, cons);
      jsplit[kind][impl] = {{"wall_ns", wall}, {"producer_cpu_ns", prod}, {"consumer_cpu_ns", cons}};
    }
    // What the same calls cost in ONE interpreter: nobody to wake, no cache
    // line moving between cores.
    const double send = c.LocalMed("interpd", "send_" + kind);
    const double recv = c.LocalMed("interpd", "recv_" + kind);
    const double conv = c.LocalMed("interpd", "is_shareable_" + kind);
    const double loop = c.LocalMed("interpd", "loop_abs");
    std::printf("  %-8s interpd in one interpreter: send() %4.0f, recv() %4.0f, is_shareable() %4.0f, "
                "loop+abs() %3.0f\n",
                kind.c_str(), send, recv, conv, loop);
    jsplit[kind]["interpd_one_interpreter"] = {
        {"send_ns", send}, {"recv_ns", recv}, {"is_shareable_ns", conv}, {"loop_abs_ns", loop}};
  }

  // Goals (issue 3).
  const double tput_i = c.Med("tput_int", "interpd"), tput_b = c.Med("tput_bytes16", "interpd");
  const double p50_1 = c.Med("pay1m_sb_p50", "interpd"), p50_64 = c.Med("pay64m_sb_p50", "interpd");
  int64_t zc_msgs = 0, zc_same = 0;
  for (const char* k : {"pay1m_sb/interpd", "pay64m_sb/interpd"}) {
    auto it = c.zero_copy().find(k);
    if (it != c.zero_copy().end()) {
      zc_msgs += it->second.messages;
      zc_same += it->second.same_address;
    }
  }
  const std::vector<Goal> goals = {
      {"int throughput >= 3M msgs/s", tput_i, 3e6, true},
      {"bytes16 throughput >= 3M msgs/s", tput_b, 3e6, true},
      {"int throughput >= 6x cpq", tput_i / c.Med("tput_int", "cpq"), 6, true},
      {"bytes16 throughput >= 6x cpq", tput_b / c.Med("tput_bytes16", "cpq"), 6, true},
      {"ping-pong p50 <= 5 us", c.Med("pp_p50", "interpd"), 5, false},
      {"1 MiB SharedBuffer p50 <= 10 us", p50_1, 10, false},
      {"64 MiB SharedBuffer p50 <= 10 us", p50_64, 10, false},
      {"64 MiB / 1 MiB p50 <= 1.5 (size-independent)", p50_64 / p50_1, 1.5, false},
      {"SharedBuffer zero-copy: every address equal", zc_msgs > 0 && zc_same == zc_msgs ? 1.0 : 0.0, 1, true},
  };
  std::printf("\ngoals:\n");
  json jgoals = json::array();
  int missed = 0;
  for (const Goal& g : goals) {
    std::printf("  %-48s %-6s (%.4g)\n", g.name.c_str(), g.met() ? "MET" : "MISSED", g.value);
    jgoals.push_back({{"name", g.name}, {"value", g.value}, {"target", g.target}, {"met", g.met()}});
    if (!g.met()) ++missed;
  }
  // Not a goal, a diagnosis: the rate the CPU time per message would allow
  // if each side had a core to itself (the busier side sets the pace).
  json jcap = json::object();
  for (const std::string kind : {"int", "bytes16"}) {
    const double busier = std::max(c.Med("tput_" + kind + "_producer_cpu_ns", "interpd"),
                                   c.Med("tput_" + kind + "_consumer_cpu_ns", "interpd"));
    std::printf("  (%s: CPU time per message allows %.2fM msgs/s with a core per side; measured %.2fM)\n",
                kind.c_str(), 1e3 / busier, c.Med("tput_" + kind, "interpd") / 1e6);
    jcap[kind] = 1e9 / busier;
  }
  std::printf("\nload average before %s, after %s; %u hw threads; CPython %s; %.0f s\n", load_before.c_str(),
              load_after.c_str(), std::thread::hardware_concurrency(), python.c_str(), wall_s);

  json out = {{"bench", "sharing"},
              {"rounds", o.rounds},
              {"quick", o.quick},
              {"python", python},
              {"load_before", std::atof(load_before.c_str())},
              {"load_after", std::atof(load_after.c_str())},
              {"hw_threads", std::thread::hardware_concurrency()},
              {"wall_s", wall_s},
              {"results", jrows},
              {"zero_copy", jzc},
              {"single_interpreter_ns", jlocal},
              {"tput_per_message", jsplit},
              {"tput_cpu_bound_msgs_per_s", jcap},
              {"goals", jgoals},
              {"goals_missed", missed}};
  std::printf("\n%s\n", out.dump().c_str());
  return 0;
}

int Main(const Options& o) {
  const auto t_start = std::chrono::steady_clock::now();
  const std::string load_before = LoadAverage();
  Helper helper(o.python, o.helper);
  std::unique_ptr<Runtime> runtime;
  Status s = Runtime::Start(RuntimeOptions{}, &runtime);
  if (!s.ok()) Die(s.ToString());
  int rc = 0;
  {
    std::unique_ptr<WorkerPool> pool;
    PoolOptions po;
    po.workers = 2;
    s = WorkerPool::Create(*runtime, po, &pool);
    if (!s.ok()) Die(s.ToString());
    std::printf("bench_sharing: %d round(s)%s, CPython %s (runtime %s), 2 workers, %u hw threads, load average %s\n",
                o.rounds, o.quick ? " (quick)" : "", helper.python_version().c_str(), runtime->python_version().c_str(),
                std::thread::hardware_concurrency(), load_before.c_str());
    std::printf("cpq = CPython 3.13 interpreters queue (syncobj=True, get() as shipped); cpq_poll = same, "
                "get_nowait() busy loop; mp.Queue = multiprocessing (2 processes)\n");
    std::fflush(stdout);
    InterpdSide ip(pool.get());
    Collector c;
    for (int r = 0; r < o.rounds; ++r) {
      RunRound(r, o, ip, helper, c);
      std::fprintf(stderr, "round %d/%d done (load %s)\n", r + 1, o.rounds, LoadAverage().c_str());
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    rc = Report(o, c, helper.python_version(), load_before, LoadAverage(), wall);
    pool->Shutdown(std::chrono::seconds(5));
  }
  return rc;
}

}  // namespace
}  // namespace interpd

int main(int argc, char** argv) {
  interpd::Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      interpd::MakeQuick(&o);
    } else if (a == "--rounds") {
      o.rounds = std::atoi(next().c_str());
    } else if (a == "--python") {
      o.python = next();
    } else if (a == "--helper") {
      o.helper = next();
    } else {
      std::fprintf(stderr, "usage: %s [--rounds N] [--quick] [--python PATH] [--helper PATH]\n", argv[0]);
      return 2;
    }
  }
  if (o.rounds < 1) {
    std::fprintf(stderr, "--rounds must be >= 1\n");
    return 2;
  }
  return interpd::Main(o);
}
