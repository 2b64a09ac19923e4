#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: python3 nodejs
# The README's main command: install dependencies, build, start a development
# vault on the `sim` TEE backend (NO hardware protection) and run a short
# end-to-end demo through the real CLI. The vault keeps running afterwards
# until Ctrl-C, with the environment to use it printed.
#   --demo-only   stop the vault after the demo (used by the tests)
#   --no-build    use the binaries already in build/bin
# The function example needs Node.js/npm and python3-grpcio/-nacl (deps.sh)
# and installs its npm packages into build/node (scripts/npm-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
demo_only=0
build=1
for a in "$@"; do
  case "$a" in
    --demo-only) demo_only=1 ;;
    --no-build) build=0 ;;
    *) echo "usage: $0 [--demo-only] [--no-build]" >&2; exit 2 ;;
  esac
done
if [ $build -eq 1 ]; then
  ./scripts/deps.sh
  ./scripts/build.sh
fi
BIN=${TV_BIN:-$PWD/build/bin}
DIR=$(mktemp -d /tmp/teevault-dev.XXXXXX)
SOCK=$DIR/teevault.sock
"$BIN/teevaultd" --dev --state-dir "$DIR/state" --socket "$SOCK" >"$DIR/teevaultd.log" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
for _ in $(seq 100); do
  [ -S "$SOCK" ] && [ -s "$DIR/state/root-token" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$DIR/teevaultd.log" >&2; exit 1; }
  sleep 0.1
done

export TEEVAULT_ADDR=unix:$SOCK
export TEEVAULT_TOKEN_FILE=$DIR/state/root-token
tv() { "$BIN/teevault" --token-file "$TEEVAULT_TOKEN_FILE" "$@"; }
step() { printf '\n\033[1m$ teevault %s\033[0m\n' "$*"; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step status
tv status

step "kv put app/db/password   (value from stdin, never argv)"
printf 's3cr3t-canary' | tv kv put app/db/password
printf 'v2-canary' | tv kv put app/db/password
printf 'other' | tv kv put ops/pager-key

step "kv get app/db/password --version 1"
tv kv get app/db/password --version 1; echo
step "kv get app/db/password"
tv kv get app/db/password; echo
step "kv list app/"
tv kv list app/

step "policy write app-read   (read app/**, nothing else)"
printf 'path "app/**" { capabilities = ["read", "list"] }\n' >"$DIR/app-read.hcl"
tv policy write app-read "$DIR/app-read.hcl"
tv token create --policy app-read --ttl 10m --token-out "$DIR/app-token" >/dev/null
echo "token with policy app-read written to a 0600 file"

step "kv get app/db/password   (as app-read)"
"$BIN/teevault" --token-file "$DIR/app-token" kv get app/db/password; echo
step "kv get ops/pager-key     (as app-read: refused by policy)"
if "$BIN/teevault" --token-file "$DIR/app-token" kv get ops/pager-key; then
  echo "demo: expected a denial" >&2; exit 1
fi

step "audit list --limit 5"
tv audit list --limit 5 || true

# ---- The function example (issue 15; examples/functions): attested functions
# in sandboxes reading their secret with secrets.get, and one refused.
EX=examples/functions
export NODE_PATH
NODE_PATH=$(./scripts/npm-deps.sh "${TV_NODE_DIR:-$PWD/build/node}")
export TEEVAULT_PY_STUBS=${TEEVAULT_PY_STUBS:-$PWD/build/py-stubs}
PLAT=$DIR/state # the vault's sim platform dir (its state dir under --dev)
sim_policy() { # sim_policy MEASUREMENT CODE_HASH: identity policy pinning both
  printf '{"evidence_type":"sim","measurement":"%s","signer":"%s","code_hash":"%s"}\n' \
    "$1" "$(printf teevault-sim-signer | sha256sum | cut -d' ' -f1)" "$2"
}
sim_policy "$(node $EX/runtime.js --print-measurement)" \
  "$(node $EX/runtime.js --print-code-hash $EX/functions/fetch_price.js)" >"$DIR/price-feed.json"
sim_policy "$(/usr/bin/python3 $EX/py_runtime.py --print-measurement)" \
  "$(/usr/bin/python3 $EX/py_runtime.py --print-code-hash $EX/functions/fetch_price.py)" >"$DIR/price-feed-py.json"
# news-feed runs the same code, but its ACL only reaches app/news/*.
sim_policy "$(node $EX/runtime.js --print-measurement)" \
  "$(node $EX/runtime.js --print-code-hash $EX/functions/fetch_price.js)" >"$DIR/news-feed.json"
printf 'path "app/price-feed/*" { capabilities = ["read"] }\n' >"$DIR/price-feed-read.hcl"
printf 'path "app/news/*" { capabilities = ["read"] }\n' >"$DIR/news-read.hcl"

step "function register price-feed --policy price-feed.json --acl price-feed-read"
cat "$DIR/price-feed.json"
tv policy write price-feed-read "$DIR/price-feed-read.hcl"
tv policy write news-read "$DIR/news-read.hcl"
tv function register price-feed --policy "$DIR/price-feed.json" --acl price-feed-read
tv function register price-feed-py --policy "$DIR/price-feed-py.json" --acl price-feed-read
tv function register news-feed --policy "$DIR/news-feed.json" --acl news-read

step "kv put app/price-feed/exchange_api_key"
printf 'demo-exchange-key-123' | tv kv put app/price-feed/exchange_api_key

say "node $EX/runtime.js --name price-feed --code $EX/functions/fetch_price.js --entry fetchPriceData --args '[\"NEO\"]'   (QuickJS sandbox)"
cat $EX/functions/fetch_price.js
node $EX/runtime.js --name price-feed --code $EX/functions/fetch_price.js \
  --entry fetchPriceData --args '["NEO"]' --tee sim --tee-root "$PLAT"

say "python3 $EX/py_runtime.py --name price-feed-py --code $EX/functions/fetch_price.py --entry fetch_price_data --args '[\"NEO\"]'   (child process)"
/usr/bin/python3 $EX/py_runtime.py --name price-feed-py --code $EX/functions/fetch_price.py \
  --entry fetch_price_data --args '["NEO"]' --tee sim --tee-root "$PLAT"

say "node $EX/runtime.js --name news-feed ...   (the same code as another function; its ACL: app/news/* only: refused)"
if node $EX/runtime.js --name news-feed --code $EX/functions/fetch_price.js \
  --entry fetchPriceData --args '["NEO"]' --tee sim --tee-root "$PLAT"; then
  echo "demo: expected news-feed to be refused" >&2; exit 1
fi

step "audit list --secret app/price-feed/exchange_api_key"
tv audit list --secret app/price-feed/exchange_api_key

if [ $demo_only -eq 1 ]; then
  echo; echo "demo finished."
  exit 0
fi
cat <<EOT

The development vault keeps running (Ctrl-C stops it and deletes $DIR):
  export TEEVAULT_ADDR=unix:$SOCK
  export TEEVAULT_TOKEN=\$(cat $DIR/state/root-token)
  $BIN/teevault --help
EOT
wait "$PID"
