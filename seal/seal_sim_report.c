/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sim backend's evidence: a fixed-layout report signed with a local
 * Ed25519 "platform" key. Format: see seal_sim_report.h.
 */
#include "seal_sim_report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static const char sim_magic[8] = {'T', 'V', 'S', 'I', 'M', 'R', 'P', 'T'};
static const char sim_domain[] = "teevault-sim-report-v1";  /* signed with its NUL */
static const char sim_domain2[] = "teevault-sim-report-v2"; /* same length */

#define OFF_VERSION 8
#define OFF_FLAGS   10
#define OFF_RSVD1   11
#define OFF_SVN     12
#define OFF_RSVD2   14
#define OFF_MEAS    16
#define OFF_SIGNER  48
#define OFF_RD      80
#define OFF_PK      144
#define OFF_SIG     176
#define SIGNED_LEN  176
#define OFF_SHAPE   176
#define OFF_SIG2    (OFF_SHAPE + SEAL_SIM_SHAPE_LEN)
#define SIGNED_LEN2 OFF_SIG2

/* Shape block offsets (seal_sim_report.h). */
#define SH_SGX_MRENCLAVE 4
#define SH_SGX_MRSIGNER  36
#define SH_SGX_PRODID    68
#define SH_SGX_ISVSVN    70
#define SH_TDX_MRTD      72
#define SH_TDX_RTMR      120
#define SH_TDX_CONFIGID  312
#define SH_TDX_OWNER     360
#define SH_TDX_OWNERCFG  408
#define SH_SNP_MEAS      456
#define SH_SNP_HOSTDATA  504
#define SH_SNP_IDKEY     536
#define SH_SNP_TCB       584
#define SH_SNP_VMPL      592
#define SH_SNP_SVN       596
#define SH_TAIL          600

static int shape_valid(const uint8_t *s)
{
    if (s[0] < 1 || s[0] > 3 || s[1] || s[2] || s[3])
        return 0;
    for (size_t i = SH_TAIL; i < SEAL_SIM_SHAPE_LEN; i++)
        if (s[i])
            return 0;
    return 1;
}

static int path_join(char *dst, size_t dstlen, const char *dir, const char *file)
{
    int n = snprintf(dst, dstlen, "%s/%s", dir, file);
    return (n < 0 || (size_t)n >= dstlen) ? TV_ERR_INVALID : 0;
}

static int write_new_file(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    ssize_t k;

    if (fd < 0)
        return errno == EEXIST ? TV_ERR_EXISTS : TV_ERR_IO;
    do {
        k = write(fd, data, len);
    } while (k < 0 && errno == EINTR);
    if (k < 0 || (size_t)k != len || fsync(fd) != 0) {
        close(fd);
        unlink(path);
        return TV_ERR_IO;
    }
    if (close(fd) != 0) {
        unlink(path);
        return TV_ERR_IO;
    }
    return 0;
}

/* Read the 32-byte seed from dir/sim_platform.key into seed (sodium_malloc'ed
 * by the caller), creating the key pair when absent. */
