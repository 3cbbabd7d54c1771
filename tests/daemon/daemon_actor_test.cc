// actor.* over the socket, against the real daemon.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "daemon_fixture.h"

using namespace interpd;
using namespace interpd::test;
using namespace std::chrono_literals;

namespace {

Value Result(const Value& response) { return Get(response, "result"); }
int64_t ErrorCode(const Value& response) { return GetInt(Get(response, "error"), "code"); }

const char* kCounter =
    "class Counter:\n"
    "    def __init__(self, start=0):\n"
    "        self.n = start\n"
    "        self.seen = []\n"
    "    def incr(self, by=1):\n"
    "        self.n += by\n"
    "        return self.n\n"
    "    def note(self, x):\n"
    "        self.seen.append(x)\n"
    "    def seen_list(self):\n"
    "        return self.seen\n"
    "    def boom(self):\n"
    "        return 1 / 0\n"
    "    def nap(self, s):\n"
    "        import time\n"
    "        time.sleep(s)\n"
    "        return s\n"
    "    def raw(self):\n"
    "        return b'bytes'\n";

std::string SpawnParams(const std::string& name, const std::string& extra = "") {
  return "{\"name\": " + Quote(name) + ", \"code\": " + Quote(kCounter) + ", \"class\": \"Counter\"" + extra + "}";
}

}  // namespace

TEST_CASE("a counter actor over JSON-RPC: spawn, call, send, list, stop", "[daemon][actors]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value spawned = c.Call("actor.spawn", SpawnParams("counter", ", \"args\": [10]"));
  CHECK(GetStr(Result(spawned), "name") == "counter");
  CHECK(GetInt(Result(spawned), "worker") >= 0);
  CHECK(Result(c.Call("actor.call", R"({"name": "counter", "method": "incr"})", 2)) == Value::Int(11));
  CHECK(Result(c.Call("actor.call", R"({"name": "counter", "method": "incr", "kwargs": {"by": 5}})", 3)) ==
        Value::Int(16));
  CHECK(Get(Result(c.Call("actor.send", R"({"name": "counter", "method": "incr", "args": [4]})", 4)), "queued") ==
        Value::Bool(true));
  CHECK(Result(c.Call("actor.call", R"({"name": "counter", "method": "incr", "args": [0]})", 5)) == Value::Int(20));
  Value list = Result(c.Call("actor.list", "", 6));
  REQUIRE(list.kind() == ValueKind::kList);
  REQUIRE(list.items().size() == 1);
  const Value& a = list.items()[0];
  CHECK(GetStr(a, "name") == "counter");
  CHECK(GetStr(a, "class") == "Counter");
  CHECK(GetStr(a, "state") == "running");
  CHECK(GetInt(a, "messages") == 4);
  CHECK(GetInt(a, "restarts") == 0);
  CHECK(Get(Result(c.Call("actor.stop", R"({"name": "counter"})", 7)), "stopped") == Value::Bool(true));
  CHECK(Result(c.Call("actor.list", "", 8)).items().empty());
  CHECK(ErrorCode(c.Call("actor.call", R"({"name": "counter", "method": "incr"})", 9)) == -32002);
}

