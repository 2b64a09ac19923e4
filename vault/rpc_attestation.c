/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rpc_attestation: the teevault.v1.Attestation service (DESIGN.md §5).
 *
 *   Challenge  public     a 32-byte single-use nonce, valid 60 s (stateless:
 *                         a MAC over time and random bytes, see vault_attest.h)
 *   Attest     public     evidence + function name + code hash + ephemeral
 *                         X25519 key + nonce → function session token and
 *                         the vault's X25519 key for the session, certified
 *                         by the vault's signing key, the reply MAC'd under
 *                         a key from that X25519 pair (vault_ident.h)
 *   Report     public     Report v2: the vault's own evidence binding its
 *                         vault id, signing key, config hash, TLS key hash,
 *                         audit key, policy hash and signed state to the
 *                         caller's nonce
 *   AuditAt    public     the chain hash of one audit record, signed with
 *                         the caller's nonce: a client that saw record N
 *                         checks the vault's chain still holds it (fork or
 *                         restore detection, docs/ATTESTATION.md)
 *
 * Every call is audited by the server (group commit) with the outcome; the
 * detail names the function and, on refusal, why. The work is in
 * vault_attest.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "teevault.pb-c.h"
#include "vault.h"
#include "vault_rpc.h"
#include "vault_attest.h"
#include "vault_functions.h"
#include "vault_ident.h"

/* protoc-c's *__INIT macros cast protobuf_c_empty_string's const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"

static int rpc_challenge(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    Teevault__V1__ChallengeResponse resp = TEEVAULT__V1__CHALLENGE_RESPONSE__INIT;
    uint8_t nonce[VAULT_ATTEST_NONCE_LEN];
    int64_t exp = 0;
    int r;

    (void)msg;
    if ((r = vault_attest_challenge(c->v, nonce, &exp)) < 0) {
        vault_call_errf(c, "%s", tv_strerror(r));
        return r;
    }
    resp.nonce.data = nonce;
    resp.nonce.len = sizeof nonce;
    resp.expires_at = exp;
    return vault_pack(out, &resp.base);
}

/* Attest runs in three steps (vault_attest.h): begin here on the loop
 * (sizes, the nonce is spent, the function's policy), the evidence check
 * and the session key pair on the server's worker thread, then finish on
 * the loop: the session enters the table, the reply carries the session
 * key's certificate and a MAC over it and the vault's current state; the
 * server writes the audit record before the reply leaves, as for any
 * call. */
typedef struct attest_offload {
    vault_attest_job *job;
    uint8_t nonce[VAULT_ATTEST_NONCE_LEN];
    uint8_t eph_pk[32];
    char name[VAULT_FN_NAME_MAX + 1];
    char type[17];
    char qn[64];
} attest_offload;

static void attest_work(void *arg)
{
    vault_attest_work(((attest_offload *)arg)->job);
}

static void attest_discard(void *arg)
{
    attest_offload *ao = arg;
    vault_attest_job_free(ao->job);
    free(ao);
}

