/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Conformance of the evidence verifiers against real vendor evidence in
 * $TV_SHARED/testdata/attestation (see its README.md for the expected
 * results reproduced here). Skips cleanly when that folder is absent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "seal_verify.h"
#include "tv_fixture.h"
#include "tv_test.h"

static char g_dir[4096];

static uint8_t *load(const char *rel, size_t *n)
{
    char path[8192];
    FILE *f;
    uint8_t *d;
    long sz;
    snprintf(path, sizeof(path), "%s/%s", g_dir, rel);
    if (!(f = fopen(path, "rb"))) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    d = malloc((size_t)sz + 1);
    if (d && fread(d, 1, (size_t)sz, f) != (size_t)sz) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *n = (size_t)sz;
    return d;
}

static int hexeq(const uint8_t *b, size_t n, const char *hex)
{
    char buf[300];
    if (strlen(hex) != 2 * n)
        return 0;
    for (size_t i = 0; i < n; i++)
        snprintf(buf + 2 * i, 3, "%02x", b[i]);
    return strcmp(buf, hex) == 0;
}

static seal_verify_policy at(const char *rfc3339)
{
    seal_verify_policy p;
    memset(&p, 0, sizeof(p));
    p.at_set = 1;
    if (seal_parse_time(rfc3339, strlen(rfc3339), &p.at) < 0)
        abort();
    return p;
}

static int has_adv(const seal_verdict *v, const char *id)
{
    for (size_t i = 0; i < v->n_advisories; i++) {
        if (strcmp(v->advisories[i], id) == 0)
            return 1;
    }
    return 0;
}

static void show(const char *name, int r, const seal_verdict *v)
{
    fprintf(stderr, "  %s: r=%d sig=%d coll=%d debug=%d tcb=%s qe=%s adv=%zu reason=\"%s\"\n", name,
            r, v->signature_ok, v->collateral_ok, v->debug, seal_tcb_status_name(v->tcb_status),
            seal_tcb_status_name(v->qe_tcb_status), v->n_advisories, v->reason);
}

/* Verify ev with a bundle collateral file; returns r. */
static int verify_bundle(const uint8_t *ev, size_t n, const char *coll_rel,
                         const seal_verify_policy *p, seal_verdict *v)
{
    size_t cn;
    uint8_t *cj = load(coll_rel, &cn);
    seal_collateral *c = NULL;
    seal_verify_inputs in;
    int r;
    memset(&in, 0, sizeof(in));
    if (!cj || seal_collateral_from_bundle(cj, cn, &c) < 0) {
        free(cj);
        return -1000;
    }
    in.collateral = c;
    r = seal_verify_evidence(ev, n, &in, p, v);
    seal_collateral_free(c);
    free(cj);
    return r;
}

/* The hardcoded vendor root fingerprints are those of the vendor files. */
static void test_vendor_roots(void)
{
    size_t n, nr;
    const uint8_t(*roots)[32] = seal_vendor_roots(&nr);
    const char *files[3] = {"sgx/TrustedRootCA.der", "snp/go-sev-guest/ask_ark_milan.pem",
                            "snp/go-sev-guest/ask_ark_genoa.pem"};
    for (int i = 0; i < 3; i++) {
        uint8_t *d = load(files[i], &n);
        uint8_t fp[32];
        unsigned fl = 32;
        X509 *x = NULL;
        CHECK(d != NULL);
        if (!d)
            continue;
        if (i == 0) {
            const unsigned char *p = d;
            x = d2i_X509(NULL, &p, (long)n);
        } else {
            /* the ARK is the second certificate of the ASK ‖ ARK file */
            BIO *b = BIO_new_mem_buf(d, (int)n);
            X509 *ask = PEM_read_bio_X509(b, NULL, NULL, NULL);
            x = PEM_read_bio_X509(b, NULL, NULL, NULL);
            X509_free(ask);
            BIO_free(b);
        }
        CHECK(x != NULL);
        if (x && X509_digest(x, EVP_sha256(), fp, &fl)) {
            int found = 0;
            for (size_t k = 0; k < nr; k++)
                found |= memcmp(roots[k], fp, 32) == 0;
            CHECK(found);
            CHECK(memcmp(roots[i], fp, 32) == 0);
        }
        X509_free(x);
        free(d);
    }
}

