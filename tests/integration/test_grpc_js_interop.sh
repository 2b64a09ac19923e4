#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Interop with a gRPC client we did not write (issue 15 item 7):
# @grpc/grpc-js with stubs made by @grpc/proto-loader from
# proto/teevault.proto (grpc_js_interop.js), against the real teevaultd on
# its Unix socket. (python3-grpcio's is test_grpc_interop.sh.)
. "$(dirname "$0")/lib.sh"
ROOT="$TV_HERE/../.."
NODE_PATH="$("$ROOT/scripts/npm-deps.sh" "${TV_BUILD_DIR:-$ROOT/build}/node")" ||
  tv_fail "npm packages could not be installed"
export NODE_PATH
tv_start_dev
node "$TV_HERE/grpc_js_interop.js" "$TV_SOCK" "$TV_ROOT_TOKEN_FILE" "$ROOT/proto" ||
  tv_fail "@grpc/grpc-js interop"
tv_stop
