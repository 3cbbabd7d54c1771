// Config: every setting of the daemon, with its built-in default.
//
// The daemon must start with no configuration file at all, so a
// default-constructed Config *is* the default configuration; the shipped
// config/interpd.toml spells the same values out (a test keeps the two equal).
// ConfigLoader fills a Config from TOML and command-line flags; this file only
// holds the values and the operations on whole configurations: printing as
// TOML, comparing two of them (for SIGHUP), and resolving the "0 / empty
// means: work it out" defaults against the running process.
//
// Thread safety: a Config is a plain value. The daemon builds one at start and
// one per SIGHUP, and publishes each as an immutable snapshot; distinct
// objects need no synchronization, one object shared between threads must not
// be written.
//
// Invariants (for a Config that came out of ConfigLoader; a hand-built one is
// the caller's responsibility):
//   1. Every field is within the range its key documents in
//      config/interpd.toml; ConfigLoader rejects anything else.
//   2. "0" and "" keep their documented meaning ("number of CPUs", "none",
//      "the standard path"); they are resolved where they are used, by the
//      Resolve* functions below, never written back. So a Config printed by
//      ToToml() and parsed again compares equal, on any machine.
//   3. tasks.default_timeout <= tasks.max_timeout whenever both are non-zero;
//      limits.memory_limit <= limits.max_memory_limit likewise;
//      tasks.default_lane is "isolated" unless workers.compat_count > 0.
//   4. Every key is either reloadable on SIGHUP or restart-only, never both
//      (ConfigKeys says which); Diff() and ApplyReloadable() rely on it.
#ifndef INTERPD_DAEMON_CONFIG_H_
#define INTERPD_DAEMON_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace interpd::daemon {

// Durations are kept in integral nanoseconds, not floating seconds: equality
// is exact (Diff and the round-trip tests depend on it) and they add to
// steady_clock time points without conversions. The file writes seconds.
using Duration = std::chrono::nanoseconds;

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };

// Where log lines go. kAuto picks the journal when stderr is already the
// journal's stream (see Logging::StderrIsJournal), else stderr.
enum class LogTarget { kAuto, kStderr, kJournal };

// Which lane a run that names none takes (PROTOCOL.md, `run` param `lane`).
enum class LaneChoice { kIsolated, kCompat, kAuto };

// The names used in the file and on the command line: "trace" ... "off".
std::string_view LogLevelName(LogLevel level);
std::optional<LogLevel> ParseLogLevel(std::string_view name);
std::string_view LogTargetName(LogTarget target);
std::optional<LogTarget> ParseLogTarget(std::string_view name);
// "isolated", "compat", "auto".
std::string_view LaneChoiceName(LaneChoice lane);
std::optional<LaneChoice> ParseLaneChoice(std::string_view name);

struct ServerConfig {
  // Path of the listening Unix socket; "" = ResolveSocketPath()'s default.
  // Ignored when systemd passes a listening socket (socket activation).
  std::string socket;
  // Permission bits given to the socket file after bind (no setuid/setgid/
  // sticky bits). Connecting needs write permission on the socket.
  std::uint32_t socket_mode = 0660;
  // Peers (SO_PEERCRED) allowed to connect, by user name / numeric uid and by
  // group name / numeric gid. Both empty: anyone who can open the socket.
  // Otherwise a peer must match either list. Names are resolved by the
  // server, not here, so a configuration can be checked on another machine.
  std::vector<std::string> allow_users;
  std::vector<std::string> allow_groups;
  std::uint32_t max_connections = 1024;
  std::uint32_t max_in_flight_per_connection = 64;
  std::uint64_t max_frame_bytes = std::uint64_t{1} << 20;
  std::uint32_t max_json_depth = 128;
  std::uint32_t max_batch = 10000;
  // On SIGTERM/SIGINT: stop accepting, let running work finish for this
  // long, then cancel what is left.
  Duration shutdown_grace = std::chrono::seconds(30);
  // "" = no HTTP listener; otherwise "ADDRESS:PORT" ("127.0.0.1:8080",
  // "[::1]:8080") with a numeric address, so start-up never waits on DNS.
  // HTTP clients have no peer credentials: allow_users / allow_groups do
  // not apply to them, whoever can connect can run code.
  std::string http_listen;
  // A non-loopback http_listen address is refused unless this is true.
  bool http_allow_remote = false;
  // An HTTP connection with no request in flight that sends no complete
  // request for this long is closed.
  Duration http_idle_timeout = std::chrono::seconds(60);

