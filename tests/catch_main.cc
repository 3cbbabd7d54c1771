// The Catch2 main for tests that need no embedded Python.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
