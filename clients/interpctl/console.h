// Console: interpctl's stdout and stderr, written unbuffered.
//
// A run's output is relayed chunk by chunk as the daemon streams it, to two
// descriptors that are often the same terminal or pipe. Writing each chunk
// straight to its descriptor (no stdio buffers) keeps stdout and stderr in
// the order the script produced them.
//
// Thread safety: none; used by the one thread that runs the command.
//
// Invariants:
//   1. Every byte handed to Out()/Err() is written before the call returns,
//      unless the descriptor fails (then the rest is dropped: a closed stdout
//      must not turn into a different exit code than the run's).
//   2. out_at_line_start() is true iff nothing was written to stdout yet or
//      the last byte written there was '\n'.
#ifndef INTERPD_CLIENTS_INTERPCTL_CONSOLE_H_
#define INTERPD_CLIENTS_INTERPCTL_CONSOLE_H_

#include <string_view>

namespace interpd::clients {

class Console {
 public:
  explicit Console(int out_fd = 1, int err_fd = 2) : out_fd_(out_fd), err_fd_(err_fd) {}

  void Out(std::string_view text);
  void Err(std::string_view text);

  // "interpctl: <message>\n", then each hint line indented, on stderr.
  void Error(std::string_view message, std::string_view hint = {});

  bool out_at_line_start() const { return out_at_line_start_; }
  // Whether stdout is a terminal (for choices that only matter to humans).
  bool out_is_tty() const;

 private:
  static void WriteAll(int fd, std::string_view text);

  const int out_fd_;
  const int err_fd_;
  bool out_at_line_start_ = true;  // invariant 2
};

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_CONSOLE_H_