  friend bool operator==(const ServerConfig&, const ServerConfig&) = default;
};

struct WorkersConfig {
  // Worker threads (one interpreter each); 0 = ResolveWorkerCount().
  std::uint32_t count = 0;
  // Tasks waiting for a worker; a submission beyond this is "overloaded".
  std::uint32_t queue_limit = 10000;
  // How long an idle worker spins before parking on atomic::wait, in
  // microseconds: trades a little CPU for wake-up latency under load.
  std::uint32_t idle_spin_us = 50;
  // After a timed-out task is interrupted, how long the worker has to come
  // back before it is abandoned (stuck in C code) and replaced.
  Duration interrupt_grace = std::chrono::seconds(2);
  // Workers of the compat lane, for scripts that import single-phase-init C
  // extensions; they share the main interpreter's GIL. 0 = no compat lane.
  std::uint32_t compat_count = 1;
  // Spare interpreters kept ready for `isolation: "fresh"`; each runs one
  // script and is replaced at once. 0 = fresh runs are refused.
  std::uint32_t fresh_spares = 2;

  friend bool operator==(const WorkersConfig&, const WorkersConfig&) = default;
};

struct TasksConfig {
  // Timeout of a run that names none; 0 = no timeout.
  Duration default_timeout{0};
  // Cap on any run's timeout, including one the client asks for and the
  // default; 0 = no cap.
  Duration max_timeout{0};
  // Captured stdout + stderr per task, in bytes; beyond it output is
  // dropped and the result says "truncated": true.
  std::uint64_t output_limit = std::uint64_t{1} << 20;
  // Compiled code objects kept per interpreter (LRU); 0 = no cache.
  std::uint32_t code_cache_entries = 256;
  // The lane of a run that does not name one.
  LaneChoice default_lane = LaneChoice::kIsolated;

  friend bool operator==(const TasksConfig&, const TasksConfig&) = default;
};

// Per-task resource limits (docs/resources.md).
// The daemon always runs with memory accounting (RuntimeOptions), which
// memory limits and memory-based recycling rely on.
struct LimitsConfig {
  // Bytes a run may add to its interpreter's memory when it names no
  // memory_limit; 0 = none.
  std::uint64_t memory_limit = 0;
  // Cap on any run's memory_limit, requested or default; 0 = no cap.
  std::uint64_t max_memory_limit = 0;
  // CPU time a run may use (its worker thread's CPU clock); 0 = none.
  Duration cpu_seconds{0};

  friend bool operator==(const LimitsConfig&, const LimitsConfig&) = default;
};

// When a worker's interpreter is replaced by a new one (0 = never).
struct RecycleConfig {
  std::uint64_t max_tasks = 0;   // tasks one interpreter runs
  std::uint64_t max_memory = 0;  // its accounted memory, bytes
  Duration max_age{0};           // time since it was created

  friend bool operator==(const RecycleConfig&, const RecycleConfig&) = default;
};

// What scripts may do (docs/security.md: a policy, not a sandbox).
struct PolicyConfig {
  bool deny_subprocess = true;
  bool deny_kill = true;
  bool deny_ctypes = true;
  bool deny_socket = false;
  bool restrict_writes = false;
  // Absolute directories writes may go to when restrict_writes is on.
  std::vector<std::string> write_paths;

  friend bool operator==(const PolicyConfig&, const PolicyConfig&) = default;
};

struct ActorsConfig {
  // Extra worker threads that host actors and take no unpinned scripts, so a
  // long script cannot delay an actor. 0 = actors share the script workers
  // (their messages run between scripts).
  std::uint32_t workers = 0;
  // Timeout of an actor.call that names none; 0 = none.
  Duration call_timeout = std::chrono::seconds(30);
  // on-failure restarts allowed within restart_window before an actor is
  // marked failed, when actor.spawn does not say.
  std::uint32_t max_restarts = 3;
  Duration restart_window = std::chrono::seconds(60);

  friend bool operator==(const ActorsConfig&, const ActorsConfig&) = default;
};

