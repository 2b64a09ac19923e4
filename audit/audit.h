/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the hash-chained, checkpointed audit log (DESIGN.md §6).
 *
 * Depends only on proto/ (tv_err, proto_buf), LMDB and libsodium; it never
 * includes anything from vault/. The daemon's writer (vault/vault_audit.c)
 * drives it; the CLI uses the JSON-lines encoder and the offline verifier.
 *
 * Chain. Records are numbered from seq 1. hash_0 is 32 zero bytes and
 *     hash_n = BLAKE2b-256("teevault-audit-record-v1\0" || hash_{n-1} || canonical(record_n))
 * (libsodium crypto_generichash, unkeyed, 32-byte output).
 *
 * Canonical record encoding (format 1; all integers big-endian; every string is
 * a u32 length followed by its bytes, so no two field splits collide):
 *     u8  format (=1)
 *     u64 seq
 *     i64 time_ns           (two's complement)
 *     lv  principal
 *     lv  method            ("teevault.v1.Secrets/Get")
 *     lv  secret
 *     u64 version
 *     u32 status            (gRPC status code of the outcome)
 *     lv  request_id
 *     lv  peer
 *     lv  detail
 *
 * Checkpoint. Ed25519 (libsodium crypto_sign_detached) over
 *     "teevault-audit-checkpoint-v1\0" || u64 first_seq || u64 last_seq ||
 *     head_hash[32] || i64 time_ns
 * where head_hash is hash_{last_seq}. A valid signature over head hash_{last}
 * vouches for every record up to last_seq (the chain commits to all of them);
 * first_seq only says which range the checkpoint was made for.
 *
 * Storage: three named databases in the caller's LMDB environment (the env
 * needs room for 3 more named DBs):
 *     "audit"       u64be seq       -> canonical record || prev_hash || hash
 *     "audit_ckpt"  u64be last_seq  -> u8 format || u64 first || u64 last ||
 *                                      hash[32] || i64 time_ns || sig[64]
 *     "audit_meta"  "format"        -> u8 1
 *                   "pubkey"        -> the Ed25519 public key last used to sign
 *
 * What a record may hold: who, what, which secret/version, the outcome, a
 * short detail. WARNING: never put a secret value, token, password or key in
 * any field; this module cannot tell and stores what it is given.
 *
 * Threads: an audit_log holds no mutable state besides its signing key, so
 * several threads may use it with their own transactions (the daemon's loop
 * and its audit writer thread), as long as audit_log_set_seed() does not run
 * while another thread uses the log. LMDB's rule of one write transaction at
 * a time applies to the txn arguments.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "tv_err.h"

#define AUDIT_FORMAT      1
#define AUDIT_HASH_LEN    32
#define AUDIT_PK_LEN      32
#define AUDIT_SIG_LEN     64
#define AUDIT_SEED_LEN    32
#define AUDIT_HASH_NAME   "blake2b-256"
#define AUDIT_SIG_NAME    "ed25519"
#define AUDIT_DOMAIN_REC  "teevault-audit-record-v1"     /* + NUL in the hash input */
#define AUDIT_DOMAIN_CKPT "teevault-audit-checkpoint-v1" /* + NUL in the signed message */

/* Field capacities (bytes, excluding the NUL). Longer input is truncated by
 * audit_record_set_str(); decoders reject longer fields as TV_ERR_FORMAT. */
#define AUDIT_PRINCIPAL_MAX 255
#define AUDIT_METHOD_MAX    127
#define AUDIT_SECRET_MAX    512
#define AUDIT_REQID_MAX     64
#define AUDIT_PEER_MAX      127
#define AUDIT_DETAIL_MAX    127

/* Longest canonical record: fixed part + the six strings. */
#define AUDIT_CANON_MAX                                                                            \
    (1 + 8 + 8 + 8 + 4 + 6 * 4 + AUDIT_PRINCIPAL_MAX + AUDIT_METHOD_MAX + AUDIT_SECRET_MAX +       \
     AUDIT_REQID_MAX + AUDIT_PEER_MAX + AUDIT_DETAIL_MAX)

/* Longest JSON line either encoder produces, including '\n' and NUL (every
 * string byte may become a 6-byte \u00XX escape). */
