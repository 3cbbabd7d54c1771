// ConfigKeys: the one table of every configuration key.
//
// Each key knows its section and name, whether a SIGHUP applies it, how to
// read it from a TOML value (type and range checks included), how to write it
// back as a TOML literal, and how to copy it between configurations. Loading,
// printing (--check-config), Diff and ApplyReloadable all walk this table, so
// adding a key is one entry here plus a field in Config, and nothing can
// handle a key that another part does not know about.
//
// Thread safety: the table is built on first use (a function-local static,
// so thread-safe initialization) and immutable afterwards; every function here
// may be called from any thread.
//
// Invariants:
//   1. Entries appear in config/interpd.toml order: by section in Sections()
//      order, keys in the order the file documents them.
//   2. Render() of any value a Set() accepted parses back, through Set(), to
//      the same value (exact: sizes and durations are written without
//      rounding).
//   3. Set() leaves the Config untouched when it returns an error.
//   4. (section, name) pairs are unique.
#ifndef INTERPD_DAEMON_CONFIG_KEYS_H_
#define INTERPD_DAEMON_CONFIG_KEYS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "daemon/config.h"

namespace interpd::daemon {

struct ConfigKey {
  std::string_view section;
  std::string_view name;
  bool reloadable = false;
  // True if the value is text on the command line as it is in the file
  // (--set server.socket=/tmp/x needs no TOML quoting).
  bool takes_plain_text = false;

  // Stores `value` into `config`. Returns the reason it was refused
  // ("expected an integer, got a string", "must be between ...") and then
  // leaves `config` unchanged.
  std::function<std::optional<std::string>(const toml::node& value, Config& config)> set;
  // The value as a TOML literal: 30, "0660", "1MiB", ["a", "b"].
  std::function<std::string(const Config& config)> render;
  // to.<key> = from.<key>.
  std::function<void(const Config& from, Config& to)> copy;

  // "section.name", the form used in ConfigChange, --set and notes.
  std::string Dotted() const;
};

class ConfigKeys {
 public:
  ConfigKeys() = delete;

  static const std::vector<ConfigKey>& All();
  // nullptr if there is no such key.
  static const ConfigKey* Find(std::string_view section, std::string_view name);
  static const ConfigKey* FindDotted(std::string_view dotted);
  // The sections with keys, in file order.
  static std::span<const std::string_view> Sections();
  // Sections a later version will define ([actors], [limits], ...): refused
  // with a message saying so rather than as typos.
  static std::span<const std::string_view> ReservedSections();

  // Sizes: a TOML integer of bytes, or a string "<digits><unit>" with unit
  // B, KiB, MiB, GiB or TiB (powers of 1024; an optional space between).
  // Decimal units (MB) are refused on purpose: they are exactly what people
  // mistype for MiB. nullopt for anything else or on overflow.
  static std::optional<std::uint64_t> ParseSize(std::string_view text);
  // The largest exact unit: 1048576 -> "1MiB", 1000 -> "1000B".
  static std::string FormatSize(std::uint64_t bytes);
  // Modes: "660" or "0660", octal, permission bits only (<= 0777).
  static std::optional<std::uint32_t> ParseMode(std::string_view text);
  static std::string FormatMode(std::uint32_t mode);  // "0660"
  // Seconds, exactly: 30s -> "30", 1.5s -> "1.5", 1ns -> "0.000000001".
  static std::string FormatSeconds(Duration d);
  // A TOML basic string literal, escaped: a"b -> "a\"b".
  static std::string Quote(std::string_view text);
  // Any TOML value as a literal, for error messages (arrays and tables
  // inline, dates as TOML writes them).
  static std::string Literal(const toml::node& value);
  // "an integer", "a string", ... for a TOML node type.
  static std::string_view TypeName(toml::node_type type);

  // The candidate closest to `word` by edit distance (a swap of two
  // neighbours counts as one edit; case is ignored), if it is close enough
  // to be a typo of it: at most one edit per three characters (at least
  // one), or one word is the other cut short (3 characters or more).
  static std::optional<std::string_view> ClosestMatch(std::string_view word,
                                                      std::span<const std::string_view> candidates);
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_CONFIG_KEYS_H_
