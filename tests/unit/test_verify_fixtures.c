/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The evidence verifiers against the project's own fixtures: a test PKI
 * generated here with OpenSSL, shaped like Intel's (root → PCK CA → PCK leaf
 * with the SGX extension; root → TCB signing) and AMD's (ARK → ASK/ASVK →
 * VCEK/VLEK, RSA-PSS over P-384 leaves), synthetic SGX v3 / TDX v4 / TDX v5
 * quotes and SEV-SNP reports signed by it, and signed collateral JSON.
 * Runs the same verifier code as the conformance test, without ../shared.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "seal_sim_report.h"
#include "seal_verify.h"
#include "tv_fixture.h"
#include "tv_test.h"

/* Fixed times: certificates 2020..2040, collateral and CRLs around T0. */
#define T_CERT_FROM 1577836800L /* 2020-01-01 */
#define T_CERT_TO   2208988800L /* 2040-01-01 */
#define T0          1893456000L /* 2030-01-01 */
#define DAY         86400L

static const uint8_t intel_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                         0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
static const uint8_t fmspc[6] = {0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00};
/* Intel's QE3 and TD-QE signers (the verifier knows them: any other QE is
 * refused), so the fixture's QE reports and QE identity JSON name them. */
#define SGX_QE_MRSIGNER_HEX "8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF"
#define TD_QE_MRSIGNER_HEX  "DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5"

static void unhex(uint8_t *out, const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

typedef struct buf {
    uint8_t *d;
    size_t n;
} buf;

static void buf_add(buf *b, const void *p, size_t n)
{
    b->d = realloc(b->d, b->n + n + 1);
    if (!b->d)
        abort();
    memcpy(b->d + b->n, p, n);
    b->n += n;
    b->d[b->n] = 0;
}

static void buf_le16(buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    buf_add(b, x, 2);
}

static void buf_le32(buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    buf_add(b, x, 4);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* DER TLV with a short or 2-byte long length. */
static void der(buf *out, uint8_t tag, const uint8_t *c, size_t n)
{
    uint8_t h[4];
    size_t hn;
    h[0] = tag;
    if (n < 0x80) {
        h[1] = (uint8_t)n;
        hn = 2;
    } else if (n < 0x100) {
        h[1] = 0x81;
        h[2] = (uint8_t)n;
        hn = 3;
    } else {
        h[1] = 0x82;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hn = 4;
    }
    buf_add(out, h, hn);
    buf_add(out, c, n);
}

static void der_int(buf *out, unsigned v)
{
    uint8_t c[4];
    size_t n = 0;
    if (v >= 0x8000)
        c[n++] = (uint8_t)(v >> 16);
    if (v >= 0x80)
        c[n++] = (uint8_t)(v >> 8);
    c[n++] = (uint8_t)v;
    if (c[0] & 0x80) {
        memmove(c + 1, c, n);
        c[0] = 0;
        n++;
    }
    der(out, 0x02, c, n);
}

static const uint8_t sgx_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

/* SEQUENCE { OID sgx_oid.suffix, value } */
static void sgx_item(buf *out, const uint8_t *suffix, size_t sn, const buf *value)
{
    buf oid = {0}, item = {0};
    uint8_t o[16];
    memcpy(o, sgx_oid, sizeof(sgx_oid));
    memcpy(o + sizeof(sgx_oid), suffix, sn);
    der(&oid, 0x06, o, sizeof(sgx_oid) + sn);
    buf_add(&item, oid.d, oid.n);
    buf_add(&item, value->d, value->n);
    der(out, 0x30, item.d, item.n);
    free(oid.d);
    free(item.d);
}

/* The Intel SGX extension of a PCK certificate. */
static buf sgx_extension(const uint8_t comp[16], unsigned pcesvn, const uint8_t fm[6])
{
    buf tcb = {0}, tcbseq = {0}, all = {0}, seq = {0}, v = {0};
    uint8_t zero16[16] = {0}, pceid[2] = {0, 0}, ppid[16] = {0x11};
    for (int i = 1; i <= 18; i++) {
        uint8_t sfx[2] = {0x02, (uint8_t)i};
        v.n = 0;
        if (i <= 16)
            der_int(&v, comp[i - 1]);
        else if (i == 17)
            der_int(&v, pcesvn);
        else
            der(&v, 0x04, zero16, 16);
        sgx_item(&tcb, sfx, 2, &v);
    }
    der(&tcbseq, 0x30, tcb.d, tcb.n);
    v.n = 0;
    der(&v, 0x04, ppid, 16);
    sgx_item(&all, (const uint8_t *)"\x01", 1, &v);
    sgx_item(&all, (const uint8_t *)"\x02", 1, &tcbseq);
    v.n = 0;
    der(&v, 0x04, pceid, 2);
    sgx_item(&all, (const uint8_t *)"\x03", 1, &v);
    v.n = 0;
    der(&v, 0x04, fm, 6);
    sgx_item(&all, (const uint8_t *)"\x04", 1, &v);
    v.n = 0;
    der(&v, 0x0a, (const uint8_t *)"\x00", 1);
    sgx_item(&all, (const uint8_t *)"\x05", 1, &v);
    der(&seq, 0x30, all.d, all.n);
    free(tcb.d);
    free(tcbseq.d);
    free(all.d);
    free(v.d);
    return seq;
}

static EVP_PKEY *ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_EC_gen(curve);
    if (!k)
        abort();
    return k;
}

static void add_ext_raw(X509 *x, const char *oid, const uint8_t *val, size_t n)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e;
    ASN1_OCTET_STRING_set(os, val, (int)n);
    e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
}

/* Certificate for key signed by issuer (NULL issuer = self-signed). */
static X509 *mk_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, long serial,
                     int ca, int pss, long from, long to)
{
    X509 *x = X509_new();
    X509_NAME *nm = X509_NAME_new();
    X509V3_CTX ctx;
    X509_EXTENSION *e;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"teevault test", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, nm);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)from);
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)to);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                            ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    if (ca) {
        e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    X509_NAME_free(nm);
    (void)pss;
    return x;
}

static void sign_cert(X509 *x, EVP_PKEY *ikey, int pss)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (EVP_DigestSignInit(m, &pctx, pss ? EVP_sha384() : EVP_sha256(), NULL, ikey) != 1)
        abort();
    if (pss) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48);
    }
    if (X509_sign_ctx(x, m) <= 0)
        abort();
    EVP_MD_CTX_free(m);
}

static void pem_add(buf *b, X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *p;
    long n;
    PEM_write_bio_X509(bio, x);
    n = BIO_get_mem_data(bio, &p);
    buf_add(b, p, (size_t)n);
    BIO_free(bio);
}

static buf der_of(X509 *x)
{
    buf b = {0};
    unsigned char *p = NULL;
    int n = i2d_X509(x, &p);
    buf_add(&b, p, (size_t)n);
    OPENSSL_free(p);
    return b;
}

static void fingerprint(X509 *x, uint8_t fp[32])
{
    unsigned n = 32;
    X509_digest(x, EVP_sha256(), fp, &n);
}

/* ECDSA over msg → raw big-endian r‖s of clen bytes each. */
static void raw_sign(EVP_PKEY *k, const EVP_MD *md, const uint8_t *msg, size_t n, uint8_t *out,
                     size_t clen)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    uint8_t sig[160];
    size_t sl = sizeof(sig);
    const unsigned char *p = sig;
    ECDSA_SIG *s;
    if (EVP_DigestSignInit(m, NULL, md, NULL, k) != 1 || EVP_DigestSign(m, sig, &sl, msg, n) != 1)
        abort();
    s = d2i_ECDSA_SIG(NULL, &p, (long)sl);
    BN_bn2binpad(ECDSA_SIG_get0_r(s), out, (int)clen);
    BN_bn2binpad(ECDSA_SIG_get0_s(s), out + clen, (int)clen);
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(m);
}

static buf mk_crl(X509 *issuer, EVP_PKEY *ikey, long revoked_serial, long last, long next)
{
    X509_CRL *c = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();
    buf b = {0};
    unsigned char *p = NULL;
    int n;
    X509_CRL_set_version(c, 1);
    X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer));
    ASN1_TIME_set(t, (time_t)last);
    X509_CRL_set1_lastUpdate(c, t);
    ASN1_TIME_set(t, (time_t)next);
    X509_CRL_set1_nextUpdate(c, t);
    if (revoked_serial >= 0) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        ASN1_INTEGER_set(s, revoked_serial);
        X509_REVOKED_set_serialNumber(r, s);
        ASN1_TIME_set(t, (time_t)last);
        X509_REVOKED_set_revocationDate(r, t);
        X509_CRL_add0_revoked(c, r);
        ASN1_INTEGER_free(s);
    }
    X509_CRL_sort(c);
    X509_CRL_sign(c, ikey, EVP_sha256());
    n = i2d_X509_CRL(c, &p);
    buf_add(&b, p, (size_t)n);
    OPENSSL_free(p);
    ASN1_TIME_free(t);
    X509_CRL_free(c);
    return b;
}

/* ------------------------------------------------------------------ */
/* Intel-shaped PKI and quotes                                          */

