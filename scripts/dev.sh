#!/usr/bin/env bash
# The README's main command: install dependencies, build, start a development
# vault on the `sim` TEE backend (NO hardware protection) and run a short
# end-to-end demo through the real CLI. The vault keeps running afterwards
# until Ctrl-C, with the environment to use it printed.
#   --demo-only   stop the vault after the demo (used by the tests)
#   --no-build    use the binaries already in build/bin
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