#define AUDIT_JSON_LINE_MAX 8192

/* One decision. Strings are NUL-terminated and may hold any byte but NUL. */
typedef struct audit_record {
    uint64_t seq;
    int64_t time_ns; /* CLOCK_REALTIME nanoseconds */
    char principal[AUDIT_PRINCIPAL_MAX + 1];
    char method[AUDIT_METHOD_MAX + 1];
    char secret[AUDIT_SECRET_MAX + 1];
    uint64_t version;
    uint32_t status; /* gRPC status code (0 = OK) */
    char request_id[AUDIT_REQID_MAX + 1];
    char peer[AUDIT_PEER_MAX + 1];
    char detail[AUDIT_DETAIL_MAX + 1];
    uint8_t prev_hash[AUDIT_HASH_LEN];
    uint8_t hash[AUDIT_HASH_LEN];
} audit_record;

typedef struct audit_checkpoint {
    uint64_t first_seq;
    uint64_t last_seq;
    uint8_t head_hash[AUDIT_HASH_LEN];
    int64_t time_ns;
    uint8_t sig[AUDIT_SIG_LEN];
} audit_checkpoint;

/* ------------------------------------------------------------ record */

/* Copy at most `cap` bytes of s (stopping at NUL or n) into dst[cap+1],
 * NUL-terminated. For filling audit_record's string fields. */
void audit_record_set_str(char *dst, size_t cap, const char *s, size_t n);

/* Append the canonical encoding of r (hashes excluded) to out.
 * Errors: TV_ERR_INVALID (a string longer than its cap), proto_buf errors. */
struct proto_buf;
int audit_record_encode(const audit_record *r, struct proto_buf *out) TV_WUR;

/* Decode a canonical record from in (consuming it; trailing bytes are left).
 * Errors: TV_ERR_FORMAT (unknown format, field too long, NUL in a string,
 * truncated). Hashes in *r are zeroed. */
int audit_record_decode(struct proto_buf *in, audit_record *r) TV_WUR;

/* hash = H(domain || prev || canonical(r)). Uses r->prev_hash as prev and
 * writes the result to out (which may be r->hash). Errors as encode. */
int audit_record_hash(const audit_record *r, uint8_t out[AUDIT_HASH_LEN]) TV_WUR;

/* The chain hash over a canonical record's bytes as stored:
 * out = H(domain || prev || canon[0, len)). The one copy of the chain
 * primitive (audit_record_hash encodes r, then calls this). TV_ERR_CRYPTO. */
int audit_chain_hash(const uint8_t prev[AUDIT_HASH_LEN], const uint8_t *canon, size_t len,
                     uint8_t out[AUDIT_HASH_LEN]) TV_WUR;

/* Check one stored record value (canonical | prev_hash | hash) as read from
 * disk: the canonical part decodes exactly, its seq is want_seq, its
 * prev_hash is `prev`, and its hash recomputes. On success the hash is
 * copied to hash_out (may be NULL). Errors: TV_ERR_INTEGRITY (any mismatch),
 * TV_ERR_CRYPTO. */
int audit_value_check(const uint8_t *val, size_t len, uint64_t want_seq,
                      const uint8_t prev[AUDIT_HASH_LEN], uint8_t hash_out[AUDIT_HASH_LEN]) TV_WUR;

/* The exact bytes a checkpoint signature covers (no output errors). */
#define AUDIT_CKPT_MSG_LEN (sizeof(AUDIT_DOMAIN_CKPT) + 8 + 8 + AUDIT_HASH_LEN + 8)
void audit_checkpoint_message(const audit_checkpoint *c, uint8_t msg[AUDIT_CKPT_MSG_LEN]);

/* Verify c->sig against pk. Returns 0 or TV_ERR_VERIFY. */
int audit_checkpoint_verify(const audit_checkpoint *c, const uint8_t pk[AUDIT_PK_LEN]) TV_WUR;

/* ------------------------------------------------------------ store */

typedef struct audit_log audit_log;

/* Open (creating if needed) the audit DBs in env, in a write transaction of
 * its own: no write transaction may be open in this thread. The log has no
 * signing key until audit_log_set_seed(). Returns 0 and *out (owned by the
 * caller, freed with audit_log_close) or TV_ERR_STORAGE_FULL (no room for
 * the DBs, or MDB_DBS_FULL), TV_ERR_FORMAT (audit_meta holds another
 * format), TV_ERR_INTEGRITY/TV_ERR_IO (LMDB), TV_ERR_NOMEM. */
