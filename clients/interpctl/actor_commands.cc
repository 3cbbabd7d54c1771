#include "actor_commands.h"

#include <errno.h>

#include <cstring>

#include "exit_codes.h"
#include "input_text.h"
#include "interpd/protocol/json_reader.h"
#include "rpc_client.h"
#include "text_table.h"
#include "wire.h"

namespace interpd::clients {

namespace {

Value Str(std::string s) { return Value::Str(std::move(s)); }

bool ReadJsonWord(const std::string& word, Value* out, std::string* error) {
  protocol::JsonReadError read_error;
  if (protocol::ReadJson(word, ClientLimits(), out, &read_error)) return true;
  *error = read_error.message;
  return false;
}

std::string Cell(const Value* v) {
  if (v == nullptr || v->is_none()) return "-";
  if (v->kind() == ValueKind::kStr) return std::string(v->str());
  return ToJsonText(*v);
}

// Adds "args" (JSON words) and "kwargs" (a JSON object) to *pairs when
// given; 0, or the exit code of a bad one (already reported).
int AddJsonArguments(CommandContext& context, const std::vector<std::string>& words,
                     const std::optional<std::string>& kwargs_text, Value::Pairs* pairs) {
  Value args;
  std::string why;
  if (!ParseJsonArgs(words, &args, &why)) {
    context.console().Error(why, "each argument is one JSON value: 1, 2.5, '\"text\"', '[1, 2]', '{\"k\": 1}'");
    return exit_code::kDataError;
  }
  if (!args.items().empty()) pairs->emplace_back(Str("args"), args);
  if (kwargs_text) {
    Value kwargs;
    if (!ParseJsonObject(*kwargs_text, &kwargs, &why)) {
      context.console().Error("--kwargs: " + why, "--kwargs takes a JSON object: '{\"key\": 1}'");
      return exit_code::kDataError;
    }
    pairs->emplace_back(Str("kwargs"), kwargs);
  }
  return exit_code::kSuccess;
}

// The params shared by actor.call and actor.send; 0 or the exit code of a
// bad argument (already reported).
int CallParams(CommandContext& context, const ActorCallOptions& options, bool with_timeout, Value* params) {
  Value::Pairs pairs = {{Str("name"), Str(options.actor)}, {Str("method"), Str(options.method)}};
  if (const int code = AddJsonArguments(context, options.args, options.kwargs, &pairs); code != exit_code::kSuccess) {
    return code;
  }
  if (with_timeout && options.timeout) pairs.emplace_back(Str("timeout"), Value::Float(*options.timeout));
  *params = Value::Dict(std::move(pairs));
  return exit_code::kSuccess;
}

}  // namespace

bool ParseJsonArgs(const std::vector<std::string>& words, Value* list, std::string* why) {
  Value::Items items;
  for (size_t i = 0; i < words.size(); ++i) {
    Value v;
    std::string error;
    if (!ReadJsonWord(words[i], &v, &error)) {
      *why = "argument " + std::to_string(i + 1) + " is not JSON: " + words[i] + " (" + error + ")";
      return false;
    }
    items.push_back(std::move(v));
  }
  *list = Value::List(std::move(items));
  return true;
}

bool ParseJsonObject(const std::string& text, Value* object, std::string* why) {
  std::string error;
  if (!ReadJsonWord(text, object, &error)) {
    *why = "not JSON: " + text + " (" + error + ")";
    return false;
  }
  if (object->kind() != ValueKind::kDict) {
    *why = "not a JSON object: " + text;
    return false;
  }
  return true;
}

std::string FormatActors(const Value& actors) {
  using Align = TextTable::Align;
  TextTable table({{"NAME", Align::kLeft},
                   {"CLASS", Align::kLeft},
                   {"WORKER", Align::kRight},
                   {"STATE", Align::kLeft},
                   {"MESSAGES", Align::kRight},
                   {"RESTARTS", Align::kRight}});
  for (const Value& a : actors.items()) {
    table.AddRow({Cell(Member(a, "name")), Cell(Member(a, "class")), Cell(Member(a, "worker")),
                  Cell(Member(a, "state")), Cell(Member(a, "messages")), Cell(Member(a, "restarts"))});
  }
  return table.Render();
}

int ActorsCommand(CommandContext& context, bool json, bool names_only) {
  Value result;
  if (const int code = context.Call("actor.list", Value(), &result); code != exit_code::kSuccess) return code;
  if (result.kind() != ValueKind::kList) return context.ReportBadResult("actor.list", "is not an array");
  if (json) {
    context.console().Out(ToJsonText(result) + "\n");
  } else if (names_only) {
    std::string names;
    for (const Value& a : result.items()) names += Cell(Member(a, "name")) + "\n";
    context.console().Out(names);
  } else {
    context.console().Out(FormatActors(result));
  }
  return exit_code::kSuccess;
}

int CallCommand(CommandContext& context, const ActorCallOptions& options) {
  Value params;
  if (const int code = CallParams(context, options, true, &params); code != exit_code::kSuccess) return code;
  Value result;
  // No client-side limit: the method may legitimately run long, and the
  // daemon enforces --timeout when one is given.
  if (const int code = context.Call("actor.call", params, &result, std::nullopt); code != exit_code::kSuccess) {
    return code;
  }
  if (!options.quiet && !result.is_none()) context.console().Out(ToJsonText(result) + "\n");
  return exit_code::kSuccess;
}

int SendCommand(CommandContext& context, const ActorCallOptions& options) {
  Value params;
  if (const int code = CallParams(context, options, false, &params); code != exit_code::kSuccess) return code;
  Value result;
  return context.Call("actor.send", params, &result);
}

int SpawnCommand(CommandContext& context, const SpawnOptions& options) {
  std::string code;
  if (options.code) {
    code = *options.code;
  } else if (options.file) {
    if (const int err = ReadInput(*options.file, &code); err != 0) {
      context.console().Error("cannot read " + *options.file + ": " + std::strerror(err));
      return err == ENOENT ? exit_code::kNotFound : exit_code::kDataError;
    }
  }
  if (!IsUtf8(code)) {
    context.console().Error("the actor's code is not UTF-8 text");
    return exit_code::kDataError;
  }
  Value::Pairs pairs = {
      {Str("name"), Str(options.name)}, {Str("code"), Str(code)}, {Str("class"), Str(options.class_name)}};
  if (const int rc = AddJsonArguments(context, options.args, options.kwargs, &pairs); rc != exit_code::kSuccess) {
    return rc;
  }
  if (options.worker) pairs.emplace_back(Str("worker"), Value::Int(*options.worker));
  if (options.restart) pairs.emplace_back(Str("restart"), Str(*options.restart));
  if (options.max_restarts) pairs.emplace_back(Str("max_restarts"), Value::Int(*options.max_restarts));
  if (options.memory_limit) pairs.emplace_back(Str("memory_limit"), Value::Int(*options.memory_limit));
  Value result;
  if (const int rc = context.Call("actor.spawn", Value::Dict(std::move(pairs)), &result); rc != exit_code::kSuccess) {
    return rc;
  }
  context.console().Out("spawned " + Cell(Member(result, "name")) + " on worker " + Cell(Member(result, "worker")) +
                        "\n");
  return exit_code::kSuccess;
}

int StopCommand(CommandContext& context, const std::string& name) {
  Value result;
  if (const int code = context.Call("actor.stop", Value::Dict({{Str("name"), Str(name)}}), &result);
      code != exit_code::kSuccess) {
    return code;
  }
  context.console().Out("stopped " + name + "\n");
  return exit_code::kSuccess;
}

}  // namespace interpd::clients
