// Tests for clients/interpctl/rpc_client.h against a scripted daemon.
#include "rpc_client.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "daemon_fixture.h"
#include "fake_daemon.h"

namespace interpd::clients {
namespace {

using test::FakeDaemon;
using Clock = RpcClient::Clock;

std::unique_ptr<RpcClient> ConnectTo(const FakeDaemon& daemon) {
  int error = 0;
  UnixConnection connection = UnixConnection::Connect(daemon.socket_path(), &error);
  REQUIRE(connection.valid());
  return std::make_unique<RpcClient>(std::move(connection));
}

TEST_CASE("messages arrive whole and in order however the daemon splits its writes") {
  test::TempDir dir;
  FakeDaemon daemon(dir.File("d.sock"), [](const std::string& line) {
    const std::string id = test::IdOf(line);
    return FakeDaemon::Reply{
        R"({"jsonrpc":"2.0","method":"run.output","params":{"id":)" + id + R"(,"stream":"stdout","data":"a"}})"
        "\n\r\n"  // an empty CRLF line in between is skipped
        R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":"done \u00e9"})" "\n",
        false, true};
  });
  auto client = ConnectTo(daemon);
  std::string problem;
  const int64_t id = client->Send("run", Value::Dict({}), &problem);
  CHECK(id == 1);
  ServerMessage m;
  REQUIRE(client->Next(&m, Clock::now() + std::chrono::seconds(10), -1, &problem) == RpcClient::Wait::kMessage);
  CHECK(m.kind == ServerMessage::Kind::kNotification);
  REQUIRE(client->Next(&m, Clock::now() + std::chrono::seconds(10), -1, &problem) == RpcClient::Wait::kMessage);
  CHECK(m.kind == ServerMessage::Kind::kResponse);
  CHECK(*m.result == Value::Str("done \xC3\xA9"));
  CHECK(client->Send("ping", Value(), &problem) == 2);
}

TEST_CASE("a wait ends at its deadline, or early when the wake descriptor is readable") {
  test::TempDir dir;
  FakeDaemon daemon(dir.File("d.sock"), [](const std::string&) { return FakeDaemon::Reply{}; });
  auto client = ConnectTo(daemon);
  ServerMessage m;
  std::string problem;
  const auto start = Clock::now();
  CHECK(client->Next(&m, start + std::chrono::milliseconds(50), -1, &problem) == RpcClient::Wait::kTimeout);
  CHECK(Clock::now() - start >= std::chrono::milliseconds(50));
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  REQUIRE(write(fds[1], "x", 1) == 1);
  CHECK(client->Next(&m, std::nullopt, fds[0], &problem) == RpcClient::Wait::kWoken);
  close(fds[0]);
  close(fds[1]);
}

TEST_CASE("the daemon closing the connection is reported, and so is every wait after it") {
  test::TempDir dir;
  FakeDaemon daemon(dir.File("d.sock"), [](const std::string&) { return FakeDaemon::Reply{"{\"jsonrpc\"", true}; });
  auto client = ConnectTo(daemon);
  ServerMessage m;
  std::string problem;
  REQUIRE(client->Send("ping", Value(), &problem) == 1);
  CHECK(client->Next(&m, Clock::now() + std::chrono::seconds(10), -1, &problem) == RpcClient::Wait::kClosed);
  CHECK_THAT(problem, Catch::Contains("in the middle of a message"));
  CHECK(client->Next(&m, Clock::now() + std::chrono::seconds(10), -1, &problem) == RpcClient::Wait::kClosed);
}

TEST_CASE("a line that is not JSON-RPC breaks the connection for good") {
  test::TempDir dir;
  FakeDaemon daemon(dir.File("d.sock"), [](const std::string&) {
    return FakeDaemon::Reply{"HTTP/1.1 400 Bad Request\n{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1}\n"};
  });
  auto client = ConnectTo(daemon);
  ServerMessage m;
  std::string problem;
  REQUIRE(client->Send("ping", Value(), &problem) == 1);
  CHECK(client->Next(&m, Clock::now() + std::chrono::seconds(10), -1, &problem) == RpcClient::Wait::kBroken);
  CHECK_THAT(problem, Catch::Contains("not JSON"));
  // The valid line after the garbage is not trusted either.
  CHECK(client->Next(&m, Clock::now() + std::chrono::seconds(10), -1, &problem) == RpcClient::Wait::kBroken);
  CHECK(client->Send("ping", Value(), &problem) == 0);
}

TEST_CASE("Call skips notifications and other ids, and takes an id-null error as its answer") {
  test::TempDir dir;
  FakeDaemon daemon(dir.File("d.sock"), [](const std::string& line) {
    if (line.find("\"ping\"") != std::string::npos) {
      return FakeDaemon::Reply{
          "{\"jsonrpc\":\"2.0\",\"method\":\"log\",\"params\":[]}\n"
          "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":\"not yours\"}\n"
          "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"pong\"}\n"};
    }
    return FakeDaemon::Reply{test::ErrorReply("null", -32700, "parse error")};
  });
  auto client = ConnectTo(daemon);
  ServerMessage m;
  std::string problem;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  REQUIRE(client->Call("ping", Value(), &m, deadline, &problem) == RpcClient::Wait::kMessage);
  CHECK(*m.result == Value::Str("pong"));
  REQUIRE(client->Call("stats", Value(), &m, deadline, &problem) == RpcClient::Wait::kMessage);
  REQUIRE(m.error);
  CHECK(m.error->code == -32700);
  CHECK(client->Call("x", Value::Dict({{Value::Str("a"), Value::Str("\xff")}}), &m, deadline, &problem) ==
        RpcClient::Wait::kUnencodable);
}

}  // namespace
}  // namespace interpd::clients