int audit_log_open(MDB_env *env, audit_log **out) TV_WUR;

/* Set the Ed25519 checkpoint key from a 32-byte seed (copied into
 * sodium_malloc memory; the caller wipes its copy). Replaces an earlier key.
 * Returns 0, TV_ERR_NOMEM or TV_ERR_CRYPTO. */
int audit_log_set_seed(audit_log *log, const uint8_t seed[AUDIT_SEED_LEN]) TV_WUR;

/* 1 when a signing key is set, else 0. */
int audit_log_has_key(const audit_log *log);

/* The public key. Returns 0 or TV_ERR_NOT_INITIALISED (no key yet). */
int audit_log_pubkey(const audit_log *log, uint8_t pk[AUDIT_PK_LEN]) TV_WUR;

/* The public key stored in "audit_meta" (the last one that signed a
 * checkpoint), read in txn. Returns 0, TV_ERR_NOT_FOUND (none yet),
 * TV_ERR_INTEGRITY (malformed), or a mapped LMDB error. */
int audit_log_stored_pubkey(const audit_log *log, MDB_txn *txn, uint8_t pk[AUDIT_PK_LEN]) TV_WUR;

/* Wipe the key and free. The env is not touched (the caller closes it
 * afterwards). NULL is a no-op. */
void audit_log_close(audit_log *log);

/* Append r inside the caller's write transaction txn: sets r->seq (head+1),
 * r->prev_hash and r->hash (and r->time_ns to now if it is 0) and stores it.
 * Nothing is recorded unless the caller commits txn. The head is read from
 * the DB inside txn, so an aborted txn leaves no stale state behind.
 * Errors: TV_ERR_INVALID (a string over its cap), TV_ERR_STORAGE_FULL
 * (MDB_MAP_FULL/TXN_FULL: the caller must abort txn), TV_ERR_INTEGRITY
 * (stored head unreadable), TV_ERR_IO, TV_ERR_INTERNAL. */
int audit_append(audit_log *log, MDB_txn *txn, audit_record *r) TV_WUR;

/* Seal r as the record after (head_seq, head_hash) without storing it: sets
 * r->seq, r->prev_hash, r->hash (and r->time_ns to now if it is 0) and
 * appends its stored value (canonical || prev_hash || hash) to out. The
 * audit writer's journal uses this; audit_append is seal + put. Errors:
 * TV_ERR_INVALID (a string over its cap), TV_ERR_TOO_LARGE/TV_ERR_NOMEM (out);
 * out is unchanged on error. */
int audit_record_seal(audit_record *r, uint64_t head_seq, const uint8_t head_hash[AUDIT_HASH_LEN],
                      struct proto_buf *out) TV_WUR;

/* Store a value made by audit_record_seal as record seq inside write txn
 * (it must be the next seq: keys only grow). Errors: TV_ERR_INVALID,
 * TV_ERR_INTEGRITY (seq not above the head), TV_ERR_STORAGE_FULL, TV_ERR_IO. */
int audit_put_sealed(audit_log *log, MDB_txn *txn, uint64_t seq, const uint8_t *val,
                     size_t len) TV_WUR;

/* The head in txn (read or write): last seq (0 when empty) and its hash
 * (zeros when empty). Either output may be NULL. Errors: TV_ERR_INTEGRITY,
 * TV_ERR_IO. */
int audit_head(audit_log *log, MDB_txn *txn, uint64_t *seq, uint8_t hash[AUDIT_HASH_LEN]) TV_WUR;

/* Read record seq into *r. TV_ERR_NOT_FOUND, TV_ERR_INTEGRITY (undecodable). */
int audit_get(audit_log *log, MDB_txn *txn, uint64_t seq, audit_record *r) TV_WUR;

/* The newest stored checkpoint. TV_ERR_NOT_FOUND when none. */
int audit_last_checkpoint(audit_log *log, MDB_txn *txn, audit_checkpoint *c) TV_WUR;

