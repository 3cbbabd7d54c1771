// The daemon over HTTP ([server] http_listen): POST /rpc with the same
// JSON-RPC bodies as the Unix socket, the HTTP status codes around them,
// keep-alive and pipelining, limits, cancel, draining, and the listener
// being off by default. Against the real binary, with a plain TCP client.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <thread>

#include "daemon_fixture.h"

using namespace interpd;
using namespace interpd::test;
using namespace std::chrono_literals;

namespace {

// A daemon serving HTTP on a free loopback port, plus `extra` config lines
// (in [server] unless they open another section).
struct HttpDaemon {
  explicit HttpDaemon(const std::string& extra = "", int workers = 2)
      : port(FreeTcpPort()),
        daemon({.config_toml = "[server]\nhttp_listen = \"127.0.0.1:" + std::to_string(port) + "\"\n" + extra,
                .workers = workers}) {}
  int port;
  Daemon daemon;
};

HttpDaemon& Shared() {
  // One daemon for the cases that do not disturb it.
  static HttpDaemon d;
  static bool ready = d.daemon.WaitNotify("READY=1");
  REQUIRE(ready);
  return d;
}

Value Result(const Value& response) { return Get(response, "result"); }
int64_t ErrorCode(const Value& response) { return GetInt(Get(response, "error"), "code"); }

std::string RunRequest(int id, const std::string& code) {
  return "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":\"run\",\"params\":{\"code\":" +
         Quote(code) + "}}";
}

}  // namespace

TEST_CASE("http_listen is off by default and the daemon then listens on no TCP port", "[daemon][http]") {
  Daemon plain;
  REQUIRE(plain.WaitNotify("READY=1"));
  CHECK(ListeningTcpPorts(plain.pid()).empty());
  // The probe does see the port of a daemon that serves HTTP.
  HttpDaemon& served = Shared();
  CHECK(ListeningTcpPorts(served.daemon.pid()) == std::set<int>{served.port});
  CHECK(served.daemon.Log().find("http://127.0.0.1:" + std::to_string(served.port) + "/rpc") != std::string::npos);
}

TEST_CASE("POST /rpc answers ping with 200 and the JSON-RPC response as an application/json body",
          "[daemon][http]") {
  HttpClient c(Shared().port);
  REQUIRE(c.connected());
  HttpResponse r = c.Post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  CHECK(r.status == 200);
  CHECK(r.Header("Content-Type") == "application/json");
  CHECK(r.Header("Content-Length") == std::to_string(r.body.size()));
  CHECK_FALSE(r.Header("Connection").has_value());  // HTTP/1.1: kept alive
  CHECK(r.body == "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"pong\"}\n");
  Value v = Result(c.Post(R"({"jsonrpc":"2.0","id":"v","method":"version"})").Json());
  CHECK(GetInt(v, "protocol") == 1);
}

TEST_CASE("run over HTTP returns the run result object", "[daemon][http]") {
  HttpClient c(Shared().port);
  HttpResponse r = c.Post(RunRequest(7, "import sys\nprint('out')\nprint('err', file=sys.stderr)\n6 * 7"));
  REQUIRE(r.status == 200);
  Value v = r.Json();
  CHECK(Get(v, "id") == Value::Int(7));
  CHECK(GetStr(Result(v), "status") == "ok");
  CHECK(Get(Result(v), "value") == Value::Int(42));
  CHECK(GetStr(Result(v), "stdout") == "out\n");
  CHECK(GetStr(Result(v), "stderr") == "err\n");
  // A Python exception is a result too, not an HTTP error.
  HttpResponse e = c.Post(RunRequest(8, "1/0"));
  CHECK(e.status == 200);
  CHECK(GetStr(Get(Result(e.Json()), "error"), "type") == "ZeroDivisionError");
}

