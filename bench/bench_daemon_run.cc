// bench_daemon_run: end-to-end `run` of a trivial script through the daemon,
// from a client process over the Unix socket, against multiprocessing.Pool
// doing the same work, in the same run (issue 4).
//
// What is measured:
//   * latency of one run with one client doing sequential requests
//     (p50/p99/p999), for interpd with a lean C++ client, interpd with a
//     stdlib Python client (what users run), and Pool.apply;
//   * throughput with 1/4/16/64 connections, closed-loop (one request in
//     flight per connection) and pipelined (`--depth` in flight per
//     connection), against Pool.apply_async with every task submitted at once;
//   * the daemon's CPU per run, per thread group (I/O thread, workers), read
//     from /proc/PID/task/*/schedstat: on 2 cores that, not the client, is
//     what bounds throughput.
//
// Method. The daemon is the real binary, started here on a temporary socket
// and waited for through NOTIFY_SOCKET (as systemd would). The pool lives in
// bench/daemon_run_alternatives.py, started once with the CPython interpd
// embeds. The machine is shared and noisy, so the sides are measured in
// turns (daemon, pool, Python client; the order flips every round) and the
// figures are percentiles over all samples of all rounds (latency) or
// medians over rounds (throughput). The script is "1": compiled once, then
// served from the worker's code cache, so what is left is the daemon's own
// cost per request.
//
// The C++ client is deliberately minimal so the figure is the daemon's:
// blocking socket for latency, one epoll thread for throughput (one thread,
// so the client takes as little as possible of the 2 cores), request lines
// formatted once with only the id spliced in, and a response parsed only as
// far as its id and `"status":"ok"`.
//
// Output: a human table, then ONE final line of JSON with every figure.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#ifndef INTERPD_DAEMON_BINARY
#error "INTERPD_DAEMON_BINARY must be defined by bench/CMakeLists.txt"
#endif
#ifndef INTERPD_BENCH_PYTHON
#error "INTERPD_BENCH_PYTHON must be defined by bench/CMakeLists.txt"
#endif
#ifndef DAEMON_RUN_HELPER
#error "DAEMON_RUN_HELPER must be defined by bench/CMakeLists.txt"
#endif

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "bench_daemon_run: %s\n", why.c_str());
  std::exit(1);
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string LoadAverage() {
  std::string s = ReadFile("/proc/loadavg");
  // "1.12 1.12 1.32 2/345 6789": the three averages only.
  std::istringstream in(s);
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

sockaddr_un Address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) Die("socket path too long: " + path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

int Connect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a = Address(path);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    Die("cannot connect to " + path + ": " + std::strerror(errno));
  }
  return fd;
}

void WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) Die(std::string("write to the daemon failed: ") + std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// ---- Request lines and the minimal response parse --------------------------------

// The `run` request, with the id spliced in between two constant halves.
class RequestLine {
 public:
  explicit RequestLine(std::string_view code_json)
      : tail_(std::string(",\"method\":\"run\",\"params\":{\"code\":") + std::string(code_json) + "}}\n") {}

  // Appends the line for `id` to *out.
  void Append(uint64_t id, std::string* out) const {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), id);
    out->append(kHead);
    out->append(digits, end);
    out->append(tail_);
  }

 private:
  static constexpr std::string_view kHead = "{\"jsonrpc\":\"2.0\",\"id\":";
  std::string tail_;
};

struct Reply {
  uint64_t id = 0;
  bool ok = false;  // a result with "status":"ok"
};

// The daemon writes members in the order jsonrpc, id, result|error, so the
// first "id": is the response's; nothing else is parsed.
bool ParseReply(std::string_view line, Reply* r) {
  static constexpr std::string_view kId = "\"id\":";
  size_t at = line.find(kId);
  if (at == std::string_view::npos) return false;
  const char* p = line.data() + at + kId.size();
  auto [end, ec] = std::from_chars(p, line.data() + line.size(), r->id);
  if (ec != std::errc()) return false;
  r->ok = line.find("\"status\":\"ok\"", static_cast<size_t>(end - line.data())) != std::string_view::npos;
  return true;
}

// ---- Summaries --------------------------------------------------------------------

struct Percentiles {
  size_t n = 0;
  double p50 = 0, p99 = 0, p999 = 0, mean = 0;  // microseconds
};

Percentiles Summarize(std::vector<int64_t> ns) {
  Percentiles p;
  p.n = ns.size();
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  // Nearest rank: the smallest sample with at least q of the samples at or below it.
  auto at = [&](double q) {
    size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(ns.size())));
    k = std::clamp<size_t>(k, 1, ns.size());
    return static_cast<double>(ns[k - 1]) / 1e3;
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  double sum = 0;
  for (int64_t v : ns) sum += static_cast<double>(v);
  p.mean = sum / static_cast<double>(ns.size()) / 1e3;
  return p;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

