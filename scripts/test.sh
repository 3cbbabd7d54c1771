#!/usr/bin/env bash
# Builds interpd and runs every test: the normal build, the ASan+UBSan build,
# and the ThreadSanitizer build of the Python-free core. This is the README's
# test command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh

jobs=$(nproc)
run() {  # run <build dir> <ctest args...> -- <cmake args...>
  local dir=$1; shift
  local ctest_args=()
  while [ "$1" != "--" ]; do ctest_args+=("$1"); shift; done
  shift
  echo "== $dir: configure and build" >&2
  cmake -S . -B "$dir" -G Ninja -DINTERPD_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "== $dir: test" >&2
  ctest --test-dir "$dir" -j "$jobs" --output-on-failure --no-tests=error "${ctest_args[@]}"
}

run build -- -DCMAKE_BUILD_TYPE=RelWithDebInfo
run build-asan -- -DCMAKE_BUILD_TYPE=Debug -DINTERPD_SANITIZE=address -DINTERPD_BUILD_BENCH=OFF
run build-tsan -- -DCMAKE_BUILD_TYPE=Debug -DINTERPD_SANITIZE=thread -DINTERPD_CORE_ONLY=ON
echo "== all tests passed (normal, ASan+UBSan, TSan core)" >&2
