#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The function sandboxes of examples/functions (no daemon needed): the
# QuickJS sandbox (node --test test/sandbox.test.js: a function that loops
# forever, one stuck in a builtin, one that allocates too much, one that
# looks for require/process/fs) and the Python child process
# (test/test_py_sandbox.py).
. "$(dirname "$0")/lib.sh"
EX="$TV_HERE/../../examples/functions"
NODE_PATH="$("$TV_HERE/../../scripts/npm-deps.sh" "${TV_BUILD_DIR:-$TV_HERE/../../build}/node")" ||
  tv_fail "npm packages could not be installed"
export NODE_PATH TEEVAULT_PY_STUBS="${TV_PY_STUBS:-$TV_HERE/../../build/py-stubs}"
node --test "$EX"/test/*.test.js || tv_fail "QuickJS sandbox tests"
(cd "$EX/test" && PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m unittest -v test_py_sandbox) ||
  tv_fail "Python sandbox tests"
echo "2 passed, 0 failed"
