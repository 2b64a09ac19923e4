/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_verify: offline verification of TEE evidence (DESIGN.md §4).
 *
 * Supported evidence: Intel SGX DCAP quote v3 (ECDSA P-256, PCK chain in
 * certification data type 5), Intel TDX quote v4 and v5, AMD SEV-SNP report
 * v2/v3 (+ v5 layout) signed by a VCEK or VLEK (ECDSA P-384). Sim reports
 * (seal_sim_report.h) are dispatched to seal_sim_verify_verdict().
 *
 * Verification = (1) parse, (2) every signature and the certificate chain up
 * to a vendor root pinned by SHA-256 fingerprint, at the evaluation time,
 * with CRLs when supplied, (3) for SGX/TDX the Intel collateral (TCB info and
 * QE identity, signatures over their exact JSON bytes, validity windows),
 * TCB level matching with advisory IDs, (4) the policy: debug and the
 * accepted TCB statuses. Nothing is fetched; every input is a caller buffer
 * or an operator-supplied file.
 *
 * All functions here are pure with respect to the process: no globals, no
 * network, no clock except when the policy asks for "now".
 */
#ifndef SEAL_VERIFY_H
#define SEAL_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tv_err.h"

enum seal_ev_type {
    SEAL_EV_UNKNOWN = 0,
    SEAL_EV_SIM = 1,
    SEAL_EV_SGX = 2,
    SEAL_EV_TDX = 3,
    SEAL_EV_SNP = 4,
};

/* TCB status of the platform (SGX/TDX). NOT_EVALUATED when no collateral was
 * given (or the evidence type has no TCB info, e.g. SNP, sim). */
enum seal_tcb_status {
    SEAL_TCB_NOT_EVALUATED = 0,
    SEAL_TCB_UP_TO_DATE = 1,
    SEAL_TCB_SW_HARDENING_NEEDED = 2,
    SEAL_TCB_CONFIGURATION_NEEDED = 3,
    SEAL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED = 4,
    SEAL_TCB_OUT_OF_DATE = 5,
    SEAL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED = 6,
    SEAL_TCB_REVOKED = 7,
    SEAL_TCB_NO_MATCH = 8, /* no TCB level matches ("TCB not supported") */
};
#define SEAL_TCB_BIT(s) (1u << (unsigned)(s))

/* Which claims are present in a seal_claims (bit per field). */
enum seal_claim_bit {
    SEAL_CLAIM_MRENCLAVE = 1u << 0,
    SEAL_CLAIM_MRSIGNER = 1u << 1,
    SEAL_CLAIM_ISV_PROD_ID = 1u << 2,
    SEAL_CLAIM_ISV_SVN = 1u << 3,
    SEAL_CLAIM_MRTD = 1u << 4,
    SEAL_CLAIM_RTMR = 1u << 5,
    SEAL_CLAIM_MRSEAM = 1u << 6,
    SEAL_CLAIM_MEASUREMENT = 1u << 7,
    SEAL_CLAIM_REPORT_DATA = 1u << 8,
    SEAL_CLAIM_HOST_DATA = 1u << 9,
    SEAL_CLAIM_CHIP_ID = 1u << 10,
    SEAL_CLAIM_REPORTED_TCB = 1u << 11,
    SEAL_CLAIM_FMSPC = 1u << 12,
    SEAL_CLAIM_SIGNER = 1u << 13,        /* sim: signer identity */
    SEAL_CLAIM_SVN = 1u << 14,           /* sim / SNP guest SVN */
    SEAL_CLAIM_MRCONFIGID = 1u << 15,    /* TDX */
    SEAL_CLAIM_MROWNER = 1u << 16,       /* TDX */
    SEAL_CLAIM_MROWNERCONFIG = 1u << 17, /* TDX */
    SEAL_CLAIM_ID_KEY_DIGEST = 1u << 18, /* SNP ID_KEY_DIGEST (and AUTHOR_KEY_DIGEST) */
    SEAL_CLAIM_VMPL = 1u << 19,          /* SNP VMPL */
};