/* ---- SGX ---- */

static void test_sgx_quote(void)
{
    size_t n;
    uint8_t *q = load("sgx/sgx_quote.bin", &n);
    seal_verdict v;
    seal_verify_policy p = at("2025-06-20T00:00:00Z");
    static const uint8_t rd[64] = "Hello, world!";
    int r;
    CHECK(q != NULL);
    if (!q)
        return;
    CHECK_EQ_INT(seal_evidence_detect(q, n), SEAL_EV_SGX);
    /* default policy: UpToDate only → refused, but everything verified */
    r = verify_bundle(q, n, "sgx/sgx_quote_collateral.json", &p, &v);
    show("sgx default", r, &v);
    CHECK_EQ_INT(r, TV_ERR_POLICY);
    CHECK(v.signature_ok && v.collateral_ok);
    CHECK_EQ_INT(v.tcb_status, SEAL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    CHECK_EQ_INT(v.n_advisories, 2);
    CHECK(has_adv(&v, "INTEL-SA-00289"));
    CHECK(has_adv(&v, "INTEL-SA-00615"));
    CHECK(!v.debug);
    CHECK(hexeq(v.claims.mrenclave, 32,
                "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"));
    CHECK(hexeq(v.claims.mrsigner, 32,
                "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6"));
    CHECK(memcmp(v.claims.report_data, rd, 64) == 0);
    CHECK(hexeq(v.claims.fmspc, 6, "00a067110000"));
    /* accepting that status → verdict 0 */
    p.accepted_statuses = SEAL_TCB_BIT(SEAL_TCB_UP_TO_DATE) |
                          SEAL_TCB_BIT(SEAL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    r = verify_bundle(q, n, "sgx/sgx_quote_collateral.json", &p, &v);
    CHECK_EQ_INT(r, 0);
    CHECK(v.accepted);
    /* collateral is not valid a year later */
    {
        seal_verify_policy late = at("2026-06-20T00:00:00Z");
        late.accepted_statuses = p.accepted_statuses;
        r = verify_bundle(q, n, "sgx/sgx_quote_collateral.json", &late, &v);
        show("sgx late", r, &v);
        CHECK_EQ_INT(r, TV_ERR_VERIFY);
    }
    /* without collateral: signatures verify, TCB not evaluated, refused by default */
    {
        seal_verify_inputs in = {0};
        r = seal_verify_evidence(q, n, &in, &p, &v);
        CHECK_EQ_INT(r, TV_ERR_POLICY);
        CHECK(v.signature_ok);
        CHECK_EQ_INT(v.tcb_status, SEAL_TCB_NOT_EVALUATED);
        p.allow_no_collateral = 1;
        CHECK_EQ_INT(seal_verify_evidence(q, n, &in, &p, &v), 0);
    }
    /* a foreign pinned root set refuses the Intel chain */
    {
        static const uint8_t other[1][32] = {{1}};
        seal_verify_inputs in = {0};
        p.pinned_roots = other;
        p.n_pinned_roots = 1;
        CHECK_EQ_INT(seal_verify_evidence(q, n, &in, &p, &v), TV_ERR_VERIFY);
        CHECK(!v.signature_ok);
    }
    free(q);
}

/* Flip one byte at off; the verdict must turn into a failure. */
static void flip_expect_fail(const uint8_t *q, size_t n, size_t off, const char *coll,
                             const seal_verify_policy *p, const char *what)
{
    uint8_t *c = malloc(n);
    seal_verdict v;
    int r;
    memcpy(c, q, n);
    c[off] ^= 0x01;
    r = verify_bundle(c, n, coll, p, &v);
    if (r == 0)
        fprintf(stderr, "  flip %s at %zu still verifies\n", what, off);
    CHECK(r != 0);
    CHECK(!v.accepted);
    free(c);
}

static void test_sgx_tamper(void)
{
    size_t n;
    uint8_t *q = load("sgx/sgx_quote.bin", &n);
    seal_verify_policy p = at("2025-06-20T00:00:00Z");
    seal_verdict v;
    size_t pem_off;
    const char *coll = "sgx/sgx_quote_collateral.json";
    if (!q)
        return;
    p.accepted_statuses = SEAL_TCB_BIT(SEAL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    CHECK_EQ_INT(verify_bundle(q, n, coll, &p, &v), 0);
    flip_expect_fail(q, n, 20, coll, &p, "header");
    flip_expect_fail(q, n, 48 + 64, coll, &p, "report body (mrenclave)");
    flip_expect_fail(q, n, 48 + 320, coll, &p, "report body (report_data)");
    flip_expect_fail(q, n, 440, coll, &p, "quote signature");
    flip_expect_fail(q, n, 510, coll, &p, "attestation key");
    flip_expect_fail(q, n, 564 + 10, coll, &p, "QE report");
    flip_expect_fail(q, n, 948 + 5, coll, &p, "QE report signature");
    flip_expect_fail(q, n, 1014 + 3, coll, &p, "QE auth data");
    /* a byte inside the base64 of the PCK leaf certificate */
    pem_off = 1014 + 32 + 6 + 200;
    flip_expect_fail(q, n, pem_off, coll, &p, "PCK certificate");
    free(q);
}

static void test_sgx_tcbinfo_tamper(void)
{
    size_t n, cn;
    uint8_t *q = load("sgx/sgx_quote.bin", &n);
    uint8_t *cj = load("sgx/sgx_quote_collateral.json", &cn);
    seal_verify_policy p = at("2025-06-20T00:00:00Z");
    seal_verdict v;
    seal_collateral *c = NULL;
    seal_verify_inputs in = {0};
    char *pos;
    if (!q || !cj)
        goto out;
    p.accepted_statuses = SEAL_TCB_BIT(SEAL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    cj[cn] = 0;
    /* "UpToDate" → "UpToDatf" inside the tcb_info text: signature must break */
    pos = strstr((char *)cj, "\\\"tcbStatus\\\":\\\"UpToDate");
    if (!pos)
        pos = strstr((char *)cj, "tcbStatus");
    CHECK(pos != NULL);
    if (pos) {
        char *u = strstr(pos, "UpToDate");
        u[7] = 'f';
        CHECK_EQ_INT(seal_collateral_from_bundle(cj, cn, &c), 0);
        in.collateral = c;
        CHECK_EQ_INT(seal_verify_evidence(q, n, &in, &p, &v), TV_ERR_VERIFY);
        CHECK(!v.collateral_ok);
        seal_collateral_free(c);
        c = NULL;
        u[7] = 'e';
    }
    /* whitespace change only (re-serialisation) also breaks it */
    pos = strstr((char *)cj, "\"tcb_info\": \"{");
    if (!pos)
        pos = strstr((char *)cj, "\"tcb_info\":\"{");
    CHECK(pos != NULL);
    if (pos) {
        char *brace = strchr(pos + 11, '{');
        /* replace the first key's opening quote escape pattern: {\"id\" → {\"iD\" */
        char *id = strstr(brace, "id");
        id[1] = 'D';
        CHECK_EQ_INT(seal_collateral_from_bundle(cj, cn, &c), 0);
        in.collateral = c;
        CHECK_EQ_INT(seal_verify_evidence(q, n, &in, &p, &v), TV_ERR_VERIFY);
        seal_collateral_free(c);
        c = NULL;
        id[1] = 'd';
    }
    /* flipped TCB info signature */
    pos = strstr((char *)cj, "\"tcb_info_signature\"");
    CHECK(pos != NULL);
    if (pos) {
        char *h = strchr(pos + 21, '"') + 1;
        h[3] = h[3] == '0' ? '1' : '0';
        CHECK_EQ_INT(seal_collateral_from_bundle(cj, cn, &c), 0);
        in.collateral = c;
        CHECK_EQ_INT(seal_verify_evidence(q, n, &in, &p, &v), TV_ERR_VERIFY);
        seal_collateral_free(c);
        c = NULL;
    }
out:
    free(q);
    free(cj);
}

static void test_sgx_debug(void)
{
    size_t n;
    uint8_t *q = load("sgx/occlum_debug_quote.dat", &n);
    seal_verdict v;
    seal_verify_policy p = {0};
    seal_verify_inputs in = {0};
    int r;
    if (!q)
        return;
    p.allow_no_collateral = 1; /* no collateral for this quote; evaluate now */
    r = seal_verify_evidence(q, n, &in, &p, &v);
    show("occlum", r, &v);
    CHECK_EQ_INT(r, TV_ERR_POLICY);
    CHECK(v.signature_ok);
    CHECK(v.debug);
    CHECK(strstr(v.reason, "debug") != NULL);
    p.allow_debug = 1;
    r = seal_verify_evidence(q, n, &in, &p, &v);
    CHECK_EQ_INT(r, 0);
    free(q);
}

/* ---- TDX ---- */

static int make_dir_collateral(const char *tcb, const char *qe, const char *chain,
                               const char *pckcrl, const char *rootcrl, seal_collateral **c)
{
    size_t n[5] = {0};
    uint8_t *d[5] = {NULL};
    const char *rel[5] = {tcb, qe, chain, pckcrl, rootcrl};
    int r = -1;
    for (int i = 0; i < 5; i++) {
        if (rel[i] && !(d[i] = load(rel[i], &n[i])))
            goto out;
    }
    r = seal_collateral_from_parts(d[0], n[0], d[1], n[1], d[2], n[2], d[3], n[3], d[4], n[4], c);
out:
    for (int i = 0; i < 5; i++)
        free(d[i]);
    return r;
}

static void test_tdx_spr(void)
{
    size_t n;
    uint8_t *q = load("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", &n);
    seal_verdict v;
    seal_verify_policy p = at("2023-07-01T01:00:00Z");
    seal_verify_inputs in = {0};
    seal_collateral *c = NULL;
    int r;
    if (!q)
        return;
    CHECK_EQ_INT(seal_evidence_detect(q, n), SEAL_EV_TDX);
    {
        seal_dcap_quote dq;
        CHECK_EQ_INT(seal_dcap_parse(q, n, &dq), 0);
        CHECK_EQ_INT(dq.trailing, 39);
    }
    CHECK_EQ_INT(make_dir_collateral("tdx/go-tdx-guest/sample_tcbInfo_response",
                                     "tdx/go-tdx-guest/sample_qeIdentity_response",
                                     "tdx/go-tdx-guest/tcbinfo_issuer_chain.pem",
                                     "tdx/go-tdx-guest/pckcrl", "tdx/go-tdx-guest/rootcrl.der", &c),
                 0);
    in.collateral = c;
    r = seal_verify_evidence(q, n, &in, &p, &v);
    show("tdx spr", r, &v);
    CHECK_EQ_INT(r, TV_ERR_POLICY);
    CHECK(v.signature_ok);
    CHECK(v.collateral_ok);
    CHECK_EQ_INT(v.tcb_status, SEAL_TCB_NO_MATCH);
    CHECK(hexeq(v.claims.mrtd, 48,
                "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc1"
                "0d5e119d7215cbb"));
    /* accepting every status still refuses "no match" */
    p.accepted_statuses = 0xFFFFFFFFu;
    CHECK_EQ_INT(seal_verify_evidence(q, n, &in, &p, &v), TV_ERR_POLICY);
    seal_collateral_free(c);
    free(q);
}

static void test_tdx_v5_sample(void)
{
    size_t n;
    uint8_t *q = load("tdx/go-tdx-guest/quote_v5_sample.dat", &n);
    seal_verdict v;
    seal_verify_policy p = at("2026-02-03T01:00:00Z");
    seal_verify_inputs in = {0};
    int r;
    if (!q)
        return;
    p.allow_no_collateral = 1;
    r = seal_verify_evidence(q, n, &in, &p, &v);
    show("tdx v5 sample", r, &v);
    CHECK(v.signature_ok);
    CHECK_EQ_INT(v.claims.version, 5);
    CHECK(hexeq(v.claims.mrtd, 48,
                "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dd"
                "a8f750c3bc8f876"));
    CHECK(r == 0 || r == TV_ERR_POLICY); /* debug bit decides */
    /* with its 2023 PCS pieces (PCK CRL expired 2023-07-08, TCB signing
     * certificate expired 2025-05-21) the collateral must be refused now */
    {
        seal_collateral *c = NULL;
        CHECK_EQ_INT(make_dir_collateral("tdx/go-tdx-guest/sample_tcbinfo_response_v5",
                                         "tdx/go-tdx-guest/sample_qeIdentity_response",
                                         "tdx/go-tdx-guest/tcbinfo_issuer_chain.pem",
                                         "tdx/go-tdx-guest/pckcrl", NULL, &c),
                     0);
        in.collateral = c;
        r = seal_verify_evidence(q, n, &in, &p, &v);
        show("tdx v5 + old collateral", r, &v);
        CHECK_EQ_INT(r, TV_ERR_VERIFY);
        seal_collateral_free(c);
    }
    free(q);
}

static void test_tdx_phala(void)
{
    size_t n;
    uint8_t *q = load("tdx/phala/tdx_quote.bin", &n);
    seal_verdict v;
    seal_verify_policy p = at("2025-06-20T00:00:00Z");
    int r;
    if (!q)
        return;
    r = verify_bundle(q, n, "tdx/phala/tdx_quote_collateral.json", &p, &v);
    show("tdx phala", r, &v);
    CHECK_EQ_INT(r, 0);
    CHECK(v.accepted && v.signature_ok && v.collateral_ok);
    CHECK_EQ_INT(v.tcb_status, SEAL_TCB_UP_TO_DATE);
    CHECK_EQ_INT(v.n_advisories, 0);
    CHECK(!v.debug);
    CHECK(hexeq(v.claims.mrtd, 48,
                "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f274"
                "28b2538873118b7"));
    /* tampering: header, TD report body, QE report, QE report signature */
    {
        seal_dcap_quote dq;
        size_t sd;
        CHECK_EQ_INT(seal_dcap_parse(q, n, &dq), 0);
        sd = (size_t)(dq.sig - q);
        flip_expect_fail(q, n, 14, "tdx/phala/tdx_quote_collateral.json", &p, "tdx header");
        flip_expect_fail(q, n, 48 + 136, "tdx/phala/tdx_quote_collateral.json", &p, "tdx mrtd");
        flip_expect_fail(q, n, 48 + 330, "tdx/phala/tdx_quote_collateral.json", &p, "tdx rtmr0");
        flip_expect_fail(q, n, 48 + 520, "tdx/phala/tdx_quote_collateral.json", &p, "report_data");
        flip_expect_fail(q, n, sd + 134 + 100, "tdx/phala/tdx_quote_collateral.json", &p,
                         "QE report");
        flip_expect_fail(q, n, sd + 518 + 7, "tdx/phala/tdx_quote_collateral.json", &p,
                         "QE report sig");
        flip_expect_fail(q, n, (size_t)(dq.pck_chain - q) + 300,
                         "tdx/phala/tdx_quote_collateral.json", &p, "PCK cert");
    }
    free(q);
}

static void test_tdx_outdated(void)
{
    size_t n;
    uint8_t *q = load("tdx/phala/tdx_quote_outdated.bin", &n);
    seal_verdict v;
    seal_verify_policy p = at("2026-02-19T00:00:00Z");
    int r;
    if (!q)
        return;
    r = verify_bundle(q, n, "tdx/phala/tdx_quote_outdated_collateral.json", &p, &v);
    show("tdx outdated", r, &v);
    CHECK_EQ_INT(r, TV_ERR_POLICY);
    CHECK_EQ_INT(v.claims.version, 5);
    CHECK(v.signature_ok && v.collateral_ok);
    CHECK_EQ_INT(v.tcb_status, SEAL_TCB_NO_MATCH);
    free(q);
}

static void test_tdx_debug(void)
{
    size_t n;
    uint8_t *q = load("tdx/trustee_debug_td_quote_v4.dat", &n);
    seal_verdict v;
    seal_verify_policy p = {0};
    seal_verify_inputs in = {0};
    int r;
    if (!q)
        return;
    p.allow_no_collateral = 1;
    r = seal_verify_evidence(q, n, &in, &p, &v);
    show("tdx debug", r, &v);
    CHECK_EQ_INT(r, TV_ERR_POLICY);
    CHECK(v.signature_ok);
    CHECK(v.debug);
    CHECK(v.claims.td_attributes & 1);
    p.allow_debug = 1;
    CHECK_EQ_INT(seal_verify_evidence(q, n, &in, &p, &v), 0);
    free(q);
}

/* ---- SNP ---- */

static int snp_verify(const uint8_t *rep, size_t n, const char *vcek, const char *chain,
                      const seal_verify_policy *p, seal_verdict *v)
{
    size_t vn, cn;
    uint8_t *vc = load(vcek, &vn), *ch = load(chain, &cn);
    seal_verify_inputs in = {0};
    int r = -1000;
    if (vc && ch) {
        in.vcek = vc;
        in.vcek_len = vn;
        in.chain = ch;
        in.chain_len = cn;
        r = seal_verify_evidence(rep, n, &in, p, v);
    }
    free(vc);
    free(ch);
    return r;
}

static void test_snp_go_sev_guest(void)
{
    size_t n;
    uint8_t *rep = load("snp/go-sev-guest/attestation.bin", &n);
    seal_verdict v;
    seal_verify_policy p = at("2025-01-01T00:00:00Z");
    static const uint8_t rd[64] = {1, 2, 3, 4, 5};
    int r;
    if (!rep)
        return;
    CHECK_EQ_INT(seal_evidence_detect(rep, n), SEAL_EV_SNP);
    r = snp_verify(rep, n, "snp/go-sev-guest/vcek.der", "snp/go-sev-guest/ask_ark_milan.pem", &p,
                   &v);
    show("snp go-sev-guest", r, &v);
    CHECK_EQ_INT(r, TV_ERR_POLICY);
    CHECK(v.signature_ok);
    CHECK(v.debug);
    CHECK(hexeq(v.claims.measurement, 48,
                "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a60"
                "8eb0cf2e4872b01"));
    CHECK(memcmp(v.claims.report_data, rd, 64) == 0);
    p.allow_debug = 1;
    CHECK_EQ_INT(snp_verify(rep, n, "snp/go-sev-guest/vcek.der",
                            "snp/go-sev-guest/ask_ark_milan.pem", &p, &v),
                 0);
    /* VCEK not yet valid / expired */
    {
        seal_verify_policy early = at("2022-01-01T00:00:00Z"), late = at("2030-01-01T00:00:00Z");
        early.allow_debug = late.allow_debug = 1;
        CHECK_EQ_INT(snp_verify(rep, n, "snp/go-sev-guest/vcek.der",
                                "snp/go-sev-guest/ask_ark_milan.pem", &early, &v),
                     TV_ERR_VERIFY);
        CHECK_EQ_INT(snp_verify(rep, n, "snp/go-sev-guest/vcek.der",
                                "snp/go-sev-guest/ask_ark_milan.pem", &late, &v),
                     TV_ERR_VERIFY);
    }
    /* the Genoa chain does not sign a Milan VCEK */
    CHECK_EQ_INT(snp_verify(rep, n, "snp/go-sev-guest/vcek.der",
                            "snp/go-sev-guest/ask_ark_genoa.pem", &p, &v),
                 TV_ERR_VERIFY);
    free(rep);
}

static void test_snp_virtee(void)
{
    size_t n;
    uint8_t *rep = load("snp/virtee/report_milan.bin", &n);
    seal_verdict v;
    seal_verify_policy p = at("2025-01-01T00:00:00Z");
    int r;
    if (!rep)
        return;
    r = snp_verify(rep, n, "snp/virtee/vcek_milan.der", "snp/virtee/cert_chain_milan", &p, &v);
    show("snp virtee", r, &v);
    CHECK(v.signature_ok);
    CHECK(hexeq(v.claims.measurement, 48,
                "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd9"
                "5b9c480cd81841f"));
    CHECK(r == 0 || (r == TV_ERR_POLICY && v.debug));
    p.allow_debug = 1;
    CHECK_EQ_INT(
        snp_verify(rep, n, "snp/virtee/vcek_milan.der", "snp/virtee/cert_chain_milan", &p, &v), 0);
    /* flip bit 7 of byte 21 (in the signed policy/family id area) */
    rep[21] ^= 0x80;
    CHECK_EQ_INT(
        snp_verify(rep, n, "snp/virtee/vcek_milan.der", "snp/virtee/cert_chain_milan", &p, &v),
        TV_ERR_VERIFY);
    CHECK(!v.signature_ok);
    rep[21] ^= 0x80;
    /* report body, signature, a byte of the VCEK certificate */
    for (size_t off = 0x90; off < SEAL_SNP_REPORT_LEN; off += 0x2A0 - 0x90) {
        rep[off] ^= 1;
        CHECK(snp_verify(rep, n, "snp/virtee/vcek_milan.der", "snp/virtee/cert_chain_milan", &p,
                         &v) != 0);
        rep[off] ^= 1;
    }
    {
        size_t vn, cn;
        uint8_t *vc = load("snp/virtee/vcek_milan.der", &vn);
        uint8_t *ch = load("snp/virtee/cert_chain_milan", &cn);
        seal_verify_inputs in = {0};
        if (vc && ch) {
            vc[vn - 20] ^= 1; /* inside the certificate signature */
            in.vcek = vc;
            in.vcek_len = vn;
            in.chain = ch;
            in.chain_len = cn;
            CHECK_EQ_INT(seal_verify_evidence(rep, n, &in, &p, &v), TV_ERR_VERIFY);
            vc[vn - 20] ^= 1;
            vc[200] ^= 1; /* inside the TBS */
            CHECK(seal_verify_evidence(rep, n, &in, &p, &v) != 0);
        }
        free(vc);
        free(ch);
    }
    free(rep);
}

static void test_snp_vlek(void)
{
    size_t n;
    uint8_t *rep = load("snp/vlek/test-vlek-report.bin", &n);
    seal_verdict v;
    seal_verify_policy p = at("2025-06-01T00:00:00Z");
    int r;
    if (!rep)
        return;
    p.allow_debug = 1;
    r = snp_verify(rep, n, "snp/vlek/test-vlek.der", "snp/go-sev-guest/ask_ark_milan_vlek.pem", &p,
                   &v);
    show("snp vlek", r, &v);
    CHECK_EQ_INT(r, 0);
    CHECK(v.signature_ok);
    CHECK_EQ_INT(v.claims.version, 3);
    CHECK_EQ_INT(v.claims.snp_signing_key, 1);
    CHECK_EQ_INT(v.claims.snp_vmpl, 1);
    CHECK(hexeq(v.claims.measurement, 48,
                "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a"
                "493df2a570d7bf0"));
    /* the VCEK (ASK) chain does not certify a VLEK */
    CHECK_EQ_INT(
        snp_verify(rep, n, "snp/vlek/test-vlek.der", "snp/go-sev-guest/ask_ark_milan.pem", &p, &v),
        TV_ERR_VERIFY);
    free(rep);
}

int main(void)
{
    /* Without ../shared this test did not run: ctest reports SKIP. */
    if (!tv_test_shared("testdata/attestation", g_dir, sizeof(g_dir)))
        return tv_test_skip("../shared/testdata/attestation not present ($TV_SHARED)");
    RUN(test_vendor_roots);
    RUN(test_sgx_quote);
    RUN(test_sgx_tamper);
    RUN(test_sgx_tcbinfo_tamper);
    RUN(test_sgx_debug);
    RUN(test_tdx_spr);
    RUN(test_tdx_v5_sample);
    RUN(test_tdx_phala);
    RUN(test_tdx_outdated);
    RUN(test_tdx_debug);
    RUN(test_snp_go_sev_guest);
    RUN(test_snp_virtee);
    RUN(test_snp_vlek);
    return tv_test_finish();
}