static int load_or_create_seed(const char *dir, uint8_t *seed)
{
    char kpath[PATH_MAX], ppath[PATH_MAX], tpath[PATH_MAX];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t *sk = NULL;
    int r = TV_ERR_INTERNAL;
    int fd = -1;
    struct stat st;
    ssize_t k;

    if (!dir || !*dir)
        return TV_ERR_INVALID;
    if ((r = path_join(kpath, sizeof kpath, dir, SEAL_SIM_PLATFORM_KEY)) < 0 ||
        (r = path_join(ppath, sizeof ppath, dir, SEAL_SIM_PLATFORM_PUB)) < 0)
        return r;

    for (int attempt = 0; attempt < 2; attempt++) {
        fd = open(kpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0)
            break;
        if (errno != ENOENT)
            return TV_ERR_IO;
        /* First use: make the key pair, publish it with link() so that a
         * concurrent creator never overwrites an existing key. */
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return TV_ERR_IO;
        if (snprintf(tpath, sizeof tpath, "%s.tmp.%ld", kpath, (long)getpid()) >= (int)sizeof tpath)
            return TV_ERR_INVALID;
        if (!(sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)))
            return TV_ERR_NOMEM;
        randombytes_buf(seed, crypto_sign_SEEDBYTES);
        if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
            r = TV_ERR_CRYPTO;
            goto out;
        }
        unlink(tpath);
        if ((r = write_new_file(tpath, seed, crypto_sign_SEEDBYTES, 0600)) < 0)
            goto out;
        if (link(tpath, kpath) != 0) {
            int e = errno;
            unlink(tpath);
            if (e != EEXIST) {
                r = TV_ERR_IO;
                goto out;
            }
            /* Lost the race: another process's key stands; read it. */
        } else {
            unlink(tpath);
            /* The public half, for verifiers to pin. */
            unlink(ppath);
            if ((r = write_new_file(ppath, pk, sizeof pk, 0644)) < 0 && r != TV_ERR_EXISTS)
                goto out;
        }
        sodium_free(sk);
        sk = NULL;
        sodium_memzero(seed, crypto_sign_SEEDBYTES);
    }
    if (fd < 0) {
        r = TV_ERR_IO;
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
        st.st_size != crypto_sign_SEEDBYTES) {
        /* A key other users could read is no key at all. */
        r = TV_ERR_IO;
        goto out;
    }
    do {
        k = read(fd, seed, crypto_sign_SEEDBYTES);
    } while (k < 0 && errno == EINTR);
    if (k != crypto_sign_SEEDBYTES) {
        sodium_memzero(seed, crypto_sign_SEEDBYTES);
        r = TV_ERR_IO;
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    if (sk)
        sodium_free(sk);
    return r;
}

/* Seed → key pair in sodium memory. */
static int platform_keypair(const char *dir, uint8_t pk[SEAL_SIM_PK_LEN], uint8_t **sk_out)
{
    uint8_t *seed = sodium_malloc(crypto_sign_SEEDBYTES);
    uint8_t *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    int r = TV_ERR_INTERNAL;

    if (!seed || !sk) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if ((r = load_or_create_seed(dir, seed)) < 0)
        goto out;
    if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
        r = TV_ERR_CRYPTO;
        goto out;
    }
    if (sk_out) {
        *sk_out = sk;
        sk = NULL;
    }
    r = 0;
out:
    if (seed)
        sodium_free(seed);
    if (sk)
        sodium_free(sk);
    return r;
}

int seal_sim_platform_pubkey(const char *dir, uint8_t pk[SEAL_SIM_PK_LEN])
{
    uint8_t tmp[SEAL_SIM_PK_LEN];
    int r;

    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    if ((r = platform_keypair(dir, tmp, NULL)) < 0)
        return r;
    memcpy(pk, tmp, SEAL_SIM_PK_LEN);
    return 0;
}

static int sim_sign(const uint8_t *sk, const char *domain, const uint8_t *msg, size_t len,
                    uint8_t sig[64])
{
    uint8_t buf[sizeof sim_domain + SIGNED_LEN2];

    memcpy(buf, domain, sizeof sim_domain);
    memcpy(buf + sizeof sim_domain, msg, len);
    return crypto_sign_detached(sig, NULL, buf, sizeof sim_domain + len, sk) == 0 ? 0
                                                                                  : TV_ERR_CRYPTO;
}

int seal_sim_report_produce(const char *dir, const seal_identity *id,
                            const uint8_t report_data[SEAL_REPORT_DATA_LEN], uint8_t **out,
                            size_t *out_len)
{
    return seal_sim_report_produce_shaped(dir, id, NULL, report_data, out, out_len);
}

int seal_sim_platform_key(const char *dir, uint8_t pk[SEAL_SIM_PK_LEN], uint8_t **sk)
{
    if (!pk || !sk)
        return TV_ERR_INVALID;
    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    return platform_keypair(dir, pk, sk);
}

int seal_sim_report_produce_shaped(const char *dir, const seal_identity *id, const uint8_t *shape,
                                   const uint8_t report_data[SEAL_REPORT_DATA_LEN], uint8_t **out,
                                   size_t *out_len)
{
    uint8_t pk[SEAL_SIM_PK_LEN];
    uint8_t *sk = NULL;
    int r = TV_ERR_INTERNAL;

    if (!id || !report_data || !out || !out_len || id->measurement_len != SEAL_SIM_ID_LEN ||
        id->signer_len != SEAL_SIM_ID_LEN || (shape && !shape_valid(shape)))
        return TV_ERR_INVALID;
    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    if ((r = platform_keypair(dir, pk, &sk)) < 0)
        return r;
    r = seal_sim_report_sign(sk, pk, id, shape, report_data, out, out_len);
    sodium_free(sk);
    return r;
}