typedef struct intel_pki {
    EVP_PKEY *root_key, *ca_key, *pck_key, *tcb_key, *att_key;
    X509 *root, *ca, *pck, *tcb;
    uint8_t root_fp[32];
} intel_pki;

static intel_pki ip;

static X509 *mk_pck(const uint8_t comp[16], unsigned pcesvn, const uint8_t fm[6], long serial)
{
    X509 *x = mk_cert("Test SGX PCK Certificate", ip.pck_key, ip.ca, ip.ca_key, serial, 0, 0,
                      T_CERT_FROM, T_CERT_TO);
    buf ext = sgx_extension(comp, pcesvn, fm);
    add_ext_raw(x, "1.2.840.113741.1.13.1", ext.d, ext.n);
    free(ext.d);
    sign_cert(x, ip.ca_key, 0);
    return x;
}

static void intel_setup(void)
{
    uint8_t comp[16];
    memset(comp, 5, 16);
    ip.root_key = ec_key("P-256");
    ip.ca_key = ec_key("P-256");
    ip.pck_key = ec_key("P-256");
    ip.tcb_key = ec_key("P-256");
    ip.att_key = ec_key("P-256");
    ip.root = mk_cert("Test SGX Root CA", ip.root_key, NULL, ip.root_key, 1, 1, 0, T_CERT_FROM,
                      T_CERT_TO);
    sign_cert(ip.root, ip.root_key, 0);
    ip.ca = mk_cert("Test SGX PCK Processor CA", ip.ca_key, ip.root, ip.root_key, 2, 1, 0,
                    T_CERT_FROM, T_CERT_TO);
    sign_cert(ip.ca, ip.root_key, 0);
    ip.tcb = mk_cert("Test SGX TCB Signing", ip.tcb_key, ip.root, ip.root_key, 3, 0, 0, T_CERT_FROM,
                     T_CERT_TO);
    sign_cert(ip.tcb, ip.root_key, 0);
    ip.pck = mk_pck(comp, 13, fmspc, 100);
    fingerprint(ip.root, ip.root_fp);
}

typedef struct qopts {
    int version; /* 3 SGX, 4 TDX, 5 TDX 1.5 */
    int debug;
    X509 *pck; /* NULL = ip.pck */
    uint16_t qe_isvsvn;
    uint8_t module_major, module_minor;
    int corrupt_binding;
    int qe_debug;
    int qe_other_signer; /* QE report MRSIGNER not the QE identity's */
    int qe_prod_id;      /* QE report ISVPRODID; 0 = Intel's (1 SGX, 2 TDX) */
    int other_vendor;    /* QE vendor id not Intel's */
    int root_mode;       /* embedded root: 0 the pinned one, 1 its signature
                          * corrupted, 2 another self-signed root, 3 none */
    uint64_t td_attr;    /* 0 = SEPT_VE_DISABLE (+ debug) */
    int servicetd;       /* v5: non-zero MRSERVICETD */
    uint8_t tdx_comp;    /* TEE_TCB_SVN[2..15]; 0 = 2 (the UpToDate level) */
} qopts;

static void att_pub(uint8_t xy[64])
{
    uint8_t pt[65];
    size_t n = sizeof(pt);
    EVP_PKEY_get_octet_string_param(ip.att_key, "encoded-pub-key", pt, sizeof(pt), &n);
    memcpy(xy, pt + 1, 64);
}

static buf mk_quote(const qopts *o)
{
    buf q = {0}, qe = {0}, pem = {0};
    uint8_t hdr[48] = {0}, body[648] = {0}, qerep[384] = {0}, xy[64], sig[64], qesig[64], auth[32];
    size_t body_len = o->version == 3 ? 384 : o->version == 4 ? 584 : 648;
    EVP_MD_CTX *m;
    uint8_t h[32];

    hdr[0] = (uint8_t)o->version;
    hdr[2] = 2;
    if (o->version != 3)
        hdr[4] = 0x81;
    memcpy(hdr + 12, intel_vendor, 16);
    if (o->other_vendor)
        hdr[12] ^= 0xFF;
    if (o->version == 3) {
        body[48] = 0x05 | (o->debug ? 0x02 : 0);
        memset(body + 64, 0xE1, 32);  /* MRENCLAVE */
        memset(body + 128, 0x51, 32); /* MRSIGNER */
        body[256] = 7;                /* ISVPRODID */
        body[258] = 3;                /* ISVSVN */
        memcpy(body + 320, "fixture report data", 19);
    } else {
        memset(body, o->tdx_comp ? o->tdx_comp : 2, 16);
        body[0] = o->module_minor;
        body[1] = o->module_major;
        memset(body + 16, 0x5E, 48); /* MRSEAM */
        put_le64(body + 120, o->td_attr ? o->td_attr : (1ull << 28) | (o->debug ? 1 : 0));
        if (o->servicetd && o->version == 5)
            memset(body + 600, 0x5D, 48);
        memset(body + 136, 0x7D, 48); /* MRTD */
        for (int i = 0; i < 4; i++)
            memset(body + 328 + 48 * i, 0xA0 + i, 48);
        memcpy(body + 520, "fixture td report data", 22);
    }
    att_pub(xy);
    memset(auth, 0xAA, sizeof(auth));
    /* QE report: identity matching the QE identity JSON, report data binding */
    qerep[48] = 0x11 | (o->qe_debug ? 0x02 : 0);
    unhex(qerep + 128, o->version == 3 ? SGX_QE_MRSIGNER_HEX : TD_QE_MRSIGNER_HEX, 32);
    if (o->qe_other_signer)
        qerep[128] ^= 0x01;
    qerep[256] = (uint8_t)(o->qe_prod_id ? o->qe_prod_id : o->version == 3 ? 1 : 2);
    qerep[258] = (uint8_t)o->qe_isvsvn;
    m = EVP_MD_CTX_new();
    EVP_DigestInit_ex(m, EVP_sha256(), NULL);
    EVP_DigestUpdate(m, xy, 64);
    EVP_DigestUpdate(m, auth, 32);
    EVP_DigestFinal_ex(m, h, NULL);
    EVP_MD_CTX_free(m);
    memcpy(qerep + 320, h, 32);
    if (o->corrupt_binding)
        qerep[321] ^= 1;
    raw_sign(ip.pck_key, EVP_sha256(), qerep, 384, qesig, 32);

    pem_add(&pem, o->pck ? o->pck : ip.pck);
    pem_add(&pem, ip.ca);
    if (o->root_mode == 0) {
        pem_add(&pem, ip.root);
    } else if (o->root_mode == 1) {
        /* the same certificate, one bit of its signature flipped */
        buf d = der_of(ip.root);
        const unsigned char *dp = d.d;
        d.d[d.n - 3] ^= 0x01;
        X509 *bad = d2i_X509(NULL, &dp, (long)d.n);
        if (bad) {
            pem_add(&pem, bad);
            X509_free(bad);
        }
        free(d.d);
    } else if (o->root_mode == 2) {
        /* a root of the same name under another key, self-signed */
        EVP_PKEY *k = ec_key("P-256");
        X509 *other = mk_cert("Test SGX Root CA", k, NULL, k, 1, 1, 0, T_CERT_FROM, T_CERT_TO);
        sign_cert(other, k, 0);
        pem_add(&pem, other);
        X509_free(other);
        EVP_PKEY_free(k);
    }
    buf_add(&pem, "", 1); /* NUL-terminated like the Intel QPL's */

    buf_add(&q, hdr, 48);
    if (o->version == 5) {
        buf_le16(&q, 3);
        buf_le32(&q, (uint32_t)body_len);
    }
    buf_add(&q, body, body_len);
    raw_sign(ip.att_key, EVP_sha256(), q.d, q.n, sig, 32);

    buf_add(&qe, qerep, 384);
    buf_add(&qe, qesig, 64);
    buf_le16(&qe, 32);
    buf_add(&qe, auth, 32);
    buf_le16(&qe, 5);
    buf_le32(&qe, (uint32_t)pem.n);
    buf_add(&qe, pem.d, pem.n);

    if (o->version == 3) {
        buf_le32(&q, (uint32_t)(128 + qe.n));
        buf_add(&q, sig, 64);
        buf_add(&q, xy, 64);
        buf_add(&q, qe.d, qe.n);
    } else {
        buf_le32(&q, (uint32_t)(134 + qe.n));
        buf_add(&q, sig, 64);
        buf_add(&q, xy, 64);
        buf_le16(&q, 6);
        buf_le32(&q, (uint32_t)qe.n);
        buf_add(&q, qe.d, qe.n);
    }
    free(qe.d);
    free(pem.d);
    return q;
}

static const char *iso(long t, char *out)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

static void comps_json(buf *b, const char *name, int svn)
{
    char s[64];
    snprintf(s, sizeof(s), "\"%s\":[", name);
    buf_add(b, s, strlen(s));
    for (int i = 0; i < 16; i++) {
        snprintf(s, sizeof(s), "%s{\"svn\":%d,\"category\":\"x\"}", i ? "," : "", i < 4 ? svn : 0);
        buf_add(b, s, strlen(s));
    }
    buf_add(b, "]", 1);
}

