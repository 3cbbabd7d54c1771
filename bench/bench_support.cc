#include "bench_support.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

extern char** environ;

namespace interpd::bench {

namespace {

[[noreturn]] void Die(const std::string& why) {
  std::fflush(stdout);
  std::fprintf(stderr, "bench: %s\n", why.c_str());
  std::exit(1);
}

}  // namespace

// ---- Flags -----------------------------------------------------------------

Flags::Flags(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)), python_(INTERPD_BENCH_PYTHON),
      bench_dir_(INTERPD_BENCH_DIR) {}

void Flags::Number(const std::string& name, double normal, double quick, const std::string& help) {
  specs_[name] = Spec{true, normal, quick, {}, {}, help};
  order_.push_back(name);
}

void Flags::Text(const std::string& name, const std::string& normal, const std::string& quick,
                 const std::string& help) {
  specs_[name] = Spec{false, 0, 0, normal, quick, help};
  order_.push_back(name);
}

void Flags::Usage(int code) const {
  FILE* out = code == 0 ? stdout : stderr;
  std::fprintf(out, "usage: %s [--quick] [--python PATH] [--FLAG VALUE ...]\n%s\n\n", program_.c_str(),
               summary_.c_str());
  std::fprintf(out, "  --quick            a run of a few seconds (smaller sizes, fewer rounds)\n");
  std::fprintf(out, "  --python PATH      CPython for the alternatives (default %s)\n", INTERPD_BENCH_PYTHON);
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    char num[64];
    std::snprintf(num, sizeof(num), "%g, quick %g", s.normal, s.quick);
    std::string defaults = s.numeric ? std::string(num) : (s.normal_text + ", quick " + s.quick_text);
    std::fprintf(out, "  --%-16s %s (default %s)\n", name.c_str(), s.help.c_str(), defaults.c_str());
  }
  std::exit(code);
}

void Flags::Parse(int argc, char** argv) {
  command_line_ = argv[0];
  for (int i = 1; i < argc; ++i) command_line_ += std::string(" ") + argv[i];
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") Usage(0);
    if (arg == "--quick") {
      quick_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) Usage(2);
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (i + 1 >= argc) Usage(2);
      value = argv[++i];
    }
    if (name == "python") {
      python_ = value;
      continue;
    }
    auto it = specs_.find(name);
    if (it == specs_.end()) {
      std::fprintf(stderr, "%s: unknown flag --%s\n", program_.c_str(), name.c_str());
      Usage(2);
    }
    it->second.set = true;
    if (it->second.numeric) {
      char* end = nullptr;
      it->second.value = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0') Die("--" + name + " needs a number, not '" + value + "'");
    } else {
      it->second.text = value;
    }
  }
  for (auto& [name, s] : specs_) {
    if (s.set) continue;
    s.value = quick_ ? s.quick : s.normal;
    s.text = quick_ ? s.quick_text : s.normal_text;
  }
}

double Flags::number(const std::string& name) const { return specs_.at(name).value; }
const std::string& Flags::text(const std::string& name) const { return specs_.at(name).text; }

Json Flags::ToJson() const {
  Json j = Json::object();
  j["quick"] = quick_;
  j["python"] = python_;
  for (const auto& [name, s] : specs_) {
    if (s.numeric) {
      j[name] = s.value;
    } else {
      j[name] = s.text;
    }
  }
  return j;
}

// ---- PythonHelper ---------------------------------------------------------------

void PythonHelper::Start(const std::string& python, const std::string& bench_dir) {
  int in_pipe[2], out_pipe[2];  // [0] read end, [1] write end
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) Die("pipe2 failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
  const std::string script = bench_dir + "/py_alternatives.py";
  // -E -s: ignore PYTHON* variables and the user site, as the embedded
  // runtime does (PyConfig isolated), so both sides see the same sys.path.
  std::vector<std::string> args = {python, "-E", "-s", script};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, python.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (rc != 0) Die("cannot start " + python + ": " + std::strerror(rc));
  to_ = fdopen(in_pipe[1], "w");
  from_ = fdopen(out_pipe[0], "r");
  if (to_ == nullptr || from_ == nullptr) Die("fdopen failed");
}

