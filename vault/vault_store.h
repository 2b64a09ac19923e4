/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_store: encrypted, versioned secrets in LMDB (DESIGN.md §3, §8).
 *
 * Records. Both kinds below are the payloads of the record codec
 * (vault_record.h): stored as header | payload | tag, the tag binding them
 * to this vault, their table and their key, so a flipped flag, a record
 * moved to another name or version, or a forged record is detected
 * (TV_ERR_INTEGRITY).
 *  - "secrets" DB, key = the name's bytes (a single component, so no
 *    ambiguity; keeps names sorted for prefix listing). Payload = metadata:
 *      u8 format=1 | u8 kind 'M' | u64 current | u32 max_versions |
 *      u64 created_ms | u64 updated_ms | u32 n | n x {u64 version, u8 flags
 *      (1 deleted, 2 destroyed), u64 created_ms, u64 changed_ms}
 *    `current` is the highest version ever created; version numbers are
 *    never reused.
 *  - "versions" DB, key = u32be name_len || name || u64be version
 *    (length-delimited: `a/b`+`c` never collides with `a`+`b/c`). Payload:
 *      u8 format=1 | u8 kind 'V' | u32 epoch | wrap_nonce[24] | wrapped_dek[32+16] |
 *      value_nonce[24] | ciphertext[len+16]
 *    DEK: 32 fresh random bytes per version. Value = XChaCha20-Poly1305(DEK,
 *    AAD = "teevault/value/v1\0" || u32be name_len || name || u64be version ||
 *    'V' || format). DEK wrapped by XChaCha20-Poly1305(KEK_epoch, AAD =
 *    "teevault/dek/v1\0" || u32be name_len || name || u64be version || 'V' ||
 *    format || u32be epoch).
 *
 * Integrity: a flipped byte, a record copied from another name or version, or
 * a stale record put in place of another is reported as TV_ERR_INTEGRITY; the
 * store never returns a wrong value. Known limit: replaying an older but
 * authentic metadata record together with deleting the newer version records
 * (a whole-secret rollback) cannot be told from a genuine older state without
 * a monotonic counter; a rolled-back metadata record whose newer version
 * record still exists IS detected.
 *
 * Destroy removes the version record (wrapped DEK and ciphertext) in the same
 * transaction that marks the version destroyed, and puts the record's tag on
 * the keyring's shred list (vault_keyring.h), as pruning by max_versions
 * does: a copy of the record put back (even with the old metadata) is
 * refused with TV_ERR_INTEGRITY, and after the next completed rotation its
 * KEK no longer exists. LMDB's copy-on-write may keep the old page's bytes
 * in free pages until reused.
 *
 * Writes: each write function runs in ONE LMDB write transaction; `hook`
 * (may be NULL) runs inside it just before commit (the audit writer appends
 * its record there). A hook error aborts the write and is returned. A full map
 * gives TV_ERR_STORAGE_FULL and nothing of the write is stored.
 *
 * Threading: one store per daemon, event-loop thread only (it caches a read
 * transaction handle).
 */
#ifndef VAULT_STORE_H
#define VAULT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tv_err.h"
#include "vault_db.h"
#include "vault_keyring.h"

#define VAULT_STORE_DEFAULT_MAX_VALUE    ((size_t)1 << 20) /* 1 MiB */
#define VAULT_STORE_DEFAULT_MAX_VERSIONS 10
#define VAULT_STORE_MAX_VERSIONS_LIMIT   1000
#define VAULT_STORE_LIST_DEFAULT         100
#define VAULT_STORE_LIST_MAX             1000
#define VAULT_CAS_NONE                   (-1)

typedef struct vault_store vault_store;

typedef struct vault_store_opts {
    size_t max_value_len;          /* 0 = VAULT_STORE_DEFAULT_MAX_VALUE */
    uint32_t default_max_versions; /* 0 = VAULT_STORE_DEFAULT_MAX_VERSIONS */
} vault_store_opts;

/* Create a store over db and kr (both must outlive it). opts may be NULL.
 * Errors: TV_ERR_INVALID (limits out of range), TV_ERR_NOMEM. */
