// Support shared by the bench_* programs: command-line flags, the Python
// helper process that runs the alternatives, percentiles, and /proc readers.
//
// Thread safety: none of this is thread-safe; each benchmark drives it from
// its main thread only.
//
// Invariants:
//   1. The helper is the CPython executable that interpd embeds (the
//      INTERPD_BENCH_PYTHON of the build, unless --python overrides it), so
//      the alternatives run on the same build of the same version.
//   2. A benchmark prints a human-readable report first and, as its very last
//      line of stdout, one JSON object with every figure (FinalJson()).
#ifndef INTERPD_BENCH_BENCH_SUPPORT_H_
#define INTERPD_BENCH_BENCH_SUPPORT_H_

#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace interpd::bench {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// ---- Flags -----------------------------------------------------------------

// Parses `--name value`, `--name=value` and bare `--flag`. Every benchmark
// understands --quick, --python PATH and --help; the rest are declared by the
// benchmark with their defaults (normal, quick) and a description.
class Flags {
 public:
  Flags(std::string program, std::string summary);
  // Declares a numeric flag with its default for a normal and a --quick run.
  void Number(const std::string& name, double normal, double quick, const std::string& help);
  void Text(const std::string& name, const std::string& normal, const std::string& quick, const std::string& help);
  // Parses argv; prints usage and exits on --help or an unknown flag.
  void Parse(int argc, char** argv);

  bool quick() const { return quick_; }
  double number(const std::string& name) const;
  int integer(const std::string& name) const { return static_cast<int>(number(name)); }
  const std::string& text(const std::string& name) const;
  const std::string& python() const { return python_; }
  const std::string& bench_dir() const { return bench_dir_; }
  // The exact command line, for the report.
  const std::string& command_line() const { return command_line_; }
  // Every flag's effective value, for the final JSON.
  Json ToJson() const;

 private:
  struct Spec {
    bool numeric;
    double normal, quick;
    std::string normal_text, quick_text, help;
    bool set = false;
    double value = 0;
    std::string text;
  };
  [[noreturn]] void Usage(int code) const;

  std::string program_, summary_;
  std::map<std::string, Spec> specs_;
  std::vector<std::string> order_;
  bool quick_ = false;
  std::string python_;
  std::string bench_dir_;
  std::string command_line_;
};

// ---- The Python helper (bench/py_alternatives.py) ---------------------------

// A child process running py_alternatives.py with the embedded CPython's
// executable. Call() writes one JSON command and reads one JSON reply; a
// reply with "ok": false, a dead helper or a malformed line ends the
// benchmark with a message (a benchmark that silently skips its comparison
// would report a ratio against nothing).
class PythonHelper {
 public:
  PythonHelper() = default;
  ~PythonHelper();
  PythonHelper(const PythonHelper&) = delete;
  PythonHelper& operator=(const PythonHelper&) = delete;

  // Starts `python -E -s <bench_dir>/py_alternatives.py`. Exits on failure.
  void Start(const std::string& python, const std::string& bench_dir);
  Json Call(const Json& command);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  FILE* to_ = nullptr;    // the helper's stdin
  FILE* from_ = nullptr;  // the helper's stdout
};

// ---- Statistics ---------------------------------------------------------------

// Nearest-rank percentile, p in [0, 100]. REQUIRES: !v.empty().
double Percentile(std::vector<double> v, double p);
double Median(std::vector<double> v);
double Mean(const std::vector<double>& v);
// Least-squares slope of y over x. REQUIRES: x.size() == y.size() >= 2.
double Slope(const std::vector<double>& x, const std::vector<double>& y);

// A latency distribution summary in microseconds.
struct Latency {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};
Latency Summarize(const std::vector<double>& us);
Json ToJson(const Latency& l);

double Seconds(Clock::duration d);

// ---- Processes and the machine -------------------------------------------

// Memory of a process in KiB: VmRSS, RssAnon, RssFile from /proc/<pid>/status
// and Pss from /proc/<pid>/smaps_rollup. pid 0 means this process. Fields it
// cannot read stay -1.
struct Memory {
  long rss_kib = -1;
  long rss_anon_kib = -1;
  long rss_file_kib = -1;
  long pss_kib = -1;
};
Memory ReadMemory(pid_t pid = 0);

// Runs argv[0] with argv (no shell) and returns its stdout; exits the
// benchmark if it cannot start or does not exit with status 0.
std::string RunAndCapture(const std::vector<std::string>& argv);

// CPU affinity (Linux). The CPUs this process may run on, in order.
std::vector<int> AllowedCpus();
// Restricts the calling thread to `cpus`. False on failure.
bool PinThisThread(const std::vector<int>& cpus);
// Restricts every thread of process `pid` (each entry of /proc/<pid>/task)
// to `cpus`. False if any thread could not be pinned.
bool PinProcess(pid_t pid, const std::vector<int>& cpus);

// "1.23 0.98 0.80" from /proc/loadavg.
std::string LoadAverage();
// UTC date and time, ISO 8601.
std::string NowUtc();
// The last line of a benchmark: {"benchmark": name, ...figures}.
void PrintFinalJson(const std::string& benchmark, Json figures);

}  // namespace interpd::bench

#endif  // INTERPD_BENCH_BENCH_SUPPORT_H_