int seal_sim_report_sign(const uint8_t *sk, const uint8_t pk[SEAL_SIM_PK_LEN],
                         const seal_identity *id, const uint8_t *shape,
                         const uint8_t report_data[SEAL_REPORT_DATA_LEN], uint8_t **out,
                         size_t *out_len)
{
    uint8_t *rep = NULL;
    int r = TV_ERR_INTERNAL;
    size_t len = shape ? SEAL_SIM_REPORT_V2_LEN : SEAL_SIM_REPORT_LEN;

    if (!sk || !pk || !id || !report_data || !out || !out_len ||
        id->measurement_len != SEAL_SIM_ID_LEN || id->signer_len != SEAL_SIM_ID_LEN ||
        (shape && !shape_valid(shape)))
        return TV_ERR_INVALID;
    if (!(rep = calloc(1, len)))
        return TV_ERR_NOMEM;
    memcpy(rep, sim_magic, sizeof sim_magic);
    rep[OFF_VERSION] = 0;
    rep[OFF_VERSION + 1] = shape ? SEAL_SIM_REPORT_VERSION_2 : SEAL_SIM_REPORT_VERSION;
    rep[OFF_FLAGS] = id->debug ? SEAL_SIM_REPORT_FLAG_DEBUG : 0;
    rep[OFF_SVN] = (uint8_t)(id->svn >> 8);
    rep[OFF_SVN + 1] = (uint8_t)id->svn;
    memcpy(rep + OFF_MEAS, id->measurement, SEAL_SIM_ID_LEN);
    memcpy(rep + OFF_SIGNER, id->signer, SEAL_SIM_ID_LEN);
    memcpy(rep + OFF_RD, report_data, SEAL_REPORT_DATA_LEN);
    memcpy(rep + OFF_PK, pk, SEAL_SIM_PK_LEN);
    if (shape) {
        memcpy(rep + OFF_SHAPE, shape, SEAL_SIM_SHAPE_LEN);
        r = sim_sign(sk, sim_domain2, rep, SIGNED_LEN2, rep + OFF_SIG2);
    } else {
        r = sim_sign(sk, sim_domain, rep, SIGNED_LEN, rep + OFF_SIG);
    }
    if (r < 0)
        goto out;
    *out = rep;
    *out_len = len;
    rep = NULL;
    r = 0;
out:
    free(rep);
    return r;
}

int seal_sim_report_parse(const uint8_t *ev, size_t ev_len, seal_sim_report *out)
{
    seal_sim_report t;

    if (!ev || (ev_len != SEAL_SIM_REPORT_LEN && ev_len != SEAL_SIM_REPORT_V2_LEN) ||
        memcmp(ev, sim_magic, sizeof sim_magic) != 0)
        return TV_ERR_FORMAT;
    memset(&t, 0, sizeof t);
    t.version = (uint16_t)(ev[OFF_VERSION] << 8 | ev[OFF_VERSION + 1]);
    if (!(t.version == SEAL_SIM_REPORT_VERSION && ev_len == SEAL_SIM_REPORT_LEN) &&
        !(t.version == SEAL_SIM_REPORT_VERSION_2 && ev_len == SEAL_SIM_REPORT_V2_LEN))
        return TV_ERR_FORMAT;
    if (t.version == SEAL_SIM_REPORT_VERSION_2) {
        if (!shape_valid(ev + OFF_SHAPE))
            return TV_ERR_FORMAT;
        t.shaped = 1;
        memcpy(t.shape, ev + OFF_SHAPE, SEAL_SIM_SHAPE_LEN);
    }
    if ((ev[OFF_FLAGS] & ~SEAL_SIM_REPORT_FLAG_DEBUG) != 0 || ev[OFF_RSVD1] != 0 ||
        ev[OFF_RSVD2] != 0 || ev[OFF_RSVD2 + 1] != 0)
        return TV_ERR_FORMAT;
    t.debug = (ev[OFF_FLAGS] & SEAL_SIM_REPORT_FLAG_DEBUG) != 0;
    t.svn = (uint16_t)(ev[OFF_SVN] << 8 | ev[OFF_SVN + 1]);
    memcpy(t.measurement, ev + OFF_MEAS, SEAL_SIM_ID_LEN);
    memcpy(t.signer, ev + OFF_SIGNER, SEAL_SIM_ID_LEN);
    memcpy(t.report_data, ev + OFF_RD, SEAL_REPORT_DATA_LEN);
    memcpy(t.platform_pk, ev + OFF_PK, SEAL_SIM_PK_LEN);
    if (out)
        *out = t;
    return 0;
}

