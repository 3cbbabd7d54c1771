// bench_actors: the round trip of an actor call and the rate at which sends
// are handled, against the stdlib's nearest equivalent, in the same run
// (issue 6).
//
// What is measured:
//   * latency of one call of `echo(x)` (returns x), one caller, sequential
//     (p50/p99/p999):
//       - from another interpreter, in this process (a WorkerPool with 2
//         script workers and 1 dedicated actor worker): a script pinned to
//         worker 0 times N calls with time.perf_counter_ns, to an actor on
//         worker 1 ("other worker"), on worker 0 itself ("same worker":
//         the call is served inline, nested in the waiting script), and on
//         the dedicated actor worker (PoolOptions::actor_workers = 1);
//       - from a C++ thread through WorkerPool::CallActor (the API the
//         daemon uses, without socket or JSON), for the breakdown; the
//         answer comes back through the pool's default dispatcher thread;
//       - from a client over the Unix socket: the real `interpd` binary
//         (--workers 2) and `actor.call` requests, with a lean C++ client and
//         with a stdlib Python client; a `run` of "1" on the same daemon is
//         measured too, as the reference for what the socket costs;
//       - the stdlib: a method call through a multiprocessing.managers proxy
//         (BaseManager with a registered class), by the CPython interpd
//         embeds, in bench/actors_alternatives.py.
//   * send throughput, messages handled per second: a script sends M
//     messages to an actor then calls it once (a sender's messages are
//     handled in order, so the call's answer means all M were handled); over
//     the socket, M `actor.send` requests (as notifications, and with ids,
//     written without waiting) then one `actor.call`; the stdlib: M puts on
//     a multiprocessing.Queue read by a process applying them to its object.
//
// Method. The machine is shared and noisy, so every measurement is taken in
// rounds, and within a round the measurements run one after another in an
// order that shifts by one every round and reverses every other round, so
// the noise falls on every side alike.
// Latency percentiles are over all samples of all rounds; throughput is the
// median over rounds. Everything is warmed before it is timed.
//
// Output: a human table, then ONE final line of JSON with every figure.
//
// Options for diagnosis: --idle-spin-us N sets the workers' idle spin in
// process and in the daemon; --only NAME,... runs some measurements only
// (e.g. under perf); --daemon-set KEY=VALUE passes a setting to the daemon.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "interpd/pool.h"
#include "interpd/runtime.h"

#ifndef INTERPD_DAEMON_BINARY
#error "INTERPD_DAEMON_BINARY must be defined by bench/CMakeLists.txt"
#endif
#ifndef INTERPD_BENCH_PYTHON
#error "INTERPD_BENCH_PYTHON must be defined by bench/CMakeLists.txt"
#endif
#ifndef ACTORS_HELPER
#error "ACTORS_HELPER must be defined by bench/CMakeLists.txt"
#endif

