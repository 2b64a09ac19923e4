/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_keyring: the root key RK and the keys derived from it (DESIGN.md §3).
 *
 * RK is 32 random bytes made at init, kept only in sodium_malloc memory and
 * stored only sealed (seal_blob under the caller's sealing policy, ad
 * "teevault/rk/v2" || vault id) in the meta DB under key "rk.sealed". At
 * start vault_keyring_open unseals it (auto-unseal).
 *
 * Vault id = derive("teevault/id"): public, stored in clear in meta
 * "vault.id" (so the sealed blob's and the escrow's ad can be rebuilt before
 * unsealing); after unsealing, the key must derive the stored id
 * (TV_ERR_INTEGRITY otherwise). Store format: meta "format" = one byte
 * VAULT_STORE_FORMAT; a store without it or with another value is refused
 * (TV_ERR_FORMAT, logged with what to do; no migration, docs/DECISIONS.md).
 * Record key = derive("teevault/record"): the keyring attaches it with the
 * vault id to the db (vault_record.h) when it is made, so every record the
 * vault reads and writes is authenticated under it.
 *
 * KDF: HKDF-SHA256 (RFC 5869), seal_kdf.h (the tree's one HKDF).
 *   PRK   = HKDF-Extract(salt = "teevault-hkdf-v1", IKM = RK)   (kept in sodium_malloc)
 *   derive(label) = HKDF-Expand(PRK, info = label, 32)
 *
 * KEKs (issue 12: destroy that holds against a disk copy). A KEK is 32
 * random bytes per epoch, not derivable from RK: it exists only wrapped in
 * the keyring record and in this process's memory, so erasing it makes
 * every DEK wrapped under it unrecoverable, even with RK and every old
 * record. Keyring record: meta "keyring" (a record, vault_record.h):
 *   u8 1 | u32 epoch | u32 oldest live epoch | u64 shred count | shred head[32] |
 *   per live epoch oldest..epoch: nonce[24] | XChaCha20-Poly1305(KW, KEK)[48]
 * KW = derive("teevault/kek-wrap"), AD = "teevault/kek/v3" || vault id ||
 * u32be epoch. It is the state's anchor (vault_record.h): a keyring record
 * restored from an older copy (with KEKs erased since) is refused.
 *
 * Shredded versions. Destroying (or pruning) a version removes its record
 * and appends {u32 epoch, the record's tag} to a list: meta "shred/" ||
 * u64be i for i = 1..count, chained (head = BLAKE2b(... head || i || epoch
 * || tag)) into the keyring record. A version record whose tag is on the
 * list is refused (TV_ERR_INTEGRITY): an old copy of a destroyed version
 * put back in the store is never served, while its KEK still lives. When a
 * rotation's re-wrap has visited every version, vault_keyring_retire erases
 * the older epochs' KEKs and drops their list entries (those records can no
 * longer be decrypted at all).
 *
 * Epoch: the current KEK epoch starts at 1; at most VAULT_KEK_LIVE_MAX are
 * live at once (a rotation is refused until the previous one's re-wrap
 * completed and retired the older ones).
 *
 * Recovery escrow (meta "rk.escrow"): RK wrapped under an Argon2id key of a
 * recovery passphrase. Layout (big-endian):
 *   "TVES" | u8 format=2 | u8 alg=1 (Argon2id v1.3) | u32 t_cost | u32 m_cost_kib |
 *   u32 parallelism | salt[16] | nonce[24] | XChaCha20-Poly1305(RK)[32+16]
 * with the AEAD's associated data = every byte before the ciphertext || vault id.
 * Parameters: t=3, m=64 MiB, p=1; when reading, anything outside t 3..64,
 * m 64 MiB..1 GiB, p 1..16 is refused (TV_ERR_FORMAT), so a tampered blob can
 * neither weaken nor blow up the derivation.
 *
 * Threading: one keyring per daemon, used from the event-loop thread.
 */
#ifndef VAULT_KEYRING_H
#define VAULT_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "seal.h"
#include "tv_err.h"
#include "vault_db.h"

#define VAULT_KEY_LEN 32
/* The store format this build reads and writes (meta "format", one byte). */
#define VAULT_STORE_FORMAT 3
/* KEK epochs live at once (current and those still being re-wrapped from). */
#define VAULT_KEK_LIVE_MAX 8
/* Generated recovery passphrases: 8 groups of 5 base32 chars joined by '-'. */
#define VAULT_PASSPHRASE_LEN 47 /* without NUL */

#define VAULT_ARGON2_T     3
#define VAULT_ARGON2_M_KIB (64u * 1024u)
#define VAULT_ARGON2_P     1

typedef struct vault_keyring vault_keyring;

/* Is there a sealed root key in db? Returns 1 (yes), 0 (no) or a tv_err. */
int vault_keyring_exists(vault_db *db) TV_WUR;

/* Initialise: make RK, seal it under `policy` with `seal`, store it, set
 * epoch 1, and (if passphrase != NULL) store the recovery escrow — all in one
 * write transaction; `hook` (may be NULL) runs inside it before commit.
 * The keyring keeps pointers to db and seal (both must outlive it).
 * Errors: TV_ERR_EXISTS (already initialised), TV_ERR_INVALID (bad policy or
 * empty passphrase), seal/LMDB errors (TV_ERR_STORAGE_FULL, TV_ERR_IO), the
 * hook's error, TV_ERR_NOMEM, TV_ERR_CRYPTO. Nothing is stored on error. */
int vault_keyring_init(vault_db *db, seal_backend *seal, enum seal_policy policy,
                       const char *passphrase, size_t passphrase_len, vault_txn_hook hook,
                       void *hook_arg, vault_keyring **out) TV_WUR;

/* Open: unseal RK from the meta DB and read the epoch.
 * Errors: TV_ERR_NOT_INITIALISED (no sealed root key), TV_ERR_SEALED (cannot
 * unseal with this backend/identity: use recovery), TV_ERR_FORMAT,
 * TV_ERR_INTEGRITY (epoch record tampered), TV_ERR_NOMEM, LMDB errors. */
int vault_keyring_open(vault_db *db, seal_backend *seal, vault_keyring **out) TV_WUR;

/* Recover with the passphrase (e.g. on new hardware / a fresh sim sealing
 * key): unwrap RK from the escrow (its ad names the stored vault id), check
 * that RK derives that id and that the store's records (up to 64 of every
 * table, the state version included) verify under it, re-seal it to `seal`
 * under `policy` (replacing "rk.sealed"), commit (hook runs inside), return
 * the keyring. An escrow (with its vault id and keyring) copied in from
 * another vault is refused: the records were not made under its key.
 * Errors: TV_ERR_NOT_INITIALISED (no escrow stored), TV_ERR_INTEGRITY (wrong
 * passphrase, tampered escrow, or a key that is not this store's),
 * TV_ERR_FORMAT (bad escrow header / parameters, older store), TV_ERR_INVALID,
 * LMDB and seal errors. */
int vault_keyring_recover(vault_db *db, seal_backend *seal, enum seal_policy policy,
                          const char *passphrase, size_t passphrase_len, vault_txn_hook hook,
                          void *hook_arg, vault_keyring **out) TV_WUR;

/* Recovery in three steps, so the Argon2id evaluation runs off the event
 * loop (Sys.Recover hands step 2 to the server's worker thread):
 *   begin   (loop)       read the escrow, the vault id and the store format,
 *                        copy the passphrase. Errors: TV_ERR_INVALID,
 *                        TV_ERR_NOT_INITIALISED (no escrow), TV_ERR_FORMAT
 *                        (older store / bad escrow), TV_ERR_INTEGRITY (no
 *                        vault id), TV_ERR_NOMEM, LMDB errors.
 *   unwrap  (any thread) Argon2id + unwrap; touches nothing but job.
 *   finish  (loop)       on a sealed vault: adopt the key as
 *                        vault_keyring_recover does after its unwrap.
 * vault_keyring_recover_result: 0, TV_ERR_INTEGRITY (wrong passphrase or an
 * escrow not made for this vault id), TV_ERR_FORMAT, TV_ERR_NOMEM.
 * vault_keyring_recover_matches: 1 when the unwrapped key is kr's root key
 * (constant time), else 0. vault_recovery_free wipes; NULL is a no-op. */
typedef struct vault_recovery vault_recovery;
int vault_keyring_recover_begin(vault_db *db, const char *passphrase, size_t passphrase_len,
                                vault_recovery **out) TV_WUR;
void vault_keyring_recover_unwrap(vault_recovery *job);
int vault_keyring_recover_result(const vault_recovery *job) TV_WUR;
int vault_keyring_recover_matches(const vault_recovery *job, const vault_keyring *kr) TV_WUR;
int vault_keyring_recover_finish(vault_db *db, seal_backend *seal, enum seal_policy policy,
                                 vault_recovery *job, vault_txn_hook hook, void *hook_arg,
                                 vault_keyring **out) TV_WUR;
void vault_recovery_free(vault_recovery *job);

/* Re-seal the live root key to kr's backend under `policy` (replacing
 * "rk.sealed"), hook inside the transaction. */
int vault_keyring_reseal(vault_keyring *kr, enum seal_policy policy, vault_txn_hook hook,
                         void *hook_arg) TV_WUR;

/* Replace the recovery escrow with one for a new passphrase (hook as above). */
int vault_keyring_set_escrow(vault_keyring *kr, const char *passphrase, size_t passphrase_len,
                             vault_txn_hook hook, void *hook_arg) TV_WUR;

/* Wipe and free. NULL is a no-op. */
void vault_keyring_free(vault_keyring *kr);

/* The vault id: KDF(RK, "teevault/id"), 32 bytes, public (clients pin it).
 * Valid as long as kr. */
const uint8_t *vault_keyring_vault_id(const vault_keyring *kr);

/* Current KEK epoch (>= 1). */
uint32_t vault_keyring_epoch(const vault_keyring *kr);

/* KEK for epoch e (oldest live <= e <= current epoch) into out (caller wipes).
 * Errors: TV_ERR_INVALID (epoch 0, retired (erased), or in the future). */
int vault_keyring_kek(const vault_keyring *kr, uint32_t epoch, uint8_t out[VAULT_KEY_LEN]) TV_WUR;

/* Module key for label (e.g. "teevault/audit", "teevault/token-mac") into out
 * (caller keeps it in sodium_malloc memory or wipes it). Errors: TV_ERR_INVALID
 * (NULL/empty label). */
int vault_keyring_derive(const vault_keyring *kr, const char *label,
                         uint8_t out[VAULT_KEY_LEN]) TV_WUR;

/* KEK rotation: a new random KEK for epoch+1, committed (hook inside). New
 * DEK wraps use it; re-wrap existing versions with vault_store_rewrap_all,
 * then vault_keyring_retire. Older epochs stay readable meanwhile.
 * Errors: TV_ERR_RESOURCE (VAULT_KEK_LIVE_MAX epochs live: the previous
 * re-wraps never completed), LMDB errors. *new_epoch (may be NULL). */
int vault_keyring_rotate(vault_keyring *kr, vault_txn_hook hook, void *hook_arg,
                         uint32_t *new_epoch) TV_WUR;

/* After a re-wrap visited every version (none is under an older epoch):
 * erase the older epochs' KEKs from the store and memory, and drop the
 * shred entries of versions wrapped under them, in one committed write
 * (hook inside). *erased (KEKs) and *dropped (entries) may be NULL. */
int vault_keyring_retire(vault_keyring *kr, vault_txn_hook hook, void *hook_arg, uint32_t *erased,
                         uint64_t *dropped) TV_WUR;

/* Inside the write txn that removes a version record: add its epoch and
 * tag (vault_record_tag_of) to the shred list (in effect once txn commits).
 * Errors: LMDB errors, TV_ERR_NOMEM. */
int vault_keyring_shred(vault_keyring *kr, MDB_txn *txn, uint32_t epoch,
                        const uint8_t tag[32]) TV_WUR;

/* 1 when a version record with this tag was shredded (committed), else 0. */
int vault_keyring_shredded(const vault_keyring *kr, const uint8_t tag[32]);

/* Entries on the shred list (destroyed versions not yet retired). */
size_t vault_keyring_shred_count(const vault_keyring *kr);

/* The policy RK is sealed under now. */
enum seal_policy vault_keyring_policy(const vault_keyring *kr);

/* Write a fresh random recovery passphrase (VAULT_PASSPHRASE_LEN chars,
 * "XXXXX-XXXXX-...", RFC 4648 base32 alphabet, 200 bits) + NUL into out
 * (outlen >= VAULT_PASSPHRASE_LEN + 1, else TV_ERR_INVALID). Caller wipes. */
int vault_keyring_gen_passphrase(char *out, size_t outlen) TV_WUR;

#endif