int seal_sim_report_verify(const uint8_t *ev, size_t ev_len,
                           const uint8_t pinned_pk[SEAL_SIM_PK_LEN], seal_sim_report *out)
{
    uint8_t buf[sizeof sim_domain + SIGNED_LEN2];
    seal_sim_report t;
    int r;

    if (!pinned_pk)
        return TV_ERR_INVALID;
    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    if ((r = seal_sim_report_parse(ev, ev_len, &t)) < 0)
        return r;
    /* The embedded key only says which platform claims to have signed; the
     * signature is checked with the pinned key, never the embedded one. */
    if (sodium_memcmp(t.platform_pk, pinned_pk, SEAL_SIM_PK_LEN) != 0)
        return TV_ERR_VERIFY;
    size_t sl = t.shaped ? SIGNED_LEN2 : SIGNED_LEN;
    memcpy(buf, t.shaped ? sim_domain2 : sim_domain, sizeof sim_domain);
    memcpy(buf + sizeof sim_domain, ev, sl);
    if (crypto_sign_verify_detached(ev + (t.shaped ? OFF_SIG2 : OFF_SIG), buf,
                                    sizeof sim_domain + sl, pinned_pk) != 0)
        return TV_ERR_VERIFY;
    if (out)
        *out = t;
    return 0;
}

int seal_sim_report_check(const seal_sim_report *rep, const seal_sim_policy *p, const char **why)
{
    const char *w = NULL;
    int r = 0;

    if (!rep || !p)
        return TV_ERR_INVALID;
    if (rep->debug && !p->allow_debug) {
        w = "debug report refused by policy";
        r = TV_ERR_POLICY;
    } else if (p->measurement &&
               sodium_memcmp(rep->measurement, p->measurement, SEAL_SIM_ID_LEN) != 0) {
        w = "measurement does not match the pinned value";
        r = TV_ERR_POLICY;
    } else if (p->signer && sodium_memcmp(rep->signer, p->signer, SEAL_SIM_ID_LEN) != 0) {
        w = "signer does not match the pinned value";
        r = TV_ERR_POLICY;
    } else if (rep->svn < p->min_svn) {
        w = "svn below the minimum";
        r = TV_ERR_POLICY;
    } else if (p->report_data &&
               sodium_memcmp(rep->report_data, p->report_data, SEAL_REPORT_DATA_LEN) != 0) {
        w = "report_data does not match the expected binding";
        r = TV_ERR_INTEGRITY;
    }
    if (why)
        *why = w;
    return r;
}