typedef struct seal_claims {
    uint32_t present; /* SEAL_CLAIM_* bits */
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint8_t mrtd[48];
    uint8_t rtmr[4][48];
    uint8_t mrseam[48];
    uint8_t measurement[48]; /* SNP launch digest; sim: measurement */
    size_t measurement_len;  /* 48 for SNP; sim: its length (<= 48) */
    uint8_t report_data[64];
    uint8_t host_data[32];
    uint8_t chip_id[64];
    uint64_t reported_tcb; /* SNP REPORTED_TCB (u64 LE as in the report) */
    uint8_t fmspc[6];      /* from the PCK certificate */
    uint8_t signer[48];    /* sim */
    size_t signer_len;
    uint32_t svn;
    /* Raw attributes for callers that need more than the debug flag. */
    uint8_t sgx_attributes[16]; /* SGX ATTRIBUTES (flags ‖ xfrm) */
    uint64_t td_attributes;     /* TDX TDATTRIBUTES */
    uint8_t mrservicetd[48];    /* TDX 1.5 (quote v5 body type 3), else zero */
    uint8_t tee_tcb_svn[16];    /* TDX TEE_TCB_SVN */
    uint64_t snp_policy;        /* SNP guest policy */
    uint32_t snp_vmpl;
    uint32_t snp_signing_key;      /* 0 VCEK, 1 VLEK */
    uint32_t version;              /* quote / report version */
    uint8_t mrconfigid[48];        /* TDX MRCONFIGID */
    uint8_t mrowner[48];           /* TDX MROWNER */
    uint8_t mrownerconfig[48];     /* TDX MROWNERCONFIG */
    uint8_t id_key_digest[48];     /* SNP ID_KEY_DIGEST */
    uint8_t author_key_digest[48]; /* SNP AUTHOR_KEY_DIGEST */
    /* sim evidence only: the hardware whose claim shape the sim report
     * carries (SEAL_EV_SGX/TDX/SNP), SEAL_EV_UNKNOWN for a plain sim report.
     * Lets every identity rule run without hardware; the verdict's type stays
     * SEAL_EV_SIM, so sim evidence never passes for hardware evidence. */
    enum seal_ev_type sim_shape;
} seal_claims;

#define SEAL_MAX_ADVISORIES 32
#define SEAL_ADVISORY_LEN   32

typedef struct seal_verdict {
    enum seal_ev_type type;
    /* 1 when the evidence signature, the key's certificate chain to a pinned
     * root (and the QE report/binding for DCAP) verified at the evaluation
     * time. */
    int signature_ok;
    /* 1 when collateral was supplied and its signatures, chains, CRLs and
     * validity windows verified (SGX/TDX); 0 when absent or bad. */
    int collateral_ok;
    int debug; /* SGX ATTRIBUTES.DEBUG / TDX TUD.DEBUG / SNP policy bit 19 / sim */
    /* Platform TCB level (PCK TCB + PCESVN, TDX TEE_TCB_SVN), converged with
     * the TDX module identity and the QE identity levels as Intel QVL does
     * (OutOfDate → OutOfDate[ConfigurationNeeded], Revoked → Revoked, no QE
     * level → NoMatch). Advisories: the union of the matching platform,
     * TDX module and QE levels' advisoryIDs, in that order. */
    enum seal_tcb_status tcb_status;
    enum seal_tcb_status qe_tcb_status; /* SGX/TDX QE identity level */
    size_t n_advisories;
    char advisories[SEAL_MAX_ADVISORIES][SEAL_ADVISORY_LEN];
    seal_claims claims;
    /* 1 when everything verified and the policy accepted. */
    int accepted;
    /* First failure, short English sentence without untrusted bytes. */
    char reason[192];
} seal_verdict;

/* Verification policy. Zero-initialised = production defaults: no debug,
 * only UpToDate accepted, evaluation time "now", vendor root fingerprints. */
typedef struct seal_verify_policy {
    int allow_debug;
    uint32_t accepted_statuses; /* SEAL_TCB_BIT() mask; 0 = UpToDate only */
    /* Accept evidence whose signatures verify but whose TCB status was not
     * evaluated (no collateral / SNP without TCB policy). SNP and sim always
     * have SEAL_TCB_NOT_EVALUATED and are accepted on signature + debug. */
    int allow_no_collateral;
    /* TDX: by default (like dcap-qvl) a TD is refused when TDATTRIBUTES has
     * a reserved bit set or SEPT_VE_DISABLE (bit 28) clear, or when a TDX 1.5
     * MRSERVICETD is non-zero. Set to accept such TDs. */
    int tdx_lax_attributes;
    int at_set; /* 0 = evaluate at time(NULL) */
    time_t at;  /* evaluation time when at_set */
    /* Pinned root CA SHA-256 fingerprints (DER). NULL = the vendor roots
     * (seal_vendor_roots()). Tests pass their own test root here. */
    const uint8_t (*pinned_roots)[32];
    size_t n_pinned_roots;
} seal_verify_policy;

