#!/usr/bin/env bash
# Install everything teevault needs to build and test, from Debian 12's packages.
# Idempotent; skips apt when every package is already present.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config clang-14 libclang-rt-14-dev clang-format
  liblmdb-dev lmdb-utils libssl-dev libsodium-dev libargon2-dev
  libprotobuf-c-dev protobuf-c-compiler libevent-dev libinih-dev
  golang-go golang-github-containerd-ttrpc-dev golang-google-protobuf-dev
  openssl python3 git
  python3-cryptography # test_attest_expiry: attest_raw.py (Ed25519 sim reports, X25519, AEAD)
  python3-grpcio python3-protobuf python3-nacl python3-grpc-tools # client/python, test_grpc
  libnghttp2-dev # teevaultd: gRPC and Connect over HTTP/2
  curl nghttp2-client # test_connect (curl), bench-compare.sh (h2load)
  scdoc # test_package_docs: every man page renders (the package build runs it)
  strace # test_package: teevaultd's system calls vs. its unit's SystemCallFilter
)
# client/js and examples/functions need Node.js >= 18 with npm (their npm
# packages are installed by scripts/npm-deps.sh); Debian's only when none is there.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
PKGS+=("$@")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
