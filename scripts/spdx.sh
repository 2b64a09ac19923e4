#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: git
# Every source file carries an SPDX licence line (teevault is Apache-2.0, see
# LICENSE). The line goes first, or right after a #! line, in the file's own
# comment syntax: /* ... */ for C, // for Go, .proto, JavaScript and
# TypeScript, # for shell, Python, CMake and the packaging scripts.
#
#   scripts/spdx.sh          # add the line where it is missing (idempotent)
#   scripts/spdx.sh --check  # list files without it and exit 1 (ctest integration/test_scripts)
#
# Files: git's tracked and untracked-not-ignored files (or, without git, a
# find of the tree), filtered to *.c *.h *.sh *.py *.go *.proto *.js *.mjs *.ts
# CMakeLists.txt *.cmake, the extension-less scripts under .ci/ and
# packaging/, and packaging/bash-completion/*. Fuzz corpora and build trees
# are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ID="SPDX-License-Identifier: Apache-2.0"
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac

list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard
  else
    find . \( -path ./.git -o -path './build*' -o -path './obj-*' -o -path ./out \) -prune -o -type f -printf '%P\n'
  fi
}

# comment_for FILE: the SPDX line in FILE's syntax, or nothing when FILE is
# not a source file.
comment_for() {
  case "$1" in
    tests/fuzz/corpus/* | tests/fuzz/findings/* | build*/* | out/*) return 0 ;;
    *.c | *.h) echo "/* $ID */" ;;
    *.go | *.proto | *.js | *.mjs | *.cjs | *.ts) echo "// $ID" ;;
    *.sh | *.py | */CMakeLists.txt | CMakeLists.txt | *.cmake) echo "# $ID" ;;
    .ci/* | packaging/bash-completion/* | packaging/debian/rules | packaging/debian/*.postinst | packaging/debian/*.postrm)
      echo "# $ID"
      ;;
  esac
}

missing=0
while IFS= read -r f; do
  [ -f "$f" ] || continue
  c=$(comment_for "$f")
  [ -n "$c" ] || continue
  # The line must be in the first three lines (after a #! and a blank at most).
  if [[ "$(head -n 3 "$f")" == *"$ID"* ]]; then
    continue
  fi
  if [ $check -eq 1 ]; then
    echo "spdx: $f has no '$ID' line (run scripts/spdx.sh)" >&2
    missing=$((missing + 1))
    continue
  fi
  tmp=$(mktemp "$f.spdx.XXXXXX")
  if [ "$(head -c 2 "$f")" = "#!" ]; then
    { head -n 1 "$f"; echo "$c"; tail -n +2 "$f"; } >"$tmp"
  else
    { echo "$c"; cat "$f"; } >"$tmp"
  fi
  chmod --reference="$f" "$tmp"
  mv "$tmp" "$f"
  echo "spdx: added to $f"
done < <(list_files)
if [ $check -eq 1 ] && [ $missing -gt 0 ]; then
  echo "spdx: $missing file(s) without a licence line" >&2
  exit 1
fi
exit 0