/* The built-in vendor root fingerprints: Intel SGX Root CA, AMD ARK-Milan,
 * ARK-Genoa, ARK-Turin. *n gets the count; static storage. */
const uint8_t (*seal_vendor_roots(size_t *n))[32];

/* Intel collateral (TCB info, QE identity, TCB signing chain, CRLs), opaque. */
typedef struct seal_collateral seal_collateral;

/* Load collateral from operator files. A directory must hold tcb_info.json
 * ({"tcbInfo":…,"signature":…}, PCS response body), qe_identity.json
 * ({"enclaveIdentity":…,"signature":…}), tcb_signing_chain.pem, pck_crl.der
 * (DER or PEM) and may hold root_crl.der. A regular file is read as a
 * dcap-qvl "QuoteCollateralV3" bundle JSON (tcb_info / qe_identity as JSON
 * text, hex signatures, issuer chains PEM, pck_crl / root_ca_crl hex DER).
 * Errors: TV_ERR_IO (cannot read), TV_ERR_FORMAT (malformed file),
 * TV_ERR_TOO_LARGE (file above 1 MiB), TV_ERR_NOMEM. *out is owned by the
 * caller; free with seal_collateral_free(). */
int seal_collateral_load(const char *path, seal_collateral **out) TV_WUR;
int seal_collateral_load_dir(const char *dir, seal_collateral **out) TV_WUR;
/* Parse a collateral bundle JSON held in memory (the bytes are copied). */
int seal_collateral_from_bundle(const uint8_t *json, size_t len, seal_collateral **out) TV_WUR;
/* Build collateral from in-memory PCS pieces (each copied): the two response
 * bodies, the TCB signing chain PEM, the PCK CRL (DER/PEM) and an optional
 * root CRL (NULL/0 when absent). Errors as seal_collateral_load. */
int seal_collateral_from_parts(const uint8_t *tcb_info_resp, size_t tcb_info_len,
                               const uint8_t *qe_id_resp, size_t qe_id_len,
                               const uint8_t *signing_chain_pem, size_t chain_len,
                               const uint8_t *pck_crl, size_t pck_crl_len, const uint8_t *root_crl,
                               size_t root_crl_len, seal_collateral **out) TV_WUR;
void seal_collateral_free(seal_collateral *c);

/* Extra inputs besides the evidence bytes. All optional (NULL/0). Buffers are
 * borrowed for the duration of the call.
 *   root:   a root certificate (PEM/DER) to anchor on; it is trusted only if
 *           its fingerprint is pinned (a self-signed root inside the evidence
 *           or chain is used the same way).
 *   vcek:   SNP: the VCEK or VLEK certificate (PEM/DER). Required for SNP
 *           unless the evidence carries a certificate table (see below).
 *   chain:  SNP: ASK (or ASVK) ‖ ARK, PEM. Same rule as vcek.
 *           SGX/TDX: a PCK chain PEM replacing the one inside the quote.
 *   crl:    SNP: optional AMD CRL (DER/PEM, issued by the ARK) checked
 *           against the ASK/ASVK.
 *   sim_pk: sim: the pinned platform public key (32 raw bytes).
 * CRLs for SGX/TDX come from the collateral: the PCK CRL is checked against
 * the PCK leaf; when the collateral has the root CA CRL every certificate of
 * the PCK and TCB-signing chains is checked too (root CRL absent: leaf only,
 * TCB-signing chain unchecked). */
typedef struct seal_verify_inputs {
    enum seal_ev_type type;            /* SEAL_EV_UNKNOWN = auto-detect */
    const seal_collateral *collateral; /* SGX/TDX */
    const uint8_t *root;
    size_t root_len;
    const uint8_t *vcek;
    size_t vcek_len;
    const uint8_t *chain;
    size_t chain_len;
    const uint8_t *crl;
    size_t crl_len;
    const uint8_t *sim_pk;
    size_t sim_pk_len;
} seal_verify_inputs;

