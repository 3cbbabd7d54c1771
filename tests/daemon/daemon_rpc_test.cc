// The daemon over its socket: every method of PROTOCOL.md and the JSON-RPC
// 2.0 rules, against the real binary.
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "daemon_fixture.h"

using namespace interpd;
using namespace interpd::test;
using namespace std::chrono_literals;

namespace {

Daemon& Shared() {
  // One daemon for the cases of this file that do not disturb it.
  static Daemon d;
  static bool ready = d.WaitNotify("READY=1");
  REQUIRE(ready);
  return d;
}

Value Result(const Value& response) { return Get(response, "result"); }

}  // namespace

TEST_CASE("the daemon tells systemd it is ready and answers ping", "[daemon]") {
  Daemon& d = Shared();
  Client c(d.socket_path());
  REQUIRE(c.connected());
  Value r = c.Call("ping");
  CHECK(GetStr(r, "jsonrpc") == "2.0");
  CHECK(Get(r, "id") == Value::Int(1));
  CHECK(Result(r) == Value::Str("pong"));
}

TEST_CASE("version reports interpd, CPython and the protocol version", "[daemon]") {
  Client c(Shared().socket_path());
  Value v = Result(c.Call("version"));
  CHECK_FALSE(GetStr(v, "interpd").empty());
  CHECK(GetStr(v, "python").rfind("3.1", 0) == 0);
  CHECK(GetInt(v, "protocol") == 1);
}

TEST_CASE("run returns the value, output and status of a script", "[daemon][run]") {
  Client c(Shared().socket_path());
  Value r = Result(c.Call("run", R"J({"code": "import sys\nprint('hi')\nprint('oops', file=sys.stderr)\n6 * 7"})J"));
  CHECK(GetStr(r, "status") == "ok");
  CHECK(Get(r, "value") == Value::Int(42));
  CHECK(GetStr(r, "stdout") == "hi\n");
  CHECK(GetStr(r, "stderr") == "oops\n");
  CHECK(Get(r, "truncated") == Value::Bool(false));
  CHECK(Get(r, "exit_code").is_none());
  CHECK(Get(r, "error").is_none());
  CHECK(GetInt(r, "worker") >= 0);
  CHECK(Get(r, "duration_ms").kind() == ValueKind::kFloat);
}

TEST_CASE("run maps JSON values both ways, big integers included", "[daemon][run]") {
  Client c(Shared().socket_path());
  Value r = Result(c.Call("run", R"J({"code": "{'n': 2**100, 'l': [1.5, None, True], 's': 'caf\u00e9'}"})J"));
  REQUIRE(GetStr(r, "status") == "ok");
  std::vector<uint8_t> bytes;
  REQUIRE(DecimalToBigInt("1267650600228229401496703205376", &bytes));
  CHECK(Get(Get(r, "value"), "n") == Value::BigInt(bytes));
  CHECK(Get(Get(r, "value"), "s") == Value::Str("caf\xc3\xa9"));
}

TEST_CASE("a Python exception is status error with type, message and traceback", "[daemon][run]") {
  Client c(Shared().socket_path());
  Value r = Result(c.Call("run", R"J({"code": "print('before')\n1/0", "name": "job.py"})J"));
  CHECK(GetStr(r, "status") == "error");
  CHECK(GetStr(r, "stdout") == "before\n");
  const Value& e = Get(r, "error");
  CHECK(GetStr(e, "type") == "ZeroDivisionError");
  CHECK(GetStr(e, "message") == "division by zero");
  CHECK(GetStr(e, "traceback").find("File \"job.py\", line 2") != std::string::npos);
}

TEST_CASE("a value JSON cannot carry is status error interpd.NotRepresentable", "[daemon][run]") {
  Client c(Shared().socket_path());
  for (const char* code : {"b'raw bytes'", "float('nan')", "{1: 'int key'}", "object()"}) {
    INFO(code);
    Value r = Result(c.Call("run", std::string("{\"code\": ") + Quote(code) + "}"));
    CHECK(GetStr(r, "status") == "error");
    CHECK(GetStr(Get(r, "error"), "type") == "interpd.NotRepresentable");
  }
}

