// TempDir: a fresh directory under $TMPDIR (or /tmp) for one test, removed
// with everything in it when the object goes out of scope.
//
// Thread safety: one object per test; not shared.
//
// Invariants:
//   1. path() exists, is empty when constructed and is unique to this object.
#ifndef INTERPD_TESTS_DAEMON_TEMP_DIR_H_
#define INTERPD_TESTS_DAEMON_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace interpd::daemon::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/interpd-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `text` to path()/name and returns the full path.
  std::string Write(std::string_view name, std::string_view text) const {
    const std::string file = path_ + "/" + std::string(name);
    std::ofstream out(file, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + file);
    return file;
  }

 private:
  std::string path_;  // constant after construction
};

}  // namespace interpd::daemon::testing

#endif  // INTERPD_TESTS_DAEMON_TEMP_DIR_H_
