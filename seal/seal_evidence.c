/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_evidence: evidence type detection, dispatch to the per-type verifiers
 * and the verification policy (debug, accepted TCB statuses, evaluation time,
 * pinned roots).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "seal_sim_report.h"
#include "seal_verify_int.h"

/* Vendor root CA fingerprints: SHA-256 over the DER certificate. */
static const uint8_t vendor_roots[4][32] = {
    /* Intel SGX Root CA (CN=Intel SGX Root CA, 2018-05-21..2049-12-31) */
    {0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49,
     0xe9, 0x5b, 0x80, 0x7a, 0x35, 0x0e, 0x74, 0x24, 0x96, 0x43, 0x99,
     0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3},
    /* AMD ARK-Milan (CN=ARK-Milan, 2020-10-22..2045-10-22) */
    {0x69, 0xd0, 0x63, 0xb4, 0x53, 0x44, 0xd2, 0x6a, 0x2e, 0x94, 0xe1,
     0xf4, 0x21, 0x0d, 0xe4, 0x9e, 0xf5, 0x55, 0x30, 0x82, 0x87, 0xd4,
     0xc1, 0x74, 0x44, 0x5c, 0x95, 0x63, 0x9a, 0x54, 0x0b, 0xcd},
    /* AMD ARK-Genoa (CN=ARK-Genoa, 2022-01-26..2047-01-26) */
    {0x4c, 0x65, 0x98, 0xd1, 0x9c, 0x18, 0x71, 0x9c, 0x5d, 0xfd, 0x4a,
     0x7d, 0x33, 0x5f, 0x67, 0x4e, 0x5b, 0xfe, 0x1d, 0x8f, 0x80, 0x0c,
     0xea, 0x2c, 0xf2, 0x70, 0xc1, 0x0d, 0x10, 0x3d, 0xb2, 0xf1},
    /* AMD ARK-Turin (CN=ARK-Turin; fingerprint from FORMATS.md §4, no test vector here) */
    {0x1f, 0x08, 0x41, 0x61, 0xa4, 0x4b, 0xb6, 0xd9, 0x37, 0x78, 0xa9,
     0x04, 0x87, 0x7d, 0x48, 0x19, 0xca, 0xfa, 0x5d, 0x05, 0xef, 0x41,
     0x93, 0xb2, 0xde, 0xd9, 0xdd, 0x9c, 0x73, 0xdd, 0x3f, 0x6a},
};

const uint8_t (*seal_vendor_roots(size_t *n))[32]
{
    *n = sizeof(vendor_roots) / sizeof(vendor_roots[0]);
    return vendor_roots;
}

const char *seal_ev_type_name(enum seal_ev_type t)
{
    switch (t) {
    case SEAL_EV_SIM:
        return "sim";
    case SEAL_EV_SGX:
        return "sgx";
    case SEAL_EV_TDX:
        return "tdx";
    case SEAL_EV_SNP:
        return "snp";
    default:
        return "unknown";
    }
}

enum seal_ev_type seal_evidence_detect(const uint8_t *ev, size_t len)
{
    if (!ev)
        return SEAL_EV_UNKNOWN;
    if (len == SEAL_SIM_REPORT_LEN && memcmp(ev, "TVSIMRPT", 8) == 0)
        return SEAL_EV_SIM;
    if (len >= SEAL_SNP_REPORT_LEN) {
        uint32_t v = seal_le32(ev);
        seal_snp_certs t;
        if ((v == 2 || v == 3 || v == 5) && seal_le32(ev + 0x34) == 1 &&
            (len == SEAL_SNP_REPORT_LEN ||
             seal_snp_cert_table(ev + SEAL_SNP_REPORT_LEN, len - SEAL_SNP_REPORT_LEN, &t) == 0))
            return SEAL_EV_SNP;
    }
    if (len >= 48 && seal_le16(ev + 2) == 2) {
        uint16_t v = seal_le16(ev);
        uint32_t tee = seal_le32(ev + 4);
        if (v == 3 && tee == 0)
            return SEAL_EV_SGX;
        if ((v == 4 || v == 5) && tee == 0x81)
            return SEAL_EV_TDX;
        if ((v == 4 || v == 5) && tee == 0)
            return SEAL_EV_SGX;
    }
    return SEAL_EV_UNKNOWN;
}

static int digits(const char *s, size_t n, size_t off, size_t k, int *out)
{
    int v = 0;
    if (n < off + k)
        return -1;
    for (size_t i = 0; i < k; i++) {
        if (!isdigit((unsigned char)s[off + i]))
            return -1;
        v = v * 10 + (s[off + i] - '0');
    }
    *out = v;
    return 0;
}