TEST_CASE("a batch over HTTP is answered with one array holding every answer", "[daemon][http]") {
  HttpClient c(Shared().port);
  HttpResponse r = c.Post(
      R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"ping"},)"
      R"({"jsonrpc":"2.0","id":2,"method":"nope"},42,)"
      R"({"jsonrpc":"2.0","id":3,"method":"run","params":{"code":"'three'"}}])");
  REQUIRE(r.status == 200);
  Value v = r.Json();
  REQUIRE(v.kind() == ValueKind::kList);
  REQUIRE(v.items().size() == 4);  // the notification has no answer
  int pong = 0, not_found = 0, invalid = 0, ran = 0;
  for (const Value& a : v.items()) {
    if (Result(a) == Value::Str("pong")) ++pong;
    if (ErrorCode(a) == -32601 && Get(a, "id") == Value::Int(2)) ++not_found;
    if (ErrorCode(a) == -32600 && Get(a, "id").is_none()) ++invalid;
    if (Get(Result(a), "value") == Value::Str("three")) ++ran;
  }
  CHECK(pong == 1);
  CHECK(not_found == 1);
  CHECK(invalid == 1);
  CHECK(ran == 1);
}

TEST_CASE("a notification or an all-notification batch gets 204 No Content and still runs", "[daemon][http]") {
  HttpDaemon& d = Shared();
  TempDir dir;
  const std::string flag = dir.File("ran");
  HttpClient c(d.port);
  // The run writes a file: that it happened is the only trace a
  // notification leaves.
  HttpResponse r = c.Post(R"({"jsonrpc":"2.0","method":"run","params":{"code":)" +
                          Quote("open(" + Quote(flag) + ", 'w').write('yes')") + "}}");
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK_FALSE(r.Header("Content-Type").has_value());
  HttpResponse batch = c.Post(R"([{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"version"}])");
  CHECK(batch.status == 204);
  // The connection stays open meanwhile: a notification's run belongs to it
  // (closing it would cancel the run).
  bool ran = false;
  for (int i = 0; i < 100 && !ran; ++i) {
    struct stat st;
    ran = stat(flag.c_str(), &st) == 0 && st.st_size == 3;
    if (!ran) std::this_thread::sleep_for(20ms);
  }
  CHECK(ran);
  CHECK(Result(c.Post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})").Json()) == Value::Str("pong"));
}

TEST_CASE("a body that is not a valid JSON-RPC request gets 200 with the JSON-RPC error", "[daemon][http]") {
  HttpClient c(Shared().port);
  struct Case {
    const char* body;
    int64_t code;
  };
  for (const Case& k : {Case{"not json", -32700}, Case{"", -32700}, Case{R"({"jsonrpc":"2.0","id":1)", -32700},
                        Case{"[]", -32600}, Case{R"({"jsonrpc":"1.0","id":1,"method":"ping"})", -32600},
                        Case{R"({"jsonrpc":"2.0","id":1,"method":"run","params":{"cod":"1"}})", -32602}}) {
    INFO(k.body);
    HttpResponse r = c.Post(k.body);
    CHECK(r.status == 200);
    CHECK(r.Header("Content-Type") == "application/json");
    CHECK(ErrorCode(r.Json()) == k.code);
  }
}

TEST_CASE("other paths get 404 and other methods 405 with Allow POST, each with a JSON-RPC error body",
          "[daemon][http]") {
  HttpClient c(Shared().port);
  const std::string ping = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/", ping)));
  HttpResponse root = c.Read();
  CHECK(root.status == 404);
  CHECK(ErrorCode(root.Json()) == -32002);
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc/", ping)));
  CHECK(c.Read().status == 404);
  REQUIRE(c.SendRaw(HttpClient::Request("GET", "/rpc", "", {})));
  HttpResponse get = c.Read();
  CHECK(get.status == 405);
  CHECK(get.Header("Allow") == "POST");
  CHECK(ErrorCode(get.Json()) == -32600);
  REQUIRE(c.SendRaw(HttpClient::Request("PUT", "/rpc", ping)));
  CHECK(c.Read().status == 405);
  // HEAD: the same status and headers, no body.
  REQUIRE(c.SendRaw(HttpClient::Request("HEAD", "/rpc", "", {})));
  HttpResponse head = c.Read(30s, /*head=*/true);
  CHECK(head.status == 405);
  CHECK(head.Header("Allow") == "POST");
  CHECK(head.Header("Content-Length").has_value());
  // None of these closed the connection, and the HEAD answer really had no
  // body (else it would be read as the start of the next response).
  HttpResponse after = c.Post(ping);
  CHECK(Result(after.Json()) == Value::Str("pong"));
}

