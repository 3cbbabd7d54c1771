// MethodTable: method name -> handler, and the dispatch step that answers
// -32601 for anything it does not know.
//
// A handler gets the caller's context (whatever the daemon needs per call,
// e.g. a std::shared_ptr to the session, so that `cancel` can find runs of
// the same connection), the validated Request, and a Responder it must
// complete exactly once, now or later, from any thread:
//
//   MethodTable<std::shared_ptr<Session>> table;
//   table.Register("ping", [](const auto&, Request, Responder r) {
//     r.Result(Value::Str("pong"));
//   });
//   table.Register("run", [](const auto& session, Request req, Responder r) {
//     ParamsReader params(req.params);
//     ...
//     if (Status st = params.Finish(); !st.ok()) return r.Fail(st);
//     session->runtime().Submit(..., [r = std::move(r)](Value v) mutable { r.Result(v); });
//   });
//
// Thread safety: Register() before the table is shared; after that the
// table is read-only and Dispatch() may run concurrently on any threads.
// Handlers run on the dispatching thread and must not block it: long work
// goes to a worker, which completes the Responder later.
//
// Invariants:
//   1. No name starting with "rpc." is ever registered (JSON-RPC 2.0 section
//      4 reserves them), so such requests always get -32601.
//   2. Dispatch() disposes of the Responder in every case: the handler owns
//      it, or -32601 was sent (or swallowed, for a notification).
#ifndef INTERPD_PROTOCOL_METHOD_TABLE_H_
#define INTERPD_PROTOCOL_METHOD_TABLE_H_

#include <exception>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "interpd/protocol/request.h"
#include "interpd/protocol/responder.h"
#include "interpd/status.h"

namespace interpd::protocol {

// Non-template parts, defined in method_table.cc.
namespace method_table_internal {
// OK, or InvalidArgument for an empty or reserved ("rpc.") name.
Status CheckNewName(std::string_view name);
bool IsReserved(std::string_view name);
// Sends the -32601 for `method` (swallowed for a notification).
void AnswerMethodNotFound(std::string_view method, Responder responder);
}  // namespace method_table_internal

template <typename Context>
class MethodTable {
 public:
  using Handler = std::function<void(const Context& context, Request request, Responder responder)>;

  // Adds a method. Fails with InvalidArgument for a reserved or empty name
  // and AlreadyExists for a duplicate (a second registration is a bug that
  // should surface at start-up, not silently replace the first).
  // REQUIRES: the table is not yet used by Dispatch(); handler is callable.
  Status Register(std::string name, Handler handler) {
    if (Status st = method_table_internal::CheckNewName(name); !st.ok()) return st;
    auto [it, inserted] = handlers_.emplace(std::move(name), std::move(handler));
    if (!inserted) return Status::AlreadyExists("method \"" + it->first + "\" is already registered");
    return Status::OK();
  }

  bool Contains(std::string_view name) const { return handlers_.find(name) != handlers_.end(); }

  // Runs the handler of request.method, or answers -32601. A handler that
  // throws std::exception is contained here: its Responder, destroyed by the
  // unwinding, answers -32603, and the caller's loop keeps running.
  void Dispatch(const Context& context, Request request, Responder responder) const {
    auto it = method_table_internal::IsReserved(request.method) ? handlers_.end() : handlers_.find(request.method);
    if (it == handlers_.end()) {
      method_table_internal::AnswerMethodNotFound(request.method, std::move(responder));
      return;
    }
    try {
      it->second(context, std::move(request), std::move(responder));
    } catch (const std::exception&) {
      // Already answered by the Responder's destructor (see above).
    }
  }

 private:
  // Constant once the table is shared. std::less<> for lookups by
  // string_view without building a std::string per request.
  std::map<std::string, Handler, std::less<>> handlers_;
};

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_METHOD_TABLE_H_
