// Tests for clients/interpctl/signal_pipe.h.
#include "signal_pipe.h"

#include <poll.h>
#include <signal.h>

#include <catch2/catch.hpp>

namespace interpd::clients {
namespace {

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

TEST_CASE("SIGINT and SIGTERM become readable on the pipe and are counted, and the old handlers come back") {
  struct sigaction before {};
  sigaction(SIGINT, nullptr, &before);
  {
    SignalPipe signals;
    REQUIRE(signals.fd() >= 0);
    CHECK_FALSE(Readable(signals.fd()));
    CHECK(signals.Take().count == 0);
    raise(SIGINT);  // would end the test process without the pipe's handler
    raise(SIGTERM);
    CHECK(Readable(signals.fd()));
    const SignalPipe::Deliveries got = signals.Take();
    CHECK(got.count == 2);
    CHECK(got.last == SIGTERM);
    CHECK_FALSE(Readable(signals.fd()));
  }
  struct sigaction after {};
  sigaction(SIGINT, nullptr, &after);
  CHECK(after.sa_handler == before.sa_handler);
}

}  // namespace
}  // namespace interpd::clients
