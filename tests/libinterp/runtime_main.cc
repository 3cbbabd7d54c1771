// Catch2 main for tests that need the embedded CPython runtime: it is started
// once per test process (CPython cannot be restarted) and finalized at exit.
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>

#include "interpd/runtime.h"

#if defined(__SANITIZE_ADDRESS__)
// CPython keeps some allocations until exit on purpose (interned strings,
// static types' caches) and, in 3.12/3.13, leaks part of every destroyed
// subinterpreter. Those are CPython's, allocated from libpython; suppress
// only frames there, so a leak in interpd's own code is still reported.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libpython3\n"
         "leak:_PyObject_Malloc\n"
         "leak:PyMem_RawMalloc\n";
}
extern "C" const char* __asan_default_options() {
  // CPython's obmalloc and its signal handling are not ASan-aware.
  return "detect_stack_use_after_return=0:handle_segv=1:allow_user_segv_handler=1";
}
#endif

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
