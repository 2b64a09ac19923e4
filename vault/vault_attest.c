/*
 * vault_attest: nonces, function sessions, Attest and Report (contract in
 * vault_attest.h).
 */
#include "vault_attest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "seal.h"
#include "seal_fnget.h"
#include "seal_producers.h"
#include "seal_sim_report.h"
#include "seal_verify.h"
#include "vault_audit.h"
#include "vault_auth.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_functions.h"
#include "vault_record.h"

#define NONCE_BUCKETS   1024
#define SESSION_BUCKETS 4096
#define TOKEN_RAW_LEN   32

typedef struct att_nonce {
    uint8_t nonce[VAULT_ATTEST_NONCE_LEN];
    int64_t expires;
    struct att_nonce *next;
} att_nonce;

/* A nonce that left the outstanding table (used, or found expired), kept in a
 * fixed ring only so a later attempt is told "replay" / "expired" instead of
 * "unknown". It does not count against max_nonces. */
typedef struct att_retired {
    uint8_t nonce[VAULT_ATTEST_NONCE_LEN];
    int err; /* TV_ERR_REPLAY or TV_ERR_EXPIRED */
} att_retired;

typedef struct att_session {
    uint8_t hash[32];
    int64_t expires;
    char name[VAULT_ID_MAX];
    uint8_t *key; /* SEAL_FNGET_KEY_LEN, sodium_malloc (wiped by sodium_free) */
    char **policies;
    size_t n_policies;
    struct att_session *next;
} att_session;

struct vault_attest {
    uint32_t session_ttl, nonce_ttl;
    size_t max_nonces, max_sessions;
    int has_sim_pk;
    uint8_t sim_pk[32];
    seal_collateral *collateral;
    att_nonce *nonces[NONCE_BUCKETS]; /* outstanding (issued, unused) */
    size_t n_nonces;
    att_retired *retired; /* ring of max_nonces entries */
    size_t retired_next, retired_n;
    att_session *sessions[SESSION_BUCKETS];
    size_t n_sessions;
    int64_t time_offset;
};

