/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sys service: Status and Health (public, callable before init), Initialize
 * and Recover (public; vault_lifecycle does the work), Rotate (admin).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "seal.h"
#include "teevault.pb-c.h"
#include "vault.h"
#include "vault_rpc.h"
#include "vault_governance.h"
#include "vault_audit.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_acl.h"
#include "vault_auth.h"
#include "vault_keyring.h"
#include "vault_lifecycle.h"
#include "vault_log.h"
#include "vault_rotate.h"
#include "vault_snapshot.h"
#include "vault_store.h"
#include "vault_server.h"

#ifndef TV_VERSION
#define TV_VERSION "0.1.0"
#endif

#define SIM_WARNING                                                                                \
    "TEE backend 'sim' gives NO hardware protection: keys are sealed to a file on disk. "          \
    "Development and tests only."

static int sys_status(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    struct vault *v = c->v;
    Teevault__V1__StatusResponse st;
    seal_identity id;
    char fill_warning[512];
    int r;

    (void)req;
    teevault__v1__status_response__init(&st);
    memset(&id, 0, sizeof(id));
    st.initialized = vault_is_active(v);
    st.version = (char *)(uintptr_t)TV_VERSION;
    const char *backend = v->seal ? v->seal->ops->name : v->cfg->tee_backend;
    st.tee_backend = (char *)(uintptr_t)(backend ? backend : "");
    st.hardware_protected = v->seal ? v->seal->ops->hardware_protected != 0 : 0;
    if (!st.hardware_protected)
        st.warning = (char *)(uintptr_t)SIM_WARNING;
    st.seal_policy = (char *)(uintptr_t)(v->cfg->seal_policy ? v->cfg->seal_policy : "");
    if (v->kr) {
        st.kek_epoch = vault_keyring_epoch(v->kr);
        st.seal_policy = (char *)(uintptr_t)(vault_keyring_policy(v->kr) == SEAL_POLICY_MEASUREMENT
                                                 ? "measurement"
                                                 : "signer");
    }
    if (v->seal && seal_identity_get(v->seal, &id) == 0) {
        st.measurement.data = id.measurement;
        st.measurement.len = id.measurement_len;
        st.signer.data = id.signer;
        st.signer.len = id.signer_len;
    }
    if (v->db) {
        uint64_t used = 0, map = 0;
        if (vault_db_usage(v->db, &used, &map) == 0) {
            st.storage_used_bytes = used;
            st.storage_map_bytes = map;
            st.audit_used_percent = map ? (uint32_t)(used * 100 / map) : 0;
        }
    }
    st.operator_plaintext_reads = v->cfg->operator_plaintext_reads != 0;
    if (vault_is_active(v)) {
        st.state = (char *)(uintptr_t) "active";
    } else if (v->db && vault_keyring_exists(v->db) == 1) {
        st.state = (char *)(uintptr_t) "sealed";
        st.sealed = 1;
        st.initialized = 1;
    } else {
        st.state = (char *)(uintptr_t) "uninitialized";
    }
    vault_rotate_info ri;
    vault_rotate_get_info(v, &ri);
    st.rotation_running = ri.running != 0;
    st.rotation_epoch = ri.epoch;
    st.rotation_rewrapped = ri.rewrapped;
    st.rotation_visited = ri.visited;
    st.rotation_total = ri.total;
    st.rotation_error = (char *)(uintptr_t)(ri.last_err ? tv_strerror(ri.last_err) : "");
    vault_audit_info ai;
    if (v->auditw && vault_audit_get_info(v, &ai) == 0) {
        st.audit_seq = ai.seq;
        st.audit_head.data = ai.head;
        st.audit_head.len = sizeof(ai.head);
        if (ai.has_pubkey) {
            st.audit_pubkey.data = ai.pubkey;
            st.audit_pubkey.len = sizeof(ai.pubkey);
        }
        st.audit_used_percent = ai.used_percent;
        if (ai.used_percent >= ai.warn_percent) {
            /* Say it well before writes are refused, with the fix that works. */
            snprintf(fill_warning, sizeof(fill_warning),
                     "%s%sthe store is %u%% full; new secret writes are refused at %u%%: "
                     "archive the audit log (teevault audit archive --out FILE) or raise "
                     "[limits] map_size and restart",
                     st.warning ? st.warning : "", st.warning ? "; " : "", ai.used_percent,
                     ai.high_water_percent);
            st.warning = fill_warning;
        }
    }
    r = vault_pack(out, &st.base);
    return r;
}

