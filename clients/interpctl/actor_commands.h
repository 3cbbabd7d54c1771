// The actor commands: actors, call, send, spawn, stop (PROTOCOL.md
// actor.list / actor.call / actor.send / actor.spawn / actor.stop).
//
// Arguments for the actor are given on the command line as JSON, one
// value per word: `interpctl call counter add 1 '"two"' '[3]'`. A word
// that is not JSON is refused with a hint (a bare word is not taken as a
// string: `01` or `true` would silently change meaning).
//
// A daemon without actors answers -32601; every command here reports that
// as "this daemon does not support actors yet" (CommandContext).
//
// Thread safety: none; one command on one thread.
#ifndef INTERPD_CLIENTS_INTERPCTL_ACTOR_COMMANDS_H_
#define INTERPD_CLIENTS_INTERPCTL_ACTOR_COMMANDS_H_

#include <optional>
#include <string>
#include <vector>

#include "command_context.h"
#include "interpd/value.h"

namespace interpd::clients {

// Parses each word as one JSON value into a list. On failure returns false
// and sets *why, naming the word.
bool ParseJsonArgs(const std::vector<std::string>& words, Value* list, std::string* why);
// Parses a JSON object (for --kwargs). On failure returns false with *why.
bool ParseJsonObject(const std::string& text, Value* object, std::string* why);

struct ActorCallOptions {
  std::string actor;
  std::string method;
  std::vector<std::string> args;       // JSON words
  std::optional<std::string> kwargs;   // a JSON object
  std::optional<double> timeout;       // seconds, enforced by the daemon (call only)
  bool quiet = false;                  // call: do not print the return value
};

struct SpawnOptions {
  std::string name;
  std::string class_name;
  std::optional<std::string> file;     // the module source; "-" = stdin
  std::optional<std::string> code;     // -c CODE instead of a file
  std::vector<std::string> args;       // JSON words for the constructor
  std::optional<std::string> kwargs;
  std::optional<int64_t> worker;
  std::optional<std::string> restart;  // "never" | "on-failure"
  std::optional<int64_t> max_restarts;
  std::optional<int64_t> memory_limit;  // bytes
};

// `actors`: a table, names only with `names_only`, or the raw list.
int ActorsCommand(CommandContext& context, bool json, bool names_only);
// `call`: prints the return value as JSON unless it is null or `quiet`.
int CallCommand(CommandContext& context, const ActorCallOptions& options);
// `send`: queues the message; prints nothing.
int SendCommand(CommandContext& context, const ActorCallOptions& options);
int SpawnCommand(CommandContext& context, const SpawnOptions& options);
int StopCommand(CommandContext& context, const std::string& name);

// The actor.list result as a table.
std::string FormatActors(const Value& actors);

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_ACTOR_COMMANDS_H_
