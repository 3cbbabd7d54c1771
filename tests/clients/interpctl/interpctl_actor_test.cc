// interpctl's actor commands end to end: the real binary against the real
// daemon (actor.spawn/call/send/stop/list), checking what a shell user relies
// on: what is printed where, and the documented exit code of each outcome.
// A daemon from before actors is played by FakeDaemon.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "daemon_fixture.h"
#include "fake_daemon.h"
#include "interpctl_process.h"

namespace interpd::test {
namespace {

// The actor most tests use. nap() sleeps in small steps so a timed-out call
// leaves the actor busy for a bounded, short time.
const std::string kCounter =
    "class Counter:\n"
    "    def __init__(self, start=0, *, step=1):\n"
    "        self.n = start\n"
    "        self.step = step\n"
    "    def add(self, by=None):\n"
    "        self.n += self.step if by is None else by\n"
    "        return self.n\n"
    "    def get(self):\n"
    "        return self.n\n"
    "    def echo(self, *args, **kwargs):\n"
    "        return [list(args), kwargs]\n"
    "    def nothing(self):\n"
    "        self.n += 0\n"
    "    def fail(self, why):\n"
    "        raise KeyError(why)\n"
    "    def nap(self, seconds):\n"
    "        import time\n"
    "        end = time.monotonic() + seconds\n"
    "        while time.monotonic() < end:\n"
    "            time.sleep(0.01)\n"
    "        return seconds\n"
    "    def raw(self):\n"
    "        return b'bytes'\n"
    "    def power(self, exponent):\n"
    "        return 10 ** exponent\n"
    "    def where(self):\n"
    "        import interpd\n"
    "        return interpd.worker_id()\n";

struct ActorFixture {
  ActorFixture() : daemon(DaemonOptions{}) { REQUIRE(daemon.WaitNotify("READY=1")); }

  InterpctlResult Ctl(std::vector<std::string> args, std::optional<std::string> stdin_text = std::nullopt) {
    InterpctlOptions o;
    o.args = {"--socket", daemon.socket_path()};
    o.args.insert(o.args.end(), args.begin(), args.end());
    o.stdin_text = std::move(stdin_text);
    return RunInterpctl(std::move(o));
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = daemon.dir().File(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  // Spawns kCounter as `name` with -c, pinned to `worker`.
  void SpawnCounter(const std::string& name, int worker = 0, std::vector<std::string> args = {}) {
    std::vector<std::string> command = {"spawn", "--worker", std::to_string(worker), "-c", kCounter, name, "Counter"};
    command.insert(command.end(), args.begin(), args.end());
    auto r = Ctl(command);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out == "spawned " + name + " on worker " + std::to_string(worker) + "\n");
  }
  // The actor's entry in `actors --json` (None if it is not listed).
  Value Listed(const std::string& name) {
    auto r = Ctl({"actors", "--json"});
    REQUIRE(r.exit_code == 0);
    const Value list = ParseJson(r.out);
    REQUIRE(list.kind() == ValueKind::kList);
    for (const Value& a : list.items()) {
      if (GetStr(a, "name") == name) return a;
    }
    return Value();
  }

  Daemon daemon;
};

TEST_CASE_METHOD(ActorFixture, "spawn from a file, call with JSON arguments, send, stop: an actor's life") {
  const std::string file = WriteFile("counter.py", kCounter);
  // NAME CLASS FILE, then the constructor's arguments as JSON words.
  auto spawned = Ctl({"spawn", "--kwargs", R"({"step": 2})", "counter", "Counter", file, "10"});
  CHECK(spawned.exit_code == 0);
  CHECK_THAT(spawned.out, Catch::Matches("spawned counter on worker [01]\n"));
  CHECK(spawned.err.empty());

  auto added = Ctl({"call", "counter", "add"});
  CHECK(added.exit_code == 0);
  CHECK(added.out == "12\n");  // the step given to the constructor
  CHECK(added.err.empty());
  CHECK(Ctl({"call", "counter", "add", "5"}).out == "17\n");
  CHECK(Ctl({"call", "--kwargs", R"({"by": -20})", "counter", "add"}).out == "-3\n");
  // Negative numbers and option-like words after ACTOR are operands.
  CHECK(Ctl({"call", "counter", "add", "-1"}).out == "-4\n");
  CHECK(Ctl({"call", "counter", "add", "--", "1"}).out == "-3\n");
  // Each word is one JSON value; the answer is one line of compact JSON.
  auto echoed = Ctl({"call", "--kwargs", R"({"k": {"x": [true, null]}})", "counter", "echo", R"("two words")",
                     "2.5", "[1, 2]", R"({"a": "b"})", "null", "123456789012345678901234567890"});
  CHECK(echoed.exit_code == 0);
  CHECK(echoed.out ==
        R"([["two words",2.5,[1,2],{"a":"b"},null,123456789012345678901234567890],{"k":{"x":[true,null]}}])"
        "\n");
  // None prints nothing; --quiet drops any value.
  auto none = Ctl({"call", "counter", "nothing"});
  CHECK(none.exit_code == 0);
  CHECK(none.out.empty());
  auto quiet = Ctl({"call", "-q", "counter", "add", "3"});
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.out.empty());

