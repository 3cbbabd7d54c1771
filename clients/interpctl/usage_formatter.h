// UsageFormatter: CLI11's help formatter with hand-written usage lines for
// the subcommands whose operands CLI11 cannot describe (they take raw
// words after the first operand: run FILE ARGS..., call ACTOR METHOD ARGS...).
// CLI11 2.1 has no per-command usage setting, hence this small subclass.
//
// Thread safety: set up before parsing, then read-only.
//
// Invariants:
//   1. A command without a registered usage line gets CLI11's own.
#ifndef INTERPD_CLIENTS_INTERPCTL_USAGE_FORMATTER_H_
#define INTERPD_CLIENTS_INTERPCTL_USAGE_FORMATTER_H_

#include <CLI/CLI.hpp>

#include <map>
#include <string>

namespace interpd::clients {

class UsageFormatter : public CLI::Formatter {
 public:
  // `usage` follows "Usage: ", e.g. "interpctl run [OPTIONS] FILE [ARGS...]".
  void SetUsage(const CLI::App* app, std::string usage) { usages_[app] = std::move(usage); }
  // The registered usage of `app`, or its name.
  std::string UsageOf(const CLI::App* app) const;

  std::string make_usage(const CLI::App* app, std::string name) const override;

 private:
  std::map<const CLI::App*, std::string> usages_;
};

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_USAGE_FORMATTER_H_