json ToJson(const Percentiles& p) {
  auto r1 = [](double x) { return std::round(x * 10) / 10; };
  return {{"n", p.n}, {"p50_us", r1(p.p50)}, {"p99_us", r1(p.p99)}, {"p999_us", r1(p.p999)}, {"mean_us", r1(p.mean)}};
}

// ---- The daemon ---------------------------------------------------------------------

// CPU time of a process's threads, grouped by thread name, from
// /proc/PID/task/*/schedstat (nanoseconds, unlike /proc/PID/stat's ticks),
// plus voluntary context switches: how often each group went to sleep.
struct ThreadCpu {
  int64_t ns = 0;
  int64_t sleeps = 0;
};
using CpuByGroup = std::map<std::string, ThreadCpu>;

// The group a daemon thread belongs to: "io" (the main thread runs the
// io_context), "workers" (interpd-wN), "other" (watchdog, interrupters).
std::string GroupOf(const std::string& comm, bool is_main) {
  if (is_main) return "io";
  if (comm.rfind("interpd-w", 0) == 0) return "workers";
  return "other";
}

CpuByGroup ReadCpu(pid_t pid) {
  CpuByGroup out;
  const std::string base = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
    const std::string dir = e.path().string();
    std::string comm = ReadFile(dir + "/comm");
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    const bool is_main = e.path().filename() == std::to_string(pid);
    int64_t run_ns = 0;
    std::istringstream(ReadFile(dir + "/schedstat")) >> run_ns;
    int64_t sleeps = 0;
    std::istringstream status(ReadFile(dir + "/status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) sleeps = std::atoll(line.c_str() + 24);
    }
    ThreadCpu& g = out[GroupOf(comm, is_main)];
    g.ns += run_ns;
    g.sleeps += sleeps;
  }
  return out;
}

CpuByGroup Minus(const CpuByGroup& after, const CpuByGroup& before) {
  CpuByGroup d = after;
  for (auto& [k, v] : d) {
    auto it = before.find(k);
    if (it != before.end()) {
      v.ns -= it->second.ns;
      v.sleeps -= it->second.sleeps;
    }
  }
  return d;
}

class DaemonProcess {
 public:
  DaemonProcess(const std::string& binary, int workers, std::optional<int> idle_spin_us) {
    char tmpl[] = "/tmp/interpd-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
    dir_ = tmpl;
    socket_ = dir_ + "/d.sock";
    log_ = dir_ + "/daemon.log";
    const std::string notify_path = dir_ + "/notify";
    notify_fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un na = Address(notify_path);
    if (bind(notify_fd_, reinterpret_cast<sockaddr*>(&na), sizeof(na)) != 0) Die("bind NOTIFY_SOCKET");

    std::vector<std::string> argv = {binary, "--socket", socket_, "--workers", std::to_string(workers),
                                     "--log-level", "warn", "--log-target", "stderr"};
    if (idle_spin_us) {
      argv.push_back("--set");
      argv.push_back("workers.idle_spin_us=" + std::to_string(*idle_spin_us));
    }
    pid_ = fork();
    if (pid_ < 0) Die("fork failed");
    if (pid_ == 0) {
      int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(log, 2);
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, 0);
      dup2(devnull, 1);
      setenv("NOTIFY_SOCKET", notify_path.c_str(), 1);
      unsetenv("LISTEN_FDS");
      unsetenv("LISTEN_PID");
      unsetenv("JOURNAL_STREAM");
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    WaitReady();
  }

  ~DaemonProcess() {
    if (pid_ > 0) {
      // SIGTERM first: a graceful stop also checks that the daemon is healthy
      // after the load; SIGKILL only if it does not leave in time.
      kill(pid_, SIGTERM);
      const auto until = Clock::now() + std::chrono::seconds(10);
      int st = 0;
      while (waitpid(pid_, &st, WNOHANG) == 0) {
        if (Clock::now() > until) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &st, 0);
          break;
        }
        usleep(5000);
      }
    }
    if (notify_fd_ >= 0) close(notify_fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const std::string& socket_path() const { return socket_; }
  pid_t pid() const { return pid_; }
  std::string Log() const { return ReadFile(log_); }

 private:
  void WaitReady() {
    const auto until = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < until) {
      pollfd p{notify_fd_, POLLIN, 0};
      if (poll(&p, 1, 200) == 1) {
        char buf[4096];
        ssize_t n = recv(notify_fd_, buf, sizeof(buf), 0);
        if (n > 0 && std::string_view(buf, static_cast<size_t>(n)).find("READY=1") != std::string_view::npos) return;
      }
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        Die("the daemon exited before it was ready; its log:\n" + Log());
      }
    }
    Die("the daemon did not become ready within 60 s; its log:\n" + Log());
  }

  std::string dir_, socket_, log_;
  int notify_fd_ = -1;
  pid_t pid_ = -1;
};

