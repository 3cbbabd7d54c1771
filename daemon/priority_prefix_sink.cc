#include "daemon/priority_prefix_sink.h"

#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

namespace interpd::daemon {

int PriorityPrefixSink::Priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return LOG_DEBUG;
    case spdlog::level::info: return LOG_INFO;
    case spdlog::level::warn: return LOG_WARNING;
    case spdlog::level::err: return LOG_ERR;
    case spdlog::level::critical: return LOG_CRIT;
    case spdlog::level::off:
    case spdlog::level::n_levels: break;
  }
  return LOG_INFO;
}

void PriorityPrefixSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  std::string_view text(formatted.data(), formatted.size());
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);

  const std::string prefix = "<" + std::to_string(Priority(msg.level)) + ">";
  std::string out;
  out.reserve(text.size() + prefix.size() + 1);
  for (;;) {
    const std::size_t nl = text.find('\n');
    out += prefix;
    out += text.substr(0, nl);
    out += '\n';
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }

  const char* p = out.data();
  std::size_t left = out.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n > 0) {
      p += n;
      left -= static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      // stderr is gone or full and non-blocking: there is nowhere left to
      // report it, and a logger must not take the daemon down. Drop the rest.
      return;
    }
  }
}

}  // namespace interpd::daemon