static void setf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void setf(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    if (!dst || !n)
        return;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

static int64_t now_of(const struct vault_attest *a)
{
    return (int64_t)time(NULL) + a->time_offset;
}

static size_t bucket(const uint8_t *p, size_t n)
{
    return ((size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16) % n;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void session_free(att_session *s)
{
    strv_free(s->policies, s->n_policies);
    if (s->key)
        sodium_free(s->key);
    sodium_memzero(s, sizeof *s);
    free(s);
}

static void state_free(struct vault_attest *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < NONCE_BUCKETS; i++) {
        att_nonce *n = a->nonces[i];
        while (n) {
            att_nonce *nx = n->next;
            free(n);
            n = nx;
        }
    }
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        att_session *s = a->sessions[i];
        while (s) {
            att_session *nx = s->next;
            session_free(s);
            s = nx;
        }
    }
    seal_collateral_free(a->collateral);
    free(a->retired);
    sodium_memzero(a, sizeof *a);
    free(a);
}

void vault_attest_close(struct vault *v)
{
    if (!v)
        return;
    state_free(v->attest);
    v->attest = NULL;
}

int vault_attest_configure(struct vault *v, const vault_attest_params *p)
{
    struct vault_attest *a;
    vault_attest_params d = {0};
    int r = TV_ERR_INTERNAL;

    if (!v)
        return TV_ERR_INVALID;
    if (!p)
        p = &d;
    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    if (!(a = calloc(1, sizeof *a)))
        return TV_ERR_NOMEM;
    a->session_ttl = p->session_ttl ? p->session_ttl : 900;
    a->nonce_ttl = p->nonce_ttl ? p->nonce_ttl : 60;
    a->max_nonces = p->max_nonces ? p->max_nonces : 4096;
    a->max_sessions = p->max_sessions ? p->max_sessions : 65536;
    if (!(a->retired = calloc(a->max_nonces, sizeof *a->retired))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    /* Sim evidence is signed by a key on the host's disk: only a vault that
     * is itself sim (no hardware protection either) may accept it. A
     * hardware vault refuses any sim key it is handed (the config is host
     * input too: vault_config_validate refuses sim_platform_dir there). */
    const vault_config *cfg = v->cfg;
    int hw = (v->seal && v->seal->ops->hardware_protected) ||
             (cfg && cfg->tee_backend && strcmp(cfg->tee_backend, "sim") != 0);
    if (hw && (p->sim_pk || p->sim_platform_dir)) {
        r = TV_ERR_POLICY;
        goto out;
    }
    if (p->sim_pk) {
        memcpy(a->sim_pk, p->sim_pk, 32);
        a->has_sim_pk = 1;
    } else if (!hw) {
        const char *dir = p->sim_platform_dir;
        /* The vault's own backend is sim: it shares the machine's sim platform. */
        if (!dir && cfg)
            dir = cfg->tee_root ? cfg->tee_root : cfg->state_dir;
        if (dir) {
            if ((r = seal_sim_platform_pubkey(dir, a->sim_pk)) < 0)
                goto out;
            a->has_sim_pk = 1;
        }
    }
    if (p->collateral && (r = seal_collateral_load(p->collateral, &a->collateral)) < 0)
        goto out;
    vault_attest_close(v);
    v->attest = a;
    a = NULL;
    r = 0;
out:
    state_free(a);
    return r;
}

static int get_state(struct vault *v, struct vault_attest **out)
{
    int r;
    if (!v)
        return TV_ERR_INVALID;
    if (!v->attest && (r = vault_attest_configure(v, NULL)) < 0)
        return r;
    *out = v->attest;
    return 0;
}

void vault_attest_test_advance(struct vault *v, int64_t delta)
{
    struct vault_attest *a;
    if (get_state(v, &a) == 0)
        a->time_offset += delta;
}

/* ---------------------------------------------------------------- nonces */

static void retire(struct vault_attest *a, const uint8_t nonce[VAULT_ATTEST_NONCE_LEN], int err)
{
    att_retired *e = &a->retired[a->retired_next];
    memcpy(e->nonce, nonce, VAULT_ATTEST_NONCE_LEN);
    e->err = err;
    a->retired_next = (a->retired_next + 1) % a->max_nonces;
    if (a->retired_n < a->max_nonces)
        a->retired_n++;
}

/* Move expired outstanding nonces to the retired ring. */
static void nonce_sweep(struct vault_attest *a, int64_t now)
{
    for (size_t i = 0; i < NONCE_BUCKETS; i++) {
        att_nonce **pp = &a->nonces[i];
        while (*pp) {
            att_nonce *n = *pp;
            if (now >= n->expires) {
                *pp = n->next;
                retire(a, n->nonce, TV_ERR_EXPIRED);
                free(n);
                a->n_nonces--;
            } else {
                pp = &n->next;
            }
        }
    }
}

int vault_attest_challenge(struct vault *v, uint8_t nonce[VAULT_ATTEST_NONCE_LEN],
                           int64_t *expires_at)
{
    struct vault_attest *a;
    att_nonce *n;
    int64_t now;
    int r;

    if (!nonce || !expires_at)
        return TV_ERR_INVALID;
    if ((r = get_state(v, &a)) < 0)
        return r;
    now = now_of(a);
    if (a->n_nonces >= a->max_nonces)
        nonce_sweep(a, now);
    if (a->n_nonces >= a->max_nonces)
        return TV_ERR_RESOURCE;
    if (!(n = calloc(1, sizeof *n)))
        return TV_ERR_NOMEM;
    randombytes_buf(n->nonce, sizeof n->nonce);
    n->expires = now + a->nonce_ttl;
    n->next = a->nonces[bucket(n->nonce, NONCE_BUCKETS)];
    a->nonces[bucket(n->nonce, NONCE_BUCKETS)] = n;
    a->n_nonces++;
    memcpy(nonce, n->nonce, VAULT_ATTEST_NONCE_LEN);
    *expires_at = n->expires;
    return 0;
}

/* Consume: 0, TV_ERR_REPLAY, TV_ERR_EXPIRED or TV_ERR_UNAUTHENTICATED. */
static int nonce_consume(struct vault_attest *a, const uint8_t nonce[VAULT_ATTEST_NONCE_LEN])
{
    int64_t now = now_of(a);
    att_nonce **pp = &a->nonces[bucket(nonce, NONCE_BUCKETS)];

    for (; *pp; pp = &(*pp)->next) {
        att_nonce *n = *pp;
        int r;
        if (sodium_memcmp(n->nonce, nonce, VAULT_ATTEST_NONCE_LEN) != 0)
            continue;
        r = now >= n->expires ? TV_ERR_EXPIRED : 0;
        *pp = n->next;
        retire(a, n->nonce, r == 0 ? TV_ERR_REPLAY : TV_ERR_EXPIRED);
        free(n);
        a->n_nonces--;
        return r;
    }
    /* Not outstanding: only the failure path scans the retired ring. */
    for (size_t i = 0; i < a->retired_n; i++)
        if (memcmp(a->retired[i].nonce, nonce, VAULT_ATTEST_NONCE_LEN) == 0)
            return a->retired[i].err;
    return TV_ERR_UNAUTHENTICATED;
}

/* ---------------------------------------------------------------- sessions */

static void session_hash(const uint8_t raw[TOKEN_RAW_LEN], uint8_t out[32])
{
    static const char dom[] = "teevault-fn-session-v1";
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)dom, sizeof dom);
    crypto_hash_sha256_update(&st, raw, TOKEN_RAW_LEN);
    crypto_hash_sha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

static void session_sweep(struct vault_attest *a, int64_t now, const char *name)
{
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        att_session **pp = &a->sessions[i];
        while (*pp) {
            att_session *s = *pp;
            if (now >= s->expires || (name && strcmp(s->name, name) == 0)) {
                *pp = s->next;
                session_free(s);
                a->n_sessions--;
            } else {
                pp = &s->next;
            }
        }
    }
}

