// Tests for CommandLine: flags over the file, --check-config, --set, exit
// codes and what goes to which stream.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/command_line.h"
#include "daemon/config_keys.h"
#include "daemon/config_loader.h"
#include "sample_configs.h"
#include "temp_dir.h"

namespace interpd::daemon {
namespace {

using testing::kEveryKeyChanged;
using testing::TempDir;

struct Run {
  CommandLine::Result result;
  std::string out;
  std::string err;
};

Run Parse(std::initializer_list<std::string> args) {
  std::vector<std::string> storage = {"interpd"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const std::string& a : storage) argv.push_back(a.c_str());
  std::ostringstream out, err;
  Run run;
  run.result = CommandLine::Parse(static_cast<int>(argv.size()), argv.data(), out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

TEST_CASE("With no arguments the daemon runs on the built-in defaults", "[command_line]") {
  const Run run = Parse({});
  CHECK(run.result.action == CommandLine::Action::kRun);
  CHECK(run.result.exit_code == 0);
  CHECK(run.result.config == Config{});
  CHECK(run.result.source == ConfigSource{});
  CHECK(run.out.empty());
  CHECK(run.err.empty());
}

TEST_CASE("Command-line flags override the file, and the file overrides the defaults", "[command_line]") {
  TempDir dir;
  const std::string file = dir.Write("interpd.toml",
                                     "[server]\nsocket = \"/from/file.sock\"\nmax_batch = 7\n"
                                     "[workers]\ncount = 2\n[log]\nlevel = \"error\"\ntarget = \"journal\"\n");
  const Run run = Parse({"--config", file, "--socket", "/from/flag.sock", "--workers", "8", "--log-level",
                         "debug", "--log-target", "stderr", "--set", "tasks.max_timeout=60", "--set",
                         "python.path=[\"/opt/lib\"]"});
  INFO(run.err);
  REQUIRE(run.result.action == CommandLine::Action::kRun);
  const Config& c = run.result.config;
  CHECK(c.server.socket == "/from/flag.sock");
  CHECK(c.workers.count == 8);
  CHECK(c.log.level == LogLevel::kDebug);
  CHECK(c.log.target == LogTarget::kStderr);
  CHECK(c.tasks.max_timeout == std::chrono::seconds(60));
  CHECK(c.python.path == std::vector<std::string>{"/opt/lib"});
  CHECK(c.server.max_batch == 7);  // only in the file
  CHECK(c.server.max_connections == 1024);  // in neither
  // The source is what a SIGHUP re-loads: same file, same flags.
  CHECK(run.result.source.path == file);
  const LoadResult reloaded = ConfigLoader::Load(run.result.source);
  REQUIRE(reloaded.ok());
  CHECK(reloaded.config == c);
}

TEST_CASE("A named flag wins over --set for the same key, and an empty value is a value", "[command_line]") {
  TempDir dir;
  const std::string file = dir.Write("a.toml", "[server]\nsocket = \"/from/file.sock\"\n");
  const Run run = Parse({"--workers", "3", "--set", "workers.count=5", "-c", file, "--socket", ""});
  INFO(run.err);
  REQUIRE(run.result.action == CommandLine::Action::kRun);
  CHECK(run.result.config.workers.count == 3);
  CHECK(run.result.config.server.socket.empty());
}

TEST_CASE("The --set flag reads TOML values, and plain text for keys that take text", "[command_line]") {
  struct Case {
    const char* arg;
    bool (*check)(const Config&);
  };
  const Case cases[] = {
      {"server.socket=/tmp/plain.sock", [](const Config& c) { return c.server.socket == "/tmp/plain.sock"; }},
      {"server.socket=\"/tmp/quoted.sock\"", [](const Config& c) { return c.server.socket == "/tmp/quoted.sock"; }},
      {"server.http_listen=127.0.0.1:9000", [](const Config& c) { return c.server.http_listen == "127.0.0.1:9000"; }},
      {"server.socket_mode=0600", [](const Config& c) { return c.server.socket_mode == 0600u; }},
      {"server.max_frame_bytes=64KiB", [](const Config& c) { return c.server.max_frame_bytes == 65536u; }},
      {"server.max_frame_bytes=4096", [](const Config& c) { return c.server.max_frame_bytes == 4096u; }},
      {"server.allow_users=[\"alice\", 1001]",
       [](const Config& c) { return c.server.allow_users == std::vector<std::string>{"alice", "1001"}; }},
      {"workers.interrupt_grace=0.5",
       [](const Config& c) { return c.workers.interrupt_grace == std::chrono::milliseconds(500); }},
      {"python.site=false", [](const Config& c) { return !c.python.site; }},
      {"log.level=trace", [](const Config& c) { return c.log.level == LogLevel::kTrace; }},
      {"python.home=/opt/py = odd", [](const Config& c) { return c.python.home == "/opt/py = odd"; }},
  };
  for (const Case& c : cases) {
    SECTION(c.arg) {
      const Run run = Parse({"--set", c.arg});
      INFO(run.err);
      REQUIRE(run.result.action == CommandLine::Action::kRun);
      CHECK(c.check(run.result.config));
    }
  }
}

TEST_CASE("Bad flag values exit 2 naming the flag, the key and the reason", "[command_line]") {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{"--workers", "-3"},
       "command line (--workers): [workers] count = -3: must be between 0 and 1024 (0 = number of CPUs)"},
      {{"--workers=many"}, "command line (--workers): [workers] count = \"many\": expected an integer, got a string"},
      {{"--log-level", "verbose"}, "command line (--log-level): [log] level = \"verbose\": must be one of"},
      {{"--set", "workers.cuont=3"}, "command line (--set): workers.cuont: unknown key; did you mean workers.count?"},
      {{"--set", "nosuch=1"}, "command line (--set): nosuch: unknown key (keys are written section.name"},
      {{"--set", "tasks.output_limit=64MB"}, "[tasks] output_limit = \"64MB\": not a size"},
      {{"--set", "workers.count"}, "interpd: --set workers.count: expected SECTION.KEY=VALUE"},
      {{"--socket", std::string("/tmp/bad\xff.sock")},
       "command line (--socket): [server] socket = \"/tmp/bad\xff.sock\": not valid UTF-8"},
  };
  for (const Case& c : cases) {
    SECTION(c.args.front() + " " + c.args.back()) {
      std::vector<std::string> storage = {"interpd"};
      storage.insert(storage.end(), c.args.begin(), c.args.end());
      std::vector<const char*> argv;
      for (const std::string& a : storage) argv.push_back(a.c_str());
      std::ostringstream out, err;
      const auto r = CommandLine::Parse(static_cast<int>(argv.size()), argv.data(), out, err);
      CHECK(r.action == CommandLine::Action::kExit);
      CHECK(r.exit_code == 2);
      CHECK(out.str().empty());
      CHECK_THAT(err.str(), Catch::Contains(c.message));
    }
  }
}

TEST_CASE("All errors of the file and the flags are printed, then a count", "[command_line]") {
  TempDir dir;
  const std::string file = dir.Write("bad.toml", "[workers]\ncount = -1\n[sever]\n");
  const Run run = Parse({"--config", file, "--log-level", "loud"});
  CHECK(run.result.exit_code == 2);
  CHECK_THAT(run.err, Catch::Contains(file + ":2: [workers] count = -1"));
  CHECK_THAT(run.err, Catch::Contains(file + ":3: [sever]: unknown section; did you mean [server]?"));
  CHECK_THAT(run.err, Catch::Contains("command line (--log-level): [log] level = \"loud\""));
  CHECK_THAT(run.err, Catch::EndsWith("interpd: 3 errors in the configuration; nothing was started\n"));
}

TEST_CASE("The --check-config flag prints TOML that parses back to the same configuration", "[command_line]") {
  TempDir dir;
  const std::string every = dir.Write("every.toml", std::string(kEveryKeyChanged));
  const std::string some = dir.Write("some.toml", "[workers]\ncount = 3\n[python]\npath = [\"/srv/lib\"]\n");
  const std::vector<std::string> arg_sets[] = {
      {},
      {"--config", every},
      {"--config", some, "--socket", "/tmp/t.sock", "--log-level", "warn", "--set", "tasks.output_limit=2MiB"},
      {"--set", "server.allow_groups=[\"ops\", 42]", "--set", "workers.interrupt_grace=0.125"},
  };
  for (std::size_t i = 0; i < std::size(arg_sets); ++i) {
    const std::vector<std::string>& args = arg_sets[i];
    // Named by index: the arguments hold the temporary directory's random
    // name, and a section whose name changes on every run never completes.
    SECTION("argument set " + std::to_string(i)) {
      std::vector<std::string> storage = {"interpd"};
      storage.insert(storage.end(), args.begin(), args.end());
      std::vector<const char*> argv;
      for (const std::string& a : storage) argv.push_back(a.c_str());
      std::ostringstream run_out, run_err;
      const auto as_run = CommandLine::Parse(static_cast<int>(argv.size()), argv.data(), run_out, run_err);
      REQUIRE(as_run.action == CommandLine::Action::kRun);

      argv.push_back("--check-config");
      std::ostringstream out, err;
      const auto checked = CommandLine::Parse(static_cast<int>(argv.size()), argv.data(), out, err);
      CHECK(checked.action == CommandLine::Action::kExit);
      CHECK(checked.exit_code == 0);
      CHECK(err.str().empty());
      INFO(out.str());
      const LoadResult back = ConfigLoader::LoadText(out.str(), "printed.toml");
      INFO(back.ErrorText());
      REQUIRE(back.ok());
      CHECK(back.config == as_run.config);
      CHECK(back.explicit_keys.size() == ConfigKeys::All().size());
    }
  }
}

TEST_CASE("The --check-config flag notes what the empty and zero defaults resolve to", "[command_line]") {
  const Run run = Parse({"--check-config"});
  CHECK(run.result.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("socket = \"\"  # default: "));
  CHECK_THAT(run.out, Catch::Contains("count = 0  # 0 = number of CPUs: " + std::to_string(ResolveWorkerCount(0))));
  CHECK_THAT(run.out, Catch::Contains("home = \"\"  # default: " + ResolvePythonHome("")));
  CHECK_THAT(run.out, Catch::Contains("target = \"auto\"  # auto: "));
}

TEST_CASE("The --help and --version flags print to stdout and exit 0, and a usage error exits 2", "[command_line]") {
  SECTION("--version") {
    const Run run = Parse({"--version"});
    CHECK(run.result.action == CommandLine::Action::kExit);
    CHECK(run.result.exit_code == 0);
    CHECK(run.out == CommandLine::Version() + "\n");
    CHECK_THAT(run.out, Catch::StartsWith("interpd 0."));
    CHECK_THAT(run.out, Catch::Contains("(CPython 3."));
  }
  SECTION("--help") {
    const Run run = Parse({"--help"});
    CHECK(run.result.exit_code == 0);
    for (const char* flag : {"--config", "--socket", "--workers", "--log-level", "--log-target", "--set",
                             "--check-config", "--version", "--help"}) {
      CHECK_THAT(run.out, Catch::Contains(flag));
    }
    CHECK(run.err.empty());
  }
  SECTION("an unknown flag") {
    const Run run = Parse({"--wrokers", "3"});
    CHECK(run.result.action == CommandLine::Action::kExit);
    CHECK(run.result.exit_code == 2);
    CHECK_FALSE(run.err.empty());
  }
  SECTION("a stray argument") {
    const Run run = Parse({"script.py"});
    CHECK(run.result.exit_code == 2);
    CHECK_FALSE(run.err.empty());
  }
}

}  // namespace
}  // namespace interpd::daemon
