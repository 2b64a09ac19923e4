/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_quote_dcap: Intel DCAP ECDSA quotes — SGX v3, TDX v4 and v5
 * (FORMATS.md §1-3; Intel QVL QuoteVerifier.cpp; dcap-qvl verify.rs).
 *
 * Trailing bytes after the declared signature data are ignored (some real
 * quotes carry padding or text there); everything inside the declared length
 * must be consumed exactly.
 */
#include <string.h>
#include <strings.h>

#include <stdio.h>
#include <stdlib.h>

#include "seal_verify_int.h"

static const uint8_t intel_qe_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                            0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

/* Intel's quoting enclaves, as Intel's QVL knows them (and as Intel's signed
 * QE identity collateral names them): the SGX QE3 and the TDX TD-QE, both
 * signed by Intel's enclave signing key. Checked for every quote, with or
 * without collateral: otherwise any enclave the platform's PCE certified
 * could sign "QE reports" for attestation keys of its choosing. */
static const uint8_t intel_sgx_qe_mrsigner[32] = {
    0x8c, 0x4f, 0x57, 0x75, 0xd7, 0x96, 0x50, 0x3e, 0x96, 0x13, 0x7f, 0x77, 0xc6, 0x8a, 0x82, 0x9a,
    0x00, 0x56, 0xac, 0x8d, 0xed, 0x70, 0x14, 0x0b, 0x08, 0x1b, 0x09, 0x44, 0x90, 0xc5, 0x7b, 0xff};
static const uint8_t intel_td_qe_mrsigner[32] = {
    0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
    0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5};
#define INTEL_SGX_QE_ISVPRODID 1
#define INTEL_TD_QE_ISVPRODID  2

#define SGX_BODY_LEN  384
#define TD10_BODY_LEN 584
#define TD15_BODY_LEN 648

/* Parse QE report ‖ sig ‖ auth ‖ cert(type 5) at p[0, n); must consume all. */
static int parse_qe_part(const uint8_t *p, size_t n, seal_dcap_quote *q)
{
    size_t off = 0, auth, m;
    if (n < 384 + 64 + 2)
        return TV_ERR_FORMAT;
    q->qe_report = p;
    q->qe_report_sig = p + 384;
    off = 448;
    auth = seal_le16(p + off);
    off += 2;
    if (n - off < auth)
        return TV_ERR_FORMAT;
    q->qe_auth = p + off;
    q->qe_auth_len = auth;
    off += auth;
    if (n - off < 6)
        return TV_ERR_FORMAT;
    if (seal_le16(p + off) != 5)
        return TV_ERR_FORMAT; /* only the PCK chain form is supported */
    m = seal_le32(p + off + 2);
    off += 6;
    if (n - off != m || m == 0)
        return TV_ERR_FORMAT;
    q->pck_chain = p + off;
    q->pck_chain_len = m;
    return 0;
}