TEST_CASE("a deeply nested value and a huge integer are judged as values, not as the response",
          "[daemon][run]") {
  Client c(Shared().socket_path());
  // 127 levels inside the result object: the deepest the 128 limit allows.
  Value ok = Result(c.Call("run", R"({"code": "x = []\nfor _ in range(126): x = [x]\nx"})"));
  CHECK(GetStr(ok, "status") == "ok");
  Value deep = Result(c.Call("run", R"({"code": "print('kept')\nx = []\nfor _ in range(127): x = [x]\nx"})", 2));
  CHECK(GetStr(deep, "status") == "error");
  CHECK(GetStr(Get(deep, "error"), "type") == "interpd.NotRepresentable");
  CHECK(GetStr(deep, "stdout") == "kept\n");
  Value big = Result(c.Call("run", R"({"code": "10**5000"})", 3));
  CHECK(GetStr(big, "status") == "error");
  CHECK(GetStr(Get(big, "error"), "message").find("4300 digits") != std::string::npos);
  CHECK(GetStr(Result(c.Call("run", R"({"code": "10**4299"})", 4)), "status") == "ok");
}

TEST_CASE("ping refuses params it does not know", "[daemon]") {
  Client c(Shared().socket_path());
  CHECK(GetInt(Get(c.Call("ping", R"({"x": 1})"), "error"), "code") == -32602);
  CHECK(Result(c.Call("ping", "{}", 2)) == Value::Str("pong"));
}

TEST_CASE("sys.exit becomes status exit with the exit code", "[daemon][run]") {
  Client c(Shared().socket_path());
  Value r = Result(c.Call("run", R"J({"code": "import sys\nsys.exit(3)"})J"));
  CHECK(GetStr(r, "status") == "exit");
  CHECK(GetInt(r, "exit_code") == 3);
}

TEST_CASE("args and stdin reach the script", "[daemon][run]") {
  Client c(Shared().socket_path());
  Value r = Result(
      c.Call("run", R"J({"code": "import sys\n[sys.argv[1:], sys.stdin.read()]", "args": ["-x", "y"], "stdin": "in"})J"));
  CHECK(Get(r, "value") == Value::List({Value::List({Value::Str("-x"), Value::Str("y")}), Value::Str("in")}));
}

TEST_CASE("run by path reads the file and sets __file__", "[daemon][run]") {
  Daemon& d = Shared();
  const std::string path = d.dir().File("script.py");
  {
    std::ofstream f(path);
    f << "import os\nos.path.basename(__file__)\n";
  }
  Client c(d.socket_path());
  Value r = Result(c.Call("run", "{\"path\": " + Quote(path) + "}"));
  CHECK(Get(r, "value") == Value::Str("script.py"));
  Value missing = c.Call("run", R"J({"path": "/nonexistent/x.py"})J");
  CHECK(GetInt(Get(missing, "error"), "code") == -32002);
  Value relative = c.Call("run", R"J({"path": "x.py"})J");
  CHECK(GetInt(Get(relative, "error"), "code") == -32602);
}

TEST_CASE("a run past its timeout is status timeout", "[daemon][run]") {
  Client c(Shared().socket_path());
  Value r = Result(c.Call("run", R"J({"code": "while True: pass", "timeout": 0.2})J"));
  CHECK(GetStr(r, "status") == "timeout");
  CHECK(GetStr(Get(r, "error"), "type") == "interpd.TaskTimeout");
}

TEST_CASE("runs can be pinned to a worker", "[daemon][run]") {
  Client c(Shared().socket_path());
  for (int w = 0; w < 2; ++w) {
    Value r = Result(c.Call("run", "{\"code\": \"import interpd\\ninterpd.worker_id()\", \"worker\": " +
                                        std::to_string(w) + "}"));
    CHECK(Get(r, "value") == Value::Int(w));
  }
  Value bad = c.Call("run", R"J({"code": "1", "worker": 99})J");
  CHECK(GetInt(Get(bad, "error"), "code") == -32602);
}

TEST_CASE("stream sends run.output notifications before the result", "[daemon][run]") {
  Client c(Shared().socket_path());
  REQUIRE(c.Send(R"J({"jsonrpc":"2.0","id":"s1","method":"run","params":{"code":"import sys\nprint('one')\nprint('two', file=sys.stderr)\nprint('three')","stream":true}})J"));
  std::vector<Value> lines;
  for (;;) {
    Value v = c.ReadJson();
    REQUIRE(v.kind() == ValueKind::kDict);
    lines.push_back(v);
    if (v.Find("id")) break;
  }
  REQUIRE(lines.size() == 4);
  const char* expect[][2] = {{"stdout", "one\n"}, {"stderr", "two\n"}, {"stdout", "three\n"}};
  for (int i = 0; i < 3; ++i) {
    CHECK(GetStr(lines[i], "method") == "run.output");
    const Value& p = Get(lines[i], "params");
    CHECK(Get(p, "id") == Value::Str("s1"));
    CHECK(GetStr(p, "stream") == expect[i][0]);
    CHECK(GetStr(p, "data") == expect[i][1]);
  }
  const Value& result = Result(lines[3]);
  CHECK(GetStr(result, "status") == "ok");
  CHECK(GetStr(result, "stdout").empty());
  CHECK(GetStr(result, "stderr").empty());
}