/* TCB info JSON text. Levels: (5,13) UpToDate; (3,11) OutOfDate with two
 * advisories. TDX: tdx comps 2/1, module TDX_03 identity. */
static buf tcb_info_json(int tdx, long issue, long next, const uint8_t fm[6])
{
    buf b = {0};
    char s[1024], i1[32], i2[32], fmh[13];
    const char *zeros96 = "000000000000000000000000000000000000000000000000"
                          "000000000000000000000000000000000000000000000000";
    hex(fmh, fm, 6);
    snprintf(s, sizeof(s),
             "{\"id\":\"%s\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
             "\"fmspc\":\"%s\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,",
             tdx ? "TDX" : "SGX", iso(issue, i1), iso(next, i2), fmh);
    buf_add(&b, s, strlen(s));
    if (tdx) {
        snprintf(s, sizeof(s),
                 "\"tdxModule\":{\"mrsigner\":\"%s\",\"attributes\":\"0000000000000000\","
                 "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},"
                 "\"tdxModuleIdentities\":[{\"id\":\"TDX_03\",\"mrsigner\":\"%s\","
                 "\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
                 "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":3},\"tcbDate\":\"2029-01-01T00:00:00Z\","
                 "\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":0},\"tcbDate\":"
                 "\"2028-01-01T00:00:00Z\",\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":"
                 "[\"INTEL-SA-09003\"]}]}],",
                 zeros96, zeros96);
        buf_add(&b, s, strlen(s));
    }
    buf_add(&b, "\"tcbLevels\":[", 13);
    for (int lv = 0; lv < 2; lv++) {
        buf_add(&b, lv ? ",{\"tcb\":{" : "{\"tcb\":{", lv ? 9 : 8);
        comps_json(&b, "sgxtcbcomponents", lv ? 3 : 5);
        snprintf(s, sizeof(s), ",\"pcesvn\":%d", lv ? 11 : 13);
        buf_add(&b, s, strlen(s));
        if (tdx) {
            buf_add(&b, ",", 1);
            comps_json(&b, "tdxtcbcomponents", lv ? 1 : 2);
        }
        snprintf(s, sizeof(s), "},\"tcbDate\":\"2029-01-01T00:00:00Z\",\"tcbStatus\":\"%s\"%s}",
                 lv ? "OutOfDate" : "UpToDate",
                 lv ? ",\"advisoryIDs\":[\"INTEL-SA-09001\",\"INTEL-SA-09002\"]" : "");
        buf_add(&b, s, strlen(s));
    }
    buf_add(&b, "]}", 2);
    return b;
}

static buf qe_identity_json(int tdx, long issue, long next)
{
    buf b = {0};
    char s[1024], i1[32], i2[32];
    snprintf(s, sizeof(s),
             "{\"id\":\"%s\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
             "\"tcbEvaluationDataNumber\":17,\"miscselect\":\"00000000\",\"miscselectMask\":"
             "\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\",\"attributesMask\":"
             "\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":"
             "\"%s\",\"isvprodid\":%d,"
             "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":8},\"tcbDate\":\"2029-01-01T00:00:00Z\","
             "\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":0},\"tcbDate\":"
             "\"2028-01-01T00:00:00Z\",\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-"
             "09100\"]}]}",
             tdx ? "TD_QE" : "QE", iso(issue, i1), iso(next, i2),
             tdx ? TD_QE_MRSIGNER_HEX : SGX_QE_MRSIGNER_HEX, tdx ? 2 : 1);
    buf_add(&b, s, strlen(s));
    return b;
}

/* PCS response body {"<member>":<json>,"signature":"<hex>"} signed by the
 * TCB signing key over the exact json bytes. */
static buf response(const char *member, const buf *json)
{
    buf b = {0};
    uint8_t sig[64];
    char sh[129], s[64];
    raw_sign(ip.tcb_key, EVP_sha256(), json->d, json->n, sig, 32);
    hex(sh, sig, 64);
    snprintf(s, sizeof(s), "{\"%s\": ", member); /* note the space: exact bytes matter */
    buf_add(&b, s, strlen(s));
    buf_add(&b, json->d, json->n);
    buf_add(&b, ",\"signature\":\"", 14);
    buf_add(&b, sh, 128);
    buf_add(&b, "\"}", 2);
    return b;
}

typedef struct copts {
    int tdx;
    long issue, next;
    long revoke_pck_serial; /* -1 none */
    long crl_next;
    const uint8_t *fm;
    long revoke_root_serial; /* root CRL entry; 0 = none */
} copts;

static seal_collateral *mk_collateral(const copts *o)
{
    buf ti = tcb_info_json(o->tdx, o->issue, o->next, o->fm ? o->fm : fmspc);
    buf qi = qe_identity_json(o->tdx, o->issue, o->next);
    buf tr = response("tcbInfo", &ti), qr = response("enclaveIdentity", &qi);
    buf chain = {0};
    buf pckcrl = mk_crl(ip.ca, ip.ca_key, o->revoke_pck_serial, T0 - 10 * DAY,
                        o->crl_next ? o->crl_next : T0 + 20 * DAY);
    buf rootcrl = mk_crl(ip.root, ip.root_key, o->revoke_root_serial ? o->revoke_root_serial : -1,
                         T0 - 10 * DAY, T0 + 300 * DAY);
    seal_collateral *c = NULL;
    pem_add(&chain, ip.tcb);
    pem_add(&chain, ip.root);
    if (seal_collateral_from_parts(tr.d, tr.n, qr.d, qr.n, chain.d, chain.n, pckcrl.d, pckcrl.n,
                                   rootcrl.d, rootcrl.n, &c) < 0)
        c = NULL;
    free(ti.d);
    free(qi.d);
    free(tr.d);
    free(qr.d);
    free(chain.d);
    free(pckcrl.d);
    free(rootcrl.d);
    return c;
}

static seal_verify_policy test_policy(void)
{
    seal_verify_policy p;
    memset(&p, 0, sizeof(p));
    p.at_set = 1;
    p.at = T0;
    p.pinned_roots = (const uint8_t(*)[32])ip.root_fp;
    p.n_pinned_roots = 1;
    return p;
}

static int verify(const buf *q, const seal_collateral *c, const seal_verify_policy *p,
                  seal_verdict *v)
{
    seal_verify_inputs in;
    memset(&in, 0, sizeof(in));
    in.collateral = c;
    return seal_verify_evidence(q->d, q->n, &in, p, v);
}

static const copts base_copts = {0, T0 - 5 * DAY, T0 + 25 * DAY, -1, 0, NULL, 0};

static void test_sgx_fixture(void)
{
    qopts o = {.version = 3, .qe_isvsvn = 8};
    buf q = mk_quote(&o);
    seal_collateral *c = mk_collateral(&base_copts);
    seal_verify_policy p = test_policy();
    seal_verdict v;
    uint8_t e[32];
    CHECK(c != NULL);
    CHECK_EQ_INT(seal_evidence_detect(q.d, q.n), SEAL_EV_SGX);
    CHECK_EQ_INT(verify(&q, c, &p, &v), 0);
    if (v.reason[0])
        fprintf(stderr, "  reason: %s\n", v.reason);
    CHECK(v.accepted && v.signature_ok && v.collateral_ok);
    CHECK_EQ_INT(v.type, SEAL_EV_SGX);
    CHECK_EQ_INT(v.tcb_status, SEAL_TCB_UP_TO_DATE);
    CHECK_EQ_INT(v.n_advisories, 0);
    memset(e, 0xE1, 32);
    CHECK(memcmp(v.claims.mrenclave, e, 32) == 0);
    memset(e, 0x51, 32);
    CHECK(memcmp(v.claims.mrsigner, e, 32) == 0);
    CHECK_EQ_INT(v.claims.isv_prod_id, 7);
    CHECK_EQ_INT(v.claims.isv_svn, 3);
    CHECK(memcmp(v.claims.report_data, "fixture report data", 19) == 0);
    CHECK(memcmp(v.claims.fmspc, fmspc, 6) == 0);
    /* production defaults (vendor roots) refuse the test root */
    {
        seal_verify_policy prod = p;
        prod.pinned_roots = NULL;
        prod.n_pinned_roots = 0;
        CHECK_EQ_INT(verify(&q, c, &prod, &v), TV_ERR_VERIFY);
        CHECK(strstr(v.reason, "pinned") != NULL);
    }
    /* evaluation time outside the collateral window */
    {
        seal_verify_policy late = p;
        late.at = T0 + 26 * DAY;
        CHECK_EQ_INT(verify(&q, c, &late, &v), TV_ERR_VERIFY);
    }
    /* every byte of header + body and of the signature area is covered */
    for (size_t off = 0; off < q.n - 1; off += 37) {
        q.d[off] ^= 0x10;
        if (verify(&q, c, &p, &v) == 0)
            fprintf(stderr, "  flip at %zu still verifies\n", off);
        CHECK(!v.accepted);
        q.d[off] ^= 0x10;
    }
    seal_collateral_free(c);
    free(q.d);
}