  // send: queued before interpctl exits, handled before any later call.
  auto sent = Ctl({"send", "counter", "add", "100"});
  CHECK(sent.exit_code == 0);
  CHECK(sent.out.empty());
  CHECK(sent.err.empty());
  CHECK(Ctl({"send", "--kwargs", R"({"by": 1000})", "counter", "add"}).exit_code == 0);
  CHECK(Ctl({"call", "counter", "get"}).out == "1100\n");

  auto stopped = Ctl({"stop", "counter"});
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.out == "stopped counter\n");
  CHECK(Ctl({"actors", "-q"}).out.empty());
  auto gone = Ctl({"call", "counter", "get"});
  CHECK(gone.exit_code == 66);
  CHECK_THAT(gone.err, Catch::StartsWith("interpctl: actor.call: no actor named \"counter\" (-32002)"));
}

TEST_CASE_METHOD(ActorFixture, "spawn takes the code from -c or from stdin, and --worker places the actor") {
  SpawnCounter("inline", 1, {"7"});
  CHECK(Ctl({"call", "inline", "where"}).out == "1\n");
  CHECK(Ctl({"call", "inline", "get"}).out == "7\n");

  auto piped = Ctl({"spawn", "--worker", "0", "piped", "Counter", "-", "--", "-5"}, kCounter);
  CHECK(piped.exit_code == 0);
  CHECK(piped.out == "spawned piped on worker 0\n");
  CHECK(Ctl({"call", "piped", "where"}).out == "0\n");
  CHECK(Ctl({"call", "piped", "get"}).out == "-5\n");
}

TEST_CASE_METHOD(ActorFixture, "actors prints a table, -q the names, --json the daemon's list") {
  CHECK(Ctl({"actors"}).out == "NAME  CLASS  WORKER  STATE  MESSAGES  RESTARTS\n");
  CHECK(Ctl({"actors", "-q"}).out.empty());
  CHECK(Ctl({"actors", "--json"}).out == "[]\n");

  SpawnCounter("alpha", 0);
  SpawnCounter("beta", 1);
  REQUIRE(Ctl({"call", "beta", "add"}).exit_code == 0);
  REQUIRE(Ctl({"call", "beta", "add"}).exit_code == 0);
  auto table = Ctl({"actors"});
  CHECK(table.exit_code == 0);
  // Rows in any order: the daemon's list is not sorted.
  CHECK_THAT(table.out, Catch::StartsWith("NAME   CLASS    WORKER  STATE    MESSAGES  RESTARTS\n"));
  CHECK_THAT(table.out, Catch::Contains("\nalpha  Counter       0  running         0         0\n"));
  CHECK_THAT(table.out, Catch::Contains("\nbeta   Counter       1  running         2         0\n"));
  CHECK(std::count(table.out.begin(), table.out.end(), '\n') == 3);

  auto names = Ctl({"actors", "--quiet"});
  CHECK((names.out == "alpha\nbeta\n" || names.out == "beta\nalpha\n"));

  const Value beta = Listed("beta");
  REQUIRE(beta.kind() == ValueKind::kDict);
  CHECK(GetStr(beta, "class") == "Counter");
  CHECK(GetInt(beta, "worker") == 1);
  CHECK(GetStr(beta, "state") == "running");
  CHECK(GetInt(beta, "messages") == 2);
  CHECK(GetInt(beta, "restarts") == 0);
}

TEST_CASE_METHOD(ActorFixture, "a method that raises prints the actor's traceback on stderr and exits 1") {
  SpawnCounter("c");
  auto r = Ctl({"call", "c", "fail", R"("no such key")"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith("Traceback (most recent call last):\n"));
  CHECK_THAT(r.err, Catch::Contains("in fail"));
  CHECK_THAT(r.err, Catch::Contains("raise KeyError(why)"));
  CHECK_THAT(r.err, Catch::EndsWith("KeyError: 'no such key'\n"));
  // A method the class does not have is the actor's AttributeError.
  auto missing = Ctl({"call", "c", "frobnicate"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("AttributeError"));
  CHECK_THAT(missing.err, Catch::Contains("frobnicate"));
  // The actor lives on.
  CHECK(Ctl({"call", "c", "add"}).out == "1\n");
  // A send that raises is nobody's to report: it succeeds, the actor lives.
  CHECK(Ctl({"send", "c", "fail", R"("x")"}).exit_code == 0);
  CHECK(Ctl({"call", "c", "get"}).out == "1\n");
}

TEST_CASE_METHOD(ActorFixture, "spawn --memory-limit: a method past it gets MemoryError, the actor lives on") {
  const std::string hog =
      "class Hog:\n"
      "    def __init__(self):\n"
      "        self.kept = []\n"
      "    def grow(self, mib):\n"
      "        self.kept.append(bytearray(mib * 1024 * 1024))\n"
      "        return len(self.kept)\n";
  REQUIRE(Ctl({"spawn", "--memory-limit", "32MiB", "-c", hog, "hog", "Hog"}).exit_code == 0);
  CHECK(Ctl({"call", "hog", "grow", "1"}).out == "1\n");
  auto r = Ctl({"call", "hog", "grow", "64"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("MemoryError"));
  CHECK(Ctl({"call", "hog", "grow", "1"}).out == "2\n");
}

TEST_CASE_METHOD(ActorFixture, "call --timeout: past it interpctl exits 124, and the actor answers again later") {
  SpawnCounter("slow");
  const auto start = std::chrono::steady_clock::now();
  auto r = Ctl({"call", "--timeout", "0.2", "slow", "nap", "2"});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
  CHECK(r.exit_code == 124);
  CHECK(r.out.empty());
  CHECK_THAT(r.err,
             Catch::StartsWith("interpctl: actor.call: actor \"slow\" did not answer within 0.2 s (-32011)"));
  // The call is not interrupted: the next one is answered after it.
  auto after = Ctl({"call", "-t", "30", "slow", "nap", "0"});
  CHECK(after.exit_code == 0);
  CHECK(after.out == "0\n");
  // Within its timeout a call is answered as usual.
  CHECK(Ctl({"call", "--timeout", "30", "slow", "nap", "0.05"}).out == "0.05\n");
}

TEST_CASE_METHOD(ActorFixture, "an actor that does not exist exits 66 for call, send and stop") {
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"call", "ghost", "add"}, {"send", "ghost", "add", "1"}, {"stop", "ghost"}}) {
    INFO(command[0]);
    auto r = Ctl(command);
    CHECK(r.exit_code == 66);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith("interpctl: actor." + command[0] + ": no actor named \"ghost\" (-32002)\n"));
  }
}

