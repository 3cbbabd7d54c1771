// RpcClient: JSON-RPC 2.0 requests over one UnixConnection, for a
// single-threaded command-line client.
//
// interpctl has at most two requests in flight (a run and its cancel), so
// the client does not match responses to callers itself: Next() hands every
// message to the caller in arrival order, and Call() is the simple
// request-then-wait-for-that-id loop for one-shot commands.
//
// Thread safety: none; one thread owns an RpcClient.
//
// Invariants:
//   1. Ids are 1, 2, 3, ... in the order requests are sent; never reused on
//      the connection.
//   2. Messages are returned in the order the daemon sent them, each once;
//      lines framed but not yet returned wait in a queue.
//   3. Once Next() reported kClosed, kError or kBroken, the connection is
//      closed and every later Send/Next fails the same way. A failed write
//      fails every later Send, but reading goes on: what the daemon sent
//      before it closed can still be read.
#ifndef INTERPD_CLIENTS_INTERPCTL_RPC_CLIENT_H_
#define INTERPD_CLIENTS_INTERPCTL_RPC_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "interpd/protocol/limits.h"
#include "interpd/protocol/line_framer.h"
#include "interpd/value.h"
#include "unix_connection.h"
#include "wire.h"

namespace interpd::clients {

// What the client accepts from the daemon. Looser than the daemon's limits
// on requests: a run result carries up to tasks.output_limit of output,
// which JSON escaping can grow several times.
protocol::Limits ClientLimits();

class RpcClient {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Wait {
    kMessage,   // *message holds the next message
    kTimeout,   // the deadline passed first
    kWoken,     // wake_fd became readable first (a signal)
    kClosed,    // the daemon closed the connection
    kError,     // the socket failed (errno in *problem)
    kBroken,    // the daemon sent something that is not JSON-RPC (*problem says what)
    kUnencodable,  // Call(): the request itself cannot be written as JSON (e.g. not UTF-8)
  };

  explicit RpcClient(UnixConnection connection);
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Sends a request and returns its id (invariant 1), or 0 when it could
  // not be encoded or written (*problem says why; *unencodable, when
  // non-null, tells the two apart).
  int64_t Send(std::string_view method, const Value& params, std::string* problem, bool* unencodable = nullptr);

  // The next message from the daemon, waiting until `deadline` (nullopt: no
  // limit) or until `wake_fd` (-1: none) is readable.
  Wait Next(ServerMessage* message, std::optional<Clock::time_point> deadline, int wake_fd, std::string* problem);

  // Sends one request and waits for its response, skipping anything else.
  // Returns kMessage with the response in *response, or why not.
  Wait Call(std::string_view method, const Value& params, ServerMessage* response,
            std::optional<Clock::time_point> deadline, std::string* problem);

 private:
  // Reads until a line is queued or the wait ends; kMessage means lines_
  // is not empty.
  Wait Fill(std::optional<Clock::time_point> deadline, int wake_fd, std::string* problem);

  UnixConnection connection_;
  const protocol::Limits limits_;
  protocol::LineFramer framer_;
  std::deque<std::string> lines_;            // invariant 2
  std::optional<Wait> failed_;               // invariant 3
  std::string failure_;                      // the problem that went with failed_
  std::string send_failure_;                 // set once a write failed; later sends fail too
  int64_t next_id_ = 1;
};

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_RPC_CLIENT_H_
