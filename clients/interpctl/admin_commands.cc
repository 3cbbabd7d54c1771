#include "admin_commands.h"

#include <cmath>
#include <cstdio>

#include "exit_codes.h"
#include "text_table.h"
#include "wire.h"

#ifndef INTERPD_VERSION
#error "INTERPD_VERSION must be defined by the build"
#endif

namespace interpd::clients {

namespace {

// A field as text: integers as digits, floats with `decimals`, strings as
// they are, anything else (missing, null) as "-".
std::string Text(const Value* v, int decimals = 2) {
  if (v == nullptr) return "-";
  switch (v->kind()) {
    case ValueKind::kInt:
      return std::to_string(v->as_int());
    case ValueKind::kBigInt:
      return BigIntToDecimal(v->big_int_bytes());
    case ValueKind::kFloat: {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.*f", decimals, v->as_float());
      return buf;
    }
    case ValueKind::kStr:
      return std::string(v->str());
    case ValueKind::kBool:
      return v->as_bool() ? "yes" : "no";
    default:
      return "-";
  }
}

// Member `path[0]`, then `path[1]` of that, and so on; nullptr when missing.
const Value* Path(const Value& root, std::initializer_list<std::string_view> path) {
  const Value* v = &root;
  for (auto key : path) {
    v = Member(*v, key);
    if (v == nullptr) return nullptr;
  }
  return v;
}

}  // namespace

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  char buf[64];
  if (seconds < 60) {
    std::snprintf(buf, sizeof(buf), "%.1fs", seconds);
    return buf;
  }
  const auto total = static_cast<long long>(seconds);
  const long long d = total / 86400, h = total / 3600 % 24, m = total / 60 % 60, s = total % 60;
  if (d > 0) {
    std::snprintf(buf, sizeof(buf), "%lldd %02lldh %02lldm", d, h, m);
  } else if (h > 0) {
    std::snprintf(buf, sizeof(buf), "%lldh %02lldm %02llds", h, m, s);
  } else {
    std::snprintf(buf, sizeof(buf), "%lldm %02llds", m, s);
  }
  return buf;
}

std::string FormatStats(const Value& stats) {
  std::string out;
  const Value* uptime = Member(stats, "uptime_seconds");
  out += "interpd " + Text(Member(stats, "version")) + " on CPython " + Text(Member(stats, "python")) + ", up " +
         (uptime != nullptr && uptime->kind() == ValueKind::kFloat ? FormatDuration(uptime->as_float()) : "-") + "\n";
  out += "connections  " + Text(Path(stats, {"connections", "open"})) + " open, " +
         Text(Path(stats, {"connections", "total"})) + " since start, " +
         Text(Path(stats, {"connections", "refused_limit"})) + " refused at the limit, " +
         Text(Path(stats, {"connections", "refused_peer"})) + " refused by peer rules\n";
  out += "tasks        " + Text(Path(stats, {"totals", "submitted"})) + " submitted, " +
         Text(Path(stats, {"totals", "completed"})) + " completed, " + Text(Path(stats, {"totals", "timeouts"})) +
         " timed out, " + Text(Path(stats, {"totals", "cancelled"})) + " cancelled\n";
  out += "queued       " + Text(Path(stats, {"queues", "shared"})) + " for any worker, " +
         Text(Path(stats, {"queues", "pinned"})) + " pinned to a worker\n";
  out += "replaced     " + Text(Path(stats, {"totals", "workers_replaced"})) + " workers, " +
         Text(Path(stats, {"totals", "stuck_threads"})) + " threads still stuck in C code\n";

  using Align = TextTable::Align;
  TextTable table({{"WORKER", Align::kRight},
                   {"STATE", Align::kLeft},
                   {"TASKS", Align::kRight},
                   {"CURRENT", Align::kRight},
                   {"QUEUED", Align::kRight},
                   {"CPU", Align::kRight},
                   {"INTERP", Align::kRight},
                   {"REPLACED", Align::kRight},
                   {"CACHE HIT/MISS", Align::kRight}});
  const Value* workers = Member(stats, "workers");
  if (workers != nullptr && workers->kind() == ValueKind::kList) {
    for (const Value& w : workers->items()) {
      const Value* cpu = Member(w, "cpu_seconds");
      table.AddRow({Text(Member(w, "id")), Text(Member(w, "state")), Text(Member(w, "tasks_run")),
                    Text(Member(w, "current_task")), Text(Member(w, "queued")),
                    cpu != nullptr && cpu->kind() == ValueKind::kFloat ? FormatDuration(cpu->as_float()) : "-",
                    Text(Member(w, "interpreter_id")), Text(Member(w, "replacements")),
                    Text(Member(w, "code_cache_hits")) + "/" + Text(Member(w, "code_cache_misses"))});
    }
  }
  out += "\n" + table.Render();
  return out;
}

int PingCommand(CommandContext& context) {
  const auto start = CommandContext::Clock::now();
  Value result;
  if (const int code = context.Call("ping", Value(), &result); code != exit_code::kSuccess) return code;
  const double ms = std::chrono::duration<double, std::milli>(CommandContext::Clock::now() - start).count();
  if (result.kind() != ValueKind::kStr || result.str() != "pong") {
    return context.ReportBadResult("ping", "is " + ToJsonText(result) + ", not \"pong\"");
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f", ms);
  context.console().Out("pong from " + context.socket().path + " in " + buf + " ms\n");
  return exit_code::kSuccess;
}

int VersionCommand(CommandContext& context, bool json) {
  if (!json) {
    context.console().Out("interpctl  " INTERPD_VERSION "  (protocol " + std::to_string(kProtocolVersion) + ")\n");
  }
  Value result;
  if (const int code = context.Call("version", Value(), &result); code != exit_code::kSuccess) return code;
  const Value* daemon = Member(result, "interpd");
  const Value* protocol = Member(result, "protocol");
  if (daemon == nullptr || daemon->kind() != ValueKind::kStr || protocol == nullptr ||
      protocol->kind() != ValueKind::kInt) {
    return context.ReportBadResult("version", "lacks \"interpd\" or \"protocol\"");
  }
  if (json) {
    context.console().Out(ToJsonText(result) + "\n");
  } else {
    context.console().Out("interpd    " + std::string(daemon->str()) + "  (CPython " + Text(Member(result, "python")) +
                          ", protocol " + std::to_string(protocol->as_int()) + ", at " + context.socket().path + ")\n");
  }
  if (protocol->as_int() != kProtocolVersion) {
    context.console().Error("the daemon speaks protocol " + std::to_string(protocol->as_int()) +
                            ", this interpctl speaks " + std::to_string(kProtocolVersion) +
                            ": some commands may fail");
  }
  return exit_code::kSuccess;
}

int StatsCommand(CommandContext& context, bool json) {
  Value result;
  if (const int code = context.Call("stats", Value(), &result); code != exit_code::kSuccess) return code;
  if (result.kind() != ValueKind::kDict) return context.ReportBadResult("stats", "is not an object");
  context.console().Out(json ? ToJsonText(result) + "\n" : FormatStats(result));
  return exit_code::kSuccess;
}

}  // namespace interpd::clients