// ---- The Python helper --------------------------------------------------------------

class Helper {
 public:
  Helper(const std::string& python, const std::string& script, int workers) {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) Die("pipe failed");
    pid_ = fork();
    if (pid_ < 0) Die("fork failed");
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      const std::string w = std::to_string(workers);
      execl(python.c_str(), python.c_str(), "-u", script.c_str(), w.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    in_ = to_child[1];
    out_ = from_child[0];
  }

  ~Helper() {
    if (pid_ > 0) {
      const std::string quit = "quit\n";
      (void)!write(in_, quit.data(), quit.size());
      close(in_);
      int st;
      waitpid(pid_, &st, 0);
    }
    close(out_);
  }

  json Command(const std::string& line) {
    const std::string l = line + "\n";
    if (write(in_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) Die("cannot write to the Python helper");
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string reply = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        json j = json::parse(reply, nullptr, false);
        if (j.is_discarded() || j.contains("error")) Die("Python helper: " + reply);
        return j;
      }
      char chunk[65536];
      ssize_t n = read(out_, chunk, sizeof(chunk));
      if (n <= 0) Die("the Python helper exited (command: " + line + ")");
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buf_;
};

// ---- Latency: one connection, one request at a time ---------------------------------

// How the latency client waits for its answer.
//   kPoll: poll(POLLIN), then recv. The default: the wait is woken only by
//     incoming data.
//   kRecv: a plain blocking recv. On Linux a reader blocked in recv on an
//     AF_UNIX stream socket is also woken when the *daemon* reads the request
//     (the kernel signals "write space" on the client's socket, and a blocked
//     recv does not filter wake-ups by event). The client wakes for nothing,
//     and when it shares a CPU with the daemon's I/O thread it preempts it.
//     Kept as a second figure: it is what a naive client (and Python's
//     blocking socket) gets.
enum class Wait { kPoll, kRecv };

class BlockingClient {
 public:
  BlockingClient(const std::string& path, Wait wait) : fd_(Connect(path)), wait_(wait) {}
  ~BlockingClient() { close(fd_); }

  // Sends `line` and reads one reply line into *reply (no '\n').
  void RoundTrip(const std::string& line, std::string_view* reply) {
    WriteAll(fd_, line.data(), line.size());
    buf_.erase(0, consumed_);
    consumed_ = 0;
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        *reply = std::string_view(buf_).substr(0, nl);
        consumed_ = nl + 1;
        return;
      }
      if (wait_ == Wait::kPoll) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) Die("poll failed");
      }
      char chunk[4096];
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) Die("the daemon closed the connection");
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  Wait wait_;
  std::string buf_;
  size_t consumed_ = 0;
};

std::vector<int64_t> DaemonLatency(const std::string& socket, const RequestLine& req, int n, int warmup,
                                   Wait wait = Wait::kPoll) {
  BlockingClient c(socket, wait);
  std::string line;
  std::string_view reply;
  std::vector<int64_t> ns;
  ns.reserve(static_cast<size_t>(n));
  for (int i = 0; i < warmup + n; ++i) {
    line.clear();
    req.Append(static_cast<uint64_t>(i + 1), &line);
    const int64_t t0 = NowNs();
    c.RoundTrip(line, &reply);
    const int64_t t1 = NowNs();
    Reply r;
    if (!ParseReply(reply, &r) || r.id != static_cast<uint64_t>(i + 1) || !r.ok) {
      Die("unexpected reply: " + std::string(reply));
    }
    if (i >= warmup) ns.push_back(t1 - t0);
  }
  return ns;
}

// ---- Throughput: many connections, one epoll thread -----------------------------------

struct LoadResult {
  double runs_per_s = 0;
  uint64_t completed = 0;  // in the measured window
  uint64_t errors = 0;     // replies that were not status "ok" (whole run)
  std::vector<int64_t> latency_ns;
  CpuByGroup daemon_cpu;   // during the measured window
  double client_cpu_s = 0;
  double window_s = 0;
};