TEST_CASE("cancel stops a run of the same connection", "[daemon][cancel]") {
  Client c(Shared().socket_path());
  REQUIRE(c.Send(R"J({"jsonrpc":"2.0","id":7,"method":"run","params":{"code":"while True: pass"}})J"));
  std::this_thread::sleep_for(100ms);
  Value cancel = c.Call("cancel", R"J({"id": 7})J", 8);
  CHECK(Get(Result(cancel), "cancelled") == Value::Bool(true));
  Value run = c.ReadJson();
  CHECK(Get(run, "id") == Value::Int(7));
  CHECK(GetStr(Result(run), "status") == "cancelled");
  Value unknown = c.Call("cancel", R"J({"id": 12345})J", 9);
  CHECK(GetInt(Get(unknown, "error"), "code") == -32002);
  // Another connection cannot cancel it.
  REQUIRE(c.Send(R"J({"jsonrpc":"2.0","id":10,"method":"run","params":{"code":"import time\ntime.sleep(0.3)\n1"}})J"));
  Client other(Shared().socket_path());
  CHECK(GetInt(Get(other.Call("cancel", R"J({"id": 10})J"), "error"), "code") == -32002);
  CHECK(GetStr(Result(c.ReadJson()), "status") == "ok");
}

TEST_CASE("stats describes workers, queues, totals and uptime", "[daemon][stats]") {
  Client c(Shared().socket_path());
  c.Call("run", R"J({"code": "1"})J");
  Value s = Result(c.Call("stats", "", 2));
  REQUIRE(Get(s, "workers").kind() == ValueKind::kList);
  CHECK(Get(s, "workers").items().size() == 2);
  const Value& w0 = Get(s, "workers").items()[0];
  for (const char* key : {"id", "state", "tasks_run", "current_task", "cpu_seconds", "interpreter_id"}) {
    INFO(key);
    CHECK(w0.Find(key) != nullptr);
  }
  CHECK(GetInt(Get(s, "totals"), "completed") >= 1);
  CHECK(Get(s, "queues").Find("shared") != nullptr);
  CHECK(Get(s, "uptime_seconds").kind() == ValueKind::kFloat);
}

TEST_CASE("JSON-RPC: ids of every legal type are echoed exactly", "[daemon][jsonrpc]") {
  Client c(Shared().socket_path());
  for (const char* id : {"1", "-5", "\"abc\"", "\"\"", "null", "1.5", "12345678901234567890123"}) {
    INFO(id);
    REQUIRE(c.Send(std::string(R"J({"jsonrpc":"2.0","method":"ping","id":)J") + id + "}"));
    auto line = c.ReadLine();
    REQUIRE(line);
    CHECK(line->find(std::string("\"id\":") + id) != std::string::npos);
  }
}

TEST_CASE("JSON-RPC: notifications get no response, not even in a batch", "[daemon][jsonrpc]") {
  Client c(Shared().socket_path());
  REQUIRE(c.Send(R"J({"jsonrpc":"2.0","method":"ping"})J"));
  REQUIRE(c.Send(R"J([{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"nosuch"}])J"));
  REQUIRE(c.Send(R"J({"jsonrpc":"2.0","method":"ping","id":"after"})J"));
  Value v = c.ReadJson();
  CHECK(Get(v, "id") == Value::Str("after"));
}

TEST_CASE("JSON-RPC: a batch gets one array of responses", "[daemon][jsonrpc]") {
  Client c(Shared().socket_path());
  REQUIRE(c.Send(R"J([{"jsonrpc":"2.0","method":"ping","id":1},)J"
                 R"J({"jsonrpc":"2.0","method":"run","params":{"code":"2+2"},"id":2},)J"
                 R"J({"jsonrpc":"2.0","method":"ping"},)J"
                 R"J({"foo":"boo"},)J"
                 R"J({"jsonrpc":"2.0","method":"nosuch","id":"5"}])J"));
  Value v = c.ReadJson();
  REQUIRE(v.kind() == ValueKind::kList);
  CHECK(v.items().size() == 4);
  int seen = 0;
  for (const auto& r : v.items()) {
    const Value& id = Get(r, "id");
    if (id == Value::Int(1)) {
      seen |= 1;
      CHECK(Result(r) == Value::Str("pong"));
    }
    if (id == Value::Int(2)) {
      seen |= 2;
      CHECK(Get(Result(r), "value") == Value::Int(4));
    }
    if (id.is_none()) {
      seen |= 4;
      CHECK(GetInt(Get(r, "error"), "code") == -32600);
    }
    if (id == Value::Str("5")) {
      seen |= 8;
      CHECK(GetInt(Get(r, "error"), "code") == -32601);
    }
  }
  CHECK(seen == 15);
}

