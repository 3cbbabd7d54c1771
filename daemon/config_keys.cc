#include "daemon/config_keys.h"

#include <sys/un.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

namespace interpd::daemon {
namespace {

using Reason = std::optional<std::string>;

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr std::uint64_t kKiB = std::uint64_t{1} << 10;
constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
constexpr std::uint64_t kTiB = std::uint64_t{1} << 40;

// Longest path bind() takes for an AF_UNIX socket: sun_path minus its NUL.
constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;

std::string ExpectedGot(std::string_view expected, const toml::node& value) {
  std::string out = "expected ";
  out += expected;
  out += ", got ";
  out += ConfigKeys::TypeName(value.type());
  return out;
}

std::string WithNote(std::string text, std::string_view note) {
  if (!note.empty()) {
    text += " (";
    text += note;
    text += ")";
  }
  return text;
}

std::string Between(std::string_view lo, std::string_view hi, std::string_view unit,
                    std::string_view note) {
  std::string out = "must be between ";
  out += lo;
  out += " and ";
  out += hi;
  out += unit;
  return WithNote(std::move(out), note);
}

bool HasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// --- Builders, one per kind of value. `access` is a generic lambda
// `[](auto& c) -> auto& { return c.section.field; }`, so the same accessor
// serves the const (render) and mutable (set, copy) uses.

template <typename Access>
ConfigKey Key(std::string_view section, std::string_view name, bool reloadable, Access access) {
  ConfigKey key;
  key.section = section;
  key.name = name;
  key.reloadable = reloadable;
  key.copy = [access](const Config& from, Config& to) { access(to) = access(from); };
  return key;
}

template <typename Access>
ConfigKey UIntKey(std::string_view section, std::string_view name, bool reloadable,
                  Access access, std::int64_t lo, std::int64_t hi, std::string_view note = {}) {
  ConfigKey key = Key(section, name, reloadable, access);
  key.set = [=](const toml::node& value, Config& config) -> Reason {
    const auto* integer = value.as_integer();
    if (integer == nullptr) return ExpectedGot("an integer", value);
    const std::int64_t v = integer->get();
    if (v < lo || v > hi) return Between(std::to_string(lo), std::to_string(hi), "", note);
    using Field = std::remove_reference_t<decltype(access(config))>;
    access(config) = static_cast<Field>(v);
    return std::nullopt;
  };
  key.render = [access](const Config& config) { return std::to_string(access(config)); };
  return key;
}

template <typename Access>
ConfigKey SizeKey(std::string_view section, std::string_view name, bool reloadable,
                  Access access, std::uint64_t lo, std::uint64_t hi) {
  ConfigKey key = Key(section, name, reloadable, access);
  key.set = [=](const toml::node& value, Config& config) -> Reason {
    std::uint64_t bytes = 0;
    if (const auto* integer = value.as_integer()) {
      if (integer->get() < 0) return Between(ConfigKeys::FormatSize(lo), ConfigKeys::FormatSize(hi), "", "");
      bytes = static_cast<std::uint64_t>(integer->get());
    } else if (const auto* text = value.as_string()) {
      auto parsed = ConfigKeys::ParseSize(text->get());
      if (!parsed) {
        return "not a size: write a number of bytes or a string such as \"64MiB\" "
               "(units B, KiB, MiB, GiB, TiB; powers of 1024)";
      }
      bytes = *parsed;
    } else {
      return ExpectedGot("a size (a number of bytes, or a string such as \"64MiB\")", value);
    }
    if (bytes < lo || bytes > hi) {
      return Between(ConfigKeys::FormatSize(lo), ConfigKeys::FormatSize(hi), "", "");
    }
    access(config) = bytes;
    return std::nullopt;
  };
  key.render = [access](const Config& config) {
    return ConfigKeys::Quote(ConfigKeys::FormatSize(access(config)));
  };
  return key;
}

// A size where 0 means "none": 0, or a size within [lo, hi]. Zero is
// written as the plain number 0 (a "0B" would read as a tiny limit).
template <typename Access>
ConfigKey OptionalSizeKey(std::string_view section, std::string_view name, bool reloadable, Access access,
                          std::uint64_t lo, std::uint64_t hi, std::string_view zero_means) {
  ConfigKey key = SizeKey(section, name, reloadable, access, 0, hi);
  auto parse = key.set;
  key.set = [=](const toml::node& value, Config& config) -> Reason {
    Config scratch = config;
    if (auto why = parse(value, scratch)) return why;
    const std::uint64_t bytes = access(scratch);
    if (bytes != 0 && bytes < lo) {
      return "must be 0 (" + std::string(zero_means) + ") or between " + ConfigKeys::FormatSize(lo) + " and " +
             ConfigKeys::FormatSize(hi);
    }
    access(config) = bytes;
    return std::nullopt;
  };
  key.render = [access](const Config& config) {
    const std::uint64_t bytes = access(config);
    return bytes == 0 ? std::string("0") : ConfigKeys::Quote(ConfigKeys::FormatSize(bytes));
  };
  return key;
}

// Durations: a number of seconds, integer or float, within [lo_s, hi_s].
// The bounds stay below 2^53 ns (104 days), so the seconds -> nanoseconds
// conversion through a double is exact to the nanosecond and Render() can
// write the value back without loss (invariant 2).
template <typename Access>
ConfigKey SecondsKey(std::string_view section, std::string_view name, bool reloadable,
                     Access access, double lo_s, double hi_s, std::string_view note = {}) {
  ConfigKey key = Key(section, name, reloadable, access);
  key.set = [=](const toml::node& value, Config& config) -> Reason {
    double seconds = 0;
    if (const auto* integer = value.as_integer()) {
      seconds = static_cast<double>(integer->get());
    } else if (const auto* floating = value.as_floating_point()) {
      seconds = floating->get();
    } else {
      return ExpectedGot("a number of seconds", value);
    }
    if (!std::isfinite(seconds) || seconds < lo_s || seconds > hi_s) {
      return Between(ConfigKeys::FormatSeconds(Duration(std::llround(lo_s * kNanosPerSecond))),
                     ConfigKeys::FormatSeconds(Duration(std::llround(hi_s * kNanosPerSecond))),
                     " seconds", note);
    }
    access(config) = Duration(std::llround(seconds * static_cast<double>(kNanosPerSecond)));
    return std::nullopt;
  };
  key.render = [access](const Config& config) { return ConfigKeys::FormatSeconds(access(config)); };
  return key;
}

using TextCheck = Reason (*)(std::string_view);

template <typename Access>
ConfigKey StringKey(std::string_view section, std::string_view name, bool reloadable,
                    Access access, TextCheck check) {
  ConfigKey key = Key(section, name, reloadable, access);
  key.takes_plain_text = true;
  key.set = [=](const toml::node& value, Config& config) -> Reason {
    const auto* text = value.as_string();
    if (text == nullptr) return ExpectedGot("a string", value);
    if (auto why = check(text->get())) return why;
    access(config) = text->get();
    return std::nullopt;
  };
  key.render = [access](const Config& config) { return ConfigKeys::Quote(access(config)); };
  return key;
}

// A list of strings, each checked by `check`. With `integers_as_text`,
// integer entries are accepted and kept as their decimal text: uids and gids
// are numbers, and `allow_users = [1000]` should not be a type error.
template <typename Access>
ConfigKey ListKey(std::string_view section, std::string_view name, bool reloadable,
                  Access access, TextCheck check, bool integers_as_text) {
  const std::string_view expected =
      integers_as_text ? "a list of names or numeric ids" : "a list of strings";
  ConfigKey key = Key(section, name, reloadable, access);
  key.set = [=](const toml::node& value, Config& config) -> Reason {
    const auto* array = value.as_array();
    if (array == nullptr) return ExpectedGot(expected, value);
    std::vector<std::string> items;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& item = *array->get(i);
      auto where = [&] { return "entry " + std::to_string(i + 1) + " (" + ConfigKeys::Literal(item) + ")"; };
      std::string text;
      if (const auto* s = item.as_string()) {
        text = s->get();
      } else if (const auto* n = item.as_integer(); n != nullptr && integers_as_text) {
        text = std::to_string(n->get());
      } else {
        return where() + ": " + ExpectedGot(integers_as_text ? "a name or a numeric id" : "a string", item);
      }
      if (auto why = check(text)) return where() + ": " + *why;
      items.push_back(std::move(text));
    }
    access(config) = std::move(items);
    return std::nullopt;
  };
  key.render = [access](const Config& config) {
    std::string out = "[";
    for (const std::string& item : access(config)) {
      if (out.size() > 1) out += ", ";
      out += ConfigKeys::Quote(item);
    }
    return out + "]";
  };
  return key;
}

template <typename Access>
ConfigKey BoolKey(std::string_view section, std::string_view name, bool reloadable, Access access) {
  ConfigKey key = Key(section, name, reloadable, access);
  key.set = [=](const toml::node& value, Config& config) -> Reason {
    const auto* b = value.as_boolean();
    if (b == nullptr) return ExpectedGot("a boolean (true or false)", value);
    access(config) = b->get();
    return std::nullopt;
  };
  key.render = [access](const Config& config) { return std::string(access(config) ? "true" : "false"); };
  return key;
}

// An enumeration written as one of a fixed set of names.
template <typename Enum, std::size_t N, typename Access>
ConfigKey EnumKey(std::string_view section, std::string_view name, bool reloadable, Access access,
                  const std::array<std::string_view, N>& names,
                  std::optional<Enum> (*parse)(std::string_view), std::string_view (*print)(Enum)) {
  ConfigKey key = Key(section, name, reloadable, access);
  key.takes_plain_text = true;
  key.set = [=](const toml::node& value, Config& config) -> Reason {
    const auto* text = value.as_string();
    if (text == nullptr) return ExpectedGot("a string", value);
    if (auto parsed = parse(text->get())) {
      access(config) = *parsed;
      return std::nullopt;
    }
    std::string why = "must be one of ";
    for (std::size_t i = 0; i < N; ++i) {
      if (i > 0) why += ", ";
      why += ConfigKeys::Quote(names[i]);
    }
    if (auto close = ConfigKeys::ClosestMatch(text->get(), names)) {
      why += "; did you mean " + ConfigKeys::Quote(*close) + "?";
    }
    return why;
  };
  key.render = [access, print](const Config& config) { return ConfigKeys::Quote(print(access(config))); };
  return key;
}

template <typename Access>
ConfigKey ModeKey(std::string_view section, std::string_view name, bool reloadable, Access access) {
  ConfigKey key = Key(section, name, reloadable, access);
  key.takes_plain_text = true;
  key.set = [=](const toml::node& value, Config& config) -> Reason {
    const auto* text = value.as_string();
    if (text == nullptr) {
      // A bare 0660 is not valid TOML and 660 is decimal; a quoted string is
      // the only spelling that cannot be misread.
      return ExpectedGot("an octal string such as \"0660\" (quoted)", value);
    }
    auto mode = ConfigKeys::ParseMode(text->get());
    if (!mode) {
      return "not a mode: write 3 or 4 octal digits such as \"0660\", permission bits only "
             "(no setuid, setgid or sticky bit)";
    }
    access(config) = *mode;
    return std::nullopt;
  };
  key.render = [access](const Config& config) { return ConfigKeys::Quote(ConfigKeys::FormatMode(access(config))); };
  return key;
}

// --- Checks on text values.

Reason CheckSocketPath(std::string_view path) {
  if (path.empty()) return std::nullopt;  // "" = the default location
  if (HasNul(path)) return "must not contain a NUL character";
  if (path.back() == '/') return "must name a file, not a directory (it ends with '/')";
  if (path.size() > kMaxSocketPath) {
    return "is " + std::to_string(path.size()) + " bytes long; a Unix socket path holds at most " +
           std::to_string(kMaxSocketPath);
  }
  return std::nullopt;
}

Reason CheckHttpListen(std::string_view text) {
  if (text.empty()) return std::nullopt;  // off
  if (ParseHttpListen(text)) return std::nullopt;
  return "must be \"\" (off) or \"ADDRESS:PORT\" with a numeric IPv4 address or a bracketed IPv6 "
         "address and a port from 1 to 65535, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\"";
}

// User and group entries: a numeric id, or a name as useradd(8) and
// systemd-sysusers accept (letters, digits, '_', '.', '-', a trailing '$' for
// machine accounts; not starting with '-' or a digit, so it can never be
// mistaken for an option or an id). Whether the name exists is checked by the
// server when it starts, not here.
Reason CheckAccountName(std::string_view text, std::string_view id_kind) {
  if (text.empty()) return "must not be empty";
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    // (uid_t)-1 means "no change" to chown(2) and is never a real account.
    if (ec != std::errc() || end != text.data() + text.size() || id >= 0xFFFFFFFFu) {
      return "is not a valid " + std::string(id_kind) + " (numeric ids go up to 4294967294)";
    }
    return std::nullopt;
  }
  const char first = text.front();
  const bool first_ok = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_';
  std::string_view body = text;
  if (body.back() == '$') body.remove_suffix(1);
  const bool rest_ok = std::all_of(body.begin(), body.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
  if (!first_ok || !rest_ok || text.size() > 256) {
    return "is neither a numeric " + std::string(id_kind) +
           " nor a valid name (letters, digits, '_', '.', '-'; starting with a letter or '_')";
  }
  return std::nullopt;
}

Reason CheckUser(std::string_view text) { return CheckAccountName(text, "uid"); }
Reason CheckGroup(std::string_view text) { return CheckAccountName(text, "gid"); }

Reason CheckPythonHome(std::string_view text) {
  if (text.empty()) return std::nullopt;  // "" = the build-time prefix
  if (HasNul(text)) return "must not contain a NUL character";
  if (text.front() != '/') return "must be an absolute path (or \"\" for the build-time prefix)";
  return std::nullopt;
}

// Relative sys.path entries would resolve against the daemon's working
// directory, which is "/" under systemd: never what the author meant.
Reason CheckPythonPathEntry(std::string_view text) {
  if (HasNul(text)) return "must not contain a NUL character";
  if (text.empty() || text.front() != '/') return "must be an absolute path";
  return std::nullopt;
}

constexpr std::array<std::string_view, 7> kLogLevelNames = {"trace", "debug", "info", "warn",
                                                            "error", "critical", "off"};
constexpr std::array<std::string_view, 3> kLogTargetNames = {"auto", "stderr", "journal"};
constexpr std::array<std::string_view, 3> kLaneNames = {"isolated", "compat", "auto"};

constexpr std::array<std::string_view, 9> kSections = {"server", "workers", "tasks",  "limits", "recycle",
                                                        "policy", "actors",  "python", "log"};
// Sections a later version will fill, refused by name meanwhile (none now:
// [actors], [limits], [recycle] and [policy] all have keys).
constexpr std::array<std::string_view, 0> kReservedSections = {};

constexpr bool kReload = true;
constexpr bool kRestart = false;

std::vector<ConfigKey> BuildTable() {
  std::vector<ConfigKey> keys;
  // [server]
  keys.push_back(StringKey("server", "socket", kRestart,
                           [](auto& c) -> auto& { return c.server.socket; }, CheckSocketPath));
  keys.push_back(ModeKey("server", "socket_mode", kRestart, [](auto& c) -> auto& { return c.server.socket_mode; }));
  keys.push_back(ListKey("server", "allow_users", kReload,
                         [](auto& c) -> auto& { return c.server.allow_users; }, CheckUser, true));
  keys.push_back(ListKey("server", "allow_groups", kReload,
                         [](auto& c) -> auto& { return c.server.allow_groups; }, CheckGroup, true));
  keys.push_back(UIntKey("server", "max_connections", kReload,
                         [](auto& c) -> auto& { return c.server.max_connections; }, 1, 1'000'000));
  keys.push_back(UIntKey("server", "max_in_flight_per_connection", kReload,
                         [](auto& c) -> auto& { return c.server.max_in_flight_per_connection; }, 1, 1'000'000));
  keys.push_back(SizeKey("server", "max_frame_bytes", kReload,
                         [](auto& c) -> auto& { return c.server.max_frame_bytes; }, kKiB, kGiB));
  keys.push_back(UIntKey("server", "max_json_depth", kReload,
                         [](auto& c) -> auto& { return c.server.max_json_depth; }, 1, 10'000));
  keys.push_back(UIntKey("server", "max_batch", kReload,
                         [](auto& c) -> auto& { return c.server.max_batch; }, 1, 1'000'000));
  keys.push_back(SecondsKey("server", "shutdown_grace", kReload,
                            [](auto& c) -> auto& { return c.server.shutdown_grace; }, 0, 3600));
  keys.push_back(StringKey("server", "http_listen", kRestart,
                           [](auto& c) -> auto& { return c.server.http_listen; }, CheckHttpListen));
  keys.push_back(BoolKey("server", "http_allow_remote", kRestart,
                         [](auto& c) -> auto& { return c.server.http_allow_remote; }));
  keys.push_back(SecondsKey("server", "http_idle_timeout", kReload,
                            [](auto& c) -> auto& { return c.server.http_idle_timeout; }, 1, 86400));
  // [workers]
  keys.push_back(UIntKey("workers", "count", kRestart, [](auto& c) -> auto& { return c.workers.count; }, 0,
                         1024, "0 = number of CPUs"));
  keys.push_back(UIntKey("workers", "queue_limit", kReload,
                         [](auto& c) -> auto& { return c.workers.queue_limit; }, 1, 100'000'000));
  keys.push_back(UIntKey("workers", "idle_spin_us", kRestart,
                         [](auto& c) -> auto& { return c.workers.idle_spin_us; }, 0, 10'000,
                         "0 = park at once"));
  keys.push_back(SecondsKey("workers", "interrupt_grace", kReload,
                            [](auto& c) -> auto& { return c.workers.interrupt_grace; }, 0.01, 600));
  keys.push_back(UIntKey("workers", "compat_count", kRestart, [](auto& c) -> auto& { return c.workers.compat_count; },
                         0, 1024, "0 = no compat lane"));
  keys.push_back(UIntKey("workers", "fresh_spares", kRestart, [](auto& c) -> auto& { return c.workers.fresh_spares; },
                         0, 1024, "0 = fresh runs are refused"));
  // [tasks]
  keys.push_back(SecondsKey("tasks", "default_timeout", kReload,
                            [](auto& c) -> auto& { return c.tasks.default_timeout; }, 0, 2'592'000,
                            "0 = none"));
  keys.push_back(SecondsKey("tasks", "max_timeout", kReload,
                            [](auto& c) -> auto& { return c.tasks.max_timeout; }, 0, 2'592'000, "0 = none"));
  keys.push_back(SizeKey("tasks", "output_limit", kReload,
                         [](auto& c) -> auto& { return c.tasks.output_limit; }, kKiB, kGiB));
  keys.push_back(UIntKey("tasks", "code_cache_entries", kRestart,
                         [](auto& c) -> auto& { return c.tasks.code_cache_entries; }, 0, 1'000'000,
                         "0 = no cache"));
  keys.push_back(EnumKey<LaneChoice>("tasks", "default_lane", kReload,
                                     [](auto& c) -> auto& { return c.tasks.default_lane; }, kLaneNames,
                                     ParseLaneChoice, LaneChoiceName));
  // [limits]
  keys.push_back(OptionalSizeKey("limits", "memory_limit", kReload,
                                 [](auto& c) -> auto& { return c.limits.memory_limit; }, kMiB, kTiB, "none"));
  keys.push_back(OptionalSizeKey("limits", "max_memory_limit", kReload,
                                 [](auto& c) -> auto& { return c.limits.max_memory_limit; }, kMiB, kTiB, "no cap"));
  keys.push_back(SecondsKey("limits", "cpu_seconds", kReload, [](auto& c) -> auto& { return c.limits.cpu_seconds; },
                            0, 2'592'000, "0 = none"));
  // [recycle]
  keys.push_back(UIntKey("recycle", "max_tasks", kRestart, [](auto& c) -> auto& { return c.recycle.max_tasks; }, 0,
                         1'000'000'000'000, "0 = never"));
  keys.push_back(OptionalSizeKey("recycle", "max_memory", kRestart,
                                 [](auto& c) -> auto& { return c.recycle.max_memory; }, kMiB, kTiB, "never"));
  keys.push_back(SecondsKey("recycle", "max_age", kRestart, [](auto& c) -> auto& { return c.recycle.max_age; }, 0,
                            7'776'000, "0 = never"));
  // [policy]
  keys.push_back(BoolKey("policy", "deny_subprocess", kReload,
                         [](auto& c) -> auto& { return c.policy.deny_subprocess; }));
  keys.push_back(BoolKey("policy", "deny_kill", kReload, [](auto& c) -> auto& { return c.policy.deny_kill; }));
  keys.push_back(BoolKey("policy", "deny_ctypes", kReload, [](auto& c) -> auto& { return c.policy.deny_ctypes; }));
  keys.push_back(BoolKey("policy", "deny_socket", kReload, [](auto& c) -> auto& { return c.policy.deny_socket; }));
  keys.push_back(BoolKey("policy", "restrict_writes", kReload,
                         [](auto& c) -> auto& { return c.policy.restrict_writes; }));
  keys.push_back(ListKey("policy", "write_paths", kReload, [](auto& c) -> auto& { return c.policy.write_paths; },
                         CheckPythonPathEntry, false));
  // [actors]
  keys.push_back(UIntKey("actors", "workers", kRestart, [](auto& c) -> auto& { return c.actors.workers; }, 0, 1024,
                         "0 = actors share the script workers"));
  keys.push_back(SecondsKey("actors", "call_timeout", kReload,
                            [](auto& c) -> auto& { return c.actors.call_timeout; }, 0, 2'592'000, "0 = none"));
  keys.push_back(UIntKey("actors", "max_restarts", kReload,
                         [](auto& c) -> auto& { return c.actors.max_restarts; }, 0, 1000));
  keys.push_back(SecondsKey("actors", "restart_window", kReload,
                            [](auto& c) -> auto& { return c.actors.restart_window; }, 1, 86'400));
  // [python]
  keys.push_back(StringKey("python", "home", kRestart, [](auto& c) -> auto& { return c.python.home; },
                           CheckPythonHome));
  keys.push_back(ListKey("python", "path", kRestart, [](auto& c) -> auto& { return c.python.path; },
                         CheckPythonPathEntry, false));
  keys.push_back(BoolKey("python", "site", kRestart, [](auto& c) -> auto& { return c.python.site; }));
  // [log]
  keys.push_back(EnumKey<LogLevel>("log", "level", kReload, [](auto& c) -> auto& { return c.log.level; },
                                   kLogLevelNames, ParseLogLevel, LogLevelName));
  keys.push_back(EnumKey<LogTarget>("log", "target", kRestart, [](auto& c) -> auto& { return c.log.target; },
                                    kLogTargetNames, ParseLogTarget, LogTargetName));
  return keys;
}

// Optimal string alignment distance, case-insensitive: the classic
// insert/delete/substitute edit distance plus swapping two neighbours
// ("cuont" -> "count") as one edit, which is the commonest typo.
std::size_t EditDistance(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(n, m);
}

}  // namespace

std::string ConfigKey::Dotted() const {
  std::string out(section);
  out += '.';
  out += name;
  return out;
}

const std::vector<ConfigKey>& ConfigKeys::All() {
  static const std::vector<ConfigKey> keys = BuildTable();
  return keys;
}

const ConfigKey* ConfigKeys::Find(std::string_view section, std::string_view name) {
  for (const ConfigKey& key : All()) {
    if (key.section == section && key.name == name) return &key;
  }
  return nullptr;
}

const ConfigKey* ConfigKeys::FindDotted(std::string_view dotted) {
  const std::size_t dot = dotted.find('.');
  if (dot == std::string_view::npos) return nullptr;
  return Find(dotted.substr(0, dot), dotted.substr(dot + 1));
}

std::span<const std::string_view> ConfigKeys::Sections() { return kSections; }
std::span<const std::string_view> ConfigKeys::ReservedSections() { return kReservedSections; }

std::optional<std::uint64_t> ConfigKeys::ParseSize(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc()) return std::nullopt;  // overflow
  std::string_view unit = text.substr(digits);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"", 1}, {"B", 1}, {"KiB", kKiB}, {"MiB", kMiB}, {"GiB", kGiB}, {"TiB", kTiB}};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    // "64 " (a space and no unit) is as suspicious as any other stray text.
    if (name.empty() && digits != text.size()) return std::nullopt;
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(number, factor, &bytes)) return std::nullopt;
    return bytes;
  }
  return std::nullopt;
}

