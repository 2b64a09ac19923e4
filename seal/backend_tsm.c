/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `tsm` backend: Linux configfs-tsm reports (kernel >= 6.7,
 * Documentation/ABI/testing/configfs-tsm-report) for TDX and SEV-SNP guests.
 *
 * One report = one entry directory under root (default
 * /sys/kernel/config/tsm/report): mkdir, then in the entry
 *   1. read `generation` (g0),
 *   2. write the 64-byte report_data to `inblob` (one write, committed on close),
 *   3. read `outblob` (the kernel asks the TSM for the report on this read),
 *   4. read `generation` again: it must be exactly g0 + 1. The ABI says the
 *      counter increments on every write to inblob or an option, so any other
 *      value means someone else wrote in between and outblob may be theirs —
 *      retried (fresh entry) up to TSM_RETRIES times, then TV_ERR_UNAVAILABLE,
 *   5. read `provider` ("tdx_guest" → evidence type "tdx", "sev_guest" → "snp"),
 *      and `auxblob` between 3 and 4 (SNP: the certificate table, appended to
 *      the report so the evidence is self-contained: report || table),
 * and rmdir the entry. The report's own report_data must equal ours.
 *
 * Entry names are "teevault-<pid>-<n>". If the name already exists (a
 * previous process with the same pid died before its rmdir) the entry is
 * reused: the generation check above is what protects a report, not the
 * name's uniqueness. rmdir failures are ignored (nothing secret is left).
 *
 * Sealing key: none. TDX has no in-kernel sealing key at all; SEV-SNP's
 * derived key (SNP_GET_DERIVED_KEY ioctl on /dev/sev-guest) is not
 * implemented here. get_key returns TV_ERR_UNIMPLEMENTED, so a vault on `tsm`
 * must get its root key some other way (e.g. `dstack` GetKey, or a KMS).
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "seal_producers.h"

#define TSM_RETRIES 3

typedef struct tsm_impl {
    char root[PATH_MAX];
    int have_id;
    seal_identity id;
} tsm_impl;

static atomic_uint tsm_counter;

static int read_u64_attr(const char *path, uint64_t *v)
{
    uint8_t *buf = NULL;
    size_t len = 0, i = 0;
    uint64_t x = 0;
    int r;

    if ((r = seal_file_read(path, 32, &buf, &len)) < 0)
        return r == TV_ERR_NOT_FOUND ? TV_ERR_IO : r;
    while (i < len && buf[i] >= '0' && buf[i] <= '9') {
        if (x > (UINT64_MAX - 9) / 10) {
            r = TV_ERR_FORMAT;
            goto out;
        }
        x = x * 10 + (uint64_t)(buf[i] - '0');
        i++;
    }
    /* digits, then at most a newline */
    if (i == 0 || (i < len && !(buf[i] == '\n' && i + 1 == len))) {
        r = TV_ERR_FORMAT;
        goto out;
    }
    *v = x;
    r = 0;
out:
    free(buf);
    return r;
}

static int epath(const char *entry, const char *attr, char *dst, size_t n)
{
    int k = snprintf(dst, n, "%s/%s", entry, attr);
    return (k < 0 || (size_t)k >= n) ? TV_ERR_INVALID : 0;
}

