#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Least privilege (issue 13), attacker tests against the real daemon with the
# real CLI. Each block does what a delegated administrator would try and
# asserts it is refused:
#   1. a team lead attaches a policy it does not hold (user add, token create),
#      takes over a stronger account (passwd), rewrites its own policy;
#   2. a helpdesk glob for token lookup/revoke that also matched creation;
#   4. child tokens outliving their parent and their user; audit without user;
#   5. erasing history with --max-versions and only update;
#   6. existence oracles: List under a denied subtree, Put's error, Explain.
# A legitimate path is checked next to each refusal, so a test that refuses
# everything fails too.
#
# TV_SHOW_ALL=1 keeps going after a failed check and counts the failures (to
# show, against an older build via TV_BIN, which attacks it lets through).
. "$(dirname "$0")/cli_lib.sh"
FAILS=0
if [ -n "${TV_SHOW_ALL:-}" ]; then
  fail() {
    echo "FAIL $*" | head -c 400
    echo
    FAILS=$((FAILS + 1))
  }
fi
cli_init
start_dev
ROOT="--token-file=$ROOT_TOKEN_FILE"

# --- the vault as an organisation would set it up (root) -------------------
for s in hr/salaries payments/db other/x; do
  tv_in "value-of-$s" "$ROOT" kv put "$s"
  [ "$RC" -eq 0 ] || fail "put $s: $ERR"
done
for i in 2 3; do
  tv_in "payments-db-v$i" "$ROOT" kv put payments/db
  [ "$RC" -eq 0 ] || fail "put payments/db v$i: $ERR"
done
cat >"$T/ops.hcl" <<'POL'
path "**"     { capabilities = ["read", "list", "create", "update", "delete", "destroy"] }
path "sys/**" { capabilities = ["admin"] }
POL
cat >"$T/payments.hcl" <<'POL'
path "payments/**" { capabilities = ["read", "list", "create", "update"] }
POL
# The team lead manages the team's users and may hand out "payments"; it may
# not read hr/ and is bound to payments-lead, which it can see but not write.
cat >"$T/lead.hcl" <<'POL'
path "sys/auth/user/payments-*" { capabilities = ["admin"] }
path "sys/policy/payments"      { capabilities = ["read"] }
path "sys/policy/payments-*"    { capabilities = ["admin", "read"] }
path "payments/**"              { capabilities = ["read", "list"] }
POL
# (a policy of its own, so the rest of the set-up also loads on a build
# without the grant capability: TV_SHOW_ALL against old code)
cat >"$T/lead-grant.hcl" <<'POL'
path "sys/policy/payments" { capabilities = ["grant"] }
POL
cat >"$T/everything.hcl" <<'POL'
path "**" { capabilities = ["read", "list", "create", "update", "delete", "destroy", "admin"] }
POL
expect_rc 0 "$ROOT" policy write ops "$T/ops.hcl"
expect_rc 0 "$ROOT" policy write payments "$T/payments.hcl"
expect_rc 0 "$ROOT" policy write payments-lead "$T/lead.hcl"
expect_rc 0 "$ROOT" policy write lead-grant "$T/lead-grant.hcl"
printf 'lead password\n' >"$T/lead.pw"
expect_rc 0 "$ROOT" user add lead --policy=payments-lead --policy=lead-grant \
  --password-file="$T/lead.pw"
expect_rc 0 login lead --password-file="$T/lead.pw" --token-out="$T/lead.tok"
LEAD="--token-file=$T/lead.tok"

# --- 1. grant only what you hold ---------------------------------------------
printf 'eve password\n' >"$T/eve.pw"
expect_rc 4 "$LEAD" user add payments-eve --policy=ops --password-file="$T/eve.pw"
expect_in 'cannot attach policy "ops"' "$ERR"
# the rest of the attack: log in as that user, mint a 30-day token, read hr/
expect_rc 4 login payments-eve --password-file="$T/eve.pw" --token-out="$T/eve.tok"
tv --token-file="$T/eve.tok" token create --ttl=30d --token-out="$T/eve30.tok"
tv --token-file="$T/eve30.tok" kv get hr/salaries
case "$OUT" in *value-of*) fail "read hr/salaries through a user the lead made: $OUT" ;; esac
expect_rc 0 "$ROOT" user list --format=json
case "$OUT" in *payments-eve*) fail "the refused user was created: $OUT" ;; esac
expect_rc 4 "$LEAD" token create --policy=ops --ttl=30d --token-out="$T/ops.tok"
expect_in 'cannot attach policy "ops"' "$ERR"
[ ! -e "$T/ops.tok" ] || fail "an ops token was written"
# what the lead was given works: a team member bound to payments (grant)
expect_rc 0 "$LEAD" user add payments-bob --policy=payments --password-file="$T/eve.pw"
pass "lead cannot attach ops to a user or a token; can attach payments (grant)"

