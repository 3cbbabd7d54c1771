#include "rpc_methods.h"

#include <errno.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "interpd/protocol/json_writer.h"
#include "interpd/protocol/params_reader.h"
#include "interpd/protocol/response.h"

#ifndef INTERPD_VERSION
#error "INTERPD_VERSION must be defined by the build"
#endif

namespace interpd::daemon {

using protocol::ErrorCode;
using protocol::ParamsReader;
using protocol::Request;
using protocol::RequestId;
using protocol::Responder;

namespace {

constexpr size_t kMaxScriptFile = 16 << 20;

Value Str(std::string s) { return Value::Str(std::move(s)); }
Value Num(double d) { return Value::Float(d); }
Value Int(int64_t i) { return Value::Int(i); }
Value U64(uint64_t u) { return Value::Int(static_cast<int64_t>(u)); }

// Reads a script the daemon was asked to run by path.
Status ReadScript(const std::string& path, std::string* out) {
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument("params.path: must be an absolute path, got \"" + path + "\"");
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == EACCES) return Status::PermissionDenied("params.path: " + path + ": permission denied");
    return Status::NotFound("params.path: " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument("params.path: " + path + " is not a regular file");
  if (static_cast<size_t>(st.st_size) > kMaxScriptFile) {
    return Status::InvalidArgument("params.path: " + path + " is larger than 16 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::PermissionDenied("params.path: " + path + ": cannot be read by the daemon");
  std::ostringstream text;
  text << in.rdbuf();
  *out = text.str();
  return Status::OK();
}

void Ping(const SessionPtr&, Request req, Responder r) {
  ParamsReader p(req.params);
  if (Status st = p.Finish(); !st.ok()) return r.Fail(st);
  r.Result(Str("pong"));
}

void Version(const SessionPtr& session, Request req, Responder r) {
  ParamsReader p(req.params);
  if (Status st = p.Finish(); !st.ok()) return r.Fail(st);
  r.Result(Value::Dict({{Str("interpd"), Str(INTERPD_VERSION)},
                        {Str("python"), Str(session->server().runtime().python_version())},
                        {Str("protocol"), Int(1)}}));
}

void Run(const SessionPtr& session, Request req, Responder r) {
  Server& server = session->server();
  const auto limits = server.limits();
  ParamsReader p(req.params);
  auto code = p.String("code");
  auto path = p.String("path");
  auto args = p.StringList("args");
  auto stdin_text = p.String("stdin");
  auto timeout = p.Number("timeout", 0, 1e9);
  auto stream = p.Bool("stream");
  auto worker = p.Int("worker", 0, 1 << 20);
  auto isolation = p.OneOf("isolation", {"reuse", "fresh"});
  auto name = p.String("name");
  auto memory_limit = p.Int("memory_limit", 1, INT64_MAX);
  auto lane = p.OneOf("lane", {"isolated", "compat", "auto"});
  if (p.ok() && code.has_value() == path.has_value()) p.Fail("params: exactly one of \"code\" and \"path\" is required");
  if (p.ok() && timeout && *timeout <= 0) p.Fail("params.timeout: must be greater than 0 seconds");
  if (p.ok() && timeout && limits->max_timeout.count() > 0 && *timeout > limits->max_timeout.count()) {
    p.Fail("params.timeout: at most " + FloatRepr(limits->max_timeout.count()) + " s (tasks.max_timeout)");
  }
  const bool fresh = isolation && *isolation == "fresh";
  if (p.ok() && memory_limit && limits->max_memory_limit > 0 &&
      static_cast<uint64_t>(*memory_limit) > limits->max_memory_limit) {
    p.Fail("params.memory_limit: at most " + std::to_string(limits->max_memory_limit) +
           " bytes (limits.max_memory_limit)");
  }
  if (p.ok() && fresh && worker) p.Fail("params.worker: a fresh run cannot be pinned to a worker");
  if (p.ok() && fresh && lane && *lane != "isolated") {
    p.Fail("params.lane: a fresh run takes the isolated lane (fresh interpreters are isolated)");
  }
  if (p.ok() && worker && lane && *lane == "compat") p.Fail("params.worker: a compat-lane run cannot be pinned");
  if (Status st = p.Finish(); !st.ok()) return r.Fail(st);

  if (session->in_flight() >= limits->max_in_flight) {
    return r.Error(ErrorCode::kOverloaded,
                   "overloaded: " + std::to_string(limits->max_in_flight) +
                       " runs are in flight on this connection (server.max_in_flight_per_connection); retry later");
  }
  if (r.id().present() && session->FindRun(r.id())) {
    return r.Error(ErrorCode::kInvalidRequest,
                   "a run with id " + r.id().json() + " is still in flight on this connection; ids must be unique");
  }
  if (!server.accepting()) return r.Fail(Status::ShuttingDown("shutting down: the daemon accepts no new runs"));

  TaskRequest task;
  if (path) {
    if (Status st = ReadScript(*path, &task.code); !st.ok()) return r.Fail(st);
    task.filename = name.value_or(*path);
    task.define_file = true;
  } else {
    task.code = std::move(*code);
    task.filename = name.value_or("<script>");
  }
  if (args) task.args = std::move(*args);
  if (stdin_text) task.stdin_text = std::move(*stdin_text);
  if (timeout) {
    task.timeout = std::chrono::duration<double>(*timeout);
  } else {
    task.timeout = limits->default_timeout;
    if (limits->max_timeout.count() > 0 && (task.timeout.count() == 0 || task.timeout > limits->max_timeout)) {
      task.timeout = limits->max_timeout;
    }
  }
  if (worker) task.worker = static_cast<int>(*worker);
  task.output_limit = limits->output_limit;
  task.isolation = fresh ? Isolation::kFresh : Isolation::kReuse;
  if (lane) {
    task.lane = *lane == "compat" ? Lane::kCompat : *lane == "auto" ? Lane::kAuto : Lane::kIsolated;
  } else if (!fresh && !(worker && limits->default_lane == Lane::kCompat)) {
    task.lane = limits->default_lane;
  }
  task.memory_limit = memory_limit ? static_cast<size_t>(*memory_limit) : limits->memory_limit;
  if (limits->max_memory_limit > 0 && (task.memory_limit == 0 || task.memory_limit > limits->max_memory_limit)) {
    task.memory_limit = limits->max_memory_limit;
  }
  task.cpu_limit = limits->cpu_limit;
  const RequestId id = r.id();
  // Over HTTP (can_stream() false) the output stays in the result, as for a
  // notification: there is nowhere to send it while the run goes on.
  if (stream.value_or(false) && id.present() && session->can_stream()) {
    std::weak_ptr<Session> weak = session;
    task.on_output = [weak, id](OutputStream s, std::string_view text) {
      auto live = weak.lock();
      if (!live || live->closed()) return;
      std::string line;
      Value params = Value::Dict({{Str("id"), id.value()},
                                  {Str("stream"), Str(s == OutputStream::kStdout ? "stdout" : "stderr")},
                                  {Str("data"), Str(std::string(text))}});
      if (protocol::NotificationLine("run.output", params, &line).ok()) live->Send(std::move(line));
    };
  }

  // The Responder is move-only; std::function needs a copyable callable.
  auto responder = std::make_shared<Responder>(std::move(r));
  auto protocol_limits = limits->protocol;
  std::weak_ptr<Session> weak = session;
  TaskHandle handle = server.pool().Submit(std::move(task), [weak, responder, id, protocol_limits](TaskResult res) {
    // Answer first, then untrack: a half-closed session closes once its
    // last run is untracked and its queue is empty.
    if (!res.refusal.ok() && res.refusal.code() == Status::Code::kShuttingDown && res.status != TaskStatus::kCancelled) {
      responder->Error(ErrorCode::kShuttingDown, "shutting down: " + res.refusal.message());
    } else if (!res.refusal.ok() && res.status != TaskStatus::kCancelled) {
      // Refused by the pool: a JSON-RPC error, not a run result.
      responder->Fail(res.refusal);
    } else {
      responder->Result(RunResultToValue(res, protocol_limits));
    }
    if (auto live = weak.lock()) live->UntrackRun(id, res.id);
  });
  if (!handle.done()) session->TrackRun(id, handle);
}

void Cancel(const SessionPtr& session, Request req, Responder r) {
  ParamsReader p(req.params, {"id"});
  auto raw = p.Any("id", ParamsReader::kRequired);
  if (Status st = p.Finish(); !st.ok()) return r.Fail(st);
  auto target = RequestId::FromValue(*raw);
  if (!target) return r.Error(ErrorCode::kInvalidParams, "params.id: must be a string, a number or null");
  TaskHandle run = session->FindRun(*target);
  if (!run) {
    return r.Error(ErrorCode::kNotFound, "no run with id " + target->json() + " is in flight on this connection");
  }
  const bool cancelled = session->server().pool().Cancel(run);
  r.Result(Value::Dict({{Str("cancelled"), Value::Bool(cancelled)}}));
}

void Stats(const SessionPtr& session, Request req, Responder r) {
  ParamsReader p(req.params);
  if (Status st = p.Finish(); !st.ok()) return r.Fail(st);
  r.Result(StatsToValue(session->server()));
}

}  // namespace

Value RunResultToValue(const TaskResult& res, const protocol::Limits& limits) {
  TaskStatus status = res.status;
  Value value = res.value;
  std::optional<PythonError> error = res.error;
  if (status == TaskStatus::kOk && !value.is_none()) {
    std::string scratch;
    protocol::JsonWriteOptions opts;
    opts.root = "value";
    // The value sits one level inside the result object it is sent in.
    opts.max_depth = limits.max_depth - 1;
    Status st = protocol::AppendJson(value, &scratch, opts);
    if (!st.ok()) {
      status = TaskStatus::kError;
      value = Value();
      error = PythonError{"interpd.NotRepresentable", st.message(), ""};
    }
  }
  Value error_value;
  if (error) {
    error_value = Value::Dict({{Str("type"), Str(error->type)},
                               {Str("message"), Str(error->message)},
                               {Str("traceback"), Str(error->traceback)}});
  }
  return Value::Dict({
      {Str("status"), Str(std::string(TaskStatusName(status)))},
      {Str("value"), value},
      {Str("stdout"), Str(res.stdout_text)},
      {Str("stderr"), Str(res.stderr_text)},
      {Str("truncated"), Value::Bool(res.truncated)},
      {Str("exit_code"), status == TaskStatus::kExit && res.exit_code ? Int(*res.exit_code) : Value()},
      {Str("error"), error_value},
      {Str("worker"), Int(res.worker)},
      {Str("duration_ms"), Num(res.duration_ms)},
      {Str("lane"), Str(std::string(LaneName(res.lane)))},
  });
}

Value StatsToValue(Server& server) {
  PoolStats st = server.pool().Stats();
  size_t pinned = 0;
  int64_t memory_total = 0;
  auto list = [&pinned, &memory_total](const std::vector<WorkerStats>& all) {
    Value::Items items;
    for (const auto& w : all) {
      pinned += w.inbox_depth;
      memory_total += w.memory_bytes;
      items.push_back(Value::Dict({
          {Str("id"), Int(w.id)},
          {Str("state"), Str(w.state)},
          {Str("lane"), Str(w.lane)},
          {Str("interpreter_id"), Int(w.interpreter_id)},
          {Str("tasks_run"), U64(w.tasks_run)},
          {Str("current_task"), w.current_task ? U64(w.current_task) : Value()},
          {Str("cpu_seconds"), Num(w.cpu_seconds)},
          {Str("memory_bytes"), Int(w.memory_bytes)},
          {Str("interpreter_tasks"), U64(w.worker_tasks)},
          {Str("interpreter_age_seconds"), Num(w.worker_age_seconds)},
          {Str("replacements"), U64(w.replacements)},
          {Str("recycled"), U64(w.recycled)},
          {Str("recycled_by"), Value::Dict({{Str("max_tasks"), U64(w.recycled_by[0])},
                                            {Str("max_memory"), U64(w.recycled_by[1])},
                                            {Str("max_age"), U64(w.recycled_by[2])}})},
          {Str("queued"), U64(w.inbox_depth)},
          {Str("code_cache_hits"), U64(w.code_cache_hits)},
          {Str("code_cache_misses"), U64(w.code_cache_misses)},
      }));
    }
    return items;
  };
  Value::Items workers = list(st.workers);
  Value::Items compat_workers = list(st.compat_workers);
  Value::Items spares = list(st.spares);
  const auto& c = server.counters();
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - server.started()).count();
  return Value::Dict({
      {Str("workers"), Value::List(std::move(workers))},
      {Str("compat_workers"), Value::List(std::move(compat_workers))},
      {Str("spares"), Value::List(std::move(spares))},
      {Str("queues"), Value::Dict({{Str("shared"), U64(st.queued)},
                                   {Str("pinned"), U64(pinned)},
                                   {Str("compat"), U64(st.compat_queued)},
                                   {Str("fresh"), U64(st.fresh_queued)}})},
      {Str("totals"), Value::Dict({{Str("submitted"), U64(st.submitted)},
                                   {Str("completed"), U64(st.completed)},
                                   {Str("timeouts"), U64(st.timeouts)},
                                   {Str("cancelled"), U64(st.cancelled)},
                                   {Str("workers_replaced"), U64(st.abandoned_workers)},
                                   {Str("stuck_threads"), Int(st.stuck_threads)},
                                   {Str("recycled"), U64(st.recycled)},
                                   {Str("fresh_runs"), U64(st.fresh_runs)},
                                   {Str("compat_retries"), U64(st.compat_retries)}})},
      {Str("memory"), Value::Dict({{Str("accounting"), Value::Bool(st.memory_accounting)},
                                   {Str("workers_bytes"), Int(memory_total)},
                                   {Str("interpreters_destroyed"), U64(st.interpreters_destroyed)},
                                   {Str("left_behind_bytes"), Int(st.memory_left_behind)}})},
      {Str("connections"), Value::Dict({{Str("open"), U64(server.session_count())},
                                        {Str("total"), U64(c.connections_total)},
                                        {Str("refused_limit"), U64(c.connections_refused_limit)},
                                        {Str("refused_peer"), U64(c.connections_refused_peer)}})},
      {Str("uptime_seconds"), Num(uptime)},
      {Str("version"), Str(INTERPD_VERSION)},
      {Str("python"), Str(server.runtime().python_version())},
  });
}

Status RegisterCoreMethods(Server& server) {
  MethodTable& t = server.mutable_methods();
  for (auto& [name, fn] : std::initializer_list<std::pair<const char*, MethodTable::Handler>>{
           {"ping", Ping}, {"version", Version}, {"run", Run}, {"cancel", Cancel}, {"stats", Stats}}) {
    if (Status s = t.Register(name, fn); !s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace interpd::daemon
