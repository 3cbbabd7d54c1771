// Catch2 main for tests that need the embedded CPython runtime: it is started
// once per test process (CPython cannot be restarted) and finalized at exit.
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>

#include "interpd/runtime.h"
#include "interpd/sanitizer_defaults.h"  // once per binary: here

int main(int argc, char** argv) {
  std::unique_ptr<interpd::Runtime> runtime;
  interpd::RuntimeOptions options;
#ifdef INTERPD_TEST_EXTRA_PATH
  options.extra_paths.push_back(INTERPD_TEST_EXTRA_PATH);
#endif
  interpd::Status s = interpd::Runtime::Start(options, &runtime);
  if (!s.ok()) {
    std::fprintf(stderr, "cannot start CPython: %s\n", s.ToString().c_str());
    return 2;
  }
  const int result = Catch::Session().run(argc, argv);
  runtime.reset();
  if (interpd::Runtime::live_threads() != 0) {
    // A test abandoned a worker stuck forever: CPython was left running, so
    // leave without static destructors racing that thread.
    std::fflush(nullptr);
    _exit(result);
  }
  return result;
}