Json PythonHelper::Call(const Json& command) {
  const std::string line = command.dump() + "\n";
  if (std::fputs(line.c_str(), to_) < 0 || std::fflush(to_) != 0) Die("the Python helper is gone (write failed)");
  std::string reply;
  char buf[1 << 16];
  while (std::fgets(buf, sizeof(buf), from_) != nullptr) {
    reply += buf;
    if (!reply.empty() && reply.back() == '\n') break;
  }
  if (reply.empty()) Die("the Python helper exited while running " + command.dump());
  Json j = Json::parse(reply, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) Die("the Python helper replied with a malformed line: " + reply.substr(0, 200));
  if (!j.value("ok", false)) Die("the Python helper failed " + command.dump() + ": " + j.value("error", "?"));
  return j;
}

PythonHelper::~PythonHelper() {
  if (to_ != nullptr) {
    std::fputs("{\"op\": \"quit\"}\n", to_);
    std::fclose(to_);
  }
  if (from_ != nullptr) std::fclose(from_);
  if (pid_ > 0) {
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

std::string RunAndCapture(const std::vector<std::string>& args) {
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) Die("pipe2 failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  if (rc != 0) Die("cannot start " + args[0] + ": " + std::strerror(rc));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(out_pipe[0], buf, sizeof(buf))) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die(args[0] + " " + args[1] + " failed");
  return out;
}

// ---- Statistics -------------------------------------------------------------------

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least p% of the samples <= it.
  const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
  const size_t idx = rank < 1 ? 0 : std::min(v.size() - 1, static_cast<size_t>(rank) - 1);
  return v[idx];
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double Slope(const std::vector<double>& x, const std::vector<double>& y) {
  const double mx = Mean(x), my = Mean(y);
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) * (x[i] - mx);
  }
  return num / den;
}

Latency Summarize(const std::vector<double>& us) {
  Latency l;
  l.n = us.size();
  std::vector<double> v = us;
  std::sort(v.begin(), v.end());
  auto at = [&](double p) {
    const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
    return v[rank < 1 ? 0 : std::min(v.size() - 1, static_cast<size_t>(rank) - 1)];
  };
  l.p50 = at(50);
  l.p90 = at(90);
  l.p99 = at(99);
  l.p999 = at(99.9);
  l.max = v.back();
  l.mean = Mean(v);
  return l;
}

Json ToJson(const Latency& l) {
  auto r = [](double x) { return std::round(x * 100) / 100; };
  return Json{{"n", l.n},          {"p50_us", r(l.p50)}, {"p90_us", r(l.p90)},  {"p99_us", r(l.p99)},
              {"p999_us", r(l.p999)}, {"max_us", r(l.max)}, {"mean_us", r(l.mean)}};
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- Processes and the machine --------------------------------------------------

Memory ReadMemory(pid_t pid) {
  const std::string dir = pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid);
  Memory m;
  auto field = [](const std::string& line, const char* key, long* out) {
    const size_t n = std::strlen(key);
    if (line.compare(0, n, key) == 0) *out = std::strtol(line.c_str() + n, nullptr, 10);
  };
  std::ifstream status(dir + "/status");
  for (std::string line; std::getline(status, line);) {
    field(line, "VmRSS:", &m.rss_kib);
    field(line, "RssAnon:", &m.rss_anon_kib);
    field(line, "RssFile:", &m.rss_file_kib);
  }
  std::ifstream rollup(dir + "/smaps_rollup");
  for (std::string line; std::getline(rollup, line);) field(line, "Pss:", &m.pss_kib);
  return m;
}

namespace {
cpu_set_t ToSet(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  return set;
}
}  // namespace

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

bool PinThisThread(const std::vector<int>& cpus) {
  const cpu_set_t set = ToSet(cpus);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

bool PinProcess(pid_t pid, const std::vector<int>& cpus) {
  const cpu_set_t set = ToSet(cpus);
  bool ok = true;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    const pid_t tid = static_cast<pid_t>(std::strtol(e.path().filename().c_str(), nullptr, 10));
    ok = sched_setaffinity(tid, sizeof(set), &set) == 0 && ok;
  }
  return ok && !ec;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string NowUtc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void PrintFinalJson(const std::string& benchmark, Json figures) {
  Json out = Json::object();
  out["benchmark"] = benchmark;
  for (auto& [k, v] : figures.items()) out[k] = v;
  std::printf("%s\n", out.dump().c_str());
  std::fflush(stdout);
}

}  // namespace interpd::bench