TEST_CASE("a body without Content-Type application/json gets 415 and one from a web page 403",
          "[daemon][http]") {
  HttpClient c(Shared().port);
  const std::string ping = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc", ping, {"Content-Type: text/plain"})));
  HttpResponse plain = c.Read();
  CHECK(plain.status == 415);
  CHECK(ErrorCode(plain.Json()) == -32600);
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc", ping, {})));
  CHECK(c.Read().status == 415);
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc", ping, {"Content-Type: Application/JSON; charset=utf-8"})));
  CHECK(c.Read().status == 200);
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc", ping,
                                        {"Content-Type: application/json", "Origin: http://example.test"})));
  HttpResponse web = c.Read();
  CHECK(web.status == 403);
  CHECK(ErrorCode(web.Json()) == -32003);
}

TEST_CASE("a body over max_frame_bytes gets 413 with -32004 and the connection closes", "[daemon][http]") {
  HttpDaemon d("max_frame_bytes = \"1KiB\"\n");
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  // 1024 bytes exactly is allowed.
  std::string fits = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  fits.append(1024 - fits.size(), ' ');
  HttpClient c(d.port);
  CHECK(c.Post(fits).status == 200);
  HttpResponse r = c.Post(fits + " ");
  CHECK(r.status == 413);
  CHECK(r.Header("Connection") == "close");
  CHECK(ErrorCode(r.Json()) == -32004);
  CHECK(c.AtEof());
  // Chunked, so the size shows only as the body arrives.
  HttpClient chunked(d.port);
  std::string body(2000, ' ');
  std::string chunks;
  for (size_t i = 0; i < body.size(); i += 500) chunks += "1f4\r\n" + body.substr(i, 500) + "\r\n";
  REQUIRE(chunked.SendRaw("POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n" +
                          chunks + "0\r\n\r\n"));
  HttpResponse c413 = chunked.Read();
  CHECK(c413.status == 413);
  CHECK(chunked.AtEof());
  CHECK(d.daemon.Log().find("request body over 1024 bytes refused") != std::string::npos);
}

TEST_CASE("a request that is not HTTP gets 400 and a header over 16 KiB 431, then the connection closes",
          "[daemon][http]") {
  HttpDaemon& d = Shared();
  HttpClient garbage(d.port);
  REQUIRE(garbage.SendRaw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n\r\n"));
  HttpResponse bad = garbage.Read();
  CHECK(bad.status == 400);
  CHECK(ErrorCode(bad.Json()) == -32600);
  CHECK(garbage.AtEof());
  HttpClient big(d.port);
  REQUIRE(big.SendRaw(HttpClient::Request("POST", "/rpc", "{}",
                                          {"Content-Type: application/json", "X-Pad: " + std::string(17000, 'a')})));
  HttpResponse large = big.Read();
  CHECK(large.status == 431);
  CHECK(ErrorCode(large.Json()) == -32004);
  CHECK(big.AtEof());
}

TEST_CASE("keep-alive: many requests on one connection, pipelined ones answered in order", "[daemon][http]") {
  HttpDaemon d;
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  HttpClient c(d.port);
  for (int i = 1; i <= 20; ++i) {
    Value v = c.Post(RunRequest(i, std::to_string(i) + " * 2")).Json();
    CHECK(Get(Result(v), "value") == Value::Int(i * 2));
  }
  // Three requests in one write; the first takes longest, yet the
  // responses come in request order (HTTP/1.1 has no other way to match them).
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc", RunRequest(100, "import time\ntime.sleep(0.3)\n'slow'")) +
                    HttpClient::Request("POST", "/rpc", R"({"jsonrpc":"2.0","id":101,"method":"ping"})") +
                    HttpClient::Request("POST", "/rpc", RunRequest(102, "'fast'"))));
  CHECK(Get(c.Read().Json(), "id") == Value::Int(100));
  CHECK(Get(c.Read().Json(), "id") == Value::Int(101));
  CHECK(Get(c.Read().Json(), "id") == Value::Int(102));
  // All of that was one connection.
  Value stats = Result(c.Post(R"({"jsonrpc":"2.0","id":1,"method":"stats"})").Json());
  CHECK(GetInt(Get(stats, "connections"), "total") == 1);
  CHECK(GetInt(Get(stats, "connections"), "open") == 1);
}

