// Tests for Logging and PriorityPrefixSink: the sd-daemon priority prefixes,
// run-time level changes, the cost of disabled levels, and how "auto" picks
// the journal.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/systemd_sink.h>

#include "daemon/logging.h"
#include "daemon/priority_prefix_sink.h"
#include "temp_dir.h"

namespace {

// An argument whose formatting is counted, to see whether a disabled log
// call formats its arguments.
struct Counted {
  int* formatted;
};

}  // namespace

template <>
struct fmt::formatter<Counted> : fmt::formatter<int> {
  auto format(const Counted& c, fmt::format_context& ctx) const {
    ++*c.formatted;
    return fmt::formatter<int>::format(*c.formatted, ctx);
  }
};

namespace interpd::daemon {
namespace {

using testing::TempDir;

// A file the sink writes to, read back whole.
class CaptureFile {
 public:
  explicit CaptureFile(const TempDir& dir) : path_(dir.path() + "/log") {
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd_ >= 0);
  }
  ~CaptureFile() { close(fd_); }
  CaptureFile(const CaptureFile&) = delete;
  CaptureFile& operator=(const CaptureFile&) = delete;

  int fd() const { return fd_; }
  std::string Read() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// Sets or unsets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string DevIno(int fd) {
  struct stat st;
  REQUIRE(fstat(fd, &st) == 0);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST_CASE("Each level gets its sd-daemon priority prefix and the logger name", "[logging]") {
  TempDir dir;
  CaptureFile file(dir);
  auto logger = Logging::Create(std::make_shared<PriorityPrefixSink>(file.fd()), LogLevel::kTrace);
  logger->trace("t {}", 1);
  logger->debug("d {}", 2);
  logger->info("i {}", 3);
  logger->warn("w {}", 4);
  logger->error("e {}", 5);
  logger->critical("c {}", 6);
  CHECK(file.Read() ==
        "<7>interpd: [trace] t 1\n"
        "<7>interpd: [debug] d 2\n"
        "<6>interpd: [info] i 3\n"
        "<4>interpd: [warning] w 4\n"
        "<3>interpd: [error] e 5\n"
        "<2>interpd: [critical] c 6\n");
}

TEST_CASE("Every line of a multi-line message carries the priority", "[logging]") {
  TempDir dir;
  CaptureFile file(dir);
  auto logger = Logging::Create(std::make_shared<PriorityPrefixSink>(file.fd()), LogLevel::kInfo);
  logger->error("Traceback (most recent call last):\n  File \"x.py\", line 1\nZeroDivisionError: division by zero");
  CHECK(file.Read() ==
        "<3>interpd: [error] Traceback (most recent call last):\n"
        "<3>  File \"x.py\", line 1\n"
        "<3>ZeroDivisionError: division by zero\n");
}

TEST_CASE("The level can be changed while the daemon runs", "[logging]") {
  std::ostringstream out;
  auto logger = Logging::Create(std::make_shared<spdlog::sinks::ostream_sink_mt>(out), LogLevel::kInfo);
  logger->set_pattern("%l %v");

  struct Step {
    LogLevel set;
    spdlog::level::level_enum log_at;
    bool expect_line;
  };
  const Step steps[] = {
      {LogLevel::kInfo, spdlog::level::debug, false},  {LogLevel::kInfo, spdlog::level::info, true},
      {LogLevel::kDebug, spdlog::level::debug, true},  {LogLevel::kTrace, spdlog::level::trace, true},
      {LogLevel::kWarn, spdlog::level::info, false},   {LogLevel::kWarn, spdlog::level::warn, true},
      {LogLevel::kError, spdlog::level::warn, false},  {LogLevel::kCritical, spdlog::level::err, false},
      {LogLevel::kOff, spdlog::level::critical, false},
  };
  for (const Step& s : steps) {
    out.str("");
    Logging::SetLevel(*logger, s.set);
    logger->log(s.log_at, "x");
    INFO(LogLevelName(s.set) << " / " << spdlog::level::to_string_view(s.log_at).data());
    CHECK(out.str().empty() != s.expect_line);
  }
}

TEST_CASE("A disabled level does not format its arguments", "[logging]") {
  std::ostringstream out;
  auto logger = Logging::Create(std::make_shared<spdlog::sinks::ostream_sink_mt>(out), LogLevel::kInfo);
  int formatted = 0;
  logger->debug("value {}", Counted{&formatted});
  logger->trace("value {}", Counted{&formatted});
  CHECK(formatted == 0);
  CHECK(out.str().empty());
  logger->info("value {}", Counted{&formatted});
  CHECK(formatted == 1);
  CHECK_THAT(out.str(), Catch::Contains("value 1"));
}

TEST_CASE("Concurrent log calls and level changes never split a line", "[logging]") {
  TempDir dir;
  CaptureFile file(dir);
  auto logger = Logging::Create(std::make_shared<PriorityPrefixSink>(file.fd()), LogLevel::kDebug);
  constexpr int kThreads = 4;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < kLines; ++i) logger->warn("thread {} line {} {}", t, i, std::string(100, 'x'));
    });
  }
  // Meanwhile flip the level of a *different* severity, seeded, so the warn
  // lines above must all still appear.
  std::mt19937 rng(20240501);
  for (int i = 0; i < 1000; ++i) Logging::SetLevel(*logger, rng() % 2 ? LogLevel::kDebug : LogLevel::kInfo);
  for (std::thread& t : threads) t.join();

  std::istringstream in(file.Read());
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    INFO(line);
    CHECK_THAT(line, Catch::StartsWith("<4>interpd: [warning] thread "));
    CHECK_THAT(line, Catch::EndsWith(std::string(100, 'x')));
  }
  CHECK(lines == kThreads * kLines);
}