static int attest_finish(vault_call *c, void *arg, proto_buf *out)
{
    attest_offload *ao = arg;
    Teevault__V1__AttestResponse resp = TEEVAULT__V1__ATTEST_RESPONSE__INIT;
    char token[VAULT_ATTEST_TOKEN_BUF];
    uint8_t session_pk[32], sig[SEAL_SIG_LEN], mac[SEAL_REPLY_MAC_LEN], mac_key[32];
    uint8_t next[VAULT_ATTEST_NONCE_LEN];
    vault_attest_reply_in in;
    seal_state st;
    char why[200] = "";
    int64_t exp = 0, next_exp = 0, key_exp = 0;
    int r;

    vault_attest_job_reply_key(ao->job, mac_key, &key_exp);
    r = vault_attest_finish(c->v, ao->job, token, session_pk, &exp, why, sizeof why);
    ao->job = NULL; /* freed by finish */
    if (r < 0) {
        vault_call_errf(c, "attestation refused: %.200s", why);
        snprintf(c->audit_detail, sizeof(c->audit_detail), "attest %.60s: %.55s", ao->qn, why);
        goto out;
    }
    /* The certified session key and the reply's MAC: the client checks the
     * certificate against the key it pinned from a verified Report and the
     * MAC with the key only it and this vault can derive, so a relay can
     * neither swap session_pubkey nor alter the reply. */
    in = (vault_attest_reply_in){ao->nonce, ao->eph_pk, session_pk, key_exp,
                                 mac_key,   ao->name,   exp,        token};
    if ((r = vault_ident_attest_reply(c->v, &in, &st, sig, mac)) < 0) {
        /* The token never leaves: the session is unreachable and expires. */
        sodium_memzero(token, sizeof token);
        vault_call_errf(c, "the vault cannot sign the session: %s", tv_strerror(r));
        snprintf(c->audit_detail, sizeof(c->audit_detail), "attest %.60s: cannot sign", ao->qn);
        goto out;
    }
    snprintf(c->audit_detail, sizeof(c->audit_detail), "attest %.60s (%.8s): session", ao->qn,
             ao->type);
    resp.session_token = token;
    resp.expires_at = exp;
    resp.session_pubkey.data = session_pk;
    resp.session_pubkey.len = sizeof session_pk;
    resp.vault_id.data = st.vault_id;
    resp.vault_id.len = sizeof st.vault_id;
    resp.signature.data = sig;
    resp.signature.len = sizeof sig;
    resp.session_key_expires_at = key_exp;
    resp.reply_mac.data = mac;
    resp.reply_mac.len = sizeof mac;
    resp.state_version = st.state_version;
    resp.audit_seq = st.audit_seq;
    resp.audit_head.data = st.audit_head;
    resp.audit_head.len = sizeof st.audit_head;
    /* The caller's next nonce, so a re-attestation needs no Challenge. */
    if (vault_attest_challenge(c->v, next, &next_exp) == 0) {
        resp.next_nonce.data = next;
        resp.next_nonce.len = sizeof next;
        resp.next_nonce_expires_at = next_exp;
    }
    r = vault_pack(out, &resp.base);
    sodium_memzero(token, sizeof token);
out:
    sodium_memzero(mac_key, sizeof mac_key);
    attest_discard(ao);
    return r;
}

static const vault_offload attest_offload_ops = {attest_work, attest_finish, attest_discard};

static int rpc_attest(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__AttestRequest *req = (const Teevault__V1__AttestRequest *)msg;
    vault_attest_req rq;
    attest_offload *ao = NULL;
    char why[200] = "", qn[64];
    int r;

    (void)out;
    memset(&rq, 0, sizeof rq);
    rq.evidence = req->evidence.data;
    rq.evidence_len = req->evidence.len;
    rq.evidence_type = req->evidence_type;
    rq.function_name = req->function_name;
    rq.code_hash = req->code_hash.data;
    rq.code_hash_len = req->code_hash.len;
    rq.eph_pk = req->eph_pubkey.data;
    rq.eph_pk_len = req->eph_pubkey.len;
    rq.nonce = req->nonce.data;
    rq.nonce_len = req->nonce.len;
    vault_quote(qn, sizeof qn, req->function_name, strlen(req->function_name));

    if (!(ao = calloc(1, sizeof *ao)))
        r = TV_ERR_NOMEM;
    else
        r = vault_attest_begin(c->v, &rq, &ao->job, why, sizeof why);
    if (r < 0) {
        if (!why[0])
            snprintf(why, sizeof why, "%s", tv_strerror(r));
        vault_call_errf(c, "attestation refused: %.200s", why);
        snprintf(c->audit_detail, sizeof(c->audit_detail), "attest %.60s: %.55s", qn, why);
        free(ao);
        return r;
    }
    /* begin validated the sizes: nonce and eph_pk are 32 bytes, the name
     * a valid function name. */
    memcpy(ao->nonce, req->nonce.data, sizeof ao->nonce);
    memcpy(ao->eph_pk, req->eph_pubkey.data, sizeof ao->eph_pk);
    snprintf(ao->name, sizeof ao->name, "%s", req->function_name);
    snprintf(ao->type, sizeof ao->type, "%s", req->evidence_type);
    memcpy(ao->qn, qn, sizeof ao->qn);
    c->offload = &attest_offload_ops;
    c->offload_arg = ao;
    return 0;
}

/* Report's evidence (a quote; with dstack an HTTP call) and the policy
 * hash run on the server's worker thread (issue 14): begin reads the audit
 * head and signs the state here, work does the rest there, finish packs the
 * reply here (vault_ident.h). */
static void report_work(void *arg)
{
    vault_ident_report_work(arg);
}

static void report_discard(void *arg)
{
    vault_ident_report_job *job = arg;
    free(job->out.evidence);
    free(job);
}