static void test_sgx_fixture_statuses(void)
{
    seal_verify_policy p = test_policy();
    seal_verdict v;
    seal_collateral *c = mk_collateral(&base_copts);
    uint8_t comp[16];
    X509 *saved = ip.pck;
    qopts o = {.version = 3, .qe_isvsvn = 8};
    buf q;

    /* PCK TCB (4,13): only the OutOfDate level matches → advisories */
    memset(comp, 4, 16);
    ip.pck = mk_pck(comp, 13, fmspc, 101);
    q = mk_quote(&o);
    CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
    CHECK(v.signature_ok && v.collateral_ok);
    CHECK_EQ_INT(v.tcb_status, SEAL_TCB_OUT_OF_DATE);
    CHECK_EQ_INT(v.n_advisories, 2);
    CHECK(strcmp(v.advisories[0], "INTEL-SA-09001") == 0);
    CHECK(strcmp(v.advisories[1], "INTEL-SA-09002") == 0);
    p.accepted_statuses = SEAL_TCB_BIT(SEAL_TCB_OUT_OF_DATE);
    CHECK_EQ_INT(verify(&q, c, &p, &v), 0);
    p.accepted_statuses = 0;
    free(q.d);
    X509_free(ip.pck);

    /* PCESVN too low for every level → no match */
    memset(comp, 9, 16);
    ip.pck = mk_pck(comp, 10, fmspc, 102);
    q = mk_quote(&o);
    CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
    CHECK_EQ_INT(v.tcb_status, SEAL_TCB_NO_MATCH);
    p.accepted_statuses = 0xFFFFFFFFu;
    CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
    p.accepted_statuses = 0;
    free(q.d);
    X509_free(ip.pck);

    /* PCK for another FMSPC than the TCB info */
    {
        uint8_t other[6] = {1, 2, 3, 4, 5, 6};
        memset(comp, 5, 16);
        ip.pck = mk_pck(comp, 13, other, 103);
        q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
        CHECK(strstr(v.reason, "FMSPC") != NULL);
        free(q.d);
        X509_free(ip.pck);
    }
    ip.pck = saved;

    /* QE ISVSVN below the UpToDate level: QE OutOfDate converges */
    o.qe_isvsvn = 5;
    q = mk_quote(&o);
    CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
    CHECK_EQ_INT(v.qe_tcb_status, SEAL_TCB_OUT_OF_DATE);
    CHECK_EQ_INT(v.tcb_status, SEAL_TCB_OUT_OF_DATE);
    CHECK_EQ_INT(v.n_advisories, 1);
    free(q.d);
    o.qe_isvsvn = 8;

    /* debug enclave */
    o.debug = 1;
    q = mk_quote(&o);
    CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
    CHECK(v.debug && v.signature_ok);
    p.allow_debug = 1;
    CHECK_EQ_INT(verify(&q, c, &p, &v), 0);
    p.allow_debug = 0;
    free(q.d);
    o.debug = 0;

    /* a debug QE: refused by the known QE identity before the collateral's */
    o.qe_debug = 1;
    q = mk_quote(&o);
    CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
    CHECK(strstr(v.reason, "not from Intel's quoting enclave") != NULL);
    free(q.d);
    o.qe_debug = 0;
    /* a QE signed by someone else, and a quote from a non-Intel QE, both
     * correctly signed */
    o.qe_other_signer = 1;
    q = mk_quote(&o);
    CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
    CHECK(strstr(v.reason, "not from Intel's quoting enclave") != NULL);
    free(q.d);
    o.qe_other_signer = 0;
    o.other_vendor = 1;
    q = mk_quote(&o);
    CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
    CHECK(strstr(v.reason, "vendor") != NULL);
    free(q.d);
    o.other_vendor = 0;

    /* QE report data not binding the attestation key */
    o.corrupt_binding = 1;
    q = mk_quote(&o);
    CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
    CHECK(strstr(v.reason, "bind") != NULL);
    free(q.d);
    o.corrupt_binding = 0;
    seal_collateral_free(c);

    /* revoked PCK certificate; expired PCK CRL */
    {
        copts co = base_copts;
        co.revoke_pck_serial = 100;
        c = mk_collateral(&co);
        q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
        CHECK(strstr(v.reason, "revoked") != NULL);
        seal_collateral_free(c);
        /* root CA CRL revoking the PCK CA, then the TCB signing certificate */
        co.revoke_pck_serial = -1;
        co.revoke_root_serial = 2;
        c = mk_collateral(&co);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
        CHECK(strstr(v.reason, "PCK chain") != NULL && strstr(v.reason, "revoked") != NULL);
        seal_collateral_free(c);
        co.revoke_root_serial = 3;
        c = mk_collateral(&co);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
        CHECK(v.signature_ok && !v.collateral_ok);
        CHECK(strstr(v.reason, "TCB info") != NULL && strstr(v.reason, "revoked") != NULL);
        seal_collateral_free(c);
        co.revoke_root_serial = 0;
        /* TCB info / QE identity past nextUpdate while the CRLs are valid */
        co.revoke_pck_serial = -1;
        co.issue = T0 - 30 * DAY;
        co.next = T0 - DAY;
        c = mk_collateral(&co);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
        CHECK(strstr(v.reason, "collateral is not valid") != NULL);
        seal_collateral_free(c);
        co.issue = T0 + DAY; /* issued in the future */
        co.next = T0 + 30 * DAY;
        c = mk_collateral(&co);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
        seal_collateral_free(c);
        co = base_copts;
        co.crl_next = T0 - DAY;
        c = mk_collateral(&co);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_VERIFY);
        seal_collateral_free(c);
        free(q.d);
    }
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (tv_fx_write(path, p, n, 0644) != 0)
        abort();
}

/* Operator-file layouts: a directory and a dcap-qvl style bundle. */
/* Without collateral the QE is still checked against Intel's known QE
 * identity, and the quote's embedded root must be the pinned root with a
 * valid self-signature (Intel's QVL does both); with collateral too. */
static void test_qe_and_embedded_root(void)
{
    seal_collateral *c = mk_collateral(&base_copts);
    seal_verify_policy p = test_policy();
    seal_verdict v;
    buf q;
    CHECK(c != NULL);
    p.allow_no_collateral = 1;
    for (int version = 3; version <= 4; version++) {
        qopts o = {.version = version, .qe_isvsvn = 8};
        seal_collateral *cc = version == 3 ? c : NULL;
        /* the good quote, without and (SGX) with collateral */
        q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, NULL, &p, &v), 0);
        CHECK(v.signature_ok && v.accepted);
        if (cc) {
            CHECK_EQ_INT(verify(&q, cc, &p, &v), 0);
        }
        free(q.d);
        /* a quote from an enclave that is not Intel's QE (other signer) */
        o.qe_other_signer = 1;
        q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, NULL, &p, &v), TV_ERR_VERIFY);
        CHECK(!v.accepted && !v.signature_ok);
        CHECK(strstr(v.reason, "not from Intel's") != NULL);
        if (cc)
            CHECK_EQ_INT(verify(&q, cc, &p, &v), TV_ERR_VERIFY);
        free(q.d);
        o.qe_other_signer = 0;
        /* Intel's signer, but another of its enclaves (ISVPRODID) */
        o.qe_prod_id = 9;
        q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, NULL, &p, &v), TV_ERR_VERIFY);
        CHECK(strstr(v.reason, "not from Intel's") != NULL);
        free(q.d);
        o.qe_prod_id = 0;
        /* a debug QE, without collateral */
        o.qe_debug = 1;
        q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, NULL, &p, &v), TV_ERR_VERIFY);
        free(q.d);
        o.qe_debug = 0;
        /* the embedded root: corrupted signature, another root, none */
        for (int mode = 1; mode <= 3; mode++) {
            o.root_mode = mode;
            q = mk_quote(&o);
            CHECK_EQ_INT(verify(&q, NULL, &p, &v), TV_ERR_VERIFY);
            CHECK(!v.accepted && !v.signature_ok);
            if (mode != 2)
                CHECK(strstr(v.reason, "root") != NULL);
            if (cc)
                CHECK_EQ_INT(verify(&q, cc, &p, &v), TV_ERR_VERIFY);
            /* even with the pinned root handed in separately */
            {
                seal_verify_inputs in;
                buf r = der_of(ip.root);
                memset(&in, 0, sizeof(in));
                in.root = r.d;
                in.root_len = r.n;
                CHECK_EQ_INT(seal_verify_evidence(q.d, q.n, &in, &p, &v), TV_ERR_VERIFY);
                free(r.d);
            }
            free(q.d);
        }
    }
    seal_collateral_free(c);
}

