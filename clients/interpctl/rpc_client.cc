#include "rpc_client.h"

#include <cstring>
#include <utility>

namespace interpd::clients {

protocol::Limits ClientLimits() {
  protocol::Limits limits;
  limits.max_frame_bytes = size_t{256} << 20;
  // The daemon bounds a result value at its own max_depth (128 by default);
  // the response envelope and the run result object add a few levels.
  limits.max_depth = 512;
  // The reader's own ceiling (json_reader.h): larger integers are refused
  // whatever this says.
  limits.max_integer_digits = 4932;
  return limits;
}

RpcClient::RpcClient(UnixConnection connection)
    : connection_(std::move(connection)), limits_(ClientLimits()), framer_(limits_.max_frame_bytes) {}

int64_t RpcClient::Send(std::string_view method, const Value& params, std::string* problem, bool* unencodable) {
  if (unencodable != nullptr) *unencodable = false;
  if (failed_) {
    *problem = failure_;
    return 0;
  }
  std::string line;
  if (Status st = AppendRequestLine(next_id_, method, params, &line); !st.ok()) {
    *problem = "cannot encode the request: " + st.message();
    if (unencodable != nullptr) *unencodable = true;
    return 0;
  }
  if (!send_failure_.empty()) {
    *problem = send_failure_;
    return 0;
  }
  if (const int err = connection_.WriteAll(line); err != 0) {
    // The connection stays open for reading: a daemon that refused us
    // (server.allow_users, max_connections) wrote one error line before
    // closing, and that line says more than EPIPE does.
    send_failure_ = std::string("sending the request failed: ") + std::strerror(err);
    *problem = send_failure_;
    return 0;
  }
  return next_id_++;
}

RpcClient::Wait RpcClient::Fill(std::optional<Clock::time_point> deadline, int wake_fd, std::string* problem) {
  char buf[64 * 1024];
  while (lines_.empty()) {
    if (failed_) {
      *problem = failure_;
      return *failed_;
    }
    const auto got = connection_.Read(buf, sizeof(buf), deadline, wake_fd);
    switch (got.kind) {
      case UnixConnection::ReadResult::Kind::kTimeout:
        return Wait::kTimeout;
      case UnixConnection::ReadResult::Kind::kWoken:
        return Wait::kWoken;
      case UnixConnection::ReadResult::Kind::kEof:
        failed_ = Wait::kClosed;
        failure_ = framer_.partial_pending() ? "the daemon closed the connection in the middle of a message"
                                             : "the daemon closed the connection";
        break;
      case UnixConnection::ReadResult::Kind::kError:
        failed_ = Wait::kError;
        failure_ = std::string("reading from the daemon failed: ") + std::strerror(got.error);
        break;
      case UnixConnection::ReadResult::Kind::kData:
        framer_.Feed(std::string_view(buf, got.bytes), [&](const protocol::LineFramer::Frame& frame) {
          if (failed_) return;  // nothing after a broken line can be trusted
          if (frame.oversized) {
            // Lines queued before it are still delivered (invariant 2):
            // the loop only looks at failed_ once lines_ is empty.
            failed_ = Wait::kBroken;
            failure_ = "the daemon sent a line longer than " + std::to_string(limits_.max_frame_bytes >> 20) + " MiB";
            return;
          }
          lines_.emplace_back(frame.line);
        });
        break;
    }
    if (failed_) connection_.Close();
  }
  return Wait::kMessage;
}

RpcClient::Wait RpcClient::Next(ServerMessage* message, std::optional<Clock::time_point> deadline, int wake_fd,
                                std::string* problem) {
  const Wait wait = Fill(deadline, wake_fd, problem);
  if (wait != Wait::kMessage) return wait;
  std::string line = std::move(lines_.front());
  lines_.pop_front();
  if (!ParseServerLine(line, limits_, message, problem)) {
    failed_ = Wait::kBroken;
    failure_ = *problem;
    lines_.clear();
    connection_.Close();
    return Wait::kBroken;
  }
  return Wait::kMessage;
}

RpcClient::Wait RpcClient::Call(std::string_view method, const Value& params, ServerMessage* response,
                                std::optional<Clock::time_point> deadline, std::string* problem) {
  bool unencodable = false;
  const int64_t id = Send(method, params, problem, &unencodable);
  if (id == 0) {
    if (unencodable) return Wait::kUnencodable;
    if (send_failure_.empty() || failed_) return failed_.value_or(Wait::kError);
    // Look briefly for the refusal line the daemon may have sent.
    const std::string send_problem = *problem;
    if (Next(response, Clock::now() + std::chrono::milliseconds(200), -1, problem) == Wait::kMessage &&
        response->kind == ServerMessage::Kind::kResponse && response->id.is_none() && response->error) {
      return Wait::kMessage;
    }
    *problem = send_problem;
    return Wait::kError;
  }
  for (;;) {
    const Wait wait = Next(response, deadline, -1, problem);
    if (wait != Wait::kMessage) return wait;
    if (response->kind != ServerMessage::Kind::kResponse) continue;
    // An error with id null answers a request the daemon could not read, or
    // refuses the connection itself (peer not allowed, too many
    // connections): with one request in flight, it is this one's answer.
    if (response->id.is_none() && response->error) return Wait::kMessage;
    if (response->id.kind() == ValueKind::kInt && response->id.as_int() == id) return Wait::kMessage;
  }
}

}  // namespace interpd::clients

