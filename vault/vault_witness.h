/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_witness: signed state checkpoints handed to a witness outside the
 * host's sole control, and the start-up check against it (issue 12;
 * docs/ATTESTATION.md "Witness").
 *
 * Checkpoint: one text line (< VAULT_CKPT_LINE_MAX bytes)
 *   "teevault-checkpoint-v1 <vault id hex> <state version> <audit seq>
 *    <audit head hex> <signing key hex> <unix time> <signature hex>\n"
 * signature = Ed25519 by the vault's signing key over seal_state_message
 * (vault id, state version, audit seq, audit head); the time is informative,
 * not signed.
 *
 * A witness is one of two implementations behind vault_witness_ops:
 *  - dir:     <dir>/<vault id hex>/ckpt-<20-digit publication number>; the
 *             newest is the highest number; the last 16 are kept. Written
 *             to a temp file, fsynced, renamed.
 *  - command: `command publish` with the line on stdin (exit 0 = kept);
 *             `command latest` prints the newest line on stdout (nothing =
 *             none). Executed directly (execv, no shell), stdout capped
 *             at VAULT_CKPT_LINE_MAX * 4, killed after 30 s.
 *
 * Start (vault_witness_start, after unseal): the witness's newest
 * checkpoint must verify under this vault's key and id, and must not be
 * newer than the store (state version, audit seq): else the daemon refuses
 * to serve (TV_ERR_ROLLBACK) unless started with --accept-rollback, which is
 * recorded in the audit log. Then a publisher thread hands every changed
 * state to the witness each `interval` seconds, and once more at stop.
 */
#ifndef VAULT_WITNESS_H
#define VAULT_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "seal_channel.h"
#include "tv_err.h"
#include "vault.h"

#define VAULT_CKPT_LINE_MAX 512

typedef struct vault_witness vault_witness;

typedef struct vault_witness_ops {
    const char *name; /* "dir" | "command" */
    /* Keep one checkpoint line. Errors: TV_ERR_IO. */
    int (*publish)(vault_witness *w, const char *line, size_t len);
    /* The newest line kept (NUL-terminated in buf). TV_ERR_NOT_FOUND when
     * none, TV_ERR_IO, TV_ERR_TOO_LARGE. */
    int (*latest)(vault_witness *w, char *buf, size_t cap);
} vault_witness_ops;

/* Open the witness the config names; *out NULL when none is configured.
 * Errors: TV_ERR_INVALID, TV_ERR_IO (dir cannot be made), TV_ERR_NOMEM. */
int vault_witness_open(const struct vault_config *cfg, const uint8_t vault_id[32],
                       vault_witness **out) TV_WUR;
void vault_witness_free(vault_witness *w);

/* Format / parse a checkpoint line. parse: TV_ERR_FORMAT on anything but
 * exactly the layout above. */
int vault_ckpt_format(const seal_state *st, const uint8_t pk[32], const uint8_t sig[64], int64_t t,
                      char *out, size_t cap) TV_WUR;
int vault_ckpt_parse(const char *line, seal_state *st, uint8_t pk[32], uint8_t sig[64]) TV_WUR;

/* After unseal (at start, or when Initialize / Recover activate the vault
 * while it runs): compare with the witness's newest checkpoint (see above),
 * publish the current state, start the publisher. accept_rollback: go on
 * when the witness is newer, with an audit record saying so. No witness
 * configured, vault not initialised, or already started: 0, nothing done.
 * Errors: TV_ERR_ROLLBACK (witness newer; why says which versions),
 * TV_ERR_VERIFY (the witness's checkpoint is not this vault's), TV_ERR_IO
 * (witness unreadable: fail closed), TV_ERR_NOMEM. */
int vault_witness_start(struct vault *v, int accept_rollback, char *why, size_t whylen) TV_WUR;

/* Event-loop tick: when the state changed since the last publication,
 * sign it and hand it to the publisher thread. */
void vault_witness_tick(struct vault *v);

/* Publish the final state (synchronously) and stop the publisher. */
void vault_witness_stop(struct vault *v);

#endif