static void test_collateral_files(void)
{
    char dir[] = "/tmp/tv-coll-XXXXXX";
    qopts o = {.version = 3, .qe_isvsvn = 8};
    buf q = mk_quote(&o);
    buf ti = tcb_info_json(0, base_copts.issue, base_copts.next, fmspc);
    buf qi = qe_identity_json(0, base_copts.issue, base_copts.next);
    buf tr = response("tcbInfo", &ti), qr = response("enclaveIdentity", &qi);
    buf chain = {0}, bundle = {0};
    buf pckcrl = mk_crl(ip.ca, ip.ca_key, -1, T0 - 10 * DAY, T0 + 20 * DAY);
    buf rootcrl = mk_crl(ip.root, ip.root_key, -1, T0 - 10 * DAY, T0 + 300 * DAY);
    seal_collateral *c = NULL;
    seal_verify_policy p = test_policy();
    seal_verdict v;
    char path[4096];

    pem_add(&chain, ip.tcb);
    pem_add(&chain, ip.root);
    CHECK(mkdtemp(dir) != NULL);
    write_file(dir, "tcb_info.json", tr.d, tr.n);
    write_file(dir, "qe_identity.json", qr.d, qr.n);
    write_file(dir, "tcb_signing_chain.pem", chain.d, chain.n);
    write_file(dir, "pck_crl.der", pckcrl.d, pckcrl.n);
    CHECK_EQ_INT(seal_collateral_load(dir, &c), 0);
    CHECK_EQ_INT(verify(&q, c, &p, &v), 0);
    seal_collateral_free(c);
    write_file(dir, "root_crl.der", rootcrl.d, rootcrl.n);
    CHECK_EQ_INT(seal_collateral_load(dir, &c), 0);
    CHECK_EQ_INT(verify(&q, c, &p, &v), 0);
    seal_collateral_free(c);
    /* a missing mandatory file */
    snprintf(path, sizeof(path), "%s/pck_crl.der", dir);
    unlink(path);
    CHECK(seal_collateral_load(dir, &c) < 0);

    /* bundle JSON: tcb_info as a JSON string (escaped), hex signatures and CRLs */
    {
        uint8_t sig[64];
        char sh[129];
        char *crlh = malloc(2 * (pckcrl.n > rootcrl.n ? pckcrl.n : rootcrl.n) + 1);
        buf esc = {0};
        buf_add(&bundle, "{\"tcb_info\":\"", 13);
        for (size_t i = 0; i < ti.n; i++) {
            if (ti.d[i] == '"')
                buf_add(&bundle, "\\\"", 2);
            else
                buf_add(&bundle, ti.d + i, 1);
        }
        raw_sign(ip.tcb_key, EVP_sha256(), ti.d, ti.n, sig, 32);
        hex(sh, sig, 64);
        buf_add(&bundle, "\",\"tcb_info_signature\":\"", 24);
        buf_add(&bundle, sh, 128);
        buf_add(&bundle, "\",\"qe_identity\":\"", 17);
        for (size_t i = 0; i < qi.n; i++) {
            if (qi.d[i] == '"')
                buf_add(&bundle, "\\\"", 2);
            else
                buf_add(&bundle, qi.d + i, 1);
        }
        raw_sign(ip.tcb_key, EVP_sha256(), qi.d, qi.n, sig, 32);
        hex(sh, sig, 64);
        buf_add(&bundle, "\",\"qe_identity_signature\":\"", 27);
        buf_add(&bundle, sh, 128);
        for (size_t i = 0; i < chain.n; i++) {
            if (chain.d[i] == '\n')
                buf_add(&esc, "\\n", 2);
            else
                buf_add(&esc, chain.d + i, 1);
        }
        buf_add(&bundle, "\",\"tcb_info_issuer_chain\":\"", 27);
        buf_add(&bundle, esc.d, esc.n);
        buf_add(&bundle, "\",\"qe_identity_issuer_chain\":\"", 30);
        buf_add(&bundle, esc.d, esc.n);
        hex(crlh, pckcrl.d, pckcrl.n);
        buf_add(&bundle, "\",\"pck_crl\":\"", 13);
        buf_add(&bundle, crlh, 2 * pckcrl.n);
        hex(crlh, rootcrl.d, rootcrl.n);
        buf_add(&bundle, "\",\"root_ca_crl\":\"", 17);
        buf_add(&bundle, crlh, 2 * rootcrl.n);
        buf_add(&bundle, "\"}", 2);
        free(crlh);
        free(esc.d);
    }
    write_file(dir, "bundle.json", bundle.d, bundle.n);
    if (getenv("TV_FIXTURE_DUMP"))
        write_file(getenv("TV_FIXTURE_DUMP"), "collateral_bundle.json", bundle.d, bundle.n);
    snprintf(path, sizeof(path), "%s/bundle.json", dir);
    CHECK_EQ_INT(seal_collateral_load(path, &c), 0);
    CHECK_EQ_INT(verify(&q, c, &p, &v), 0);
    if (v.reason[0])
        fprintf(stderr, "  bundle: %s\n", v.reason);
    seal_collateral_free(c);
    /* the bundle parser refuses a truncated file */
    CHECK(seal_collateral_from_bundle(bundle.d, bundle.n - 2, &c) < 0);

    /* cleanup */
    {
        const char *names[] = {"tcb_info.json", "qe_identity.json", "tcb_signing_chain.pem",
                               "root_crl.der", "bundle.json"};
        for (size_t i = 0; i < 5; i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            unlink(path);
        }
        rmdir(dir);
    }
    free(q.d);
    free(ti.d);
    free(qi.d);
    free(tr.d);
    free(qr.d);
    free(chain.d);
    free(bundle.d);
    free(pckcrl.d);
    free(rootcrl.d);
}

static void test_tdx_fixture(void)
{
    seal_verify_policy p = test_policy();
    seal_verdict v;
    copts co = base_copts;
    seal_collateral *c;
    co.tdx = 1;
    c = mk_collateral(&co);
    CHECK(c != NULL);
    for (int ver = 4; ver <= 5; ver++) {
        qopts o = {.version = ver, .qe_isvsvn = 8, .module_major = 3, .module_minor = 5};
        buf q = mk_quote(&o);
        uint8_t e[48];
        CHECK_EQ_INT(seal_evidence_detect(q.d, q.n), SEAL_EV_TDX);
        CHECK_EQ_INT(verify(&q, c, &p, &v), 0);
        if (v.reason[0])
            fprintf(stderr, "  tdx v%d: %s\n", ver, v.reason);
        CHECK_EQ_INT(v.type, SEAL_EV_TDX);
        CHECK_EQ_INT(v.claims.version, ver);
        CHECK_EQ_INT(v.tcb_status, SEAL_TCB_UP_TO_DATE);
        memset(e, 0x7D, 48);
        CHECK(memcmp(v.claims.mrtd, e, 48) == 0);
        memset(e, 0xA3, 48);
        CHECK(memcmp(v.claims.rtmr[3], e, 48) == 0);
        memset(e, 0x5E, 48);
        CHECK(memcmp(v.claims.mrseam, e, 48) == 0);
        CHECK(memcmp(v.claims.report_data, "fixture td report data", 22) == 0);
        /* an SGX policy does not take a TDX quote */
        {
            seal_verify_inputs in = {0};
            in.type = SEAL_EV_SGX;
            in.collateral = c;
            CHECK(seal_verify_evidence(q.d, q.n, &in, &p, &v) < 0);
        }
        for (size_t off = 0; off < q.n - 1; off += 41) {
            q.d[off] ^= 0x04;
            CHECK(verify(&q, c, &p, &v) != 0);
            q.d[off] ^= 0x04;
        }
        free(q.d);

        /* TDX TCB components below the UpToDate level, at the OutOfDate one */
        o.tdx_comp = 1;
        q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
        CHECK_EQ_INT(v.tcb_status, SEAL_TCB_OUT_OF_DATE);
        CHECK_EQ_INT(v.n_advisories, 2);
        free(q.d);
        o.tdx_comp = 0;

        /* TD attributes: SEPT_VE_DISABLE clear, a reserved bit; service TD */
        {
            const uint64_t attrs[2] = {1ull << 30, (1ull << 28) | (1ull << 5)};
            for (int i = 0; i < 2; i++) {
                o.td_attr = attrs[i];
                q = mk_quote(&o);
                CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
                CHECK(strstr(v.reason, i ? "reserved" : "SEPT_VE_DISABLE") != NULL);
                CHECK_EQ_INT(v.tcb_status, SEAL_TCB_UP_TO_DATE);
                p.tdx_lax_attributes = 1;
                CHECK_EQ_INT(verify(&q, c, &p, &v), 0);
                p.tdx_lax_attributes = 0;
                free(q.d);
            }
            o.td_attr = 0;
            if (ver == 5) {
                o.servicetd = 1;
                q = mk_quote(&o);
                CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
                memset(e, 0x5D, 48);
                CHECK(memcmp(v.claims.mrservicetd, e, 48) == 0);
                free(q.d);
                o.servicetd = 0;
            }
        }

        /* TDX module SVN below the module identity's UpToDate level */
        o.module_minor = 1;
        q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
        CHECK_EQ_INT(v.tcb_status, SEAL_TCB_OUT_OF_DATE);
        CHECK_EQ_INT(v.n_advisories, 1);
        free(q.d);
        /* an unknown TDX module major version */
        o.module_minor = 5;
        o.module_major = 4;
        q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
        CHECK_EQ_INT(v.tcb_status, SEAL_TCB_NO_MATCH);
        free(q.d);
        /* debug TD */
        o.module_major = 3;
        o.debug = 1;
        q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, c, &p, &v), TV_ERR_POLICY);
        CHECK(v.debug);
        CHECK(v.claims.td_attributes & 1);
        free(q.d);
    }
    /* SGX collateral does not serve a TDX quote */
    {
        seal_collateral *sc = mk_collateral(&base_copts);
        qopts o = {.version = 4, .qe_isvsvn = 8, .module_major = 3, .module_minor = 5};
        buf q = mk_quote(&o);
        CHECK_EQ_INT(verify(&q, sc, &p, &v), TV_ERR_VERIFY);
        seal_collateral_free(sc);
        free(q.d);
    }
    seal_collateral_free(c);
}