// Each connection keeps `depth` requests in flight: depth 1 is closed-loop
// (a client that waits for each answer), more is pipelining. A request's id
// is seq * depth + slot, so the slot (and the send time kept there) comes
// back from the id alone, even when answers overtake each other.
LoadResult DaemonLoad(const std::string& socket, const RequestLine& req, int conns, int depth, double warmup_s,
                      double window_s, pid_t daemon_pid) {
  struct Conn {
    int fd = -1;
    std::string in;
    std::string out;
    uint64_t seq = 0;
    int outstanding = 0;
    std::vector<int64_t> sent_at;
    std::vector<int> free_slots;
    bool want_out = false;
  };
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> cs(static_cast<size_t>(conns));
  for (int i = 0; i < conns; ++i) {
    Conn& c = cs[static_cast<size_t>(i)];
    c.fd = Connect(socket);
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    c.sent_at.assign(static_cast<size_t>(depth), 0);
    for (int s = depth - 1; s >= 0; --s) c.free_slots.push_back(s);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  }

  LoadResult res;
  res.window_s = window_s;
  bool sending = true;
  const int64_t t_begin = NowNs();
  const int64_t t_measure = t_begin + static_cast<int64_t>(warmup_s * 1e9);
  const int64_t t_end = t_measure + static_cast<int64_t>(window_s * 1e9);
  bool measuring = false;
  CpuByGroup cpu_before;
  int64_t client_cpu_before = 0;
  uint64_t in_flight = 0;

  auto refill = [&](Conn& c, int64_t now) {
    while (sending && !c.free_slots.empty()) {
      const int slot = c.free_slots.back();
      c.free_slots.pop_back();
      const uint64_t id = c.seq++ * static_cast<uint64_t>(depth) + static_cast<uint64_t>(slot);
      req.Append(id, &c.out);
      c.sent_at[static_cast<size_t>(slot)] = now;
      ++c.outstanding;
      ++in_flight;
    }
  };
  auto flush = [&](Conn& c, uint32_t index) {
    while (!c.out.empty()) {
      ssize_t w = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) break;
      if (w <= 0) Die(std::string("write to the daemon failed: ") + std::strerror(errno));
      c.out.erase(0, static_cast<size_t>(w));
    }
    const bool want = !c.out.empty();
    if (want != c.want_out) {
      epoll_event ev{};
      ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
      ev.data.u32 = index;
      epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
      c.want_out = want;
    }
  };

  {
    const int64_t now = NowNs();
    for (size_t i = 0; i < cs.size(); ++i) {
      refill(cs[i], now);
      flush(cs[i], static_cast<uint32_t>(i));
    }
  }
  std::vector<epoll_event> events(static_cast<size_t>(std::max(conns, 1)));
  char chunk[65536];
  const int64_t drain_deadline_extra = 30'000'000'000;  // answers owed after the window: at most 30 s
  while (sending || in_flight > 0) {
    int64_t now = NowNs();
    if (!measuring && now >= t_measure) {
      measuring = true;
      cpu_before = ReadCpu(daemon_pid);
      client_cpu_before = ThreadCpuNs();
    }
    if (sending && now >= t_end) {
      sending = false;
      res.daemon_cpu = Minus(ReadCpu(daemon_pid), cpu_before);
      res.client_cpu_s = static_cast<double>(ThreadCpuNs() - client_cpu_before) / 1e9;
    }
    if (!sending && now > t_end + drain_deadline_extra) Die("answers still missing 30 s after the window");
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    if (n < 0 && errno != EINTR) Die("epoll_wait failed");
    for (int k = 0; k < n; ++k) {
      const uint32_t index = events[static_cast<size_t>(k)].data.u32;
      Conn& c = cs[index];
      if (events[static_cast<size_t>(k)].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (;;) {
          ssize_t r = recv(c.fd, chunk, sizeof(chunk), 0);
          if (r > 0) {
            c.in.append(chunk, static_cast<size_t>(r));
            if (static_cast<size_t>(r) < sizeof(chunk)) break;
            continue;
          }
          if (r < 0 && errno == EINTR) continue;
          if (r < 0 && errno == EAGAIN) break;
          Die("the daemon closed a connection under load; its log may say why");
        }
        now = NowNs();
        size_t start = 0;
        for (size_t nl; (nl = c.in.find('\n', start)) != std::string::npos; start = nl + 1) {
          Reply rep;
          if (!ParseReply(std::string_view(c.in).substr(start, nl - start), &rep)) {
            Die("unexpected reply: " + c.in.substr(start, nl - start));
          }
          const int slot = static_cast<int>(rep.id % static_cast<uint64_t>(depth));
          if (!rep.ok) ++res.errors;
          if (measuring && sending) {
            ++res.completed;
            res.latency_ns.push_back(now - c.sent_at[static_cast<size_t>(slot)]);
          }
          c.free_slots.push_back(slot);
          --c.outstanding;
          --in_flight;
        }
        c.in.erase(0, start);
        refill(c, now);
      }
      flush(c, index);
    }
  }
  for (Conn& c : cs) close(c.fd);
  close(ep);
  res.runs_per_s = static_cast<double>(res.completed) / window_s;
  return res;
}

// ---- Options --------------------------------------------------------------------------

