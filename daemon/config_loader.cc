#include "daemon/config_loader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include <toml++/toml.h>

#include "daemon/config_keys.h"

namespace interpd::daemon {
namespace {

// Reads a whole file; on failure returns nullopt and the reason in *why.
std::optional<std::string> ReadFile(const std::string& path, std::string* why) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      *why = std::strerror(errno);  // e.g. EISDIR for a directory
      close(fd);
      return std::nullopt;
    }
  }
  close(fd);
  return text;
}

int LineOf(const toml::source_region& region) { return static_cast<int>(region.begin.line); }

std::string SectionList() {
  std::string out;
  for (std::string_view s : ConfigKeys::Sections()) {
    if (!out.empty()) out += ", ";
    out += "[" + std::string(s) + "]";
  }
  return out;
}

// The sections that have a key called `name`, for "it belongs in [workers]".
std::vector<std::string_view> SectionsWithKey(std::string_view name) {
  std::vector<std::string_view> out;
  for (const ConfigKey& key : ConfigKeys::All()) {
    if (key.name == name) out.push_back(key.section);
  }
  return out;
}

std::vector<std::string_view> KeyNamesIn(std::string_view section) {
  std::vector<std::string_view> out;
  for (const ConfigKey& key : ConfigKeys::All()) {
    if (key.section == section) out.push_back(key.name);
  }
  return out;
}

std::string UnknownKeyReason(std::string_view section, std::string_view name) {
  const std::vector<std::string_view> names = KeyNamesIn(section);
  if (auto close = ConfigKeys::ClosestMatch(name, names)) {
    return "unknown key; did you mean " + std::string(*close) + "?";
  }
  const std::vector<std::string_view> elsewhere = SectionsWithKey(name);
  if (!elsewhere.empty()) {
    return "unknown key in [" + std::string(section) + "]; " + std::string(name) + " belongs in [" +
           std::string(elsewhere.front()) + "]";
  }
  std::string reason = "unknown key; [" + std::string(section) + "] has ";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) reason += i + 1 == names.size() ? " and " : ", ";
    reason += names[i];
  }
  return reason;
}

}  // namespace

std::string ConfigError::ToString() const {
  std::string out = source;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!subject.empty()) out += subject + ": ";
  return out + reason;
}

std::string LoadResult::ErrorText() const {
  std::string out;
  for (const ConfigError& error : errors) out += error.ToString() + "\n";
  return out;
}

LoadResult ConfigLoader::Load(const ConfigSource& source) {
  ConfigLoader loader;
  if (!source.path.empty()) {
    std::string why;
    if (auto text = ReadFile(source.path, &why)) {
      loader.MergeText(*text, source.path);
    } else {
      loader.errors_.push_back({source.path, 0, "", "", "cannot read the configuration file: " + why});
    }
  }
  return loader.Finish(source.overrides);
}

LoadResult ConfigLoader::LoadText(std::string_view toml_text, std::string_view source_name,
                                  const std::vector<ConfigOverride>& overrides) {
  ConfigLoader loader;
  loader.MergeText(toml_text, source_name);
  return loader.Finish(overrides);
}

void ConfigLoader::NoteSet(const std::string& dotted, std::string source, int line) {
  origins_[dotted] = Origin{std::move(source), line};
}

