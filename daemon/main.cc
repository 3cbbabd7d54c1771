// interpd: the daemon's entry point. Everything but argument handling lives
// in Daemon (daemon.h); configuration errors exit 2 before anything starts.
#include <iostream>

#include "daemon/command_line.h"
#include "daemon/daemon.h"

int main(int argc, char** argv) {
  using interpd::daemon::CommandLine;
  CommandLine::Result cl = CommandLine::Parse(argc, argv, std::cout, std::cerr);
  if (cl.action == CommandLine::Action::kExit) return cl.exit_code;
  interpd::daemon::Daemon daemon(std::move(cl.config), std::move(cl.source));
  return daemon.Run();
}