struct PythonConfig {
  // PyConfig.home; "" = the CPython prefix found at build time
  // (ResolvePythonHome()).
  std::string home;
  // Extra sys.path entries, absolute, searched before the standard library.
  std::vector<std::string> path;
  // Import the site module (site-packages, .pth files) in every interpreter.
  bool site = true;

  friend bool operator==(const PythonConfig&, const PythonConfig&) = default;
};

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  LogTarget target = LogTarget::kAuto;

  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

// One key whose value differs between two configurations.
struct ConfigChange {
  std::string key;        // "section.name", e.g. "workers.count"
  std::string old_value;  // as written in TOML, e.g. "0", "\"1MiB\""
  std::string new_value;
  bool reloadable = false;  // takes effect on SIGHUP; else needs a restart

  friend bool operator==(const ConfigChange&, const ConfigChange&) = default;
};

// What a SIGHUP found: every changed key, in file order.
struct ConfigDiff {
  std::vector<ConfigChange> changes;

  bool empty() const { return changes.empty(); }
  bool NeedsRestart() const;
  // Keys of the changes of one kind, in file order.
  std::vector<std::string> ReloadedKeys() const;
  std::vector<std::string> RestartKeys() const;
  // One line for the log, e.g.
  // "applied: log.level "info" -> "debug"; needs a restart (not applied):
  //  workers.count 0 -> 8". "no changes" when empty.
  std::string Summary() const;
};

struct Config {
  ServerConfig server;
  WorkersConfig workers;
  TasksConfig tasks;
  LimitsConfig limits;
  RecycleConfig recycle;
  PolicyConfig policy;
  ActorsConfig actors;
  PythonConfig python;
  LogConfig log;

  friend bool operator==(const Config&, const Config&) = default;

  // The configuration as a TOML document that ConfigLoader reads back into
  // an equal Config (invariant 2). Every key is written, sections in the
  // order of config/interpd.toml. `notes` maps "section.name" to a comment
  // put after that key's line (e.g. what "" resolves to on this machine);
  // newlines in a note are flattened so the comment cannot escape its line.
  std::string ToToml(const std::map<std::string, std::string>& notes = {}) const;

  // The keys whose values differ, each marked reloadable or restart-only.
  static ConfigDiff Diff(const Config& old_config, const Config& new_config);

  // What the daemon runs with after a SIGHUP that loaded `loaded`: the
  // reloadable keys from `loaded`, every restart-only key as `running` has
  // it (the server logs Diff() to say which of those were not applied).
  static Config ApplyReloadable(const Config& running, const Config& loaded);
};

// What ResolveSocketPath looks at, passed in so the rule is testable.
struct SocketPathEnvironment {
  std::string xdg_runtime_dir;    // $XDG_RUNTIME_DIR, "" if unset
  std::string runtime_directory;  // $RUNTIME_DIRECTORY (set by systemd), "" if unset
  bool is_root = false;           // geteuid() == 0

  static SocketPathEnvironment FromProcess();
};

// The socket path the server binds: `configured` if non-empty; else
//   $XDG_RUNTIME_DIR/interpd/interpd.sock   when XDG_RUNTIME_DIR is an absolute path,
//   /run/interpd/interpd.sock               as root or under systemd (RUNTIME_DIRECTORY set),
//   ./run/interpd.sock                      otherwise (relative to the working directory).
// The same rule clients use to find the daemon (PROTOCOL.md), so it is
// deliberately simple and independent of anything but the environment.
std::string ResolveSocketPath(std::string_view configured, const SocketPathEnvironment& env);

// A valid [server] http_listen value, taken apart.
struct HttpListenAddress {
  std::string address;  // numeric, without brackets: "127.0.0.1", "::1"
  std::uint16_t port = 0;
  bool ipv6 = false;
  // 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104: reachable from this host only.
  bool loopback = false;
};

// "ADDRESS:PORT" with a numeric IPv4 address or a bracketed IPv6 address and
// a port from 1 to 65535; nullopt for anything else (including "").
std::optional<HttpListenAddress> ParseHttpListen(std::string_view text);

// Worker count: `configured` if non-zero, else the CPUs this process may run
// on (sched_getaffinity, so taskset / CPUAffinity= are honoured), at least 1.
std::uint32_t ResolveWorkerCount(std::uint32_t configured);

// PyConfig.home: `configured` if non-empty, else the CPython prefix the
// daemon was built against.
std::string ResolvePythonHome(std::string_view configured);

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_CONFIG_H_
