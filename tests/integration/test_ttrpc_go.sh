#!/bin/bash
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
tv_stop
echo "test_ttrpc_go: ok"