/* Verify evidence and apply the policy.
 * Returns 0 only when every signature and chain verified and the policy
 * accepted. TV_ERR_FORMAT: unparseable or unknown evidence. TV_ERR_VERIFY:
 * a signature, chain, CRL, binding or collateral check failed (incl. root not
 * pinned, expired certificate at the evaluation time). TV_ERR_POLICY:
 * verified but refused (debug, TCB status not accepted, no TCB level
 * matches, collateral missing). Sim evidence is delegated to
 * seal_sim_verify_verdict() (seal_sim_report.h; TV_ERR_INVALID when no sim
 * key is pinned). TV_ERR_INVALID: out is NULL. TV_ERR_NOMEM / TV_ERR_CRYPTO
 * on library failure.
 * Trailing bytes after a DCAP quote's declared signature data are ignored
 * (real quotes carry padding or text there); everything inside the declared
 * length must parse exactly. SNP evidence is the 1184-byte report, optionally
 * followed by its certificate table (seal_snp_cert_table()).
 * WARNING: unlike most teevault functions, *out is ALWAYS filled (zeroed
 * first, then everything that was learnt, with verdict->reason) so callers
 * can show why evidence was refused. Only trust its claims when the return
 * value is 0 (or signature_ok is 1 for diagnostics). */
int seal_verify_evidence(const uint8_t *ev, size_t len, const seal_verify_inputs *in,
                         const seal_verify_policy *policy, seal_verdict *out) TV_WUR;

/* Guess the evidence type from its bytes (no verification). */
enum seal_ev_type seal_evidence_detect(const uint8_t *ev, size_t len);

/* Names: "sim", "sgx", "tdx", "snp", "unknown"; "UpToDate", …, "NoMatch",
 * "NotEvaluated". Static strings. */
const char *seal_ev_type_name(enum seal_ev_type t);
const char *seal_tcb_status_name(enum seal_tcb_status s);
/* Parse a status name (as printed, case-insensitive). -1 if unknown. */
int seal_tcb_status_parse(const char *name);
/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)" → time_t (UTC).
 * TV_ERR_INVALID if malformed. */
int seal_parse_time(const char *s, size_t n, time_t *out) TV_WUR;

/* --- lower-level parsers, exposed for the fuzz targets and tests --- */

/* Parsed view of an Intel DCAP quote (v3 SGX, v4/v5 TDX or SGX). Pointers
 * reference the caller's quote buffer. */
typedef struct seal_dcap_quote {
    uint16_t version;
    uint32_t tee_type;   /* 0 SGX, 0x81 TDX */
    uint16_t body_type;  /* 1 SGX report, 2 TD 1.0, 3 TD 1.5 */
    const uint8_t *body; /* enclave report or TD report body */
    size_t body_len;
    size_t signed_len;            /* bytes [0, signed_len) are signed by the attestation key */
    const uint8_t *sig;           /* 64 B r‖s */
    const uint8_t *att_key;       /* 64 B x‖y */
    const uint8_t *qe_report;     /* 384 B */
    const uint8_t *qe_report_sig; /* 64 B */
    const uint8_t *qe_auth;
    size_t qe_auth_len;
    const uint8_t *pck_chain; /* PEM text, certification data type 5 */
    size_t pck_chain_len;
    size_t trailing; /* bytes after the declared signature data (ignored) */
} seal_dcap_quote;

/* Parse (no crypto). TV_ERR_FORMAT on any inconsistency. */
int seal_dcap_parse(const uint8_t *q, size_t len, seal_dcap_quote *out) TV_WUR;

/* SNP report field view. */
#define SEAL_SNP_REPORT_LEN 0x4A0
#define SEAL_SNP_SIGNED_LEN 0x2A0
int seal_snp_parse(const uint8_t *r, size_t len, seal_claims *claims) TV_WUR;

/* SEV-SNP evidence may also be the 1184-byte report followed by the extended
 * report certificate table (configfs-tsm auxblob / SNP_GET_EXT_REPORT):
 * entries {GUID[16] (RFC 4122 byte order), u32 offset, u32 length} ending
 * with an all-zero entry, offsets relative to the table start. Then the
 * verifier takes the VCEK/VLEK and ASK/ARK from the table when
 * seal_verify_inputs does not name them (the ARK must still be pinned).
 * Pointers reference the caller's buffer; absent certificates are NULL.
 * Errors: TV_ERR_FORMAT (unterminated table, entry out of bounds, a known
 * GUID twice, more than 64 entries). */
typedef struct seal_snp_certs {
    const uint8_t *vcek, *vlek, *ask, *ark;
    size_t vcek_len, vlek_len, ask_len, ark_len;
} seal_snp_certs;
int seal_snp_cert_table(const uint8_t *t, size_t n, seal_snp_certs *out) TV_WUR;

/* Parse a TCB info / QE identity PCS response body (structure only, no
 * signature check); for the fuzzer. */
int seal_collateral_check_json(const uint8_t *json, size_t len) TV_WUR;

#endif
