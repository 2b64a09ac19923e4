#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Both function runtimes of examples/functions against the real teevaultd,
# driven like an operator would (the real CLI): the registered function reads
# its secret from inside each sandbox; the same code under another function
# name is refused the secret by that function's ACL; edited code and another
# runtime are refused at Attest; a function that loops forever is stopped
# (exit 3); every read is audited. The runtimes speak gRPC (the clients'
# default).
. "$(dirname "$0")/cli_lib.sh"
cli_init
start_dev
export TEEVAULT_TOKEN_FILE="$ROOT_TOKEN_FILE" # the CLI only: the runtimes attest with no token
EX="$TV_HERE/../../examples/functions"
NODE_PATH="$("$TV_HERE/../../scripts/npm-deps.sh" "${TV_BUILD_DIR:-$TV_HERE/../../build}/node")" ||
  fail "npm packages could not be installed"
export NODE_PATH TEEVAULT_PY_STUBS="${TV_PY_STUBS:-$TV_HERE/../../build/py-stubs}"
PLAT="$T/state"
signer=$(printf teevault-sim-signer | sha256sum | cut -d' ' -f1)
pol() { printf '{"evidence_type":"sim","measurement":"%s","signer":"%s","code_hash":"%s"}\n' "$1" "$signer" "$2"; }
MJ=$(node "$EX/runtime.js" --print-measurement)
MP=$(/usr/bin/python3 "$EX/py_runtime.py" --print-measurement)
CJ=$(node "$EX/runtime.js" --print-code-hash "$EX/functions/fetch_price.js")
CP=$(/usr/bin/python3 "$EX/py_runtime.py" --print-code-hash "$EX/functions/fetch_price.py")
printf 'function spin() { for (;;) {} }\n' >"$T/spin.js"
CS=$(node "$EX/runtime.js" --print-code-hash "$T/spin.js")
pol "$MJ" "$CJ" >"$T/js.json"; pol "$MP" "$CP" >"$T/py.json"; pol "$MJ" "$CS" >"$T/spin.json"
echo 'path "app/price-feed/*" { capabilities = ["read"] }' >"$T/pf.hcl"
echo 'path "app/news/*" { capabilities = ["read"] }' >"$T/news.hcl"
expect_rc 0 policy write price-feed-read "$T/pf.hcl"
expect_rc 0 policy write news-read "$T/news.hcl"
expect_rc 0 function register price-feed --policy "$T/js.json" --acl price-feed-read
expect_rc 0 function register price-feed-py --policy "$T/py.json" --acl price-feed-read
expect_rc 0 function register news-feed --policy "$T/js.json" --acl news-read
expect_rc 0 function register spin --policy "$T/spin.json" --acl price-feed-read
tv_in 'xk-runtime-7' kv put app/price-feed/exchange_api_key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"

js() { node "$EX/runtime.js" --tee sim --tee-root "$PLAT" "$@"; }
py() { /usr/bin/python3 "$EX/py_runtime.py" --tee sim --tee-root "$PLAT" "$@"; }
run() { # run CMD... : stdout in $OUT, stderr in $ERR, status in $RC
  OUT=$("$@" 2>"$T/err"); RC=$?; ERR=$(cat "$T/err")
}

run js --name price-feed --code "$EX/functions/fetch_price.js" --entry fetchPriceData --args '["NEO"]'
[ "$RC" -eq 0 ] && expect_in '"Authorization": "Bearer xk-runtime-7"' "$OUT" || fail "JS runtime: rc=$RC $ERR $OUT"
pass "the QuickJS function reads its secret"
run py --name price-feed-py --code "$EX/functions/fetch_price.py" --entry fetch_price_data --args '["NEO"]'
[ "$RC" -eq 0 ] && expect_in '"Authorization": "Bearer xk-runtime-7"' "$OUT" || fail "Python runtime: rc=$RC $ERR $OUT"
pass "the Python function reads its secret"

run js --name news-feed --code "$EX/functions/fetch_price.js" --entry fetchPriceData --args '["NEO"]'
[ "$RC" -eq 1 ] || fail "news-feed should fail: rc=$RC $OUT"
expect_in 'secrets.get("app/price-feed/exchange_api_key"): permission denied' "$ERR"
[[ "$OUT" != *xk-runtime-7* && "$ERR" != *xk-runtime-7* ]] || fail "news-feed saw the value"
pass "another function is refused the secret by its ACL"

cp "$EX/functions/fetch_price.js" "$T/edited.js"; echo '// edited' >>"$T/edited.js"
run js --name price-feed --code "$T/edited.js" --entry fetchPriceData --args '["NEO"]'
[ "$RC" -eq 1 ] && expect_in "code hash is not the one registered" "$ERR" || fail "edited code: rc=$RC $ERR"
pass "edited code is refused at Attest"
run py --name price-feed --code "$EX/functions/fetch_price.py" --entry fetch_price_data --args '["NEO"]'
[ "$RC" -eq 1 ] && expect_in "is not the one registered" "$ERR" || fail "another runtime: rc=$RC $ERR"
pass "another runtime (the Python one) is refused as price-feed"

run js --name spin --code "$T/spin.js" --entry spin --time-limit-ms 500
[ "$RC" -eq 3 ] && expect_in "function stopped (timeout)" "$ERR" || fail "spin: rc=$RC $ERR"
pass "a function that loops forever is stopped"

expect_rc 0 audit list --secret app/price-feed/exchange_api_key
expect_in "principal=function:price-feed method=teevault.v1.Secrets/Get secret=app/price-feed/exchange_api_key version=1 status=OK" "$OUT"
expect_in "principal=function:price-feed-py method=teevault.v1.Secrets/Get secret=app/price-feed/exchange_api_key version=1 status=OK" "$OUT"
expect_in "principal=function:news-feed method=teevault.v1.Secrets/Get secret=app/price-feed/exchange_api_key version=0 status=PERMISSION_DENIED" "$OUT"
pass "reads and the refusal are audited"
stop_vault
echo "7 passed, 0 failed"
