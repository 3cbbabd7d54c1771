#include "input_text.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "interpd/protocol/json_writer.h"

namespace interpd::clients {

int ReadInput(const std::string& path, std::string* out) {
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[64 * 1024];
  int error = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;  // e.g. EISDIR for a directory
    break;
  }
  if (!is_stdin) ::close(fd);
  return error;
}

bool IsUtf8(std::string_view text) {
  // The writer's strict mode is exactly the check the request encoder will
  // apply; asking it keeps the two from disagreeing.
  std::string scratch;
  scratch.reserve(text.size() + 2);
  return protocol::AppendJsonString(text, &scratch);
}

}  // namespace interpd::clients