int vault_store_open(vault_db *db, vault_keyring *kr, const vault_store_opts *opts,
                     vault_store **out) TV_WUR;
void vault_store_free(vault_store *s);

typedef struct vault_put_opts {
    /* VAULT_CAS_NONE: no check; 0: the secret must not exist; n > 0: the
     * secret's current (highest) version must be n. */
    int64_t cas;
    /* 0: keep the secret's setting (store default for a new secret);
     * 1..VAULT_STORE_MAX_VERSIONS_LIMIT: set it (older versions are pruned). */
    uint32_t max_versions;
    /* NULL: the put runs in a write transaction of its own and commits it.
     * Else it runs inside this caller's write transaction (the audit
     * writer's group commit), which it leaves open: the caller commits, or
     * aborts on error. */
    MDB_txn *txn;
    /* 1: the caller may not destroy history: a max_versions lower than the
     * secret's setting that would prune versions is refused (TV_ERR_DENIED),
     * nothing stored. Pruning by the setting the secret already has is
     * retention, not a destroy, and is allowed. */
    int keep_history;
} vault_put_opts;

/* Store a new version of `name` (NUL-terminated). opts may be NULL (no CAS).
 * On success *version (may be NULL) is the new version number (1, 2, ...).
 * NOTE: *version is written just before `hook` runs, so the hook (the audit
 * record) can name the version; after a failure its value means nothing.
 * Versions beyond max_versions are pruned, oldest first (their records are
 * removed; get says TV_ERR_NOT_FOUND for them).
 * Errors: TV_ERR_INVALID (bad name, bad max_versions), TV_ERR_TOO_LARGE (value
 * over the limit, or name over 512 bytes), TV_ERR_CAS, TV_ERR_DENIED
 * (keep_history and the new max_versions would prune), TV_ERR_INTEGRITY
 * (stored metadata tampered), TV_ERR_STORAGE_FULL, TV_ERR_IO, hook's error. */
int vault_store_put(vault_store *s, const char *name, const uint8_t *value, size_t value_len,
                    const vault_put_opts *opts, vault_txn_hook hook, void *hook_arg,
                    uint64_t *version) TV_WUR;

/* Read `version` of name (0 = the latest live version: the highest version
 * neither deleted nor destroyed). On success *value is sodium_malloc'ed
 * (>= 1 byte even when *value_len == 0): release with vault_store_free_value.
 * *version_out (may be NULL) is the version returned.
 * Errors: TV_ERR_NOT_FOUND (no such secret or version, or pruned),
 * TV_ERR_DELETED / TV_ERR_DESTROYED (that version, or for version 0: no live
 * version and the newest is deleted / destroyed), TV_ERR_INTEGRITY (tampered
 * record), TV_ERR_FORMAT, TV_ERR_INVALID (bad name), TV_ERR_NOMEM, TV_ERR_IO. */
int vault_store_get(vault_store *s, const char *name, uint64_t version, uint8_t **value,
                    size_t *value_len, uint64_t *version_out) TV_WUR;

/* As vault_store_get, decrypting into the caller's buffer (cap bytes; keep it
 * in sodium_malloc memory and wipe it). TV_ERR_TOO_LARGE when cap is too small
 * (*value_len is then set to the size needed). No allocation: the fast path. */
int vault_store_get_into(vault_store *s, const char *name, uint64_t version, uint8_t *buf,
                         size_t cap, size_t *value_len, uint64_t *version_out) TV_WUR;

/* Wipe and free a value from vault_store_get. NULL is a no-op. */
void vault_store_free_value(uint8_t *value);

typedef struct vault_version_info {
    uint64_t version;
    uint64_t created_ms;
    uint64_t changed_ms; /* time of the last delete/undelete/destroy, 0 if none */
    uint32_t kek_epoch;  /* epoch its DEK is wrapped under; 0 when destroyed */
    int deleted;
    int destroyed;
} vault_version_info;

typedef struct vault_secret_info {
    uint64_t current; /* highest version created */
    uint32_t max_versions;
    uint64_t created_ms;
    uint64_t updated_ms;
    size_t n_versions;
    vault_version_info *versions; /* malloc'ed, oldest first */
} vault_secret_info;