TEST_CASE("an HTTP/1.0 request is answered and its connection closed", "[daemon][http]") {
  HttpClient c(Shared().port);
  const std::string ping = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  REQUIRE(c.SendRaw("POST /rpc HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(ping.size()) + "\r\n\r\n" + ping));
  HttpResponse r = c.Read();
  CHECK(r.status == 200);
  CHECK(Result(r.Json()) == Value::Str("pong"));
  CHECK(c.AtEof());
}

TEST_CASE("Expect 100-continue gets 100 Continue before the body is sent", "[daemon][http]") {
  HttpClient c(Shared().port);
  const std::string ping = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  REQUIRE(c.SendRaw("POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                    "Content-Length: " +
                    std::to_string(ping.size()) + "\r\n\r\n"));
  HttpResponse go_on = c.Read(5s);
  CHECK(go_on.status == 100);
  REQUIRE(c.SendRaw(ping));
  CHECK(Result(c.Read().Json()) == Value::Str("pong"));
  // Refused before the body: no 100, the refusal, and the connection closes
  // (the body may still be on its way).
  REQUIRE(c.SendRaw("POST /nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                    "Content-Length: 1000\r\n\r\n"));
  HttpResponse refused = c.Read(5s);
  CHECK(refused.status == 404);
  CHECK(refused.Header("Connection") == "close");
  CHECK(c.AtEof());
}

TEST_CASE("stream true over HTTP sends no notifications and keeps the output in the result", "[daemon][http]") {
  HttpClient c(Shared().port);
  HttpResponse r = c.Post(R"({"jsonrpc":"2.0","id":"s","method":"run","params":{"code":)" +
                          Quote("import sys\nprint('one')\nprint('two', file=sys.stderr)\n3") + R"(,"stream":true}})");
  REQUIRE(r.status == 200);
  Value v = r.Json();
  REQUIRE(v.kind() == ValueKind::kDict);  // one response object, no run.output before it
  CHECK(Get(v, "id") == Value::Str("s"));
  CHECK(GetStr(Result(v), "stdout") == "one\n");
  CHECK(GetStr(Result(v), "stderr") == "two\n");
  CHECK(Get(Result(v), "value") == Value::Int(3));
}

TEST_CASE("cancel over HTTP stops a run pipelined earlier on the same connection only", "[daemon][http]") {
  HttpDaemon d;
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  HttpClient c(d.port);
  HttpClient other(d.port);
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc", RunRequest(1, "while True: pass"))));
  std::this_thread::sleep_for(200ms);
  // Another connection cannot see the run.
  CHECK(ErrorCode(other.Post(R"({"jsonrpc":"2.0","id":9,"method":"cancel","params":{"id":1}})").Json()) == -32002);
  // The same connection can, with a request sent behind it. Its answer waits
  // for the run's (responses keep request order).
  const std::string cancel_run = R"({"jsonrpc":"2.0","id":2,"method":"cancel","params":{"id":1}})";
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc", cancel_run)));
  Value run = c.Read().Json();
  CHECK(Get(run, "id") == Value::Int(1));
  CHECK(GetStr(Result(run), "status") == "cancelled");
  Value cancel = c.Read().Json();
  CHECK(Get(cancel, "id") == Value::Int(2));
  CHECK(Get(Result(cancel), "cancelled") == Value::Bool(true));
  // Within one batch as well.
  Value batch = c.Post("[" + RunRequest(3, "while True: pass") +
                       R"(,{"jsonrpc":"2.0","id":4,"method":"cancel","params":{"id":3}}])")
                    .Json();
  REQUIRE(batch.kind() == ValueKind::kList);
  REQUIRE(batch.items().size() == 2);
  for (const Value& a : batch.items()) {
    if (Get(a, "id") == Value::Int(3)) CHECK(GetStr(Result(a), "status") == "cancelled");
    if (Get(a, "id") == Value::Int(4)) CHECK(Get(Result(a), "cancelled") == Value::Bool(true));
  }
}

TEST_CASE("runs beyond the in-flight limit of one HTTP connection get -32000, pipelined or batched",
          "[daemon][http][limits]") {
  HttpDaemon d("max_in_flight_per_connection = 2\n");
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  HttpClient c(d.port);
  const std::string sleepy = "import time\ntime.sleep(0.3)";
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc", RunRequest(1, sleepy)) +
                    HttpClient::Request("POST", "/rpc", RunRequest(2, sleepy)) +
                    HttpClient::Request("POST", "/rpc", RunRequest(3, sleepy))));
  CHECK(GetStr(Result(c.Read().Json()), "status") == "ok");
  CHECK(GetStr(Result(c.Read().Json()), "status") == "ok");
  HttpResponse third = c.Read();
  CHECK(third.status == 200);
  CHECK(ErrorCode(third.Json()) == -32000);
  Value batch = c.Post("[" + RunRequest(4, sleepy) + "," + RunRequest(5, sleepy) + "," + RunRequest(6, sleepy) + "]")
                    .Json();
  REQUIRE(batch.kind() == ValueKind::kList);
  int overloaded = 0;
  for (const Value& a : batch.items()) overloaded += ErrorCode(a) == -32000;
  CHECK(overloaded == 1);
  // Another connection has its own budget.
  HttpClient other(d.port);
  CHECK(GetStr(Result(other.Post(RunRequest(7, "1")).Json()), "status") == "ok");
}

TEST_CASE("HTTP and Unix connections count together against max_connections and the extra one gets 503",
          "[daemon][http][limits]") {
  HttpDaemon d("max_connections = 2\n");
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  Client unix_client(d.daemon.socket_path());
  REQUIRE(Result(unix_client.Call("ping")) == Value::Str("pong"));
  HttpClient held(d.port);
  REQUIRE(held.Post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})").status == 200);
  HttpClient extra(d.port);
  HttpResponse r = extra.Read();
  CHECK(r.status == 503);
  CHECK(r.Header("Retry-After") == "1");
  CHECK(ErrorCode(r.Json()) == -32000);
  CHECK(extra.AtEof());
  Client extra_unix(d.daemon.socket_path());
  CHECK(ErrorCode(extra_unix.ReadJson()) == -32000);
  held.Close();
  std::this_thread::sleep_for(200ms);
  HttpClient again(d.port);
  Value stats = Result(again.Post(R"({"jsonrpc":"2.0","id":1,"method":"stats"})").Json());
  CHECK(GetInt(Get(stats, "connections"), "refused_limit") == 2);
}

TEST_CASE("concurrent HTTP clients each get their own answers", "[daemon][http][concurrency]") {
  HttpDaemon& d = Shared();
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(d.port);
      for (int i = 0; i < 50; ++i) {
        Value v = c.Post(RunRequest(i, std::to_string(t) + " * 1000 + " + std::to_string(i))).Json();
        if (!(Get(v, "id") == Value::Int(i)) || !(Get(Result(v), "value") == Value::Int(t * 1000 + i))) wrong++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
}

TEST_CASE("an HTTP client that disconnects mid-run cancels its run", "[daemon][http][cancel]") {
  HttpDaemon d;
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  {
    HttpClient gone(d.port);
    REQUIRE(gone.SendRaw(HttpClient::Request("POST", "/rpc", RunRequest(1, "while True: pass"))));
    std::this_thread::sleep_for(200ms);
  }
  HttpClient c(d.port);
  int64_t cancelled = 0;
  for (int i = 0; i < 50 && cancelled != 1; ++i) {
    cancelled = GetInt(Get(Result(c.Post(R"({"jsonrpc":"2.0","id":1,"method":"stats"})").Json()), "totals"),
                       "cancelled");
    if (cancelled != 1) std::this_thread::sleep_for(50ms);
  }
  CHECK(cancelled == 1);
}

TEST_CASE("an idle HTTP connection is closed after http_idle_timeout but not while a run is in flight",
          "[daemon][http]") {
  HttpDaemon d("http_idle_timeout = 1\n");
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  HttpClient busy(d.port);
  HttpClient idle(d.port);
  REQUIRE(idle.Post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})").status == 200);
  const auto start = std::chrono::steady_clock::now();
  HttpResponse r = busy.Post(RunRequest(1, "import time\ntime.sleep(2.2)\n'done'"));
  CHECK(Get(Result(r.Json()), "value") == Value::Str("done"));
  CHECK(idle.AtEof(1s));
  CHECK(busy.AtEof(3s));
  // Closed about one idle period after its answer, not before it.
  CHECK(std::chrono::steady_clock::now() - start >= 3s);
}

TEST_CASE("SIGTERM drains HTTP: a run in flight is answered with Connection close and the port is closed",
          "[daemon][http][signals]") {
  HttpDaemon d;
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  HttpClient c(d.port);
  HttpClient idle(d.port);
  REQUIRE(idle.Post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})").status == 200);
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc", RunRequest(1, "import time\ntime.sleep(0.6)\n'finished'"))));
  std::this_thread::sleep_for(150ms);
  d.daemon.Signal(SIGTERM);
  REQUIRE(d.daemon.WaitNotify("STOPPING=1"));
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(HttpClient(d.port).connected());  // the listener is closed
  // Requests on open connections are still answered while work drains.
  HttpResponse during = idle.Post(RunRequest(2, "1"));
  CHECK(ErrorCode(during.Json()) == -32001);
  CHECK(during.Header("Connection") == "close");
  HttpResponse r = c.Read();
  CHECK(r.status == 200);
  CHECK(Get(Result(r.Json()), "value") == Value::Str("finished"));
  CHECK(r.Header("Connection") == "close");
  CHECK(c.AtEof());
  CHECK(idle.AtEof());
  auto rc = d.daemon.WaitExit();
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
}

