/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `sim` TEE backend (DESIGN.md §4): no hardware protection at all.
 *
 * - Sealing key: 32 random bytes in <state_dir>/sim-sealing.key, created 0600
 *   on first use. An existing file with the wrong size, type or a mode that
 *   lets group/other read it is refused (TV_ERR_IO), never "repaired".
 * - Measurement: SHA-256 of the running executable (/proc/self/exe) or of
 *   opts->sim_measurement_file.
 * - Signer: SHA-256 of opts->sim_signer (default "teevault-sim-signer").
 * - SVN: opts->sim_svn.
 * - get_key mirrors EGETKEY: the key is BLAKE2b-256 keyed with the sealing key
 *   over a domain string, the policy and either the measurement (measurement
 *   policy) or the signer and the requested key SVN (signer policy). Asking
 *   for a key SVN above the backend's own SVN is refused (TV_ERR_SEALED), so a
 *   downgraded binary cannot derive an upgraded binary's keys.
 * - evidence: a sim report (seal_sim_report.h) signed by the sim platform key
 *   in opts->root (the sim "platform" directory, shared with whoever must
 *   verify), or in state_dir when root is unset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "seal_sim_report.h"

const char seal_sim_warning[] =
    "sim TEE backend: NO hardware protection - keys live in a plain file and the "
    "host can read every secret; for development only";

#define SIM_KEY_FILE       "sim-sealing.key"
#define SIM_DEFAULT_SIGNER "teevault-sim-signer"
#define SIM_KDF_DOMAIN     "teevault-sim-seal-v1"

typedef struct sim_impl {
    uint8_t *seal_key; /* SEAL_KEY_LEN bytes, sodium_malloc */
    uint8_t measurement[32];
    uint8_t signer[32];
    uint16_t svn;
    char *platform_dir; /* sim platform key directory (evidence) */
    uint8_t *shape;     /* SEAL_SIM_SHAPE_LEN bytes, or NULL (plain sim evidence) */
    /* The platform key pair, loaded at the first evidence and kept (a
     * backend that makes evidence per attestation does not read the key
     * file and allocate guarded memory each time). platform_sk is
     * sodium_malloc'ed, freed (wiped) by sim_destroy. */
    uint8_t *platform_sk;
    uint8_t platform_pk[SEAL_SIM_PK_LEN];
} sim_impl;

static int sim_get_key(seal_backend *b, enum seal_policy policy, uint16_t key_svn,
                       uint8_t key[SEAL_KEY_LEN])
{
    sim_impl *s = b->impl;
    crypto_generichash_state st;
    uint8_t pol = (uint8_t)policy;
    uint8_t svn_be[2] = {(uint8_t)(key_svn >> 8), (uint8_t)key_svn};

    if (policy != SEAL_POLICY_SIGNER && policy != SEAL_POLICY_MEASUREMENT)
        return TV_ERR_INVALID;
    if (policy == SEAL_POLICY_SIGNER && key_svn > s->svn)
        return TV_ERR_SEALED;
    if (crypto_generichash_init(&st, s->seal_key, SEAL_KEY_LEN, SEAL_KEY_LEN) != 0)
        return TV_ERR_CRYPTO;
    crypto_generichash_update(&st, (const uint8_t *)SIM_KDF_DOMAIN, sizeof(SIM_KDF_DOMAIN));
    crypto_generichash_update(&st, &pol, 1);
    if (policy == SEAL_POLICY_MEASUREMENT) {
        crypto_generichash_update(&st, s->measurement, sizeof(s->measurement));
    } else {
        crypto_generichash_update(&st, s->signer, sizeof(s->signer));
        crypto_generichash_update(&st, svn_be, sizeof(svn_be));
    }
    crypto_generichash_final(&st, key, SEAL_KEY_LEN);
    sodium_memzero(&st, sizeof(st));
    return TV_OK;
}

static int sim_identity(seal_backend *b, seal_identity *out)
{
    sim_impl *s = b->impl;
    memset(out, 0, sizeof(*out));
    memcpy(out->measurement, s->measurement, 32);
    out->measurement_len = 32;
    memcpy(out->signer, s->signer, 32);
    out->signer_len = 32;
    out->svn = s->svn;
    out->debug = 0;
    return TV_OK;
}

static int sim_evidence(seal_backend *b, const uint8_t report_data[SEAL_REPORT_DATA_LEN],
                        uint8_t **evidence, size_t *evidence_len, const char **type)
{
    sim_impl *s = b->impl;
    seal_identity id;
    int r;

    if ((r = sim_identity(b, &id)) < 0)
        return r;
    if (!s->platform_sk &&
        (r = seal_sim_platform_key(s->platform_dir, s->platform_pk, &s->platform_sk)) < 0)
        return r;
    if ((r = seal_sim_report_sign(s->platform_sk, s->platform_pk, &id, s->shape, report_data,
                                  evidence, evidence_len)) < 0)
        return r;
    *type = "sim";
    return TV_OK;
}

