// interpctl: the command-line client of interpd (see cli.h).
#include "cli.h"

int main(int argc, char** argv) { return interpd::clients::InterpctlMain(argc, argv); }
