#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: clang-format git
# Fail when any C source differs from .clang-format (generated code excluded).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --for scripts/check-format.sh
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
[ -n "$files" ] || exit 0
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
