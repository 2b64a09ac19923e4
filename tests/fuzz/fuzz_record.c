/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the record codec (vault_record_open), the one parser of every value
 * the host can write into data.mdb: never crash, never accept a value it did
 * not make (the input is not under the record key), and always accept and
 * round-trip one it did. Input: byte 0 picks the table, byte 1 the key
 * length, then the key, then the stored value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "vault_db.h"
#include "vault_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vault_db *g_db;

static void setup(void)
{
    char dir[] = "/tmp/tv-fuzz-record-XXXXXX";
    uint8_t k[32], id[VAULT_VAULT_ID_LEN];
    vault_rec_keys *keys = NULL;
    if (sodium_init() < 0 || !mkdtemp(dir) || vault_db_open(dir, 1 << 20, &g_db) < 0)
        abort();
    memset(k, 0x5a, sizeof(k));
    memset(id, 0xa5, sizeof(id));
    if (vault_rec_keys_new(k, id, &keys) < 0 || vault_record_attach(g_db, keys, NULL, NULL) < 0)
        abort();
    vault_rec_keys_unref(keys);
    /* Seal as a write transaction does: hold one open for the process, so
     * the codec's state version is that transaction's. */
    MDB_txn *txn = NULL;
    if (vault_db_wtxn(g_db, &txn) < 0)
        abort();
    /* The files can go; the environment stays mapped for the process. */
    char p[64];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_db)
        setup();
    if (size < 2)
        return 0;
    enum vault_tbl t = (enum vault_tbl)(data[0] % VAULT_TBL_COUNT);
    size_t kl = data[1];
    if (kl == 0 || size - 2 < kl)
        return 0;
    const uint8_t *key = data + 2;
    MDB_val stored = {size - 2 - kl, (void *)(uintptr_t)(data + 2 + kl)}, pl;
    uint64_t sv = 0;
    int r = vault_record_open(g_db, t, key, kl, &stored, &pl, &sv);
    if (r != TV_ERR_INTEGRITY)
        abort(); /* a 2^-256 forgery, or a crash-worthy bug */

    /* The same payload sealed by the codec opens, unchanged. */
    size_t plen = stored.mv_size;
    uint8_t *buf = malloc(VAULT_RECORD_OVERHEAD + plen);
    if (!buf)
        return 0;
    if (plen)
        memcpy(buf + VAULT_RECORD_HDR, stored.mv_data, plen);
    MDB_val mine = {VAULT_RECORD_OVERHEAD + plen, buf};
    if (vault_record_seal(g_db, t, key, kl, &mine) < 0 ||
        vault_record_open(g_db, t, key, kl, &mine, &pl, &sv) < 0 || pl.mv_size != plen ||
        (plen && memcmp(pl.mv_data, stored.mv_data, plen) != 0))
        abort();
    free(buf);
    return 0;
}