/* ------------------------------------------------------------------ */
/* AMD-shaped PKI and SNP reports                                       */

typedef struct amd_pki {
    EVP_PKEY *ark_key, *ask_key, *asvk_key, *vcek_key, *vlek_key;
    X509 *ark, *ask, *asvk;
    uint8_t ark_fp[32];
} amd_pki;

static amd_pki ap;
static const uint8_t chip_id[64] = {0xC1, 0xC2, 0xC3};
static const uint8_t snp_tcb[8] = {3, 0, 0, 0, 0, 0, 8, 115}; /* bl, tee, …, snp, ucode */

static X509 *mk_leaf(EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, const uint8_t tcb[8],
                     const uint8_t *hwid, long from, long to)
{
    X509 *x = mk_cert(hwid ? "SEV-VCEK" : "SEV-VLEK", key, issuer, ikey, 10, 0, 1, from, to);
    const char *oids[4] = {"1.3.6.1.4.1.3704.1.3.1", "1.3.6.1.4.1.3704.1.3.2",
                           "1.3.6.1.4.1.3704.1.3.3", "1.3.6.1.4.1.3704.1.3.8"};
    const int idx[4] = {0, 1, 6, 7};
    for (int i = 0; i < 4; i++) {
        buf v = {0};
        der_int(&v, tcb[idx[i]]);
        add_ext_raw(x, oids[i], v.d, v.n);
        free(v.d);
    }
    if (hwid)
        add_ext_raw(x, "1.3.6.1.4.1.3704.1.4", hwid, 64);
    else
        add_ext_raw(x, "1.3.6.1.4.1.3704.1.5", (const uint8_t *)"\x16\x04test", 6);
    sign_cert(x, ikey, 1);
    return x;
}

static void amd_setup(void)
{
    ap.ark_key = EVP_RSA_gen(2048);
    ap.ask_key = EVP_RSA_gen(2048);
    ap.asvk_key = EVP_RSA_gen(2048);
    ap.vcek_key = ec_key("P-384");
    ap.vlek_key = ec_key("P-384");
    if (!ap.ark_key || !ap.ask_key || !ap.asvk_key)
        abort();
    ap.ark = mk_cert("ARK-Test", ap.ark_key, NULL, ap.ark_key, 1, 1, 1, T_CERT_FROM, T_CERT_TO);
    sign_cert(ap.ark, ap.ark_key, 1);
    ap.ask = mk_cert("SEV-Test", ap.ask_key, ap.ark, ap.ark_key, 2, 1, 1, T_CERT_FROM, T_CERT_TO);
    sign_cert(ap.ask, ap.ark_key, 1);
    ap.asvk =
        mk_cert("SEV-VLEK-Test", ap.asvk_key, ap.ark, ap.ark_key, 3, 1, 1, T_CERT_FROM, T_CERT_TO);
    sign_cert(ap.asvk, ap.ark_key, 1);
    fingerprint(ap.ark, ap.ark_fp);
}

static void mk_report(uint8_t rep[0x4A0], int vlek, int debug, EVP_PKEY *key)
{
    uint8_t sig[96];
    memset(rep, 0, 0x4A0);
    put_le32(rep, 3);
    put_le32(rep + 4, 9);                                     /* guest svn */
    put_le64(rep + 8, 0x30000ull | (debug ? 1ull << 19 : 0)); /* policy */
    put_le32(rep + 0x30, vlek ? 1 : 0);                       /* vmpl */
    put_le32(rep + 0x34, 1);
    memcpy(rep + 0x38, snp_tcb, 8);
    put_le32(rep + 0x48, vlek ? 1u << 2 : 0);
    memcpy(rep + 0x50, "snp fixture report data", 23);
    memset(rep + 0x90, 0x3E, 48);
    memset(rep + 0xC0, 0x40, 32);
    memcpy(rep + 0x180, snp_tcb, 8);
    rep[0x188] = 0x19;
    rep[0x189] = 0x01;
    if (!vlek)
        memcpy(rep + 0x1A0, chip_id, 64);
    raw_sign(key, EVP_sha384(), rep, 0x2A0, sig, 48);
    for (int i = 0; i < 48; i++) {
        rep[0x2A0 + i] = sig[47 - i];
        rep[0x2E8 + i] = sig[95 - i];
    }
}

static int snp_verify(const uint8_t *rep, X509 *leaf, X509 *inter, const seal_verify_policy *p,
                      seal_verdict *v)
{
    buf l = der_of(leaf), ch = {0};
    seal_verify_inputs in;
    int r;
    pem_add(&ch, inter);
    pem_add(&ch, ap.ark);
    memset(&in, 0, sizeof(in));
    in.vcek = l.d;
    in.vcek_len = l.n;
    in.chain = ch.d;
    in.chain_len = ch.n;
    r = seal_verify_evidence(rep, 0x4A0, &in, p, v);
    free(l.d);
    free(ch.d);
    return r;
}

