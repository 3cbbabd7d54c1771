#include "interpctl_process.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <thread>

namespace interpd::test {

namespace {

using Clock = std::chrono::steady_clock;

int MillisLeft(Clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

std::string InterpctlBinary() { return INTERPD_INTERPCTL_BINARY; }

InterpctlProcess::InterpctlProcess(InterpctlOptions options) {
  if (options.stdin_text) {
    char tmpl[] = "/tmp/interpctl-stdin-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    stdin_path_ = tmpl;
    std::ofstream(stdin_path_, std::ios::binary) << *options.stdin_text;
  }
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> argv = {options.binary.empty() ? InterpctlBinary() : options.binary};
  argv.insert(argv.end(), options.args.begin(), options.args.end());
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int in = open(stdin_path_.empty() ? "/dev/null" : stdin_path_.c_str(), O_RDONLY);
    dup2(in, 0);
    dup2(out_pipe[1], 1);
    dup2(options.merge_output ? out_pipe[1] : err_pipe[1], 2);
    if (options.uid && (setgroups(0, nullptr) != 0 || setgid(*options.uid) != 0 || setuid(*options.uid) != 0)) {
      _exit(126);
    }
    for (const auto& name : options.unset_env) unsetenv(name.c_str());
    for (const auto& [name, value] : options.env) setenv(name.c_str(), value.c_str(), 1);
    // A test runner may ignore SIGINT for its children; interpctl must see
    // the default disposition a shell gives it.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
}

InterpctlProcess::~InterpctlProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
  if (!stdin_path_.empty()) unlink(stdin_path_.c_str());
}

bool InterpctlProcess::Pump(int timeout_ms) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (out_fd_ < 0 && err_fd_ < 0) return false;
  const int rc = poll(fds, 2, timeout_ms);
  if (rc <= 0) return true;
  int* fd_of[2] = {&out_fd_, &err_fd_};
  std::string* buf_of[2] = {&out_, &err_};
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    char buf[65536];
    const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
    if (n > 0) {
      buf_of[i]->append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      close(*fd_of[i]);
      *fd_of[i] = -1;
    }
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

bool InterpctlProcess::WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (out_.find(text) == std::string::npos) {
    if (Clock::now() >= until) return false;
    if (!Pump(MillisLeft(until))) return out_.find(text) != std::string::npos;
  }
  return true;
}

void InterpctlProcess::Signal(int signo) {
  if (!reaped_) kill(pid_, signo);
}

std::optional<InterpctlResult> InterpctlProcess::Wait(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Pump(MillisLeft(until))) {
    if (Clock::now() >= until) return std::nullopt;
  }
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      InterpctlResult result;
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      result.out = out_;
      result.err = err_;
      return result;
    }
    if (Clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

InterpctlResult RunInterpctl(InterpctlOptions options) {
  InterpctlProcess process(std::move(options));
  auto result = process.Wait();
  if (!result) throw std::runtime_error("interpctl did not exit within 60 s");
  return *result;
}

}  // namespace interpd::test
