// channel_queue_bench: picks the library queue behind ChannelCore.
//
// Runs the same channel logic (BasicChannel: slot counter, claim counter,
// spin-then-park event counts) over each candidate queue and measures
//   - throughput, 1 producer / 1 consumer and 2P / 2C, of Int values and of
//     16-byte Bytes values (a fresh Value per message, as the Python layer
//     makes one per send), through a channel bounded at 1024;
//   - ping-pong round trip (send on one channel, reply on another) p50/p99,
//     with the default spin and with spin 0 (park at once), plus a spin sweep
//     for the default queue.
// Candidates run interleaved (A, B, A, B, ...) so drift on a shared machine
// hits both; each figure is the median of the repetitions. Prints a table,
// the ratios moodycamel/boost, and a final line of JSON.
//
// Usage: channel_queue_bench [--reps N] [--messages N] [--roundtrips N] [--quick]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "basic_channel.h"
#include "channel_core.h"
#include "channel_queues.h"
#include "interpd/value.h"

namespace interpd {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

struct Options {
  int reps = 5;
  int64_t messages = 1'000'000;  // per throughput run (Int); Bytes runs use half
  int roundtrips = 20'000;
};

enum class Payload { kInt, kBytes16 };

Value MakeValue(Payload p, int64_t i) {
  if (p == Payload::kInt) return Value::Int(i);
  std::string s(16, 'x');
  std::memcpy(s.data(), &i, sizeof(i));
  return Value::Bytes(std::move(s));
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Percentile(std::vector<double>& sorted, double q) {
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

// Messages per second through one channel with `producers` x `consumers`.
template <typename Queue>
double Throughput(int producers, int consumers, Payload payload, int64_t messages) {
  BasicChannel<Queue> ch(1024, ChannelCore::kDefaultSpin);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  std::vector<int64_t> received(static_cast<size_t>(consumers), 0);
  int64_t per_producer = messages / producers;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) CpuRelax();
      for (int64_t i = 0; i < per_producer; ++i) {
        (void)ch.Send(MakeValue(payload, p * per_producer + i), kForever, nullptr);
      }
    });
  }
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&, c] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) CpuRelax();
      Value v;
      int64_t n = 0;
      while (ch.Recv(&v, kForever, nullptr).ok()) {
        v = Value();
        ++n;
      }
      received[static_cast<size_t>(c)] = n;
    });
  }
  while (ready.load() < producers + consumers) std::this_thread::yield();
  auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  for (int p = 0; p < producers; ++p) threads[static_cast<size_t>(p)].join();
  ch.Close();
  for (size_t i = static_cast<size_t>(producers); i < threads.size(); ++i) threads[i].join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  int64_t total = 0;
  for (int64_t n : received) total += n;
  if (total != per_producer * producers) {
    std::fprintf(stderr, "BUG: received %lld of %lld\n", static_cast<long long>(total),
                 static_cast<long long>(per_producer * producers));
    std::exit(1);
  }
  return static_cast<double>(total) / secs;
}

struct Latency {
  double p50_us;
  double p99_us;
};

// Round trip: main thread sends i on `ping`, the echo thread receives it and
// sends it back on `pong`.
template <typename Queue>
Latency PingPong(nanoseconds spin, int roundtrips) {
  BasicChannel<Queue> ping(0, spin);
  BasicChannel<Queue> pong(0, spin);
  std::thread echo([&] {
    Value v;
    while (ping.Recv(&v, kForever, nullptr).ok()) (void)pong.Send(std::move(v), kForever, nullptr);
  });
  std::vector<double> rtt;
  rtt.reserve(static_cast<size_t>(roundtrips));
  const int warmup = std::min(1000, roundtrips / 10);
  for (int i = 0; i < roundtrips + warmup; ++i) {
    auto t0 = Clock::now();
    (void)ping.Send(Value::Int(i), kForever, nullptr);
    Value v;
    (void)pong.Recv(&v, kForever, nullptr);
    auto t1 = Clock::now();
    if (i >= warmup) rtt.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  ping.Close();
  echo.join();
  std::sort(rtt.begin(), rtt.end());
  return {Percentile(rtt, 0.50), Percentile(rtt, 0.99)};
}

struct Row {
  std::string name;
  std::vector<double> moody;  // per repetition
  std::vector<double> boost;
  bool higher_is_better;
};

// The 1-minute load average: on a shared machine, figures taken at load >= the
// number of cores measure time slicing, not the channel.
std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  f >> one;
  return one.empty() ? "?" : one;
}

