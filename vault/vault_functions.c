/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_functions: function identities and their identity policies.
 * Format and contract: vault_functions.h.
 */
#include "vault_functions.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto_json.h"
#include "vault_acl.h"
#include "vault_auth.h"
#include "vault_db.h"
#include "vault_record.h"

#define FN_FORMAT 1

static void setf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void setf(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    if (!dst || !n)
        return;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

int vault_fn_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > VAULT_FN_NAME_MAX || name[0] == '.' || name[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* Decode a hex string member into out; *n gets the length. Lengths allowed:
 * exactly want (want != 0) or 1..max. */
static int hex_member(const proto_json *doc, int idx, const char *key, uint8_t *out, size_t max,
                      size_t want, size_t *n, char *err, size_t errlen)
{
    char buf[2 * 64 + 1];
    size_t slen = 0, bl = 0;

    if (proto_json_type_of(doc, idx) != PROTO_JSON_STRING ||
        proto_json_string(doc, idx, buf, sizeof buf, &slen) < 0 || slen == 0 || slen % 2 ||
        slen / 2 > max || (want && slen / 2 != want) ||
        sodium_hex2bin(out, max, buf, slen, NULL, &bl, NULL) != 0 || bl != slen / 2) {
        if (want)
            setf(err, errlen, "\"%s\" must be %zu bytes as hex", key, want);
        else
            setf(err, errlen, "\"%s\" must be 1-%zu bytes as hex", key, max);
        return TV_ERR_INVALID;
    }
    *n = bl;
    return 0;
}

static int type_from_name(const proto_json *doc, int idx, enum seal_ev_type *t)
{
    static const struct {
        const char *n;
        enum seal_ev_type t;
    } m[] = {
        {"sim", SEAL_EV_SIM}, {"sgx", SEAL_EV_SGX}, {"tdx", SEAL_EV_TDX}, {"snp", SEAL_EV_SNP}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (proto_json_string_eq(doc, idx, m[i].n)) {
            *t = m[i].t;
            return 0;
        }
    return TV_ERR_INVALID;
}

int vault_fn_policy_parse(const char *text, size_t len, vault_fn_policy *out, char *err,
                          size_t errlen)
{
    proto_json *doc = NULL;
    vault_fn_policy p;
    int r = TV_ERR_INTERNAL, idx;
    size_t n;

    memset(&p, 0, sizeof p);
    if (!text) {
        setf(err, errlen, "empty identity policy");
        return TV_ERR_INVALID;
    }
    if (len > VAULT_FN_POLICY_MAX) {
        setf(err, errlen, "identity policy above %u bytes", VAULT_FN_POLICY_MAX);
        return TV_ERR_TOO_LARGE;
    }
    if ((r = proto_json_parse((const uint8_t *)text, len, 256, &doc)) < 0) {
        setf(err, errlen, "identity policy is not a JSON object");
        return r == TV_ERR_NOMEM ? r : TV_ERR_INVALID;
    }
    r = TV_ERR_INVALID;
    if (proto_json_type_of(doc, 0) != PROTO_JSON_OBJECT) {
        setf(err, errlen, "identity policy is not a JSON object");
        goto out;
    }
    for (idx = proto_json_first(doc, 0); idx != PROTO_JSON_NONE; idx = proto_json_next(doc, idx)) {
        const proto_json_node *nd = proto_json_node_at(doc, idx);
        char key[32];
        int t = proto_json_type_of(doc, idx);
        if (!nd || nd->key_len >= sizeof key) {
            setf(err, errlen, "unknown key in identity policy");
            goto out;
        }
        memcpy(key, doc->in + nd->key_start, nd->key_len);
        key[nd->key_len] = 0;
        if (strcmp(key, "evidence_type") == 0) {
            if (type_from_name(doc, idx, &p.type) < 0) {
                setf(err, errlen, "\"evidence_type\" must be sim, sgx, tdx or snp");
                goto out;
            }
        } else if (strcmp(key, "shape") == 0) {
            if (type_from_name(doc, idx, &p.shape) < 0 || p.shape == SEAL_EV_SIM) {
                setf(err, errlen, "\"shape\" must be sgx, tdx or snp");
                goto out;
            }
        } else if (strcmp(key, "mrconfigid") == 0 || strcmp(key, "mrowner") == 0 ||
                   strcmp(key, "mrownerconfig") == 0) {
            int cfgid = strcmp(key, "mrconfigid") == 0, owner = strcmp(key, "mrowner") == 0;
            uint8_t *dst = cfgid ? p.mrconfigid : owner ? p.mrowner : p.mrownerconfig;
            int *has = cfgid ? &p.has_mrconfigid : owner ? &p.has_mrowner : &p.has_mrownerconfig;
            if (hex_member(doc, idx, key, dst, 48, 48, &n, err, errlen) < 0)
                goto out;
            *has = 1;
        } else if (strcmp(key, "rtmr") == 0) {
            int e, k = 0;
            if (t != PROTO_JSON_ARRAY) {
                setf(err, errlen, "\"rtmr\" must be an array of 4 hex strings (RTMR0..3)");
                goto out;
            }
            for (e = proto_json_first(doc, idx); e != PROTO_JSON_NONE;
                 e = proto_json_next(doc, e)) {
                if (k == 4 || hex_member(doc, e, "rtmr", p.rtmr[k], 48, 48, &n, err, errlen) < 0) {
                    setf(err, errlen, "\"rtmr\" must be an array of 4 hex strings of 48 bytes");
                    goto out;
                }
                k++;
            }
            if (k != 4) {
                setf(err, errlen, "\"rtmr\" must be an array of 4 hex strings of 48 bytes");
                goto out;
            }
            p.has_rtmr = 1;
        } else if (strcmp(key, "host_data") == 0) {
            if (hex_member(doc, idx, key, p.host_data, 32, 32, &n, err, errlen) < 0)
                goto out;
            p.has_host_data = 1;
        } else if (strcmp(key, "id_key_digest") == 0) {
            if (hex_member(doc, idx, key, p.id_key_digest, 48, 48, &n, err, errlen) < 0)
                goto out;
            p.has_id_key_digest = 1;
        } else if (strcmp(key, "isvprodid") == 0 || strcmp(key, "vmpl") == 0) {
            int64_t v = 0;
            int64_t max = key[0] == 'i' ? 65535 : 3;
            if (proto_json_int(doc, idx, &v) < 0 || v < 0 || v > max) {
                setf(err, errlen, "\"%s\" must be an integer 0..%lld", key, (long long)max);
                goto out;
            }
            if (key[0] == 'i') {
                p.has_isvprodid = 1;
                p.isvprodid = (uint16_t)v;
            } else {
                p.vmpl = (uint32_t)v;
            }
        } else if (strcmp(key, "min_tcb") == 0) {
            static const char *const comp[4] = {"bootloader", "tee", "snp", "microcode"};
            int seen = 0;
            if (t != PROTO_JSON_OBJECT)
                goto bad_tcb;
            for (int e = proto_json_first(doc, idx); e != PROTO_JSON_NONE;
                 e = proto_json_next(doc, e)) {
                const proto_json_node *en = proto_json_node_at(doc, e);
                int64_t v = 0;
                int which = -1;
                for (int k = 0; k < 4 && en; k++)
                    if (en->key_len == strlen(comp[k]) &&
                        memcmp(doc->in + en->key_start, comp[k], en->key_len) == 0)
                        which = k;
                if (which < 0 || (seen & (1 << which)) || proto_json_int(doc, e, &v) < 0 || v < 0 ||
                    v > 255)
                    goto bad_tcb;
                seen |= 1 << which;
                p.min_tcb[which] = (uint8_t)v;
            }
            if (seen != 15) {
            bad_tcb:
                setf(err, errlen,
                     "\"min_tcb\" must be {\"bootloader\":n, \"tee\":n, \"snp\":n, "
                     "\"microcode\":n} with each n 0..255");
                goto out;
            }
            p.has_min_tcb = 1;
        } else if (strcmp(key, "code_in_measurement") == 0) {
            if (t != PROTO_JSON_TRUE && t != PROTO_JSON_FALSE) {
                setf(err, errlen, "\"code_in_measurement\" must be true or false");
                goto out;
            }
            p.code_in_measurement = t == PROTO_JSON_TRUE;
        } else if (strcmp(key, "measurement") == 0) {
            if (hex_member(doc, idx, key, p.measurement, 48, 0, &p.measurement_len, err, errlen) <
                0)
                goto out;
        } else if (strcmp(key, "mrenclave") == 0) {
            if (hex_member(doc, idx, key, p.mrenclave, 32, 32, &n, err, errlen) < 0)
                goto out;
            p.has_mrenclave = 1;
        } else if (strcmp(key, "mrtd") == 0) {
            if (hex_member(doc, idx, key, p.mrtd, 48, 48, &n, err, errlen) < 0)
                goto out;
            p.has_mrtd = 1;
        } else if (strcmp(key, "signer") == 0) {
            if (hex_member(doc, idx, key, p.signer, 32, 32, &n, err, errlen) < 0)
                goto out;
            p.has_signer = 1;
        } else if (strcmp(key, "mrsigner") == 0) {
            if (hex_member(doc, idx, key, p.mrsigner, 32, 32, &n, err, errlen) < 0)
                goto out;
            p.has_mrsigner = 1;
        } else if (strcmp(key, "code_hash") == 0) {
            if (hex_member(doc, idx, key, p.code_hash, VAULT_FN_CODE_HASH_MAX, 0, &p.code_hash_len,
                           err, errlen) < 0)
                goto out;
        } else if (strcmp(key, "min_svn") == 0) {
            int64_t v = 0;
            if (proto_json_int(doc, idx, &v) < 0 || v < 0 || v > UINT32_MAX) {
                setf(err, errlen, "\"min_svn\" must be an integer 0..4294967295");
                goto out;
            }
            p.has_min_svn = 1;
            p.min_svn = (uint32_t)v;
        } else if (strcmp(key, "allow_debug") == 0 || strcmp(key, "allow_no_collateral") == 0) {
            int *dst = key[6] == 'd' ? &p.allow_debug : &p.allow_no_collateral;
            if (t != PROTO_JSON_TRUE && t != PROTO_JSON_FALSE) {
                setf(err, errlen, "\"%s\" must be true or false", key);
                goto out;
            }
            *dst = t == PROTO_JSON_TRUE;
        } else if (strcmp(key, "tcb_statuses") == 0) {
            if (t != PROTO_JSON_ARRAY) {
                setf(err, errlen, "\"tcb_statuses\" must be an array of status names");
                goto out;
            }
            for (int e = proto_json_first(doc, idx); e != PROTO_JSON_NONE;
                 e = proto_json_next(doc, e)) {
                char sname[64];
                int st;
                if (proto_json_string(doc, e, sname, sizeof sname, NULL) < 0 ||
                    (st = seal_tcb_status_parse(sname)) < 0 || st == SEAL_TCB_NOT_EVALUATED ||
                    st == SEAL_TCB_NO_MATCH) {
                    setf(err, errlen,
                         "\"tcb_statuses\": unknown status (UpToDate, SWHardeningNeeded, "
                         "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, "
                         "OutOfDateConfigurationNeeded, Revoked)");
                    goto out;
                }
                p.accepted_statuses |= SEAL_TCB_BIT(st);
            }
        } else {
            char q[48];
            vault_quote(q, sizeof q, key, strlen(key));
            setf(err, errlen, "unknown key %s in identity policy", q);
            goto out;
        }
    }
    /* Which pins make sense for which evidence, and which are needed to
     * identify one workload rather than a platform. */
    if (p.type == SEAL_EV_UNKNOWN) {
        setf(err, errlen, "\"evidence_type\" is required");
        goto out;
    }
    if (p.shape != SEAL_EV_UNKNOWN && p.type != SEAL_EV_SIM) {
        setf(err, errlen, "\"shape\" is for sim evidence only");
        goto out;
    }
    if (p.shape == SEAL_EV_UNKNOWN)
        p.shape = p.type;
    {
        int sgx_keys = p.has_mrenclave || p.has_mrsigner || p.has_isvprodid;
        int tdx_keys =
            p.has_mrtd || p.has_rtmr || p.has_mrconfigid || p.has_mrowner || p.has_mrownerconfig;
        int snp_keys = p.has_host_data || p.has_id_key_digest || p.has_min_tcb || p.vmpl;
        int sim_signer_ok = p.type == SEAL_EV_SIM; /* the sim signer may be pinned with a shape */
        switch (p.shape) {
        case SEAL_EV_SIM:
            if ((p.measurement_len && p.measurement_len != 32) || sgx_keys || tdx_keys ||
                snp_keys) {
                setf(err, errlen, "sim policies pin \"measurement\" (32 bytes) and/or \"signer\"");
                goto out;
            }
            if (!p.measurement_len && !p.has_signer) {
                setf(err, errlen,
                     "the policy pins no measurement or signer; it would admit any code on the "
                     "platform");
                goto out;
            }
            break;
        case SEAL_EV_SGX:
            if (p.measurement_len || tdx_keys || snp_keys || (p.has_signer && !sim_signer_ok)) {
                setf(err, errlen,
                     "sgx policies pin \"mrenclave\", or \"mrsigner\" with \"isvprodid\" and "
                     "\"min_svn\"");
                goto out;
            }
            if (!p.has_mrenclave && !(p.has_mrsigner && p.has_isvprodid && p.has_min_svn)) {
                setf(err, errlen,
                     "an sgx policy must pin \"mrenclave\", or \"mrsigner\" together with "
                     "\"isvprodid\" and \"min_svn\" (MRSIGNER alone admits every product and "
                     "version of that signer)");
                goto out;
            }
            break;
        case SEAL_EV_TDX:
            if (p.measurement_len || sgx_keys || snp_keys || p.has_min_svn ||
                (p.has_signer && !sim_signer_ok)) {
                setf(err, errlen,
                     "tdx policies pin \"mrtd\" with \"rtmr\", \"mrconfigid\", \"mrowner\", "
                     "\"mrownerconfig\"");
                goto out;
            }
            if (!p.has_mrtd || !(p.has_rtmr || p.has_mrconfigid || p.has_mrowner)) {
                setf(err, errlen,
                     "a tdx policy must pin \"mrtd\" and also \"rtmr\" (RTMR0-3) and/or "
                     "\"mrconfigid\" / \"mrowner\": MRTD alone is the TD firmware, which every "
                     "TD on the same firmware shares");
                goto out;
            }
            break;
        case SEAL_EV_SNP:
            if ((p.measurement_len && p.measurement_len != 48) || sgx_keys || tdx_keys ||
                (p.has_signer && !sim_signer_ok)) {
                setf(err, errlen,
                     "snp policies pin \"measurement\" (48 bytes), \"host_data\", "
                     "\"id_key_digest\", \"min_tcb\" and optionally \"vmpl\", \"min_svn\"");
                goto out;
            }
            if (!p.measurement_len || !p.has_host_data || !p.has_id_key_digest || !p.has_min_tcb) {
                setf(err, errlen,
                     "an snp policy must pin \"measurement\", \"host_data\", "
                     "\"id_key_digest\" and \"min_tcb\" (vmpl defaults to 0)");
                goto out;
            }
            break;
        default:
            setf(err, errlen, "\"evidence_type\" is required");
            goto out;
        }
    }
    if (!p.code_hash_len && !p.code_in_measurement) {
        setf(err, errlen,
             "the policy pins no \"code_hash\": pin the function's code hash, or say "
             "\"code_in_measurement\": true when the measurement covers the function's code");
        goto out;
    }
    if (p.code_hash_len && p.code_in_measurement) {
        setf(err, errlen, "\"code_hash\" and \"code_in_measurement\" exclude each other");
        goto out;
    }
    *out = p;
    r = 0;
out:
    proto_json_free(doc);
    return r;
}

void vault_fn_policy_verify_policy(const vault_fn_policy *p, seal_verify_policy *out)
{
    memset(out, 0, sizeof *out);
    out->allow_debug = p->allow_debug;
    out->accepted_statuses = p->accepted_statuses;
    out->allow_no_collateral = p->allow_no_collateral;
}

int vault_fn_policy_match(const vault_fn_policy *p, const seal_verdict *v, const uint8_t *code_hash,
                          size_t code_hash_len, char *why, size_t whylen)
{
    const seal_claims *c = &v->claims;

    if (v->type != p->type) {
        setf(why, whylen, "the function is registered for %s evidence, not %s",
             seal_ev_type_name(p->type), seal_ev_type_name(v->type));
        return TV_ERR_POLICY;
    }
    if (p->type == SEAL_EV_SIM &&
        c->sim_shape != (p->shape == SEAL_EV_SIM ? SEAL_EV_UNKNOWN : p->shape)) {
        setf(why, whylen, "the function is registered for sim evidence of shape %s, not %s",
             p->shape == SEAL_EV_SIM ? "sim" : seal_ev_type_name(p->shape),
             c->sim_shape ? seal_ev_type_name(c->sim_shape) : "sim");
        return TV_ERR_POLICY;
    }
    if (v->debug && !p->allow_debug) {
        setf(why, whylen, "debug evidence and the function's policy forbids debug");
        return TV_ERR_POLICY;
    }
    if (p->measurement_len &&
        (!(c->present & SEAL_CLAIM_MEASUREMENT) || c->measurement_len != p->measurement_len ||
         sodium_memcmp(c->measurement, p->measurement, p->measurement_len) != 0)) {
        setf(why, whylen, "measurement is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    if (p->has_mrenclave && (!(c->present & SEAL_CLAIM_MRENCLAVE) ||
                             sodium_memcmp(c->mrenclave, p->mrenclave, 32) != 0)) {
        setf(why, whylen, "MRENCLAVE is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    if (p->has_mrsigner &&
        (!(c->present & SEAL_CLAIM_MRSIGNER) || sodium_memcmp(c->mrsigner, p->mrsigner, 32) != 0)) {
        setf(why, whylen, "MRSIGNER is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    if (p->has_mrtd &&
        (!(c->present & SEAL_CLAIM_MRTD) || sodium_memcmp(c->mrtd, p->mrtd, 48) != 0)) {
        setf(why, whylen, "MRTD is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    if (p->has_isvprodid &&
        (!(c->present & SEAL_CLAIM_ISV_PROD_ID) || c->isv_prod_id != p->isvprodid)) {
        setf(why, whylen, "ISVPRODID %u is not the function's %u", (unsigned)c->isv_prod_id,
             (unsigned)p->isvprodid);
        return TV_ERR_POLICY;
    }
    if (p->has_rtmr) {
        for (int i = 0; i < 4; i++)
            if (!(c->present & SEAL_CLAIM_RTMR) || sodium_memcmp(c->rtmr[i], p->rtmr[i], 48) != 0) {
                setf(why, whylen, "RTMR%d is not the one registered for the function", i);
                return TV_ERR_POLICY;
            }
    }
    if (p->has_mrconfigid && (!(c->present & SEAL_CLAIM_MRCONFIGID) ||
                              sodium_memcmp(c->mrconfigid, p->mrconfigid, 48) != 0)) {
        setf(why, whylen, "MRCONFIGID is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    if (p->has_mrowner &&
        (!(c->present & SEAL_CLAIM_MROWNER) || sodium_memcmp(c->mrowner, p->mrowner, 48) != 0)) {
        setf(why, whylen, "MROWNER is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    if (p->has_mrownerconfig && (!(c->present & SEAL_CLAIM_MROWNERCONFIG) ||
                                 sodium_memcmp(c->mrownerconfig, p->mrownerconfig, 48) != 0)) {
        setf(why, whylen, "MROWNERCONFIG is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    if (p->has_host_data && (!(c->present & SEAL_CLAIM_HOST_DATA) ||
                             sodium_memcmp(c->host_data, p->host_data, 32) != 0)) {
        setf(why, whylen, "HOST_DATA is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    if (p->has_id_key_digest && (!(c->present & SEAL_CLAIM_ID_KEY_DIGEST) ||
                                 sodium_memcmp(c->id_key_digest, p->id_key_digest, 48) != 0)) {
        setf(why, whylen, "ID key digest is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    if (p->has_min_tcb) {
        /* REPORTED_TCB bytes (little-endian u64): 0 bootloader, 1 TEE, 6 SNP, 7 microcode. */
        static const int byte_of[4] = {0, 1, 6, 7};
        static const char *const comp[4] = {"bootloader", "tee", "snp", "microcode"};
        if (!(c->present & SEAL_CLAIM_REPORTED_TCB)) {
            setf(why, whylen, "the evidence has no reported TCB");
            return TV_ERR_POLICY;
        }
        for (int i = 0; i < 4; i++) {
            unsigned have = (unsigned)((c->reported_tcb >> (8 * byte_of[i])) & 0xff);
            if (have < p->min_tcb[i]) {
                setf(why, whylen, "reported TCB %s SVN %u is below the function's minimum %u",
                     comp[i], have, (unsigned)p->min_tcb[i]);
                return TV_ERR_POLICY;
            }
        }
    }
    if (p->shape == SEAL_EV_SNP && (!(c->present & SEAL_CLAIM_VMPL) || c->snp_vmpl != p->vmpl)) {
        setf(why, whylen, "the report comes from VMPL %u, the function's policy requires VMPL %u",
             (unsigned)c->snp_vmpl, (unsigned)p->vmpl);
        return TV_ERR_POLICY;
    }
    if (p->has_signer && (!(c->present & SEAL_CLAIM_SIGNER) || c->signer_len != 32 ||
                          sodium_memcmp(c->signer, p->signer, 32) != 0)) {
        setf(why, whylen, "signer is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    if (p->has_min_svn) {
        uint32_t svn = p->shape == SEAL_EV_SGX ? c->isv_svn : c->svn;
        int present = p->shape == SEAL_EV_SGX ? (c->present & SEAL_CLAIM_ISV_SVN) != 0
                                              : (c->present & SEAL_CLAIM_SVN) != 0;
        if (!present || svn < p->min_svn) {
            setf(why, whylen, "SVN %u is below the function's minimum %u", (unsigned)svn,
                 (unsigned)p->min_svn);
            return TV_ERR_POLICY;
        }
    }
    if (p->code_hash_len && (code_hash_len != p->code_hash_len ||
                             sodium_memcmp(code_hash, p->code_hash, p->code_hash_len) != 0)) {
        setf(why, whylen, "code hash is not the one registered for the function");
        return TV_ERR_POLICY;
    }
    return 0;
}

/* ---------------------------------------------------------------- storage */

int vault_functions_put(vault_db *db, MDB_txn *txn, const Teevault__V1__FunctionInfo *fi,
                        int64_t now, char *err, size_t errlen)
{
    Teevault__V1__FunctionInfo copy;
    vault_fn_policy pol;
    uint8_t *buf = NULL;
    size_t len;
    int r;

    if (!db || !txn || !fi || !fi->name || !fi->policy)
        return TV_ERR_INVALID;
    if (!vault_fn_name_valid(fi->name)) {
        setf(err, errlen,
             "invalid function name (1-%u of A-Z a-z 0-9 . _ -, not starting with . or -)",
             VAULT_FN_NAME_MAX);
        return TV_ERR_INVALID;
    }
    if ((r = vault_fn_policy_parse(fi->policy, strlen(fi->policy), &pol, err, errlen)) < 0)
        return r;
    if (fi->n_acl_policies > VAULT_FN_ACL_MAX) {
        setf(err, errlen, "at most %u ACL policies per function", VAULT_FN_ACL_MAX);
        return TV_ERR_INVALID;
    }
    for (size_t i = 0; i < fi->n_acl_policies; i++) {
        if (!vault_acl_name_valid(fi->acl_policies[i]) ||
            strcmp(fi->acl_policies[i], "root") == 0) {
            char q[96];
            vault_quote(q, sizeof q, fi->acl_policies[i], strlen(fi->acl_policies[i]));
            setf(err, errlen, "invalid ACL policy name %s", q);
            return TV_ERR_INVALID;
        }
    }
    copy = *fi;
    if (!copy.created_at)
        copy.created_at = now;
    len = teevault__v1__function_info__get_packed_size(&copy);
    if (!(buf = malloc(len + 1)))
        return TV_ERR_NOMEM;
    buf[0] = FN_FORMAT;
    teevault__v1__function_info__pack(&copy, buf + 1);
    r = vault_record_put(db, txn, VAULT_TBL_FUNCTIONS, fi->name, strlen(fi->name), buf, len + 1, 0);
    free(buf);
    return r;
}

/* Verify (vault_record) and decode the stored record under key k. */
static int decode(vault_db *db, const MDB_val *k, const MDB_val *stored,
                  Teevault__V1__FunctionInfo **out)
{
    Teevault__V1__FunctionInfo *fi;
    MDB_val pl, *d = &pl;
    int r;
    if ((r = vault_record_open(db, VAULT_TBL_FUNCTIONS, k->mv_data, k->mv_size, stored, &pl,
                               NULL)) < 0)
        return r;
    if (d->mv_size < 1 || ((const uint8_t *)d->mv_data)[0] != FN_FORMAT)
        return TV_ERR_INTEGRITY;
    fi = teevault__v1__function_info__unpack(NULL, d->mv_size - 1, (const uint8_t *)d->mv_data + 1);
    if (!fi)
        return TV_ERR_INTEGRITY;
    *out = fi;
    return 0;
}

int vault_functions_get(vault_db *db, MDB_txn *txn, const char *name,
                        Teevault__V1__FunctionInfo **out)
{
    MDB_val k, d;
    int r;

    if (!db || !txn || !name || !out)
        return TV_ERR_INVALID;
    if (!vault_fn_name_valid(name))
        return TV_ERR_NOT_FOUND;
    k.mv_size = strlen(name);
    k.mv_data = (void *)(uintptr_t)name;
    if ((r = vault_db_err(mdb_get(txn, db->functions, &k, &d))) < 0)
        return r;
    return decode(db, &k, &d, out);
}

int vault_functions_delete(vault_db *db, MDB_txn *txn, const char *name)
{
    MDB_val k;

    if (!db || !txn || !name)
        return TV_ERR_INVALID;
    if (!vault_fn_name_valid(name))
        return TV_ERR_NOT_FOUND;
    k.mv_size = strlen(name);
    k.mv_data = (void *)(uintptr_t)name;
    return vault_db_err(mdb_del(txn, db->functions, &k, NULL));
}

void vault_functions_list_free(Teevault__V1__FunctionInfo **fns, size_t n)
{
    if (!fns)
        return;
    for (size_t i = 0; i < n; i++)
        if (fns[i])
            teevault__v1__function_info__free_unpacked(fns[i], NULL);
    free(fns);
}

int vault_functions_list(vault_db *db, MDB_txn *txn, size_t max, Teevault__V1__FunctionInfo ***out,
                         size_t *n_out)
{
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    Teevault__V1__FunctionInfo **v = NULL;
    size_t n = 0, cap = 0;
    int r, rc;

    if (!db || !txn || !out || !n_out)
        return TV_ERR_INVALID;
    if (!max)
        max = 10000;
    if ((r = vault_db_err(mdb_cursor_open(txn, db->functions, &cur))) < 0)
        return r;
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && n < max;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            Teevault__V1__FunctionInfo **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                r = TV_ERR_NOMEM;
                goto out;
            }
            v = nv;
            cap = nc;
        }
        if ((r = decode(db, &k, &d, &v[n])) < 0)
            goto out;
        n++;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        r = vault_db_err(rc);
        goto out;
    }
    *out = v;
    *n_out = n;
    v = NULL;
    n = 0;
    r = 0;
out:
    mdb_cursor_close(cur);
    vault_functions_list_free(v, n);
    return r;
}

int vault_function_principal(struct vault *v, const char *name, vault_principal *out)
{
    Teevault__V1__FunctionInfo *fi = NULL;
    MDB_txn *txn = NULL;
    vault_principal p;
    int r;

    memset(&p, 0, sizeof p);
    if (!v || !v->db)
        return TV_ERR_NOT_INITIALISED;
    if ((r = vault_db_rtxn(v->db, &txn)) < 0)
        return r;
    r = vault_functions_get(v->db, txn, name, &fi);
    mdb_txn_abort(txn);
    if (r < 0)
        return r;
    p.kind = VAULT_PRINCIPAL_FUNCTION;
    snprintf(p.id, sizeof p.id, "%s", fi->name);
    if (fi->n_acl_policies) {
        if (!(p.policies = calloc(fi->n_acl_policies, sizeof *p.policies))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < fi->n_acl_policies; i++) {
            if (!(p.policies[i] = strdup(fi->acl_policies[i]))) {
                p.n_policies = i;
                r = TV_ERR_NOMEM;
                goto out;
            }
        }
        p.n_policies = fi->n_acl_policies;
    }
    *out = p;
    memset(&p, 0, sizeof p);
    r = 0;
out:
    vault_principal_clear(&p);
    teevault__v1__function_info__free_unpacked(fi, NULL);
    return r;
}
