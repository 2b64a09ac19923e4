#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: apt dpkg
# Install everything teevault needs to build and test, from Debian 12's packages.
# Idempotent; skips apt when every package is already present.
#
#   scripts/deps.sh [PKG...]          # the build/test set below, plus PKG...
#   scripts/deps.sh --for SCRIPT      # only the packages SCRIPT declares in its
#                                     # '# deps: pkg...' lines (see scripts/check-deps.py)
set -euo pipefail
if [ "${1:-}" = "--for" ]; then
  [ $# -eq 2 ] && [ -r "$2" ] || {
    echo "usage: $0 --for SCRIPT" >&2
    exit 2
  }
  PKGS=()
  while read -r -a words; do
    PKGS+=("${words[@]}")
  done < <(head -n 60 "$2" | grep -E '^#[[:space:]]*deps:' | sed -E 's/^#[[:space:]]*deps://; s/#.*$//')
  set --
else
  PKGS=(
    build-essential cmake pkg-config clang-14 libclang-rt-14-dev clang-format
    liblmdb-dev lmdb-utils libssl-dev libsodium-dev libargon2-dev
    libprotobuf-c-dev protobuf-c-compiler libevent-dev libinih-dev libsystemd-dev
    golang-go golang-github-containerd-ttrpc-dev golang-google-protobuf-dev
    openssl python3 git
    python3-cryptography      # test_attest_expiry: attest_raw.py (Ed25519 sim reports, X25519, AEAD)
    python3-grpcio python3-protobuf python3-nacl python3-grpc-tools # client/python, test_grpc
    libnghttp2-dev            # teevaultd: gRPC and Connect over HTTP/2
    curl nghttp2-client       # test_connect (curl), bench-compare.sh (h2load)
    scdoc                     # test_package_docs: every man page renders (the package build runs it)
    strace                    # test_package: teevaultd's system calls vs. its unit's SystemCallFilter
    python3-prometheus-client # test_metrics: parses /metrics with the Prometheus text parser
    curl                      # test_metrics: HTTP requests to the metrics listener
  )
  # client/js and examples/functions need Node.js >= 18 with npm (their npm
  # packages are installed by scripts/npm-deps.sh); Debian's only when none is there.
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
fi
PKGS+=("$@")
missing=()
for p in "${PKGS[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  echo "deps.sh: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
