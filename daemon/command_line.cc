#include "daemon/command_line.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

// GCC 12 at -O2 reports a false "potential null pointer dereference" in
// libstdc++ code inlined into CLI11's header-only parser (CLI::detail::split).
// Only that one warning, only for CLI11's code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include "daemon/logging.h"

#if !defined(INTERPD_VERSION) || !defined(INTERPD_PYTHON_VERSION)
#error "INTERPD_VERSION and INTERPD_PYTHON_VERSION must be defined by the build (daemon/CMakeLists.txt)"
#endif

namespace interpd::daemon {

std::string CommandLine::Version() {
  return std::string("interpd ") + INTERPD_VERSION + " (CPython " + INTERPD_PYTHON_VERSION + ")";
}

std::map<std::string, std::string> CommandLine::ResolvedNotes(const Config& config) {
  std::map<std::string, std::string> notes;
  if (config.server.socket.empty()) {
    notes["server.socket"] =
        "default: " + ResolveSocketPath("", SocketPathEnvironment::FromProcess()) + " in this environment";
  }
  if (config.workers.count == 0) {
    notes["workers.count"] =
        "0 = number of CPUs: " + std::to_string(ResolveWorkerCount(0)) + " for this process";
  }
  if (config.python.home.empty()) {
    notes["python.home"] = "default: " + ResolvePythonHome("") + " (the CPython this binary was built with)";
  }
  if (config.log.target == LogTarget::kAuto) {
    const char* stream = std::getenv("JOURNAL_STREAM");
    const LogTarget target = Logging::ResolveTarget(LogTarget::kAuto, stream ? stream : "", STDERR_FILENO);
    notes["log.target"] = "auto: " + std::string(LogTargetName(target)) + " for this process";
  }
  return notes;
}

CommandLine::Result CommandLine::Parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app("interpd: runs Python scripts in parallel on isolated subinterpreters, "
               "for clients speaking JSON-RPC 2.0 over a Unix socket.",
               "interpd");
  app.set_version_flag("--version", Version());

  ConfigSource source;
  std::string socket, workers, log_level, log_target;
  std::vector<std::string> sets;
  bool check_config = false;

  app.add_option("-c,--config", source.path,
                 "TOML configuration file (default: none, built-in defaults; see config/interpd.toml)")
      ->type_name("PATH");
  app.add_option("--socket", socket, "[server] socket: Unix socket path to listen on")->type_name("PATH");
  app.add_option("-w,--workers", workers, "[workers] count: worker interpreters (0 = number of CPUs)")
      ->type_name("N");
  app.add_option("--log-level", log_level, "[log] level: trace, debug, info, warn, error, critical or off")
      ->type_name("LEVEL");
  app.add_option("--log-target", log_target, "[log] target: auto, stderr or journal")->type_name("TARGET");
  app.add_option("--set", sets, "Set any key, e.g. --set tasks.max_timeout=60 (repeatable; TOML value syntax)")
      ->type_name("SECTION.KEY=VALUE");
  app.add_flag("--check-config", check_config,
               "Validate the configuration, print it as TOML and exit (0 if valid, 2 if not)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    Result r;
    r.exit_code = app.exit(e, out, err);
    return r;
  } catch (const CLI::ParseError& e) {
    app.exit(e, out, err);
    Result r;
    r.exit_code = kExitBadConfig;
    return r;
  }

  for (const std::string& assignment : sets) {
    const std::size_t eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) {
      err << "interpd: --set " << assignment << ": expected SECTION.KEY=VALUE, e.g. --set workers.count=4\n";
      Result r;
      r.exit_code = kExitBadConfig;
      return r;
    }
    source.overrides.push_back({assignment.substr(0, eq), assignment.substr(eq + 1), "--set"});
  }
  // An empty value (--socket "") is a real setting, so "given" is decided by
  // CLI11's count, not by the string being empty.
  auto flag = [&](const char* name, const char* key, const std::string& value) {
    if (app.count(name) > 0) source.overrides.push_back({key, value, name});
  };
  flag("--socket", "server.socket", socket);
  flag("--workers", "workers.count", workers);
  flag("--log-level", "log.level", log_level);
  flag("--log-target", "log.target", log_target);

  LoadResult loaded = ConfigLoader::Load(source);
  Result r;
  if (!loaded.ok()) {
    err << loaded.ErrorText();
    err << "interpd: " << loaded.errors.size() << (loaded.errors.size() == 1 ? " error" : " errors")
        << " in the configuration; nothing was started\n";
    r.exit_code = kExitBadConfig;
    return r;
  }
  if (check_config) {
    out << "# interpd effective configuration: built-in defaults";
    if (!source.path.empty()) out << ", then " << source.path;
    if (!source.overrides.empty()) out << ", then the command line";
    out << "\n# " << Version() << "\n\n";
    out << loaded.config.ToToml(ResolvedNotes(loaded.config));
    r.exit_code = kExitOk;
    return r;
  }
  r.action = Action::kRun;
  r.source = std::move(source);
  r.config = std::move(loaded.config);
  return r;
}

}  // namespace interpd::daemon
