#!/usr/bin/env bash
# Installs the Debian 12 packages interpd builds and tests with (apt-get),
# skipping apt entirely when they are all present. Nothing comes from PyPI.
# CPython >= 3.12 with its shared library is found by the build itself
# (cmake/InterpdFindPython.cmake): python3.13-config / python3.12-config on
# PATH, then pyenv's versions.
set -euo pipefail

packages=(
  cmake g++ ninja-build pkg-config
  libboost1.81-dev libspdlog-dev nlohmann-json3-dev catch2 libcli11-dev
  libtomlplusplus-dev libsystemd-dev libconcurrentqueue-dev libbenchmark-dev
  systemd socat
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "interpd: installing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "interpd: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
