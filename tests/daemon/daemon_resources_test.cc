// Resource control through the daemon: the `run` params memory_limit,
// isolation and lane, the [limits] [recycle] [policy] sections, the `lane`
// result field and the memory figures in `stats`.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "daemon_fixture.h"

using namespace interpd;
using namespace interpd::test;
using namespace std::chrono_literals;

namespace {

Value Result(const Value& response) { return Get(response, "result"); }
const Value& Error(const Value& response) { return Get(response, "error"); }

std::string RunParams(const std::string& code, const std::string& extra = "") {
  return "{\"code\": " + Quote(code) + (extra.empty() ? "" : ", " + extra) + "}";
}

const std::string kBomb = "blocks = []\nwhile True:\n    blocks.append(bytearray(1 << 20))\n";
const std::string kImportExt = "import _interpd_singlephase as m\nm.bump()";
// The directory tests/libinterp builds the single-phase extension into.
const std::string kExtConfig = "[python]\npath = [" + Quote(INTERPD_TEST_EXT_DIR) + "]\n";

}  // namespace

TEST_CASE("run memory_limit: a bomb gets MemoryError, the worker stays, stats show memory per worker",
          "[daemon][resources]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value r = Result(c.Call("run", RunParams(kBomb, "\"memory_limit\": 67108864, \"worker\": 0")));
  CHECK(GetStr(r, "status") == "error");
  CHECK(GetStr(Get(r, "error"), "type") == "MemoryError");
  CHECK(GetStr(r, "lane") == "isolated");
  Value after = Result(c.Call("run", RunParams("6 * 7", "\"worker\": 0"), 2));
  CHECK(Get(after, "value") == Value::Int(42));

  Value s = Result(c.Call("stats", "", 3));
  CHECK(Get(Get(s, "memory"), "accounting") == Value::Bool(true));
  const Value& workers = Get(s, "workers");
  REQUIRE(workers.kind() == ValueKind::kList);
  for (const Value& w : workers.items()) {
    CHECK(GetInt(w, "memory_bytes") > (1 << 20));
    CHECK(GetInt(w, "memory_bytes") < (64 << 20));  // the bomb's memory went back
    CHECK(GetStr(w, "lane") == "isolated");
    CHECK(GetInt(Get(w, "recycled_by"), "max_memory") == 0);
  }
  CHECK(Get(s, "compat_workers").items().size() == 1);
  CHECK(Get(s, "spares").items().size() == 2);
}