void vault_attest_drop_function(struct vault *v, const char *name)
{
    if (v && v->attest && name)
        session_sweep(v->attest, now_of(v->attest), name);
}

size_t vault_attest_session_count(struct vault *v)
{
    return v && v->attest ? v->attest->n_sessions : 0;
}

static int session_create(struct vault_attest *a, const char *name, const uint8_t eph_pk[32],
                          char *const *policies, size_t n_policies,
                          char token[VAULT_ATTEST_TOKEN_BUF], uint8_t session_pk[32],
                          uint8_t session_id[32], int64_t *expires_at)
{
    uint8_t raw[TOKEN_RAW_LEN], sk[crypto_scalarmult_SCALARBYTES], pk[crypto_scalarmult_BYTES];
    att_session *s = NULL;
    int64_t now = now_of(a);
    size_t plen = strlen(VAULT_ATTEST_TOKEN_PREFIX), b;
    int r = TV_ERR_INTERNAL;

    if (a->n_sessions >= a->max_sessions)
        session_sweep(a, now, NULL);
    if (a->n_sessions >= a->max_sessions)
        return TV_ERR_RESOURCE;
    if (!(s = calloc(1, sizeof *s)))
        return TV_ERR_NOMEM;
    if (n_policies) {
        if (!(s->policies = calloc(n_policies, sizeof *s->policies))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < n_policies; i++) {
            if (!(s->policies[i] = strdup(policies[i]))) {
                s->n_policies = i;
                r = TV_ERR_NOMEM;
                goto out;
            }
        }
        s->n_policies = n_policies;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    /* Per-session key pair: forward secrecy per session. Only the derived
     * key is kept; sk is wiped below on every path. */
    if (!(s->key = sodium_malloc(SEAL_FNGET_KEY_LEN))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    randombytes_buf(sk, sizeof sk);
    if (crypto_scalarmult_base(pk, sk) != 0) {
        r = TV_ERR_CRYPTO;
        goto out;
    }
    if ((r = seal_fn_session_key(s->key, sk, eph_pk, eph_pk, pk)) < 0)
        goto out;
    s->expires = now + a->session_ttl;
    randombytes_buf(raw, sizeof raw);
    session_hash(raw, s->hash);
    memcpy(token, VAULT_ATTEST_TOKEN_PREFIX, plen);
    sodium_bin2base64(token + plen, VAULT_ATTEST_TOKEN_BUF - plen, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    b = bucket(s->hash, SESSION_BUCKETS);
    s->next = a->sessions[b];
    a->sessions[b] = s;
    a->n_sessions++;
    memcpy(session_pk, pk, sizeof pk);
    if (session_id)
        memcpy(session_id, s->hash, sizeof s->hash);
    *expires_at = s->expires;
    s = NULL;
    r = 0;
out:
    sodium_memzero(sk, sizeof sk);
    if (s)
        session_free(s);
    return r;
}

int vault_attest_resolve_session(struct vault *v, const char *token, size_t token_len,
                                 vault_principal *out)
{
    struct vault_attest *a;
    uint8_t raw[TOKEN_RAW_LEN], h[32];
    size_t plen = strlen(VAULT_ATTEST_TOKEN_PREFIX), bin_len = 0;
    vault_principal p;
    att_session **pp;
    int r = TV_ERR_UNAUTHENTICATED;

    if (!v || !out || !token)
        return TV_ERR_UNAUTHENTICATED;
    if (!(a = v->attest))
        return TV_ERR_UNAUTHENTICATED; /* no session was ever made */
    if (token_len != VAULT_ATTEST_TOKEN_STR_LEN || memcmp(token, VAULT_ATTEST_TOKEN_PREFIX, plen))
        return TV_ERR_UNAUTHENTICATED;
    if (sodium_base642bin(raw, sizeof raw, token + plen, token_len - plen, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        bin_len != sizeof raw)
        return TV_ERR_UNAUTHENTICATED;
    session_hash(raw, h);
    sodium_memzero(raw, sizeof raw);
    memset(&p, 0, sizeof p);
    for (pp = &a->sessions[bucket(h, SESSION_BUCKETS)]; *pp; pp = &(*pp)->next) {
        att_session *s = *pp;
        if (sodium_memcmp(s->hash, h, sizeof h) != 0)
            continue;
        if (now_of(a) >= s->expires) {
            *pp = s->next;
            session_free(s);
            a->n_sessions--;
            r = TV_ERR_UNAUTHENTICATED;
            goto out;
        }
        p.kind = VAULT_PRINCIPAL_FUNCTION;
        snprintf(p.id, sizeof p.id, "%s", s->name);
        memcpy(p.fn_session, s->hash, sizeof p.fn_session);
        if (s->n_policies) {
            if (!(p.policies = calloc(s->n_policies, sizeof *p.policies))) {
                r = TV_ERR_NOMEM;
                goto out;
            }
            for (size_t i = 0; i < s->n_policies; i++) {
                if (!(p.policies[i] = strdup(s->policies[i]))) {
                    p.n_policies = i;
                    r = TV_ERR_NOMEM;
                    goto out;
                }
            }
            p.n_policies = s->n_policies;
        }
        *out = p;
        memset(&p, 0, sizeof p);
        r = 0;
        goto out;
    }
out:
    strv_free(p.policies, p.n_policies);
    sodium_memzero(h, sizeof h);
    return r;
}

static att_session *session_find(struct vault_attest *a, const uint8_t id[32])
{
    for (att_session *s = a->sessions[bucket(id, SESSION_BUCKETS)]; s; s = s->next)
        if (sodium_memcmp(s->hash, id, 32) == 0)
            return now_of(a) < s->expires ? s : NULL;
    return NULL;
}

int vault_attest_seal_get(struct vault *v, const uint8_t session_id[32], const char *name,
                          uint64_t version, const uint8_t *pt, size_t len, uint8_t **out,
                          size_t *out_len)
{
    att_session *s;
    uint8_t *buf;
    int r;

    if (!v || !session_id || !name || (!pt && len) || !out || !out_len ||
        len > SIZE_MAX - SEAL_FNGET_OVERHEAD)
        return TV_ERR_INVALID;
    if (!v->attest || !(s = session_find(v->attest, session_id)))
        return TV_ERR_UNAUTHENTICATED;
    if (!(buf = malloc(len + SEAL_FNGET_OVERHEAD)))
        return TV_ERR_NOMEM;
    if ((r = seal_fn_get_seal(s->key, name, strlen(name), version, pt, len, buf)) < 0) {
        free(buf);
        return r;
    }
    *out = buf;
    *out_len = len + SEAL_FNGET_OVERHEAD;
    return 0;
}

int vault_attest_test_session(struct vault *v, const char *name, const uint8_t eph_pk[32],
                              uint8_t session_id[32], uint8_t session_pk[32])
{
    struct vault_attest *a;
    char token[VAULT_ATTEST_TOKEN_BUF];
    int64_t exp;
    int r;

    if (!name || !eph_pk || !session_id || !session_pk)
        return TV_ERR_INVALID;
    if ((r = get_state(v, &a)) < 0)
        return r;
    r = session_create(a, name, eph_pk, NULL, 0, token, session_pk, session_id, &exp);
    sodium_memzero(token, sizeof token);
    return r;
}

/* ---------------------------------------------------------------- Attest */

static enum seal_ev_type type_of(const char *s)
{
    if (!s)
        return SEAL_EV_UNKNOWN;
    if (!strcmp(s, "sim"))
        return SEAL_EV_SIM;
    if (!strcmp(s, "sgx"))
        return SEAL_EV_SGX;
    if (!strcmp(s, "tdx"))
        return SEAL_EV_TDX;
    if (!strcmp(s, "snp"))
        return SEAL_EV_SNP;
    return SEAL_EV_UNKNOWN;
}

int vault_attest_attest(struct vault *v, const vault_attest_req *rq,
                        char token[VAULT_ATTEST_TOKEN_BUF], uint8_t session_pk[32],
                        int64_t *expires_at, char *why, size_t whylen)
{
    struct vault_attest *a;
    Teevault__V1__FunctionInfo *fi = NULL;
    MDB_txn *txn = NULL;
    vault_fn_policy pol;
    seal_verify_policy vp;
    seal_verdict *verdict = NULL;
    uint8_t binding[SEAL_REPORT_DATA_LEN];
    enum seal_ev_type t;
    char qn[VAULT_FN_NAME_MAX + 16];
    int r = TV_ERR_INTERNAL;

    if (why && whylen)
        why[0] = 0;
    if (!rq || !token || !session_pk || !expires_at)
        return TV_ERR_INVALID;
    if ((r = get_state(v, &a)) < 0) {
        setf(why, whylen, "attestation state unavailable: %s", tv_strerror(r));
        return r;
    }
    if (rq->nonce_len != VAULT_ATTEST_NONCE_LEN || !rq->nonce) {
        setf(why, whylen, "nonce must be %u bytes (from Attestation.Challenge)",
             VAULT_ATTEST_NONCE_LEN);
        return TV_ERR_INVALID;
    }
    if (rq->eph_pk_len != 32 || !rq->eph_pk) {
        setf(why, whylen, "eph_pubkey must be a 32-byte X25519 public key");
        return TV_ERR_INVALID;
    }
    if (rq->code_hash_len > VAULT_FN_CODE_HASH_MAX) {
        setf(why, whylen, "code_hash longer than %u bytes", VAULT_FN_CODE_HASH_MAX);
        return TV_ERR_INVALID;
    }
    if (!rq->evidence || rq->evidence_len == 0 || rq->evidence_len > VAULT_ATTEST_EVIDENCE_MAX) {
        setf(why, whylen, "evidence must be 1..%u bytes", VAULT_ATTEST_EVIDENCE_MAX);
        return TV_ERR_INVALID;
    }
    if ((t = type_of(rq->evidence_type)) == SEAL_EV_UNKNOWN) {
        setf(why, whylen, "evidence_type must be sim, sgx, tdx or snp");
        return TV_ERR_INVALID;
    }
    vault_quote(qn, sizeof qn, rq->function_name ? rq->function_name : "",
                rq->function_name ? strlen(rq->function_name) : 0);
    if (!vault_fn_name_valid(rq->function_name)) {
        setf(why, whylen, "invalid function name %s", qn);
        return TV_ERR_INVALID;
    }

    /* Single use: the nonce is spent by this attempt whatever happens next. */
    if ((r = nonce_consume(a, rq->nonce)) < 0) {
        setf(why, whylen, "%s",
             r == TV_ERR_REPLAY    ? "nonce already used (replay)"
             : r == TV_ERR_EXPIRED ? "nonce expired; ask for a new challenge"
                                   : "nonce was not issued by this vault (or expired long ago)");
        return r;
    }

    if (!v->db) {
        setf(why, whylen, "the vault has no store");
        return TV_ERR_NOT_INITIALISED;
    }
    if ((r = vault_db_rtxn(v->db, &txn)) < 0) {
        setf(why, whylen, "storage error: %s", tv_strerror(r));
        return r;
    }
    r = vault_functions_get(v->db, txn, rq->function_name, &fi);
    mdb_txn_abort(txn);
    if (r == TV_ERR_NOT_FOUND) {
        setf(why, whylen, "no function %s is registered", qn);
        return TV_ERR_DENIED;
    }
    if (r < 0) {
        setf(why, whylen, "function %s cannot be read: %s", qn, tv_strerror(r));
        return r;
    }
    if ((r = vault_fn_policy_parse(fi->policy, strlen(fi->policy), &pol, why, whylen)) < 0) {
        r = TV_ERR_INTEGRITY;
        goto out;
    }
    if (pol.type != t) {
        setf(why, whylen, "function %s is registered for %s evidence, not %s", qn,
             seal_ev_type_name(pol.type), seal_ev_type_name(t));
        r = TV_ERR_POLICY;
        goto out;
    }

    /* Evidence: signatures and chain, then the function's debug/TCB policy. */
    if (!(verdict = calloc(1, sizeof *verdict))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    vault_fn_policy_verify_policy(&pol, &vp);
    if (t == SEAL_EV_SIM) {
        if (!a->has_sim_pk) {
            setf(why, whylen, "this vault accepts no sim evidence (no sim platform key)");
            r = TV_ERR_POLICY;
            goto out;
        }
        r = seal_sim_verify_verdict(rq->evidence, rq->evidence_len, a->sim_pk, 32, &vp, verdict);
    } else {
        seal_verify_inputs in;
        memset(&in, 0, sizeof in);
        in.type = t;
        in.collateral = a->collateral;
        r = seal_verify_evidence(rq->evidence, rq->evidence_len, &in, &vp, verdict);
    }
    if (r < 0) {
        setf(why, whylen, "evidence refused: %s",
             verdict->reason[0] ? verdict->reason : tv_strerror(r));
        goto out;
    }
    if (verdict->type != t) {
        setf(why, whylen, "evidence is not of type %s", seal_ev_type_name(t));
        r = TV_ERR_FORMAT;
        goto out;
    }

    /* Binding: nonce, name, code hash and the key the value will be sealed to. */
    seal_attest_binding(rq->nonce, rq->function_name, strlen(rq->function_name), rq->code_hash,
                        rq->code_hash_len, rq->eph_pk, binding);
    if (!(verdict->claims.present & SEAL_CLAIM_REPORT_DATA) ||
        sodium_memcmp(verdict->claims.report_data, binding, sizeof binding) != 0) {
        setf(why, whylen,
             "evidence report_data is not bound to this nonce, function, code hash and key");
        r = TV_ERR_INTEGRITY;
        goto out;
    }

    if ((r = vault_fn_policy_match(&pol, verdict, rq->code_hash, rq->code_hash_len, why, whylen)) <
        0)
        goto out;

    if ((r = session_create(a, fi->name, rq->eph_pk, fi->acl_policies, fi->n_acl_policies, token,
                            session_pk, NULL, expires_at)) < 0) {
        setf(why, whylen, "%s",
             r == TV_ERR_RESOURCE  ? "too many live function sessions"
             : r == TV_ERR_INVALID ? "eph_pubkey is a low-order X25519 point (no shared key)"
                                   : tv_strerror(r));
        goto out;
    }
    r = 0;
out:
    free(verdict);
    sodium_memzero(binding, sizeof binding);
    if (fi)
        teevault__v1__function_info__free_unpacked(fi, NULL);
    return r;
}

/* ---------------------------------------------------------------- Report */

/* Hash the verified payloads (vault_record) of table t: the hash names the
 * policies' content, not when they were written. */
static int hash_db(vault_db *db, MDB_txn *txn, enum vault_tbl t, uint8_t tag,
                   crypto_hash_sha256_state *st)
{
    MDB_cursor *cur = NULL;
    MDB_val k, sd, d;
    uint8_t l[4];
    int rc, r = 0;

    if ((r = vault_db_err(mdb_cursor_open(txn, vault_record_dbi(db, t), &cur))) < 0)
        return r;
    crypto_hash_sha256_update(st, &tag, 1);
    for (rc = mdb_cursor_get(cur, &k, &sd, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &sd, MDB_NEXT)) {
        if ((r = vault_record_open(db, t, k.mv_data, k.mv_size, &sd, &d, NULL)) < 0)
            break;
        proto_put_be32(l, (uint32_t)k.mv_size);
        crypto_hash_sha256_update(st, l, 4);
        crypto_hash_sha256_update(st, k.mv_data, k.mv_size);
        proto_put_be32(l, (uint32_t)d.mv_size);
        crypto_hash_sha256_update(st, l, 4);
        crypto_hash_sha256_update(st, d.mv_data, d.mv_size);
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_NOTFOUND ? 0 : vault_db_err(rc);
}

int vault_attest_policy_hash(struct vault *v, uint8_t out[32])
{
    static const char dom[] = "teevault-policy-hash-v1";
    crypto_hash_sha256_state st;
    MDB_txn *txn = NULL;
    int r;

    if (!v || !v->db)
        return TV_ERR_NOT_INITIALISED;
    if ((r = vault_db_rtxn(v->db, &txn)) < 0)
        return r;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)dom, sizeof dom);
    if ((r = hash_db(v->db, txn, VAULT_TBL_POLICIES, 'P', &st)) < 0 ||
        (r = hash_db(v->db, txn, VAULT_TBL_FUNCTIONS, 'F', &st)) < 0)
        goto out;
    crypto_hash_sha256_final(&st, out);
    r = 0;
out:
    mdb_txn_abort(txn);
    return r;
}