void ConfigLoader::MergeText(std::string_view toml_text, std::string_view source_name) {
  const std::string source(source_name);
  toml::table doc;
  try {
    doc = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    errors_.push_back({source, LineOf(e.source()), "", "",
                       "TOML syntax error at column " + std::to_string(e.source().begin.column) + ": " +
                           std::string(e.description())});
    return;
  }

  // toml::table iterates in key order, not file order; errors are sorted by
  // line at the end so they read top to bottom like the file.
  std::vector<ConfigError> found;
  for (auto&& [section_key, section_value] : doc) {
    const std::string section(section_key.str());
    const int section_line = LineOf(section_key.source());
    const auto sections = ConfigKeys::Sections();
    const bool known = std::find(sections.begin(), sections.end(), section) != sections.end();
    const toml::table* table = section_value.as_table();

    if (known && table == nullptr) {
      found.push_back({source, section_line, section, section,
                       "expected a table ([" + section + "]), got " +
                           std::string(ConfigKeys::TypeName(section_value.type()))});
      continue;
    }
    if (!known) {
      const auto& reserved = ConfigKeys::ReservedSections();
      std::string reason;
      std::string subject = table != nullptr ? "[" + section + "]" : section;
      if (table != nullptr && std::find(reserved.begin(), reserved.end(), section) != reserved.end()) {
        reason = "section reserved for a later version of interpd; it has no keys yet";
      } else if (table != nullptr) {
        reason = "unknown section";
        if (auto close = ConfigKeys::ClosestMatch(section, ConfigKeys::Sections())) {
          reason += "; did you mean [" + std::string(*close) + "]?";
        } else {
          reason += "; the sections are " + SectionList();
        }
      } else {
        // A key=value before any [section] header.
        const std::vector<std::string_view> homes = SectionsWithKey(section);
        reason = homes.empty() ? "unknown key at the top level; every key belongs in one of the sections " +
                                     SectionList()
                               : "keys belong in a section: did you mean [" + std::string(homes.front()) + "] " +
                                     section + "?";
      }
      found.push_back({source, section_line, section, std::move(subject), std::move(reason)});
      continue;
    }

    for (auto&& [name_key, value] : *table) {
      const std::string name(name_key.str());
      const int line = LineOf(name_key.source());
      const ConfigKey* key = ConfigKeys::Find(section, name);
      if (key == nullptr) {
        found.push_back({source, line, section + "." + name, "[" + section + "] " + name,
                         UnknownKeyReason(section, name)});
        continue;
      }
      if (auto why = key->set(value, config_)) {
        found.push_back({source, line, key->Dotted(), "[" + section + "] " + name + " = " + ConfigKeys::Literal(value),
                         std::move(*why)});
        continue;
      }
      NoteSet(key->Dotted(), source, line);
    }
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  for (ConfigError& e : found) errors_.push_back(std::move(e));
}

void ConfigLoader::MergeOverride(const ConfigOverride& o) {
  const std::string source = "command line (" + o.flag + ")";
  const ConfigKey* key = ConfigKeys::FindDotted(o.key);
  if (key == nullptr) {
    std::vector<std::string> dotted;
    for (const ConfigKey& k : ConfigKeys::All()) dotted.push_back(k.Dotted());
    std::vector<std::string_view> candidates(dotted.begin(), dotted.end());
    std::string reason = "unknown key (keys are written section.name, e.g. workers.count)";
    if (auto close = ConfigKeys::ClosestMatch(o.key, candidates)) {
      reason = "unknown key; did you mean " + std::string(*close) + "?";
    }
    errors_.push_back({source, 0, o.key, o.key, std::move(reason)});
    return;
  }

  // The value is read as TOML, so `--set python.path=["/a"]` works, except
  // that keys whose values are text take it as it stands: nobody should have
  // to write --socket '"/tmp/x.sock"'. Text that is not valid TOML is taken
  // as a string, so the key's own check reports a type error that names the
  // expected type instead of a TOML syntax error.
  const bool quoted = !o.value.empty() && (o.value.front() == '"' || o.value.front() == '\'');
  const std::string as_string = "v = " + ConfigKeys::Quote(o.value);
  std::optional<toml::table> doc;
  auto try_parse = [&](const std::string& text) {
    try {
      toml::table t = toml::parse(text, std::string_view("command line"));
      if (t.size() == 1 && t.contains("v")) doc = std::move(t);
    } catch (const toml::parse_error&) {
    }
  };
  if (key->takes_plain_text && !quoted) {
    try_parse(as_string);
  } else {
    try_parse("v = " + o.value);
    if (!doc) try_parse(as_string);
  }
  const std::string subject =
      "[" + std::string(key->section) + "] " + std::string(key->name) + " = " +
      (doc ? ConfigKeys::Literal(*doc->get("v")) : ConfigKeys::Quote(o.value));
  if (!doc) {
    // Only text that is not valid UTF-8 gets here: TOML strings must be.
    errors_.push_back({source, 0, key->Dotted(), subject, "not valid UTF-8"});
    return;
  }
  if (auto why = key->set(*doc->get("v"), config_)) {
    errors_.push_back({source, 0, key->Dotted(), subject, std::move(*why)});
    return;
  }
  NoteSet(key->Dotted(), source, 0);
}

void ConfigLoader::CheckAcrossKeys() {
  const TasksConfig& tasks = config_.tasks;
  if (tasks.default_timeout.count() != 0 && tasks.max_timeout.count() != 0 &&
      tasks.default_timeout > tasks.max_timeout) {
    // Blame default_timeout where it was set; if only max_timeout was set
    // (lowered below the default), blame that instead.
    std::string blamed = "tasks.default_timeout";
    if (!origins_.contains(blamed)) blamed = "tasks.max_timeout";
    const Origin origin = origins_.contains(blamed) ? origins_[blamed] : Origin{"defaults", 0};
    errors_.push_back({origin.source, origin.line, "tasks.default_timeout",
                       "[tasks] default_timeout = " + ConfigKeys::FormatSeconds(tasks.default_timeout),
                       "must not exceed [tasks] max_timeout = " + ConfigKeys::FormatSeconds(tasks.max_timeout) +
                           " (0 = none for either)"});
  }
  const ServerConfig& server = config_.server;
  if (auto http = ParseHttpListen(server.http_listen); http && !http->loopback && !server.http_allow_remote) {
    // HTTP clients are not identified (no SO_PEERCRED): an address other
    // hosts can reach lets anyone there run code as the daemon.
    const Origin origin =
        origins_.contains("server.http_listen") ? origins_["server.http_listen"] : Origin{"defaults", 0};
    errors_.push_back({origin.source, origin.line, "server.http_listen",
                       "[server] http_listen = " + ConfigKeys::Quote(server.http_listen),
                       "is not a loopback address, and HTTP clients are not authenticated: anyone who can "
                       "reach it could run code as the daemon; bind 127.0.0.1 or [::1], or set [server] "
                       "http_allow_remote = true to accept that"});
  }
  // Blames `key` where it was set, or `fallback` if only that one was.
  auto blame = [this](const std::string& key, const std::string& fallback, std::string subject, std::string why) {
    const std::string blamed = origins_.contains(key) || !origins_.contains(fallback) ? key : fallback;
    const Origin origin = origins_.contains(blamed) ? origins_[blamed] : Origin{"defaults", 0};
    errors_.push_back({origin.source, origin.line, key, std::move(subject), std::move(why)});
  };
  const LimitsConfig& limits = config_.limits;
  if (limits.memory_limit != 0 && limits.max_memory_limit != 0 && limits.memory_limit > limits.max_memory_limit) {
    blame("limits.memory_limit", "limits.max_memory_limit",
          "[limits] memory_limit = " + ConfigKeys::FormatSize(limits.memory_limit),
          "must not exceed [limits] max_memory_limit = " + ConfigKeys::FormatSize(limits.max_memory_limit) +
              " (0 = none for either)");
  }
  if (config_.tasks.default_lane != LaneChoice::kIsolated && config_.workers.compat_count == 0) {
    blame("tasks.default_lane", "workers.compat_count",
          "[tasks] default_lane = " + ConfigKeys::Quote(LaneChoiceName(config_.tasks.default_lane)),
          "needs [workers] compat_count > 0 (the compat lane has no workers)");
  }
}

LoadResult ConfigLoader::Finish(const std::vector<ConfigOverride>& overrides) {
  for (const ConfigOverride& o : overrides) MergeOverride(o);
  CheckAcrossKeys();
  LoadResult result;
  result.config = config_;
  result.errors = std::move(errors_);
  for (const ConfigKey& key : ConfigKeys::All()) {
    if (origins_.contains(key.Dotted())) result.explicit_keys.push_back(key.Dotted());
  }
  return result;
}

}  // namespace interpd::daemon
