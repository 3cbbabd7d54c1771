// Tests for Config and ConfigLoader: defaults, the shipped file, every key,
// every kind of bad input, Diff / ApplyReloadable and ResolveSocketPath.
#include <catch2/catch.hpp>

#include <sched.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/config_keys.h"
#include "daemon/config_loader.h"
#include "sample_configs.h"
#include "temp_dir.h"

namespace interpd::daemon {
namespace {

using namespace std::chrono_literals;
using testing::kEveryKeyChanged;
using testing::TempDir;

const std::string kSourceDir = INTERPD_SOURCE_DIR;

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Each key's default as the shipped file and the documentation write it.
// Written out by hand, not computed, so a changed default has to be changed
// here, in config/interpd.toml and in docs/configuration.md together.
const std::vector<std::pair<std::string, std::string>> kDefaults = {
    {"server.socket", R"("")"},
    {"server.socket_mode", R"("0660")"},
    {"server.allow_users", "[]"},
    {"server.allow_groups", "[]"},
    {"server.max_connections", "1024"},
    {"server.max_in_flight_per_connection", "64"},
    {"server.max_frame_bytes", R"("1MiB")"},
    {"server.max_json_depth", "128"},
    {"server.max_batch", "10000"},
    {"server.shutdown_grace", "30"},
    {"server.http_listen", R"("")"},
    {"server.http_allow_remote", "false"},
    {"server.http_idle_timeout", "60"},
    {"workers.count", "0"},
    {"workers.queue_limit", "10000"},
    {"workers.idle_spin_us", "50"},
    {"workers.interrupt_grace", "2"},
    {"workers.compat_count", "1"},
    {"workers.fresh_spares", "2"},
    {"tasks.default_timeout", "0"},
    {"tasks.max_timeout", "0"},
    {"tasks.output_limit", R"("1MiB")"},
    {"tasks.code_cache_entries", "256"},
    {"tasks.default_lane", R"("isolated")"},
    {"limits.memory_limit", "0"},
    {"limits.max_memory_limit", "0"},
    {"limits.cpu_seconds", "0"},
    {"recycle.max_tasks", "0"},
    {"recycle.max_memory", "0"},
    {"recycle.max_age", "0"},
    {"policy.deny_subprocess", "true"},
    {"policy.deny_kill", "true"},
    {"policy.deny_ctypes", "true"},
    {"policy.deny_socket", "false"},
    {"policy.restrict_writes", "false"},
    {"policy.write_paths", "[]"},
    {"actors.workers", "0"},
    {"actors.call_timeout", "30"},
    {"actors.max_restarts", "3"},
    {"actors.restart_window", "60"},
    {"python.home", R"("")"},
    {"python.path", "[]"},
    {"python.site", "true"},
    {"log.level", R"("info")"},
    {"log.target", R"("auto")"},
};

// Whether SIGHUP applies each key: log level, limits, the policy and
// allowlists do; the socket, the workers, recycling and the Python
// settings need a restart.
const std::vector<std::pair<std::string, bool>> kReloadable = {
    {"server.socket", false},
    {"server.socket_mode", false},
    {"server.allow_users", true},
    {"server.allow_groups", true},
    {"server.max_connections", true},
    {"server.max_in_flight_per_connection", true},
    {"server.max_frame_bytes", true},
    {"server.max_json_depth", true},
    {"server.max_batch", true},
    {"server.shutdown_grace", true},
    {"server.http_listen", false},
    {"server.http_allow_remote", false},
    {"server.http_idle_timeout", true},
    {"workers.count", false},
    {"workers.queue_limit", true},
    {"workers.idle_spin_us", false},
    {"workers.interrupt_grace", true},
    {"workers.compat_count", false},
    {"workers.fresh_spares", false},
    {"tasks.default_timeout", true},
    {"tasks.max_timeout", true},
    {"tasks.output_limit", true},
    {"tasks.code_cache_entries", false},
    {"tasks.default_lane", true},
    {"limits.memory_limit", true},
    {"limits.max_memory_limit", true},
    {"limits.cpu_seconds", true},
    {"recycle.max_tasks", false},
    {"recycle.max_memory", false},
    {"recycle.max_age", false},
    {"policy.deny_subprocess", true},
    {"policy.deny_kill", true},
    {"policy.deny_ctypes", true},
    {"policy.deny_socket", true},
    {"policy.restrict_writes", true},
    {"policy.write_paths", true},
    {"actors.workers", false},
    {"actors.call_timeout", true},
    {"actors.max_restarts", true},
    {"actors.restart_window", true},
    {"python.home", false},
    {"python.path", false},
    {"python.site", false},
    {"log.level", true},
    {"log.target", false},
};

std::vector<std::string> AllDottedKeys() {
  std::vector<std::string> keys;
  for (const ConfigKey& key : ConfigKeys::All()) keys.push_back(key.Dotted());
  return keys;
}

TEST_CASE("A default-constructed Config holds the documented defaults", "[config]") {
  const Config c;
  CHECK(c.server.socket.empty());
  CHECK(c.server.socket_mode == 0660);
  CHECK(c.server.allow_users.empty());
  CHECK(c.server.allow_groups.empty());
  CHECK(c.server.max_connections == 1024);
  CHECK(c.server.max_in_flight_per_connection == 64);
  CHECK(c.server.max_frame_bytes == 1024 * 1024);
  CHECK(c.server.max_json_depth == 128);
  CHECK(c.server.max_batch == 10000);
  CHECK(c.server.shutdown_grace == 30s);
  CHECK(c.server.http_listen.empty());
  CHECK_FALSE(c.server.http_allow_remote);
  CHECK(c.server.http_idle_timeout == 60s);
  CHECK(c.workers.count == 0);
  CHECK(c.workers.queue_limit == 10000);
  CHECK(c.workers.idle_spin_us == 50);
  CHECK(c.workers.interrupt_grace == 2s);
  CHECK(c.workers.compat_count == 1);
  CHECK(c.workers.fresh_spares == 2);
  CHECK(c.tasks.default_timeout == 0s);
  CHECK(c.tasks.max_timeout == 0s);
  CHECK(c.tasks.output_limit == 1024 * 1024);
  CHECK(c.tasks.code_cache_entries == 256);
  CHECK(c.tasks.default_lane == LaneChoice::kIsolated);
  CHECK(c.limits.memory_limit == 0);
  CHECK(c.limits.max_memory_limit == 0);
  CHECK(c.limits.cpu_seconds == 0s);
  CHECK(c.recycle.max_tasks == 0);
  CHECK(c.recycle.max_memory == 0);
  CHECK(c.recycle.max_age == 0s);
  CHECK(c.policy.deny_subprocess);
  CHECK(c.policy.deny_kill);
  CHECK(c.policy.deny_ctypes);
  CHECK_FALSE(c.policy.deny_socket);
  CHECK_FALSE(c.policy.restrict_writes);
  CHECK(c.policy.write_paths.empty());
  CHECK(c.actors.workers == 0);
  CHECK(c.actors.call_timeout == 30s);
  CHECK(c.actors.max_restarts == 3);
  CHECK(c.actors.restart_window == 60s);
  CHECK(c.python.home.empty());
  CHECK(c.python.path.empty());
  CHECK(c.python.site);
  CHECK(c.log.level == LogLevel::kInfo);
  CHECK(c.log.target == LogTarget::kAuto);

  // And each key prints its default the way the file and the docs write it.
  REQUIRE(kDefaults.size() == ConfigKeys::All().size());
  for (const auto& [dotted, literal] : kDefaults) {
    INFO(dotted);
    const ConfigKey* key = ConfigKeys::FindDotted(dotted);
    REQUIRE(key != nullptr);
    CHECK(key->render(c) == literal);
  }
}

TEST_CASE("With no file and no flags the loader gives the built-in defaults", "[config]") {
  const LoadResult r = ConfigLoader::Load(ConfigSource{});
  INFO(r.ErrorText());
  REQUIRE(r.ok());
  CHECK(r.config == Config{});
  CHECK(r.explicit_keys.empty());
}

TEST_CASE("The shipped config/interpd.toml sets every key to its built-in default", "[config]") {
  const LoadResult r = ConfigLoader::Load({kSourceDir + "/config/interpd.toml", {}});
  INFO(r.ErrorText());
  REQUIRE(r.ok());
  CHECK(r.config == Config{});
  // Every key is spelled out, so the file documents all of them.
  CHECK(r.explicit_keys == AllDottedKeys());
}

TEST_CASE("docs/configuration.md lists every key with its default and whether SIGHUP applies it", "[config]") {
  const std::string doc = ReadWhole(kSourceDir + "/docs/configuration.md");
  REQUIRE_FALSE(doc.empty());
  std::vector<std::string> lines;
  std::istringstream in(doc);
  for (std::string line; std::getline(in, line);) lines.push_back(line);

  for (const auto& [dotted, literal] : kDefaults) {
    INFO(dotted);
    const std::string cell = "| `" + dotted + "` |";
    const std::string* row = nullptr;
    for (const std::string& line : lines) {
      if (line.rfind(cell, 0) == 0) row = &line;
    }
    REQUIRE(row != nullptr);
    CHECK(row->find("| `" + literal + "` |") != std::string::npos);
    const bool reloadable = ConfigKeys::FindDotted(dotted)->reloadable;
    CHECK(row->find(reloadable ? "| SIGHUP |" : "| restart |") != std::string::npos);
  }
}

TEST_CASE("A file can set every key", "[config]") {
  const LoadResult r = ConfigLoader::LoadText(kEveryKeyChanged, "every.toml");
  INFO(r.ErrorText());
  REQUIRE(r.ok());
  const Config& c = r.config;
  CHECK(c.server.socket == "/srv/interpd/api.sock");
  CHECK(c.server.socket_mode == 0600);
  CHECK(c.server.allow_users == std::vector<std::string>{"alice", "1001", "svc-batch"});
  CHECK(c.server.allow_groups == std::vector<std::string>{"interpd-clients", "2000"});
  CHECK(c.server.max_connections == 200);
  CHECK(c.server.max_in_flight_per_connection == 8);
  CHECK(c.server.max_frame_bytes == 4 * 1024 * 1024);
  CHECK(c.server.max_json_depth == 64);
  CHECK(c.server.max_batch == 500);
  CHECK(c.server.shutdown_grace == 12500ms);
  CHECK(c.server.http_listen == "127.0.0.1:8080");
  CHECK(c.server.http_allow_remote);
  CHECK(c.server.http_idle_timeout == 2500ms);
  CHECK(c.workers.count == 6);
  CHECK(c.workers.queue_limit == 2000);
  CHECK(c.workers.idle_spin_us == 0);
  CHECK(c.workers.interrupt_grace == 250ms);
  CHECK(c.workers.compat_count == 2);
  CHECK(c.workers.fresh_spares == 0);
  CHECK(c.tasks.default_timeout == 10s);
  CHECK(c.tasks.max_timeout == 120s);
  CHECK(c.tasks.output_limit == 65536);
  CHECK(c.tasks.code_cache_entries == 0);
  CHECK(c.tasks.default_lane == LaneChoice::kAuto);
  CHECK(c.limits.memory_limit == 256 << 20);
  CHECK(c.limits.max_memory_limit == 1 << 30);
  CHECK(c.limits.cpu_seconds == 1500ms);
  CHECK(c.recycle.max_tasks == 1000);
  CHECK(c.recycle.max_memory == 2ull << 30);
  CHECK(c.recycle.max_age == 3600s);
  CHECK_FALSE(c.policy.deny_subprocess);
  CHECK_FALSE(c.policy.deny_kill);
  CHECK_FALSE(c.policy.deny_ctypes);
  CHECK(c.policy.deny_socket);
  CHECK(c.policy.restrict_writes);
  CHECK(c.policy.write_paths == std::vector<std::string>{"/srv/out", "/tmp"});
  CHECK(c.actors.workers == 2);
  CHECK(c.actors.call_timeout == 0s);
  CHECK(c.actors.max_restarts == 7);
  CHECK(c.actors.restart_window == 5500ms);
  CHECK(c.python.home == "/opt/python3.13");
  CHECK(c.python.path == std::vector<std::string>{"/opt/interpd/lib", "/srv/app"});
  CHECK_FALSE(c.python.site);
  CHECK(c.log.level == LogLevel::kDebug);
  CHECK(c.log.target == LogTarget::kJournal);

  // Nothing was left at its default: the sample really covers every key.
  CHECK(Config::Diff(Config{}, c).changes.size() == ConfigKeys::All().size());
  CHECK(r.explicit_keys == AllDottedKeys());
}

TEST_CASE("Keys a file leaves out keep their defaults", "[config]") {
  const LoadResult r = ConfigLoader::LoadText("[workers]\ncount = 3\n", "partial.toml");
  REQUIRE(r.ok());
  Config expected;
  expected.workers.count = 3;
  CHECK(r.config == expected);
  CHECK(r.explicit_keys == std::vector<std::string>{"workers.count"});
}

struct BadInput {
  const char* what;
  const char* toml;
  const char* key;      // ConfigError::key
  int line;             // ConfigError::line
  const char* message;  // expected in ConfigError::ToString()
};

TEST_CASE("Each kind of bad input is rejected with the key, the value and the reason", "[config]") {
  const std::string long_socket = "/run/" + std::string(120, 's') + ".sock";
  const std::string long_socket_toml = "[server]\nsocket = \"" + long_socket + "\"\n";
  const BadInput cases[] = {
      {"a number out of range", "[workers]\ncount = -3\n", "workers.count", 2,
       "bad.toml:2: [workers] count = -3: must be between 0 and 1024 (0 = number of CPUs)"},
      {"a number above its range", "[server]\n\nmax_connections = 0\n", "server.max_connections", 3,
       "[server] max_connections = 0: must be between 1 and 1000000"},
      {"a string where an integer belongs", "[workers]\ncount = \"four\"\n", "workers.count", 2,
       "[workers] count = \"four\": expected an integer, got a string"},
      {"a float where an integer belongs", "[workers]\ncount = 2.5\n", "workers.count", 2,
       "[workers] count = 2.5: expected an integer, got a float"},
      {"a string where a boolean belongs", "[python]\nsite = \"yes\"\n", "python.site", 2,
       "[python] site = \"yes\": expected a boolean (true or false), got a string"},
      {"a duration with a unit", "[server]\nshutdown_grace = \"30s\"\n", "server.shutdown_grace", 2,
       "[server] shutdown_grace = \"30s\": expected a number of seconds, got a string"},
      {"a duration out of range", "[server]\nshutdown_grace = 3600.5\n", "server.shutdown_grace", 2,
       "[server] shutdown_grace = 3600.5: must be between 0 and 3600 seconds"},
      {"a negative duration", "[tasks]\nmax_timeout = -1\n", "tasks.max_timeout", 2,
       "[tasks] max_timeout = -1: must be between 0 and 2592000 seconds (0 = none)"},
      {"a non-finite duration", "[workers]\ninterrupt_grace = inf\n", "workers.interrupt_grace", 2,
       "[workers] interrupt_grace = inf: must be between 0.01 and 600 seconds"},
      {"a string where a list belongs", "[server]\nallow_users = \"alice\"\n", "server.allow_users", 2,
       "[server] allow_users = \"alice\": expected a list of names or numeric ids, got a string"},
      {"a bad list entry", "[python]\npath = [\"/ok\", \"relative/dir\"]\n", "python.path", 2,
       "[python] path = [\"/ok\", \"relative/dir\"]: entry 2 (\"relative/dir\"): must be an absolute path"},
      {"a list entry of the wrong type", "[server]\nallow_groups = [1.5]\n", "server.allow_groups", 2,
       "entry 1 (1.5): expected a name or a numeric id, got a float"},
      {"a user name that could be an option", "[server]\nallow_users = [\"-rf\"]\n", "server.allow_users", 2,
       "entry 1 (\"-rf\"): is neither a numeric uid nor a valid name"},
      {"a uid that is not one", "[server]\nallow_users = [4294967295]\n", "server.allow_users", 2,
       "entry 1 (4294967295): is not a valid uid (numeric ids go up to 4294967294)"},
      {"a decimal size unit", "[tasks]\noutput_limit = \"64MB\"\n", "tasks.output_limit", 2,
       "[tasks] output_limit = \"64MB\": not a size: write a number of bytes or a string such as \"64MiB\""},
      {"a size below its range", "[server]\nmax_frame_bytes = 100\n", "server.max_frame_bytes", 2,
       "[server] max_frame_bytes = 100: must be between 1KiB and 1GiB"},
      {"a negative size", "[server]\nmax_frame_bytes = -1\n", "server.max_frame_bytes", 2,
       "must be between 1KiB and 1GiB"},
      {"a size above its range", "[tasks]\noutput_limit = \"2GiB\"\n", "tasks.output_limit", 2,
       "[tasks] output_limit = \"2GiB\": must be between 1KiB and 1GiB"},
      {"a size of the wrong type", "[tasks]\noutput_limit = true\n", "tasks.output_limit", 2,
       "expected a size (a number of bytes, or a string such as \"64MiB\"), got a boolean"},
      {"a mode with a non-octal digit", "[server]\nsocket_mode = \"0680\"\n", "server.socket_mode", 2,
       "[server] socket_mode = \"0680\": not a mode: write 3 or 4 octal digits"},
      {"a mode with the setuid bit", "[server]\nsocket_mode = \"4755\"\n", "server.socket_mode", 2,
       "not a mode"},
      {"a mode written as a TOML integer", "[server]\nsocket_mode = 0o660\n", "server.socket_mode", 2,
       "[server] socket_mode = 0o660: expected an octal string such as \"0660\" (quoted), got an integer"},
      {"a misspelt key", "[workers]\ncuont = 4\n", "workers.cuont", 2,
       "bad.toml:2: [workers] cuont: unknown key; did you mean count?"},
      {"a key in the wrong section", "[server]\ncount = 4\n", "server.count", 2,
       "[server] count: unknown key in [server]; count belongs in [workers]"},
      {"an unknown key with nothing close", "[log]\ncolour = true\n", "log.colour", 2,
       "[log] colour: unknown key; [log] has level and target"},
      {"a misspelt section", "[sever]\nsocket = \"/x\"\n", "sever", 1,
       "bad.toml:1: [sever]: unknown section; did you mean [server]?"},
      {"an unknown section", "[network]\n", "network", 1,
       "[network]: unknown section; the sections are [server], [workers], [tasks], [limits], [recycle], [policy], "
       "[actors], [python], [log]"},
      {"a memory limit below its floor", "[limits]\nmemory_limit = 4096\n", "limits.memory_limit", 2,
       "[limits] memory_limit = 4096: must be 0 (none) or between 1MiB and 1TiB"},
      {"an unknown lane", "[tasks]\ndefault_lane = \"compatible\"\n", "tasks.default_lane", 2,
       "must be one of \"isolated\", \"compat\", \"auto\"; did you mean \"compat\"?"},
      {"a relative write path", "[policy]\nwrite_paths = [\"out\"]\n", "policy.write_paths", 2,
       "entry 1 (\"out\"): must be an absolute path"},
      {"a default memory limit above the cap", "[limits]\nmemory_limit = \"2GiB\"\nmax_memory_limit = \"1GiB\"\n",
       "limits.memory_limit", 2,
       "[limits] memory_limit = 2GiB: must not exceed [limits] max_memory_limit = 1GiB (0 = none for either)"},
      {"a compat default lane without compat workers", "[workers]\ncompat_count = 0\n[tasks]\ndefault_lane = \"auto\"\n",
       "tasks.default_lane", 4, "[tasks] default_lane = \"auto\": needs [workers] compat_count > 0"},
      {"a key outside any section", "count = 4\n", "count", 1,
       "count: keys belong in a section: did you mean [workers] count?"},
      {"a section that is not a table", "server = 1\n", "server", 1,
       "server: expected a table ([server]), got an integer"},
      {"an unknown log level", "[log]\nlevel = \"warning\"\n", "log.level", 2,
       "[log] level = \"warning\": must be one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", "
       "\"critical\", \"off\"; did you mean \"warn\"?"},
      {"an unknown log target", "[log]\ntarget = \"syslog\"\n", "log.target", 2,
       "must be one of \"auto\", \"stderr\", \"journal\""},
      {"an HTTP address that needs DNS", "[server]\nhttp_listen = \"localhost:8080\"\n", "server.http_listen", 2,
       "must be \"\" (off) or \"ADDRESS:PORT\" with a numeric IPv4 address"},
      {"an HTTP port out of range", "[server]\nhttp_listen = \"127.0.0.1:0\"\n", "server.http_listen", 2,
       "must be \"\" (off) or \"ADDRESS:PORT\""},
      {"an unbracketed IPv6 address", "[server]\nhttp_listen = \"::1:8080\"\n", "server.http_listen", 2,
       "must be \"\" (off) or \"ADDRESS:PORT\""},
      {"an HTTP port with a sign", "[server]\nhttp_listen = \"127.0.0.1:+80\"\n", "server.http_listen", 2,
       "must be \"\" (off) or \"ADDRESS:PORT\""},
      {"an HTTP address on every interface without http_allow_remote",
       "[server]\nhttp_allow_remote = false\nhttp_listen = \"0.0.0.0:8080\"\n", "server.http_listen", 3,
       "bad.toml:3: [server] http_listen = \"0.0.0.0:8080\": is not a loopback address, and HTTP clients are not "
       "authenticated"},
      {"a routable IPv6 HTTP address without http_allow_remote", "[server]\nhttp_listen = \"[2001:db8::1]:80\"\n",
       "server.http_listen", 2, "set [server] http_allow_remote = true to accept that"},
      {"an HTTP idle timeout of zero", "[server]\nhttp_idle_timeout = 0\n", "server.http_idle_timeout", 2,
       "[server] http_idle_timeout = 0: must be between 1 and 86400 seconds"},
      {"a socket path too long for sun_path", long_socket_toml.c_str(), "server.socket", 2,
       "bytes long; a Unix socket path holds at most 107"},
      {"a socket path naming a directory", "[server]\nsocket = \"/run/interpd/\"\n", "server.socket", 2,
       "must name a file, not a directory"},
      {"a relative Python home", "[python]\nhome = \"python3.13\"\n", "python.home", 2,
       "must be an absolute path"},
      {"a default timeout above the maximum", "[tasks]\ndefault_timeout = 60\nmax_timeout = 30\n",
       "tasks.default_timeout", 2,
       "bad.toml:2: [tasks] default_timeout = 60: must not exceed [tasks] max_timeout = 30"},
      {"a TOML syntax error", "[server]\nmax_batch = 10\nsocket = \n", "", 3, "bad.toml:3: TOML syntax error"},
      {"a duplicated key", "[workers]\ncount = 1\ncount = 2\n", "", 3, "bad.toml:3: TOML syntax error"},
  };
  for (const BadInput& c : cases) {
    SECTION(c.what) {
      const LoadResult r = ConfigLoader::LoadText(c.toml, "bad.toml");
      INFO(r.ErrorText());
      REQUIRE(r.errors.size() == 1);
      const ConfigError& e = r.errors.front();
      CHECK(e.key == c.key);
      CHECK(e.line == c.line);
      CHECK_THAT(e.ToString(), Catch::Contains(c.message));
    }
  }
}

TEST_CASE("Every error in a file is reported, top to bottom", "[config]") {
  // Keys chosen so that alphabetical order (how TOML tables iterate) differs
  // from line order.
  const char* toml =
      "[workers]\n"
      "queue_limit = 0\n"
      "count = -1\n"
      "\n"
      "[log]\n"
      "level = \"loud\"\n"
      "[server]\n"
      "max_batch = 0\n";
  const LoadResult r = ConfigLoader::LoadText(toml, "many.toml");
  REQUIRE(r.errors.size() == 4);
  CHECK(r.errors[0].key == "workers.queue_limit");
  CHECK(r.errors[1].key == "workers.count");
  CHECK(r.errors[2].key == "log.level");
  CHECK(r.errors[3].key == "server.max_batch");
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[3].line == 8);
  CHECK_FALSE(r.ok());
}

TEST_CASE("A file that cannot be read is an error naming the file and why", "[config]") {
  TempDir dir;
  struct Case {
    const char* what;
    std::string path;
    const char* reason;
  };
  const Case cases[] = {
      {"missing", dir.path() + "/nope.toml", "cannot read the configuration file: No such file or directory"},
      {"a directory", dir.path(), "cannot read the configuration file: Is a directory"},
  };
  for (const Case& c : cases) {
    SECTION(c.what) {
      const LoadResult r = ConfigLoader::Load({c.path, {}});
      REQUIRE(r.errors.size() == 1);
      CHECK(r.errors[0].ToString() == c.path + ": " + c.reason);
    }
  }
}

TEST_CASE("Overrides apply after the file, last one winning, and report errors by flag", "[config]") {
  TempDir dir;
  const std::string file = dir.Write("a.toml", "[workers]\ncount = 2\n[log]\nlevel = \"warn\"\n");
  const LoadResult r = ConfigLoader::Load(
      {file, {{"workers.count", "4", "--set"}, {"workers.count", "6", "--workers"}, {"server.socket", "/tmp/s", "--socket"}}});
  INFO(r.ErrorText());
  REQUIRE(r.ok());
  CHECK(r.config.workers.count == 6);
  CHECK(r.config.log.level == LogLevel::kWarn);  // from the file, untouched
  CHECK(r.config.server.socket == "/tmp/s");

  const LoadResult bad = ConfigLoader::Load({file, {{"workers.count", "-3", "--workers"}}});
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].ToString() ==
        "command line (--workers): [workers] count = -3: must be between 0 and 1024 (0 = number of CPUs)");
}

