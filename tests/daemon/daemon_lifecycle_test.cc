// The daemon's life: connections coming and going, limits, access control,
// SIGTERM drains, SIGHUP reloads, socket activation. Each case starts its
// own daemon.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "daemon_fixture.h"

using namespace interpd;
using namespace interpd::test;
using namespace std::chrono_literals;

namespace {
Value Result(const Value& response) { return Get(response, "result"); }
}  // namespace

TEST_CASE("the socket is created with mode 0660 by default", "[daemon][lifecycle]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  struct stat st;
  REQUIRE(stat(d.socket_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
}

TEST_CASE("a configured socket mode is applied", "[daemon][lifecycle]") {
  Daemon d({.config_toml = "[server]\nsocket_mode = \"0600\"\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  struct stat st;
  REQUIRE(stat(d.socket_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("a second daemon on the same socket refuses to start and a stale socket is replaced",
          "[daemon][lifecycle]") {
  Daemon first;
  REQUIRE(first.WaitNotify("READY=1"));
  Daemon second({.socket = first.socket_path()});
  auto rc = second.WaitExit();
  REQUIRE(rc.has_value());
  CHECK(*rc != 0);
  CHECK(second.Log().find("already listening") != std::string::npos);
  // A crashed daemon leaves its socket file behind: the next one takes over.
  first.Signal(SIGKILL);
  REQUIRE(first.WaitExit());
  Daemon third({.socket = first.socket_path()});
  REQUIRE(third.WaitNotify("READY=1"));
  Client c(first.socket_path());
  CHECK(Result(c.Call("ping")) == Value::Str("pong"));
}

TEST_CASE("a peer not in the allowlist gets -32003 and is logged", "[daemon][access]") {
  // The tests run as some user; allow only another one.
  const std::string other = getuid() == 0 ? "nobody" : "root";
  Daemon d({.config_toml = "[server]\nallow_users = [\"" + other + "\"]\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value v = c.ReadJson();
  CHECK(GetInt(Get(v, "error"), "code") == -32003);
  CHECK(c.AtEof());
  std::this_thread::sleep_for(100ms);
  CHECK(d.Log().find("refused connection") != std::string::npos);
}

TEST_CASE("a peer in the allowlist by uid is served", "[daemon][access]") {
  Daemon d({.config_toml = "[server]\nallow_users = [\"" + std::to_string(getuid()) + "\"]\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  CHECK(Result(c.Call("ping")) == Value::Str("pong"));
}

TEST_CASE("connections beyond the limit get -32000, never a silent drop", "[daemon][limits]") {
  Daemon d({.config_toml = "[server]\nmax_connections = 3\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(d.socket_path()));
    REQUIRE(Result(held.back()->Call("ping")) == Value::Str("pong"));
  }
  Client extra(d.socket_path());
  Value v = extra.ReadJson();
  CHECK(GetInt(Get(v, "error"), "code") == -32000);
  held.pop_back();
  std::this_thread::sleep_for(100ms);
  Client again(d.socket_path());
  CHECK(Result(again.Call("ping")) == Value::Str("pong"));
}

TEST_CASE("runs beyond the per-connection in-flight limit get -32000", "[daemon][limits]") {
  Daemon d({.config_toml = "[server]\nmax_in_flight_per_connection = 2\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  for (int i = 1; i <= 3; ++i) {
    REQUIRE(c.Send(R"J({"jsonrpc":"2.0","method":"run","params":{"code":"import time\ntime.sleep(0.3)"},"id":)J" +
                   std::to_string(i) + "}"));
  }
  Value first = c.ReadJson();
  CHECK(Get(first, "id") == Value::Int(3));
  CHECK(GetInt(Get(first, "error"), "code") == -32000);
  CHECK(GetStr(Result(c.ReadJson()), "status") == "ok");
  CHECK(GetStr(Result(c.ReadJson()), "status") == "ok");
}

TEST_CASE("thousands of connections opened and dropped do not disturb a good client", "[daemon][badinput]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  Client good(d.socket_path());
  std::atomic<bool> stop{false};
  std::atomic<int> good_ok{0};
  std::atomic<int> good_bad{0};
  std::thread steady([&] {
    int id = 1;
    while (!stop) {
      Value r = good.Call("run", R"J({"code": "21 * 2"})J", id++);
      (Get(Result(r), "value") == Value::Int(42) ? good_ok : good_bad)++;
    }
  });
  for (int i = 0; i < 3000; ++i) {
    Client c(d.socket_path());
    if (i % 3 == 1) c.SendRaw(R"J({"jsonrpc":"2.0","method":"run","params":{"code":"1)J");  // half a line
    if (i % 3 == 2) c.SendRaw("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n");
  }
  stop = true;
  steady.join();
  CHECK(good_bad == 0);
  CHECK(good_ok > 0);
  Client after(d.socket_path());
  Value s = Result(after.Call("stats"));
  CHECK(GetInt(Get(s, "connections"), "open") <= 2);
}

TEST_CASE("a client that disconnects mid-run cancels its run and others are unaffected", "[daemon][cancel]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  {
    Client gone(d.socket_path());
    REQUIRE(gone.Send(R"J({"jsonrpc":"2.0","id":1,"method":"run","params":{"code":"while True: pass"}})J"));
    std::this_thread::sleep_for(200ms);
  }
  Client c(d.socket_path());
  // Both workers are free again soon: the loop was cancelled.
  for (int i = 0; i < 50; ++i) {
    Value s = Result(c.Call("stats", "", i + 1));
    if (GetInt(Get(s, "totals"), "cancelled") == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  Value s = Result(c.Call("stats", "", 100));
  CHECK(GetInt(Get(s, "totals"), "cancelled") == 1);
  CHECK(Get(Result(c.Call("run", R"J({"code": "'ok'"})J", 101)), "value") == Value::Str("ok"));
}

TEST_CASE("concurrent clients each get their own answers", "[daemon][concurrency]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Client c(d.socket_path());
      for (int i = 0; i < 100; ++i) {
        Value r = c.Call("run", "{\"code\": \"" + std::to_string(t) + " * 1000 + " + std::to_string(i) + "\"}", i);
        if (!(Get(Result(r), "value") == Value::Int(t * 1000 + i))) wrong++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
}

TEST_CASE("SIGTERM drains: accepted runs finish and are answered, then the daemon exits 0",
          "[daemon][signals]") {
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  for (int i = 1; i <= 4; ++i) {
    REQUIRE(c.Send(R"J({"jsonrpc":"2.0","method":"run","params":{"code":"import time\ntime.sleep(0.5)\n)J" +
                   std::to_string(i) + R"J("},"id":)J" + std::to_string(i) + "}"));
  }
  std::this_thread::sleep_for(100ms);
  d.Signal(SIGTERM);
  REQUIRE(d.WaitNotify("STOPPING=1"));
  int answered = 0;
  for (int i = 0; i < 4; ++i) {
    Value r = c.ReadJson();
    if (GetStr(Result(r), "status") == "ok") ++answered;
  }
  CHECK(answered == 4);
  auto rc = d.WaitExit();
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  struct stat st;
  CHECK(stat(d.socket_path().c_str(), &st) != 0);  // socket removed
}

TEST_CASE("SIGTERM cancels work that outlives the grace period", "[daemon][signals]") {
  Daemon d({.config_toml = "[server]\nshutdown_grace = 0.3\n[workers]\ninterrupt_grace = 0.3\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  REQUIRE(c.Send(R"J({"jsonrpc":"2.0","method":"run","params":{"code":"while True: pass"},"id":1})J"));
  std::this_thread::sleep_for(100ms);
  d.Signal(SIGTERM);
  Value r = c.ReadJson();
  CHECK(GetStr(Result(r), "status") == "cancelled");
  auto rc = d.WaitExit(10s);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
}

TEST_CASE("SIGHUP reloads the log level and limits and reports what needs a restart", "[daemon][signals]") {
  Daemon d({.config_toml = "[server]\nmax_in_flight_per_connection = 64\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  {
    std::ofstream f(d.config_path());
    f << "[server]\nmax_in_flight_per_connection = 1\n[python]\nsite = false\n[log]\nlevel = \"debug\"\n";
  }
  d.Signal(SIGHUP);
  REQUIRE(d.WaitNotify("RELOADING=1"));
  std::this_thread::sleep_for(300ms);
  const std::string log = d.Log();
  CHECK(log.find("max_in_flight_per_connection") != std::string::npos);
  CHECK(log.find("python.site") != std::string::npos);
  CHECK(log.find("needs a restart") != std::string::npos);
  // The new limit is in effect.
  Client c(d.socket_path());
  REQUIRE(c.Send(R"J({"jsonrpc":"2.0","method":"run","params":{"code":"import time\ntime.sleep(0.3)"},"id":1})J"));
  Value second = c.Call("run", R"J({"code": "1"})J", 2);
  CHECK(GetInt(Get(second, "error"), "code") == -32000);
  // A broken file is rejected and the running configuration stays.
  {
    std::ofstream f(d.config_path());
    f << "[server]\nmax_in_flight_per_connection = \"many\"\n";
  }
  d.Signal(SIGHUP);
  std::this_thread::sleep_for(300ms);
  CHECK(d.Log().find("reload failed") != std::string::npos);
  Client again(d.socket_path());
  CHECK(Result(again.Call("ping")) == Value::Str("pong"));
}

TEST_CASE("socket activation: the daemon serves on the descriptor systemd passes", "[daemon][systemd]") {
  Daemon d({.socket_activation = true});
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  CHECK(Result(c.Call("ping")) == Value::Str("pong"));
  CHECK(d.Log().find("the socket systemd passed") != std::string::npos);
}

TEST_CASE("bad configuration is refused at start with the key and the reason", "[daemon][config]") {
  Daemon d({.config_toml = "[workers]\ncount = -3\n"});
  auto rc = d.WaitExit();
  REQUIRE(rc.has_value());
  CHECK(*rc == 2);
  CHECK(d.Log().find("count") != std::string::npos);
}

TEST_CASE("SIGTERM is quick even with a SharedBuffer left in a named channel", "[daemon][signals]") {
  // Its owner would otherwise wait (share_drain_timeout) for a receiver that
  // will never come.
  Daemon d;
  REQUIRE(d.WaitNotify("READY=1"));
  Client c(d.socket_path());
  Value r = Result(c.Call(
      "run", R"J({"code": "import interpd\ninterpd.channel('left-behind').send(interpd.SharedBuffer(b'x' * 1000))"})J"));
  REQUIRE(GetStr(r, "status") == "ok");
  const auto t0 = std::chrono::steady_clock::now();
  d.Signal(SIGTERM);
  auto rc = d.WaitExit(10s);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
}
