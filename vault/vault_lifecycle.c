/* SPDX-License-Identifier: Apache-2.0 */
#include "vault_lifecycle.h"
#include "vault_governance.h"
#include "vault_rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "vault_audit.h"
#include "vault_auth.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_keyring.h"
#include "vault_log.h"
#include "vault_rpc.h"
#include "vault_store.h"
#include "vault_witness.h"

enum seal_policy vault_seal_policy(const struct vault *v)
{
    const char *p = v->cfg ? v->cfg->seal_policy : NULL;
    return p && strcmp(p, "measurement") == 0 ? SEAL_POLICY_MEASUREMENT : SEAL_POLICY_SIGNER;
}

void vault_deactivate(struct vault *v)
{
    vault_rotate_stop(v); /* its steps run against this store */
    vault_store_free(v->store);
    v->store = NULL;
    vault_keyring_free(v->kr);
    v->kr = NULL;
}

int vault_activate(struct vault *v, struct vault_keyring *kr)
{
    vault_store *store = NULL;
    vault_store_opts so = {0};
    int r;

    so.max_value_len = v->cfg ? (size_t)v->cfg->max_value_bytes : 0;
    if ((r = vault_store_open(v->db, kr, &so, &store)) < 0) {
        vault_keyring_free(kr);
        return r;
    }
    vault_deactivate(v);
    v->kr = kr;
    v->store = store;
    if (v->auditw && (r = vault_audit_unlock(v)) < 0) {
        vault_deactivate(v);
        return r;
    }
    return TV_OK;
}

/* Inside the init/recover transaction: the root token (init only) and the
 * audit record, so the decision and its record commit together. */
struct lifecycle_hook {
    struct vault *v;
    vault_call *c;
    char *root_token; /* NULL: no token to make */
    size_t root_token_len;
    const vault_gov_set *gov;
};

static int lifecycle_txn_hook(void *arg, MDB_txn *txn)
{
    struct lifecycle_hook *h = arg;
    int r;
    if (h->root_token &&
        (r = vault_auth_create_root_token(h->v, txn, h->root_token, h->root_token_len, NULL)) < 0)
        return r;
    if (h->gov && (r = vault_gov_set_put(h->v->db, txn, h->gov)) < 0)
        return r;
    /* Fail closed: no audit writer, no decision. */
    if (!h->v->auditw)
        return TV_ERR_AUDIT;
    if ((r = vault_audit_append_txn(h->v, txn, h->c, TV_OK)) < 0)
        return r;
    return TV_OK;
}

/* A call record for decisions the daemon takes itself (--dev init). */
static void internal_call(struct vault *v, vault_call *c, vault_principal *p, const char *method)
{
    memset(c, 0, sizeof(*c));
    memset(p, 0, sizeof(*p));
    p->kind = VAULT_PRINCIPAL_NONE;
    snprintf(p->id, sizeof(p->id), "teevaultd --dev");
    c->v = v;
    c->principal = p;
    c->service = "teevault.v1.Sys";
    c->method = method;
    c->peer = "local";
    snprintf(c->request_id, sizeof(c->request_id), "startup");
}

/* A vault activated while the daemon runs (Initialize, Recover of a sealed
 * vault) meets its witness now, as at start: a witness holding newer state
 * seals it again (fail closed; restart with --accept-rollback to override). */
static int witness_after_activate(struct vault *v, vault_call *c)
{
    char why[512];
    int r = vault_witness_start(v, 0, why, sizeof(why));
    if (r < 0) {
        vault_log(VAULT_LOG_ERROR, "witness", "error", why, "reason", tv_strerror(r),
                  (const char *)NULL);
        if (c)
            vault_call_errf(c, "%s; the vault stays sealed", why);
        vault_deactivate(v);
    }
    return r;
}

int vault_initialize(struct vault *v, vault_call *c, int escrow, const char *passphrase,
                     size_t plen, char *root_token, size_t root_token_len, char *gen_pass,
                     size_t gen_pass_len, const vault_gov_set *gov)
{
    struct vault_keyring *kr = NULL;
    struct lifecycle_hook h = {v, c, root_token, root_token_len, gov};
    int r;

    if (v->kr || (r = vault_keyring_exists(v->db)) == 1)
        return TV_ERR_EXISTS;
    if (r < 0)
        return r;
    if (escrow && !passphrase) {
        if ((r = vault_keyring_gen_passphrase(gen_pass, gen_pass_len)) < 0)
            return r;
        passphrase = gen_pass;
        plen = strlen(gen_pass);
    }
    if ((r = vault_keyring_init(v->db, v->seal, vault_seal_policy(v), escrow ? passphrase : NULL,
                                escrow ? plen : 0, lifecycle_txn_hook, &h, &kr)) < 0)
        goto fail;
    if ((r = vault_activate(v, kr)) < 0)
        goto fail;
    return witness_after_activate(v, c);
fail:
    sodium_memzero(root_token, root_token_len);
    if (gen_pass)
        sodium_memzero(gen_pass, gen_pass_len);
    return r;
}