static int sys_health(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    struct vault *v = c->v;
    Teevault__V1__HealthResponse h;

    (void)req;
    teevault__v1__health_response__init(&h);
    if (vault_is_active(v)) {
        h.ok = 1;
        h.state = (char *)(uintptr_t) "active";
    } else if (v->db && vault_keyring_exists(v->db) == 1) {
        h.state = (char *)(uintptr_t) "sealed";
    } else {
        h.state = (char *)(uintptr_t) "uninitialized";
    }
    return vault_pack(out, &h.base);
}

/* Initialize: public and only before init (like `vault operator init`): the
 * first caller on the socket becomes root. The root token and a generated
 * passphrase leave only in this reply. */
static int sys_initialize(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    const Teevault__V1__InitRequest *in = (const Teevault__V1__InitRequest *)req;
    Teevault__V1__InitResponse resp;
    char token[VAULT_TOKEN_BUF], pass[VAULT_PASSPHRASE_LEN + 1];
    const char *given =
        in->recovery_passphrase && *in->recovery_passphrase ? in->recovery_passphrase : NULL;
    int r;

    vault_gov_set gov;
    char err[160];
    memset(pass, 0, sizeof(pass));
    if (in->governance && in->governance->n_keys) {
        if ((r = vault_gov_set_from_pb(in->governance, &gov, err, sizeof err)) < 0) {
            vault_call_errf(c, "%s", err);
            return r;
        }
        snprintf(c->audit_detail, sizeof c->audit_detail, "governance %u of %u keys", gov.k, gov.n);
    }
    r = vault_initialize(c->v, c, 1, given, given ? strlen(given) : 0, token, sizeof(token), pass,
                         sizeof(pass), in->governance && in->governance->n_keys ? &gov : NULL);
    if (r == TV_ERR_EXISTS && !vault_is_active(c->v))
        r = vault_inactive_error(c->v, c->errmsg, sizeof(c->errmsg));
    else if (r == TV_ERR_EXISTS)
        vault_call_errf(c, "the vault is already initialised");
    if (r < 0)
        return r;
    c->audited = 1;
    teevault__v1__init_response__init(&resp);
    resp.root_token = token;
    resp.recovery_passphrase = given ? (char *)(uintptr_t) "" : pass;
    r = vault_pack(out, &resp.base);
    sodium_memzero(token, sizeof(token));
    sodium_memzero(pass, sizeof(pass));
    return r;
}

/* Recover: re-seal the root key to this enclave from the passphrase.
 * Public on a sealed vault (nobody can use it yet); on an active vault it
 * needs admin on sys/recover and only re-seals the live root key. Each
 * attempt costs an Argon2id evaluation: it draws from Login's budget and
 * runs on the server's worker thread (vault_offload), never on the loop;
 * wrong passphrases are also held back 1 s. */
static void recover_work(void *arg)
{
    vault_keyring_recover_unwrap(arg);
}

static void recover_discard(void *arg)
{
    vault_recovery_free(arg);
}

static int recover_finish(vault_call *c, void *arg, proto_buf *out)
{
    vault_recovery *job = arg;
    int unwrapped = vault_keyring_recover_result(job);
    int r = vault_recover_complete(c->v, c, job);
    vault_recovery_free(job);
    if (r == 0) {
        c->audited = 1;
        return vault_pack_empty(out);
    }
    if (unwrapped == TV_ERR_INTEGRITY) {
        vault_call_errf(c, "wrong recovery passphrase");
        c->reply_delay_ms = 1000;
        return TV_ERR_DENIED;
    }
    if (r == TV_ERR_DENIED)
        vault_call_errf(c, "the passphrase opens an escrow whose root key is not this vault's "
                           "live root key; nothing was changed");
    else if (r == TV_ERR_INTEGRITY)
        vault_call_errf(c, "the recovered root key is not this vault's: the vault id or the "
                           "stored records do not verify under it (was the escrow replaced?); "
                           "nothing was changed");
    else
        vault_call_store_error(c, r);
    return r;
}

static const vault_offload recover_offload_ops = {recover_work, recover_finish, recover_discard};