/* Sign (not store) a checkpoint over [first_seq, last_seq] with the current
 * hash at last_seq and time now (time_ns 0 = now), after audit_verify_tail.
 * Errors: TV_ERR_NOT_INITIALISED (no key), TV_ERR_INVALID (first > last or
 * last == 0), TV_ERR_NOT_FOUND (last_seq not in the log), TV_ERR_INTEGRITY
 * (the records up to last_seq do not verify: nothing is signed). */
int audit_sign_checkpoint(audit_log *log, MDB_txn *txn, uint64_t first_seq, uint64_t last_seq,
                          int64_t time_ns, audit_checkpoint *out) TV_WUR;

/* Inside write txn: if a key is set and the head is past the last stored
 * checkpoint, sign and store a checkpoint {last checkpoint + 1, head} (time_ns
 * 0 = now) and return 1 with *out set (out may be NULL); return 0 when there
 * was nothing to checkpoint or no key. Errors as audit_append. */
int audit_checkpoint_now(audit_log *log, MDB_txn *txn, int64_t time_ns,
                         audit_checkpoint *out) TV_WUR;

/* The first seq still stored (0 when the log is empty): 1 until a prefix
 * was pruned. Errors: TV_ERR_INTEGRITY, LMDB errors. */
int audit_first_seq(audit_log *log, MDB_txn *txn, uint64_t *seq) TV_WUR;

/* Retention (`teevault audit archive`, docs/AUDIT.md "Archive"): inside
 * write txn, drop the records below `upto` once the caller has shown it
 * holds them: hash must be the stored hash of record `upto`, and the
 * records up to it must verify (audit_verify_tail). Record `upto` stays as
 * the anchor of the live log, with a stored checkpoint signed over it
 * (signed and stored here if there was none), so an archive ending at
 * `upto` and an export of the live log from `upto` verify as one chain.
 * At most `max` records are dropped per call (bounded transaction size);
 * call again until *first_kept == upto. Checkpoints below the first kept
 * record are dropped too. Outputs: *dropped (records removed now),
 * *first_kept (first seq still stored).
 * Errors: TV_ERR_NOT_INITIALISED (no signing key), TV_ERR_INVALID (upto is
 * 0, past the head or already dropped), TV_ERR_CAS (hash is not the
 * record's: the archive ends elsewhere), TV_ERR_INTEGRITY (the records do
 * not verify: nothing is dropped), TV_ERR_STORAGE_FULL, LMDB errors. The
 * caller aborts txn on error. */
int audit_prune(audit_log *log, MDB_txn *txn, uint64_t upto, const uint8_t hash[AUDIT_HASH_LEN],
                uint64_t max, uint64_t *dropped, uint64_t *first_kept) TV_WUR;

/* The audit log in data.mdb is on the host's disk too. Records appended
 * while the vault holds its root key are covered by a MAC'd head: after each
 * write transaction that appends, audit_seal_head stores in audit_meta
 * "head.mac" = u64 seq | hash | keyed BLAKE2b-256(domain, seq, hash) under
 * the key set by audit_log_set_mac_key (derived from the root key). No key
 * set: a no-op. Errors as mdb_put. */
#define AUDIT_MAC_KEY_LEN 32
int audit_log_set_mac_key(audit_log *log, const uint8_t key[AUDIT_MAC_KEY_LEN]) TV_WUR;
int audit_seal_head(audit_log *log, MDB_txn *txn) TV_WUR;

/* Check the records up to `upto` before anything vouches for them: from the
 * last stored checkpoint at or below upto (its signature must verify with
 * the log's key when one is set, and its head must be the stored record's
 * hash) every record must decode, carry the next seq, chain and recompute,
 * up to the first stored checkpoint at or above upto (its signed head must
 * be reached), else up to the MAC'd head (its MAC must verify and its hash
 * be reached) or upto, whichever is later. audit_sign_checkpoint calls it,
 * so no record that does not verify is ever signed. Returns 0, or
 * TV_ERR_INTEGRITY with *bad_seq (may be NULL) the first seq that does not
 * verify, or an LMDB error. */
int audit_verify_tail(audit_log *log, MDB_txn *txn, uint64_t upto, uint64_t *bad_seq) TV_WUR;

