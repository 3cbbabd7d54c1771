#include "interpd/protocol/responder.h"

#include <cassert>
#include <utility>

#include "interpd/protocol/json_writer.h"
#include "interpd/protocol/response.h"

namespace interpd::protocol {

Responder::Responder(RequestId id, Sink sink, const Limits& limits)
    : id_(std::move(id)), sink_(std::move(sink)), limits_(limits) {
  assert(sink_);
}

Responder::~Responder() {
  if (sink_ && expects_reply()) {
    Send(ErrorLine(id_, ErrorCode::kInternalError, "internal error: the handler finished without replying"));
  }
}

Responder::Responder(Responder&& other) noexcept
    : id_(std::move(other.id_)), sink_(std::exchange(other.sink_, nullptr)), limits_(other.limits_) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    // The reply this Responder owed must not vanish with the assignment.
    Responder dropped(std::move(*this));
    id_ = std::move(other.id_);
    sink_ = std::exchange(other.sink_, nullptr);
    limits_ = other.limits_;
  }
  return *this;
}

void Responder::Send(std::string line) {
  // Disarm before calling out: the sink may destroy this Responder's owner.
  Sink sink = std::exchange(sink_, nullptr);
  sink(std::move(line));
}

bool Responder::SwallowIfNotification() {
  if (expects_reply()) return false;
  sink_ = nullptr;
  return true;
}

void Responder::Result(const Value& result) {
  assert(sink_);
  if (!sink_ || SwallowIfNotification()) return;
  std::string line;
  JsonWriteError error;
  Status st = ResultLine(id_, result, &line, limits_, &error);
  Send(st.ok() ? std::move(line) : NotRepresentableLine(id_, st, error));
}

void Responder::Error(ErrorCode code, std::string_view message, const std::optional<Value>& data) {
  assert(sink_);
  if (!sink_ || SwallowIfNotification()) return;
  Send(ErrorLine(id_, code, message, data, limits_));
}

void Responder::Fail(const Status& status) {
  assert(sink_ && !status.ok());
  if (!sink_ || SwallowIfNotification()) return;
  Send(status.ok() ? ErrorLine(id_, ErrorCode::kInternalError, "internal error: a handler failed with an OK status")
                   : StatusErrorLine(id_, status));
}

}  // namespace interpd::protocol