static int sys_recover(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    const Teevault__V1__RecoverRequest *in = (const Teevault__V1__RecoverRequest *)req;
    const char *pass = in->recovery_passphrase ? in->recovery_passphrase : "";
    vault_recovery *job = NULL;
    char why[160];
    uint32_t delay = 0;
    int r;

    (void)out;
    if (!*pass) {
        vault_call_errf(c, "a recovery passphrase is required");
        return TV_ERR_INVALID;
    }
    if (vault_is_active(c->v) && (r = vault_acl_check(c->v, c->principal, "sys/recover",
                                                      VAULT_CAP_ADMIN, why, sizeof(why))) < 0) {
        vault_call_errf(c, "recover on an active vault needs admin on sys/recover: %s", why);
        return r;
    }
    struct timespec ts; /* the budget runs on Login's clock (CLOCK_REALTIME, ms) */
    clock_gettime(CLOCK_REALTIME, &ts);
    if ((r = vault_auth_kdf_budget_take((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &delay)) <
        0) {
        c->reply_delay_ms = delay;
        vault_call_errf(c, "too many passphrase checks; retry in %u ms", delay);
        return r;
    }
    if ((r = vault_keyring_recover_begin(c->v->db, pass, strlen(pass), &job)) < 0) {
        if (r == TV_ERR_NOT_INITIALISED)
            vault_call_errf(c, "no recovery escrow is stored in this vault");
        else
            vault_call_store_error(c, r);
        return r;
    }
    c->offload = &recover_offload_ops;
    c->offload_arg = job;
    return 0;
}

struct rotate_hook {
    vault_call *c;
};

static int rotate_txn_hook(void *arg, MDB_txn *txn)
{
    struct rotate_hook *h = arg;
    return h->c->v->auditw ? vault_audit_append_txn(h->c->v, txn, h->c, TV_OK) : TV_ERR_AUDIT;
}

/* Rotate: KEK epoch + 1, then re-wrap every DEK under the new epoch in
 * steps (vault_rotate.c), which erases the older KEKs when done. */
static int sys_rotate(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    struct vault *v = c->v;
    Teevault__V1__RotateResponse resp;
    struct rotate_hook h = {c};
    uint32_t epoch = 0;
    uint64_t rewrapped = 0, pending = 0;
    char why[160];
    int r;

    (void)req;
    if ((r = vault_acl_check(v, c->principal, "sys/rotate", VAULT_CAP_ADMIN, why, sizeof(why))) <
        0) {
        vault_call_errf(c, "rotate needs admin on sys/rotate: %s", why);
        return r;
    }
    if (v->rotation) {
        vault_rotate_info ri;
        vault_rotate_get_info(v, &ri);
        if (ri.running) {
            vault_call_errf(c,
                            "a rotation to epoch %u is still re-wrapping (%llu of %llu versions "
                            "visited); wait for it (teevault status)",
                            ri.epoch, (unsigned long long)ri.visited, (unsigned long long)ri.total);
            return TV_ERR_RESOURCE;
        }
    }
    if ((r = vault_keyring_rotate(v->kr, rotate_txn_hook, &h, &epoch)) < 0)
        return r;
    c->audited = 1;
    if ((r = vault_rotate_start(v, &pending, &rewrapped)) < 0) {
        vault_call_errf(c,
                        "rotated to epoch %u, but re-wrapping stopped after %llu keys; "
                        "older epochs stay readable, run rotate again",
                        epoch, (unsigned long long)rewrapped);
        return r;
    }
    {
        char n1[24], n2[24];
        snprintf(n1, sizeof(n1), "%u", epoch);
        snprintf(n2, sizeof(n2), "%llu", (unsigned long long)pending);
        vault_log(VAULT_LOG_INFO, "rotate", "epoch", n1, "versions", n2, (const char *)NULL);
    }
    teevault__v1__rotate_response__init(&resp);
    resp.kek_epoch = epoch;
    resp.rewrapped = rewrapped;
    resp.pending = pending;
    return vault_pack(out, &resp.base);
}

static const vault_handler sys_handlers[] = {
    {"Status", sys_status, VAULT_M_PUBLIC | VAULT_M_UNINIT | VAULT_M_FUNCTION},
    {"Health", sys_health, VAULT_M_PUBLIC | VAULT_M_UNINIT | VAULT_M_FUNCTION},
    {"Initialize", sys_initialize, VAULT_M_PUBLIC | VAULT_M_UNINIT},
    {"Recover", sys_recover, VAULT_M_PUBLIC | VAULT_M_UNINIT},
    {"Rotate", sys_rotate, 0},
    {"Snapshot", vault_snapshot_rpc, 0},
    {NULL, NULL, 0},
};

const vault_service vault_rpc_sys = {&teevault__v1__sys__descriptor, sys_handlers};
