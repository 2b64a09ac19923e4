/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `gramine-sgx` backend: Gramine's /dev/attestation pseudo-files
 * (Gramine "Attestation and Secret Provisioning" docs), under a configurable
 * root so tests can point it at a fixture tree.
 *
 * - evidence: write the 64-byte report_data to root/user_report_data, then
 *   read root/quote (a DCAP quote v3, type "sgx"). The pair is one critical
 *   section (a mutex): user_report_data is process-global state in Gramine.
 *   The quote's own report_data is compared with what we wrote, so a stale
 *   or substituted quote is refused (TV_ERR_INTEGRITY).
 * - sealing keys: root/keys/_sgx_mrenclave (measurement policy) or
 *   root/keys/_sgx_mrsigner (signer policy), 16 bytes each (EGETKEY seal
 *   keys), expanded to 32 bytes with HKDF-SHA256 (seal_hkdf_sha256, info
 *   "gramine-sgx/<policy>/<svn>"). Gramine only derives the key for the
 *   enclave's *current* ISVSVN, so the signer policy with key_svn other than
 *   our own SVN returns TV_ERR_UNIMPLEMENTED.
 * - identity: parsed from the report body of a quote made with all-zero
 *   report_data (cached). root/my_target_info holds MRENCLAVE but not MRSIGNER
 *   or ISVSVN, so it is not enough.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "seal.h"
#include "seal_producers.h"

typedef struct gramine_impl {
    char root[PATH_MAX];
    pthread_mutex_t mu;
    int have_id;
    seal_identity id;
} gramine_impl;

static int gpath(const gramine_impl *g, const char *rel, char *dst, size_t n)
{
    int k = snprintf(dst, n, "%s/%s", g->root, rel);
    return (k < 0 || (size_t)k >= n) ? TV_ERR_INVALID : 0;
}

/* Write report_data, read the quote, check it binds report_data. */
static int gramine_quote(void *ctx, const uint8_t rd[SEAL_REPORT_DATA_LEN], uint8_t **out,
                         size_t *out_len)
{
    gramine_impl *g = ctx;
    char p_urd[PATH_MAX], p_quote[PATH_MAX];
    uint8_t *q = NULL;
    size_t qlen = 0;
    int r = TV_ERR_INTERNAL;

    if ((r = gpath(g, "user_report_data", p_urd, sizeof p_urd)) < 0 ||
        (r = gpath(g, "quote", p_quote, sizeof p_quote)) < 0)
        return r;
    pthread_mutex_lock(&g->mu);
    r = seal_file_write_existing(p_urd, rd, SEAL_REPORT_DATA_LEN);
    if (r == 0)
        r = seal_file_read(p_quote, SEAL_EVIDENCE_MAX, &q, &qlen);
    pthread_mutex_unlock(&g->mu);
    if (r < 0) {
        free(q);
        return r == TV_ERR_NOT_FOUND ? TV_ERR_IO : r;
    }
    return seal_evidence_take_bound("sgx", q, qlen, rd, out, out_len);
}

static int gramine_identity(seal_backend *b, seal_identity *out)
{
    gramine_impl *g = b->impl;
    int r;

    if (!g->have_id) {
        if ((r = seal_identity_from_quote("sgx", gramine_quote, g, &g->id)) < 0)
            return r;
        g->have_id = 1;
    }
    *out = g->id;
    return 0;
}

