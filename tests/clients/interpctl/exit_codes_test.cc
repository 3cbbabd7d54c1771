// Tests for clients/interpctl/exit_codes.h and RunCommand::ExitCodeForResult:
// the exit code table is a documented contract.
#include "exit_codes.h"

#include <catch2/catch.hpp>

#include "run_command.h"

namespace interpd::clients {
namespace {

Value S(std::string s) { return Value::Str(std::move(s)); }

TEST_CASE("every JSON-RPC error code maps to its documented exit code, and unknown codes to 70") {
  const std::vector<std::pair<int, int>> table = {
      {-32700, 76}, {-32600, 76}, {-32601, 76}, {-32602, 64}, {-32603, 70}, {-32000, 75}, {-32001, 75},
      {-32002, 66}, {-32003, 77}, {-32004, 64}, {-32010, 1},  {-32011, 124}, {-32012, 1}, {-32099, 70},
      {0, 70},      {1, 70},
  };
  for (const auto& [code, exit] : table) {
    INFO("JSON-RPC code " << code);
    CHECK(ExitCodeForRpcError(code) == exit);
  }
}

TEST_CASE("sys.exit codes keep their low 8 bits, as a python3 process would exit") {
  CHECK(ExitCodeForSystemExit(0) == 0);
  CHECK(ExitCodeForSystemExit(3) == 3);
  CHECK(ExitCodeForSystemExit(255) == 255);
  CHECK(ExitCodeForSystemExit(256) == 0);
  CHECK(ExitCodeForSystemExit(-1) == 255);
}

TEST_CASE("a run result's status decides the exit code, and a cancel after a signal is 128 plus the signal") {
  auto result = [](std::string status, Value exit_code = Value()) {
    return Value::Dict({{S("status"), S(std::move(status))}, {S("exit_code"), exit_code}});
  };
  std::string problem;
  CHECK(RunCommand::ExitCodeForResult(result("ok"), 0, &problem) == 0);
  CHECK(RunCommand::ExitCodeForResult(result("error"), 0, &problem) == 1);
  CHECK(RunCommand::ExitCodeForResult(result("exit", Value::Int(7)), 0, &problem) == 7);
  CHECK(RunCommand::ExitCodeForResult(result("timeout"), 0, &problem) == 124);
  CHECK(RunCommand::ExitCodeForResult(result("cancelled"), 2, &problem) == 130);
  CHECK(RunCommand::ExitCodeForResult(result("cancelled"), 15, &problem) == 143);
  // Cancelled by the daemon, not by us: retry later.
  CHECK(RunCommand::ExitCodeForResult(result("cancelled"), 0, &problem) == 75);
  // A run that finished before the cancel took effect keeps its own code.
  CHECK(RunCommand::ExitCodeForResult(result("ok"), 2, &problem) == 0);
}

TEST_CASE("a run result that breaks the protocol is reported, not guessed at") {
  std::string problem;
  CHECK(RunCommand::ExitCodeForResult(Value::Dict({}), 0, &problem) == -1);
  CHECK_THAT(problem, Catch::Contains("status"));
  CHECK(RunCommand::ExitCodeForResult(Value::Dict({{S("status"), S("exit")}}), 0, &problem) == -1);
  CHECK_THAT(problem, Catch::Contains("exit_code"));
  CHECK(RunCommand::ExitCodeForResult(Value::Dict({{S("status"), S("paused")}}), 0, &problem) == -1);
  CHECK_THAT(problem, Catch::Contains("paused"));
}

TEST_CASE("the help text lists every exit code interpctl can return") {
  const std::string help = ExitCodesHelp();
  for (int code : {0, 1, 2, 64, 65, 66, 69, 70, 75, 76, 77, 124, 130}) {
    INFO(code);
    CHECK_THAT(help, Catch::Contains("  " + std::to_string(code) + " "));
  }
}

}  // namespace
}  // namespace interpd::clients
