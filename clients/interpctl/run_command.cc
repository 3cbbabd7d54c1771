#include "run_command.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>

#include <cstring>

#include "exit_codes.h"
#include "input_text.h"

namespace interpd::clients {

namespace {

Value Str(std::string s) { return Value::Str(std::move(s)); }

std::string_view StrOr(const Value* v, std::string_view fallback) {
  return v != nullptr && v->kind() == ValueKind::kStr ? std::string_view(v->str()) : fallback;
}

}  // namespace

int RunCommand::BuildParams(Value* params) {
  Console& console = context_.console();
  Value::Pairs pairs;
  // The file name tracebacks show: --name, else FILE as typed, "<stdin>",
  // or the daemon's own default for -c code and --by-path.
  std::optional<std::string> name = options_.name;
  switch (options_.source) {
    case RunOptions::Source::kCode:
      if (!IsUtf8(options_.code)) {
        console.Error("the -c code is not UTF-8 text");
        return exit_code::kDataError;
      }
      pairs.emplace_back(Str("code"), Str(options_.code));
      break;
    case RunOptions::Source::kStdin:
    case RunOptions::Source::kFile: {
      const bool from_stdin = options_.source == RunOptions::Source::kStdin;
      const std::string file = from_stdin ? "-" : options_.file;
      if (options_.by_path) {
        char resolved[PATH_MAX];
        if (::realpath(file.c_str(), resolved) == nullptr) {
          console.Error("cannot find " + file + ": " + std::strerror(errno));
          return exit_code::kNotFound;
        }
        pairs.emplace_back(Str("path"), Str(resolved));
        break;
      }
      std::string code;
      if (const int err = ReadInput(file, &code); err != 0) {
        console.Error("cannot read " + (from_stdin ? std::string("the script from stdin") : file) + ": " +
                      std::strerror(err));
        return err == ENOENT ? exit_code::kNotFound : exit_code::kDataError;
      }
      if (!IsUtf8(code)) {
        console.Error((from_stdin ? std::string("the script on stdin") : file) + " is not UTF-8 text",
                      "the daemon compiles scripts from UTF-8 source");
        return exit_code::kDataError;
      }
      pairs.emplace_back(Str("code"), Str(std::move(code)));
      if (!name) name = from_stdin ? "<stdin>" : file;
      break;
    }
  }
  if (name) {
    if (!IsUtf8(*name)) {
      console.Error("the script name \"" + *name + "\" is not UTF-8 text", "pass a UTF-8 --name for tracebacks");
      return exit_code::kDataError;
    }
    pairs.emplace_back(Str("name"), Str(*name));
  }
  if (!options_.args.empty()) {
    Value::Items args;
    for (const auto& a : options_.args) {
      if (!IsUtf8(a)) {
        console.Error("script argument \"" + a + "\" is not UTF-8 text");
        return exit_code::kDataError;
      }
      args.push_back(Str(a));
    }
    pairs.emplace_back(Str("args"), Value::List(std::move(args)));
  }
  if (options_.stdin_file) {
    std::string text;
    const std::string& file = *options_.stdin_file;
    if (const int err = ReadInput(file, &text); err != 0) {
      console.Error("cannot read --stdin " + file + ": " + std::strerror(err));
      return err == ENOENT ? exit_code::kNotFound : exit_code::kDataError;
    }
    if (!IsUtf8(text)) {
      console.Error("--stdin " + file + " is not UTF-8 text", "the script's sys.stdin is a text stream");
      return exit_code::kDataError;
    }
    pairs.emplace_back(Str("stdin"), Str(std::move(text)));
  }
  if (options_.timeout) pairs.emplace_back(Str("timeout"), Value::Float(*options_.timeout));
  if (options_.worker) pairs.emplace_back(Str("worker"), Value::Int(*options_.worker));
  if (options_.isolation) pairs.emplace_back(Str("isolation"), Str(*options_.isolation));
  if (options_.lane) pairs.emplace_back(Str("lane"), Str(*options_.lane));
  if (options_.memory_limit) pairs.emplace_back(Str("memory_limit"), Value::Int(*options_.memory_limit));
  if (!options_.json) pairs.emplace_back(Str("stream"), Value::Bool(true));
  *params = Value::Dict(std::move(pairs));
  return exit_code::kSuccess;
}

int RunCommand::Execute() {
  Value params;
  if (const int code = BuildParams(&params); code != exit_code::kSuccess) return code;
  int code = 0;
  std::unique_ptr<RpcClient> client = context_.Connect(&code);
  if (!client) return code;
  // Installed before the request goes out, so a Ctrl-C at any moment after
  // it cancels the run rather than abandoning it mid-flight.
  SignalPipe signals;
  std::string problem;
  bool unencodable = false;
  const int64_t id = client->Send("run", params, &problem, &unencodable);
  if (unencodable) return context_.ReportWaitFailure(RpcClient::Wait::kUnencodable, problem);
  // A failed write still goes on to read: a daemon refusing the connection
  // sent its reason before closing, and Wait() reports it. The id of the
  // first request on a connection is 1.
  return Wait(*client, id == 0 ? 1 : id, signals);
}

void RunCommand::Relay(const Value& params, int64_t id) {
  const Value* for_id = Member(params, "id");
  if (for_id == nullptr || for_id->kind() != ValueKind::kInt || for_id->as_int() != id) return;
  const Value* data = Member(params, "data");
  if (data == nullptr || data->kind() != ValueKind::kStr) return;
  const std::string_view stream = StrOr(Member(params, "stream"), "");
  if (stream == "stderr") {
    context_.console().Err(data->str());
  } else {
    context_.console().Out(data->str());
  }
}

int RunCommand::Wait(RpcClient& client, int64_t id, SignalPipe& signals) {
  int signal = 0;  // the signal that made us cancel, 0 if none
  std::optional<RpcClient::Clock::time_point> deadline;
  for (;;) {
    ServerMessage message;
    std::string problem;
    const RpcClient::Wait wait = client.Next(&message, deadline, signals.fd(), &problem);
    if (wait == RpcClient::Wait::kWoken) {
      const SignalPipe::Deliveries got = signals.Take();
      if (got.count == 0) continue;
      if (signal != 0 || got.count > 1) {
        context_.console().Error("interrupted again: not waiting for the daemon to confirm the cancellation");
        return exit_code::kSignalBase + got.last;
      }
      signal = got.last;
      context_.console().Error(std::string(signal == SIGTERM ? "terminated" : "interrupted") +
                               ": cancelling the run (press Ctrl-C again to stop waiting)");
      if (client.Send("cancel", Value::Dict({{Str("id"), Value::Int(id)}}), &problem) == 0) {
        // Cannot even ask: dropping the connection cancels the run anyway.
        return exit_code::kSignalBase + signal;
      }
      deadline = RpcClient::Clock::now() + kCancelGrace;
      continue;
    }
    if (wait == RpcClient::Wait::kTimeout) {
      context_.console().Error("the daemon did not confirm the cancellation within " +
                               std::to_string(kCancelGrace.count()) + " s; disconnecting, which cancels the run");
      return exit_code::kSignalBase + signal;
    }
    if (wait != RpcClient::Wait::kMessage) return context_.ReportWaitFailure(wait, problem);
    if (message.kind == ServerMessage::Kind::kNotification) {
      if (message.method == "run.output") Relay(message.params, id);
      continue;
    }
    const bool for_run = message.id.kind() == ValueKind::kInt && message.id.as_int() == id;
    // An error with id null: the daemon refused the connection or could not
    // read the request; either way it is the run's answer.
    const bool refusal = message.id.is_none() && message.error;
    if (!for_run && !refusal) continue;  // the cancel's own answer: the run's result says what happened
    if (message.error) return context_.ReportRpcError("run", *message.error);
    return Finish(*message.result, signal);
  }
}

int RunCommand::ExitCodeForResult(const Value& result, int signal, std::string* problem) {
  const Value* status = Member(result, "status");
  if (status == nullptr || status->kind() != ValueKind::kStr) {
    *problem = "has no \"status\"";
    return -1;
  }
  const std::string s(status->str());
  if (s == "ok") return exit_code::kSuccess;
  if (s == "error") return exit_code::kScriptError;
  if (s == "timeout") return exit_code::kTimeout;
  if (s == "cancelled") return signal != 0 ? exit_code::kSignalBase + signal : exit_code::kRetryLater;
  if (s == "exit") {
    const Value* code = Member(result, "exit_code");
    if (code == nullptr || code->kind() != ValueKind::kInt) {
      *problem = "has status \"exit\" without an integer \"exit_code\"";
      return -1;
    }
    return ExitCodeForSystemExit(code->as_int());
  }
  *problem = "has an unknown status \"" + s + "\"";
  return -1;
}

int RunCommand::Finish(const Value& result, int signal) {
  Console& console = context_.console();
  std::string problem;
  const int exit = ExitCodeForResult(result, signal, &problem);
  if (exit < 0) return context_.ReportBadResult("run", problem);
  if (options_.json) {
    console.Out(ToJsonText(result) + "\n");
    return exit;
  }
  // Unstreamed output (a daemon that ignores "stream") comes in the result.
  console.Out(StrOr(Member(result, "stdout"), ""));
  console.Err(StrOr(Member(result, "stderr"), ""));
  const Value* truncated = Member(result, "truncated");
  if (truncated != nullptr && truncated->kind() == ValueKind::kBool && truncated->as_bool()) {
    console.Error("the output was cut at the daemon's limit (tasks.output_limit); the rest was dropped");
  }
  const std::string_view status = Member(result, "status")->str();
  const Value* error = Member(result, "error");
  const std::string_view traceback = StrOr(Member(error ? *error : Value(), "traceback"), "");
  const std::string_view type = StrOr(Member(error ? *error : Value(), "type"), "");
  const std::string_view message = StrOr(Member(error ? *error : Value(), "message"), "");
  auto print_error = [&] {
    if (!traceback.empty()) {
      console.Err(traceback);
      if (traceback.back() != '\n') console.Err("\n");
    } else if (!type.empty()) {
      console.Err(std::string(type) + (message.empty() ? "" : ": " + std::string(message)) + "\n");
    }
  };
  if (status == "ok") {
    const Value* value = Member(result, "value");
    if (!options_.quiet && value != nullptr && !value->is_none()) {
      // Like a REPL: the value on a line of its own, even after output that
      // did not end its line.
      if (!console.out_at_line_start()) console.Out("\n");
      console.Out(ToJsonText(*value) + "\n");
    }
  } else if (status == "error") {
    print_error();
  } else if (status == "timeout") {
    print_error();
    console.Error(message.empty() ? "the run timed out" : "timed out: " + std::string(message));
  } else if (status == "cancelled") {
    if (signal != 0) {
      console.Error("the run was cancelled");
    } else {
      console.Error("the daemon cancelled the run" + (message.empty() ? std::string() : ": " + std::string(message)),
                    "it may be shutting down: retry later");
    }
  }
  return exit;
}

}  // namespace interpd::clients