TEST_CASE_METHOD(ActorFixture, "what the daemon refuses exits 64: a taken name, a private method, no such worker") {
  SpawnCounter("taken");
  auto again = Ctl({"spawn", "-c", kCounter, "taken", "Counter"});
  CHECK(again.exit_code == 64);
  CHECK(again.out.empty());
  CHECK_THAT(again.err, Catch::StartsWith("interpctl: actor.spawn: "));
  CHECK_THAT(again.err, Catch::Contains("an actor named \"taken\" already exists (-32602)"));
  CHECK(Ctl({"call", "taken", "get"}).out == "0\n");  // the first one is untouched

  auto private_method = Ctl({"call", "taken", "__init__"});
  CHECK(private_method.exit_code == 64);
  CHECK_THAT(private_method.err, Catch::Contains("names starting with '_' are private (-32602)"));

  auto worker = Ctl({"spawn", "--worker", "9", "-c", kCounter, "far", "Counter"});
  CHECK(worker.exit_code == 64);
  CHECK_THAT(worker.err, Catch::Contains("no worker 9"));
  CHECK(Ctl({"actors", "-q"}).out == "taken\n");
}

TEST_CASE_METHOD(ActorFixture, "a constructor that raises: spawn exits 1, the actor is failed until stopped") {
  const std::string bad = "class Bad:\n    def __init__(self, path):\n        open(path)\n";
  auto r = Ctl({"spawn", "-c", bad, "bad", "Bad", R"("/nonexistent/config.toml")"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith("Traceback (most recent call last):\n"));
  CHECK_THAT(r.err, Catch::Contains("open(path)"));
  CHECK_THAT(r.err, Catch::EndsWith("FileNotFoundError: [Errno 2] No such file or directory: "
                                    "'/nonexistent/config.toml'\n"));
  // A failed actor keeps its name (and its error) until it is stopped.
  const Value listed = Listed("bad");
  REQUIRE(listed.kind() == ValueKind::kDict);
  CHECK(GetStr(listed, "state") == "failed");
  auto call = Ctl({"call", "bad", "anything"});
  CHECK(call.exit_code == 66);
  CHECK_THAT(call.err, Catch::Contains("actor \"bad\" is failed: FileNotFoundError"));
  CHECK(Ctl({"spawn", "-c", bad, "bad", "Bad", R"("/")"}).exit_code == 64);
  CHECK(Ctl({"stop", "bad"}).out == "stopped bad\n");
  CHECK(Ctl({"actors", "-q"}).out.empty());

  // A class the code does not define, and code that does not compile.
  auto no_class = Ctl({"spawn", "-c", "class C: pass", "nc", "D"});
  CHECK(no_class.exit_code == 1);
  CHECK_THAT(no_class.err, Catch::Contains("NameError: the actor's code defines no class named 'D'"));
  auto syntax = Ctl({"spawn", "-c", "class C(:\n", "syn", "C"});
  CHECK(syntax.exit_code == 1);
  CHECK_THAT(syntax.err, Catch::Contains("SyntaxError"));
}

TEST_CASE_METHOD(ActorFixture, "spawn --restart on-failure rebuilds an actor whose constructor failed") {
  // Fails the first time only: the flag file exists from then on.
  const std::string flag = daemon.dir().File("tried");
  const std::string flaky =
      "import os\n"
      "class Flaky:\n"
      "    def __init__(self, flag):\n"
      "        if not os.path.exists(flag):\n"
      "            open(flag, 'w').close()\n"
      "            raise RuntimeError('first start fails')\n"
      "        self.ok = True\n"
      "    def ping(self):\n"
      "        return 'pong'\n";
  const std::string file = WriteFile("flaky.py", flaky);
  auto r = Ctl({"spawn", "--restart", "on-failure", "--max-restarts", "2", "flaky", "Flaky", file, Quote(flag)});
  // The daemon answers spawn with the first failure, then restarts it.
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::EndsWith("RuntimeError: first start fails\n"));
  Value listed;
  for (int i = 0; i < 200; ++i) {
    listed = Listed("flaky");
    if (listed.kind() == ValueKind::kDict && GetStr(listed, "state") == "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(listed.kind() == ValueKind::kDict);
  CHECK(GetStr(listed, "state") == "running");
  CHECK(GetInt(listed, "restarts") == 1);
  CHECK(Ctl({"call", "flaky", "ping"}).out == "\"pong\"\n");

  // With no restarts left (or the default policy, never) it stays failed.
  std::remove(flag.c_str());
  CHECK(Ctl({"spawn", "--restart", "on-failure", "--max-restarts", "0", "once", "Flaky", file, Quote(flag)})
            .exit_code == 1);
  CHECK(GetStr(Listed("once"), "state") == "failed");
  CHECK(GetInt(Listed("once"), "restarts") == 0);
  CHECK(Ctl({"spawn", "--restart", "sometimes", "x", "Flaky", file}).exit_code == 2);
}

TEST_CASE_METHOD(ActorFixture, "a return value JSON cannot carry exits 1 with the daemon's reason") {
  SpawnCounter("c");
  auto raw = Ctl({"call", "c", "raw"});
  CHECK(raw.exit_code == 1);
  CHECK(raw.out.empty());
  CHECK_THAT(raw.err, Catch::StartsWith("interpctl: actor.call: "));
  CHECK_THAT(raw.err, Catch::Contains("(-32012)"));
  // Integers: up to 4300 digits (Python's own conversion limit), no more.
  auto big = Ctl({"call", "c", "power", "4299"});
  CHECK(big.exit_code == 0);
  CHECK(big.out == "1" + std::string(4299, '0') + "\n");
  auto huge = Ctl({"call", "c", "power", "5000"});
  CHECK(huge.exit_code == 1);
  CHECK_THAT(huge.err, Catch::Contains("4300"));
  CHECK_THAT(huge.err, Catch::Contains("(-32012)"));
  CHECK(Ctl({"call", "c", "add"}).out == "1\n");
}

TEST_CASE_METHOD(ActorFixture, "unusable actor inputs exit 65 or 66 before anything is sent") {
  auto word = Ctl({"call", "c", "add", "one"});
  CHECK(word.exit_code == 65);
  CHECK_THAT(word.err, Catch::Contains("argument 1 is not JSON: one"));
  auto kwargs = Ctl({"call", "--kwargs", "[1]", "c", "add"});
  CHECK(kwargs.exit_code == 65);
  CHECK_THAT(kwargs.err, Catch::Contains("--kwargs: not a JSON object: [1]"));
  auto missing = Ctl({"spawn", "a", "A", daemon.dir().File("missing.py")});
  CHECK(missing.exit_code == 66);
  CHECK_THAT(missing.err, Catch::Contains("cannot read " + daemon.dir().File("missing.py")));
  const std::string latin1 = WriteFile("latin1.py", "class A:\n    s = 'caf\xe9'\n");
  auto bad = Ctl({"spawn", "a", "A", latin1});
  CHECK(bad.exit_code == 65);
  CHECK_THAT(bad.err, Catch::Contains("not UTF-8"));
  CHECK(Ctl({"actors", "-q"}).out.empty());
}

TEST_CASE("a daemon without actors: every actor command says so and exits 76") {
  TempDir dir;
  // What a daemon from before actor.* answers for them.
  FakeDaemon fake(dir.File("f.sock"), [](const std::string& line) {
    const std::string method = GetStr(ParseJson(line), "method");
    return FakeDaemon::Reply{ErrorReply(IdOf(line), -32601, "method not found: \"" + method + "\"")};
  });
  const std::vector<std::vector<std::string>> commands = {
      {"actors"}, {"call", "counter", "add", "1"}, {"send", "counter", "add", "1"},
      {"spawn", "-c", "class C: pass", "c", "C"}, {"stop", "counter"}};
  for (const auto& command : commands) {
    INFO(command[0]);
    InterpctlOptions o;
    o.args = {"--socket", fake.socket_path()};
    o.args.insert(o.args.end(), command.begin(), command.end());
    auto r = RunInterpctl(std::move(o));
    CHECK(r.exit_code == 76);
    const std::string method = "actor." + (command[0] == "actors" ? std::string("list") : command[0]);
    CHECK_THAT(r.err, Catch::StartsWith("interpctl: this daemon does not support actors yet (" + method +
                                        ": method not found)\n"));
    CHECK(r.out.empty());
  }
  REQUIRE(fake.requests().size() == commands.size());
  CHECK_THAT(fake.requests()[1], Catch::Contains(R"("method":"actor.call")"));
}

}  // namespace
}  // namespace interpd::test
