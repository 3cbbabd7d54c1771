#include "daemon/config.h"

#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include "daemon/config_keys.h"

#ifndef INTERPD_PYTHON_HOME
#error "INTERPD_PYTHON_HOME must be defined by the build (daemon/CMakeLists.txt)"
#endif

namespace interpd::daemon {
namespace {

constexpr std::array<std::pair<LogLevel, std::string_view>, 7> kLevels = {{
    {LogLevel::kTrace, "trace"},
    {LogLevel::kDebug, "debug"},
    {LogLevel::kInfo, "info"},
    {LogLevel::kWarn, "warn"},
    {LogLevel::kError, "error"},
    {LogLevel::kCritical, "critical"},
    {LogLevel::kOff, "off"},
}};

constexpr std::array<std::pair<LogTarget, std::string_view>, 3> kTargets = {{
    {LogTarget::kAuto, "auto"},
    {LogTarget::kStderr, "stderr"},
    {LogTarget::kJournal, "journal"},
}};

constexpr std::array<std::pair<LaneChoice, std::string_view>, 3> kLanes = {{
    {LaneChoice::kIsolated, "isolated"},
    {LaneChoice::kCompat, "compat"},
    {LaneChoice::kAuto, "auto"},
}};

// Lookups in the {value, name} tables above, both ways.
template <typename Enum, std::size_t N>
std::string_view NameOf(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "?";
}

template <typename Enum, std::size_t N>
std::optional<Enum> ValueOf(const std::array<std::pair<Enum, std::string_view>, N>& table, std::string_view name) {
  for (const auto& [value, n] : table) {
    if (n == name) return value;
  }
  return std::nullopt;
}

std::string Flatten(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

std::string JoinChanges(const std::vector<ConfigChange>& changes, bool reloadable) {
  std::string out;
  for (const ConfigChange& change : changes) {
    if (change.reloadable != reloadable) continue;
    if (!out.empty()) out += ", ";
    out += change.key + " " + change.old_value + " -> " + change.new_value;
  }
  return out;
}

}  // namespace

std::string_view LogLevelName(LogLevel level) { return NameOf(kLevels, level); }
std::optional<LogLevel> ParseLogLevel(std::string_view name) { return ValueOf(kLevels, name); }
std::string_view LogTargetName(LogTarget target) { return NameOf(kTargets, target); }
std::optional<LogTarget> ParseLogTarget(std::string_view name) { return ValueOf(kTargets, name); }
std::string_view LaneChoiceName(LaneChoice lane) { return NameOf(kLanes, lane); }
std::optional<LaneChoice> ParseLaneChoice(std::string_view name) { return ValueOf(kLanes, name); }

bool ConfigDiff::NeedsRestart() const { return !RestartKeys().empty(); }

std::vector<std::string> ConfigDiff::ReloadedKeys() const {
  std::vector<std::string> keys;
  for (const ConfigChange& change : changes) {
    if (change.reloadable) keys.push_back(change.key);
  }
  return keys;
}

std::vector<std::string> ConfigDiff::RestartKeys() const {
  std::vector<std::string> keys;
  for (const ConfigChange& change : changes) {
    if (!change.reloadable) keys.push_back(change.key);
  }
  return keys;
}

std::string ConfigDiff::Summary() const {
  if (changes.empty()) return "no changes";
  const std::string applied = JoinChanges(changes, true);
  const std::string restart = JoinChanges(changes, false);
  std::string out;
  if (!applied.empty()) out = "applied: " + applied;
  if (!restart.empty()) {
    if (!out.empty()) out += "; ";
    out += "needs a restart (not applied): " + restart;
  }
  return out;
}

std::string Config::ToToml(const std::map<std::string, std::string>& notes) const {
  std::string out;
  std::string_view section;
  for (const ConfigKey& key : ConfigKeys::All()) {
    if (key.section != section) {
      if (!section.empty()) out += "\n";
      section = key.section;
      out += "[" + std::string(section) + "]\n";
    }
    out += std::string(key.name) + " = " + key.render(*this);
    if (auto it = notes.find(key.Dotted()); it != notes.end()) out += "  # " + Flatten(it->second);
    out += "\n";
  }
  return out;
}

ConfigDiff Config::Diff(const Config& old_config, const Config& new_config) {
  ConfigDiff diff;
  for (const ConfigKey& key : ConfigKeys::All()) {
    std::string before = key.render(old_config);
    std::string after = key.render(new_config);
    if (before != after) {
      diff.changes.push_back({key.Dotted(), std::move(before), std::move(after), key.reloadable});
    }
  }
  return diff;
}

Config Config::ApplyReloadable(const Config& running, const Config& loaded) {
  Config out = running;
  for (const ConfigKey& key : ConfigKeys::All()) {
    if (key.reloadable) key.copy(loaded, out);
  }
  return out;
}

SocketPathEnvironment SocketPathEnvironment::FromProcess() {
  SocketPathEnvironment env;
  if (const char* v = std::getenv("XDG_RUNTIME_DIR")) env.xdg_runtime_dir = v;
  if (const char* v = std::getenv("RUNTIME_DIRECTORY")) env.runtime_directory = v;
  env.is_root = geteuid() == 0;
  return env;
}

std::string ResolveSocketPath(std::string_view configured, const SocketPathEnvironment& env) {
  if (!configured.empty()) return std::string(configured);
  // The XDG base directory spec says a relative value must be ignored.
  if (!env.xdg_runtime_dir.empty() && env.xdg_runtime_dir.front() == '/') {
    std::string dir = env.xdg_runtime_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (dir == "/") dir.clear();
    return dir + "/interpd/interpd.sock";
  }
  if (env.is_root || !env.runtime_directory.empty()) return "/run/interpd/interpd.sock";
  return "./run/interpd.sock";
}

std::optional<HttpListenAddress> ParseHttpListen(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
      port > 65535) {
    return std::nullopt;
  }
  HttpListenAddress out;
  out.port = static_cast<std::uint16_t>(port);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    out.address = std::string(host.substr(1, host.size() - 2));
    out.ipv6 = true;
    in6_addr a6;
    if (inet_pton(AF_INET6, out.address.c_str(), &a6) != 1) return std::nullopt;
    const in6_addr loopback6 = IN6ADDR_LOOPBACK_INIT;
    out.loopback = std::memcmp(&a6, &loopback6, sizeof a6) == 0 || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  } else {
    out.address = std::string(host);
    in_addr a4;
    if (inet_pton(AF_INET, out.address.c_str(), &a4) != 1) return std::nullopt;
    out.loopback = (ntohl(a4.s_addr) >> 24) == 127;
  }
  return out;
}

std::uint32_t ResolveWorkerCount(std::uint32_t configured) {
  if (configured != 0) return configured;
  unsigned cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = static_cast<unsigned>(CPU_COUNT(&set));
  if (cpus == 0) cpus = std::thread::hardware_concurrency();
  // The same ceiling [workers] count has, so "0" never means more workers
  // than an explicit setting could ask for.
  if (cpus > 1024) cpus = 1024;
  return cpus == 0 ? 1 : cpus;
}

std::string ResolvePythonHome(std::string_view configured) {
  if (!configured.empty()) return std::string(configured);
  return INTERPD_PYTHON_HOME;
}

}  // namespace interpd::daemon
