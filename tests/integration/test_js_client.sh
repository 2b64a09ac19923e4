#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Node.js client package (client/js) against the real teevaultd: the same
# checks as test_py_client.sh (client_live.js), over gRPC (@grpc/grpc-js,
# the default) and over ttrpc. npm packages come from
# scripts/npm-deps.sh (installed once into the build dir).
. "$(dirname "$0")/lib.sh"
NODE_PATH="$("$TV_HERE/../../scripts/npm-deps.sh" "${TV_BUILD_DIR:-$TV_HERE/../../build}/node")" ||
  tv_fail "npm packages could not be installed"
export NODE_PATH
tv_start_dev
for transport in ${TV_CLIENT_TRANSPORTS:-grpc ttrpc}; do
  echo "# transport $transport"
  node "$TV_HERE/client_live.js" "$TV_SOCK" "$TV_DIR/state" "$transport" ||
    tv_fail "Node.js client over $transport"
done
tv_stop