TEST_CASE("a non-loopback http_listen stops the daemon at start unless http_allow_remote is set",
          "[daemon][http][config]") {
  Daemon refused({.config_toml = "[server]\nhttp_listen = \"0.0.0.0:" + std::to_string(FreeTcpPort()) + "\"\n"});
  auto rc = refused.WaitExit();
  REQUIRE(rc.has_value());
  CHECK(*rc == 2);
  CHECK(refused.Log().find("is not a loopback address") != std::string::npos);
}

TEST_CASE("with http_allow_remote a wildcard http_listen is served and warned about", "[daemon][http][config]") {
  const int port = FreeTcpPort();
  Daemon d({.config_toml = "[server]\nhttp_allow_remote = true\nhttp_listen = \"0.0.0.0:" + std::to_string(port) +
                           "\"\n"});
  REQUIRE(d.WaitNotify("READY=1"));
  CHECK(ListeningTcpPorts(d.pid()) == std::set<int>{port});
  CHECK(d.Log().find("http://0.0.0.0:" + std::to_string(port) + "/rpc") != std::string::npos);
  HttpClient c(port);  // 127.0.0.1 is one of the addresses 0.0.0.0 covers
  CHECK(Result(c.Post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})").Json()) == Value::Str("pong"));
}

TEST_CASE("an allowlist with http_listen is served but logs that HTTP clients bypass it", "[daemon][http][access]") {
  HttpDaemon d("allow_users = [\"" + std::to_string(getuid()) + "\"]\n");
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  CHECK(d.daemon.Log().find("do not apply to HTTP clients") != std::string::npos);
  HttpClient c(d.port);
  CHECK(c.Post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})").status == 200);
}

