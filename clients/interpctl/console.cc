#include "console.h"

#include <errno.h>
#include <unistd.h>

#include <string>

namespace interpd::clients {

void Console::WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // invariant 1: drop the rest
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

void Console::Out(std::string_view text) {
  if (text.empty()) return;
  WriteAll(out_fd_, text);
  out_at_line_start_ = text.back() == '\n';
}

void Console::Err(std::string_view text) { WriteAll(err_fd_, text); }

void Console::Error(std::string_view message, std::string_view hint) {
  std::string text = "interpctl: ";
  text.append(message);
  text += '\n';
  // Each hint line is indented under the message, so a multi-line hint
  // reads as one block.
  while (!hint.empty()) {
    const size_t nl = hint.find('\n');
    text += "  ";
    text.append(hint.substr(0, nl));
    text += '\n';
    hint.remove_prefix(nl == std::string_view::npos ? hint.size() : nl + 1);
  }
  Err(text);
}

bool Console::out_is_tty() const { return ::isatty(out_fd_) == 1; }

}  // namespace interpd::clients