std::string ConfigKeys::FormatSize(std::uint64_t bytes) {
  static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"TiB", kTiB}, {"GiB", kGiB}, {"MiB", kMiB}, {"KiB", kKiB}};
  for (const auto& [name, factor] : kUnits) {
    if (bytes != 0 && bytes % factor == 0) return std::to_string(bytes / factor) + std::string(name);
  }
  return std::to_string(bytes) + "B";
}

std::optional<std::uint32_t> ConfigKeys::ParseMode(std::string_view text) {
  if (text.size() == 4 && text.front() == '0') text.remove_prefix(1);
  if (text.size() != 3) return std::nullopt;
  std::uint32_t mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
  }
  return mode;
}

std::string ConfigKeys::FormatMode(std::uint32_t mode) {
  std::string out = "0000";
  for (int i = 3; i >= 1; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7u));
    mode >>= 3;
  }
  return out;
}

std::string ConfigKeys::FormatSeconds(Duration d) {
  const std::int64_t ns = d.count();
  std::string out = std::to_string(ns / kNanosPerSecond);
  std::int64_t fraction = ns % kNanosPerSecond;
  if (fraction == 0) return out;
  std::string digits = std::to_string(fraction);
  digits.insert(0, 9 - digits.size(), '0');
  while (digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

std::string ConfigKeys::Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          static constexpr char kHex[] = "0123456789ABCDEF";
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 15];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string ConfigKeys::Literal(const toml::node& value) {
  if (const auto* s = value.as_string()) return Quote(s->get());
  if (const auto* i = value.as_integer()) {
    // Keep the base it was written in: "0o660" in a message about a mode
    // says far more than "432". The base is a 2-bit field of the flags, not
    // one bit per base (hexadecimal is binary | octal).
    const std::int64_t v = i->get();
    const auto base_bits = i->flags() & (toml::value_flags::format_as_binary | toml::value_flags::format_as_octal |
                                          toml::value_flags::format_as_hexadecimal);
    static constexpr struct {
      toml::value_flags flag;
      int base;
      std::string_view prefix;
    } kBases[] = {{toml::value_flags::format_as_hexadecimal, 16, "0x"},
                  {toml::value_flags::format_as_octal, 8, "0o"},
                  {toml::value_flags::format_as_binary, 2, "0b"}};
    for (const auto& b : kBases) {
      if (v < 0 || base_bits != b.flag) continue;
      char buf[72];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, b.base);
      return std::string(b.prefix) + std::string(buf, end);
    }
    return std::to_string(v);
  }
  if (const auto* b = value.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* f = value.as_floating_point()) {
    const double v = f->get();
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    std::string out(buf, end);
    if (out.find_first_of(".e") == std::string::npos) out += ".0";
    return out;
  }
  if (const auto* a = value.as_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i > 0) out += ", ";
      out += Literal(*a->get(i));
    }
    return out + "]";
  }
  if (const auto* t = value.as_table()) {
    std::string out = "{";
    bool first = true;
    for (auto&& [k, v] : *t) {
      out += first ? " " : ", ";
      first = false;
      out += std::string(k.str()) + " = " + Literal(v);
    }
    return out + (first ? "}" : " }");
  }
  // Dates and times: TOML's own spelling is the clearest.
  std::ostringstream os;
  value.visit([&os](const auto& v) {
    if constexpr (toml::is_date<decltype(v)> || toml::is_time<decltype(v)> || toml::is_date_time<decltype(v)>) {
      os << v;
    }
  });
  return os.str();
}

std::string_view ConfigKeys::TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "an unknown type";
}

std::optional<std::string_view> ConfigKeys::ClosestMatch(std::string_view word,
                                                         std::span<const std::string_view> candidates) {
  const std::size_t allowed = std::max<std::size_t>(1, word.size() / 3);
  std::optional<std::string_view> best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view candidate : candidates) {
    const std::size_t distance = EditDistance(word, candidate);
    // A truncated or extended name ("warning" for "warn", "idle_spin" for
    // "idle_spin_us") is many edits away but plainly the same word.
    const std::size_t shorter = std::min(word.size(), candidate.size());
    const bool extends = shorter >= 3 && EditDistance(word.substr(0, shorter), candidate.substr(0, shorter)) == 0;
    if ((distance <= allowed || extends) && distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace interpd::daemon