extern char** environ;

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "bench_actors: %s\n", why.c_str());
  std::exit(1);
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string LoadAverage() {
  std::istringstream in(ReadFile("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// ---- The actor, the same class everywhere ---------------------------------------

const char* kActorCode =
    "class Echo:\n"
    "    def __init__(self):\n"
    "        self.n = 0\n"
    "    def echo(self, x):\n"
    "        return x\n"
    "    def bump(self, x=None):\n"
    "        self.n += 1\n"
    "    def count(self):\n"
    "        return self.n\n"
    "    def reset(self):\n"
    "        self.n = 0\n";

// ---- Summaries -------------------------------------------------------------------

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

double R1(double x) { return std::round(x * 10) / 10; }

json ToJson(const Percentiles& p) {
  return {{"n", p.n}, {"p50_us", R1(p.p50)}, {"p99_us", R1(p.p99)}, {"p999_us", R1(p.p999)}, {"mean_us", R1(p.mean)}};
}

// ---- Sockets ---------------------------------------------------------------------

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

// One connection, one request at a time: write the line, wait in poll()
// for the answer, read it (bench_daemon_run explains why poll: a reader
// blocked in recv() is also woken when the daemon reads the request).
class LineClient {
 public:
  explicit LineClient(const std::string& path) : fd_(Connect(path)) {}
  ~LineClient() { close(fd_); }
  int fd() const { return fd_; }

  // Sends `line` (with its '\n') and returns the next answer line (no '\n'),
  // valid until the next call.
  std::string_view RoundTrip(const std::string& line) {
    WriteAll(fd_, line.data(), line.size());
    return ReadLine();
  }

  std::string_view ReadLine() {
    buf_.erase(0, consumed_);
    consumed_ = 0;
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        consumed_ = nl + 1;
        return std::string_view(buf_).substr(0, nl);
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, -1) < 0 && errno != EINTR) Die("poll failed");
      char chunk[65536];
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) Die("the daemon closed the connection");
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buf_;
  size_t consumed_ = 0;
};

// The first "id": of an answer (the daemon writes jsonrpc, id, then
// result|error) and whether a "result" follows it.
bool ParseAnswer(std::string_view line, uint64_t* id, std::string_view* result) {
  static constexpr std::string_view kId = "\"id\":";
  static constexpr std::string_view kResult = ",\"result\":";
  size_t at = line.find(kId);
  if (at == std::string_view::npos) return false;
  const char* p = line.data() + at + kId.size();
  auto [end, ec] = std::from_chars(p, line.data() + line.size(), *id);
  if (ec != std::errc()) return false;
  std::string_view rest = line.substr(static_cast<size_t>(end - line.data()));
  if (rest.substr(0, kResult.size()) != kResult) return false;
  *result = rest.substr(kResult.size(), rest.size() - kResult.size() - 1);  // without the closing '}'
  return true;
}

std::string Request(uint64_t id, std::string_view method, const json& params) {
  return "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":\"" + std::string(method) +
         "\",\"params\":" + params.dump() + "}\n";
}

// A request for the answer's value, or death with the daemon's answer.
std::string Ask(LineClient& c, uint64_t id, std::string_view method, const json& params) {
  std::string_view a = c.RoundTrip(Request(id, method, params));
  uint64_t got = 0;
  std::string_view result;
  if (!ParseAnswer(a, &got, &result) || got != id) Die(std::string(method) + " failed: " + std::string(a));
  return std::string(result);
}

// ---- The daemon --------------------------------------------------------------------

class DaemonProcess {
 public:
  DaemonProcess(const std::string& binary, int workers, int idle_spin_us, const std::vector<std::string>& sets) {
    char tmpl[] = "/tmp/interpd-bench-actors-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
    dir_ = tmpl;
    socket_ = dir_ + "/d.sock";
    log_ = dir_ + "/daemon.log";
    const std::string notify_path = dir_ + "/notify";
    notify_fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un na = Address(notify_path);
    if (bind(notify_fd_, reinterpret_cast<sockaddr*>(&na), sizeof(na)) != 0) Die("bind NOTIFY_SOCKET");

    std::vector<std::string> argv = {binary,      "--socket", socket_, "--workers", std::to_string(workers),
                                     "--log-level", "warn",   "--log-target", "stderr"};
    if (idle_spin_us >= 0) {
      argv.push_back("--set");
      argv.push_back("workers.idle_spin_us=" + std::to_string(idle_spin_us));
    }
    for (const auto& kv : sets) {
      argv.push_back("--set");
      argv.push_back(kv);
    }
    // Everything the child needs is built before fork(): only async-signal-
    // safe calls between fork and exec.
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view kv(*e);
      if (kv.rfind("NOTIFY_SOCKET=", 0) == 0 || kv.rfind("LISTEN_", 0) == 0 || kv.rfind("JOURNAL_STREAM=", 0) == 0) {
        continue;
      }
      env.emplace_back(kv);
    }
    env.push_back("NOTIFY_SOCKET=" + notify_path);
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    const int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_ = fork();
    if (pid_ < 0) Die("fork failed");
    if (pid_ == 0) {
      dup2(log, 2);
      dup2(devnull, 0);
      dup2(devnull, 1);
      execve(cargv[0], cargv.data(), cenv.data());
      _exit(127);
    }
    close(log);
    close(devnull);
    WaitReady();
  }

  ~DaemonProcess() {
    if (pid_ > 0) {
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

// ---- The Python helper (the stdlib side) ---------------------------------------------

class Helper {
 public:
  Helper(const std::string& python, const std::string& script) {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) Die("pipe failed");
    std::string py = python, u = "-u", s = script;
    char* argv[] = {py.data(), u.data(), s.data(), nullptr};
    pid_ = fork();
    if (pid_ < 0) Die("fork failed");
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      execve(argv[0], argv, environ);
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

// ---- Over the socket ------------------------------------------------------------------

// Sequential actor.call echo(id): the argument is the request id, so the
// answer is checked by value too.
std::vector<int64_t> SocketCallLatency(LineClient& c, const std::string& actor, int n, uint64_t* next_id) {
  const std::string head = "{\"jsonrpc\":\"2.0\",\"id\":";
  const std::string mid = ",\"method\":\"actor.call\",\"params\":{\"name\":\"" + actor + "\",\"method\":\"echo\",\"args\":[";
  const std::string tail = "]}}\n";
  std::vector<int64_t> ns;
  ns.reserve(static_cast<size_t>(n));
  std::string line;
  for (int i = 0; i < n; ++i) {
    const uint64_t id = (*next_id)++;
    const std::string digits = std::to_string(id);
    line.clear();
    line.append(head).append(digits).append(mid).append(digits).append(tail);
    const int64_t t0 = NowNs();
    std::string_view a = c.RoundTrip(line);
    const int64_t t1 = NowNs();
    uint64_t got = 0;
    std::string_view result;
    if (!ParseAnswer(a, &got, &result) || got != id || result != digits) Die("unexpected answer: " + std::string(a));
    ns.push_back(t1 - t0);
  }
  return ns;
}

// Sequential run of "1", the reference for the socket's own cost.
std::vector<int64_t> SocketRunLatency(LineClient& c, int n, uint64_t* next_id) {
  const std::string head = "{\"jsonrpc\":\"2.0\",\"id\":";
  const std::string tail = ",\"method\":\"run\",\"params\":{\"code\":\"1\"}}\n";
  std::vector<int64_t> ns;
  ns.reserve(static_cast<size_t>(n));
  std::string line;
  for (int i = 0; i < n; ++i) {
    const uint64_t id = (*next_id)++;
    line.clear();
    line.append(head).append(std::to_string(id)).append(tail);
    const int64_t t0 = NowNs();
    std::string_view a = c.RoundTrip(line);
    const int64_t t1 = NowNs();
    uint64_t got = 0;
    std::string_view result;
    if (!ParseAnswer(a, &got, &result) || got != id || result.find("\"status\":\"ok\"") == std::string_view::npos) {
      Die("unexpected answer: " + std::string(a));
    }
    ns.push_back(t1 - t0);
  }
  return ns;
}

struct SendRate {
  double handled_per_s = 0;  // M / (first write .. the count's answer)
  double sent_per_s = 0;     // M / (first write .. the last send's answer or write)
};

// M actor.send requests written without waiting (as notifications: no
// answers; or with ids: answers read as they come, concurrently with the
// writes), then one actor.call of `count` that answers after all M.
SendRate SocketSends(LineClient& c, const std::string& actor, int m, bool with_ids, uint64_t* next_id) {
  Ask(c, (*next_id)++, "actor.call", {{"name", actor}, {"method", "reset"}});
  std::string out;
  out.reserve(static_cast<size_t>(m) * 110);
  const std::string params = ",\"method\":\"actor.send\",\"params\":{\"name\":\"" + actor + "\",\"method\":\"bump\",\"args\":[";
  for (int i = 0; i < m; ++i) {
    out += "{\"jsonrpc\":\"2.0\"";
    if (with_ids) out += ",\"id\":" + std::to_string((*next_id)++);
    out += params + std::to_string(i) + "]}}\n";
  }
  const int fd = c.fd();
  const int64_t t0 = NowNs();
  int64_t t_sent = 0;
  if (!with_ids) {
    WriteAll(fd, out.data(), out.size());
    t_sent = NowNs();
  } else {
    // Write and read at once: the daemon answers each send while later ones
    // are still being written.
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    size_t written = 0;
    int answers = 0;
    std::string in;
    char chunk[65536];
    while (answers < m) {
      pollfd p{fd, static_cast<short>(POLLIN | (written < out.size() ? POLLOUT : 0)), 0};
      if (poll(&p, 1, 30000) <= 0) Die("no progress on actor.send with ids");
      if (written < out.size() && (p.revents & POLLOUT)) {
        ssize_t w = send(fd, out.data() + written, out.size() - written, MSG_NOSIGNAL);
        if (w > 0) written += static_cast<size_t>(w);
        else if (w < 0 && errno != EAGAIN && errno != EINTR) Die("write failed");
      }
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t r = recv(fd, chunk, sizeof(chunk), 0);
        if (r == 0) Die("the daemon closed the connection");
        if (r > 0) {
          in.append(chunk, static_cast<size_t>(r));
          size_t start = 0;
          for (size_t nl; (nl = in.find('\n', start)) != std::string::npos; start = nl + 1) {
            const std::string_view a = std::string_view(in).substr(start, nl - start);
            if (a.rfind("{\"jsonrpc\":\"2.0\",\"id\":", 0) != 0 ||
                a.find("\"result\":{\"queued\":true}") == std::string_view::npos) {
              Die("unexpected answer to actor.send: " + in.substr(start, nl - start));
            }
            ++answers;
          }
          in.erase(0, start);
        }
      }
    }
    t_sent = NowNs();
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  const std::string n = Ask(c, (*next_id)++, "actor.call", {{"name", actor}, {"method", "count"}});
  const int64_t t1 = NowNs();
  if (n != std::to_string(m)) Die("the actor handled " + n + " of " + std::to_string(m) + " sends");
  SendRate r;
  r.handled_per_s = m / (static_cast<double>(t1 - t0) / 1e9);
  r.sent_per_s = m / (static_cast<double>(t_sent - t0) / 1e9);
  return r;
}

// ---- In process: a WorkerPool ---------------------------------------------------------

interpd::TaskResult RunScript(interpd::WorkerPool& pool, const std::string& code, int worker) {
  interpd::TaskRequest req;
  req.code = code;
  req.worker = worker;
  interpd::TaskResult r = pool.Submit(std::move(req)).Get();
  if (r.status != interpd::TaskStatus::kOk) {
    std::string why = std::string(interpd::TaskStatusName(r.status));
    if (r.error) why += ": " + r.error->type + ": " + r.error->message + "\n" + r.error->traceback;
    if (!r.refusal.ok()) why += ": " + r.refusal.ToString();
    Die("script failed: " + why + "\n" + r.stderr_text);
  }
  return r;
}

std::vector<int64_t> FromBytes(const interpd::Value& v) {
  if (v.kind() != interpd::ValueKind::kBytes) Die("expected bytes from the script, got " + v.Repr());
  const std::string_view s = v.str();
  std::vector<int64_t> out(s.size() / 8);
  std::memcpy(out.data(), s.data(), out.size() * 8);
  return out;
}

// A script on worker 0 calls `actor` n times (after warm-up calls) and
// returns its per-call times, taken in Python with perf_counter_ns.
std::vector<int64_t> InterpreterCallLatency(interpd::WorkerPool& pool, const std::string& actor, int n) {
  const std::string code =
      "import interpd, time, array\n"
      "call = interpd.actor('" + actor + "').call\n"
      "clock = time.perf_counter_ns\n"
      "for i in range(200):\n"
      "    call('echo', i)\n"
      "out = array.array('q', bytes(8 * " + std::to_string(n) + "))\n"
      "for i in range(" + std::to_string(n) + "):\n"
      "    t0 = clock()\n"
      "    if call('echo', i) != i: raise AssertionError(i)\n"
      "    out[i] = clock() - t0\n"
      "out.tobytes()\n";
  return FromBytes(RunScript(pool, code, 0).value);
}

// A script on worker 0 sends m messages to `actor`, then calls it: the
// call's answer comes after all m were handled (FIFO per sender).
SendRate InterpreterSends(interpd::WorkerPool& pool, const std::string& actor, int m) {
  const std::string code =
      "import interpd, time\n"
      "h = interpd.actor('" + actor + "')\n"
      "h.call('reset')\n"
      "send = h.send\n"
      "t0 = time.perf_counter()\n"
      "for i in range(" + std::to_string(m) + "):\n"
      "    send('bump', i)\n"
      "t1 = time.perf_counter()\n"
      "n = h.call('count')\n"
      "t2 = time.perf_counter()\n"
      "if n != " + std::to_string(m) + ": raise AssertionError(n)\n"
      "(t1 - t0, t2 - t0)\n";
  interpd::TaskResult r = RunScript(pool, code, 0);
  const auto& items = r.value.items();
  SendRate s;
  s.sent_per_s = m / items[0].as_float();
  s.handled_per_s = m / items[1].as_float();
  return s;
}

// A C++ thread calls through WorkerPool::CallActor, the API the daemon's
// I/O thread uses. Here the pool has its default dispatcher, so the answer
// comes back through a third thread (the daemon's comes back to its event
// loop): caller -> actor's worker -> dispatcher thread -> caller.
std::vector<int64_t> PoolApiLatency(interpd::WorkerPool& pool, const std::string& actor, int n) {
  std::vector<int64_t> ns;
  ns.reserve(static_cast<size_t>(n));
  std::atomic<uint32_t> done{0};
  for (int i = -200; i < n; ++i) {
    const uint32_t before = done.load(std::memory_order_acquire);
    interpd::ActorReply reply;
    const int64_t t0 = NowNs();
    pool.CallActor(actor, "echo", interpd::Value::List({interpd::Value::Int(i)}), interpd::Value(),
                   [&](interpd::ActorReply r) {
                     reply = std::move(r);
                     done.fetch_add(1, std::memory_order_release);
                     done.notify_one();
                   });
    done.wait(before, std::memory_order_acquire);
    const int64_t t1 = NowNs();
    if (!reply.status.ok() || !(reply.value == interpd::Value::Int(i))) {
      Die("CallActor: " + reply.status.ToString() + " " + reply.value.Repr());
    }
    if (i >= 0) ns.push_back(t1 - t0);
  }
  return ns;
}

void SpawnInPool(interpd::WorkerPool& pool, const std::string& name, int worker) {
  interpd::ActorSpec spec;
  spec.name = name;
  spec.code = kActorCode;
  spec.class_name = "Echo";
  spec.worker = worker;
  std::promise<interpd::ActorReply> p;
  pool.SpawnActor(spec, [&](interpd::ActorReply r) { p.set_value(std::move(r)); });
  interpd::ActorReply r = p.get_future().get();
  if (!r.status.ok()) Die("spawn " + name + ": " + r.status.ToString());
  if (r.worker != worker) Die("spawn " + name + ": placed on worker " + std::to_string(r.worker));
}

// ---- Options ----------------------------------------------------------------------------

struct Options {
  bool quick = false;
  int rounds = 5;
  int interp_calls = 20000;  // per round and target
  int pool_api_calls = 5000;
  int socket_calls = 5000;
  int socket_runs = 2000;
  int python_client_calls = 2000;
  int proxy_calls = 2000;
  int interp_sends = 50000;
  int socket_sends = 20000;
  int queue_sends = 20000;
  int idle_spin_us = -1;  // -1: the defaults (pool and daemon: 50 us)
  std::vector<std::string> only;  // --only: these measurements (e.g. to profile one)
  std::vector<std::string> daemon_sets;  // --daemon-set KEY=VALUE, passed on as --set
  std::string daemon = INTERPD_DAEMON_BINARY;
  std::string python = INTERPD_BENCH_PYTHON;
};

void Usage() {
  std::printf(
      "usage: bench_actors [--quick] [--rounds N] [--idle-spin-us N] [--only NAME,...]\n"
      "                    [--daemon-set KEY=VALUE ...] [--daemon PATH] [--python PATH]\n"
      "Times actor calls (from another interpreter, and over the daemon's socket) and\n"
      "sends against a multiprocessing.managers proxy and a multiprocessing.Queue, in\n"
      "turns, and prints the figures and their ratios; the last line is JSON.\n"
      "Default run: well under 2 minutes; --quick: a few seconds.\n"
      "--idle-spin-us N: the workers' idle spin, in process and in the daemon\n"
      "(workers.idle_spin_us); default: theirs (50 us).\n"
      "--only NAME,...: only these measurements (the keys of the JSON line), e.g. to\n"
      "profile one under perf.\n"
      "--daemon-set KEY=VALUE: a configuration key for the daemon (its --set), e.g.\n"
      "actors.call_timeout=0.\n");
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
    } else if (a == "--rounds") {
      o.rounds = std::stoi(next());
    } else if (a == "--idle-spin-us") {
      o.idle_spin_us = std::stoi(next());
      if (o.idle_spin_us < 0) Die("--idle-spin-us must be >= 0");
    } else if (a == "--only") {
      std::stringstream in(next());
      for (std::string x; std::getline(in, x, ',');) o.only.push_back(x);
    } else if (a == "--daemon-set") {
      o.daemon_sets.push_back(next());
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
    o.interp_calls = 5000;
    o.pool_api_calls = 1000;
    o.socket_calls = 1000;
    o.socket_runs = 500;
    o.python_client_calls = 500;
    o.proxy_calls = 500;
    o.interp_sends = 10000;
    o.socket_sends = 5000;
    o.queue_sends = 5000;
  }
  if (o.rounds < 1) Die("--rounds must be at least 1");
  return o;
}

void Append(std::vector<int64_t>* to, const std::vector<int64_t>& from) { to->insert(to->end(), from.begin(), from.end()); }
std::vector<int64_t> Samples(const json& j) { return j.at("ns").get<std::vector<int64_t>>(); }

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const Options opt = Parse(argc, argv);
  const std::string load_start = LoadAverage();
  const auto wall_start = Clock::now();

  // The child processes first, while this process has one thread.
  DaemonProcess daemon(opt.daemon, 2, opt.idle_spin_us, opt.daemon_sets);
  Helper helper(opt.python, ACTORS_HELPER);
  const json info = helper.Command("info");

  std::unique_ptr<interpd::Runtime> runtime;
  if (interpd::Status s = interpd::Runtime::Start(interpd::RuntimeOptions{}, &runtime); !s.ok()) {
    Die("cannot start CPython: " + s.ToString());
  }
  // 2 script workers (0, 1) and 1 dedicated actor worker (2); the pool's
  // defaults otherwise, as the daemon's.
  interpd::PoolOptions po;
  po.workers = 2;
  po.actor_workers = 1;
  if (opt.idle_spin_us >= 0) po.idle_spin = std::chrono::microseconds(opt.idle_spin_us);
  std::unique_ptr<interpd::WorkerPool> pool;
  if (interpd::Status s = interpd::WorkerPool::Create(*runtime, po, &pool); !s.ok()) Die("pool: " + s.ToString());
  SpawnInPool(*pool, "other", 1);
  SpawnInPool(*pool, "same", 0);
  SpawnInPool(*pool, "dedicated", 2);

  LineClient client(daemon.socket_path());
  uint64_t next_id = 1;
  const std::string spawned =
      Ask(client, next_id++, "actor.spawn", {{"name", "echo"}, {"code", kActorCode}, {"class", "Echo"}});
  const int daemon_actor_worker = json::parse(spawned).at("worker").get<int>();
  // Warm: the actor, the code cache of both daemon workers, every path.
  (void)SocketCallLatency(client, "echo", 500, &next_id);
  (void)SocketRunLatency(client, 200, &next_id);

  std::printf("bench_actors: interpd actors vs multiprocessing.managers proxy [%s], CPython %s\n",
              info.at("start_method").get<std::string>().c_str(), info.at("python").get<std::string>().c_str());
  std::printf("in process: WorkerPool 2 script workers + 1 actor worker; daemon: interpd --workers 2 (pid %d, "
              "actor on worker %d); idle spin: %s\n",
              static_cast<int>(daemon.pid()), daemon_actor_worker,
              opt.idle_spin_us < 0 ? "default (50 us)" : (std::to_string(opt.idle_spin_us) + " us").c_str());
  std::printf("load average at start: %s; %d round(s)%s\n\n", load_start.c_str(), opt.rounds,
              opt.quick ? " (--quick)" : "");
  std::fflush(stdout);

  // ---- Rounds: every measurement once per round, the order rotating ----
  struct Series {
    std::string key, label;
    std::vector<int64_t> ns;
    std::vector<double> round_p50;
  };
  std::vector<Series> lat = {
      {"interp_other_worker", "script (w0) -> actor on another worker (w1)", {}, {}},
      {"interp_same_worker", "script (w0) -> actor on the same worker, inline", {}, {}},
      {"interp_dedicated_worker", "script (w0) -> actor on a dedicated actor worker", {}, {}},
      {"pool_api_cpp_thread", "C++ thread -> WorkerPool::CallActor -> callback", {}, {}},
      {"socket_actor_call_cpp", "socket actor.call, C++ client", {}, {}},
      {"socket_actor_call_python", "socket actor.call, Python client (socket+json)", {}, {}},
      {"socket_run_cpp", "socket run \"1\", C++ client (reference)", {}, {}},
      {"manager_proxy", "multiprocessing.managers proxy.echo(i)", {}, {}},
  };
  struct Rates {
    std::string key, label;
    std::vector<double> sent, handled;
  };
  std::vector<Rates> rates = {
      {"interp_other_worker", "script (w0) -> actor on w1, send()", {}, {}},
      {"interp_same_worker", "script (w0) -> actor on w0, send()", {}, {}},
      {"interp_dedicated_worker", "script (w0) -> actor on actor worker, send()", {}, {}},
      {"socket_notifications", "socket actor.send, notifications", {}, {}},
      {"socket_with_ids", "socket actor.send, with ids, pipelined", {}, {}},
      {"mp_queue", "multiprocessing.Queue -> consumer process", {}, {}},
  };
  auto add_lat = [&](size_t i, std::vector<int64_t> ns) {
    lat[i].round_p50.push_back(Summarize(ns).p50);
    Append(&lat[i].ns, ns);
  };
  auto add_rate = [&](size_t i, SendRate r) {
    rates[i].sent.push_back(r.sent_per_s);
    rates[i].handled.push_back(r.handled_per_s);
  };
  struct Step {
    std::string key;
    std::function<void()> run;
  };
  std::vector<Step> steps = {
      {"interp_other_worker", [&] { add_lat(0, InterpreterCallLatency(*pool, "other", opt.interp_calls)); }},
      {"interp_same_worker", [&] { add_lat(1, InterpreterCallLatency(*pool, "same", opt.interp_calls)); }},
      {"interp_dedicated_worker", [&] { add_lat(2, InterpreterCallLatency(*pool, "dedicated", opt.interp_calls)); }},
      {"pool_api_cpp_thread", [&] { add_lat(3, PoolApiLatency(*pool, "other", opt.pool_api_calls)); }},
      {"socket_actor_call_cpp", [&] { add_lat(4, SocketCallLatency(client, "echo", opt.socket_calls, &next_id)); }},
      {"socket_actor_call_python",
       [&] {
         add_lat(5, Samples(helper.Command("client " + std::to_string(opt.python_client_calls) + " " +
                                           daemon.socket_path() + " echo")));
       }},
      {"socket_run_cpp", [&] { add_lat(6, SocketRunLatency(client, opt.socket_runs, &next_id)); }},
      {"manager_proxy", [&] { add_lat(7, Samples(helper.Command("proxy " + std::to_string(opt.proxy_calls)))); }},
      {"send_interp_other_worker", [&] { add_rate(0, InterpreterSends(*pool, "other", opt.interp_sends)); }},
      {"send_interp_same_worker", [&] { add_rate(1, InterpreterSends(*pool, "same", opt.interp_sends)); }},
      {"send_interp_dedicated_worker", [&] { add_rate(2, InterpreterSends(*pool, "dedicated", opt.interp_sends)); }},
      {"send_socket_notifications",
       [&] { add_rate(3, SocketSends(client, "echo", opt.socket_sends, false, &next_id)); }},
      {"send_socket_with_ids", [&] { add_rate(4, SocketSends(client, "echo", opt.socket_sends, true, &next_id)); }},
      {"send_mp_queue",
       [&] {
         json q = helper.Command("queue_sends " + std::to_string(opt.queue_sends));
         SendRate r;
         r.handled_per_s = q.at("n").get<double>() / q.at("seconds").get<double>();
         r.sent_per_s = q.at("n").get<double>() / q.at("send_seconds").get<double>();
         add_rate(5, r);
       }},
  };
  if (!opt.only.empty()) {
    std::vector<Step> kept;
    for (auto& st : steps) {
      if (std::find(opt.only.begin(), opt.only.end(), st.key) != opt.only.end()) kept.push_back(std::move(st));
    }
    if (kept.size() != opt.only.size()) {
      std::string keys;
      for (const auto& st : steps) keys += " " + st.key;
      Die("--only takes these names:" + keys);
    }
    steps = std::move(kept);
  }
  for (int r = 0; r < opt.rounds; ++r) {
    // The first step moves on by one every round, and odd rounds go
    // backwards, so no measurement always follows the same neighbour.
    const size_t n = steps.size();
    for (size_t k = 0; k < n; ++k) {
      const size_t j = r % 2 == 0 ? (static_cast<size_t>(r) + k) % n : (static_cast<size_t>(r) + n - k) % n;
      steps[j].run();
    }
    std::fprintf(stderr, "round %d of %d done (load %s)\n", r + 1, opt.rounds, LoadAverage().c_str());
  }

  // ---- Report (rows left out by --only are skipped) ----
  std::vector<Percentiles> p;
  for (const auto& s : lat) p.push_back(Summarize(s.ns));
  const Percentiles& mgr = p[7];
  const bool have_mgr = mgr.n > 0;
  std::printf("Latency of one call, one caller, sequential (us)        p50      p99     p999    mean        n   "
              "proxy/this p50  p99\n");
  for (size_t i = 0; i < lat.size(); ++i) {
    if (p[i].n == 0) continue;
    std::printf("  %-52s %7.1f  %7.1f  %7.1f  %6.1f  %7zu", lat[i].label.c_str(), p[i].p50, p[i].p99, p[i].p999,
                p[i].mean, p[i].n);
    if (i != 7 && have_mgr) std::printf("   %9.1fx %5.1fx", mgr.p50 / p[i].p50, mgr.p99 / p[i].p99);
    std::printf("\n");
  }
  std::printf("  p50 of each round (us):\n");
  for (size_t i = 0; i < lat.size(); ++i) {
    if (p[i].n == 0) continue;
    std::printf("    %-26s", lat[i].key.c_str());
    for (double v : lat[i].round_p50) std::printf(" %6.1f", v);
    std::printf("\n");
  }
  std::printf("\n");

  const double queue_handled = Median(rates[5].handled);
  bool any_rates = false;
  for (const auto& r : rates) any_rates |= !r.handled.empty();
  if (any_rates) std::printf("Send throughput (median of %d rounds)                    sent/s    handled/s   handled vs mp.Queue\n",
              opt.rounds);
  for (const auto& r : rates) {
    if (r.handled.empty()) continue;
    const double h = Median(r.handled);
    std::printf("  %-52s %9.0f  %11.0f", r.label.c_str(), Median(r.sent), h);
    if (r.key != "mp_queue" && queue_handled > 0) std::printf("   %9.1fx", h / queue_handled);
    std::printf("\n");
  }
  if (any_rates) std::printf("\n");

  json out = {{"bench", "actors"},
              {"python", info.at("python")},
              {"mp_start_method", info.at("start_method")},
              {"rounds", opt.rounds},
              {"quick", opt.quick},
              {"idle_spin_us", opt.idle_spin_us < 0 ? json("default") : json(opt.idle_spin_us)},
              {"daemon_set", opt.daemon_sets},
              {"loadavg_start", load_start}};
  for (size_t i = 0; i < lat.size(); ++i) {
    if (p[i].n == 0) continue;
    json j = ToJson(p[i]);
    j["round_p50_us"] = json::array();
    for (double v : lat[i].round_p50) j["round_p50_us"].push_back(R1(v));
    if (i != 7 && have_mgr) j["proxy_over_this"] = {{"p50", mgr.p50 / p[i].p50}, {"p99", mgr.p99 / p[i].p99}};
    out["latency"][lat[i].key] = j;
  }
  for (const auto& r : rates) {
    if (r.handled.empty()) continue;
    json j = {{"sent_per_s", std::round(Median(r.sent))},
              {"handled_per_s", std::round(Median(r.handled))},
              {"handled_per_s_rounds", r.handled}};
    if (r.key != "mp_queue" && queue_handled > 0) j["handled_over_mp_queue"] = Median(r.handled) / queue_handled;
    out["sends"][r.key] = j;
  }

  if (p[0].n > 0 && p[4].n > 0 && have_mgr) {
    const double x_interp = mgr.p50 / p[0].p50;
    const double x_socket = mgr.p50 / p[4].p50;
    const bool g_interp = p[0].p50 <= 10, g_socket = p[4].p50 <= 40, g_x = x_interp >= 10;
    std::printf("Goals (issue 6): from another interpreter p50 <= 10 us: %s (%.1f) | over the socket p50 <= 40 us: "
                "%s (%.1f) | >= 10x the manager proxy at p50: %s (%.1fx from another interpreter; %.1fx over the "
                "socket)\n",
                g_interp ? "MET" : "MISSED", p[0].p50, g_socket ? "MET" : "MISSED", p[4].p50, g_x ? "MET" : "MISSED",
                x_interp, x_socket);
    out["goals"] = {{"interp_p50_le_10us", g_interp}, {"socket_p50_le_40us", g_socket}, {"proxy_10x_p50", g_x}};
    out["ratio_proxy_over_interp_p50"] = x_interp;
    out["ratio_proxy_over_socket_p50"] = x_socket;
  }

  pool->Shutdown(std::chrono::seconds(5));
  pool.reset();
  runtime.reset();

  const std::string load_end = LoadAverage();
  const double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
  std::printf("load average at end: %s; wall time %.0f s\n", load_end.c_str(), wall);
  out["loadavg_end"] = load_end;
  out["wall_s"] = std::round(wall);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
