// interpctl end to end: the real binary against the real daemon (or, for
// failures a daemon will not produce on demand, against FakeDaemon),
// checking what a shell user relies on: output, its order, exit codes.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "daemon_fixture.h"
#include "fake_daemon.h"
#include "interpctl_process.h"

namespace interpd::test {
namespace {

// One daemon per test; `Ctl` runs interpctl against it.
struct Fixture {
  Fixture() : daemon(DaemonOptions{}) { REQUIRE(daemon.WaitNotify("READY=1")); }

  InterpctlResult Ctl(std::vector<std::string> args, std::optional<std::string> stdin_text = std::nullopt,
                      bool merge = false) {
    InterpctlOptions o;
    o.args = {"--socket", daemon.socket_path()};
    o.args.insert(o.args.end(), args.begin(), args.end());
    o.stdin_text = std::move(stdin_text);
    o.merge_output = merge;
    return RunInterpctl(std::move(o));
  }
  InterpctlOptions Options(std::vector<std::string> args) {
    InterpctlOptions o;
    o.args = {"--socket", daemon.socket_path()};
    o.args.insert(o.args.end(), args.begin(), args.end());
    return o;
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = daemon.dir().File(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  // The daemon's totals, read over a connection of our own.
  int64_t Total(const std::string& key) {
    Client client(daemon.socket_path());
    return GetInt(Get(Get(client.Call("stats"), "result"), "totals"), key);
  }

  Daemon daemon;
};

// A script that keeps the worker busy but stays interruptible (the daemon
// interrupts between bytecodes; a single long time.sleep() is not).
const std::string kWaitForever = "import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(0.01)\n";

TEST_CASE_METHOD(Fixture, "run -c prints the script's output, then its final value as one line of JSON") {
  auto r = Ctl({"run", "-c", "print('hello')\n{'answer': 6 * 7, 'list': [1.5, None, 'x']}"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "hello\n{\"answer\":42,\"list\":[1.5,null,\"x\"]}\n");
  CHECK(r.err.empty());
}

TEST_CASE_METHOD(Fixture, "a final value follows output that did not end its line on a line of its own") {
  auto r = Ctl({"run", "-c", "print('no newline', end='')\n7"});
  CHECK(r.out == "no newline\n7\n");
}

TEST_CASE_METHOD(Fixture, "run --quiet drops the final value, and None prints nothing") {
  CHECK(Ctl({"run", "--quiet", "-c", "print('out')\n42"}).out == "out\n");
  CHECK(Ctl({"run", "-c", "None"}).out.empty());
  CHECK(Ctl({"run", "-c", "x = 1"}).out.empty());
}

TEST_CASE_METHOD(Fixture, "run FILE gives the words after FILE to the script, options and a leading -- included") {
  const std::string script = WriteFile("args.py", "import sys\nprint(sys.argv)\n");
  auto r = Ctl({"run", script, "-v", "--out=x", "3"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "['" + script + "', '-v', '--out=x', '3']\n");
  CHECK(Ctl({"run", script, "--", "--", "a"}).out == "['" + script + "', '--', 'a']\n");
  CHECK(Ctl({"run", "-c", "import sys; sys.argv[1:]", "--", "-x", "-1"}).out == "[\"-x\",\"-1\"]\n");
}

TEST_CASE_METHOD(Fixture, "a traceback names the script file as given, or --name") {
  const std::string script = WriteFile("boom.py", "x = 1\nraise KeyError('k')\n");
  auto r = Ctl({"run", script});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("File \"" + script + "\", line 2"));
  CHECK_THAT(r.err, Catch::EndsWith("KeyError: 'k'\n"));
  CHECK_THAT(Ctl({"run", "--name", "job.py", script}).err, Catch::Contains("File \"job.py\", line 2"));
}

TEST_CASE_METHOD(Fixture, "run - reads the script from stdin, and --stdin FILE is what the script reads") {
  const std::string input = WriteFile("input.txt", "first line\nsecond\n");
  auto r = Ctl({"run", "--stdin", input, "-", "arg"}, std::string("import sys\nprint(sys.argv, sys.stdin.readline().strip())\n"));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "['<stdin>', 'arg'] first line\n");
  auto piped = Ctl({"run", "--stdin", "-", "-c", "import sys; sys.stdin.read().upper()"}, std::string("piped\n"));
  CHECK(piped.out == "\"PIPED\\n\"\n");
  auto both = Ctl({"run", "--stdin", "-", "-"}, std::string("1"));
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.err, Catch::Contains("cannot both come from interpctl's stdin"));
}

TEST_CASE_METHOD(Fixture, "a Python exception prints its traceback on stderr, keeps earlier output, and exits 1") {
  auto r = Ctl({"run", "-c", "print('before')\n1 / 0"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "before\n");
  CHECK_THAT(r.err, Catch::StartsWith("Traceback (most recent call last):\n"));
  CHECK_THAT(r.err, Catch::EndsWith("ZeroDivisionError: division by zero\n"));
}

TEST_CASE_METHOD(Fixture, "sys.exit(N) exits N, and sys.exit(message) prints the message and exits 1") {
  CHECK(Ctl({"run", "-c", "import sys; sys.exit(3)"}).exit_code == 3);
  CHECK(Ctl({"run", "-c", "import sys; sys.exit(0)"}).exit_code == 0);
  CHECK(Ctl({"run", "-c", "raise SystemExit(256 + 4)"}).exit_code == 4);
  auto r = Ctl({"run", "-c", "import sys; sys.exit('bye now')"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "bye now\n");
}

TEST_CASE_METHOD(Fixture, "a run past its --timeout exits 124 and shows where the script was") {
  auto r = Ctl({"run", "--timeout", "0.3", "-c", "import time\nwhile True:\n    time.sleep(0.01)\n"});
  CHECK(r.exit_code == 124);
  CHECK_THAT(r.err, Catch::Contains("line 3"));
  CHECK_THAT(r.err, Catch::Contains("interpctl: timed out: the script ran past its 0.3 s timeout"));
}

TEST_CASE_METHOD(Fixture, "stdout and stderr arrive in the order the script wrote them") {
  // Both streams into one pipe: any reordering by interpctl shows.
  auto r = Ctl({"run", "-c",
                "import sys\n"
                "for i in range(200):\n"
                "    print('out', i)\n"
                "    print('err', i, file=sys.stderr)\n"
                "sys.stdout.write('tail-out ')\n"
                "sys.stderr.write('tail-err\\n')\n"
                "del sys\n"},
               std::nullopt, true);
  std::string expected;
  for (int i = 0; i < 200; ++i) expected += "out " + std::to_string(i) + "\nerr " + std::to_string(i) + "\n";
  expected += "tail-out tail-err\n";
  CHECK(r.exit_code == 0);
  CHECK(r.out == expected);
}

TEST_CASE_METHOD(Fixture, "output appears while the script is still running") {
  const std::string flag = daemon.dir().File("go-on");
  InterpctlProcess ctl(Options({"run", "-c",
                                "import os, time\n"
                                "print('first', flush=True)\n"
                                "while not os.path.exists(" + Quote(flag) + "):\n"
                                "    time.sleep(0.01)\n"
                                "print('second')\n"}));
  // The script cannot finish before the flag exists, so seeing "first"
  // now proves it was relayed live.
  REQUIRE(ctl.WaitForOutput("first\n"));
  CHECK(ctl.out() == "first\n");
  std::ofstream(flag) << "";
  auto r = ctl.Wait();
  REQUIRE(r);
  CHECK(r->exit_code == 0);
  CHECK(r->out == "first\nsecond\n");
}

TEST_CASE_METHOD(Fixture, "Ctrl-C cancels the remote run and exits 130") {
  InterpctlProcess ctl(Options({"run", "-c", kWaitForever}));
  REQUIRE(ctl.WaitForOutput("started\n"));
  ctl.Signal(SIGINT);
  auto r = ctl.Wait(std::chrono::seconds(10));
  REQUIRE(r);
  CHECK(r->exit_code == 130);
  CHECK_THAT(r->err, Catch::Contains("interrupted: cancelling the run"));
  CHECK_THAT(r->err, Catch::Contains("the run was cancelled"));
  // Cancelled by the `cancel` request (not by a dropped connection), and
  // the worker is free again: another run goes through at once.
  CHECK(Total("cancelled") == 1);
  CHECK(Ctl({"run", "--timeout", "5", "-c", "'free'"}).out == "\"free\"\n");
}

TEST_CASE_METHOD(Fixture, "SIGTERM cancels the remote run too and exits 143") {
  InterpctlProcess ctl(Options({"run", "-c", kWaitForever}));
  REQUIRE(ctl.WaitForOutput("started\n"));
  ctl.Signal(SIGTERM);
  auto r = ctl.Wait(std::chrono::seconds(10));
  REQUIRE(r);
  CHECK(r->exit_code == 143);
  CHECK(Total("cancelled") == 1);
}

TEST_CASE_METHOD(Fixture, "run --json prints the daemon's result object and keeps the exit code") {
  auto r = Ctl({"run", "--json", "-c", "print('x')\nraise ValueError('bad')"});
  CHECK(r.exit_code == 1);
  const Value result = ParseJson(r.out);
  CHECK(GetStr(result, "status") == "error");
  CHECK(GetStr(result, "stdout") == "x\n");
  CHECK(GetStr(Get(result, "error"), "type") == "ValueError");
  CHECK(r.err.empty());
}

TEST_CASE_METHOD(Fixture, "run --worker pins the run, and a worker that does not exist is refused with 64") {
  CHECK(Ctl({"run", "--worker", "1", "-c", "import interpd; interpd.worker_id()"}).out == "1\n");
  auto r = Ctl({"run", "--worker", "9", "-c", "1"});
  CHECK(r.exit_code == 64);
  CHECK_THAT(r.err, Catch::Contains("interpctl: run: no worker 9"));
}

TEST_CASE_METHOD(Fixture, "run --isolation fresh, --lane compat and --memory-limit reach the daemon") {
  // A fresh interpreter has not seen the module state an earlier run left.
  CHECK(Ctl({"run", "-c", "import sys\nsys.marker_from_ctl = 1"}).exit_code == 0);
  CHECK(Ctl({"run", "--isolation", "fresh", "-c", "import sys\nhasattr(sys, 'marker_from_ctl')"}).out ==
        "false\n");
  auto compat = Ctl({"run", "--json", "--lane", "compat", "-c", "1"});
  CHECK_THAT(compat.out, Catch::Contains(R"("lane":"compat")"));
  auto bomb = Ctl({"run", "--memory-limit", "16MiB", "-c", "x = bytearray(64 * 1024 * 1024)"});
  CHECK(bomb.exit_code == 1);
  CHECK_THAT(bomb.err, Catch::Contains("MemoryError"));
  CHECK(Ctl({"run", "--memory-limit", "16MiB", "-c", "len(bytearray(1024))"}).out == "1024\n");
  CHECK(Ctl({"run", "--lane", "sideways", "-c", "1"}).exit_code == 2);
}

TEST_CASE_METHOD(Fixture, "run --by-path lets the daemon read the file itself and sets __file__") {
  const std::string script = WriteFile("byp.py", "import os\nos.path.basename(__file__)\n");
  CHECK(Ctl({"run", "--by-path", script}).out == "\"byp.py\"\n");
  auto missing = Ctl({"run", "--by-path", daemon.dir().File("nope.py")});
  CHECK(missing.exit_code == 66);
}

TEST_CASE_METHOD(Fixture, "unusable inputs exit 66 or 65 before anything is sent") {
  auto missing = Ctl({"run", daemon.dir().File("missing.py")});
  CHECK(missing.exit_code == 66);
  CHECK_THAT(missing.err, Catch::Contains("No such file or directory"));
  CHECK(Ctl({"run", "--stdin", daemon.dir().File("missing.txt"), "-c", "1"}).exit_code == 66);
  const std::string latin1 = WriteFile("latin1.py", "print('caf\xe9')\n");
  auto bad = Ctl({"run", latin1});
  CHECK(bad.exit_code == 65);
  CHECK_THAT(bad.err, Catch::Contains("is not UTF-8 text"));
  CHECK(Total("submitted") == 0);
}

TEST_CASE_METHOD(Fixture, "ping, version and stats answer, and --json gives the raw objects") {
  auto ping = Ctl({"ping"});
  CHECK(ping.exit_code == 0);
  CHECK_THAT(ping.out, Catch::StartsWith("pong from " + daemon.socket_path() + " in "));
  auto version = Ctl({"version"});
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, Catch::StartsWith("interpctl  "));
  CHECK_THAT(version.out, Catch::Contains("\ninterpd    0."));
  CHECK_THAT(version.out, Catch::Contains("protocol 1, at " + daemon.socket_path()));
  CHECK(GetInt(ParseJson(Ctl({"version", "--json"}).out), "protocol") == 1);
  Ctl({"run", "-c", "1"});
  auto stats = Ctl({"stats"});
  CHECK(stats.exit_code == 0);
  CHECK_THAT(stats.out, Catch::Contains("tasks        1 submitted, 1 completed"));
  CHECK_THAT(stats.out, Catch::Contains("WORKER  STATE"));
  const Value raw = ParseJson(Ctl({"stats", "--json"}).out);
  CHECK(Get(raw, "workers").items().size() == 2);
}

TEST_CASE("an unreachable daemon exits 69 and says what to try") {
  TempDir dir;
  InterpctlOptions o;
  o.args = {"--socket", dir.File("none.sock"), "ping"};
  auto r = RunInterpctl(o);
  CHECK(r.exit_code == 69);
  CHECK_THAT(r.err, Catch::Contains("no socket at " + dir.File("none.sock") + " (from --socket)"));
  CHECK_THAT(r.err, Catch::Contains("is the daemon running? try: systemctl status interpd"));

  // A socket file nobody listens on (a daemon that died): connection refused.
  const std::string stale = dir.File("stale.sock");
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, stale.c_str(), sizeof(a.sun_path) - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  close(fd);
  o.args = {"run", "-c", "1"};
  o.env = {{"INTERPD_SOCKET", stale}};
  r = RunInterpctl(o);
  CHECK(r.exit_code == 69);
  CHECK_THAT(r.err, Catch::Contains("nothing is listening on " + stale + " (from INTERPD_SOCKET)"));
}

TEST_CASE("a socket without write permission exits 77") {
  Daemon daemon;
  REQUIRE(daemon.WaitNotify("READY=1"));
  REQUIRE(chmod(daemon.socket_path().c_str(), 0400) == 0);
  InterpctlOptions o;
  o.args = {"--socket", daemon.socket_path(), "ping"};
  // Root ignores permission bits: then run interpctl as nobody, whom the
  // socket (and its private directory) keep out.
  if (geteuid() == 0) o.uid = 65534;
  auto r = RunInterpctl(o);
  CHECK(r.exit_code == 77);
  CHECK_THAT(r.err, Catch::Contains("permission denied"));
}

TEST_CASE("the socket is --socket, else INTERPD_SOCKET, else the daemon's default under XDG_RUNTIME_DIR") {
  TempDir runtime;
  std::filesystem::create_directory(runtime.File("interpd"));
  DaemonOptions options;
  options.socket = runtime.File("interpd/interpd.sock");
  Daemon daemon(options);
  REQUIRE(daemon.WaitNotify("READY=1"));
  const std::string nowhere = runtime.File("nowhere.sock");

  InterpctlOptions o;
  o.args = {"ping"};
  o.env = {{"XDG_RUNTIME_DIR", runtime.path()}};
  o.unset_env = {"INTERPD_SOCKET"};
  CHECK(RunInterpctl(o).exit_code == 0);  // the default path
  o.env["INTERPD_SOCKET"] = nowhere;
  CHECK(RunInterpctl(o).exit_code == 69);  // the environment beats the default
  o.args = {"--socket", daemon.socket_path(), "ping"};
  CHECK(RunInterpctl(o).exit_code == 0);  // the flag beats the environment
  o.args = {"ping", "--socket", daemon.socket_path()};
  CHECK(RunInterpctl(o).exit_code == 0);  // after the subcommand's name too
}

TEST_CASE("every subcommand has --help, the main help lists the exit codes, and usage errors exit 2") {
  auto main_help = RunInterpctl({{"--help"}});
  CHECK(main_help.exit_code == 0);
  CHECK_THAT(main_help.out, Catch::Contains("Exit codes:"));
  CHECK_THAT(main_help.out, Catch::Contains("124  the run timed out"));
  for (const char* sub : {"run", "ping", "version", "stats", "actors", "call", "send", "spawn", "stop"}) {
    INFO(sub);
    auto r = RunInterpctl({{sub, "--help"}});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains(std::string("Usage: interpctl ") + sub));
    CHECK_THAT(r.out, Catch::Contains("--socket"));
  }
  CHECK(RunInterpctl({{}}).exit_code == 2);
  CHECK(RunInterpctl({{"frobnicate"}}).exit_code == 2);
  CHECK(RunInterpctl({{"run"}}).exit_code == 2);
  CHECK(RunInterpctl({{"run", "--timeout", "-1", "-c", "1"}}).exit_code == 2);
  CHECK(RunInterpctl({{"ping", "extra"}}).exit_code == 2);
  CHECK(RunInterpctl({{"run", "--frob", "x.py"}}).exit_code == 2);
  auto late = RunInterpctl({{"call", "counter", "add", "1", "--timeout", "2"}});
  CHECK(late.exit_code == 2);
  CHECK_THAT(late.err, Catch::Contains("interpctl's options go before it"));
  auto not_json = RunInterpctl({{"--socket", "/nonexistent.sock", "call", "counter", "add", "hello"}});
  CHECK(not_json.exit_code == 65);
  CHECK_THAT(not_json.err, Catch::Contains("argument 1 is not JSON: hello"));
}

// ---- Against a scripted daemon ----

InterpctlResult CtlAgainst(const FakeDaemon& fake, std::vector<std::string> args) {
  InterpctlOptions o;
  o.args = {"--socket", fake.socket_path()};
  o.args.insert(o.args.end(), args.begin(), args.end());
  return RunInterpctl(std::move(o));
}

TEST_CASE("a daemon that answers something other than JSON-RPC is a protocol error, exit 76") {
  TempDir dir;
  FakeDaemon fake(dir.File("f.sock"), [](const std::string&) { return FakeDaemon::Reply{"+PONG\r\n"}; });
  auto r = CtlAgainst(fake, {"ping"});
  CHECK(r.exit_code == 76);
  CHECK_THAT(r.err, Catch::StartsWith("interpctl: protocol error: the daemon sent a line that is not JSON"));
  CHECK(CtlAgainst(fake, {"run", "-c", "1"}).exit_code == 76);
}

TEST_CASE("each JSON-RPC error from the daemon becomes its documented exit code") {
  const std::vector<std::pair<int, int>> table = {{-32000, 75}, {-32001, 75}, {-32002, 66}, {-32003, 77},
                                                  {-32004, 64}, {-32011, 124}, {-32603, 70}, {-32700, 76}};
  for (const auto& [code, exit] : table) {
    INFO("error " << code);
    TempDir dir;
    FakeDaemon fake(dir.File("f.sock"), [code = code](const std::string& line) {
      return FakeDaemon::Reply{ErrorReply(IdOf(line), code, "scripted")};
    });
    auto run = CtlAgainst(fake, {"run", "-c", "1"});
    CHECK(run.exit_code == exit);
    CHECK_THAT(run.err, Catch::StartsWith("interpctl: run: scripted (" + std::to_string(code) + ")"));
    CHECK(CtlAgainst(fake, {"stats"}).exit_code == exit);
  }
}

TEST_CASE("a refused connection reports the daemon's reason") {
  TempDir dir;
  FakeDaemon fake(
      dir.File("f.sock"), [](const std::string&) { return FakeDaemon::Reply{}; },
      ErrorReply("null", -32003, "peer uid 1000 is not in server.allow_users"), true);
  for (const char* command : {"ping", "run"}) {
    INFO(command);
    auto r = std::string(command) == "run" ? CtlAgainst(fake, {"run", "-c", "1"}) : CtlAgainst(fake, {"ping"});
    CHECK(r.exit_code == 77);
    CHECK_THAT(r.err, Catch::Contains("peer uid 1000 is not in server.allow_users (-32003)"));
  }
}

TEST_CASE("a daemon that goes away during a run exits 69") {
  TempDir dir;
  FakeDaemon fake(dir.File("f.sock"), [](const std::string&) {
    return FakeDaemon::Reply{R"({"jsonrpc":"2.0","method":"run.output","params":{"id":1,"stream":"stdout","data":"partial\n"}})"
                             "\n",
                             true};
  });
  auto r = CtlAgainst(fake, {"run", "-c", "1"});
  CHECK(r.exit_code == 69);
  CHECK(r.out == "partial\n");
  CHECK_THAT(r.err, Catch::Contains("lost the connection before the answer"));
}

TEST_CASE("a second Ctrl-C stops waiting for a cancel the daemon does not confirm") {
  TempDir dir;
  FakeDaemon fake(dir.File("f.sock"), [](const std::string& line) {
    if (line.find("\"run\"") != std::string::npos) {
      return FakeDaemon::Reply{R"({"jsonrpc":"2.0","method":"run.output","params":{"id":1,"stream":"stdout","data":"started\n"}})"
                               "\n"};
    }
    return FakeDaemon::Reply{};  // the cancel is never answered
  });
  InterpctlOptions o;
  o.args = {"--socket", fake.socket_path(), "run", "-c", "1"};
  InterpctlProcess ctl(o);
  REQUIRE(ctl.WaitForOutput("started\n"));
  ctl.Signal(SIGINT);
  // Once the cancel request is on its way, a second Ctrl-C gives up.
  for (int i = 0; i < 1000 && fake.requests().size() < 2; ++i) usleep(10'000);
  REQUIRE(fake.requests().size() == 2);
  CHECK_THAT(fake.requests()[1], Catch::Contains(R"("method":"cancel","params":{"id":1})"));
  ctl.Signal(SIGINT);
  auto r = ctl.Wait(std::chrono::seconds(3));
  REQUIRE(r);
  CHECK(r->exit_code == 130);
  CHECK_THAT(r->err, Catch::Contains("interrupted again"));
}

}  // namespace
}  // namespace interpd::test