void Run(const Options& o) {
  const std::string load_before = LoadAverage();
  std::printf("channel_queue_bench: %d reps, %lld msgs/run (Bytes: half), %d round trips, "
              "spin %lld ns, %u hw threads, load average %s\n",
              o.reps, static_cast<long long>(o.messages), o.roundtrips,
              static_cast<long long>(ChannelCore::kDefaultSpin.count()),
              std::thread::hardware_concurrency(), load_before.c_str());
  struct Tp {
    const char* name;
    int p, c;
    Payload payload;
  } tps[] = {
      {"1p1c int   msgs/s", 1, 1, Payload::kInt},
      {"2p2c int   msgs/s", 2, 2, Payload::kInt},
      {"1p1c bytes16 msgs/s", 1, 1, Payload::kBytes16},
      {"2p2c bytes16 msgs/s", 2, 2, Payload::kBytes16},
  };
  std::vector<Row> rows;
  for (const auto& t : tps) rows.push_back({t.name, {}, {}, true});
  rows.push_back({"pingpong p50 us (spin default)", {}, {}, false});
  rows.push_back({"pingpong p99 us (spin default)", {}, {}, false});
  rows.push_back({"pingpong p50 us (spin 0)", {}, {}, false});
  rows.push_back({"pingpong p99 us (spin 0)", {}, {}, false});

  for (int rep = 0; rep < o.reps; ++rep) {
    size_t r = 0;
    for (const auto& t : tps) {
      int64_t n = t.payload == Payload::kInt ? o.messages : o.messages / 2;
      rows[r].moody.push_back(Throughput<MoodycamelQueue>(t.p, t.c, t.payload, n));
      rows[r].boost.push_back(Throughput<BoostLockfreeQueue>(t.p, t.c, t.payload, n));
      ++r;
    }
    for (nanoseconds spin : {ChannelCore::kDefaultSpin, nanoseconds(0)}) {
      Latency m = PingPong<MoodycamelQueue>(spin, o.roundtrips);
      Latency b = PingPong<BoostLockfreeQueue>(spin, o.roundtrips);
      rows[r].moody.push_back(m.p50_us);
      rows[r].boost.push_back(b.p50_us);
      rows[r + 1].moody.push_back(m.p99_us);
      rows[r + 1].boost.push_back(b.p99_us);
      r += 2;
    }
    std::fprintf(stderr, "rep %d/%d done\n", rep + 1, o.reps);
  }

  std::printf("\n%-34s %14s %14s %9s\n", "median of reps", MoodycamelQueue::kName,
              BoostLockfreeQueue::kName, "ratio m/b");
  std::string json = "{\"bench\":\"channel_queue\",\"reps\":" + std::to_string(o.reps) +
                     ",\"spin_ns\":" + std::to_string(ChannelCore::kDefaultSpin.count()) +
                     ",\"results\":[";
  bool first = true;
  for (const Row& row : rows) {
    double m = Median(row.moody), b = Median(row.boost);
    double ratio = m / b;
    std::printf("%-34s %14.2f %14.2f %9.2f%s\n", row.name.c_str(), m, b, ratio,
                row.higher_is_better ? "" : " (lower is better)");
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s{\"name\":\"%s\",\"moodycamel\":%.4g,\"boost\":%.4g,\"ratio\":%.3f}",
                  first ? "" : ",", row.name.c_str(), m, b, ratio);
    json += buf;
    first = false;
  }
  json += "],\"spin_sweep\":[";

  // Spin sweep on the default queue: what the spin buys for wake-up latency.
  std::printf("\nping-pong vs spin (%s, median of %d reps)\n", MoodycamelQueue::kName, o.reps);
  first = true;
  for (int us : {0, 1, 5, 20, 50}) {
    std::vector<double> p50, p99;
    for (int rep = 0; rep < o.reps; ++rep) {
      Latency l = PingPong<MoodycamelQueue>(std::chrono::microseconds(us), o.roundtrips / 2);
      p50.push_back(l.p50_us);
      p99.push_back(l.p99_us);
    }
    double a = Median(p50), b = Median(p99);
    std::printf("  spin %3d us: p50 %8.2f us  p99 %8.2f us\n", us, a, b);
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s{\"spin_us\":%d,\"p50_us\":%.3f,\"p99_us\":%.3f}",
                  first ? "" : ",", us, a, b);
    json += buf;
    first = false;
  }
  const std::string load_after = LoadAverage();
  std::printf("\nload average before %s, after %s\n", load_before.c_str(), load_after.c_str());
  json += "],\"load_before\":" + load_before + ",\"load_after\":" + load_after + "}";
  std::printf("\n%s\n", json.c_str());
}

}  // namespace
}  // namespace interpd

int main(int argc, char** argv) {
  interpd::Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> long long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::atoll(argv[++i]);
    };
    if (a == "--reps") {
      o.reps = static_cast<int>(next());
    } else if (a == "--messages") {
      o.messages = next();
    } else if (a == "--roundtrips") {
      o.roundtrips = static_cast<int>(next());
    } else if (a == "--quick") {
      o.reps = 1;
      o.messages = 100'000;
      o.roundtrips = 2'000;
    } else {
      std::fprintf(stderr, "usage: %s [--reps N] [--messages N] [--roundtrips N] [--quick]\n",
                   argv[0]);
      return 2;
    }
  }
  if (o.reps < 1 || o.messages < 4 || o.roundtrips < 10) {
    std::fprintf(stderr, "reps >= 1, messages >= 4, roundtrips >= 10\n");
    return 2;
  }
  interpd::Run(o);
  return 0;
}