struct Options {
  bool quick = false;
  int workers = 2;
  std::optional<int> idle_spin_us;  // unset: the daemon's default
  int rounds = 5;
  int latency_n = 5000;      // daemon samples per round
  int pool_latency_n = 2000;  // Pool.apply samples per round
  int client_latency_n = 2000;
  double window_s = 1.0;
  double warmup_s = 0.2;
  int depth = 16;
  int async_n = 20000;
  std::vector<int> conns = {1, 4, 16, 64};
  bool python_client = true;
  // "latency" or "throughput": one phase only, e.g. to profile it with perf.
  std::string only;
  // --knobs: daemon configurations (workers, idle_spin_us) to compare with
  // each other instead of the main comparison with the pool.
  struct Knob {
    int workers;
    int idle_spin_us;
  };
  std::vector<Knob> knobs;
  std::string daemon = INTERPD_DAEMON_BINARY;
  std::string python = INTERPD_BENCH_PYTHON;
};

void Usage() {
  std::printf(
      "usage: bench_daemon_run [--quick] [--workers N] [--idle-spin-us N] [--rounds N]\n"
      "                        [--seconds S] [--depth D] [--conns 1,4,16,64] [--no-python-client]\n"
      "                        [--only latency|throughput] [--knobs W:S,W:S,...]\n"
      "                        [--daemon PATH] [--python PATH]\n"
      "Runs `interpd run` of the script \"1\" end to end and multiprocessing.Pool.apply of\n"
      "the same work, in turns, and prints latency, throughput and their ratios; the last\n"
      "line is JSON. Default run: under 2 minutes; --quick: a few seconds.\n"
      "--knobs 2:50,2:0,1:0 instead starts one daemon per WORKERS:IDLE_SPIN_US pair and\n"
      "compares them in turns (latency, 16 connections closed-loop, 4 x depth pipelined).\n");
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--workers") {
      o.workers = std::stoi(next());
    } else if (a == "--idle-spin-us") {
      o.idle_spin_us = std::stoi(next());
    } else if (a == "--rounds") {
      o.rounds = std::stoi(next());
    } else if (a == "--seconds") {
      o.window_s = std::stod(next());
    } else if (a == "--depth") {
      o.depth = std::stoi(next());
    } else if (a == "--conns") {
      o.conns.clear();
      std::stringstream s(next());
      for (std::string x; std::getline(s, x, ',');) o.conns.push_back(std::stoi(x));
    } else if (a == "--only") {
      o.only = next();
      if (o.only != "latency" && o.only != "throughput") Die("--only takes latency or throughput");
    } else if (a == "--knobs") {
      std::stringstream in(next());
      for (std::string x; std::getline(in, x, ',');) {
        const size_t colon = x.find(':');
        if (colon == std::string::npos) Die("--knobs takes WORKERS:IDLE_SPIN_US pairs, e.g. 2:50,2:0");
        o.knobs.push_back({std::stoi(x.substr(0, colon)), std::stoi(x.substr(colon + 1))});
      }
    } else if (a == "--no-python-client") {
      o.python_client = false;
    } else if (a == "--daemon") {
      o.daemon = next();
    } else if (a == "--python") {
      o.python = next();
    } else if (a == "-h" || a == "--help") {
      Usage();
      std::exit(0);
    } else {
      Usage();
      Die("unknown argument " + a);
    }
  }
  if (o.quick) {
    o.rounds = 1;
    o.latency_n = 2000;
    o.pool_latency_n = 500;
    o.client_latency_n = 500;
    o.window_s = 0.3;
    o.warmup_s = 0.1;
    o.async_n = 5000;
  }
  // The daemon answers more than max_in_flight_per_connection (64) runs in
  // flight on one connection with -32000; stay within it.
  if (o.depth < 1 || o.depth > 64) Die("--depth must be 1..64");
  return o;
}

std::vector<int64_t> Samples(const json& j) { return j.at("ns").get<std::vector<int64_t>>(); }

void Append(std::vector<int64_t>* to, const std::vector<int64_t>& from) { to->insert(to->end(), from.begin(), from.end()); }

