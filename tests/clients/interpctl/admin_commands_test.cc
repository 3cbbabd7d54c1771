// Tests for the formatting in clients/interpctl/admin_commands.h.
#include "admin_commands.h"

#include <catch2/catch.hpp>

namespace interpd::clients {
namespace {

Value S(std::string s) { return Value::Str(std::move(s)); }
Value I(int64_t i) { return Value::Int(i); }

TEST_CASE("durations read as seconds, minutes, hours or days") {
  CHECK(FormatDuration(0.04) == "0.0s");
  CHECK(FormatDuration(7.25) == "7.2s");
  CHECK(FormatDuration(61) == "1m 01s");
  CHECK(FormatDuration(7384) == "2h 03m 04s");
  CHECK(FormatDuration(3 * 86400 + 4 * 3600 + 5 * 60) == "3d 04h 05m");
  CHECK(FormatDuration(-1) == "-");
}

TEST_CASE("stats print a summary and one table row per worker") {
  const Value worker = Value::Dict({{S("id"), I(0)}, {S("state"), S("busy")}, {S("interpreter_id"), I(3)},
                                    {S("tasks_run"), I(12)}, {S("current_task"), I(40)},
                                    {S("cpu_seconds"), Value::Float(1.5)}, {S("replacements"), I(1)},
                                    {S("queued"), I(2)}, {S("code_cache_hits"), I(9)}, {S("code_cache_misses"), I(3)}});
  const Value stats = Value::Dict({
      {S("workers"), Value::List({worker})},
      {S("queues"), Value::Dict({{S("shared"), I(5)}, {S("pinned"), I(2)}})},
      {S("totals"), Value::Dict({{S("submitted"), I(20)}, {S("completed"), I(17)}, {S("timeouts"), I(1)},
                                 {S("cancelled"), I(0)}, {S("workers_replaced"), I(1)}, {S("stuck_threads"), I(0)}})},
      {S("connections"), Value::Dict({{S("open"), I(1)}, {S("total"), I(4)}, {S("refused_limit"), I(0)},
                                      {S("refused_peer"), I(0)}})},
      {S("uptime_seconds"), Value::Float(3725.0)},
      {S("version"), S("0.1.0")},
      {S("python"), S("3.13.0")},
  });
  const std::string text = FormatStats(stats);
  CHECK_THAT(text, Catch::StartsWith("interpd 0.1.0 on CPython 3.13.0, up 1h 02m 05s\n"));
  CHECK_THAT(text, Catch::Contains("tasks        20 submitted, 17 completed, 1 timed out, 0 cancelled\n"));
  CHECK_THAT(text, Catch::Contains("queued       5 for any worker, 2 pinned to a worker\n"));
  CHECK_THAT(text, Catch::Contains("WORKER  STATE  TASKS  CURRENT  QUEUED   CPU  INTERP  REPLACED  CACHE HIT/MISS\n"
                                   "     0  busy      12       40       2  1.5s       3         1             9/3\n"));
}

TEST_CASE("stats fields a daemon does not send print as a dash") {
  const std::string text = FormatStats(Value::Dict({{S("workers"), Value::List({Value::Dict({{S("id"), I(4)}})})}}));
  CHECK_THAT(text, Catch::StartsWith("interpd - on CPython -, up -\n"));
  CHECK_THAT(text, Catch::Contains("     4  -          -        -       -    -       -         -             -/-\n"));
}

}  // namespace
}  // namespace interpd::clients