TEST_CASE("an HTTP port already in use stops the daemon at start with exit 1", "[daemon][http][config]") {
  HttpDaemon first;
  REQUIRE(first.daemon.WaitNotify("READY=1"));
  Daemon second({.config_toml = "[server]\nhttp_listen = \"127.0.0.1:" + std::to_string(first.port) + "\"\n"});
  auto rc = second.WaitExit();
  REQUIRE(rc.has_value());
  CHECK(*rc == 1);
  CHECK(second.Log().find("cannot listen for HTTP on 127.0.0.1:" + std::to_string(first.port)) != std::string::npos);
  struct stat st;
  CHECK(stat(second.socket_path().c_str(), &st) != 0);  // its Unix socket was removed again
}

TEST_CASE("an http_listen address that is not this host's stops the daemon at start with exit 2",
          "[daemon][http][config]") {
  // 192.0.2.0/24 is reserved for documentation: bind() fails, nothing is sent.
  Daemon d({.config_toml = "[server]\nhttp_allow_remote = true\nhttp_listen = \"192.0.2.1:" +
                           std::to_string(FreeTcpPort()) + "\"\n"});
  auto rc = d.WaitExit();
  REQUIRE(rc.has_value());
  CHECK(*rc == 2);
  CHECK(d.Log().find("cannot listen for HTTP on 192.0.2.1:") != std::string::npos);
}