int vault_recover_complete(struct vault *v, vault_call *c, struct vault_recovery *job)
{
    struct vault_keyring *kr = NULL;
    struct lifecycle_hook h = {v, c, NULL, 0, NULL};
    int r;

    if ((r = vault_keyring_recover_result(job)) < 0)
        return r;
    if (v->kr) {
        /* Active: only the live root key may be re-sealed; an escrow that
         * opens to another key (injected by the host) changes nothing. */
        if (!vault_keyring_recover_matches(job, v->kr))
            return TV_ERR_DENIED;
        return vault_keyring_reseal(v->kr, vault_seal_policy(v), lifecycle_txn_hook, &h);
    }
    if ((r = vault_keyring_recover_finish(v->db, v->seal, vault_seal_policy(v), job,
                                          lifecycle_txn_hook, &h, &kr)) < 0)
        return r;
    if ((r = vault_activate(v, kr)) < 0)
        return r;
    return witness_after_activate(v, c);
}

int vault_recover(struct vault *v, vault_call *c, const char *passphrase, size_t plen)
{
    struct vault_recovery *job = NULL;
    int r;
    if ((r = vault_keyring_recover_begin(v->db, passphrase, plen, &job)) < 0)
        return r;
    vault_keyring_recover_unwrap(job);
    r = vault_recover_complete(v, c, job);
    vault_recovery_free(job);
    return r;
}

/* Write the dev root token to <state_dir>/root-token, 0600, never replacing a file. */
static int write_root_token(const char *dir, const char *token, char *path, size_t pathlen)
{
    int fd, r = TV_ERR_IO;
    size_t n = strlen(token);
    if ((size_t)snprintf(path, pathlen, "%s/root-token", dir) >= pathlen)
        return TV_ERR_INVALID;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return TV_ERR_IO;
    if (write(fd, token, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0)
        r = TV_OK;
    close(fd);
    if (r < 0)
        unlink(path);
    return r;
}

int vault_startup(struct vault *v)
{
    struct vault_keyring *kr = NULL;
    int r;

    if ((r = vault_keyring_exists(v->db)) < 0)
        return r;
    if (r == 1) {
        if ((r = vault_keyring_open(v->db, v->seal, &kr)) < 0)
            return r;
        return vault_activate(v, kr);
    }
    if (!v->cfg || !v->cfg->dev)
        return TV_ERR_NOT_INITIALISED;

    /* --dev on an empty store: initialise it now, without recovery escrow. */
    vault_call c;
    vault_principal p;
    char token[VAULT_TOKEN_BUF];
    char path[4096];
    internal_call(v, &c, &p, "Initialize");
    if ((r = vault_initialize(v, &c, 0, NULL, 0, token, sizeof(token), NULL, 0, NULL)) < 0)
        return r;
    r = write_root_token(v->cfg->state_dir, token, path, sizeof(path));
    sodium_memzero(token, sizeof(token));
    if (r < 0) {
        vault_log(VAULT_LOG_ERROR, "dev_init", "error", "cannot write the root token file",
                  "reason", strerror(errno), (const char *)NULL);
        return r;
    }
    vault_log(VAULT_LOG_INFO, "dev_init", "root_token_file", path, (const char *)NULL);
    fprintf(stdout, "teevaultd --dev: root token written to %s\n", path);
    fflush(stdout);
    return TV_OK;
}

int vault_inactive_error(const struct vault *v, char *msg, size_t msglen)
{
    if (v->db && vault_keyring_exists(v->db) == 1) {
        snprintf(msg, msglen, "%s", VAULT_SEALED_MSG);
        return TV_ERR_SEALED;
    }
    snprintf(msg, msglen, "the vault is not initialised: run `teevault operator init`");
    return TV_ERR_NOT_INITIALISED;
}