TEST_CASE("limits.memory_limit is the default and limits.max_memory_limit caps requests", "[daemon][resources]") {
  Daemon d({.config_toml = "[limits]\nmemory_limit = \"32MiB\"\nmax_memory_limit = \"64MiB\"\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value r = Result(c.Call("run", RunParams(kBomb)));
  CHECK(GetStr(Get(r, "error"), "type") == "MemoryError");
  // 40 MB fits a 48 MiB request but not the 32 MiB default.
  const std::string forty = "x = bytes(40_000_000)\nlen(x)";
  CHECK(GetStr(Get(Result(c.Call("run", RunParams(forty), 2)), "error"), "type") == "MemoryError");
  CHECK(Get(Result(c.Call("run", RunParams(forty, "\"memory_limit\": 50331648"), 3)), "value") ==
        Value::Int(40'000'000));
  Value over = c.Call("run", RunParams("1", "\"memory_limit\": 134217728"), 4);
  CHECK(GetInt(Error(over), "code") == -32602);
  CHECK(GetStr(Error(over), "message") == "params.memory_limit: at most 67108864 bytes (limits.max_memory_limit)");
  Value zero = c.Call("run", RunParams("1", "\"memory_limit\": 0"), 5);
  CHECK(GetInt(Error(zero), "code") == -32602);
}

TEST_CASE("isolation fresh runs each script in an interpreter no earlier script touched", "[daemon][resources]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  const std::string probe = "import sys, interpd\nhad = hasattr(sys, 'marker')\nsys.marker = 1\n(had, interpd.interpreter_id())";
  Value a = Result(c.Call("run", RunParams(probe, "\"isolation\": \"fresh\"")));
  Value b = Result(c.Call("run", RunParams(probe, "\"isolation\": \"fresh\""), 2));
  REQUIRE(GetStr(a, "status") == "ok");
  REQUIRE(GetStr(b, "status") == "ok");
  CHECK(Get(a, "value").items()[0] == Value::Bool(false));
  CHECK(Get(b, "value").items()[0] == Value::Bool(false));
  CHECK_FALSE(Get(a, "value").items()[1] == Get(b, "value").items()[1]);
  Value pinned = c.Call("run", RunParams("1", "\"isolation\": \"fresh\", \"worker\": 0"), 3);
  CHECK(GetStr(Error(pinned), "message") == "params.worker: a fresh run cannot be pinned to a worker");
  Value compat = c.Call("run", RunParams("1", "\"isolation\": \"fresh\", \"lane\": \"compat\""), 4);
  CHECK(GetInt(Error(compat), "code") == -32602);
  Value s = Result(c.Call("stats", "", 5));
  CHECK(GetInt(Get(s, "totals"), "fresh_runs") == 2);
}

TEST_CASE("workers.fresh_spares = 0 refuses fresh runs", "[daemon][resources]") {
  Daemon d({.config_toml = "[workers]\nfresh_spares = 0\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value r = c.Call("run", RunParams("1", "\"isolation\": \"fresh\""));
  CHECK(GetInt(Error(r), "code") == -32602);
  CHECK(GetStr(Error(r), "message").find("fresh isolation is not enabled") != std::string::npos);
}

TEST_CASE("the compat lane runs a single-phase extension found through python.path and the isolated lane refuses it",
          "[daemon][resources]") {
  Daemon d({.config_toml = kExtConfig});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value iso = Result(c.Call("run", RunParams(kImportExt)));
  CHECK(GetStr(iso, "status") == "error");
  CHECK(GetStr(Get(iso, "error"), "type") == "ImportError");
  CHECK(GetStr(Get(iso, "error"), "message").find("lane \"compat\" or \"auto\"") != std::string::npos);
  CHECK(GetStr(iso, "lane") == "isolated");

  Value compat = Result(c.Call("run", RunParams(kImportExt, "\"lane\": \"compat\""), 2));
  CHECK(GetStr(compat, "status") == "ok");
  CHECK(GetStr(compat, "lane") == "compat");
  Value autoed = Result(c.Call("run", RunParams(kImportExt, "\"lane\": \"auto\""), 3));
  CHECK(GetStr(autoed, "status") == "ok");
  CHECK(GetStr(autoed, "lane") == "compat");
  CHECK(Get(autoed, "value") == Value::Int(2));
  Value s = Result(c.Call("stats", "", 4));
  CHECK(GetInt(Get(s, "totals"), "compat_retries") == 1);
  CHECK(GetStr(Get(s, "compat_workers").items()[0], "lane") == "compat");
}

TEST_CASE("tasks.default_lane = auto applies to runs that name no lane", "[daemon][resources]") {
  Daemon d({.config_toml = kExtConfig + "[tasks]\ndefault_lane = \"auto\"\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value r = Result(c.Call("run", RunParams(kImportExt)));
  CHECK(GetStr(r, "status") == "ok");
  CHECK(GetStr(r, "lane") == "compat");
  CHECK(GetStr(Result(c.Call("run", RunParams("1"), 2)), "lane") == "isolated");
}

TEST_CASE("limits.cpu_seconds ends a spinning run as a timeout that names the CPU limit", "[daemon][resources]") {
  Daemon d({.config_toml = "[limits]\ncpu_seconds = 0.3\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value r = Result(c.Call("run", RunParams("while True:\n    pass")));
  CHECK(GetStr(r, "status") == "timeout");
  CHECK(GetStr(Get(r, "error"), "message") == "the script used more than its 0.3 s CPU time limit");
  CHECK(GetStr(Result(c.Call("run", RunParams("import time\ntime.sleep(0.5)\n'slept'"), 2)), "status") == "ok");
}

TEST_CASE("recycle.max_tasks replaces interpreters and stats count it by reason", "[daemon][resources]") {
  Daemon d({.config_toml = "[recycle]\nmax_tasks = 2\n", .workers = 1});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  std::set<int64_t> interpreters;
  for (int i = 0; i < 6; ++i) {
    Value r = Result(c.Call("run", RunParams("import interpd\ninterpd.interpreter_id()"), i));
    REQUIRE(GetStr(r, "status") == "ok");
    interpreters.insert(Get(r, "value").as_int());
  }
  CHECK(interpreters.size() == 3);
  Value s = Result(c.Call("stats", "", 10));
  const Value& w = Get(s, "workers").items()[0];
  CHECK(GetInt(w, "recycled") >= 2);
  CHECK(GetInt(Get(w, "recycled_by"), "max_tasks") == GetInt(w, "recycled"));
  CHECK(GetInt(Get(s, "totals"), "recycled") == GetInt(w, "recycled"));
  // A recycled worker destroys its interpreter after handing its slot over,
  // in the background at the lowest CPU priority: on a loaded machine (or
  // under ASan) that can end after the stats above were read.
  int64_t destroyed = 0;
  for (int i = 0; i < 500 && destroyed < 1; ++i) {
    if (i > 0) std::this_thread::sleep_for(20ms);
    destroyed = GetInt(Get(Result(c.Call("stats", "", 11 + i)), "memory"), "interpreters_destroyed");
  }
  CHECK(destroyed >= 1);
}

TEST_CASE("the default policy refuses subprocesses and ctypes and a reload changes the rules",
          "[daemon][resources][policy]") {
  Daemon d({.config_toml = "[policy]\ndeny_socket = false\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value sub = Result(c.Call("run", RunParams("import os\nos.system('true')")));
  CHECK(GetStr(Get(sub, "error"), "type") == "PermissionError");
  CHECK(GetStr(Get(sub, "error"), "message") == "interpd policy: subprocess (os.system) denied (policy.deny_subprocess)");
  Value ct = Result(c.Call("run", RunParams("import ctypes"), 2));
  CHECK(GetStr(Get(ct, "error"), "message") == "interpd policy: ctypes (import ctypes) denied (policy.deny_ctypes)");
  CHECK(GetStr(Result(c.Call("run", RunParams("import socket\nsocket.socket().close()"), 3)), "status") == "ok");
  Value exit = Result(c.Call("run", RunParams("import os\nos._exit(0)"), 4));
  CHECK(GetStr(Get(exit, "error"), "type") == "PermissionError");

  {
    std::ofstream f(d.config_path());
    f << "[policy]\ndeny_socket = true\ndeny_subprocess = false\n";
  }
  d.Signal(SIGHUP);
  REQUIRE(d.WaitNotify("RELOADING=1"));
  const auto until = std::chrono::steady_clock::now() + 10s;
  Value sock;
  int id = 10;
  do {
    std::this_thread::sleep_for(50ms);
    sock = Result(c.Call("run", RunParams("import socket\nsocket.socket().close()"), ++id));
  } while (GetStr(sock, "status") == "ok" && std::chrono::steady_clock::now() < until);
  CHECK(GetStr(Get(sock, "error"), "message") == "interpd policy: socket denied (policy.deny_socket)");
  CHECK(GetStr(Result(c.Call("run", RunParams("import os\nos.system('true')"), 100)), "status") == "ok");
  CHECK(d.Log().find("policy.deny_socket") != std::string::npos);
}

TEST_CASE("actor.spawn memory_limit bounds the actor over its life and limits.max_memory_limit caps it",
          "[daemon][resources][actors]") {
  Daemon d({.config_toml = "[limits]\nmax_memory_limit = \"64MiB\"\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  const std::string hog =
      "class Hog:\n"
      "    def __init__(self):\n"
      "        self.keep = []\n"
      "    def grab(self, n):\n"
      "        self.keep.append(bytearray(n))\n"
      "        return len(self.keep)\n"
      "    def ping(self):\n"
      "        return 'pong'\n";
  auto spawn = [&](const std::string& name, const std::string& extra, int id) {
    return c.Call("actor.spawn", "{\"name\": " + Quote(name) + ", \"code\": " + Quote(hog) + ", \"class\": \"Hog\"" +
                                     extra + "}",
                  id);
  };
  CHECK(GetStr(Result(spawn("hog", ", \"memory_limit\": 16777216", 1)), "name") == "hog");
  CHECK(Result(c.Call("actor.call", R"({"name": "hog", "method": "grab", "args": [10000000]})", 2)) == Value::Int(1));
  Value over = c.Call("actor.call", R"({"name": "hog", "method": "grab", "args": [10000000]})", 3);
  CHECK(GetInt(Error(over), "code") == -32010);
  CHECK(GetStr(Get(Error(over), "data"), "type") == "MemoryError");
  CHECK(Result(c.Call("actor.call", R"({"name": "hog", "method": "ping"})", 4)) == Value::Str("pong"));

  Value capped = spawn("big", ", \"memory_limit\": 134217728", 5);
  CHECK(GetInt(Error(capped), "code") == -32602);
  CHECK(GetStr(Error(capped), "message") == "params.memory_limit: at most 67108864 bytes (limits.max_memory_limit)");
  CHECK(GetInt(Error(spawn("zero", ", \"memory_limit\": 0", 6)), "code") == -32602);
}

TEST_CASE("recycle.max_tasks leaves a worker hosting an actor alone until the actor stops",
          "[daemon][resources][actors]") {
  Daemon d({.config_toml = "[recycle]\nmax_tasks = 2\n", .workers = 1});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  const std::string counter =
      "class C:\n"
      "    def __init__(self):\n"
      "        self.n = 0\n"
      "    def incr(self):\n"
      "        self.n += 1\n"
      "        return self.n\n";
  REQUIRE(GetStr(Result(c.Call("actor.spawn", "{\"name\": \"c\", \"code\": " + Quote(counter) + ", \"class\": \"C\"}")),
                 "name") == "c");
  std::set<int64_t> interpreters;
  for (int i = 1; i <= 6; ++i) {
    const std::string code = "import interpd\n(interpd.interpreter_id(), interpd.actor('c').call('incr'))";
    Value r = Result(c.Call("run", RunParams(code), 10 + i));
    REQUIRE(GetStr(r, "status") == "ok");
    const Value& v = Get(r, "value");
    REQUIRE(v.items().size() == 2);
    interpreters.insert(v.items()[0].as_int());
    CHECK(v.items()[1].as_int() == i);
  }
  CHECK(interpreters.size() == 1);
  CHECK(GetInt(Get(Result(c.Call("stats", "", 20)), "totals"), "recycled") == 0);
  CHECK(Get(Result(c.Call("actor.stop", R"({"name": "c"})", 21)), "stopped") == Value::Bool(true));
  for (int i = 0; i < 4; ++i) {
    Value r = Result(c.Call("run", RunParams("import interpd\ninterpd.interpreter_id()"), 30 + i));
    REQUIRE(GetStr(r, "status") == "ok");
    interpreters.insert(Get(r, "value").as_int());
  }
  CHECK(interpreters.size() >= 2);
  CHECK(GetInt(Get(Result(c.Call("stats", "", 40)), "totals"), "recycled") >= 1);
}