TEST_CASE("A cross-key error blames the key that was set last", "[config]") {
  TempDir dir;
  const std::string file = dir.Write("t.toml", "[tasks]\nmax_timeout = 30\n");
  const LoadResult r = ConfigLoader::Load({file, {{"tasks.default_timeout", "45", "--set"}}});
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].ToString() ==
        "command line (--set): [tasks] default_timeout = 45: must not exceed [tasks] max_timeout = 30 "
        "(0 = none for either)");

  const LoadResult only_max = ConfigLoader::LoadText("[tasks]\nmax_timeout = 30\n", "m.toml",
                                                     {{"tasks.default_timeout", "31", "--set"}});
  REQUIRE(only_max.errors.size() == 1);
  CHECK(only_max.errors[0].source == "command line (--set)");
}

TEST_CASE("http_listen takes loopback addresses as they are and others only with http_allow_remote",
          "[config]") {
  for (const char* address : {"127.0.0.1:8080", "127.200.0.9:1", "[::1]:65535", "[::ffff:127.0.0.1]:8080"}) {
    INFO(address);
    const auto parsed = ParseHttpListen(address);
    REQUIRE(parsed.has_value());
    CHECK(parsed->loopback);
    CHECK(ConfigLoader::LoadText("[server]\nhttp_listen = \"" + std::string(address) + "\"\n", "t.toml").ok());
  }
  for (const char* address : {"0.0.0.0:8080", "192.0.2.7:80", "[::]:8080", "[2001:db8::1]:443", "128.0.0.1:80"}) {
    INFO(address);
    const auto parsed = ParseHttpListen(address);
    REQUIRE(parsed.has_value());
    CHECK_FALSE(parsed->loopback);
    const std::string line = "http_listen = \"" + std::string(address) + "\"\n";
    CHECK_FALSE(ConfigLoader::LoadText("[server]\n" + line, "t.toml").ok());
    CHECK(ConfigLoader::LoadText("[server]\nhttp_allow_remote = true\n" + line, "t.toml").ok());
  }
  const auto v6 = ParseHttpListen("[::1]:8080");
  REQUIRE(v6.has_value());
  CHECK(v6->address == "::1");
  CHECK(v6->port == 8080);
  CHECK(v6->ipv6);
  const auto v4 = ParseHttpListen("127.0.0.1:80");
  REQUIRE(v4.has_value());
  CHECK(v4->address == "127.0.0.1");
  CHECK(v4->port == 80);
  CHECK_FALSE(v4->ipv6);
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "[::1]", "::1:80", "127.0.0.1:65536", "localhost:80"}) {
    INFO(bad);
    CHECK_FALSE(ParseHttpListen(bad).has_value());
  }
}

