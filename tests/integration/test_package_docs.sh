#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The packaged documentation keeps up with the CLI: every command and
# subcommand that `teevault --help` lists, every option its usage line names
# and every TEEVAULT_* variable the usage mentions appear in teevault(1)
# (packaging/man/teevault.1.scd) and in the bash completion; every teevaultd
# option is in teevaultd(8), every key of packaging/teevault.conf in
# teevault.conf(5), and the changelog's version is teevaultd's. Runs against
# the built binaries ($TV_BIN), no root needed.
set -euo pipefail

SRC=${TV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${TV_BIN:-$SRC/build/bin}
TV="$BIN/teevault"
TVD="$BIN/teevaultd"
MAN1="$SRC/packaging/man/teevault.1.scd"
MAN8="$SRC/packaging/man/teevaultd.8.scd"
MAN5="$SRC/packaging/man/teevault.conf.5.scd"
COMP="$SRC/packaging/bash-completion/teevault"
CONF="$SRC/packaging/teevault.conf"
for f in "$TV" "$TVD"; do [ -x "$f" ] || { echo "FAIL: $f not built" >&2; exit 1; }; done

errors=0
miss() {
  echo "FAIL: $*" >&2
  errors=$((errors + 1))
}

# Every man page renders: scdoc refuses, for example, a line starting with '-'
# or an indented '[' that it takes for a list or a table, and the package
# build (scripts/build-deb.sh) then fails.
if command -v scdoc >/dev/null; then
  for page in "$SRC"/packaging/man/*.scd; do
    scdoc <"$page" >/dev/null 2>"${TMPDIR:-/tmp}/scdoc.err.$$" ||
      miss "scdoc refuses $(basename "$page"): $(cat "${TMPDIR:-/tmp}/scdoc.err.$$")"
  done
  rm -f "${TMPDIR:-/tmp}/scdoc.err.$$"
fi

# "  name   help" lines under "Commands:" in a --help output.
commands_of() {
  "$TV" "$@" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'
}

cmds=$(commands_of)
[ -n "$cmds" ] || { echo "FAIL: teevault --help lists no commands" >&2; exit 1; }
ncheck=0
for c in $cmds; do
  grep -qE "^\*${c}[* ]" "$MAN1" || miss "teevault(1) has no entry for '$c'"
  grep -qE "^    local commands=\".*\b$c\b" "$COMP" || miss "bash completion does not offer '$c'"
  subs=$(commands_of "$c" 2>/dev/null || true)
  paths=()
  if [ -n "$subs" ]; then
    for s in $subs; do
      grep -qE "^\*$c $s\*|\*$c $s\*,|, \*$c $s\*" "$MAN1" || miss "teevault(1) has no entry for '$c $s'"
      grep -qE "^        $c\) subs=\".*\b$s\b" "$COMP" || miss "bash completion does not offer '$c $s'"
      paths+=("$c $s")
    done
  else
    paths+=("$c")
  fi
  for p in "${paths[@]}"; do
    # shellcheck disable=SC2086
    usage=$("$TV" $p --help | sed -n '/^Usage:/,/^$/p')
    # shellcheck disable=SC2013
    for o in $(grep -oE -- '--[a-z][a-z-]*' <<<"$usage" | sort -u); do
      ncheck=$((ncheck + 1))
      grep -qF -- "*$o" "$MAN1" || miss "teevault(1) does not document $o of '$p'"
      grep -qE -- "(\"|[ |])$o([ |\"]|$)" "$COMP" || miss "bash completion does not know $o of '$p'"
    done
  done
done
for v in $("$TV" --help status 2>/dev/null | grep -oE 'TEEVAULT_[A-Z_]+' | sort -u) \
  $("$TV" status --help | grep -oE 'TEEVAULT_[A-Z_]+' | sort -u); do
  grep -qF "*$v*" "$MAN1" || miss "teevault(1) does not document $v"
done

for o in $("$TVD" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
  grep -qF -- "*$o" "$MAN8" || miss "teevaultd(8) does not document $o"
done

section=""
while IFS= read -r line; do
  case "$line" in
    \[*\])
      section=${line#[}
      section=${section%]}
      grep -qF "# [$section]" "$MAN5" || miss "teevault.conf(5) has no section [$section]"
      ;;
    [a-z]*=* | \#[a-z]*=*) # keys, also commented-out examples ("#collateral = ...")
      key=${line#\#}
      key=${key%%=*}
      key=${key%% }
      grep -qF "*$key*" "$MAN5" || miss "teevault.conf(5) does not document [$section] $key"
      ;;
  esac
done <"$CONF"

# The package version follows the software's (packaging/debian/changelog).
cl=$(dpkg-parsechangelog -l "$SRC/packaging/debian/changelog" -S Version 2>/dev/null ||
  sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$SRC/packaging/debian/changelog")
upstream=${cl%%-*}
upstream=${upstream%%+*}
tvdv=$("$TVD" --version | awk '{ print $2 }')
[ "$upstream" = "$tvdv" ] ||
  miss "packaging/debian/changelog says $cl but teevaultd --version says $tvdv (add a changelog entry)"

if [ $errors -gt 0 ]; then
  echo "FAIL: $errors documentation gaps (packaging/man/*.scd, packaging/bash-completion/teevault)" >&2
  exit 1
fi
echo "PASS: teevault(1), teevaultd(8), teevault.conf(5) and the completion cover $(wc -w <<<"$cmds") commands, $ncheck option uses"