TEST_CASE("SIGTERM: a request sent while the Connection close answer is still being written is not read",
          "[daemon][http][signals]") {
  HttpDaemon d("max_frame_bytes = \"1KiB\"\n");
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  HttpClient c(d.port);
  // The answer (32 MiB) is more than the socket buffers hold: while the
  // client does not read, the daemon's write of it stays in flight.
  REQUIRE(c.SendRaw(HttpClient::Request(
      "POST", "/rpc", RunRequest(1, "import time\ntime.sleep(0.5)\n'x' * (32 << 20)"))));
  std::this_thread::sleep_for(150ms);
  d.daemon.Signal(SIGTERM);
  REQUIRE(d.daemon.WaitNotify("STOPPING=1"));
  // Wait until the answer starts to arrive, then send what would be a 413
  // if it were read: the answer is the last one (Connection: close), so it
  // must not be.
  REQUIRE(c.WaitReadable(10s));
  REQUIRE(c.SendRaw(HttpClient::Request("POST", "/rpc", std::string(2000, ' '))));
  std::this_thread::sleep_for(300ms);
  HttpResponse r = c.Read();
  CHECK(r.status == 200);
  CHECK(r.Header("Connection") == "close");
  CHECK(r.body.size() > (32u << 20));
  CHECK(c.AtEof());
  auto rc = d.daemon.WaitExit();
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  CHECK(d.daemon.Log().find("request body over") == std::string::npos);
}