TEST_CASE("bad input gets the right error and the connection keeps working", "[daemon][badinput]") {
  Client c(Shared().socket_path());
  struct Row {
    std::string line;
    int code;
  } rows[] = {
      {R"J({"jsonrpc":"2.0","method":"ping","id":1)J", -32700},           // malformed
      {R"J("just a string")J", -32600},                                   // not an object
      {R"J(42)J", -32600},
      {R"J({"method":"ping","id":1})J", -32600},                          // missing jsonrpc
      {R"J({"jsonrpc":"1.0","method":"ping","id":1})J", -32600},          // wrong jsonrpc
      {R"J({"jsonrpc":"2.0","method":5,"id":1})J", -32600},               // method not a string
      {R"J({"jsonrpc":"2.0","method":"nosuch","id":1})J", -32601},        // unknown method
      {R"J({"jsonrpc":"2.0","method":"rpc.discover","id":1})J", -32601},  // reserved
      {R"J({"jsonrpc":"2.0","method":"run","params":{"code":5},"id":1})J", -32602},
      {R"J({"jsonrpc":"2.0","method":"run","params":{"code":"1","tiemout":1},"id":1})J", -32602},
      {R"J({"jsonrpc":"2.0","method":"run","params":{},"id":1})J", -32602},
      {R"J({"jsonrpc":"2.0","method":"run","params":{"code":"1","timeout":-1},"id":1})J", -32602},
      {R"J({"jsonrpc":"2.0","method":"run","params":"code","id":1})J", -32600},
      {R"J([])J", -32600},                                                // empty batch
      {std::string(200, '[') + std::string(200, ']'), -32004},          // too deep
      {"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"\xff\xfe\"}", -32700},  // invalid UTF-8
  };
  for (const auto& row : rows) {
    INFO(row.line.substr(0, 80));
    REQUIRE(c.Send(row.line));
    Value v = c.ReadJson();
    CHECK(GetInt(Get(v, "error"), "code") == row.code);
    CHECK_FALSE(GetStr(Get(v, "error"), "message").empty());
    CHECK(Result(c.Call("ping")) == Value::Str("pong"));
  }
}

TEST_CASE("a frame over the limit is answered -32004 and skipped and the next line works", "[daemon][badinput]") {
  Client c(Shared().socket_path());
  std::string big = R"J({"jsonrpc":"2.0","method":"run","id":1,"params":{"code":")J" + std::string(2 << 20, 'x') + "\"}}";
  REQUIRE(c.Send(big));
  Value v = c.ReadJson();
  CHECK(GetInt(Get(v, "error"), "code") == -32004);
  CHECK(Get(v, "id").is_none());
  CHECK(Result(c.Call("ping", "", 2)) == Value::Str("pong"));
}

TEST_CASE("a batch of 10,000 pings gets 10,000 answers", "[daemon][badinput]") {
  Client c(Shared().socket_path());
  std::string batch = "[";
  for (int i = 0; i < 10000; ++i) {
    if (i) batch += ",";
    batch += R"J({"jsonrpc":"2.0","method":"ping","id":)J" + std::to_string(i) + "}";
  }
  batch += "]";
  REQUIRE(c.Send(batch));
  Value v = c.ReadJson();
  REQUIRE(v.kind() == ValueKind::kList);
  CHECK(v.items().size() == 10000);
}

TEST_CASE("a script writing 100 MB of output is truncated and flagged", "[daemon][badinput]") {
  Client c(Shared().socket_path());
  Value r = Result(c.Call("run", R"J({"code": "import sys\nchunk = 'x' * 1_000_000\nfor _ in range(100):\n    sys.stdout.write(chunk)\n'done'"})J"));
  CHECK(GetStr(r, "status") == "ok");
  CHECK(Get(r, "truncated") == Value::Bool(true));
  CHECK(GetStr(r, "stdout").size() == (1u << 20));
  CHECK(Get(r, "value") == Value::Str("done"));
}