/* Does name exist (has a metadata record)? Returns 1, 0, or TV_ERR_INVALID
 * (bad name), TV_ERR_INTEGRITY (tampered metadata), TV_ERR_IO. */
int vault_store_exists(vault_store *s, const char *name) TV_WUR;

/* Metadata only (no decryption). Release with vault_secret_info_clear.
 * Errors: TV_ERR_NOT_FOUND, TV_ERR_INTEGRITY, TV_ERR_FORMAT, TV_ERR_INVALID,
 * TV_ERR_NOMEM, TV_ERR_IO. */
int vault_store_describe(vault_store *s, const char *name, vault_secret_info *out) TV_WUR;
void vault_secret_info_clear(vault_secret_info *info);

typedef struct vault_list {
    size_t n;
    char **names;      /* n malloc'ed NUL-terminated names, sorted bytewise */
    uint64_t *current; /* n current versions */
    char *next_cursor; /* malloc'ed opaque cursor for the next page, NULL at the end */
} vault_list;

/* List names starting with prefix ("" or NULL = all), after `cursor` (from a
 * previous page; NULL/"" = from the start), at most limit (0 = 100, capped at
 * 1000). Release with vault_list_clear.
 * Errors: TV_ERR_INVALID (bad prefix or cursor), TV_ERR_INTEGRITY, TV_ERR_NOMEM,
 * TV_ERR_IO. */
int vault_store_list(vault_store *s, const char *prefix, const char *cursor, size_t limit,
                     vault_list *out) TV_WUR;
void vault_list_clear(vault_list *l);

/* Soft-delete versions (n == 0: the latest live version). Deleting a deleted
 * or destroyed version is a no-op. Errors: TV_ERR_NOT_FOUND (secret or a
 * version), TV_ERR_INTEGRITY, TV_ERR_STORAGE_FULL, TV_ERR_IO, hook's error. */
int vault_store_delete(vault_store *s, const char *name, const uint64_t *versions, size_t n,
                       vault_txn_hook hook, void *hook_arg) TV_WUR;

/* Undelete versions (n >= 1; an undeleted version is a no-op).
 * Errors: as delete, plus TV_ERR_DESTROYED (a version was destroyed) and
 * TV_ERR_INVALID (n == 0). */
int vault_store_undelete(vault_store *s, const char *name, const uint64_t *versions, size_t n,
                         vault_txn_hook hook, void *hook_arg) TV_WUR;

/* Destroy versions (n == 0: every version): the version record with its
 * wrapped DEK and ciphertext is removed, the metadata marks it destroyed.
 * Irreversible. Errors: as delete. */
int vault_store_destroy(vault_store *s, const char *name, const uint64_t *versions, size_t n,
                        vault_txn_hook hook, void *hook_arg) TV_WUR;

/* After vault_keyring_rotate: re-wrap every DEK not under the current epoch
 * (in transactions of up to 256 records). *rewrapped (may be NULL) counts
 * them. Errors: TV_ERR_INTEGRITY (a record failed to unwrap; earlier batches
 * stay committed), TV_ERR_STORAGE_FULL, TV_ERR_IO, TV_ERR_NOMEM. */
int vault_store_rewrap_all(vault_store *s, uint64_t *rewrapped) TV_WUR;

/* Where a resumable re-wrap stands. Zero-initialise before the first step. */
typedef struct vault_rewrap_pos {
    uint8_t last[4 + 512 + 8]; /* the last version key visited (VKEY_MAX) */
    size_t last_len;
    int started;
    int done;           /* every version has been visited */
    uint64_t rewrapped; /* DEKs re-wrapped so far */
    uint64_t visited;   /* versions visited so far */
} vault_rewrap_pos;

/* One bounded step of the re-wrap: one write transaction that visits at most
 * max_visit versions after pos and re-wraps those not under the current
 * epoch, then commits. Other requests run between steps (the daemon runs one
 * step per event-loop turn, vault_rotate.c); versions written meanwhile are
 * already under the current epoch. Errors: as vault_store_rewrap_all (pos is
 * left at the last committed step). */
int vault_store_rewrap_step(vault_store *s, vault_rewrap_pos *pos, size_t max_visit) TV_WUR;

#endif
