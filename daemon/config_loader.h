// ConfigLoader: builds a Config from the built-in defaults, one TOML file and
// command-line overrides, and says exactly what is wrong when it cannot.
//
// Order of precedence, lowest first: the defaults (Config{}), the file, the
// overrides in the order given. The same ConfigSource is loaded again on
// SIGHUP, so flags given at start keep winning over the file after a reload
// (otherwise a reload would silently undo `--workers 8`, and Diff would
// report a restart-only change nobody made).
//
// Every problem is collected, not just the first: an operator fixing a file
// sees all of its mistakes in one `interpd --check-config` run. Each error
// names where (file and line, or the flag), the key, the value and the
// reason, e.g.
//   interpd.toml:4: [workers] count = -3: must be between 0 and 1024 (0 = number of CPUs)
// Unknown keys and sections are errors, with a "did you mean" when one is
// close, because a silently ignored typo is a setting that quietly does
// nothing.
//
// Thread safety: Load() and LoadText() are pure functions of their arguments
// (and of the file system for Load); they may run on any thread, concurrently.
//
// Invariants of a LoadResult:
//   1. ok() <=> errors is empty; `config` is meaningful only when ok(), and
//      then satisfies every invariant of config.h.
//   2. Errors from one file are in line order; override errors follow, in
//      the order the overrides were given; cross-key errors come last.
//   3. explicit_keys lists each key the file or an override set, once, in
//      ConfigKeys order.
#ifndef INTERPD_DAEMON_CONFIG_LOADER_H_
#define INTERPD_DAEMON_CONFIG_LOADER_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.h"

namespace interpd::daemon {

struct ConfigError {
  std::string source;   // the file path, or "command line (--workers)"
  int line = 0;         // 1-based line in `source`; 0 when there is none
  std::string key;      // "workers.count", "workers" for a section, "" if none
  std::string subject;  // "[workers] count = -3", "[sever]"; "" if none
  std::string reason;   // "must be between 0 and 1024 (0 = number of CPUs)"

  // "source[:line]: [subject: ]reason".
  std::string ToString() const;
};

// One setting from the command line: `--workers 8` is {"workers.count",
// "8", "--workers"}; `--set tasks.max_timeout=60` is {"tasks.max_timeout",
// "60", "--set"}.
struct ConfigOverride {
  std::string key;    // "section.name"
  std::string value;  // TOML value text; for string keys, plain text is fine
  std::string flag;   // the flag it came from, for error messages

  friend bool operator==(const ConfigOverride&, const ConfigOverride&) = default;
};

// Everything needed to build (and, on SIGHUP, rebuild) the configuration.
struct ConfigSource {
  std::string path;  // the TOML file; "" = none, built-in defaults
  std::vector<ConfigOverride> overrides;

  friend bool operator==(const ConfigSource&, const ConfigSource&) = default;
};

struct LoadResult {
  Config config;
  std::vector<ConfigError> errors;
  std::vector<std::string> explicit_keys;

  bool ok() const { return errors.empty(); }
  // Every error's ToString(), one per line (each ends with '\n').
  std::string ErrorText() const;
};

class ConfigLoader {
 public:
  // Reads source.path (if any), then applies source.overrides.
  static LoadResult Load(const ConfigSource& source);
  // As Load, with the file's contents given; `source_name` is what error
  // messages call it.
  static LoadResult LoadText(std::string_view toml_text, std::string_view source_name,
                             const std::vector<ConfigOverride>& overrides = {});

 private:
  ConfigLoader() = default;

  void MergeText(std::string_view toml_text, std::string_view source_name);
  void MergeOverride(const ConfigOverride& override_value);
  void CheckAcrossKeys();
  // Applies the overrides, then the checks across keys, and hands over.
  LoadResult Finish(const std::vector<ConfigOverride>& overrides);

  // Records that `dotted` now has a value from source:line.
  void NoteSet(const std::string& dotted, std::string source, int line);

  // All members belong to the one Load call that owns this object.
  Config config_;
  std::vector<ConfigError> errors_;
  struct Origin {
    std::string source;
    int line = 0;
  };
  std::map<std::string, Origin> origins_;  // dotted key -> where its value came from
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_CONFIG_LOADER_H_
