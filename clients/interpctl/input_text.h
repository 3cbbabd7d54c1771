// Input text: reading what the user hands interpctl (a script file, stdin,
// --stdin FILE) and checking it can travel as a JSON string.
//
// Thread safety: pure functions (ReadInput reads the file system).
#ifndef INTERPD_CLIENTS_INTERPCTL_INPUT_TEXT_H_
#define INTERPD_CLIENTS_INTERPCTL_INPUT_TEXT_H_

#include <string>
#include <string_view>

namespace interpd::clients {

// Appends the whole of `path` ("-": interpctl's standard input) to *out.
// Returns 0, or the errno of the failed open or read.
int ReadInput(const std::string& path, std::string* out);

// True when `text` is valid UTF-8, i.e. a JSON string can carry it as it
// is. (Python source, sys.stdin text and argv all reach the script as str.)
bool IsUtf8(std::string_view text);

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_INPUT_TEXT_H_