TEST_CASE("a Unix-socket client is served promptly while HTTP clients misbehave", "[daemon][http][isolation]") {
  HttpDaemon d;
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  // A header that never ends, a body that never comes, garbage, a client
  // that connects and says nothing, and one that pipelines requests for big
  // answers without reading any.
  HttpClient slow_header(d.port);
  REQUIRE(slow_header.SendRaw("POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Ty"));
  HttpClient slow_body(d.port);
  REQUIRE(slow_body.SendRaw("POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Content-Length: 100000\r\n\r\n{\"jsonrpc\""));
  HttpClient garbage(d.port);
  REQUIRE(garbage.SendRaw(std::string(3000, '\x01') + "\r\n\r\n"));
  HttpClient silent(d.port);
  REQUIRE(silent.connected());
  HttpClient hog(d.port);
  std::string pipelined;
  for (int i = 0; i < 40; ++i) pipelined += HttpClient::Request("POST", "/rpc", RunRequest(i, "'y' * (1 << 20)"));
  REQUIRE(hog.SendRaw(pipelined));  // small: the socket buffers take what the daemon leaves unread
  std::this_thread::sleep_for(300ms);

  Client unix_client(d.daemon.socket_path());
  for (int i = 0; i < 20; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    Value v = unix_client.Call("run", R"({"code": "21 * 2"})", i, 5s);
    CHECK(Get(Result(v), "value") == Value::Int(42));
    // Generous for a loaded 2-core machine; a Unix client stuck behind the
    // HTTP ones would wait for their idle timeout (60 s) or forever.
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  }
  // A well-behaved HTTP client is served alongside them too.
  HttpClient good(d.port);
  CHECK(Result(good.Post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", 5s).Json()) == Value::Str("pong"));
  // The hog got only what it asked for, in order, once it reads.
  for (int i = 0; i < 3; ++i) CHECK(Get(hog.Read().Json(), "id") == Value::Int(i));
  hog.Close();
  CHECK(garbage.Read().status == 400);
  Value stats = Result(unix_client.Call("stats", "", 99, 5s));
  CHECK(GetInt(Get(stats, "connections"), "open") >= 2);
}

namespace {

const char* kHttpCounter =
    "class Counter:\n"
    "    def __init__(self, start=0):\n"
    "        self.n = start\n"
    "    def incr(self, by=1):\n"
    "        self.n += by\n"
    "        return self.n\n"
    "    def boom(self):\n"
    "        return 1 / 0\n"
    "    def nap(self, s):\n"
    "        import time\n"
    "        time.sleep(s)\n"
    "        return s\n";

std::string ActorRequest(const std::string& id, const std::string& method, const std::string& params) {
  return "{\"jsonrpc\":\"2.0\"" + (id.empty() ? std::string() : ",\"id\":" + id) + ",\"method\":\"" + method +
         "\",\"params\":" + params + "}";
}

std::string SpawnCounter(const std::string& name, const std::string& extra = "") {
  return ActorRequest("1", "actor.spawn",
                      "{\"name\":" + Quote(name) + ",\"code\":" + Quote(kHttpCounter) + ",\"class\":\"Counter\"" +
                          extra + "}");
}

}  // namespace

TEST_CASE("actor methods over HTTP: spawn, call, send, list, stop, the same actors as on the Unix socket",
          "[daemon][http][actors]") {
  HttpDaemon d;
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  HttpClient c(d.port);
  HttpResponse spawned = c.Post(SpawnCounter("web", ",\"args\":[10]"));
  REQUIRE(spawned.status == 200);
  CHECK(GetStr(Result(spawned.Json()), "name") == "web");
  CHECK(Result(c.Post(ActorRequest("2", "actor.call", R"({"name":"web","method":"incr"})")).Json()) ==
        Value::Int(11));
  CHECK(Result(c.Post(ActorRequest("3", "actor.call", R"({"name":"web","method":"incr","kwargs":{"by":5}})")).Json()) ==
        Value::Int(16));
  // A Python exception in the actor is a JSON-RPC error -32010, still a 200.
  HttpResponse boom = c.Post(ActorRequest("4", "actor.call", R"({"name":"web","method":"boom"})"));
  CHECK(boom.status == 200);
  const Value boom_json = boom.Json();
  CHECK(ErrorCode(boom_json) == -32010);
  CHECK(GetStr(Get(Get(boom_json, "error"), "data"), "type") == "ZeroDivisionError");
  CHECK(ErrorCode(c.Post(ActorRequest("5", "actor.call", R"({"name":"nobody","method":"incr"})")).Json()) == -32002);
  // actor.send with an id answers {"queued": true}; as a notification, 204.
  CHECK(Get(Result(c.Post(ActorRequest("6", "actor.send", R"({"name":"web","method":"incr","args":[4]})")).Json()),
            "queued") == Value::Bool(true));
  CHECK(c.Post(ActorRequest("", "actor.send", R"({"name":"web","method":"incr","args":[100]})")).status == 204);
  // The actor handles one message at a time, in order: both sends are in.
  CHECK(Result(c.Post(ActorRequest("7", "actor.call", R"({"name":"web","method":"incr","args":[0]})")).Json()) ==
        Value::Int(120));
  // A batch mixing actor calls and a run.
  HttpResponse batch = c.Post("[" + ActorRequest("8", "actor.call", R"({"name":"web","method":"incr"})") + "," +
                              RunRequest(9, "'ran'") + "]");
  REQUIRE(batch.status == 200);
  const Value answers = batch.Json();
  REQUIRE(answers.kind() == ValueKind::kList);
  REQUIRE(answers.items().size() == 2);
  for (const Value& a : answers.items()) {
    if (Get(a, "id") == Value::Int(8)) CHECK(Result(a) == Value::Int(121));
    if (Get(a, "id") == Value::Int(9)) CHECK(Get(Result(a), "value") == Value::Str("ran"));
  }
  // The Unix socket sees the same actor.
  Client unix_client(d.daemon.socket_path());
  CHECK(Result(unix_client.Call("actor.call", R"({"name": "web", "method": "incr"})", 10)) == Value::Int(122));
  const Value list = Result(c.Post(ActorRequest("11", "actor.list", "{}")).Json());
  REQUIRE(list.kind() == ValueKind::kList);
  REQUIRE(list.items().size() == 1);
  CHECK(GetStr(list.items()[0], "name") == "web");
  CHECK(Get(Result(c.Post(ActorRequest("12", "actor.stop", R"({"name":"web"})")).Json()), "stopped") ==
        Value::Bool(true));
  CHECK(ErrorCode(c.Post(ActorRequest("13", "actor.call", R"({"name":"web","method":"incr"})")).Json()) == -32002);
}

TEST_CASE("SIGTERM with an actor call in flight over HTTP: it is answered with Connection close",
          "[daemon][http][actors][signals]") {
  HttpDaemon d;
  REQUIRE(d.daemon.WaitNotify("READY=1"));
  HttpClient c(d.port);
  REQUIRE(c.Post(SpawnCounter("busy")).status == 200);
  REQUIRE(c.SendRaw(HttpClient::Request(
      "POST", "/rpc", ActorRequest("2", "actor.call", R"({"name":"busy","method":"nap","args":[0.5]})"))));
  std::this_thread::sleep_for(100ms);
  d.daemon.Signal(SIGTERM);
  HttpResponse r = c.Read();
  CHECK(r.status == 200);
  CHECK(Result(r.Json()) == Value::Float(0.5));
  CHECK(r.Header("Connection") == "close");
  CHECK(c.AtEof());
  auto rc = d.daemon.WaitExit();
  INFO("daemon log:\n" << d.daemon.Log());
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
}
