#!/usr/bin/env bash
# Builds interpd (release) and starts it in the foreground on the built-in
# default configuration. Extra arguments go to the daemon (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DINTERPD_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target interpd-demo >&2
exec ./build-release/examples/interpd-demo examples/scripts "$@"