# taking over an account is taking its policies
expect_rc 0 "$ROOT" user add payments-admin --policy=ops --password-file="$T/eve.pw"
expect_rc 4 "$LEAD" user passwd payments-admin --password-file="$T/lead.pw"
expect_in 'cannot attach policy "ops"' "$ERR"
expect_rc 4 login payments-admin --password-file="$T/lead.pw" --token-out="$T/x.tok"
expect_rc 0 "$LEAD" user passwd payments-bob --password-file="$T/lead.pw"
pass "lead cannot set the password of a user stronger than itself"

# its own policy: readable, not writable
expect_rc 0 "$LEAD" policy read payments-lead
expect_rc 4 "$LEAD" policy write payments-lead "$T/everything.hcl"
expect_in "is bound to policy" "$ERR"
tv "$LEAD" kv get hr/salaries
case "$OUT" in *value-of*) fail "lead rewrote its own policy and read hr/salaries" ;; esac
expect_rc 4 "$LEAD" policy delete payments-lead
expect_rc 4 "$LEAD" kv get hr/salaries
case "$OUT" in *value-of*) fail "lead read hr/salaries" ;; esac
expect_rc 0 "$ROOT" policy read payments-lead
expect_in 'sys/auth/user/payments-*' "$OUT"
# writing another team policy is allowed; handing it out is not (no grant)
expect_rc 0 "$LEAD" policy write payments-ci "$T/everything.hcl"
expect_rc 4 "$LEAD" user add payments-ci --policy=payments-ci --password-file="$T/eve.pw"
expect_in 'cannot attach policy "payments-ci"' "$ERR"
pass "lead cannot rewrite or delete the policy it is bound to, nor hand out one it wrote"