static void test_snp_fixture(void)
{
    uint8_t rep[0x4A0], e[48];
    seal_verify_policy p;
    seal_verdict v;
    X509 *vcek = mk_leaf(ap.vcek_key, ap.ask, ap.ask_key, snp_tcb, chip_id, T_CERT_FROM, T_CERT_TO);
    X509 *vlek = mk_leaf(ap.vlek_key, ap.asvk, ap.asvk_key, snp_tcb, NULL, T_CERT_FROM, T_CERT_TO);
    memset(&p, 0, sizeof(p));
    p.at_set = 1;
    p.at = T0;
    p.pinned_roots = (const uint8_t(*)[32])ap.ark_fp;
    p.n_pinned_roots = 1;

    mk_report(rep, 0, 0, ap.vcek_key);
    CHECK_EQ_INT(seal_evidence_detect(rep, sizeof(rep)), SEAL_EV_SNP);
    CHECK_EQ_INT(snp_verify(rep, vcek, ap.ask, &p, &v), 0);
    if (v.reason[0])
        fprintf(stderr, "  snp: %s\n", v.reason);
    CHECK(v.accepted && v.signature_ok && !v.debug);
    CHECK_EQ_INT(v.claims.version, 3);
    CHECK_EQ_INT(v.claims.svn, 9);
    memset(e, 0x3E, 48);
    CHECK(memcmp(v.claims.measurement, e, 48) == 0);
    CHECK(memcmp(v.claims.chip_id, chip_id, 64) == 0);
    CHECK(memcmp(v.claims.report_data, "snp fixture report data", 23) == 0);
    /* production roots refuse the test ARK */
    {
        seal_verify_policy prod = p;
        prod.pinned_roots = NULL;
        CHECK_EQ_INT(snp_verify(rep, vcek, ap.ask, &prod, &v), TV_ERR_VERIFY);
    }
    /* each signed byte matters; the signature too */
    for (size_t off = 0; off < 0x330; off += 29) {
        rep[off] ^= 0x20;
        CHECK(snp_verify(rep, vcek, ap.ask, &p, &v) != 0);
        rep[off] ^= 0x20;
    }
    /* the VLEK chain (ASVK) does not certify a VCEK */
    CHECK_EQ_INT(snp_verify(rep, vcek, ap.asvk, &p, &v), TV_ERR_VERIFY);
    /* debug guest */
    mk_report(rep, 0, 1, ap.vcek_key);
    CHECK_EQ_INT(snp_verify(rep, vcek, ap.ask, &p, &v), TV_ERR_POLICY);
    CHECK(v.debug && v.signature_ok);
    /* VCEK for another chip / another TCB */
    {
        uint8_t other_chip[64] = {0xDD};
        uint8_t other_tcb[8] = {3, 0, 0, 0, 0, 0, 9, 115};
        X509 *x1 =
            mk_leaf(ap.vcek_key, ap.ask, ap.ask_key, snp_tcb, other_chip, T_CERT_FROM, T_CERT_TO);
        X509 *x2 =
            mk_leaf(ap.vcek_key, ap.ask, ap.ask_key, other_tcb, chip_id, T_CERT_FROM, T_CERT_TO);
        X509 *x3 =
            mk_leaf(ap.vcek_key, ap.ask, ap.ask_key, snp_tcb, chip_id, T_CERT_FROM, T0 - DAY);
        mk_report(rep, 0, 0, ap.vcek_key);
        CHECK_EQ_INT(snp_verify(rep, x1, ap.ask, &p, &v), TV_ERR_VERIFY);
        CHECK(strstr(v.reason, "CHIP_ID") != NULL);
        CHECK_EQ_INT(snp_verify(rep, x2, ap.ask, &p, &v), TV_ERR_VERIFY);
        CHECK(strstr(v.reason, "TCB") != NULL);
        CHECK_EQ_INT(snp_verify(rep, x3, ap.ask, &p, &v), TV_ERR_VERIFY);
        CHECK(strstr(v.reason, "expired") != NULL);
        X509_free(x1);
        X509_free(x2);
        X509_free(x3);
    }
    /* report signed by another key than the VCEK */
    mk_report(rep, 0, 0, ap.vlek_key);
    CHECK_EQ_INT(snp_verify(rep, vcek, ap.ask, &p, &v), TV_ERR_VERIFY);
    /* VLEK-signed report through the ASVK */
    mk_report(rep, 1, 0, ap.vlek_key);
    CHECK_EQ_INT(snp_verify(rep, vlek, ap.asvk, &p, &v), 0);
    CHECK_EQ_INT(v.claims.snp_signing_key, 1);
    CHECK_EQ_INT(v.claims.snp_vmpl, 1);
    /* AMD CRL (issued by the ARK, covering the ASK) */
    mk_report(rep, 0, 0, ap.vcek_key);
    {
        buf l = der_of(vcek), ch = {0};
        buf ok = mk_crl(ap.ark, ap.ark_key, -1, T0 - DAY, T0 + DAY);
        buf revoked = mk_crl(ap.ark, ap.ark_key, 2, T0 - DAY, T0 + DAY);
        buf expired = mk_crl(ap.ark, ap.ark_key, -1, T0 - 3 * DAY, T0 - DAY);
        buf wrong = mk_crl(ap.ask, ap.ask_key, -1, T0 - DAY, T0 + DAY);
        seal_verify_inputs in = {0};
        pem_add(&ch, ap.ask);
        pem_add(&ch, ap.ark);
        in.vcek = l.d;
        in.vcek_len = l.n;
        in.chain = ch.d;
        in.chain_len = ch.n;
        in.crl = ok.d;
        in.crl_len = ok.n;
        CHECK_EQ_INT(seal_verify_evidence(rep, sizeof(rep), &in, &p, &v), 0);
        in.crl = revoked.d;
        in.crl_len = revoked.n;
        CHECK_EQ_INT(seal_verify_evidence(rep, sizeof(rep), &in, &p, &v), TV_ERR_VERIFY);
        CHECK(strstr(v.reason, "revoked") != NULL);
        in.crl = expired.d;
        in.crl_len = expired.n;
        CHECK_EQ_INT(seal_verify_evidence(rep, sizeof(rep), &in, &p, &v), TV_ERR_VERIFY);
        in.crl = wrong.d;
        in.crl_len = wrong.n;
        CHECK_EQ_INT(seal_verify_evidence(rep, sizeof(rep), &in, &p, &v), TV_ERR_VERIFY);
        free(l.d);
        free(ch.d);
        free(ok.d);
        free(revoked.d);
        free(expired.d);
        free(wrong.d);
    }
    /* missing VCEK / chain */
    {
        seal_verify_inputs in = {0};
        CHECK_EQ_INT(seal_verify_evidence(rep, sizeof(rep), &in, &p, &v), TV_ERR_VERIFY);
    }
    X509_free(vcek);
    X509_free(vlek);
}

/* Certificate table entry helper: GUID in RFC 4122 byte order. */
static void table_entry(buf *t, const char *guid_hex, uint32_t off, uint32_t len)
{
    uint8_t e[24] = {0};
    for (int i = 0; i < 16; i++) {
        unsigned x;
        sscanf(guid_hex + 2 * i, "%2x", &x);
        e[i] = (uint8_t)x;
    }
    put_le32(e + 16, off);
    put_le32(e + 20, len);
    buf_add(t, e, 24);
}

/* SNP evidence = report ‖ certificate table (VCEK, ASK, ARK as DER). */
static buf snp_with_table(const uint8_t rep[0x4A0], X509 *leaf, int vlek, X509 *ark)
{
    buf ev = {0}, tab = {0};
    buf l = der_of(leaf), a = der_of(ap.ask), k = der_of(ark);
    uint32_t base = 24 * 5; /* 4 entries + terminator */
    table_entry(&tab,
                vlek ? "a8074bc2a25a483eaae639c045a0b8a1" : "63da758de6644564adc5f4b93be8accd",
                base, (uint32_t)l.n);
    table_entry(&tab, "4ab7b379bbac4fe4a02f05aef327c782", base + (uint32_t)l.n, (uint32_t)a.n);
    table_entry(&tab, "c0b406a4a803495297433fb6014cd0ae", base + (uint32_t)(l.n + a.n),
                (uint32_t)k.n);
    table_entry(&tab, "ecae0c0f950243b1afa20ae2e0d565b6", base, 4); /* ignored */
    table_entry(&tab, "00000000000000000000000000000000", 0, 0);
    buf_add(&tab, l.d, l.n);
    buf_add(&tab, a.d, a.n);
    buf_add(&tab, k.d, k.n);
    buf_add(&ev, rep, 0x4A0);
    buf_add(&ev, tab.d, tab.n);
    free(tab.d);
    free(l.d);
    free(a.d);
    free(k.d);
    return ev;
}

static void test_snp_cert_table(void)
{
    uint8_t rep[0x4A0];
    seal_verify_policy p;
    seal_verify_inputs in;
    seal_verdict v;
    seal_snp_certs c;
    X509 *vcek = mk_leaf(ap.vcek_key, ap.ask, ap.ask_key, snp_tcb, chip_id, T_CERT_FROM, T_CERT_TO);
    buf ev;
    memset(&p, 0, sizeof(p));
    memset(&in, 0, sizeof(in));
    p.at_set = 1;
    p.at = T0;
    p.pinned_roots = (const uint8_t(*)[32])ap.ark_fp;
    p.n_pinned_roots = 1;
    mk_report(rep, 0, 0, ap.vcek_key);
    ev = snp_with_table(rep, vcek, 0, ap.ark);
    CHECK_EQ_INT(seal_evidence_detect(ev.d, ev.n), SEAL_EV_SNP);
    CHECK_EQ_INT(seal_snp_cert_table(ev.d + 0x4A0, ev.n - 0x4A0, &c), 0);
    CHECK(c.vcek && c.ask && c.ark && !c.vlek);
    CHECK_EQ_INT(seal_verify_evidence(ev.d, ev.n, &in, &p, &v), 0);
    if (v.reason[0])
        fprintf(stderr, "  table: %s\n", v.reason);
    CHECK(v.accepted && v.signature_ok);
    /* the table's ARK must still be pinned */
    {
        seal_verify_policy prod = p;
        prod.pinned_roots = NULL;
        CHECK_EQ_INT(seal_verify_evidence(ev.d, ev.n, &in, &prod, &v), TV_ERR_VERIFY);
    }
    /* a self-made "ARK" in the table (fingerprint not pinned) is refused */
    {
        EVP_PKEY *k = EVP_RSA_gen(2048);
        X509 *fake = mk_cert("ARK-Test", k, NULL, k, 1, 1, 1, T_CERT_FROM, T_CERT_TO);
        buf ev2;
        sign_cert(fake, k, 1);
        ev2 = snp_with_table(rep, vcek, 0, fake);
        CHECK_EQ_INT(seal_verify_evidence(ev2.d, ev2.n, &in, &p, &v), TV_ERR_VERIFY);
        free(ev2.d);
        X509_free(fake);
        EVP_PKEY_free(k);
    }
    /* malformed tables: unterminated, entry out of bounds, a GUID twice */
    {
        buf bad = {0};
        buf_add(&bad, ev.d, 0x4A0 + 24 * 4); /* entries without terminator */
        CHECK_EQ_INT(seal_evidence_detect(bad.d, bad.n), SEAL_EV_UNKNOWN);
        CHECK_EQ_INT(seal_snp_cert_table(bad.d + 0x4A0, bad.n - 0x4A0, &c), TV_ERR_FORMAT);
        in.type = SEAL_EV_SNP;
        CHECK_EQ_INT(seal_verify_evidence(bad.d, bad.n, &in, &p, &v), TV_ERR_FORMAT);
        in.type = SEAL_EV_UNKNOWN;
        free(bad.d);
        bad.d = NULL;
        bad.n = 0;
        buf_add(&bad, ev.d, ev.n);
        put_le32(bad.d + 0x4A0 + 20, 1u << 20);
        CHECK_EQ_INT(seal_snp_cert_table(bad.d + 0x4A0, bad.n - 0x4A0, &c), TV_ERR_FORMAT);
        memcpy(bad.d + 0x4A0 + 24, bad.d + 0x4A0, 16); /* ASK entry gets the VCEK GUID */
        put_le32(bad.d + 0x4A0 + 20, 4);
        CHECK_EQ_INT(seal_snp_cert_table(bad.d + 0x4A0, bad.n - 0x4A0, &c), TV_ERR_FORMAT);
        free(bad.d);
    }
    /* operator files take precedence over the table */
    {
        X509 *other =
            mk_leaf(ap.vlek_key, ap.ask, ap.ask_key, snp_tcb, chip_id, T_CERT_FROM, T_CERT_TO);
        buf o = der_of(other);
        in.vcek = o.d;
        in.vcek_len = o.n;
        CHECK_EQ_INT(seal_verify_evidence(ev.d, ev.n, &in, &p, &v), TV_ERR_VERIFY);
        free(o.d);
        X509_free(other);
    }
    free(ev.d);
    X509_free(vcek);
}