int seal_dcap_parse(const uint8_t *b, size_t len, seal_dcap_quote *out)
{
    seal_dcap_quote q;
    size_t sdl_off, sd, L;
    int r;

    memset(&q, 0, sizeof(q));
    if (!b || len < 48)
        return TV_ERR_FORMAT;
    q.version = seal_le16(b);
    if (seal_le16(b + 2) != 2)
        return TV_ERR_FORMAT; /* ECDSA-256-with-P-256 only */
    q.tee_type = seal_le32(b + 4);
    if (q.tee_type != 0 && q.tee_type != 0x81)
        return TV_ERR_FORMAT;
    switch (q.version) {
    case 3:
        if (q.tee_type != 0)
            return TV_ERR_FORMAT;
        /* fallthrough */
    case 4:
        q.body_type = q.tee_type == 0x81 ? 2 : 1;
        q.body_len = q.tee_type == 0x81 ? TD10_BODY_LEN : SGX_BODY_LEN;
        if (len - 48 < q.body_len)
            return TV_ERR_FORMAT;
        q.body = b + 48;
        sdl_off = 48 + q.body_len;
        break;
    case 5: {
        uint32_t sz;
        if (len < 54)
            return TV_ERR_FORMAT;
        q.body_type = seal_le16(b + 48);
        sz = seal_le32(b + 50);
        if ((q.body_type == 1 && sz != SGX_BODY_LEN) || (q.body_type == 2 && sz != TD10_BODY_LEN) ||
            (q.body_type == 3 && sz != TD15_BODY_LEN) || q.body_type < 1 || q.body_type > 3)
            return TV_ERR_FORMAT;
        if ((q.body_type == 1) != (q.tee_type == 0))
            return TV_ERR_FORMAT;
        if (len - 54 < sz)
            return TV_ERR_FORMAT;
        q.body = b + 54;
        q.body_len = sz;
        sdl_off = 54 + (size_t)sz;
        break;
    }
    default:
        return TV_ERR_FORMAT;
    }
    q.signed_len = sdl_off;
    if (len - sdl_off < 4)
        return TV_ERR_FORMAT;
    L = seal_le32(b + sdl_off);
    sd = sdl_off + 4;
    if (len - sd < L)
        return TV_ERR_FORMAT;
    q.trailing = len - sd - L;
    if (L < 128)
        return TV_ERR_FORMAT;
    q.sig = b + sd;
    q.att_key = b + sd + 64;
    if (q.version == 3) {
        r = parse_qe_part(b + sd + 128, L - 128, &q);
    } else {
        size_t s;
        if (L < 134 || seal_le16(b + sd + 128) != 6)
            return TV_ERR_FORMAT;
        s = seal_le32(b + sd + 130);
        if (L - 134 != s)
            return TV_ERR_FORMAT;
        r = parse_qe_part(b + sd + 134, s, &q);
    }
    if (r < 0)
        return r;
    *out = q;
    return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static void dcap_claims(const seal_dcap_quote *q, seal_verdict *v)
{
    seal_claims *c = &v->claims;
    c->version = q->version;
    if (q->body_type == 1) {
        const uint8_t *rb = q->body;
        v->type = SEAL_EV_SGX;
        memcpy(c->sgx_attributes, rb + 48, 16);
        memcpy(c->mrenclave, rb + 64, 32);
        memcpy(c->mrsigner, rb + 128, 32);
        c->isv_prod_id = seal_le16(rb + 256);
        c->isv_svn = seal_le16(rb + 258);
        memcpy(c->report_data, rb + 320, 64);
        c->present |= SEAL_CLAIM_MRENCLAVE | SEAL_CLAIM_MRSIGNER | SEAL_CLAIM_ISV_PROD_ID |
                      SEAL_CLAIM_ISV_SVN | SEAL_CLAIM_REPORT_DATA;
        v->debug = (rb[48] & 0x02) != 0;
    } else {
        const uint8_t *tb = q->body;
        v->type = SEAL_EV_TDX;
        memcpy(c->tee_tcb_svn, tb, 16);
        memcpy(c->mrseam, tb + 16, 48);
        c->td_attributes = seal_le64(tb + 120);
        memcpy(c->mrtd, tb + 136, 48);
        memcpy(c->mrconfigid, tb + 184, 48);
        memcpy(c->mrowner, tb + 232, 48);
        memcpy(c->mrownerconfig, tb + 280, 48);
        for (int i = 0; i < 4; i++)
            memcpy(c->rtmr[i], tb + 328 + 48 * i, 48);
        memcpy(c->report_data, tb + 520, 64);
        if (q->body_type == 3)
            memcpy(c->mrservicetd, tb + 600, 48);
        c->present |= SEAL_CLAIM_MRSEAM | SEAL_CLAIM_MRTD | SEAL_CLAIM_RTMR |
                      SEAL_CLAIM_REPORT_DATA | SEAL_CLAIM_MRCONFIGID | SEAL_CLAIM_MROWNER |
                      SEAL_CLAIM_MROWNERCONFIG;
        v->debug = (c->td_attributes & 1) != 0;
    }
}

static int verify_collateral_sig(const seal_collateral *col, const uint8_t *chain_pem,
                                 size_t chain_len, const uint8_t *msg, size_t msg_len,
                                 const uint8_t sig[64], STACK_OF(X509_CRL) * crls,
                                 const seal_verify_policy *pol, time_t t, const char *what,
                                 seal_verdict *v)
{
    int r;
    STACK_OF(X509) *certs = NULL;
    (void)col;
    if ((r = seal_x509_load_certs(chain_pem, chain_len, &certs)) < 0) {
        seal_verdict_fail(v, "%s: issuer chain does not parse", what);
        return TV_ERR_VERIFY;
    }
    r = seal_x509_verify(sk_X509_value(certs, 0), certs, NULL, crls,
                         crls ? X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL : 0, pol, t, what,
                         v, NULL);
    if (r == 0 && seal_ecdsa_verify_raw(X509_get0_pubkey(sk_X509_value(certs, 0)), EVP_sha256(),
                                        msg, msg_len, sig, sig + 32, 32) < 0) {
        seal_verdict_fail(v, "%s: signature over the JSON does not verify", what);
        r = TV_ERR_VERIFY;
    }
    sk_X509_pop_free(certs, X509_free);
    return r;
}

int seal_verify_dcap(const uint8_t *b, size_t len, const seal_verify_inputs *in,
                     const seal_verify_policy *pol, time_t t, seal_verdict *v)
{
    int r = TV_ERR_VERIFY;
    seal_dcap_quote q;
    EVP_PKEY *att = NULL;
    STACK_OF(X509) *pck = NULL;
    STACK_OF(X509) *anchors = NULL;
    STACK_OF(X509_CRL) *crls = NULL;
    X509_CRL *crl = NULL;
    seal_pck_tcb ptcb;
    seal_tcb_info *ti = NULL;
    seal_qe_identity *qi = NULL;
    const seal_collateral *col = in ? in->collateral : NULL;
    uint8_t h[32];

    if (seal_dcap_parse(b, len, &q) < 0) {
        seal_verdict_fail(v, "not a well-formed DCAP quote");
        return TV_ERR_FORMAT;
    }
    dcap_claims(&q, v);
    if (in && in->type != SEAL_EV_UNKNOWN && in->type != v->type) {
        seal_verdict_fail(v, "evidence is a %s quote, not %s", seal_ev_type_name(v->type),
                          seal_ev_type_name(in->type));
        return TV_ERR_FORMAT;
    }
    if (memcmp(b + 12, intel_qe_vendor, 16) != 0) {
        seal_verdict_fail(v, "quote is not from the Intel QE (vendor id)");
        goto out;
    }
    /* 1. quote signature by the attestation key */
    if (seal_p256_key(q.att_key, &att) < 0 ||
        seal_ecdsa_verify_raw(att, EVP_sha256(), b, q.signed_len, q.sig, q.sig + 32, 32) < 0) {
        seal_verdict_fail(v, "quote signature does not verify");
        goto out;
    }
    /* 2. QE report binds the attestation key */
    {
        EVP_MD_CTX *mc = EVP_MD_CTX_new();
        int ok = mc && EVP_DigestInit_ex(mc, EVP_sha256(), NULL) == 1 &&
                 EVP_DigestUpdate(mc, q.att_key, 64) == 1 &&
                 EVP_DigestUpdate(mc, q.qe_auth, q.qe_auth_len) == 1 &&
                 EVP_DigestFinal_ex(mc, h, NULL) == 1;
        EVP_MD_CTX_free(mc);
        if (!ok) {
            r = TV_ERR_CRYPTO;
            goto out;
        }
    }
    if (CRYPTO_memcmp(h, q.qe_report + 320, 32) != 0 || !all_zero(q.qe_report + 352, 32)) {
        seal_verdict_fail(v, "QE report data does not bind the attestation key");
        goto out;
    }
    /* 3. PCK chain (from --chain or the quote) */
    if (in && in->chain) {
        r = seal_x509_load_certs(in->chain, in->chain_len, &pck);
    } else {
        r = seal_x509_load_certs(q.pck_chain, q.pck_chain_len, &pck);
    }
    if (r < 0) {
        seal_verdict_fail(v, "PCK certificate chain does not parse");
        r = TV_ERR_VERIFY;
        goto out;
    }
    r = TV_ERR_VERIFY;
    if (in && in->root && seal_x509_load_certs(in->root, in->root_len, &anchors) < 0) {
        seal_verdict_fail(v, "root certificate does not parse");
        goto out;
    }
    /* 3b. The chain's own root (Intel's QVL does this): the quote's PCK
     * chain must end at a root whose self-signature verifies and that is
     * byte for byte the pinned root; a corrupted or substituted copy is
     * refused even when the pinned root alone would complete the chain. */
    if (seal_x509_embedded_root_check(pck, pol) < 0) {
        seal_verdict_fail(v, "PCK chain: its root certificate is not the pinned root, or its "
                             "self-signature does not verify");
        goto out;
    }
    /* 4. QE report signature by the PCK key */
    if (seal_ecdsa_verify_raw(X509_get0_pubkey(sk_X509_value(pck, 0)), EVP_sha256(), q.qe_report,
                              384, q.qe_report_sig, q.qe_report_sig + 32, 32) < 0) {
        seal_verdict_fail(v, "QE report signature does not verify with the PCK key");
        goto out;
    }
    /* 4b. The QE is Intel's (MRSIGNER, ISVPRODID; not debug), whether or not
     * collateral is given; the collateral's QE identity is checked below. */
    {
        int tdx = v->type == SEAL_EV_TDX;
        const uint8_t *qr = q.qe_report;
        if (memcmp(qr + 128, tdx ? intel_td_qe_mrsigner : intel_sgx_qe_mrsigner, 32) != 0 ||
            seal_le16(qr + 256) != (tdx ? INTEL_TD_QE_ISVPRODID : INTEL_SGX_QE_ISVPRODID) ||
            (qr[48] & 0x02) != 0) {
            seal_verdict_fail(v, "QE report is not from Intel's %s (MRSIGNER/ISVPRODID/debug)",
                              tdx ? "TD quoting enclave" : "quoting enclave");
            goto out;
        }
    }
    if (col) {
        if (!(crls = sk_X509_CRL_new_null())) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        if (seal_x509_load_crl(col->pck_crl, col->pck_crl_len, &crl) < 0 ||
            !sk_X509_CRL_push(crls, crl)) {
            seal_verdict_fail(v, "PCK CRL does not parse");
            goto out;
        }
        crl = NULL;
        if (col->root_crl) {
            if (seal_x509_load_crl(col->root_crl, col->root_crl_len, &crl) < 0 ||
                !sk_X509_CRL_push(crls, crl)) {
                seal_verdict_fail(v, "root CA CRL does not parse");
                goto out;
            }
            crl = NULL;
        }
    }
    if ((r = seal_x509_verify(sk_X509_value(pck, 0), pck, anchors, crls,
                              crls ? (col->root_crl
                                          ? X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL
                                          : X509_V_FLAG_CRL_CHECK)
                                   : 0,
                              pol, t, "PCK chain", v, NULL)) < 0)
        goto out;
    r = TV_ERR_VERIFY;
    if (seal_pck_extensions(sk_X509_value(pck, 0), &ptcb) < 0) {
        seal_verdict_fail(v, "PCK certificate lacks valid SGX extensions");
        goto out;
    }
    memcpy(v->claims.fmspc, ptcb.fmspc, 6);
    v->claims.present |= SEAL_CLAIM_FMSPC;
    v->signature_ok = 1;

    if (!col) {
        r = 0; /* TCB not evaluated; policy decides */
        goto out;
    }
    /* 5. collateral signatures over the exact JSON bytes */
    if (verify_collateral_sig(col, col->tcb_chain, col->tcb_chain_len, col->tcb_info,
                              col->tcb_info_len, col->tcb_info_sig, col->root_crl ? crls : NULL,
                              pol, t, "TCB info", v) < 0 ||
        verify_collateral_sig(col, col->qe_chain ? col->qe_chain : col->tcb_chain,
                              col->qe_chain ? col->qe_chain_len : col->tcb_chain_len,
                              col->qe_identity, col->qe_identity_len, col->qe_identity_sig,
                              col->root_crl ? crls : NULL, pol, t, "QE identity", v) < 0)
        goto out;
    if (!(ti = malloc(sizeof(*ti))) || !(qi = malloc(sizeof(*qi)))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (seal_tcb_info_parse(col->tcb_info, col->tcb_info_len, ti) < 0) {
        seal_verdict_fail(v, "TCB info JSON is malformed or unsupported");
        goto out;
    }
    if (seal_qe_identity_parse(col->qe_identity, col->qe_identity_len, qi) < 0) {
        seal_verdict_fail(v, "QE identity JSON is malformed or unsupported");
        goto out;
    }
    if (t < ti->issue_date || t > ti->next_update || t < qi->issue_date || t > qi->next_update) {
        seal_verdict_fail(v, "collateral is not valid at the evaluation time");
        goto out;
    }
    if (ti->is_tdx != (v->type == SEAL_EV_TDX) || qi->is_td_qe != (v->type == SEAL_EV_TDX)) {
        seal_verdict_fail(v, "collateral is for the other TEE type");
        goto out;
    }
    if (memcmp(ti->fmspc, ptcb.fmspc, 6) != 0 || memcmp(ti->pce_id, ptcb.pce_id, 2) != 0) {
        seal_verdict_fail(v, "TCB info FMSPC/PCE-ID does not match the PCK certificate");
        goto out;
    }
    /* 6. QE identity policy */
    {
        const uint8_t *qr = q.qe_report;
        int ok = memcmp(qr + 128, qi->mrsigner, 32) == 0 && seal_le16(qr + 256) == qi->isv_prod_id;
        for (int i = 0; i < 4 && ok; i++)
            ok = (qr[16 + i] & qi->miscselect_mask[i]) ==
                 (qi->miscselect[i] & qi->miscselect_mask[i]);
        for (int i = 0; i < 16 && ok; i++)
            ok = (qr[48 + i] & qi->attributes_mask[i]) ==
                 (qi->attributes[i] & qi->attributes_mask[i]);
        if (ok)
            ok = (qr[48] & 0x02) == 0;
        if (!ok) {
            seal_verdict_fail(v, "QE report does not match the QE identity");
            goto out;
        }
    }
    /* 7. TDX module identity (mrsigner / attributes) */
    if (v->type == SEAL_EV_TDX) {
        const uint8_t *tb = q.body;
        const uint8_t *ms = NULL, *ma = NULL, *mm = NULL;
        if (tb[1] == 0 && ti->has_module) {
            ms = ti->module_mrsigner;
            ma = ti->module_attributes;
            mm = ti->module_attributes_mask;
        } else if (tb[1] > 0) {
            char id[16];
            snprintf(id, sizeof(id), "TDX_%02X", tb[1]);
            for (size_t i = 0; i < ti->n_modules; i++) {
                if (strcasecmp(ti->modules[i].id, id) == 0) {
                    ms = ti->modules[i].mrsigner;
                    ma = ti->modules[i].attributes;
                    mm = ti->modules[i].attributes_mask;
                }
            }
        }
        if (ms) {
            int ok = memcmp(tb + 64, ms, 48) == 0;
            for (int i = 0; i < 8 && ok; i++)
                ok = (tb[112 + i] & mm[i]) == (ma[i] & mm[i]);
            if (!ok) {
                seal_verdict_fail(v, "TDX module signer/attributes do not match the TCB info");
                goto out;
            }
        }
    }
    v->collateral_ok = 1;
    {
        const seal_tcb_level *ql = seal_qe_level(qi, seal_le16(q.qe_report + 258));
        v->qe_tcb_status = ql ? ql->status : SEAL_TCB_NO_MATCH;
        seal_tcb_evaluate(ti, &ptcb, v->type == SEAL_EV_TDX ? q.body : NULL, ql, v);
    }
    r = 0;
out:
    free(ti);
    free(qi);
    X509_CRL_free(crl);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    sk_X509_pop_free(pck, X509_free);
    sk_X509_pop_free(anchors, X509_free);
    EVP_PKEY_free(att);
    return r;
}
