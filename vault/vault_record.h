/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_record: the one codec for every record teevault keeps in LMDB
 * (DESIGN.md §1 property 6, §8).
 *
 * Every value the vault stores in its named databases — tokens, users,
 * policies, functions, meta (keyring, state.version), secret metadata and
 * versions — is written and read through this module. A stored value is
 *
 *   u8  VAULT_RECORD_FORMAT (2)
 *   u64 state version (big-endian), see below
 *   payload (opaque to this module: each table's own encoding)
 *   tag[32]
 *
 *   tag = BLAKE2b-256 keyed with K_rec = vault_keyring_derive("teevault/record") over
 *         "teevault/record/v2" 0x00 | vault id[32] | u8 len(table name) | table name |
 *         u32be len(key) | key | the 9 header bytes | payload
 *
 * so a record is bound to this vault (its id, see vault_keyring.h), its
 * database name, its key and the record format: a record forged in place,
 * moved to another key or table, or taken from another vault does not
 * verify. A record that does not verify is TV_ERR_INTEGRITY for the request
 * that read it (and one WARN log line naming the table and the quoted key,
 * never the value); it is never treated as absent or defaulted.
 *
 * State version. A monotonic 64-bit counter kept in meta "state.version"
 * (itself such a record, payload u64be version | u64be anchor, below): every write transaction
 * begun with vault_db_wtxn / vault_db_wtxn_nohook is given the stored value + 1, writes it into the
 * header of each record it puts, and vault_db_commit stores it back just before the LMDB commit.
 * vault_state_version() is the newest committed value; issue 12's signed checkpoints bind it
 * (freshness). A stored counter older than the one this process committed is refused
 * (TV_ERR_INTEGRITY) when the next write transaction begins.
 *
 * Anchor. A record's tag proves who wrote it, not that it is the newest:
 * a host can put back an older authentic record of the same key. The
 * keyring's record (KEKs, shredded versions: vault_keyring.h) must be the
 * newest, so the state record also carries the state version the keyring
 * record was last written at ("anchor"): a keyring record restored from an
 * older copy carries an older version and is refused. Restoring the state
 * record as well rolls the whole state version back, which clients'
 * known_vaults and the witness refuse (docs/ATTESTATION.md "Freshness").
 *
 * Keys. The record key and vault id belong to the keyring (derived from the
 * root key); the keyring attaches them to the db handle (db->rec) when it is
 * made and detaches them when freed. Without them (sealed vault) every call
 * here returns TV_ERR_SEALED.
 *
 * Threading: record calls run on whichever thread holds the transaction
 * (the loop thread, the audit writer thread). The state-version fields in
 * vault_db are touched only by the holder of LMDB's single write lock;
 * vault_state_version() is an atomic read.
 */
#ifndef VAULT_RECORD_H
#define VAULT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "tv_err.h"
#include "vault_db.h"

#define VAULT_RECORD_FORMAT   2
#define VAULT_RECORD_HDR      9
#define VAULT_RECORD_TAG      32
#define VAULT_RECORD_OVERHEAD (VAULT_RECORD_HDR + VAULT_RECORD_TAG)
#define VAULT_VAULT_ID_LEN    32

/* Meta key of the state-version record. */
#define VAULT_META_STATE "state.version"

/* The tables records live in (the names are what the tag binds). */
enum vault_tbl {
    VAULT_TBL_META = 0,  /* "meta" */
    VAULT_TBL_SECRETS,   /* "secrets" */
    VAULT_TBL_VERSIONS,  /* "versions" */
    VAULT_TBL_POLICIES,  /* "policies" */
    VAULT_TBL_USERS,     /* "users" */
    VAULT_TBL_TOKENS,    /* "tokens" */
    VAULT_TBL_FUNCTIONS, /* "functions" */
    VAULT_TBL_COUNT
};

/* The record key and vault id of one root key (owned by the keyring). */
typedef struct vault_rec_keys vault_rec_keys;

/* Make the keys from the record key and the vault id (both 32 bytes; copied
 * into sodium_malloc memory). Returns 0 and *out, or TV_ERR_NOMEM. */
int vault_rec_keys_new(const uint8_t key[32], const uint8_t id[VAULT_VAULT_ID_LEN],
                       vault_rec_keys **out) TV_WUR;

/* Drop a reference (the creator holds one; a db holds one while attached);
 * the last one wipes and frees. NULL is a no-op. */
void vault_rec_keys_unref(vault_rec_keys *k);

/* The table's LMDB name and dbi. */
const char *vault_record_table_name(enum vault_tbl t);
MDB_dbi vault_record_dbi(const vault_db *db, enum vault_tbl t);

/* Encode and store `payload` under `key` in table t in write txn `txn`
 * (flags: 0 or MDB_NOOVERWRITE). Errors: TV_ERR_SEALED (no keys attached),
 * TV_ERR_INVALID, TV_ERR_EXISTS (MDB_NOOVERWRITE and the key exists),
 * TV_ERR_NOMEM, mapped LMDB errors (TV_ERR_STORAGE_FULL...). */
int vault_record_put(vault_db *db, MDB_txn *txn, enum vault_tbl t, const void *key, size_t klen,
                     const void *payload, size_t plen, unsigned flags) TV_WUR;

/* Like vault_record_put, but returns *payload pointing at plen reserved bytes
 * inside the map for the caller to fill, and *stored (the whole value): the
 * caller fills the payload and then calls vault_record_seal(db, t, key, klen,
 * stored) before any other operation in txn. vault_record_seal (re)writes
 * the header (format, this txn's state version) and the tag of a stored
 * value whose payload is in place: also for a copy the caller writes back
 * itself (mdb_cursor_put). */
int vault_record_reserve(vault_db *db, MDB_txn *txn, enum vault_tbl t, const void *key, size_t klen,
                         size_t plen, unsigned flags, uint8_t **payload, MDB_val *stored) TV_WUR;
int vault_record_seal(vault_db *db, enum vault_tbl t, const void *key, size_t klen,
                      const MDB_val *stored) TV_WUR;

/* Read the record under `key` in table t and verify it. *payload points into
 * LMDB's map: valid until txn ends or the next write in txn. *sv (may be
 * NULL) receives the state version it was written at.
 * Errors: TV_ERR_NOT_FOUND, TV_ERR_INTEGRITY (tag, binding or length wrong),
 * TV_ERR_FORMAT (another record format: an older store), TV_ERR_SEALED,
 * mapped LMDB errors. */
int vault_record_get(vault_db *db, MDB_txn *txn, enum vault_tbl t, const void *key, size_t klen,
                     MDB_val *payload, uint64_t *sv) TV_WUR;

/* Verify a stored value already fetched (cursor walks): `stored` is the
 * value under `key`. Same outputs and errors as vault_record_get. */
int vault_record_open(vault_db *db, enum vault_tbl t, const void *key, size_t klen,
                      const MDB_val *stored, MDB_val *payload, uint64_t *sv) TV_WUR;

/* Verify up to `per_table` records of every table (0: all). Used by
 * recovery to prove a recovered root key is this store's. Returns 0,
 * TV_ERR_INTEGRITY naming nothing secret, or mapped LMDB errors. */
int vault_record_check_tables(vault_db *db, MDB_txn *txn, size_t per_table) TV_WUR;

/* A number unique in this process for the keys attached to db (0: none):
 * lets caches of verified records (ACL) know they verified under these. */
uint64_t vault_record_keys_serial(const vault_db *db);

/* The newest committed state version of db (0: none yet / sealed). */
uint64_t vault_state_version(const vault_db *db);

/* The state version the write transaction in progress writes (valid only
 * inside one, for the thread holding it). */
uint64_t vault_state_version_pending(const vault_db *db);

/* The one WARN line "record_integrity" naming table t, the quoted key and
 * why (never a value), for a record refused by its reader. */
void vault_record_log_bad(enum vault_tbl t, const void *key, size_t klen, const char *why);

/* The anchor: vault_record_anchor_mark (inside a write txn, after putting
 * the keyring record) makes the txn's state version the anchor stored when
 * it commits; vault_record_anchor is the committed one (0: never marked). */
void vault_record_anchor_mark(vault_db *db);
uint64_t vault_record_anchor(const vault_db *db);

/* The tag of a record just read (vault_record_get / _open): it follows the
 * payload in the map, VAULT_RECORD_TAG bytes; unique per write (it covers
 * the random nonces of the vault's payloads). */
static inline const uint8_t *vault_record_tag_of(const MDB_val *payload)
{
    return (const uint8_t *)payload->mv_data + payload->mv_size;
}

/* Attach `k` (NULL detaches) to db, which takes a reference, and load the
 * committed state version: reads and verifies meta "state.version" in its
 * own read transaction. *found (may be NULL) is 1 when one was stored. The
 * previous keys: with prev, *prev receives them with the db's reference
 * (the caller re-attaches or unrefs them: a failed recovery puts them
 * back); without, the reference is dropped.
 * Errors: TV_ERR_INTEGRITY (the record does not verify under k), LMDB. On
 * error nothing changes. */
int vault_record_attach(vault_db *db, vault_rec_keys *k, int *found, vault_rec_keys **prev) TV_WUR;

/* Detach the keys (sealed again; drops the db's reference): record calls
 * return TV_ERR_SEALED. vault_db_close detaches. */
void vault_record_detach(vault_db *db);

/* Called by vault_db: inside a new top-level write txn (fixes its state
 * version), and just before its commit (stores it). Return 0 or a tv_err
 * (the caller aborts the txn). */
int vault_record_txn_begin(vault_db *db, MDB_txn *txn) TV_WUR;
int vault_record_txn_commit(vault_db *db, MDB_txn *txn) TV_WUR;
/* After the LMDB commit (committed = 1) or its failure. */
void vault_record_txn_done(vault_db *db, MDB_txn *txn, int committed);

#endif