/* Sim evidence goes through the same entry point (engineer E's format). */
static void test_sim_dispatch(void)
{
    char dir[] = "/tmp/tv-sim-XXXXXX";
    seal_identity id;
    uint8_t rd[64] = "sim report data", pk[32], *ev = NULL;
    size_t n = 0;
    seal_verify_inputs in;
    seal_verify_policy p;
    seal_verdict v;
    char path[4096];
    memset(&id, 0, sizeof(id));
    memset(&in, 0, sizeof(in));
    memset(&p, 0, sizeof(p));
    id.measurement_len = id.signer_len = 32;
    memset(id.measurement, 0x33, 32);
    memset(id.signer, 0x44, 32);
    id.svn = 2;
    CHECK(mkdtemp(dir) != NULL);
    CHECK_EQ_INT(seal_sim_report_produce(dir, &id, rd, &ev, &n), 0);
    CHECK_EQ_INT(seal_sim_platform_pubkey(dir, pk), 0);
    if (!ev)
        return;
    CHECK_EQ_INT(seal_evidence_detect(ev, n), SEAL_EV_SIM);
    in.sim_pk = pk;
    in.sim_pk_len = 32;
    CHECK_EQ_INT(seal_verify_evidence(ev, n, &in, &p, &v), 0);
    CHECK_EQ_INT(v.type, SEAL_EV_SIM);
    CHECK(v.accepted && memcmp(v.claims.report_data, rd, 64) == 0);
    pk[0] ^= 1;
    CHECK_EQ_INT(seal_verify_evidence(ev, n, &in, &p, &v), TV_ERR_VERIFY);
    in.sim_pk = NULL;
    CHECK(seal_verify_evidence(ev, n, &in, &p, &v) < 0);
    free(ev);
    id.debug = 1;
    ev = NULL;
    pk[0] ^= 1;
    in.sim_pk = pk;
    CHECK_EQ_INT(seal_sim_report_produce(dir, &id, rd, &ev, &n), 0);
    CHECK_EQ_INT(seal_verify_evidence(ev, n, &in, &p, &v), TV_ERR_POLICY);
    CHECK(v.debug);
    free(ev);
    snprintf(path, sizeof(path), "%s/sim_platform.key", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/sim_platform.pub", dir);
    unlink(path);
    rmdir(dir);
}

static void test_garbage(void)
{
    uint8_t junk[2000];
    seal_verdict v;
    seal_verify_inputs in = {0};
    seal_verify_policy p = test_policy();
    memset(junk, 0x41, sizeof(junk));
    CHECK_EQ_INT(seal_evidence_detect(junk, sizeof(junk)), SEAL_EV_UNKNOWN);
    CHECK_EQ_INT(seal_verify_evidence(junk, sizeof(junk), &in, &p, &v), TV_ERR_FORMAT);
    CHECK(!v.accepted);
    CHECK_EQ_INT(seal_verify_evidence(junk, 0, &in, &p, &v), TV_ERR_FORMAT);
    in.type = SEAL_EV_SGX;
    CHECK_EQ_INT(seal_verify_evidence(junk, sizeof(junk), &in, &p, &v), TV_ERR_FORMAT);
    in.type = SEAL_EV_SNP;
    CHECK_EQ_INT(seal_verify_evidence(junk, sizeof(junk), &in, &p, &v), TV_ERR_FORMAT);
    /* a truncated quote */
    {
        qopts o = {.version = 3, .qe_isvsvn = 8};
        buf q = mk_quote(&o);
        seal_dcap_quote dq;
        CHECK_EQ_INT(seal_dcap_parse(q.d, q.n, &dq), 0);
        CHECK_EQ_INT(dq.trailing, 0);
        for (size_t n = 0; n < q.n; n += 97)
            CHECK_EQ_INT(seal_dcap_parse(q.d, n, &dq), TV_ERR_FORMAT);
        /* trailing bytes after the signature data are tolerated and reported */
        buf_add(&q, "trailing", 8);
        CHECK_EQ_INT(seal_dcap_parse(q.d, q.n, &dq), 0);
        CHECK_EQ_INT(dq.trailing, 8);
        free(q.d);
    }
}

static void test_time_and_names(void)
{
    time_t t;
    CHECK_EQ_INT(seal_parse_time("2025-06-20T00:00:00Z", 20, &t), 0);
    CHECK_EQ_INT(t, 1750377600);
    CHECK_EQ_INT(seal_parse_time("2025-06-20T02:00:00+02:00", 25, &t), 0);
    CHECK_EQ_INT(t, 1750377600);
    CHECK_EQ_INT(seal_parse_time("2025-06-20T00:00:00.123Z", 24, &t), 0);
    CHECK(seal_parse_time("2025-06-20 00:00:00Z", 20, &t) < 0);
    CHECK(seal_parse_time("2025-13-20T00:00:00Z", 20, &t) < 0);
    CHECK(seal_parse_time("2025-06-20T00:00:00", 19, &t) < 0);
    CHECK_EQ_INT(seal_tcb_status_parse("uptodate"), SEAL_TCB_UP_TO_DATE);
    CHECK_EQ_INT(seal_tcb_status_parse("ConfigurationAndSWHardeningNeeded"),
                 SEAL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    CHECK_EQ_INT(seal_tcb_status_parse("nope"), -1);
    CHECK(strcmp(seal_tcb_status_name(SEAL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED),
                 "OutOfDateConfigurationNeeded") == 0);
    {
        size_t n;
        const uint8_t(*r)[32] = seal_vendor_roots(&n);
        CHECK_EQ_INT(n, 4);
        CHECK(r[0][0] == 0x44 && r[1][0] == 0x69);
    }
}

/* TV_FIXTURE_DUMP=DIR writes fixture evidence there (fuzz seed corpora). */
static void dump_fixtures(const char *d)
{
    uint8_t rep[0x4A0];
    X509 *vcek = mk_leaf(ap.vcek_key, ap.ask, ap.ask_key, snp_tcb, chip_id, T_CERT_FROM, T_CERT_TO);
    buf l = der_of(vcek), snp = {0}, pems = {0};
    for (int ver = 3; ver <= 5; ver++) {
        qopts o = {.version = ver, .qe_isvsvn = 8, .module_major = 3, .module_minor = 5};
        buf q = mk_quote(&o);
        char name[32];
        snprintf(name, sizeof(name), "quote_v%d.bin", ver);
        write_file(d, name, q.d, q.n);
        free(q.d);
    }
    mk_report(rep, 0, 0, ap.vcek_key);
    buf_add(&snp, rep, sizeof(rep));
    buf_add(&snp, l.d, l.n);
    write_file(d, "snp_report_vcek.bin", snp.d, snp.n);
    {
        buf t = snp_with_table(rep, vcek, 0, ap.ark);
        write_file(d, "snp_report_table.bin", t.d, t.n);
        free(t.d);
    }
    write_file(d, "vcek.der", l.d, l.n);
    pem_add(&pems, ip.pck);
    pem_add(&pems, ip.ca);
    write_file(d, "pck_chain.pem", pems.d, pems.n);
    for (int tdx = 0; tdx <= 1; tdx++) {
        buf ti = tcb_info_json(tdx, base_copts.issue, base_copts.next, fmspc);
        buf qi = qe_identity_json(tdx, base_copts.issue, base_copts.next);
        buf tr = response("tcbInfo", &ti), qr = response("enclaveIdentity", &qi);
        write_file(d, tdx ? "tcb_info_tdx.json" : "tcb_info_sgx.json", tr.d, tr.n);
        write_file(d, tdx ? "qe_identity_tdx.json" : "qe_identity_sgx.json", qr.d, qr.n);
        free(ti.d);
        free(qi.d);
        free(tr.d);
        free(qr.d);
    }
    free(l.d);
    free(snp.d);
    free(pems.d);
    X509_free(vcek);
}

int main(void)
{
    intel_setup();
    amd_setup();
    RUN(test_time_and_names);
    RUN(test_sgx_fixture);
    RUN(test_sgx_fixture_statuses);
    RUN(test_qe_and_embedded_root);
    RUN(test_collateral_files);
    RUN(test_tdx_fixture);
    RUN(test_snp_fixture);
    RUN(test_snp_cert_table);
    RUN(test_sim_dispatch);
    RUN(test_garbage);
    if (getenv("TV_FIXTURE_DUMP"))
        dump_fixtures(getenv("TV_FIXTURE_DUMP"));
    return tv_test_finish();
}