static int gramine_get_key(seal_backend *b, enum seal_policy policy, uint16_t key_svn,
                           uint8_t key[SEAL_KEY_LEN])
{
    gramine_impl *g = b->impl;
    char path[PATH_MAX], info[64];
    const char *file;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    seal_identity id;
    int r = TV_ERR_INTERNAL;

    if (policy == SEAL_POLICY_MEASUREMENT) {
        file = "keys/_sgx_mrenclave";
    } else if (policy == SEAL_POLICY_SIGNER) {
        file = "keys/_sgx_mrsigner";
        if ((r = gramine_identity(b, &id)) < 0)
            return r;
        if (key_svn != id.svn)
            return TV_ERR_UNIMPLEMENTED; /* Gramine exposes the current-SVN key only */
    } else {
        return TV_ERR_INVALID;
    }
    if ((r = gpath(g, file, path, sizeof path)) < 0)
        return r;
    if ((r = seal_file_read(path, 64, &raw, &raw_len)) < 0)
        return r == TV_ERR_NOT_FOUND ? TV_ERR_IO : r;
    if (raw_len != 16) {
        r = TV_ERR_FORMAT;
        goto out;
    }
    snprintf(info, sizeof info, "gramine-sgx/%s/%u",
             policy == SEAL_POLICY_MEASUREMENT ? "mrenclave" : "mrsigner", (unsigned)key_svn);
    if ((r = seal_hkdf_sha256(raw, raw_len, info, key)) < 0)
        goto out;
    r = 0;
out:
    sodium_memzero(raw, raw_len);
    free(raw);
    return r;
}

static int gramine_evidence(seal_backend *b, const uint8_t report_data[SEAL_REPORT_DATA_LEN],
                            uint8_t **evidence, size_t *evidence_len, const char **type)
{
    int r = gramine_quote(b->impl, report_data, evidence, evidence_len);
    if (r == 0)
        *type = "sgx";
    return r;
}

static void gramine_destroy(seal_backend *b)
{
    gramine_impl *g = b->impl;
    if (g) {
        pthread_mutex_destroy(&g->mu);
        sodium_memzero(g, sizeof *g);
        free(g);
    }
    free(b);
}

static const seal_backend_ops gramine_ops = {
    .name = "gramine-sgx",
    .hardware_protected = 1,
    .get_key = gramine_get_key,
    .identity = gramine_identity,
    .evidence = gramine_evidence,
    .destroy = gramine_destroy,
};

int seal_backend_gramine_open(const seal_options *opts, seal_backend **out)
{
    const char *root = opts && opts->root ? opts->root : SEAL_GRAMINE_DEFAULT_ROOT;
    char p[PATH_MAX];
    seal_backend *b = NULL;
    gramine_impl *g = NULL;
    uint8_t *att = NULL;
    size_t att_len = 0;
    struct stat st;
    int r = TV_ERR_INTERNAL;

    if (!out)
        return TV_ERR_INVALID;
    if (strlen(root) >= sizeof g->root)
        return TV_ERR_INVALID;
    if (!(b = calloc(1, sizeof *b)) || !(g = calloc(1, sizeof *g))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    memcpy(g->root, root, strlen(root) + 1);
    if (pthread_mutex_init(&g->mu, NULL) != 0) {
        r = TV_ERR_INTERNAL;
        goto out;
    }
    /* Refuse early when Gramine was started without DCAP attestation. */
    if ((r = gpath(g, "attestation_type", p, sizeof p)) < 0)
        goto out_mu;
    r = seal_file_read(p, 64, &att, &att_len);
    if (r == 0) {
        while (att_len > 0 && (att[att_len - 1] == '\n' || att[att_len - 1] == ' '))
            att[--att_len] = 0;
        if (strcmp((char *)att, "dcap") != 0) {
            r = TV_ERR_UNAVAILABLE;
            goto out_mu;
        }
    } else if (r != TV_ERR_NOT_FOUND) {
        goto out_mu;
    }
    if ((r = gpath(g, "quote", p, sizeof p)) < 0)
        goto out_mu;
    if (stat(p, &st) != 0) {
        r = TV_ERR_IO;
        goto out_mu;
    }
    if ((r = gpath(g, "user_report_data", p, sizeof p)) < 0)
        goto out_mu;
    if (stat(p, &st) != 0) {
        r = TV_ERR_IO;
        goto out_mu;
    }
    b->ops = &gramine_ops;
    b->impl = g;
    g = NULL;
    *out = b;
    b = NULL;
    r = 0;
    goto out;
out_mu:
    pthread_mutex_destroy(&g->mu);
out:
    free(att);
    free(g);
    free(b);
    return r;
}
