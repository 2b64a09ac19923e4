/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_governance: dual control over where plaintext flows (issue 13,
 * docs/POLICIES.md "Governance").
 *
 * A governance set is n Ed25519 public keys and a threshold k, set at
 * `operator init` (Sys.Initialize) and changed only through governance
 * itself. When operator plaintext reads are off, a change that decides who
 * can receive plaintext — a function's identity policy or ACL bindings, a
 * policy bound to any function, the governance set — is refused as a direct
 * write; it is proposed (a pending change with a canonical document), signed
 * offline by k distinct keys of the set, and applied with the signatures.
 * With plaintext reads on (--dev) no quorum is needed.
 *
 * Signed bytes: "teevault-governance-v1\0" || document. The document names
 * the vault id, the change id and the SHA-256 of the governance set in force
 * when it was proposed, so a signature cannot be replayed on another vault,
 * another change, or after the set changed.
 *
 * Storage (meta table, vault_record-authenticated):
 *   "gov/set"        u8 1 | u32 k | u32 n | n x 32-byte keys
 *   "gov/p/<id>"     u8 1 | i64 created | lv proposer | lv kind |
 *                    lv packed GovernanceChange | lv document
 * Threading: event-loop thread, within the caller's transactions.
 */
#ifndef VAULT_GOVERNANCE_H
#define VAULT_GOVERNANCE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "teevault.pb-c.h"
#include "vault.h"
#include "vault_db.h"

#define VAULT_GOV_KEYS_MAX    16
#define VAULT_GOV_ID_LEN      16 /* hex digits */
#define VAULT_GOV_PENDING_MAX 64
#define VAULT_GOV_DOMAIN      "teevault-governance-v1"

typedef struct vault_gov_set {
    uint32_t k, n;
    uint8_t keys[VAULT_GOV_KEYS_MAX][32];
} vault_gov_set;

/* Validate a set from a request (distinct 32-byte keys, 1 <= k <= n <= 16).
 * Errors: TV_ERR_INVALID with err. */
int vault_gov_set_from_pb(const Teevault__V1__GovernanceSet *pb, vault_gov_set *out, char *err,
                          size_t errlen) TV_WUR;

/* Read the set (txn may be read-only). *found = 0 and a zeroed set when none. */
int vault_gov_set_get(vault_db *db, MDB_txn *txn, vault_gov_set *out, int *found) TV_WUR;

/* Store the set inside write txn. */
int vault_gov_set_put(vault_db *db, MDB_txn *txn, const vault_gov_set *s) TV_WUR;

/* 1 when direct changes that decide who receives plaintext must go through
 * governance (operator plaintext reads off), else 0. */
int vault_gov_required(const struct vault *v);

/* 1 when policy `name` is bound to a registered function (txn read or
 * write), 0 when not, or a storage error. */
int vault_gov_policy_bound_to_function(vault_db *db, MDB_txn *txn, const char *name) TV_WUR;

/* Key id of a public key: hex of its first 8 bytes (17 bytes with NUL). */
void vault_gov_key_id(const uint8_t pk[32], char out[17]);

#endif
