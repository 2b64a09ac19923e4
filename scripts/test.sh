#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: cmake
# The README's test command: install dependencies, build, run every test;
# then build and run the whole suite again under ASan+UBSan.
# --quick skips the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
quick=0
[ "${1:-}" = "--quick" ] && quick=1

./scripts/check-format.sh
BUILD_DIR=build ./scripts/build.sh
(cd build && ctest --output-on-failure -j2)
if [ $quick -eq 0 ]; then
  BUILD_DIR=build-asan ./scripts/build.sh -DTV_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j2)
fi
