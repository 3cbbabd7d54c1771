// interpd: the daemon's entry point. Everything but argument handling lives
// in Daemon (daemon.h); configuration errors exit 2 before anything starts.
#include <iostream>

#include "daemon/command_line.h"
#include "daemon/daemon.h"

#if defined(__SANITIZE_ADDRESS__)
// As in tests/libinterp/runtime_main.cc: CPython 3.12/3.13 leaks part of
// every destroyed subinterpreter (obmalloc arenas) and keeps some
// allocations until exit on purpose. Suppress only frames in libpython, so
// the ASan build's daemon exits 0 on SIGTERM (the integration tests check
// that) and a leak in interpd's own code is still reported.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libpython3\n"
         "leak:_PyObject_Malloc\n"
         "leak:PyMem_RawMalloc\n";
}
#endif

int main(int argc, char** argv) {
  using interpd::daemon::CommandLine;
  CommandLine::Result cl = CommandLine::Parse(argc, argv, std::cout, std::cerr);
  if (cl.action == CommandLine::Action::kExit) return cl.exit_code;
  interpd::daemon::Daemon daemon(std::move(cl.config), std::move(cl.source));
  return daemon.Run();
}