# --- 2. token namespace: lookup/revoke apart from creation ------------------
cat >"$T/old-helpdesk.hcl" <<'POL'
path "sys/auth/token/*" { capabilities = ["admin"] }
POL
expect_rc 1 "$ROOT" policy write helpdesk "$T/old-helpdesk.hcl"
expect_in 'retired token namespace' "$ERR"
expect_in 'sys/auth/tokens/' "$ERR"
expect_in 'sys/auth/token-create' "$ERR"
cat >"$T/helpdesk.hcl" <<'POL'
path "sys/auth/tokens/*" { capabilities = ["admin"] }
POL
expect_rc 0 "$ROOT" policy write helpdesk "$T/helpdesk.hcl"
expect_rc 0 "$ROOT" token create --policy=helpdesk --token-out="$T/hd.tok"
HD="--token-file=$T/hd.tok"
LEAD_ID=$(TEEVAULT_TOKEN=$(cat "$T/lead.tok") "$TV" token lookup --format=json |
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token_id"])')
[ -n "$LEAD_ID" ] || fail "no lead token id"
expect_rc 0 "$HD" token lookup "$LEAD_ID"
expect_rc 4 "$HD" token create --policy=ops --token-out="$T/hd-ops.tok"
expect_in 'sys/auth/token-create' "$ERR"
[ ! -e "$T/hd-ops.tok" ] || fail "helpdesk minted an ops token"
pass "helpdesk looks tokens up, cannot mint one with other policies; old glob refused"

# --- 4. token hierarchy ----------------------------------------------------------
expect_rc 0 "$LEAD" token create --token-out="$T/child.tok"
expect_rc 0 --token-file="$T/child.tok" token create --token-out="$T/grandchild.tok"
expect_rc 0 --token-file="$T/grandchild.tok" token lookup --format=json
[ "$(json user)" = lead ] || fail "grandchild does not name its user: $OUT"
[ -n "$(json parent)" ] || fail "grandchild does not name its parent: $OUT"
GC_ID=$(json token_id)
expect_rc 0 --token-file="$T/child.tok" kv get payments/db
expect_rc 0 "$ROOT" audit list --principal "user:lead" --format=json
expect_in "token:$GC_ID" "$OUT"
expect_rc 0 "$HD" token revoke "$LEAD_ID"
expect_rc 4 --token-file="$T/child.tok" kv get payments/db
expect_rc 4 --token-file="$T/grandchild.tok" token lookup
pass "revoking a parent revokes its children and grandchildren; audit names user and token"

expect_rc 0 login lead --password-file="$T/lead.pw" --token-out="$T/lead2.tok"
expect_rc 0 --token-file="$T/lead2.tok" token create --token-out="$T/child2.tok"
expect_rc 0 "$ROOT" user delete lead
expect_rc 4 --token-file="$T/child2.tok" token lookup
expect_rc 4 --token-file="$T/lead2.tok" token lookup
pass "deleting a user revokes its tokens' children"

# --- 5. history is destroyed only by destroy --------------------------------------
cat >"$T/writer.hcl" <<'POL'
path "payments/**" { capabilities = ["read", "update", "create", "list"] }
POL
expect_rc 0 "$ROOT" policy write writer "$T/writer.hcl"
expect_rc 0 "$ROOT" token create --policy=writer --token-out="$T/w.tok"
tv_in 'v4' --token-file="$T/w.tok" kv put payments/db --max-versions=1
[ "$RC" -eq 4 ] || fail "update-only token lowered max_versions (exit $RC)"
expect_in "destroy" "$ERR"
expect_rc 0 "$ROOT" kv describe payments/db --format=json
[ "$(json versions | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3 ] ||
  fail "versions lost: $OUT"
expect_rc 0 "$ROOT" kv get payments/db --version=1
tv_in 'v4' --token-file="$T/w.tok" kv put payments/db
[ "$RC" -eq 0 ] || fail "plain update refused: $ERR"
tv_in 'v5' "$ROOT" kv put payments/db --max-versions=1
[ "$RC" -eq 0 ] || fail "root (destroy) could not lower max_versions: $ERR"
expect_rc 0 "$ROOT" audit list --secret payments/db --format=json
expect_in "destroy: max_versions 1 prunes versions 1-4" "$OUT"
pass "lowering max_versions needs destroy and is audited as one"

# --- 6. no existence oracles --------------------------------------------------------
cat >"$T/lister.hcl" <<'POL'
path "**"    { capabilities = ["list"] }
path "hr/**" { capabilities = ["deny"] }
POL
expect_rc 0 "$ROOT" policy write lister "$T/lister.hcl"
expect_rc 0 "$ROOT" token create --policy=lister --token-out="$T/l.tok"
expect_rc 0 --token-file="$T/l.tok" kv list ""
expect_in "payments/db" "$OUT"
case "$OUT" in *hr/*) fail "List shows names under a denied subtree: $OUT" ;; esac
tv_in 'x' --token-file="$T/l.tok" kv put hr/salaries
E1=${ERR//hr\/salaries/NAME}
RC1=$RC
tv_in 'x' --token-file="$T/l.tok" kv put hr/no-such-secret
E2=${ERR//hr\/no-such-secret/NAME}
[ "$RC1" -eq 4 ] && [ "$RC" -eq 4 ] || fail "put under hr/ allowed ($RC1, $RC)"
[ "$E1" = "$E2" ] || fail "Put's error tells whether a name exists: '$E1' vs '$E2'"
expect_rc 4 --token-file="$T/l.tok" acl explain --user no-such-user app/x
E1=${ERR//no-such-user/NAME}
expect_rc 4 --token-file="$T/l.tok" acl explain --user payments-bob app/x
E2=${ERR//payments-bob/NAME}
[ "$E1" = "$E2" ] || fail "Explain tells whether a user exists: '$E1' vs '$E2'"
expect_in "sys/acl/explain" "$E1"
expect_rc 3 "$ROOT" acl explain --user no-such-user app/x
expect_in "no user" "$ERR"
pass "List filters denied names; Put and Explain answer the same for absent names"

[ "$FAILS" -eq 0 ] || tv_fail "$FAILS checks failed"
echo "PASS ($CHECKS checks)"
