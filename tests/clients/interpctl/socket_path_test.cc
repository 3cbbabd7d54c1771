// Tests for clients/interpctl/socket_path.h: the client looks where the
// daemon listens.
#include "socket_path.h"

#include <catch2/catch.hpp>

#include "daemon/config.h"

namespace interpd::clients {
namespace {

TEST_CASE("the default socket path is the daemon's own default in every environment") {
  struct Case {
    std::string xdg;
    std::string runtime_directory;
    bool root;
  };
  const std::vector<Case> cases = {
      {"", "", false},          {"", "", true},           {"/run/user/1000", "", false},
      {"/run/user/1000/", "", true}, {"relative/dir", "", false}, {"relative/dir", "/run/interpd", false},
      {"", "/run/interpd", false}, {"/", "", false},          {"//", "", false},
  };
  for (const auto& c : cases) {
    INFO("XDG_RUNTIME_DIR=" << c.xdg << " RUNTIME_DIRECTORY=" << c.runtime_directory << " root=" << c.root);
    SocketEnvironment client;
    client.xdg_runtime_dir = c.xdg;
    client.runtime_directory = c.runtime_directory;
    client.is_root = c.root;
    client.interpd_socket = "/ignored/by/the/default.sock";
    daemon::SocketPathEnvironment daemon_env;
    daemon_env.xdg_runtime_dir = c.xdg;
    daemon_env.runtime_directory = c.runtime_directory;
    daemon_env.is_root = c.root;
    CHECK(DefaultSocketPath(client) == daemon::ResolveSocketPath("", daemon_env));
  }
}

TEST_CASE("the socket flag beats INTERPD_SOCKET, which beats the default path") {
  SocketEnvironment env;
  env.xdg_runtime_dir = "/run/user/7";
  CHECK(ChooseSocket("", env).path == "/run/user/7/interpd/interpd.sock");
  CHECK(ChooseSocket("", env).source == SocketChoice::Source::kDefault);
  env.interpd_socket = "/tmp/env.sock";
  CHECK(ChooseSocket("", env).path == "/tmp/env.sock");
  CHECK(ChooseSocket("", env).SourceName() == "INTERPD_SOCKET");
  CHECK(ChooseSocket("/tmp/flag.sock", env).path == "/tmp/flag.sock");
  CHECK(ChooseSocket("/tmp/flag.sock", env).SourceName() == "--socket");
}

}  // namespace
}  // namespace interpd::clients