/* A callback over records/checkpoints: return 0 to continue, 1 to stop
 * early (the iteration then returns 0), or a negative tv_err to abort with it. */
typedef int (*audit_record_cb)(void *arg, const audit_record *r);
typedef int (*audit_ckpt_cb)(void *arg, const audit_checkpoint *c);

typedef struct audit_filter {
    uint64_t since;        /* first seq (0 or 1 = from the start) */
    uint64_t to;           /* last seq, 0 = up to the head */
    const char *principal; /* exact match, NULL/"" = any */
    const char *secret;    /* exact match, NULL/"" = any */
    uint64_t limit;        /* max records passed to cb, 0 = no limit */
} audit_filter;

/* Call cb for each record in seq order that matches f (NULL = everything).
 * Errors: what cb returned, TV_ERR_INTEGRITY (undecodable record), LMDB. */
int audit_list(audit_log *log, MDB_txn *txn, const audit_filter *f, audit_record_cb cb,
               void *arg) TV_WUR;

/* Call cb for each stored checkpoint with from <= last_seq <= to (to 0 = no
 * upper bound), in order. Errors as audit_list. */
int audit_list_checkpoints(audit_log *log, MDB_txn *txn, uint64_t from, uint64_t to,
                           audit_ckpt_cb cb, void *arg) TV_WUR;

/* ------------------------------------------------------------ JSON lines */

/* Export file format (one JSON object per line, keys in this order):
 *   {"type":"header","format":1,"hash":"blake2b-256","sig":"ed25519","pubkey":"<64 hex>"}
 *   {"type":"record","seq":N,"time_ns":N,"principal":S,"method":S,"secret":S,
 *    "version":N,"status":N,"request_id":S,"peer":S,"detail":S,
 *    "prev_hash":"<64 hex>","hash":"<64 hex>"}
 *   {"type":"checkpoint","first_seq":N,"last_seq":N,"head_hash":"<hex>",
 *    "time_ns":N,"signature":"<128 hex>"}
 * A checkpoint line follows the record line with seq == last_seq. Strings are
 * byte strings: '"', '\\', bytes < 0x20 and bytes >= 0x7f are written as
 * \u00XX meaning the single byte XX (so a non-ASCII UTF-8 name reads as
 * Latin-1 in other JSON tools, but round-trips exactly here). The header's
 * pubkey is "" when the exporter had no key. */

/* Write one line (with '\n' and NUL) into buf[cap]; returns the line length
 * (without NUL) or TV_ERR_TOO_LARGE when cap is too small (AUDIT_JSON_LINE_MAX
 * always suffices). */
int audit_json_header(char *buf, size_t cap, const uint8_t *pk_or_null) TV_WUR;
int audit_json_record(char *buf, size_t cap, const audit_record *r) TV_WUR;
int audit_json_checkpoint(char *buf, size_t cap, const audit_checkpoint *c) TV_WUR;

enum audit_line_type {
    AUDIT_LINE_HEADER = 1,
    AUDIT_LINE_RECORD = 2,
    AUDIT_LINE_CHECKPOINT = 3,
};

typedef struct audit_line {
    enum audit_line_type type;
    int has_pubkey; /* header only */
    uint8_t pubkey[AUDIT_PK_LEN];
    audit_record rec;
    audit_checkpoint ckpt;
} audit_line;

/* Parse one line (without or with a trailing '\n'; untrusted bytes). Strict:
 * exactly the keys of its type, each once, no other whitespace than the
 * encoder writes is required but spaces/tabs between tokens are accepted.
 * Returns 0 or TV_ERR_FORMAT with a reason (a static string) in *why. */
int audit_json_parse(const char *line, size_t len, audit_line *out, const char **why) TV_WUR;

/* Export [from, to] (to 0 = head) from the store as JSON lines through
 * write(arg, data, len) (returning 0 or a tv_err): header, records with their
 * stored checkpoints after them, and finally a checkpoint signed now over
 * [from, last exported seq] (omitted when no key or no record). Errors: what
 * write returned, store errors. *n_records (may be NULL) gets the count. */
typedef int (*audit_write_fn)(void *arg, const char *data, size_t len);
int audit_export(audit_log *log, MDB_txn *txn, uint64_t from, uint64_t to, audit_write_fn write,
                 void *arg, uint64_t *n_records) TV_WUR;

