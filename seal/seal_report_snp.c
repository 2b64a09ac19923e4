/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_report_snp: AMD SEV-SNP attestation reports (v2, v3, v5 layouts),
 * FORMATS.md §4. ECDSA P-384 / SHA-384 over bytes [0, 0x2A0) with r and s
 * little-endian in 72-byte fields; key = VCEK or VLEK, chained ARK → ASK (or
 * ASVK for VLEK) → leaf, ARK pinned by fingerprint.
 */
#include <string.h>

#include <openssl/err.h>

#include "seal_verify_int.h"

int seal_snp_parse(const uint8_t *r, size_t len, seal_claims *c)
{
    uint32_t ver;
    if (!r || len != SEAL_SNP_REPORT_LEN)
        return TV_ERR_FORMAT;
    ver = seal_le32(r);
    if ((ver != 2 && ver != 3 && ver != 5) || seal_le32(r + 0x34) != 1)
        return TV_ERR_FORMAT;
    memset(c, 0, sizeof(*c));
    c->version = ver;
    c->svn = seal_le32(r + 4);
    c->snp_policy = seal_le64(r + 8);
    c->snp_vmpl = seal_le32(r + 0x30);
    c->snp_signing_key = (seal_le32(r + 0x48) >> 2) & 7;
    memcpy(c->report_data, r + 0x50, 64);
    memcpy(c->measurement, r + 0x90, 48);
    c->measurement_len = 48;
    memcpy(c->host_data, r + 0xC0, 32);
    memcpy(c->id_key_digest, r + 0xE0, 48);
    memcpy(c->author_key_digest, r + 0x110, 48);
    c->reported_tcb = seal_le64(r + 0x180);
    memcpy(c->chip_id, r + 0x1A0, 64);
    c->present = SEAL_CLAIM_MEASUREMENT | SEAL_CLAIM_REPORT_DATA | SEAL_CLAIM_HOST_DATA |
                 SEAL_CLAIM_CHIP_ID | SEAL_CLAIM_REPORTED_TCB | SEAL_CLAIM_SVN |
                 SEAL_CLAIM_ID_KEY_DIGEST | SEAL_CLAIM_VMPL;
    return 0;
}

