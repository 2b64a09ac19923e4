/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_governance: the governance set and the rule of when it is needed.
 * Contract: vault_governance.h. The Governance service is rpc_governance.c.
 */
#include "vault_governance.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "proto_buf.h"
#include "vault_config.h"
#include "vault_functions.h"
#include "vault_record.h"

#define SET_FORMAT 1
#define SET_KEY    "gov/set"

int vault_gov_set_from_pb(const Teevault__V1__GovernanceSet *pb, vault_gov_set *out, char *err,
                          size_t errlen)
{
    vault_gov_set s;
    memset(&s, 0, sizeof s);
    if (!pb || pb->n_keys == 0 || pb->n_keys > VAULT_GOV_KEYS_MAX) {
        snprintf(err, errlen, "a governance set has 1 to %d Ed25519 public keys",
                 VAULT_GOV_KEYS_MAX);
        return TV_ERR_INVALID;
    }
    if (pb->threshold < 1 || pb->threshold > pb->n_keys) {
        snprintf(err, errlen, "the governance threshold must be 1..%zu (the number of keys)",
                 pb->n_keys);
        return TV_ERR_INVALID;
    }
    for (size_t i = 0; i < pb->n_keys; i++) {
        if (pb->keys[i].len != 32) {
            snprintf(err, errlen, "governance key %zu is not a 32-byte Ed25519 public key", i + 1);
            return TV_ERR_INVALID;
        }
        for (size_t j = 0; j < i; j++)
            if (memcmp(s.keys[j], pb->keys[i].data, 32) == 0) {
                snprintf(err, errlen, "governance key %zu is given twice", i + 1);
                return TV_ERR_INVALID;
            }
        memcpy(s.keys[i], pb->keys[i].data, 32);
    }
    s.n = (uint32_t)pb->n_keys;
    s.k = pb->threshold;
    *out = s;
    return 0;
}

int vault_gov_set_get(vault_db *db, MDB_txn *txn, vault_gov_set *out, int *found)
{
    MDB_val pl;
    proto_buf b;
    uint8_t fmt;
    uint32_t k, n;
    int r;
    memset(out, 0, sizeof *out);
    *found = 0;
    r = vault_record_get(db, txn, VAULT_TBL_META, SET_KEY, strlen(SET_KEY), &pl, NULL);
    if (r == TV_ERR_NOT_FOUND)
        return 0;
    if (r < 0)
        return r;
    proto_buf_wrap(&b, pl.mv_data, pl.mv_size);
    if (proto_buf_get_u8(&b, &fmt) < 0 || fmt != SET_FORMAT || proto_buf_get_u32(&b, &k) < 0 ||
        proto_buf_get_u32(&b, &n) < 0 || n < 1 || n > VAULT_GOV_KEYS_MAX || k < 1 || k > n ||
        proto_buf_avail(&b) != (size_t)n * 32)
        return TV_ERR_INTEGRITY;
    for (uint32_t i = 0; i < n; i++)
        if (proto_buf_get(&b, out->keys[i], 32) < 0)
            return TV_ERR_INTEGRITY;
    out->k = k;
    out->n = n;
    *found = 1;
    return 0;
}

int vault_gov_set_put(vault_db *db, MDB_txn *txn, const vault_gov_set *s)
{
    uint8_t buf[9 + VAULT_GOV_KEYS_MAX * 32];
    if (s->n < 1 || s->n > VAULT_GOV_KEYS_MAX || s->k < 1 || s->k > s->n)
        return TV_ERR_INVALID;
    buf[0] = SET_FORMAT;
    proto_put_be32(buf + 1, s->k);
    proto_put_be32(buf + 5, s->n);
    memcpy(buf + 9, s->keys, (size_t)s->n * 32);
    return vault_record_put(db, txn, VAULT_TBL_META, SET_KEY, strlen(SET_KEY), buf,
                            9 + (size_t)s->n * 32, 0);
}

int vault_gov_required(const struct vault *v)
{
    return !(v && v->cfg && v->cfg->operator_plaintext_reads);
}

int vault_gov_policy_bound_to_function(vault_db *db, MDB_txn *txn, const char *name)
{
    Teevault__V1__FunctionInfo **fns = NULL;
    size_t n = 0;
    int r, bound = 0;
    if ((r = vault_functions_list(db, txn, 0, &fns, &n)) < 0)
        return r;
    for (size_t i = 0; i < n && !bound; i++)
        for (size_t j = 0; j < fns[i]->n_acl_policies && !bound; j++)
            bound = strcmp(fns[i]->acl_policies[j], name) == 0;
    vault_functions_list_free(fns, n);
    return bound;
}

void vault_gov_key_id(const uint8_t pk[32], char out[17])
{
    sodium_bin2hex(out, 17, pk, 8);
}
