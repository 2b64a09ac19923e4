#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Wire conformance: containerd's Go ttrpc client (Debian package
# golang-github-containerd-ttrpc-dev, built offline here) calls teevaultd.
. "$(dirname "$0")/lib.sh"

command -v go >/dev/null || tv_fail "go not installed (apt-get install golang-go golang-github-containerd-ttrpc-dev)"
[ -d /usr/share/gocode/src/github.com/containerd/ttrpc ] ||
    tv_fail "containerd ttrpc sources missing (apt-get install golang-github-containerd-ttrpc-dev)"

tv_mkdir
GP="$TV_DIR/gopath"
mkdir -p "$GP/src/tvconf"
cp "$TV_HERE/ttrpc_go/main.go" "$GP/src/tvconf/"
# Offline GOPATH build against Debian's packaged sources; the build cache is
# kept beside the binaries so reruns are fast.
(cd "$GP/src/tvconf" &&
    GO111MODULE=off GOPATH="$GP:/usr/share/gocode" GOPROXY=off GOFLAGS= \
        GOCACHE="${TV_BIN}/../go-build-cache" go build -o "$TV_DIR/ttrpc-conformance" .) ||
    tv_fail "building the Go ttrpc client failed"

tv_start_dev
"$TV_DIR/ttrpc-conformance" "$TV_SOCK" || tv_fail "Go ttrpc client checks failed"

# Secrets.Get: put a secret with the CLI (libteevault), read it with Go ttrpc.
# 200 KiB: over the 16 KiB pre-auth cap both ways (tv_conn shows the token
# first; the reply frame is large too).
[ -x "$TV_BIN/teevault" ] || tv_fail "teevault CLI not built"
head -c 204800 /dev/urandom >"$TV_DIR/value.bin"
TEEVAULT_ADDR="unix:$TV_SOCK" TEEVAULT_TOKEN="$(cat "$TV_ROOT_TOKEN_FILE")" \
    "$TV_BIN/teevault" kv put conformance/go --file="$TV_DIR/value.bin" >"$TV_DIR/put.out" 2>&1 ||
    { cat "$TV_DIR/put.out"; tv_fail "teevault kv put failed"; }
TV_TOKEN="$(cat "$TV_ROOT_TOKEN_FILE")" TV_GET_NAME=conformance/go TV_GET_VALUE_FILE="$TV_DIR/value.bin" \
    "$TV_DIR/ttrpc-conformance" "$TV_SOCK" >"$TV_DIR/go.out" 2>&1 ||
    { cat "$TV_DIR/go.out"; tv_fail "Go ttrpc Secrets.Get failed"; }
cat "$TV_DIR/go.out"
grep -q '^ok   Secrets.Get' "$TV_DIR/go.out" || tv_fail "Secrets.Get was not checked"
tv_stop
echo "test_ttrpc_go: ok"