/* ------------------------------------------------------------ verifier */

enum audit_verdict {
    AUDIT_OK = 0,              /* every record covered by a valid checkpoint */
    AUDIT_BAD_FORMAT = 1,      /* a line is not valid export syntax */
    AUDIT_BAD_CHAIN = 2,       /* seq gap/order, prev_hash or hash mismatch */
    AUDIT_BAD_CHECKPOINT = 3,  /* bad signature, head mismatch, misplaced */
    AUDIT_UNVERIFIED_TAIL = 4, /* records after the last valid checkpoint */
    AUDIT_NO_KEY = 5,          /* no public key in the header nor given */
};

typedef struct audit_verify_result {
    enum audit_verdict verdict;
    uint64_t bad_seq;                  /* first bad (or first unverified) seq; 0 if none */
    uint64_t line;                     /* 1-based line number of the problem; 0 if none */
    char why[256];                     /* one sentence */
    uint64_t records;                  /* record lines read */
    uint64_t checkpoints;              /* valid checkpoints */
    uint64_t first_seq;                /* first record's seq (0 when none) */
    uint64_t covered_to;               /* last seq vouched for by a valid checkpoint */
    uint64_t last_seq;                 /* last record's seq */
    int pubkey_from_file;              /* 1 when the key came from the export itself */
    uint8_t last_hash[AUDIT_HASH_LEN]; /* hash of the last record (zeros when none) */
} audit_verify_result;

/* Sans-I/O streaming verifier: feed lines in order, then finish. */
typedef struct audit_verifier audit_verifier;

/* pk may be NULL: then the header's pubkey is used (and reported as
 * self-asserted). With pk, a header pubkey that differs is a bad checkpoint
 * key and reported. Returns 0 and *out, or TV_ERR_NOMEM. */
int audit_verifier_new(const uint8_t *pk, audit_verifier **out) TV_WUR;

/* Feed one line (no '\n' needed; empty lines are ignored). After the first
 * problem later lines are ignored. Returns 0 while the export is good so far,
 * TV_ERR_INTEGRITY once a problem was found (details at finish). */
int audit_verifier_line(audit_verifier *v, const char *line, size_t len) TV_WUR;

/* The lines that follow are another file continuing this one (an archive,
 * then the next archive or an export of the live log): it starts with its
 * own header (the same public key), and its first record is either the
 * previous file's last record again (the anchor the vault kept, checked to
 * be identical and counted once) or the one after it. */
void audit_verifier_next_file(audit_verifier *v);

/* Final verdict into *res. Returns 0 only for AUDIT_OK, else TV_ERR_INTEGRITY
 * (or TV_ERR_VERIFY for AUDIT_NO_KEY). */
int audit_verifier_finish(audit_verifier *v, audit_verify_result *res) TV_WUR;

void audit_verifier_free(audit_verifier *v);

/* Whole-buffer convenience: split buf at '\n' and run the verifier. */
int audit_verify_buffer(const char *buf, size_t len, const uint8_t *pk,
                        audit_verify_result *res) TV_WUR;

/* Parse 2*n hex chars into out. Returns 0 or TV_ERR_FORMAT. */
int audit_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t n) TV_WUR;

/* ------------------------------------------------------------ journal
 *
 * The audit writer's journal (docs/AUDIT.md, "Journal"): records sealed
 * onto the chain are made durable by appending them to a preallocated file
 * with ONE pwrite + fdatasync per batch (overwriting blocks that already
 * exist, so the flush carries no file-system metadata), instead of an LMDB
 * commit (two flushes). They move into the LMDB audit DB in bulk later; the
 * journal is then emptied (reset). On open, the records in the journal that
 * continue the chain past the LMDB head are replayed.
 *
 * The file is on the host's disk: every frame carries a MAC under a key
 * derived from the root key (audit_journal_set_key), and replay recomputes
 * every record's chain hash. File: frames from offset 0, each
 *   "TVJ2" | u32 payload_len | u64 first_seq | u32 count | payload |
 *   BLAKE2b-256(key = journal key; all before)
 * payload = count x (u32 len | sealed value). Replay ends at the first
 * offset holding no frame, a frame that does not verify, or a stale frame
 * (first seq at or below the chain head: left behind by a reset). It fails
 * (TV_ERR_INTEGRITY, naming the offset and seq) when a verified frame does
 * not continue the chain, when one of its records does not recompute, or
 * when any verified frame further on in the file continues past where the
 * chain stopped (an erased, altered or moved frame). A non-verifying frame
 * for the next seq with nothing valid after it (a torn last write, or a
 * forgery) is reported and not replayed.
 */