static int report_finish(vault_call *c, void *arg, proto_buf *out)
{
    vault_ident_report_job *job = arg;
    vault_ident_report *rep = &job->out;
    Teevault__V1__ReportResponse resp = TEEVAULT__V1__REPORT_RESPONSE__INIT;
    int r = job->r;

    if (r < 0) {
        vault_call_errf(c, "the vault's evidence cannot be made: %s", tv_strerror(r));
        goto out;
    }
    resp.evidence.data = rep->evidence;
    resp.evidence.len = rep->evidence_len;
    resp.evidence_type = (char *)(uintptr_t)rep->type;
    resp.audit_pubkey.data = rep->f.audit_pubkey;
    resp.audit_pubkey.len = sizeof rep->f.audit_pubkey;
    resp.policy_hash.data = rep->f.policy_hash;
    resp.policy_hash.len = sizeof rep->f.policy_hash;
    resp.audit_head.data = rep->f.audit_head;
    resp.audit_head.len = sizeof rep->f.audit_head;
    resp.audit_seq = rep->f.audit_seq;
    resp.report_version = SEAL_REPORT_VERSION;
    resp.vault_id.data = rep->f.vault_id;
    resp.vault_id.len = sizeof rep->f.vault_id;
    resp.sign_pubkey.data = rep->f.sign_pubkey;
    resp.sign_pubkey.len = sizeof rep->f.sign_pubkey;
    resp.config_hash.data = rep->f.config_hash;
    resp.config_hash.len = sizeof rep->f.config_hash;
    resp.tls_key_hash.data = rep->f.tls_key_hash;
    resp.tls_key_hash.len = sizeof rep->f.tls_key_hash;
    resp.state_version = rep->f.state_version;
    resp.state_signature.data = rep->state_sig;
    resp.state_signature.len = sizeof rep->state_sig;
    r = vault_pack(out, &resp.base);
out:
    report_discard(job);
    return r;
}

static const vault_offload report_offload_ops = {report_work, report_finish, report_discard};

static int rpc_report(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__ReportRequest *req = (const Teevault__V1__ReportRequest *)msg;
    vault_ident_report_job *job;
    int r;

    (void)out;
    if (!(job = calloc(1, sizeof *job)))
        return TV_ERR_NOMEM;
    if ((r = vault_ident_report_begin(c->v, req->nonce.data, req->nonce.len, job)) < 0) {
        vault_call_errf(c, "%s",
                        r == TV_ERR_INVALID       ? "nonce must be 32 bytes"
                        : r == TV_ERR_UNAVAILABLE ? "the vault has no TEE backend"
                                                  : tv_strerror(r));
        free(job);
        return r;
    }
    c->offload = &report_offload_ops;
    c->offload_arg = job;
    return 0;
}

static int rpc_audit_at(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__AuditAtRequest *req = (const Teevault__V1__AuditAtRequest *)msg;
    Teevault__V1__AuditAtResponse resp = TEEVAULT__V1__AUDIT_AT_RESPONSE__INIT;
    uint8_t hash[32], vid[32], sig[SEAL_SIG_LEN];
    uint32_t status = 0;
    int r;

    if (req->nonce.len != 32) {
        vault_call_errf(c, "nonce must be 32 bytes");
        return TV_ERR_INVALID;
    }
    if ((r = vault_ident_audit_at(c->v, req->nonce.data, req->seq, &status, hash, vid, sig)) < 0) {
        vault_call_errf(c, "%s", tv_strerror(r));
        return r;
    }
    resp.status = status;
    resp.hash.data = hash;
    resp.hash.len = sizeof hash;
    resp.vault_id.data = vid;
    resp.vault_id.len = sizeof vid;
    resp.signature.data = sig;
    resp.signature.len = sizeof sig;
    return vault_pack(out, &resp.base);
}

static const vault_handler attestation_handlers[] = {
    {"Challenge", rpc_challenge, VAULT_M_PUBLIC | VAULT_M_UNINIT | VAULT_M_FUNCTION | VAULT_M_READ},
    {"Attest", rpc_attest, VAULT_M_PUBLIC | VAULT_M_FUNCTION | VAULT_M_READ},
    {"Report", rpc_report, VAULT_M_PUBLIC | VAULT_M_UNINIT | VAULT_M_FUNCTION | VAULT_M_READ},
    {"AuditAt", rpc_audit_at, VAULT_M_PUBLIC | VAULT_M_FUNCTION | VAULT_M_READ},
    {NULL, NULL, 0},
};

const vault_service vault_rpc_attestation = {&teevault__v1__attestation__descriptor,
                                             attestation_handlers};