int seal_tsm_report_in_entry(const char *entry, const uint8_t report_data[SEAL_REPORT_DATA_LEN],
                             uint8_t **out, size_t *out_len, const char **type)
{
    char p_gen[PATH_MAX], p_in[PATH_MAX], p_out[PATH_MAX], p_prov[PATH_MAX], p_aux[PATH_MAX];
    uint64_t g0 = 0, g1 = 0;
    uint8_t *blob = NULL, *prov = NULL, *aux = NULL;
    size_t blob_len = 0, prov_len = 0, aux_len = 0;
    const uint8_t *brd = NULL;
    const char *t;
    int r = TV_ERR_INTERNAL;

    if (!entry || !report_data || !out || !out_len || !type)
        return TV_ERR_INVALID;
    if ((r = epath(entry, "generation", p_gen, sizeof p_gen)) < 0 ||
        (r = epath(entry, "inblob", p_in, sizeof p_in)) < 0 ||
        (r = epath(entry, "outblob", p_out, sizeof p_out)) < 0 ||
        (r = epath(entry, "provider", p_prov, sizeof p_prov)) < 0 ||
        (r = epath(entry, "auxblob", p_aux, sizeof p_aux)) < 0)
        return r;

    if ((r = read_u64_attr(p_gen, &g0)) < 0)
        goto out;
    if ((r = seal_file_write_existing(p_in, report_data, SEAL_REPORT_DATA_LEN)) < 0) {
        if (r == TV_ERR_NOT_FOUND)
            r = TV_ERR_IO;
        goto out;
    }
    if ((r = seal_file_read(p_out, SEAL_EVIDENCE_MAX, &blob, &blob_len)) < 0) {
        if (r == TV_ERR_NOT_FOUND)
            r = TV_ERR_IO;
        goto out;
    }
    /* auxblob (SNP: the GHCB certificate table with the VCEK/VLEK, ASK, ARK)
     * belongs to the same request; absent or empty is fine. */
    r = seal_file_read(p_aux, SEAL_EVIDENCE_MAX, &aux, &aux_len);
    if (r < 0 && r != TV_ERR_NOT_FOUND)
        goto out;
    if ((r = read_u64_attr(p_gen, &g1)) < 0)
        goto out;
    if (g0 == UINT64_MAX || g1 != g0 + 1) {
        r = TV_ERR_UNAVAILABLE; /* another writer raced us: outblob may be theirs */
        goto out;
    }
    if (blob_len == 0) {
        r = TV_ERR_FORMAT;
        goto out;
    }
    if ((r = seal_file_read(p_prov, 64, &prov, &prov_len)) < 0) {
        if (r == TV_ERR_NOT_FOUND)
            r = TV_ERR_IO;
        goto out;
    }
    while (prov_len > 0 && prov[prov_len - 1] == '\n')
        prov[--prov_len] = 0;
    if (strcmp((char *)prov, "tdx_guest") == 0) {
        t = "tdx";
    } else if (strcmp((char *)prov, "sev_guest") == 0) {
        t = "snp";
    } else {
        r = TV_ERR_FORMAT;
        goto out;
    }
    if ((r = seal_evidence_identity(t, blob, blob_len, NULL, &brd)) < 0)
        goto out;
    if (sodium_memcmp(brd, report_data, SEAL_REPORT_DATA_LEN) != 0) {
        r = TV_ERR_INTEGRITY;
        goto out;
    }
    if (strcmp(t, "snp") == 0 && aux_len > 0) {
        /* Evidence = report || certificate table: what seal_verify takes, so
         * the verifier needs no VCEK from elsewhere. */
        uint8_t *nb;
        if (aux_len > SEAL_EVIDENCE_MAX - blob_len) {
            r = TV_ERR_TOO_LARGE;
            goto out;
        }
        if (!(nb = realloc(blob, blob_len + aux_len + 1))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        blob = nb;
        memcpy(blob + blob_len, aux, aux_len);
        blob_len += aux_len;
    }
    *out = blob;
    *out_len = blob_len;
    *type = t;
    blob = NULL;
    r = 0;
out:
    free(blob);
    free(prov);
    free(aux);
    return r;
}

static int tsm_report(tsm_impl *s, const uint8_t rd[SEAL_REPORT_DATA_LEN], uint8_t **out,
                      size_t *out_len, const char **type)
{
    char entry[PATH_MAX];
    int r = TV_ERR_UNAVAILABLE;

    for (int attempt = 0; attempt < TSM_RETRIES; attempt++) {
        unsigned n = atomic_fetch_add(&tsm_counter, 1);
        int k = snprintf(entry, sizeof entry, "%s/teevault-%ld-%u", s->root, (long)getpid(), n);
        if (k < 0 || (size_t)k >= sizeof entry)
            return TV_ERR_INVALID;
        if (mkdir(entry, 0700) != 0 && errno != EEXIST)
            return TV_ERR_IO;
        r = seal_tsm_report_in_entry(entry, rd, out, out_len, type);
        (void)rmdir(entry);
        if (r != TV_ERR_UNAVAILABLE)
            break;
    }
    return r;
}

static int tsm_identity(seal_backend *b, seal_identity *out)
{
    tsm_impl *s = b->impl;
    uint8_t zero[SEAL_REPORT_DATA_LEN] = {0};
    uint8_t *ev = NULL;
    size_t len = 0;
    const char *type = NULL;
    seal_identity id;
    int r;

    if (!s->have_id) {
        if ((r = tsm_report(s, zero, &ev, &len, &type)) < 0)
            return r;
        r = seal_evidence_identity(type, ev, len, &id, NULL);
        free(ev);
        if (r < 0)
            return r;
        s->id = id;
        s->have_id = 1;
    }
    *out = s->id;
    return 0;
}

static int tsm_get_key(seal_backend *b, enum seal_policy policy, uint16_t key_svn,
                       uint8_t key[SEAL_KEY_LEN])
{
    (void)b;
    (void)policy;
    (void)key_svn;
    (void)key;
    /* TDX: no sealing key in the kernel ABI. SNP derived key: not implemented. */
    return TV_ERR_UNIMPLEMENTED;
}

static int tsm_evidence(seal_backend *b, const uint8_t report_data[SEAL_REPORT_DATA_LEN],
                        uint8_t **evidence, size_t *evidence_len, const char **type)
{
    return tsm_report(b->impl, report_data, evidence, evidence_len, type);
}

static void tsm_destroy(seal_backend *b)
{
    if (b->impl) {
        sodium_memzero(b->impl, sizeof(tsm_impl));
        free(b->impl);
    }
    free(b);
}

static const seal_backend_ops tsm_ops = {
    .name = "tsm",
    .hardware_protected = 1,
    .get_key = tsm_get_key,
    .identity = tsm_identity,
    .evidence = tsm_evidence,
    .destroy = tsm_destroy,
};

int seal_backend_tsm_open(const seal_options *opts, seal_backend **out)
{
    const char *root = opts && opts->root ? opts->root : SEAL_TSM_DEFAULT_ROOT;
    seal_backend *b = NULL;
    tsm_impl *s = NULL;
    struct stat st;
    int r = TV_ERR_INTERNAL;

    if (!out)
        return TV_ERR_INVALID;
    if (strlen(root) >= sizeof s->root - 32)
        return TV_ERR_INVALID;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return TV_ERR_IO;
    if (!(b = calloc(1, sizeof *b)) || !(s = calloc(1, sizeof *s))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    memcpy(s->root, root, strlen(root) + 1);
    b->ops = &tsm_ops;
    b->impl = s;
    s = NULL;
    *out = b;
    b = NULL;
    r = 0;
out:
    free(s);
    free(b);
    return r;
}
