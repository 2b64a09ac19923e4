#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: cmake
# Configure and build into build/ (or $BUILD_DIR). Extra args go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
# cmake and every library the build needs (quick when all are there).
./scripts/deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DTV_WERROR=ON "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