TEST_CASE("auto logs to the journal only when stderr is the journal's stream", "[logging]") {
  TempDir dir;
  CaptureFile file(dir);
  const std::string match = DevIno(file.fd());
  struct stat st;
  REQUIRE(fstat(file.fd(), &st) == 0);
  const std::string other_inode = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  const std::string other_device = std::to_string(st.st_dev + 1) + ":" + std::to_string(st.st_ino);

  struct Case {
    const char* what;
    LogTarget configured;
    std::string journal_stream;
    LogTarget expected;
  };
  const Case cases[] = {
      {"JOURNAL_STREAM names stderr", LogTarget::kAuto, match, LogTarget::kJournal},
      {"JOURNAL_STREAM unset", LogTarget::kAuto, "", LogTarget::kStderr},
      {"another inode (inherited, stderr redirected)", LogTarget::kAuto, other_inode, LogTarget::kStderr},
      {"another device", LogTarget::kAuto, other_device, LogTarget::kStderr},
      {"garbage", LogTarget::kAuto, "journal", LogTarget::kStderr},
      {"no inode", LogTarget::kAuto, std::to_string(st.st_dev) + ":", LogTarget::kStderr},
      {"trailing text", LogTarget::kAuto, match + "x", LogTarget::kStderr},
      {"stderr is kept even under the journal", LogTarget::kStderr, match, LogTarget::kStderr},
      {"journal is kept without one", LogTarget::kJournal, "", LogTarget::kJournal},
  };
  for (const Case& c : cases) {
    SECTION(c.what) { CHECK(Logging::ResolveTarget(c.configured, c.journal_stream, file.fd()) == c.expected); }
  }
  SECTION("a closed descriptor is never the journal") {
    CHECK_FALSE(Logging::StderrIsJournal(match, -1));
  }
}

TEST_CASE("Install makes \"interpd\" the default logger on the chosen target", "[logging]") {
  TempDir dir;
  CaptureFile file(dir);
  const int saved_stderr = dup(STDERR_FILENO);
  REQUIRE(saved_stderr >= 0);
  REQUIRE(dup2(file.fd(), STDERR_FILENO) == STDERR_FILENO);

  SECTION("stderr, with a timestamp when stderr is not the journal") {
    ScopedEnv env("JOURNAL_STREAM", nullptr);
    auto logger = Logging::Install({LogLevel::kWarn, LogTarget::kAuto});
    CHECK(spdlog::default_logger() == logger);
    CHECK(logger->name() == "interpd");
    spdlog::info("hidden");
    spdlog::warn("shown {}", 42);
    const std::string text = file.Read();
    CHECK_THAT(text, Catch::StartsWith("<4>20"));
    CHECK_THAT(text, Catch::EndsWith(" interpd: [warning] shown 42\n"));
    CHECK(text.find("hidden") == std::string::npos);
  }
  SECTION("stderr without a timestamp when the journal captures it") {
    ScopedEnv env("JOURNAL_STREAM", DevIno(STDERR_FILENO).c_str());
    auto logger = Logging::Install({LogLevel::kInfo, LogTarget::kStderr});
    logger->info("plain");
    CHECK(file.Read() == "<6>interpd: [info] plain\n");
  }
  SECTION("auto picks the journal sink when stderr is the journal") {
    ScopedEnv env("JOURNAL_STREAM", DevIno(STDERR_FILENO).c_str());
    auto logger = Logging::Install({LogLevel::kInfo, LogTarget::kAuto});
    REQUIRE(logger->sinks().size() == 1);
    CHECK(std::dynamic_pointer_cast<spdlog::sinks::systemd_sink_mt>(logger->sinks()[0]) != nullptr);
  }

  // Leave a harmless default logger behind for the other tests.
  spdlog::set_default_logger(
      Logging::Create(std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cerr), LogLevel::kOff));
  REQUIRE(dup2(saved_stderr, STDERR_FILENO) == STDERR_FILENO);
  close(saved_stderr);
}

}  // namespace
}  // namespace interpd::daemon
