/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit-test helper for tests that drive vault modules over a bare vault_db
 * (no keyring): attach fixed record keys so the record layer
 * (vault_record.h) works. The daemon gets its keys from the keyring.
 */
#ifndef TV_TEST_VAULT_H
#define TV_TEST_VAULT_H

#include <string.h>

#include <sodium.h>

#include "vault_record.h"

/* Attach fixed record keys to db. Returns 0 or a tv_err. The keys live until
 * the process exits (tests only). */
static inline int tv_test_attach_record_keys(vault_db *db)
{
    static vault_rec_keys *keys;
    uint8_t k[32], id[VAULT_VAULT_ID_LEN];
    int r;
    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    memset(k, 0x42, sizeof(k));
    memset(id, 0x17, sizeof(id));
    if (!keys && (r = vault_rec_keys_new(k, id, &keys)) < 0)
        return r;
    return vault_record_attach(db, keys, NULL, NULL);
}

#endif
