/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_lifecycle: bringing the vault from "uninitialised" or "sealed" to
 * "active" (root key in memory, store open, audit writer holding its key),
 * for Sys.Initialize, Sys.Recover, the daemon's auto-unseal and --dev.
 *
 * All of these run on the event-loop thread (or before it starts).
 */
#ifndef VAULT_LIFECYCLE_H
#define VAULT_LIFECYCLE_H

#include <stddef.h>

#include "seal.h"
#include "vault.h"

struct vault_keyring;

/* The seal policy named in the config ("signer" default, "measurement"). */
enum seal_policy vault_seal_policy(const struct vault *v);

/* Make kr the vault's keyring: open the store over it and give the audit
 * writer its checkpoint key. Ownership of kr moves to v on success AND on
 * failure (freed then). A keyring that was active before is replaced (recover).
 * Errors: store and audit errors (TV_ERR_NOMEM, TV_ERR_INVALID, ...). */
int vault_activate(struct vault *v, struct vault_keyring *kr) TV_WUR;

/* Drop the store and the keyring (wiped). Safe to call when not active. */
void vault_deactivate(struct vault *v);

/* Initialise an empty vault: root key made and sealed, root token created,
 * optional recovery escrow, and the audit record of call c (may be NULL for
 * --dev: recorded as principal "teevaultd --dev") — all in one write
 * transaction — then activate.
 * passphrase: escrow passphrase (plen bytes); NULL with escrow=1 generates one
 * into gen_pass (>= VAULT_PASSPHRASE_LEN + 1 bytes); escrow=0 stores none.
 * root_token: out, >= VAULT_TOKEN_BUF bytes. gov: the governance set stored
 * in the same transaction (NULL = none; vault_governance.h).
 * WARNING: the caller wipes root_token and gen_pass once delivered.
 * Errors: TV_ERR_EXISTS (already initialised), keyring, auth, audit and
 * storage errors; nothing is stored on error. */
struct vault_gov_set;
int vault_initialize(struct vault *v, vault_call *c, int escrow, const char *passphrase,
                     size_t plen, char *root_token, size_t root_token_len, char *gen_pass,
                     size_t gen_pass_len, const struct vault_gov_set *gov) TV_WUR;

/* Re-seal the root key to this enclave from the recovery passphrase: the
 * steps of vault_recover_complete with the Argon2id evaluation done here
 * (tests, tools; Sys.Recover runs it on the server's worker thread). */
int vault_recover(struct vault *v, vault_call *c, const char *passphrase, size_t plen) TV_WUR;

/* Finish a recovery whose escrow was unwrapped (vault_keyring_recover_*):
 * on a sealed vault adopt the key (it must be this store's: vault id and
 * records verify) and activate; on an active vault re-seal the live root key
 * only if the unwrapped key IS it. The audit record of c commits in the
 * same transaction. Does not free job.
 * Errors: TV_ERR_INTEGRITY (wrong passphrase, or a key that is not this
 * store's), TV_ERR_DENIED (active vault, another root key),
 * TV_ERR_NOT_INITIALISED (no escrow), keyring and storage errors. */
struct vault_recovery;
int vault_recover_complete(struct vault *v, vault_call *c, struct vault_recovery *job) TV_WUR;

/* The daemon's start: auto-unseal an initialised vault through the TEE
 * backend; with cfg->dev and an empty store, initialise it (no escrow) and
 * write the root token to <state_dir>/root-token (0600, never overwritten).
 * Returns 0 when active, TV_ERR_NOT_INITIALISED when the operator must run
 * init, TV_ERR_SEALED when recovery is needed, or another error. */
int vault_startup(struct vault *v) TV_WUR;

/* What every request that needs an active vault hears when it is not:
 * TV_ERR_SEALED with VAULT_SEALED_MSG when the store holds a sealed root key
 * (initialised, but not unsealed here), TV_ERR_NOT_INITIALISED otherwise;
 * msg (msglen bytes) gets the sentence. */
#define VAULT_SEALED_MSG "sealed: run `teevault operator recover` or check the TEE backend"
int vault_inactive_error(const struct vault *v, char *msg, size_t msglen) TV_WUR;

#endif