typedef struct audit_journal audit_journal;

#define AUDIT_JOURNAL_DEFAULT_SIZE ((size_t)8 << 20)
#define AUDIT_JOURNAL_KEY_LEN      32

/* Open path (created 0600 if missing) as it is: replay first, then reserve.
 * Errors: TV_ERR_INVALID, TV_ERR_IO, TV_ERR_NOMEM. */
int audit_journal_open(const char *path, audit_journal **out) TV_WUR;

/* Set the frame MAC key (copied into locked memory, wiped at close). Needed
 * by append and replay. Errors: TV_ERR_INVALID, TV_ERR_NOMEM. */
int audit_journal_set_key(audit_journal *j, const uint8_t key[AUDIT_JOURNAL_KEY_LEN]) TV_WUR;
int audit_journal_has_key(const audit_journal *j);

/* Make the file hold `size` bytes of allocated blocks (zeros written and
 * fsynced, and path's directory fsynced) when it is shorter. Errors:
 * TV_ERR_STORAGE_FULL (no room on the file system), TV_ERR_IO. */
int audit_journal_reserve(audit_journal *j, const char *path, size_t size) TV_WUR;
void audit_journal_close(audit_journal *j);

/* Called by replay for each record, in order; non-zero stops the replay and
 * is returned. val points into a buffer valid during the call. */
typedef int (*audit_journal_cb)(void *arg, uint64_t seq, const uint8_t *val, size_t len);

/* What replay found wrong: the frame's offset and the seq concerned. */
typedef struct audit_journal_report {
    size_t off;
    uint64_t seq;
    int unverified; /* replay succeeded, but a frame for the next seq did not verify */
    char reason[200];
} audit_journal_report;

/* Read the frames from the start and call cb for each record that continues
 * the chain after (head_seq, head_hash), skipping none; each frame is
 * verified (MAC, then every record's seq, prev_hash and recomputed hash)
 * before any of its records is passed on. The next append goes after the
 * last frame read (call audit_journal_reset once the records are
 * elsewhere). Returns the number of records passed to cb, or cb's error,
 * TV_ERR_INTEGRITY (rep says where and why; records of earlier frames may
 * have been passed on), TV_ERR_NOT_INITIALISED (no key), TV_ERR_IO,
 * TV_ERR_NOMEM. rep may be NULL; it is also filled when a success left an
 * unverified frame out (rep->unverified). */
int audit_journal_replay(audit_journal *j, uint64_t head_seq,
                         const uint8_t head_hash[AUDIT_HASH_LEN], audit_journal_cb cb, void *arg,
                         audit_journal_report *rep) TV_WUR;

/* Without the key: does the file hold anything that looks like a frame with
 * a first seq above head_seq (records that replay would have to verify)?
 * Returns 1, 0, or TV_ERR_IO / TV_ERR_NOMEM / TV_ERR_INVALID. */
int audit_journal_pending(audit_journal *j, uint64_t head_seq) TV_WUR;

/* Append one frame holding `count` sealed values (vals = count x (u32 len |
 * value), as proto_buf_put_lv appends them) with first seq first_seq, and make
 * it durable. Errors: TV_ERR_NOT_INITIALISED (no key), TV_ERR_STORAGE_FULL (does not fit in the
 * space left: empty the journal first), TV_ERR_IO (write or flush failed; nothing is counted as
 * appended). */
int audit_journal_append(audit_journal *j, uint64_t first_seq, uint32_t count, const uint8_t *vals,
                         size_t len) TV_WUR;

/* Bytes used / the file's size. */
size_t audit_journal_used(const audit_journal *j);
size_t audit_journal_size(const audit_journal *j);

/* Start again at offset 0 (no I/O): only once every record appended so far
 * is durable elsewhere (committed to LMDB). */
void audit_journal_reset(audit_journal *j);

#endif
