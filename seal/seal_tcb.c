/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_tcb: Intel TCB info (v2/v3) and QE identity (v2) parsing, the PCK
 * certificate's SGX extension, and TCB level matching (FORMATS.md §3 steps
 * 8-11, following Intel QVL: TcbLevelCheck, TdxModuleCheck, convergence).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto_json.h"
#include "seal_verify_int.h"

static const char *const status_names[] = {
    [SEAL_TCB_NOT_EVALUATED] = "NotEvaluated",
    [SEAL_TCB_UP_TO_DATE] = "UpToDate",
    [SEAL_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
    [SEAL_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
    [SEAL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
    [SEAL_TCB_OUT_OF_DATE] = "OutOfDate",
    [SEAL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
    [SEAL_TCB_REVOKED] = "Revoked",
    [SEAL_TCB_NO_MATCH] = "NoMatch",
};

const char *seal_tcb_status_name(enum seal_tcb_status s)
{
    if ((unsigned)s < sizeof(status_names) / sizeof(status_names[0]))
        return status_names[s];
    return "Unknown";
}

int seal_tcb_status_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (strcasecmp(name, status_names[i]) == 0)
            return (int)i;
    }
    return -1;
}

static int json_status(const proto_json *d, int idx, enum seal_tcb_status *out)
{
    char buf[48];
    int s;
    if (proto_json_string(d, idx, buf, sizeof(buf), NULL) < 0)
        return TV_ERR_FORMAT;
    s = seal_tcb_status_parse(buf);
    if (s <= SEAL_TCB_NOT_EVALUATED || s >= SEAL_TCB_NO_MATCH)
        return TV_ERR_FORMAT;
    *out = (enum seal_tcb_status)s;
    return 0;
}

static int json_time(const proto_json *d, int idx, time_t *out)
{
    char buf[40];
    size_t n;
    if (proto_json_string(d, idx, buf, sizeof(buf), &n) < 0)
        return TV_ERR_FORMAT;
    return seal_parse_time(buf, n, out) < 0 ? TV_ERR_FORMAT : 0;
}

static int json_u(const proto_json *d, int idx, int64_t max, int64_t *out)
{
    int64_t v;
    if (proto_json_int(d, idx, &v) < 0 || v < 0 || v > max)
        return TV_ERR_FORMAT;
    *out = v;
    return 0;
}

/* Common level fields: tcbStatus and advisoryIDs. */
static int parse_level_common(const proto_json *d, int lv, seal_tcb_level *L)
{
    int adv;
    if (json_status(d, proto_json_get(d, lv, "tcbStatus"), &L->status) < 0)
        return TV_ERR_FORMAT;
    adv = proto_json_get(d, lv, "advisoryIDs");
    if (adv == PROTO_JSON_NONE)
        return 0;
    if (proto_json_type_of(d, adv) != PROTO_JSON_ARRAY)
        return TV_ERR_FORMAT;
    for (int a = proto_json_first(d, adv); a != PROTO_JSON_NONE; a = proto_json_next(d, a)) {
        if (L->n_adv >= SEAL_MAX_ADVISORIES)
            return TV_ERR_FORMAT;
        if (proto_json_string(d, a, L->adv[L->n_adv], SEAL_ADVISORY_LEN, NULL) < 0)
            return TV_ERR_FORMAT;
        L->n_adv++;
    }
    return 0;
}

/* Array of 16 {"svn":N,…} objects. */
static int parse_components(const proto_json *d, int arr, uint8_t out[16])
{
    int i = 0;
    int64_t v;
    if (proto_json_type_of(d, arr) != PROTO_JSON_ARRAY || proto_json_node_at(d, arr)->count != 16)
        return TV_ERR_FORMAT;
    for (int c = proto_json_first(d, arr); c != PROTO_JSON_NONE; c = proto_json_next(d, c), i++) {
        if (json_u(d, proto_json_get(d, c, "svn"), 255, &v) < 0)
            return TV_ERR_FORMAT;
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* "isvsvn"-only levels (QE identity, TDX module identities). */
static int parse_isv_levels(const proto_json *d, int arr, seal_tcb_level *levels, size_t max,
                            size_t *n_out)
{
    size_t n = 0;
    int64_t v;
    if (proto_json_type_of(d, arr) != PROTO_JSON_ARRAY)
        return TV_ERR_FORMAT;
    for (int lv = proto_json_first(d, arr); lv != PROTO_JSON_NONE; lv = proto_json_next(d, lv)) {
        seal_tcb_level *L;
        if (n >= max)
            return TV_ERR_FORMAT;
        L = &levels[n];
        memset(L, 0, sizeof(*L));
        if (json_u(d, proto_json_get(d, proto_json_get(d, lv, "tcb"), "isvsvn"), 65535, &v) < 0)
            return TV_ERR_FORMAT;
        L->pcesvn = (uint32_t)v;
        if (parse_level_common(d, lv, L) < 0)
            return TV_ERR_FORMAT;
        n++;
    }
    *n_out = n;
    return 0;
}

int seal_tcb_info_parse(const uint8_t *json, size_t len, seal_tcb_info *out)
{
    int r = TV_ERR_FORMAT;
    proto_json *d = NULL;
    seal_tcb_info *ti = out;
    int levels, mod, mods;
    int64_t v;

    memset(ti, 0, sizeof(*ti));
    if ((r = proto_json_parse(json, len, 0, &d)) < 0)
        return r == TV_ERR_NOMEM ? r : TV_ERR_FORMAT;
    r = TV_ERR_FORMAT;
    if (proto_json_string_eq(d, proto_json_get(d, 0, "id"), "TDX"))
        ti->is_tdx = 1;
    else if (!proto_json_string_eq(d, proto_json_get(d, 0, "id"), "SGX"))
        goto out;
    if (json_u(d, proto_json_get(d, 0, "version"), 100, &v) < 0 || v != 3)
        goto out; /* v2 (sgxtcbcompNNsvn keys) is not supported */
    ti->version = (int)v;
    if (json_time(d, proto_json_get(d, 0, "issueDate"), &ti->issue_date) < 0 ||
        json_time(d, proto_json_get(d, 0, "nextUpdate"), &ti->next_update) < 0 ||
        proto_json_hex(d, proto_json_get(d, 0, "fmspc"), ti->fmspc, 6) < 0 ||
        proto_json_hex(d, proto_json_get(d, 0, "pceId"), ti->pce_id, 2) < 0)
        goto out;
    mod = proto_json_get(d, 0, "tdxModule");
    if (mod != PROTO_JSON_NONE) {
        if (proto_json_hex(d, proto_json_get(d, mod, "mrsigner"), ti->module_mrsigner, 48) < 0 ||
            proto_json_hex(d, proto_json_get(d, mod, "attributes"), ti->module_attributes, 8) < 0 ||
            proto_json_hex(d, proto_json_get(d, mod, "attributesMask"), ti->module_attributes_mask,
                           8) < 0)
            goto out;
        ti->has_module = 1;
    }
    mods = proto_json_get(d, 0, "tdxModuleIdentities");
    if (mods != PROTO_JSON_NONE) {
        if (proto_json_type_of(d, mods) != PROTO_JSON_ARRAY)
            goto out;
        for (int m = proto_json_first(d, mods); m != PROTO_JSON_NONE; m = proto_json_next(d, m)) {
            seal_tdx_module_id *M;
            if (ti->n_modules >= SEAL_TCB_MAX_MODULES)
                goto out;
            M = &ti->modules[ti->n_modules];
            if (proto_json_string(d, proto_json_get(d, m, "id"), M->id, sizeof(M->id), NULL) < 0 ||
                proto_json_hex(d, proto_json_get(d, m, "mrsigner"), M->mrsigner, 48) < 0 ||
                proto_json_hex(d, proto_json_get(d, m, "attributes"), M->attributes, 8) < 0 ||
                proto_json_hex(d, proto_json_get(d, m, "attributesMask"), M->attributes_mask, 8) <
                    0 ||
                parse_isv_levels(d, proto_json_get(d, m, "tcbLevels"), M->levels, 16,
                                 &M->n_levels) < 0)
                goto out;
            ti->n_modules++;
        }
    }
    levels = proto_json_get(d, 0, "tcbLevels");
    if (proto_json_type_of(d, levels) != PROTO_JSON_ARRAY)
        goto out;
    for (int lv = proto_json_first(d, levels); lv != PROTO_JSON_NONE; lv = proto_json_next(d, lv)) {
        seal_tcb_level *L;
        int tcb = proto_json_get(d, lv, "tcb");
        if (ti->n_levels >= SEAL_TCB_MAX_LEVELS)
            goto out;
        L = &ti->levels[ti->n_levels];
        memset(L, 0, sizeof(*L));
        if (parse_components(d, proto_json_get(d, tcb, "sgxtcbcomponents"), L->sgx) < 0 ||
            json_u(d, proto_json_get(d, tcb, "pcesvn"), 65535, &v) < 0)
            goto out;
        L->pcesvn = (uint32_t)v;
        if (ti->is_tdx) {
            if (parse_components(d, proto_json_get(d, tcb, "tdxtcbcomponents"), L->tdx) < 0)
                goto out;
            L->has_tdx = 1;
        }
        if (parse_level_common(d, lv, L) < 0)
            goto out;
        ti->n_levels++;
    }
    r = 0;
out:
    proto_json_free(d);
    return r;
}

int seal_qe_identity_parse(const uint8_t *json, size_t len, seal_qe_identity *out)
{
    int r = TV_ERR_FORMAT;
    proto_json *d = NULL;
    int64_t v;

    memset(out, 0, sizeof(*out));
    if ((r = proto_json_parse(json, len, 0, &d)) < 0)
        return r == TV_ERR_NOMEM ? r : TV_ERR_FORMAT;
    r = TV_ERR_FORMAT;
    if (proto_json_string_eq(d, proto_json_get(d, 0, "id"), "TD_QE"))
        out->is_td_qe = 1;
    else if (!proto_json_string_eq(d, proto_json_get(d, 0, "id"), "QE"))
        goto out;
    if (json_u(d, proto_json_get(d, 0, "version"), 100, &v) < 0 || (v != 2 && v != 3))
        goto out;
    out->version = (int)v;
    if (json_time(d, proto_json_get(d, 0, "issueDate"), &out->issue_date) < 0 ||
        json_time(d, proto_json_get(d, 0, "nextUpdate"), &out->next_update) < 0 ||
        proto_json_hex(d, proto_json_get(d, 0, "miscselect"), out->miscselect, 4) < 0 ||
        proto_json_hex(d, proto_json_get(d, 0, "miscselectMask"), out->miscselect_mask, 4) < 0 ||
        proto_json_hex(d, proto_json_get(d, 0, "attributes"), out->attributes, 16) < 0 ||
        proto_json_hex(d, proto_json_get(d, 0, "attributesMask"), out->attributes_mask, 16) < 0 ||
        proto_json_hex(d, proto_json_get(d, 0, "mrsigner"), out->mrsigner, 32) < 0 ||
        json_u(d, proto_json_get(d, 0, "isvprodid"), 65535, &v) < 0)
        goto out;
    out->isv_prod_id = (uint16_t)v;
    if (parse_isv_levels(d, proto_json_get(d, 0, "tcbLevels"), out->levels,
                         sizeof(out->levels) / sizeof(out->levels[0]), &out->n_levels) < 0)
        goto out;
    r = 0;
out:
    proto_json_free(d);
    return r;
}

const seal_tcb_level *seal_qe_level(const seal_qe_identity *qi, uint16_t isvsvn)
{
    for (size_t i = 0; i < qi->n_levels; i++) {
        if (isvsvn >= qi->levels[i].pcesvn)
            return &qi->levels[i];
    }
    return NULL;
}

/* DER encoding of OID 1.2.840.113741.1.13.1 (Intel SGX extensions). */
static const uint8_t sgx_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

static int oid_is(const uint8_t *o, size_t n, const uint8_t *suffix, size_t sn)
{
    return n == sizeof(sgx_oid) + sn && memcmp(o, sgx_oid, sizeof(sgx_oid)) == 0 &&
           memcmp(o + sizeof(sgx_oid), suffix, sn) == 0;
}

int seal_pck_extensions(X509 *pck, seal_pck_tcb *out)
{
    const uint8_t *p, *seq, *item, *oid, *val;
    size_t n, seqn, itemn, oidn, valn;
    uint8_t tag;
    seal_pck_tcb t;
    unsigned have = 0;

    memset(&t, 0, sizeof(t));
    if (seal_x509_ext(pck, "1.2.840.113741.1.13.1", &p, &n) < 0)
        return TV_ERR_VERIFY;
    if (seal_der_next(&p, &n, &tag, &seq, &seqn) < 0 || tag != 0x30)
        return TV_ERR_VERIFY;
    while (seqn > 0) {
        if (seal_der_next(&seq, &seqn, &tag, &item, &itemn) < 0 || tag != 0x30 ||
            seal_der_next(&item, &itemn, &tag, &oid, &oidn) < 0 || tag != 0x06 ||
            seal_der_next(&item, &itemn, &tag, &val, &valn) < 0)
            return TV_ERR_VERIFY;
        if (oid_is(oid, oidn, (const uint8_t *)"\x02", 1)) { /* TCB */
            const uint8_t *tp = val, *ti, *to, *tv;
            size_t tn = valn, tin, ton, tvn;
            uint8_t tt;
            if (tag != 0x30)
                return TV_ERR_VERIFY;
            while (tn > 0) {
                uint64_t x;
                if (seal_der_next(&tp, &tn, &tt, &ti, &tin) < 0 || tt != 0x30 ||
                    seal_der_next(&ti, &tin, &tt, &to, &ton) < 0 || tt != 0x06 ||
                    seal_der_next(&ti, &tin, &tt, &tv, &tvn) < 0)
                    return TV_ERR_VERIFY;
                if (ton != sizeof(sgx_oid) + 2 || !oid_is(to, ton - 1, (const uint8_t *)"\x02", 1))
                    continue;
                uint8_t k = to[ton - 1];
                if (k >= 1 && k <= 17) {
                    if (tt != 0x02 || seal_der_uint(tv, tvn, &x) < 0)
                        return TV_ERR_VERIFY;
                    if (k <= 16) {
                        if (x > 255)
                            return TV_ERR_VERIFY;
                        t.comp[k - 1] = (uint8_t)x;
                        have |= 1u << (k - 1);
                    } else {
                        if (x > 65535)
                            return TV_ERR_VERIFY;
                        t.pcesvn = (uint32_t)x;
                        have |= 1u << 16;
                    }
                }
            }
        } else if (oid_is(oid, oidn, (const uint8_t *)"\x03", 1)) { /* PCE-ID */
            if (tag != 0x04 || valn != 2)
                return TV_ERR_VERIFY;
            memcpy(t.pce_id, val, 2);
            have |= 1u << 17;
        } else if (oid_is(oid, oidn, (const uint8_t *)"\x04", 1)) { /* FMSPC */
            if (tag != 0x04 || valn != 6)
                return TV_ERR_VERIFY;
            memcpy(t.fmspc, val, 6);
            have |= 1u << 18;
        }
    }
    if (have != 0x7FFFFu)
        return TV_ERR_VERIFY;
    *out = t;
    return 0;
}

static void add_advisories(seal_verdict *v, const seal_tcb_level *L)
{
    for (size_t i = 0; L && i < L->n_adv; i++) {
        int dup = 0;
        for (size_t j = 0; j < v->n_advisories; j++)
            dup |= strcmp(v->advisories[j], L->adv[i]) == 0;
        if (!dup && v->n_advisories < SEAL_MAX_ADVISORIES)
            memcpy(v->advisories[v->n_advisories++], L->adv[i], SEAL_ADVISORY_LEN);
    }
}

/* QVL convergence of a platform status with an "OutOfDate"/"Revoked"
 * component status (TDX module, QE). */
static enum seal_tcb_status converge(enum seal_tcb_status plat, enum seal_tcb_status other)
{
    if (other == SEAL_TCB_NO_MATCH)
        return SEAL_TCB_NO_MATCH;
    if (other == SEAL_TCB_REVOKED)
        return SEAL_TCB_REVOKED;
    if (other == SEAL_TCB_OUT_OF_DATE) {
        if (plat == SEAL_TCB_UP_TO_DATE || plat == SEAL_TCB_SW_HARDENING_NEEDED)
            return SEAL_TCB_OUT_OF_DATE;
        if (plat == SEAL_TCB_CONFIGURATION_NEEDED ||
            plat == SEAL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
            return SEAL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    return plat;
}

void seal_tcb_evaluate(const seal_tcb_info *ti, const seal_pck_tcb *pck, const uint8_t *tee_tcb_svn,
                       const seal_tcb_level *qe_level, seal_verdict *v)
{
    const seal_tcb_level *match = NULL;
    enum seal_tcb_status st;

    for (size_t i = 0; i < ti->n_levels && !match; i++) {
        const seal_tcb_level *L = &ti->levels[i];
        int ok = pck->pcesvn >= L->pcesvn;
        for (int c = 0; c < 16 && ok; c++)
            ok = pck->comp[c] >= L->sgx[c];
        if (!ok)
            continue;
        if (tee_tcb_svn) {
            int start = tee_tcb_svn[1] > 0 ? 2 : 0;
            if (!L->has_tdx)
                continue;
            for (int c = start; c < 16 && ok; c++)
                ok = tee_tcb_svn[c] >= L->tdx[c];
            if (!ok)
                continue;
        }
        match = L;
    }
    if (!match) {
        v->tcb_status = SEAL_TCB_NO_MATCH;
        return;
    }
    st = match->status;
    add_advisories(v, match);

    if (tee_tcb_svn && tee_tcb_svn[1] > 0) {
        char id[16];
        const seal_tdx_module_id *M = NULL;
        const seal_tcb_level *ml = NULL;
        snprintf(id, sizeof(id), "TDX_%02X", tee_tcb_svn[1]);
        for (size_t i = 0; i < ti->n_modules; i++) {
            if (strcasecmp(ti->modules[i].id, id) == 0)
                M = &ti->modules[i];
        }
        if (!M) {
            v->tcb_status = SEAL_TCB_NO_MATCH;
            seal_verdict_fail(v, "TDX module %s is not in the TCB info", id);
            return;
        }
        for (size_t i = 0; i < M->n_levels && !ml; i++) {
            if (tee_tcb_svn[0] >= M->levels[i].pcesvn)
                ml = &M->levels[i];
        }
        if (!ml) {
            v->tcb_status = SEAL_TCB_NO_MATCH;
            return;
        }
        add_advisories(v, ml);
        st = converge(st, ml->status);
    }
    if (!qe_level) {
        v->tcb_status = SEAL_TCB_NO_MATCH;
        seal_verdict_fail(v, "QE identity: no TCB level matches the QE ISVSVN");
        return;
    }
    add_advisories(v, qe_level);
    st = converge(st, qe_level->status);
    v->tcb_status = st;
}
