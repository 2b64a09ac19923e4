/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal helpers shared by the evidence verifiers (seal_x509.c,
 * seal_collateral.c, seal_tcb.c, seal_quote_dcap.c, seal_report_snp.c,
 * seal_evidence.c). Not part of the public API; may change freely.
 */
#ifndef SEAL_VERIFY_INT_H
#define SEAL_VERIFY_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "seal_verify.h"

/* Little-endian readers (caller checked bounds). */
static inline uint16_t seal_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t seal_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t seal_le64(const uint8_t *p)
{
    return (uint64_t)seal_le32(p) | (uint64_t)seal_le32(p + 4) << 32;
}

/* Record the first failure reason in the verdict (later ones are ignored). */
void seal_verdict_fail(seal_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- seal_x509.c ---- */

/* Certificates from PEM (one or more, NUL/whitespace tolerated) or one DER
 * certificate. TV_ERR_FORMAT when nothing parses. */
int seal_x509_load_certs(const uint8_t *p, size_t n, STACK_OF(X509) * *out) TV_WUR;
/* One CRL from DER or PEM. TV_ERR_FORMAT. */
int seal_x509_load_crl(const uint8_t *p, size_t n, X509_CRL **out) TV_WUR;
void seal_x509_fingerprint(X509 *c, uint8_t fp[32]);
/* Verify leaf up to a pinned root at time t. Trust anchors are taken from
 * `anchors` and from self-signed certificates in `untrusted`, but only those
 * whose fingerprint is in the policy's pinned set are trusted. crls may be
 * NULL; crl_flags is 0, X509_V_FLAG_CRL_CHECK or (…|X509_V_FLAG_CRL_CHECK_ALL).
 * On success *chain_out (may be NULL) receives the verified chain (leaf
 * first). TV_ERR_VERIFY with reason set in v. */
int seal_x509_verify(X509 *leaf, STACK_OF(X509) * untrusted, STACK_OF(X509) * anchors,
                     STACK_OF(X509_CRL) * crls, unsigned long crl_flags,
                     const seal_verify_policy *pol, time_t t, const char *what, seal_verdict *v,
                     STACK_OF(X509) * *chain_out) TV_WUR;
/* Check cert against a CRL signed by issuer, valid at t. 0 not revoked,
 * TV_ERR_VERIFY revoked / bad CRL. */
/* The root a certificate chain carries with it (its last certificate, as
 * Intel's quotes embed it): at least two certificates, the last one
 * self-issued, its self-signature verifies, and its SHA-256 fingerprint is
 * a pinned root (pol's, else the vendor roots). 0 or TV_ERR_VERIFY. */
int seal_x509_embedded_root_check(STACK_OF(X509) * chain, const seal_verify_policy *pol) TV_WUR;
int seal_x509_crl_check(X509 *cert, X509 *issuer, X509_CRL *crl, time_t t, seal_verdict *v) TV_WUR;
/* ECDSA verification of a raw big-endian r‖s (clen bytes each) signature. */
int seal_ecdsa_verify_raw(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg, size_t n,
                          const uint8_t *r, const uint8_t *s, size_t clen) TV_WUR;
/* P-256 public key from raw x‖y (64 bytes). */
int seal_p256_key(const uint8_t xy[64], EVP_PKEY **out) TV_WUR;
/* Raw extnValue contents of the extension with dotted OID, or TV_ERR_NOT_FOUND. */
int seal_x509_ext(X509 *c, const char *oid, const uint8_t **p, size_t *n) TV_WUR;

/* Minimal DER walker: read one TLV from [*p, *p + *n). Advances. */
int seal_der_next(const uint8_t **p, size_t *n, uint8_t *tag, const uint8_t **val,
                  size_t *vlen) TV_WUR;
/* Unsigned DER INTEGER value (≤ 8 bytes significant). */
int seal_der_uint(const uint8_t *val, size_t vlen, uint64_t *out) TV_WUR;

/* ---- seal_collateral.c ---- */

struct seal_collateral {
    uint8_t *tcb_info; /* exact signed bytes of the tcbInfo object */
    size_t tcb_info_len;
    uint8_t tcb_info_sig[64];
    uint8_t *qe_identity; /* exact signed bytes of the enclaveIdentity object */
    size_t qe_identity_len;
    uint8_t qe_identity_sig[64];
    uint8_t *tcb_chain; /* PEM: TCB Signing ‖ Root */
    size_t tcb_chain_len;
    uint8_t *qe_chain; /* PEM; NULL = same as tcb_chain */
    size_t qe_chain_len;
    uint8_t *pck_crl;
    size_t pck_crl_len;
    uint8_t *root_crl; /* may be NULL */
    size_t root_crl_len;
};

/* ---- seal_tcb.c ---- */

#define SEAL_TCB_MAX_LEVELS  128
#define SEAL_TCB_MAX_MODULES 8

typedef struct seal_tcb_level {
    uint8_t sgx[16];
    uint8_t tdx[16];
    int has_tdx;
    uint32_t pcesvn; /* TCB info; QE identity: isvsvn */
    enum seal_tcb_status status;
    size_t n_adv;
    char adv[SEAL_MAX_ADVISORIES][SEAL_ADVISORY_LEN];
} seal_tcb_level;

typedef struct seal_tdx_module_id {
    char id[16];
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    size_t n_levels;
    seal_tcb_level levels[16];
} seal_tdx_module_id;

typedef struct seal_tcb_info {
    int is_tdx;
    int version;
    time_t issue_date, next_update;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    int has_module;
    uint8_t module_mrsigner[48];
    uint8_t module_attributes[8];
    uint8_t module_attributes_mask[8];
    size_t n_modules;
    seal_tdx_module_id modules[SEAL_TCB_MAX_MODULES];
    size_t n_levels;
    seal_tcb_level levels[SEAL_TCB_MAX_LEVELS];
} seal_tcb_info;

typedef struct seal_qe_identity {
    int is_td_qe;
    int version;
    time_t issue_date, next_update;
    uint8_t miscselect[4], miscselect_mask[4];
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isv_prod_id;
    size_t n_levels;
    seal_tcb_level levels[32];
} seal_qe_identity;

int seal_tcb_info_parse(const uint8_t *json, size_t len, seal_tcb_info *out) TV_WUR;
int seal_qe_identity_parse(const uint8_t *json, size_t len, seal_qe_identity *out) TV_WUR;

/* Platform TCB evaluation inputs from the PCK certificate and the quote. */
typedef struct seal_pck_tcb {
    uint8_t comp[16];
    uint32_t pcesvn;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
} seal_pck_tcb;

/* Parse the Intel SGX extension (OID 1.2.840.113741.1.13.1) of a PCK cert. */
int seal_pck_extensions(X509 *pck, seal_pck_tcb *out) TV_WUR;

/* Match TCB levels (FORMATS §3 steps 9-11); sets status and advisories in v.
 * tee_tcb_svn NULL for SGX. */
void seal_tcb_evaluate(const seal_tcb_info *ti, const seal_pck_tcb *pck, const uint8_t *tee_tcb_svn,
                       const seal_tcb_level *qe_level, seal_verdict *v);
/* QE identity level for a QE ISVSVN; NULL when none matches. */
const seal_tcb_level *seal_qe_level(const seal_qe_identity *qi, uint16_t isvsvn);

/* ---- per type verifiers ---- */
int seal_verify_dcap(const uint8_t *q, size_t len, const seal_verify_inputs *in,
                     const seal_verify_policy *pol, time_t t, seal_verdict *v) TV_WUR;
int seal_verify_snp(const uint8_t *r, size_t len, const seal_verify_inputs *in,
                    const seal_verify_policy *pol, time_t t, seal_verdict *v) TV_WUR;

#endif
