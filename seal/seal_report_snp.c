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
    c->reported_tcb = seal_le64(r + 0x180);
    memcpy(c->chip_id, r + 0x1A0, 64);
    c->present = SEAL_CLAIM_MEASUREMENT | SEAL_CLAIM_REPORT_DATA | SEAL_CLAIM_HOST_DATA |
                 SEAL_CLAIM_CHIP_ID | SEAL_CLAIM_REPORTED_TCB | SEAL_CLAIM_SVN;
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

    if (seal_snp_parse(rep, len, &v->claims) < 0) {
        seal_verdict_fail(v, "not a well-formed SEV-SNP report");
        return TV_ERR_FORMAT;
    }
    v->type = SEAL_EV_SNP;
    v->debug = (v->claims.snp_policy >> 19) & 1;
    if (v->claims.snp_signing_key > 1) {
        seal_verdict_fail(v, "report is not signed by a VCEK or VLEK");
        goto out;
    }
    if (!in || !in->vcek || !in->chain) {
        seal_verdict_fail(v, "SEV-SNP needs the VCEK/VLEK certificate and the ASK/ARK chain");
        goto out;
    }
    if (seal_x509_load_certs(in->vcek, in->vcek_len, &leafs) < 0 ||
        seal_x509_load_certs(in->chain, in->chain_len, &chain) < 0 ||
        (in->root && seal_x509_load_certs(in->root, in->root_len, &anchors) < 0)) {
        seal_verdict_fail(v, "a certificate does not parse");
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
    if (in->crl) {
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