/* GHCB certificate table GUIDs in RFC 4122 byte order (go-sev-guest abi.go). */
static const uint8_t guid_vcek[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
static const uint8_t guid_vlek[16] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
                                      0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
static const uint8_t guid_ask[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                                     0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
static const uint8_t guid_ark[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                                     0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};

int seal_snp_cert_table(const uint8_t *t, size_t n, seal_snp_certs *out)
{
    seal_snp_certs c;
    static const uint8_t zero[24] = {0};
    memset(&c, 0, sizeof(c));
    if (!t)
        return TV_ERR_FORMAT;
    for (size_t i = 0;; i++) {
        const uint8_t *e;
        size_t off, len;
        const uint8_t **slot = NULL;
        size_t *slot_len = NULL;
        if (i >= 64 || n / 24 <= i)
            return TV_ERR_FORMAT; /* unterminated */
        e = t + 24 * i;
        if (memcmp(e, zero, 24) == 0)
            break;
        off = seal_le32(e + 16);
        len = seal_le32(e + 20);
        if (off > n || n - off < len || len == 0)
            return TV_ERR_FORMAT;
        if (memcmp(e, guid_vcek, 16) == 0) {
            slot = &c.vcek;
            slot_len = &c.vcek_len;
        } else if (memcmp(e, guid_vlek, 16) == 0) {
            slot = &c.vlek;
            slot_len = &c.vlek_len;
        } else if (memcmp(e, guid_ask, 16) == 0) {
            slot = &c.ask;
            slot_len = &c.ask_len;
        } else if (memcmp(e, guid_ark, 16) == 0) {
            slot = &c.ark;
            slot_len = &c.ark_len;
        }
        if (!slot)
            continue; /* other entries (platform info, …) are ignored */
        if (*slot)
            return TV_ERR_FORMAT;
        *slot = t + off;
        *slot_len = len;
    }
    *out = c;
    return 0;
}

/* Load a DER/PEM certificate and append it to sk. */
static int push_cert(STACK_OF(X509) * sk, const uint8_t *p, size_t n)
{
    STACK_OF(X509) *one = NULL;
    int r = seal_x509_load_certs(p, n, &one);
    if (r < 0)
        return r;
    while (sk_X509_num(one) > 0) {
        X509 *x = sk_X509_shift(one);
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            sk_X509_pop_free(one, X509_free);
            return TV_ERR_NOMEM;
        }
    }
    sk_X509_free(one);
    return 0;
}

/* SPL extension value: DER INTEGER. */
static int ext_spl(X509 *c, const char *oid, uint64_t *out)
{
    const uint8_t *p, *val;
    size_t n, vn;
    uint8_t tag;
    if (seal_x509_ext(c, oid, &p, &n) < 0)
        return TV_ERR_NOT_FOUND;
    if (seal_der_next(&p, &n, &tag, &val, &vn) < 0 || tag != 0x02 || n != 0 ||
        seal_der_uint(val, vn, out) < 0)
        return TV_ERR_FORMAT;
    return 0;
}

static int check_leaf_tcb(X509 *leaf, const seal_claims *c, seal_verdict *v)
{
    static const char *oids[5] = {"1.3.6.1.4.1.3704.1.3.1", "1.3.6.1.4.1.3704.1.3.2",
                                  "1.3.6.1.4.1.3704.1.3.3", "1.3.6.1.4.1.3704.1.3.8",
                                  "1.3.6.1.4.1.3704.1.3.9"};
    uint64_t spl[5];
    int turin;
    uint8_t tcb[8];
    for (int i = 0; i < 8; i++)
        tcb[i] = (uint8_t)(c->reported_tcb >> (8 * i));
    for (int i = 0; i < 4; i++) {
        if (ext_spl(leaf, oids[i], &spl[i]) < 0) {
            seal_verdict_fail(v, "VCEK/VLEK certificate lacks its TCB extensions");
            return TV_ERR_VERIFY;
        }
    }
    turin = ext_spl(leaf, oids[4], &spl[4]) == 0;
    if (turin ? (spl[4] != tcb[0] || spl[0] != tcb[1] || spl[1] != tcb[2] || spl[2] != tcb[3] ||
                 spl[3] != tcb[7])
              : (spl[0] != tcb[0] || spl[1] != tcb[1] || spl[2] != tcb[6] || spl[3] != tcb[7])) {
        seal_verdict_fail(v, "REPORTED_TCB does not match the signing key certificate's TCB");
        return TV_ERR_VERIFY;
    }
    if (c->snp_signing_key == 0) { /* VCEK: hwID must equal CHIP_ID */
        const uint8_t *p, *val = NULL;
        size_t n, vn = 0;
        uint8_t tag;
        if (seal_x509_ext(leaf, "1.3.6.1.4.1.3704.1.4", &p, &n) < 0) {
            seal_verdict_fail(v, "VCEK certificate lacks hwID");
            return TV_ERR_VERIFY;
        }
        if (n == 64) {
            val = p;
            vn = 64;
        } else if (seal_der_next(&p, &n, &tag, &val, &vn) < 0 || tag != 0x04) {
            vn = 0;
        }
        if (vn != 64 || CRYPTO_memcmp(val, c->chip_id, 64) != 0) {
            seal_verdict_fail(v, "CHIP_ID does not match the VCEK hwID");
            return TV_ERR_VERIFY;
        }
    }
    return 0;
}

int seal_verify_snp(const uint8_t *rep, size_t len, const seal_verify_inputs *in,
                    const seal_verify_policy *pol, time_t t, seal_verdict *v)
{
    int r = TV_ERR_VERIFY;
    STACK_OF(X509) *leafs = NULL, *chain = NULL, *anchors = NULL, *verified = NULL;
    X509_CRL *crl = NULL;
    X509 *leaf;
    EVP_PKEY *key;
    uint8_t rb[48], sb[48];

    seal_snp_certs tab;
    const uint8_t *leaf_p, *chain_p;
    size_t leaf_n, chain_n;

    memset(&tab, 0, sizeof(tab));
    if (len < SEAL_SNP_REPORT_LEN || seal_snp_parse(rep, SEAL_SNP_REPORT_LEN, &v->claims) < 0 ||
        (len > SEAL_SNP_REPORT_LEN &&
         seal_snp_cert_table(rep + SEAL_SNP_REPORT_LEN, len - SEAL_SNP_REPORT_LEN, &tab) < 0)) {
        seal_verdict_fail(v, "not a well-formed SEV-SNP report");
        return TV_ERR_FORMAT;
    }
    v->type = SEAL_EV_SNP;
    v->debug = (v->claims.snp_policy >> 19) & 1;
    if (v->claims.snp_signing_key > 1) {
        seal_verdict_fail(v, "report is not signed by a VCEK or VLEK");
        goto out;
    }
    /* the key certificate: operator file, else the evidence's table */
    leaf_p = in && in->vcek ? in->vcek : v->claims.snp_signing_key ? tab.vlek : tab.vcek;
    leaf_n = in && in->vcek              ? in->vcek_len
             : v->claims.snp_signing_key ? tab.vlek_len
                                         : tab.vcek_len;
    chain_p = in ? in->chain : NULL;
    chain_n = in ? in->chain_len : 0;
    if (!leaf_p || (!chain_p && (!tab.ask || !tab.ark))) {
        seal_verdict_fail(v, "SEV-SNP needs the VCEK/VLEK certificate and the ASK/ARK chain");
        goto out;
    }
    if (!(chain = sk_X509_new_null())) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (seal_x509_load_certs(leaf_p, leaf_n, &leafs) < 0 ||
        (chain_p ? push_cert(chain, chain_p, chain_n) < 0
                 : (push_cert(chain, tab.ask, tab.ask_len) < 0 ||
                    push_cert(chain, tab.ark, tab.ark_len) < 0)) ||
        (in && in->root && seal_x509_load_certs(in->root, in->root_len, &anchors) < 0)) {
        seal_verdict_fail(v, "a certificate does not parse");
        r = TV_ERR_VERIFY;
        goto out;
    }
    leaf = sk_X509_value(leafs, 0);
    key = X509_get0_pubkey(leaf);
    if (!key || EVP_PKEY_get_bits(key) != 384 || EVP_PKEY_base_id(key) != EVP_PKEY_EC) {
        seal_verdict_fail(v, "signing key is not ECDSA P-384");
        goto out;
    }
    /* r, s: little-endian, 72 bytes each, P-384 uses the low 48 */
    for (int i = 0; i < 24; i++) {
        if (rep[0x2A0 + 48 + i] | rep[0x2E8 + 48 + i]) {
            seal_verdict_fail(v, "signature field is not zero-extended");
            goto out;
        }
    }
    for (int i = 0; i < 48; i++) {
        rb[i] = rep[0x2A0 + 47 - i];
        sb[i] = rep[0x2E8 + 47 - i];
    }
    if (seal_ecdsa_verify_raw(key, EVP_sha384(), rep, SEAL_SNP_SIGNED_LEN, rb, sb, 48) < 0) {
        seal_verdict_fail(v, "report signature does not verify");
        goto out;
    }
    if ((r = seal_x509_verify(leaf, chain, anchors, NULL, 0, pol, t,
                              v->claims.snp_signing_key ? "VLEK chain" : "VCEK chain", v,
                              &verified)) < 0)
        goto out;
    r = TV_ERR_VERIFY;
    if (in && in->crl) {
        /* AMD's CRL is issued by the ARK and covers the ASK/ASVK. */
        if (sk_X509_num(verified) < 3 || seal_x509_load_crl(in->crl, in->crl_len, &crl) < 0 ||
            seal_x509_crl_check(sk_X509_value(verified, 1), sk_X509_value(verified, 2), crl, t, v) <
                0) {
            seal_verdict_fail(v, "AMD CRL check failed");
            goto out;
        }
    }
    if (check_leaf_tcb(leaf, &v->claims, v) < 0)
        goto out;
    v->signature_ok = 1;
    r = 0;
out:
    ERR_clear_error();
    X509_CRL_free(crl);
    sk_X509_pop_free(verified, X509_free);
    sk_X509_pop_free(leafs, X509_free);
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(anchors, X509_free);
    return r;
}