static void sim_destroy(seal_backend *b)
{
    sim_impl *s = b->impl;
    if (s) {
        sodium_free(s->seal_key);
        if (s->platform_sk)
            sodium_free(s->platform_sk);
        free(s->platform_dir);
        free(s->shape);
        sodium_memzero(s, sizeof(*s));
        free(s);
    }
    free(b);
}

static const seal_backend_ops sim_ops = {
    .name = "sim",
    .hardware_protected = 0,
    .get_key = sim_get_key,
    .identity = sim_identity,
    .evidence = sim_evidence,
    .destroy = sim_destroy,
};

static int hash_file(const char *path, uint8_t out[32])
{
    int r = TV_ERR_IO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    crypto_hash_sha256_state st;
    uint8_t buf[65536];

    if (fd < 0)
        return TV_ERR_IO;
    crypto_hash_sha256_init(&st);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        if (n == 0)
            break;
        crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
    }
    crypto_hash_sha256_final(&st, out);
    r = 0;
out:
    close(fd);
    return r;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return TV_ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return TV_ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Load the sealing key file, or create it (O_EXCL, 0600) when absent. */
static int load_or_create_key(const char *dir, uint8_t key[SEAL_KEY_LEN])
{
    int r = TV_ERR_IO;
    char path[4096];
    int fd = -1;
    struct stat st;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, SIM_KEY_FILE) >= sizeof(path))
        return TV_ERR_INVALID;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        char tmp[4096 + 16];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return TV_ERR_IO;
        randombytes_buf(key, SEAL_KEY_LEN);
        if (write_full(fd, key, SEAL_KEY_LEN) < 0 || fsync(fd) != 0) {
            close(fd);
            unlink(tmp);
            sodium_memzero(key, SEAL_KEY_LEN);
            return TV_ERR_IO;
        }
        close(fd);
        fd = -1;
        /* link() fails if another process created the file meanwhile: then
         * use theirs, so two racing starts agree on one key. */
        if (link(tmp, path) != 0) {
            unlink(tmp);
            sodium_memzero(key, SEAL_KEY_LEN);
            if (errno != EEXIST)
                return TV_ERR_IO;
            return load_or_create_key(dir, key);
        }
        unlink(tmp);
        return 0;
    }
    if (fd < 0)
        return TV_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != SEAL_KEY_LEN ||
        (st.st_mode & 077) != 0 || st.st_uid != geteuid())
        goto out;
    if ((r = read_full(fd, key, SEAL_KEY_LEN)) < 0)
        goto out;
    r = 0;
out:
    close(fd);
    return r;
}

int seal_sim_open(const seal_options *opts, seal_backend **out);

int seal_sim_open(const seal_options *opts, seal_backend **out)
{
    int r = TV_ERR_INTERNAL;
    seal_backend *b = NULL;
    sim_impl *s = NULL;
    const char *signer = opts->sim_signer ? opts->sim_signer : SIM_DEFAULT_SIGNER;
    const char *mfile = opts->sim_measurement_file ? opts->sim_measurement_file : "/proc/self/exe";

    if (!opts->state_dir)
        return TV_ERR_INVALID;
    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    if (!(b = calloc(1, sizeof(*b))) || !(s = calloc(1, sizeof(*s)))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (!(s->seal_key = sodium_malloc(SEAL_KEY_LEN))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if ((r = load_or_create_key(opts->state_dir, s->seal_key)) < 0)
        goto out;
    if ((r = hash_file(mfile, s->measurement)) < 0)
        goto out;
    crypto_hash_sha256(s->signer, (const uint8_t *)signer, strlen(signer));
    s->svn = opts->sim_svn;
    if (opts->sim_shape_file) {
        int fd = open(opts->sim_shape_file, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0) {
            r = TV_ERR_IO;
            goto out;
        }
        if (!(s->shape = malloc(SEAL_SIM_SHAPE_LEN)))
            r = TV_ERR_NOMEM;
        else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != SEAL_SIM_SHAPE_LEN)
            r = TV_ERR_INVALID;
        else
            r = read_full(fd, s->shape, SEAL_SIM_SHAPE_LEN);
        close(fd);
        if (r < 0)
            goto out;
    }
    if (!(s->platform_dir = strdup(opts->root ? opts->root : opts->state_dir))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    b->ops = &sim_ops;
    b->impl = s;
    s = NULL;
    *out = b;
    b = NULL;
    r = 0;
out:
    if (s) {
        sodium_free(s->seal_key);
        free(s->platform_dir);
        free(s->shape);
        free(s);
    }
    free(b);
    return r;
}
