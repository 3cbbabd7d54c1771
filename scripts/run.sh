#!/usr/bin/env bash
# Builds interpd (release) and starts the daemon in the foreground on its
# built-in default configuration. Extra arguments go to the daemon, e.g.
#   ./scripts/run.sh --socket /tmp/interpd.sock --workers 4
#   ./scripts/run.sh --config config/interpd.toml
#   ./scripts/run.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DINTERPD_BUILD_TESTS=OFF \
  -DINTERPD_BUILD_BENCH=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target interpd interpctl
exec ./build-release/daemon/interpd "$@"