TEST_CASE("ToToml output parses back to an equal Config", "[config]") {
  Config odd;
  // Strings that need every kind of TOML escaping, and values that only an
  // exact printer keeps: a nanosecond, a size that is no whole KiB.
  odd.server.socket = "/tmp/a \"quoted\" back\\slash\ttab";
  odd.python.path = {"/opt/caf\xC3\xA9", "/x\x01y"};
  odd.server.allow_users = {"1000", "bob"};
  odd.workers.interrupt_grace = std::chrono::nanoseconds(1'000'000'001);
  odd.tasks.max_timeout = std::chrono::nanoseconds(2'592'000'000'000'000);
  odd.tasks.output_limit = 1025;
  odd.server.socket_mode = 0007;

  const LoadResult defaults = ConfigLoader::LoadText(Config{}.ToToml(), "printed.toml");
  INFO(defaults.ErrorText());
  REQUIRE(defaults.ok());
  CHECK(defaults.config == Config{});

  const std::string printed = odd.ToToml({{"server.socket", "a note\nthat tries to escape"}});
  const LoadResult back = ConfigLoader::LoadText(printed, "printed.toml");
  INFO(printed);
  INFO(back.ErrorText());
  REQUIRE(back.ok());
  CHECK(back.config == odd);
}

TEST_CASE("Diff names every changed key and whether SIGHUP applies it", "[config]") {
  const Config changed = ConfigLoader::LoadText(kEveryKeyChanged, "every.toml").config;
  const ConfigDiff diff = Config::Diff(Config{}, changed);
  REQUIRE(diff.changes.size() == kReloadable.size());
  for (std::size_t i = 0; i < kReloadable.size(); ++i) {
    INFO(kReloadable[i].first);
    CHECK(diff.changes[i].key == kReloadable[i].first);
    CHECK(diff.changes[i].reloadable == kReloadable[i].second);
  }
  CHECK(diff.NeedsRestart());

  SECTION("no change, no diff") {
    CHECK(Config::Diff(changed, changed).empty());
    CHECK(Config::Diff(changed, changed).Summary() == "no changes");
  }
  SECTION("values are shown as TOML writes them") {
    Config next;
    next.log.level = LogLevel::kDebug;
    next.server.max_frame_bytes = 2 * 1024 * 1024;
    next.workers.count = 8;
    const ConfigDiff d = Config::Diff(Config{}, next);
    REQUIRE(d.changes.size() == 3);
    CHECK(d.changes[0] == ConfigChange{"server.max_frame_bytes", "\"1MiB\"", "\"2MiB\"", true});
    CHECK(d.ReloadedKeys() == std::vector<std::string>{"server.max_frame_bytes", "log.level"});
    CHECK(d.RestartKeys() == std::vector<std::string>{"workers.count"});
    CHECK(d.Summary() ==
          "applied: server.max_frame_bytes \"1MiB\" -> \"2MiB\", log.level \"info\" -> \"debug\"; "
          "needs a restart (not applied): workers.count 0 -> 8");
  }
  SECTION("a reload that changes only reloadable keys needs no restart") {
    Config next;
    next.server.allow_groups = {"ops"};
    const ConfigDiff d = Config::Diff(Config{}, next);
    CHECK_FALSE(d.NeedsRestart());
    CHECK(d.Summary() == "applied: server.allow_groups [] -> [\"ops\"]");
  }
}

TEST_CASE("ApplyReloadable takes the reloadable keys and keeps the restart-only ones", "[config]") {
  const Config running;
  const Config loaded = ConfigLoader::LoadText(kEveryKeyChanged, "every.toml").config;
  const Config applied = Config::ApplyReloadable(running, loaded);

  // What was applied differs from the running config in reloadable keys only,
  // and from the loaded one in restart-only keys only.
  for (const ConfigChange& c : Config::Diff(running, applied).changes) {
    INFO(c.key);
    CHECK(c.reloadable);
  }
  for (const ConfigChange& c : Config::Diff(applied, loaded).changes) {
    INFO(c.key);
    CHECK_FALSE(c.reloadable);
  }
  CHECK(Config::Diff(running, applied).changes.size() == Config::Diff(running, loaded).ReloadedKeys().size());
  CHECK(applied.log.level == LogLevel::kDebug);
  CHECK(applied.workers.count == 0);
}

TEST_CASE("ResolveSocketPath follows the documented order", "[config]") {
  struct Case {
    const char* what;
    const char* configured;
    SocketPathEnvironment env;
    const char* expected;
  };
  const Case cases[] = {
      {"a configured path wins over everything", "/srv/x.sock", {"/run/user/1000", "/run/interpd", true},
       "/srv/x.sock"},
      {"a configured relative path is kept as is", "run/x.sock", {}, "run/x.sock"},
      {"XDG_RUNTIME_DIR for a user session", "", {"/run/user/1000", "", false}, "/run/user/1000/interpd/interpd.sock"},
      {"XDG_RUNTIME_DIR wins over root", "", {"/run/user/0", "", true}, "/run/user/0/interpd/interpd.sock"},
      {"XDG_RUNTIME_DIR wins over systemd", "", {"/run/user/1000", "/run/user/1000/interpd", false},
       "/run/user/1000/interpd/interpd.sock"},
      {"a trailing slash on XDG_RUNTIME_DIR is dropped", "", {"/run/user/1000/", "", false},
       "/run/user/1000/interpd/interpd.sock"},
      {"a relative XDG_RUNTIME_DIR is ignored", "", {"tmp/xdg", "", false}, "./run/interpd.sock"},
      {"root without XDG_RUNTIME_DIR", "", {"", "", true}, "/run/interpd/interpd.sock"},
      {"a systemd service (RUNTIME_DIRECTORY set)", "", {"", "/run/interpd", false}, "/run/interpd/interpd.sock"},
      {"a plain user without XDG_RUNTIME_DIR", "", {"", "", false}, "./run/interpd.sock"},
  };
  for (const Case& c : cases) {
    SECTION(c.what) { CHECK(ResolveSocketPath(c.configured, c.env) == c.expected); }
  }
}

TEST_CASE("Zero workers resolves to the CPUs this process may use, other counts stay", "[config]") {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  CHECK(ResolveWorkerCount(0) == static_cast<std::uint32_t>(CPU_COUNT(&set)));
  CHECK(ResolveWorkerCount(5) == 5);
}

TEST_CASE("An empty Python home resolves to the build-time prefix", "[config]") {
  CHECK(ResolvePythonHome("") == INTERPD_TEST_PYTHON_HOME);
  CHECK(ResolvePythonHome("/opt/py") == "/opt/py");
}

}  // namespace
}  // namespace interpd::daemon
