#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Python client package (client/python) against the real teevaultd:
# operator kv with a token, Report verification, function Attest with sim
# evidence, secrets.get through the session-key AEAD, denied secrets,
# refused attestations, audit records (client_live.py). Over gRPC
# (python3-grpcio, the default) and over ttrpc.
. "$(dirname "$0")/lib.sh"
tv_start_dev
export TEEVAULT_PY_STUBS="${TV_PY_STUBS:-$TV_DIR/py-stubs}"
for transport in ${TV_CLIENT_TRANSPORTS:-grpc ttrpc}; do
  echo "# transport $transport"
  tv_py "$TV_HERE/client_live.py" "$TV_SOCK" "$TV_DIR/state" "$transport" ||
    tv_fail "Python client over $transport"
done
tv_stop