// --knobs: one daemon per configuration, all started up front and measured
// in turns (the order rotates every round), so that the machine's noise
// falls on every configuration alike. Idle daemons cost nothing: their
// workers park after idle_spin_us.
int RunKnobs(const Options& opt) {
  const std::string load_start = LoadAverage();
  const auto wall_start = Clock::now();
  const RequestLine req("\"1\"");
  std::vector<std::unique_ptr<DaemonProcess>> daemons;
  for (const auto& k : opt.knobs) {
    daemons.push_back(std::make_unique<DaemonProcess>(opt.daemon, k.workers, k.idle_spin_us));
    (void)DaemonLatency(daemons.back()->socket_path(), req, 0, 200);
  }
  const size_t n = daemons.size();
  std::printf("bench_daemon_run --knobs: %zu daemon configurations in turns; load average at start: %s; %d "
              "round(s)\n\n",
              n, load_start.c_str(), opt.rounds);
  std::fflush(stdout);
  struct Acc {
    std::vector<int64_t> lat;
    std::vector<LoadResult> closed, piped;
  };
  std::vector<Acc> acc(n);
  for (int r = 0; r < opt.rounds; ++r) {
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (k + static_cast<size_t>(r)) % n;
      Append(&acc[i].lat, DaemonLatency(daemons[i]->socket_path(), req, opt.latency_n, 100));
      acc[i].closed.push_back(
          DaemonLoad(daemons[i]->socket_path(), req, 16, 1, opt.warmup_s, opt.window_s, daemons[i]->pid()));
      acc[i].piped.push_back(DaemonLoad(daemons[i]->socket_path(), req, 4, opt.depth, opt.warmup_s, opt.window_s,
                                        daemons[i]->pid()));
    }
  }
  auto cpu_per_run = [](const std::vector<LoadResult>& v) {
    std::vector<double> us;
    for (const auto& lr : v) {
      int64_t total = 0;
      for (const auto& [name, t] : lr.daemon_cpu) total += t.ns;
      us.push_back(static_cast<double>(total) / 1e3 / std::max<double>(1, static_cast<double>(lr.completed)));
    }
    return Median(us);
  };
  auto rps = [](const std::vector<LoadResult>& v) {
    std::vector<double> x;
    for (const auto& lr : v) x.push_back(lr.runs_per_s);
    return Median(x);
  };
  std::printf("workers idle_spin_us | latency us: p50     p99    p999 | runs/s: 16 conns closed  4 x %d pipelined | "
              "daemon CPU us/run: closed  pipelined\n",
              opt.depth);
  json rows = json::array();
  for (size_t i = 0; i < n; ++i) {
    const Percentiles p = Summarize(acc[i].lat);
    const double c = rps(acc[i].closed), pl = rps(acc[i].piped);
    const double cc = cpu_per_run(acc[i].closed), pc = cpu_per_run(acc[i].piped);
    std::printf("%7d %12d | %15.1f %7.1f %7.1f | %23.0f %18.0f | %24.1f %10.1f\n", opt.knobs[i].workers,
                opt.knobs[i].idle_spin_us, p.p50, p.p99, p.p999, c, pl, cc, pc);
    rows.push_back({{"workers", opt.knobs[i].workers},
                    {"idle_spin_us", opt.knobs[i].idle_spin_us},
                    {"latency", ToJson(p)},
                    {"closed_16_runs_per_s", std::round(c)},
                    {"pipelined_4_runs_per_s", std::round(pl)},
                    {"daemon_cpu_us_per_run_closed", cc},
                    {"daemon_cpu_us_per_run_pipelined", pc}});
  }
  const std::string load_end = LoadAverage();
  const double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
  std::printf("load average at end: %s; wall time %.0f s\n", load_end.c_str(), wall);
  json out = {{"bench", "daemon_run_knobs"}, {"rounds", opt.rounds},         {"depth", opt.depth},
              {"knobs", rows},               {"loadavg_start", load_start}, {"loadavg_end", load_end},
              {"wall_s", std::round(wall)}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const Options opt = Parse(argc, argv);
  if (!opt.knobs.empty()) return RunKnobs(opt);
  const bool do_latency = opt.only != "throughput";
  const bool do_throughput = opt.only != "latency";
  const std::string load_start = LoadAverage();
  const auto wall_start = Clock::now();

  DaemonProcess daemon(opt.daemon, opt.workers, opt.idle_spin_us);
  Helper helper(opt.python, DAEMON_RUN_HELPER, opt.workers);
  const json info = helper.Command("info");
  const RequestLine req("\"1\"");

  // A first run compiles "1" in whichever worker takes it; run enough that
  // every worker has it cached before anything is timed.
  (void)DaemonLatency(daemon.socket_path(), req, 0, 200);

  std::printf("bench_daemon_run: interpd --workers %d%s vs multiprocessing.Pool(%d) [%s], CPython %s\n",
              opt.workers,
              opt.idle_spin_us ? (" --set workers.idle_spin_us=" + std::to_string(*opt.idle_spin_us)).c_str()
                               : " (idle_spin_us: daemon default)",
              opt.workers, info.at("start_method").get<std::string>().c_str(),
              info.at("python").get<std::string>().c_str());
  std::printf("daemon pid %d; load average at start: %s; %d round(s)%s\n\n", static_cast<int>(daemon.pid()),
              load_start.c_str(), opt.rounds, opt.quick ? " (--quick)" : "");
  std::fflush(stdout);

  json out = {
      {"bench", "daemon_run"},
      {"workers", opt.workers},
      {"idle_spin_us", opt.idle_spin_us ? json(*opt.idle_spin_us) : json("default")},
      {"python", info.at("python")},
      {"pool_start_method", info.at("start_method")},
      {"rounds", opt.rounds},
      {"quick", opt.quick},
      {"loadavg_start", load_start},
  };

  // ---- Latency, interleaved ----
  Percentiles pd, pp, pc;
  if (do_latency) {
    std::vector<int64_t> lat_daemon, lat_recv, lat_pool, lat_pyclient;
    for (int r = 0; r < opt.rounds; ++r) {
      const bool daemon_first = r % 2 == 0;
      if (daemon_first) Append(&lat_daemon, DaemonLatency(daemon.socket_path(), req, opt.latency_n, 100));
      Append(&lat_recv, DaemonLatency(daemon.socket_path(), req, opt.latency_n, 100, Wait::kRecv));
      Append(&lat_pool, Samples(helper.Command("apply " + std::to_string(opt.pool_latency_n))));
      if (opt.python_client) {
        Append(&lat_pyclient, Samples(helper.Command("client " + std::to_string(opt.client_latency_n) + " " +
                                                     daemon.socket_path())));
      }
      if (!daemon_first) Append(&lat_daemon, DaemonLatency(daemon.socket_path(), req, opt.latency_n, 100));
    }
    pd = Summarize(lat_daemon);
    const Percentiles pr = Summarize(lat_recv);
    pp = Summarize(lat_pool);
    pc = Summarize(lat_pyclient);

    std::printf("Latency of one run, one client, sequential (us)   p50      p99     p999    mean        n\n");
    auto row = [](const char* name, const Percentiles& p) {
      std::printf("  %-46s %7.1f  %7.1f  %7.1f  %6.1f  %7zu\n", name, p.p50, p.p99, p.p999, p.mean, p.n);
    };
    row("interpd run, C++ client (poll + recv)", pd);
    row("interpd run, C++ client (blocking recv)", pr);
    if (opt.python_client) row("interpd run, Python client (socket + json)", pc);
    row("multiprocessing.Pool.apply", pp);
    std::printf("  %-46s %6.1fx  %6.1fx  %6.1fx\n", "Pool.apply / interpd (C++ client)", pp.p50 / pd.p50,
                pp.p99 / pd.p99, pp.p999 / pd.p999);
    if (opt.python_client) {
      std::printf("  %-46s %6.1fx  %6.1fx  %6.1fx\n", "Pool.apply / interpd (Python client)", pp.p50 / pc.p50,
                  pp.p99 / pc.p99, pp.p999 / pc.p999);
    }
    std::printf("\n");
    std::fflush(stdout);
    out["latency"] = {
        {"interpd_cpp_client", ToJson(pd)}, {"interpd_cpp_client_blocking_recv", ToJson(pr)}, {"pool_apply", ToJson(pp)}};
    out["latency_ratio_pool_over_interpd"] = {
        {"p50", pp.p50 / pd.p50}, {"p99", pp.p99 / pd.p99}, {"p999", pp.p999 / pd.p999}};
    if (opt.python_client) {
      out["latency"]["interpd_python_client"] = ToJson(pc);
      out["latency_ratio_pool_over_interpd_python_client"] = {{"p50", pp.p50 / pc.p50}, {"p99", pp.p99 / pc.p99}};
    }
  }

  // ---- Throughput, interleaved with the pool ----
  double best_rps = 0, pool_async = 0;
  if (do_throughput) {
    struct Config {
      int conns;
      int depth;
    };
    std::vector<Config> configs;
    for (int c : opt.conns) configs.push_back({c, 1});
    if (opt.depth > 1) {
      for (int c : opt.conns) configs.push_back({c, opt.depth});
    }
    std::vector<std::vector<LoadResult>> load(configs.size());
    std::vector<double> async_rps;
    auto pool_round = [&] {
      json a = helper.Command("apply_async " + std::to_string(opt.async_n));
      async_rps.push_back(a.at("n").get<double>() / a.at("seconds").get<double>());
    };
    for (int r = 0; r < opt.rounds; ++r) {
      if (r % 2 == 1) pool_round();
      for (size_t k = 0; k < configs.size(); ++k) {
        // Reverse the order on odd rounds so no configuration always runs
        // right after the same neighbour.
        const size_t i = r % 2 ? configs.size() - 1 - k : k;
        load[i].push_back(DaemonLoad(daemon.socket_path(), req, configs[i].conns, configs[i].depth, opt.warmup_s,
                                     opt.window_s, daemon.pid()));
      }
      if (r % 2 == 0) pool_round();
    }
    pool_async = Median(async_rps);

    std::printf(
        "Throughput (median of %d)              runs/s   p50 us   p99 us | daemon CPU us/run: io  workers  total "
        "| cores: daemon client\n",
        opt.rounds);
    json j_load = json::array();
    for (size_t i = 0; i < configs.size(); ++i) {
      std::vector<double> rps, io_v, w_v, tot_v, ios_v, ws_v, dc_v, cc_v;
      std::vector<int64_t> lat;
      uint64_t errors = 0;
      for (const LoadResult& lr : load[i]) {
        rps.push_back(lr.runs_per_s);
        Append(&lat, lr.latency_ns);
        errors += lr.errors;
        const double n = std::max<double>(1, static_cast<double>(lr.completed));
        auto g = [&](const char* name) {
          auto it = lr.daemon_cpu.find(name);
          return it == lr.daemon_cpu.end() ? ThreadCpu{} : it->second;
        };
        int64_t total = 0;
        for (const auto& [k, v] : lr.daemon_cpu) total += v.ns;
        io_v.push_back(static_cast<double>(g("io").ns) / 1e3 / n);
        w_v.push_back(static_cast<double>(g("workers").ns) / 1e3 / n);
        tot_v.push_back(static_cast<double>(total) / 1e3 / n);
        ios_v.push_back(static_cast<double>(g("io").sleeps) / n);
        ws_v.push_back(static_cast<double>(g("workers").sleeps) / n);
        dc_v.push_back(static_cast<double>(total) / 1e9 / lr.window_s);
        cc_v.push_back(lr.client_cpu_s / lr.window_s);
      }
      const double med = Median(rps);
      best_rps = std::max(best_rps, med);
      const Percentiles pl = Summarize(lat);
      char name[64];
      std::snprintf(name, sizeof(name), "%s, %d conn%s", configs[i].depth == 1 ? "closed-loop" : "pipelined",
                    configs[i].conns, configs[i].conns == 1 ? "" : "s");
      if (configs[i].depth > 1) {
        std::snprintf(name + std::strlen(name), sizeof(name) - std::strlen(name), " x %d", configs[i].depth);
      }
      std::printf("  %-36s %8.0f  %7.1f  %7.1f | %22.1f  %7.1f  %5.1f | %12.2f  %6.2f%s\n", name, med, pl.p50,
                  pl.p99, Median(io_v), Median(w_v), Median(tot_v), Median(dc_v), Median(cc_v),
                  errors ? "  (errors!)" : "");
      j_load.push_back({{"conns", configs[i].conns},
                        {"in_flight_per_conn", configs[i].depth},
                        {"mode", configs[i].depth == 1 ? "closed-loop" : "pipelined"},
                        {"runs_per_s", std::round(med)},
                        {"runs_per_s_rounds", rps},
                        {"latency", ToJson(pl)},
                        {"daemon_cpu_us_per_run",
                         {{"io", Median(io_v)}, {"workers", Median(w_v)}, {"total", Median(tot_v)}}},
                        {"daemon_sleeps_per_run", {{"io", Median(ios_v)}, {"workers", Median(ws_v)}}},
                        {"daemon_cores", Median(dc_v)},
                        {"client_cores", Median(cc_v)},
                        {"errors", errors}});
    }
    std::printf("  %-36s %8.0f   (burst of %d, all submitted before the first wait)\n", "Pool.apply_async",
                pool_async, opt.async_n);
    if (do_latency) {
      std::printf("  %-36s %8.0f   (1 / mean Pool.apply latency)\n", "Pool.apply, sequential", 1e6 / pp.mean);
    }
    std::printf("  best interpd / Pool.apply_async: %.1fx\n\n", best_rps / pool_async);
    out["throughput"] = j_load;
    out["pool_apply_async_runs_per_s"] = std::round(pool_async);
    if (do_latency) out["pool_apply_sequential_runs_per_s"] = std::round(1e6 / pp.mean);
    out["best_interpd_runs_per_s"] = std::round(best_rps);
    out["throughput_ratio_best_over_pool_async"] = best_rps / pool_async;
  }

  // ---- Goals (issue 4) ----
  if (do_latency && do_throughput) {
    const double x50 = pp.p50 / pd.p50, x99 = pp.p99 / pd.p99;
    const bool g_p50 = pd.p50 <= 30, g_x50 = x50 >= 5, g_x99 = x99 >= 5, g_rps = best_rps >= 30000;
    std::printf("Goals (issue 4): p50 <= 30 us: %s (%.1f) | >= 5x Pool at p50: %s (%.1fx) | at p99: %s (%.1fx) | "
                ">= 30,000 runs/s: %s (%.0f)\n",
                g_p50 ? "MET" : "MISSED", pd.p50, g_x50 ? "MET" : "MISSED", x50, g_x99 ? "MET" : "MISSED", x99,
                g_rps ? "MET" : "MISSED", best_rps);
    out["goals"] = {
        {"p50_le_30us", g_p50}, {"p50_5x_pool", g_x50}, {"p99_5x_pool", g_x99}, {"runs_per_s_ge_30000", g_rps}};
  }
  const std::string load_end = LoadAverage();
  const double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
  std::printf("load average at end: %s; wall time %.0f s\n", load_end.c_str(), wall);
  out["loadavg_end"] = load_end;
  out["wall_s"] = std::round(wall);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