int seal_sim_verify_verdict(const uint8_t *ev, size_t ev_len, const uint8_t *pinned_pk,
                            size_t pk_len, const seal_verify_policy *policy, seal_verdict *out)
{
    seal_sim_report rep;
    int r;

    if (!out)
        return TV_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->type = SEAL_EV_SIM;
    out->tcb_status = SEAL_TCB_NOT_EVALUATED;
    out->qe_tcb_status = SEAL_TCB_NOT_EVALUATED;
    if (!pinned_pk || pk_len != SEAL_SIM_PK_LEN) {
        snprintf(out->reason, sizeof out->reason, "no sim platform public key pinned");
        return TV_ERR_INVALID;
    }
    if ((r = seal_sim_report_verify(ev, ev_len, pinned_pk, &rep)) < 0) {
        snprintf(out->reason, sizeof out->reason, "%s",
                 r == TV_ERR_FORMAT ? "not a sim report (bad length, magic or version)"
                                    : "sim report signature does not verify with the pinned "
                                      "platform key");
        return r;
    }
    out->signature_ok = 1;
    out->debug = rep.debug;
    out->claims.present =
        SEAL_CLAIM_MEASUREMENT | SEAL_CLAIM_SIGNER | SEAL_CLAIM_SVN | SEAL_CLAIM_REPORT_DATA;
    memcpy(out->claims.measurement, rep.measurement, SEAL_SIM_ID_LEN);
    out->claims.measurement_len = SEAL_SIM_ID_LEN;
    memcpy(out->claims.signer, rep.signer, SEAL_SIM_ID_LEN);
    out->claims.signer_len = SEAL_SIM_ID_LEN;
    out->claims.svn = rep.svn;
    memcpy(out->claims.report_data, rep.report_data, SEAL_REPORT_DATA_LEN);
    out->claims.version = rep.version;
    if (rep.shaped) {
        const uint8_t *s = rep.shape;
        seal_claims *c = &out->claims;
        switch (s[0]) {
        case 1:
            c->sim_shape = SEAL_EV_SGX;
            memcpy(c->mrenclave, s + SH_SGX_MRENCLAVE, 32);
            memcpy(c->mrsigner, s + SH_SGX_MRSIGNER, 32);
            c->isv_prod_id = (uint16_t)(s[SH_SGX_PRODID] << 8 | s[SH_SGX_PRODID + 1]);
            c->isv_svn = (uint16_t)(s[SH_SGX_ISVSVN] << 8 | s[SH_SGX_ISVSVN + 1]);
            c->present |= SEAL_CLAIM_MRENCLAVE | SEAL_CLAIM_MRSIGNER | SEAL_CLAIM_ISV_PROD_ID |
                          SEAL_CLAIM_ISV_SVN;
            break;
        case 2:
            c->sim_shape = SEAL_EV_TDX;
            memcpy(c->mrtd, s + SH_TDX_MRTD, 48);
            memcpy(c->rtmr, s + SH_TDX_RTMR, 4 * 48);
            memcpy(c->mrconfigid, s + SH_TDX_CONFIGID, 48);
            memcpy(c->mrowner, s + SH_TDX_OWNER, 48);
            memcpy(c->mrownerconfig, s + SH_TDX_OWNERCFG, 48);
            c->present |= SEAL_CLAIM_MRTD | SEAL_CLAIM_RTMR | SEAL_CLAIM_MRCONFIGID |
                          SEAL_CLAIM_MROWNER | SEAL_CLAIM_MROWNERCONFIG;
            break;
        default:
            c->sim_shape = SEAL_EV_SNP;
            memcpy(c->measurement, s + SH_SNP_MEAS, 48);
            c->measurement_len = 48;
            memcpy(c->host_data, s + SH_SNP_HOSTDATA, 32);
            memcpy(c->id_key_digest, s + SH_SNP_IDKEY, 48);
            c->reported_tcb = 0;
            for (int i = 0; i < 8; i++)
                c->reported_tcb |= (uint64_t)s[SH_SNP_TCB + i] << (8 * i);
            c->snp_vmpl = (uint32_t)s[SH_SNP_VMPL] << 24 | (uint32_t)s[SH_SNP_VMPL + 1] << 16 |
                          (uint32_t)s[SH_SNP_VMPL + 2] << 8 | s[SH_SNP_VMPL + 3];
            c->svn = (uint32_t)s[SH_SNP_SVN] << 24 | (uint32_t)s[SH_SNP_SVN + 1] << 16 |
                     (uint32_t)s[SH_SNP_SVN + 2] << 8 | s[SH_SNP_SVN + 3];
            c->present |= SEAL_CLAIM_HOST_DATA | SEAL_CLAIM_ID_KEY_DIGEST |
                          SEAL_CLAIM_REPORTED_TCB | SEAL_CLAIM_VMPL;
            break;
        }
    }
    if (rep.debug && !(policy && policy->allow_debug)) {
        snprintf(out->reason, sizeof out->reason, "debug sim report refused by policy");
        return TV_ERR_POLICY;
    }
    out->accepted = 1;
    return 0;
}
