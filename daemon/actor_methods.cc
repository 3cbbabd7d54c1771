#include "actor_methods.h"

#include <boost/asio/steady_timer.hpp>

#include "interpd/protocol/params_reader.h"

namespace interpd::daemon {

using protocol::ErrorCode;
using protocol::ParamsReader;
using protocol::Request;
using protocol::Responder;

namespace {

Value Str(std::string s) { return Value::Str(std::move(s)); }

Value ErrorData(const PythonError& e) {
  return Value::Dict({{Str("type"), Str(e.type)}, {Str("message"), Str(e.message)}, {Str("traceback"), Str(e.traceback)}});
}

// An actor reply that is not a result, as a JSON-RPC error.
void ReplyError(Responder& r, const ActorReply& reply) {
  const Status& s = reply.status;
  switch (s.code()) {
    case Status::Code::kPythonError:
      return r.Error(ErrorCode::kPythonException, "the actor raised " + s.message(),
                     reply.error ? std::optional<Value>(ErrorData(*reply.error)) : std::nullopt);
    case Status::Code::kClosed:
      // Failed or stopped: there is no actor to talk to.
      return r.Error(ErrorCode::kNotFound, s.message());
    default:
      return r.Fail(s);
  }
}

// Reads the optional args (array) and kwargs (object) of spawn/call/send.
void ReadArguments(ParamsReader& p, Value* args, Value* kwargs) {
  auto a = p.Array("args");
  auto k = p.Object("kwargs");
  *args = a ? *a : Value::List({});
  *kwargs = k && !k->pairs().empty() ? *k : Value();
}

void Spawn(const SessionPtr& session, Request req, Responder r) {
  Server& server = session->server();
  const auto limits = server.limits();
  ParamsReader p(req.params);
  ActorSpec spec;
  auto name = p.String("name", ParamsReader::kRequired);
  auto code = p.String("code", ParamsReader::kRequired);
  auto cls = p.String("class", ParamsReader::kRequired);
  ReadArguments(p, &spec.args, &spec.kwargs);
  auto worker = p.Int("worker", 0, 1023);
  auto restart = p.OneOf("restart", {"never", "on-failure"});
  auto max_restarts = p.Int("max_restarts", 0, 1000);
  auto memory_limit = p.Int("memory_limit", 1, INT64_MAX);
  if (p.ok() && memory_limit && limits->max_memory_limit > 0 &&
      static_cast<uint64_t>(*memory_limit) > limits->max_memory_limit) {
    p.Fail("params.memory_limit: at most " + std::to_string(limits->max_memory_limit) +
           " bytes (limits.max_memory_limit)");
  }
  if (Status st = p.Finish(); !st.ok()) return r.Fail(st);
  if (!server.accepting()) return r.Fail(Status::ShuttingDown("shutting down: no new actors"));
  spec.name = std::move(*name);
  spec.code = std::move(*code);
  spec.class_name = std::move(*cls);
  if (worker) spec.worker = static_cast<int>(*worker);
  spec.restart = restart.value_or("never") == "on-failure" ? RestartPolicy::kOnFailure : RestartPolicy::kNever;
  spec.max_restarts = static_cast<int>(max_restarts.value_or(limits->actor_max_restarts));
  spec.restart_window = limits->actor_restart_window;
  // No default: limits.memory_limit is for runs; an actor is bounded only
  // when its spawn asks.
  if (memory_limit) spec.memory_limit = static_cast<size_t>(*memory_limit);
  const std::string actor_name = spec.name;
  auto responder = std::make_shared<Responder>(std::move(r));
  server.pool().SpawnActor(std::move(spec), [responder, actor_name](ActorReply reply) {
    if (!reply.status.ok()) return ReplyError(*responder, reply);
    responder->Result(Value::Dict({{Str("name"), Str(actor_name)}, {Str("worker"), Value::Int(reply.worker)}}));
  });
}

void Call(const SessionPtr& session, Request req, Responder r) {
  Server& server = session->server();
  const auto limits = server.limits();
  ParamsReader p(req.params);
  auto name = p.String("name", ParamsReader::kRequired);
  auto method = p.String("method", ParamsReader::kRequired);
  Value args, kwargs;
  ReadArguments(p, &args, &kwargs);
  auto timeout = p.Number("timeout", 0, 1e9);
  if (p.ok() && timeout && *timeout <= 0) p.Fail("params.timeout: must be greater than 0 seconds");
  if (Status st = p.Finish(); !st.ok()) return r.Fail(st);
  // The call's timeout: the reply or the timer, whichever comes first (both
  // on the I/O thread).
  struct Pending {
    explicit Pending(Responder resp) : responder(std::move(resp)) {}
    Responder responder;
    std::unique_ptr<boost::asio::steady_timer> timer;
    bool answered = false;
  };
  auto pending = std::make_shared<Pending>(std::move(r));
  const double seconds = timeout ? *timeout : limits->actor_call_timeout.count();
  if (seconds > 0) {
    pending->timer = std::make_unique<boost::asio::steady_timer>(
        server.io(), std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(seconds)));
    const std::string actor = *name;
    pending->timer->async_wait([pending, actor, seconds](boost::system::error_code ec) {
      if (ec || pending->answered) return;
      pending->answered = true;
      pending->responder.Error(ErrorCode::kTimeout, "actor \"" + actor + "\" did not answer within " +
                                                        FloatRepr(seconds) + " s");
    });
  }
  server.pool().CallActor(*name, std::move(*method), std::move(args), std::move(kwargs),
                          [pending](ActorReply reply) {
                            if (pending->answered) return;  // timed out already
                            pending->answered = true;
                            if (pending->timer) pending->timer->cancel();
                            if (!reply.status.ok()) return ReplyError(pending->responder, reply);
                            pending->responder.Result(reply.value);
                          });
}

void Send(const SessionPtr& session, Request req, Responder r) {
  Server& server = session->server();
  ParamsReader p(req.params);
  auto name = p.String("name", ParamsReader::kRequired);
  auto method = p.String("method", ParamsReader::kRequired);
  Value args, kwargs;
  ReadArguments(p, &args, &kwargs);
  if (Status st = p.Finish(); !st.ok()) return r.Fail(st);
  // A send has no reply to carry the actor's refusal: check first.
  if (Status s = server.pool().CheckActorTarget(*name, *method); !s.ok()) {
    ActorReply refused;
    refused.status = std::move(s);
    return ReplyError(r, refused);
  }
  server.pool().CallActor(*name, std::move(*method), std::move(args), std::move(kwargs), nullptr);
  r.Result(Value::Dict({{Str("queued"), Value::Bool(true)}}));
}

void Stop(const SessionPtr& session, Request req, Responder r) {
  ParamsReader p(req.params, {"name"});
  auto name = p.String("name", ParamsReader::kRequired);
  if (Status st = p.Finish(); !st.ok()) return r.Fail(st);
  auto responder = std::make_shared<Responder>(std::move(r));
  session->server().pool().StopActor(*name, [responder](ActorReply reply) {
    if (!reply.status.ok()) return ReplyError(*responder, reply);
    responder->Result(Value::Dict({{Str("stopped"), Value::Bool(true)}}));
  });
}

void List(const SessionPtr& session, Request req, Responder r) {
  ParamsReader p(req.params);
  if (Status st = p.Finish(); !st.ok()) return r.Fail(st);
  Value::Items out;
  for (const auto& a : session->server().pool().ListActors()) {
    out.push_back(Value::Dict({{Str("name"), Str(a.name)},
                               {Str("class"), Str(a.class_name)},
                               {Str("worker"), Value::Int(a.worker)},
                               {Str("state"), Str(std::string(ActorStateName(a.state)))},
                               {Str("messages"), Value::Int(static_cast<int64_t>(a.messages))},
                               {Str("restarts"), Value::Int(static_cast<int64_t>(a.restarts))}}));
  }
  r.Result(Value::List(std::move(out)));
}

}  // namespace

Status RegisterActorMethods(Server& server) {
  MethodTable& t = server.mutable_methods();
  for (auto& [name, fn] : std::initializer_list<std::pair<const char*, MethodTable::Handler>>{
           {"actor.spawn", Spawn}, {"actor.call", Call}, {"actor.send", Send}, {"actor.stop", Stop},
           {"actor.list", List}}) {
    if (Status s = t.Register(name, fn); !s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace interpd::daemon