TEST_CASE("actor errors map to the protocol's codes", "[daemon][actors]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  REQUIRE(GetStr(Result(c.Call("actor.spawn", SpawnParams("e"))), "name") == "e");
  Value boom = c.Call("actor.call", R"({"name": "e", "method": "boom"})", 2);
  CHECK(ErrorCode(boom) == -32010);
  const Value& data = Get(Get(boom, "error"), "data");
  CHECK(GetStr(data, "type") == "ZeroDivisionError");
  CHECK(GetStr(data, "traceback").find("return 1 / 0") != std::string::npos);
  CHECK(Result(c.Call("actor.call", R"({"name": "e", "method": "incr"})", 3)) == Value::Int(1));  // still alive
  CHECK(ErrorCode(c.Call("actor.call", R"({"name": "e", "method": "nap", "args": [2], "timeout": 0.2})", 4)) ==
        -32011);
  CHECK(ErrorCode(c.Call("actor.call", R"({"name": "nobody", "method": "x"})", 5)) == -32002);
  CHECK(ErrorCode(c.Call("actor.send", R"({"name": "nobody", "method": "x"})", 6)) == -32002);
  CHECK(ErrorCode(c.Call("actor.stop", R"({"name": "nobody"})", 7)) == -32002);
  CHECK(ErrorCode(c.Call("actor.spawn", SpawnParams("e"), 8)) == -32602);  // name taken
  CHECK(ErrorCode(c.Call("actor.call", R"({"name": "e", "method": "raw"})", 9)) == -32012);
  CHECK(ErrorCode(c.Call("actor.call", R"({"name": "e", "method": "_private"})", 10)) == -32602);
  CHECK(ErrorCode(c.Call("actor.spawn", R"({"name": "x", "code": "1", "klass": "C"})", 11)) == -32602);
  Value bad_init = c.Call("actor.spawn", R"J({"name": "bad", "code": "class C:\n    def __init__(self):\n        raise OSError('disk')", "class": "C"})J", 12);
  CHECK(ErrorCode(bad_init) == -32010);
  CHECK(GetStr(Get(Get(bad_init, "error"), "data"), "message") == "disk");
  Value list = Result(c.Call("actor.list", "", 13));
  bool failed_listed = false;
  for (const auto& a : list.items()) failed_listed |= GetStr(a, "name") == "bad" && GetStr(a, "state") == "failed";
  CHECK(failed_listed);
  // A send has no reply, so what the actor would refuse is refused up front,
  // never acknowledged and dropped.
  CHECK(ErrorCode(c.Call("actor.send", R"({"name": "bad", "method": "x"})", 14)) == -32002);
  CHECK(ErrorCode(c.Call("actor.send", R"({"name": "e", "method": "_private"})", 15)) == -32602);
  // Refused calls are not counted as handled messages.
  int64_t handled = -1;
  const Value after = Result(c.Call("actor.list", "", 16));  // a temporary's items() would dangle
  for (const auto& a : after.items()) {
    if (GetStr(a, "name") == "e") handled = GetInt(a, "messages");
  }
  CHECK(handled == 4);  // boom, incr, nap, raw
}

TEST_CASE("concurrent callers on many connections see every increment exactly once", "[daemon][actors]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  {
    Client c(d.socket_path());
    REQUIRE(GetStr(Result(c.Call("actor.spawn", SpawnParams("shared"))), "name") == "shared");
  }
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Client c(d.socket_path());
      for (int i = 0; i < 50; ++i) {
        Value r = c.Call("actor.call", R"({"name": "shared", "method": "note", "args": [)" +
                                           std::to_string(t * 1000 + i) + "]}",
                         i + 1);
        if (!Get(r, "error").is_none() || r.is_none()) errors++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(errors == 0);
  Client c(d.socket_path());
  Value seen = Result(c.Call("actor.call", R"({"name": "shared", "method": "seen_list"})"));
  REQUIRE(seen.kind() == ValueKind::kList);
  CHECK(seen.items().size() == 400);
  // Each sender's notes are in its own order.
  std::vector<int64_t> last(8, -1);
  bool ordered = true;
  for (const auto& v : seen.items()) {
    const int64_t x = v.as_int();
    const int64_t t = x / 1000;
    ordered &= x % 1000 > last[static_cast<size_t>(t)];
    last[static_cast<size_t>(t)] = x % 1000;
  }
  CHECK(ordered);
}

TEST_CASE("dedicated actor workers from the configuration", "[daemon][actors]") {
  Daemon d({.config_toml = "[actors]\nworkers = 1\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value spawned = Result(c.Call("actor.spawn", SpawnParams("a")));
  CHECK(GetInt(spawned, "worker") == 2);  // after the 2 script workers
  CHECK(Get(Result(c.Call("stats", "", 2)), "workers").items().size() == 3);
}

TEST_CASE("SIGTERM with busy actors: on_stop runs, the call is answered, the daemon exits 0", "[daemon][actors]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  REQUIRE(GetStr(Result(c.Call("actor.spawn", SpawnParams("busy"))), "name") == "busy");
  REQUIRE(c.Send(R"({"jsonrpc":"2.0","id":2,"method":"actor.call","params":{"name":"busy","method":"nap","args":[0.5]}})"));
  std::this_thread::sleep_for(100ms);
  d.Signal(SIGTERM);
  Value r = c.ReadJson();
  CHECK(Result(r) == Value::Float(0.5));
  auto rc = d.WaitExit();
  INFO("daemon log:\n" << d.Log());
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
}