int seal_parse_time(const char *s, size_t n, time_t *out)
{
    struct tm tm;
    int Y, M, D, h, m, sec, oh = 0, om = 0;
    size_t p = 19;
    long off = 0;
    time_t t;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (!s || digits(s, n, 0, 4, &Y) < 0 || n < 19 || s[4] != '-' || digits(s, n, 5, 2, &M) < 0 ||
        s[7] != '-' || digits(s, n, 8, 2, &D) < 0 || (s[10] != 'T' && s[10] != 't') ||
        digits(s, n, 11, 2, &h) < 0 || s[13] != ':' || digits(s, n, 14, 2, &m) < 0 ||
        s[16] != ':' || digits(s, n, 17, 2, &sec) < 0)
        return TV_ERR_INVALID;
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60)
        return TV_ERR_INVALID;
    if (p < n && s[p] == '.') {
        p++;
        if (p >= n || !isdigit((unsigned char)s[p]))
            return TV_ERR_INVALID;
        while (p < n && isdigit((unsigned char)s[p]))
            p++;
    }
    if (p < n && (s[p] == 'Z' || s[p] == 'z')) {
        p++;
    } else if (p < n && (s[p] == '+' || s[p] == '-')) {
        if (digits(s, n, p + 1, 2, &oh) < 0 || n < p + 6 || s[p + 3] != ':' ||
            digits(s, n, p + 4, 2, &om) < 0 || oh > 23 || om > 59)
            return TV_ERR_INVALID;
        off = (oh * 60L + om) * 60L * (s[p] == '+' ? 1 : -1);
        p += 6;
    } else {
        return TV_ERR_INVALID;
    }
    if (p != n)
        return TV_ERR_INVALID;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec > 59 ? 59 : sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return TV_ERR_INVALID;
    *out = t - off;
    return 0;
}

static int apply_policy(const seal_verify_policy *pol, seal_verdict *v)
{
    uint32_t accepted =
        pol && pol->accepted_statuses ? pol->accepted_statuses : SEAL_TCB_BIT(SEAL_TCB_UP_TO_DATE);
    if (v->debug && !(pol && pol->allow_debug)) {
        seal_verdict_fail(v, "debug %s refused by policy",
                          v->type == SEAL_EV_SGX   ? "enclave"
                          : v->type == SEAL_EV_TDX ? "TD"
                                                   : "guest");
        return TV_ERR_POLICY;
    }
    if (v->type == SEAL_EV_SGX || v->type == SEAL_EV_TDX) {
        if (v->tcb_status == SEAL_TCB_NOT_EVALUATED) {
            if (!(pol && pol->allow_no_collateral)) {
                seal_verdict_fail(v, "no collateral: TCB status not evaluated");
                return TV_ERR_POLICY;
            }
        } else if (v->tcb_status == SEAL_TCB_NO_MATCH) {
            seal_verdict_fail(v, "no TCB level matches the platform");
            return TV_ERR_POLICY;
        } else if (v->tcb_status == SEAL_TCB_REVOKED) {
            seal_verdict_fail(v, "platform TCB is revoked");
            return TV_ERR_POLICY;
        } else if (!(accepted & SEAL_TCB_BIT(v->tcb_status))) {
            seal_verdict_fail(v, "TCB status %s not accepted by policy",
                              seal_tcb_status_name(v->tcb_status));
            return TV_ERR_POLICY;
        }
    }
    if (v->type == SEAL_EV_TDX && !(pol && pol->tdx_lax_attributes)) {
        /* allowed: DEBUG (bit 0, checked above), SEPT_VE_DISABLE (28), PKS (30),
         * KL (31), PERFMON (63); everything else is reserved */
        const uint64_t known = 1ull | 1ull << 28 | 1ull << 30 | 1ull << 31 | 1ull << 63;
        uint8_t acc = 0;
        for (int i = 0; i < 48; i++)
            acc |= v->claims.mrservicetd[i];
        if (v->claims.td_attributes & ~known) {
            seal_verdict_fail(v, "TD attributes have reserved bits set");
            return TV_ERR_POLICY;
        }
        if (!(v->claims.td_attributes & 1ull << 28)) {
            seal_verdict_fail(v, "TD runs without SEPT_VE_DISABLE");
            return TV_ERR_POLICY;
        }
        if (acc) {
            seal_verdict_fail(v, "TD has a service TD bound (MRSERVICETD is not zero)");
            return TV_ERR_POLICY;
        }
    }
    return 0;
}

int seal_verify_evidence(const uint8_t *ev, size_t len, const seal_verify_inputs *in,
                         const seal_verify_policy *policy, seal_verdict *out)
{
    int r;
    enum seal_ev_type t;
    time_t now;

    if (!out)
        return TV_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (!ev || len == 0) {
        seal_verdict_fail(out, "empty evidence");
        return TV_ERR_FORMAT;
    }
    t = in && in->type != SEAL_EV_UNKNOWN ? in->type : seal_evidence_detect(ev, len);
    now = policy && policy->at_set ? policy->at : time(NULL);
    switch (t) {
    case SEAL_EV_SIM:
        return seal_sim_verify_verdict(ev, len, in ? in->sim_pk : NULL, in ? in->sim_pk_len : 0,
                                       policy, out);
    case SEAL_EV_SGX:
    case SEAL_EV_TDX:
        r = seal_verify_dcap(ev, len, in, policy, now, out);
        break;
    case SEAL_EV_SNP:
        r = seal_verify_snp(ev, len, in, policy, now, out);
        break;
    default:
        seal_verdict_fail(out, "unknown evidence format");
        return TV_ERR_FORMAT;
    }
    if (r < 0)
        return r;
    if ((r = apply_policy(policy, out)) < 0)
        return r;
    out->accepted = 1;
    return 0;
}
