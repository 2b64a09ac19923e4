#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: dpkg-dev debhelper scdoc lintian devscripts fakeroot git
# Build the Debian packages (teevault, libteevault1, libteevault-dev) into out/.
#
#   ./scripts/build-deb.sh              # from a clean checkout, as root or with sudo
#
# Installs the packaging tools and the Build-Depends of packaging/debian/control
# with apt-get when any is missing, copies the tree (files git tracks plus
# untracked ones it does not ignore) to a temporary directory, puts
# packaging/debian there as ./debian, runs `dpkg-buildpackage -us -uc -b`, moves
# the .debs (with the -dbgsym debug-symbol packages), .buildinfo and .changes
# to out/, and runs lintian on the result (errors and warnings fail).
# The repository itself is never modified, except out/.
#
# Options:
#   --nocheck     skip the unit tests during the package build (DEB_BUILD_OPTIONS=nocheck)
#   --no-deps     do not run apt-get (fail if a build dependency is missing)
#   --no-lintian  skip lintian
#   --tree-hash   print the hash of the tree that would be built, and exit
#                 (out/.tree-sha256 records it; tests reuse a fresh out/)
# Environment: DEB_BUILD_OPTIONS is honoured; parallel=<nproc> is added.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# The files that make the source: what git tracks plus untracked files it
# does not ignore (NUL-separated), or everything but build output without git.
tree_files() {
  if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$root" ls-files -z --cached --others --exclude-standard |
      while IFS= read -r -d '' f; do
        case "$f" in out/*) continue ;; esac
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
      done
  else
    find . \( -path ./.git -o -path './build*' -o -path ./out \) -prune -o \
      \( -type f -o -type l \) -printf '%P\0'
  fi
}
tree_hash() {
  tree_files | sort -z | xargs -0 -r sha256sum -- | sha256sum | cut -d' ' -f1
}

nocheck=0 deps=1 lint=1
for a in "$@"; do
  case "$a" in
    --tree-hash) tree_hash; exit 0 ;;
    --nocheck) nocheck=1 ;;
    --no-deps) deps=0 ;;
    --no-lintian) lint=0 ;;
    -h | --help) awk 'NR > 1 && /^# (SPDX|deps:)/ { next } NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "build-deb.sh: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# Packaging tools, from the '# deps:' line above (debhelper >= 13.11 on
# bookworm provides dh-sequence-installsysusers).
[ $deps -eq 0 ] || ./scripts/deps.sh --for scripts/build-deb.sh

# The source tree, copied. Everything here goes to $tmp and is deleted on exit.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/teevault-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
src="$tmp/teevault-$version"
mkdir -p "$src"
hash=$(tree_hash)
tree_files | tar -C "$root" --null --no-recursion -T - -cf - | tar -C "$src" -xf -
rm -rf "$src/debian"
cp -a packaging/debian "$src/debian"
# Tests find shared fixtures at <source>/../shared, as in the repository.
[ -d "$root/../shared" ] && ln -s "$(cd "$root/../shared" && pwd)" "$tmp/shared"

profiles=()
opts=${DEB_BUILD_OPTIONS:-}
if [ $nocheck -eq 1 ]; then
  opts="$opts nocheck"
  profiles=(-Pnocheck)
fi
case " $opts " in
  *" parallel="*) ;;
  *) opts="$opts parallel=$(nproc)" ;;
esac
read -r -a words <<<"$opts"
export DEB_BUILD_OPTIONS="${words[*]}"

if ! (cd "$src" && dpkg-checkbuilddeps "${profiles[@]}" >/dev/null 2>&1); then
  if [ $deps -eq 1 ]; then
    $SUDO apt-get update -qq
    $SUDO apt-get build-dep -y -qq "${profiles[@]}" "$src"
  fi
  (cd "$src" && dpkg-checkbuilddeps "${profiles[@]}")
fi

# The package test must never recurse into itself from the build's ctest.
(cd "$src" && env -u TV_PACKAGE_TEST dpkg-buildpackage -us -uc -b "${profiles[@]}")

mkdir -p out
rm -f out/*.deb out/*.buildinfo out/*.changes out/.tree-sha256
mv "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes out/
echo "$hash" >out/.tree-sha256

if [ $lint -eq 1 ]; then
  # --fail-on error,warning: the package ships with neither (overrides carry reasons).
  lintian --fail-on error,warning --info --display-info out/*.changes
fi
echo "build-deb.sh: packages in $root/out:"
ls -1 out/*.deb
