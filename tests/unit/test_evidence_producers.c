/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Evidence producers against fixture trees and a fake dstack agent:
 * the production code of the sim report, gramine-sgx (/dev/attestation
 * stand-in), tsm (configfs-tsm stand-in) and dstack (HTTP on a Unix socket).
 *
 * Fakes stand only where hardware would: a `quote` / `outblob` file holds
 * what the real pseudo-file would generate on read (pre-written with the
 * report_data the test is about to ask for); configfs' `generation` counter
 * is a FIFO served by a thread (one value per open, the second only after
 * `inblob` was written), so the kernel's "increments on write" is real.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "seal_producers.h"
#include "seal_sim_report.h"
#include "tv_fixture.h"
#include "tv_test.h"

static char tmproot[256];

static void mk_tmproot(void)
{
    tv_fx_tmpdir("evprod", tmproot, sizeof tmproot);
}

static void rm_rf(const char *p)
{
    tv_fx_rmtree(p);
}

static void put_file(const char *dir, const char *name, const void *data, size_t len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (tv_fx_write(p, data, len, 0644) != 0) {
        perror(p);
        exit(2);
    }
}

static size_t get_file(const char *dir, const char *name, uint8_t *buf, size_t cap)
{
    char p[512];
    FILE *f;
    size_t n;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (!(f = fopen(p, "rb")))
        return (size_t)-1;
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A quote-shaped SGX v3 blob (header + report body + fake signature bytes). */
#define FAKE_SGX_LEN (48 + 384 + 64)
static void fake_sgx_quote(uint8_t q[FAKE_SGX_LEN], const uint8_t rd[64], int debug, uint16_t svn)
{
    uint8_t *b = q + 48;
    memset(q, 0, FAKE_SGX_LEN);
    put_le16(q, 3);
    put_le16(q + 2, 2);
    put_le32(q + 4, 0);
    b[48] = debug ? 0x06 : 0x04; /* ATTRIBUTES.flags: INIT | DEBUG? | MODE64BIT */
    memset(b + 64, 0xE1, 32);    /* MRENCLAVE */
    memset(b + 128, 0x51, 32);   /* MRSIGNER */
    put_le16(b + 258, svn);
    memcpy(b + 320, rd, 64);
    memset(q + 48 + 384, 0x5A, 64);
}

/* A quote-shaped TDX v4 blob. */
#define FAKE_TDX_LEN (48 + 584 + 32)
static void fake_tdx_quote(uint8_t *q, const uint8_t rd[64], int debug)
{
    uint8_t *b = q + 48;
    memset(q, 0, FAKE_TDX_LEN);
    put_le16(q, 4);
    put_le16(q + 2, 2);
    put_le32(q + 4, 0x81);
    b[120] = debug ? 1 : 0;    /* TD_ATTRIBUTES */
    memset(b + 136, 0x7D, 48); /* MRTD */
    memset(b + 232, 0x0E, 48); /* MROWNER */
    memcpy(b + 520, rd, 64);
}

/* ------------------------------------------------------------------ sim */

static void sim_id(seal_identity *id, int debug, uint16_t svn)
{
    memset(id, 0, sizeof *id);
    memset(id->measurement, 0xAA, 32);
    id->measurement_len = 32;
    memset(id->signer, 0xBB, 32);
    id->signer_len = 32;
    id->svn = svn;
    id->debug = debug;
}

static void test_sim_round_trip(void)
{
    char dir[300];
    uint8_t pk[32], pk2[32], rd[64];
    uint8_t *ev = NULL;
    size_t len = 0;
    seal_identity id;
    seal_sim_report rep;
    const char *why = NULL;
    struct stat st;
    uint8_t meas[32], signer[32];
    seal_sim_policy pol = {0};

    snprintf(dir, sizeof dir, "%s/simplat", tmproot);
    randombytes_buf(rd, sizeof rd);
    sim_id(&id, 0, 7);
    CHECK_EQ_INT(seal_sim_report_produce(dir, &id, rd, &ev, &len), 0);
    CHECK_EQ_INT(len, SEAL_SIM_REPORT_LEN);
    /* The platform key file is created 0600 on first use and reused. */
    {
        char kp[400];
        snprintf(kp, sizeof kp, "%s/%s", dir, SEAL_SIM_PLATFORM_KEY);
        CHECK(stat(kp, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 32);
    }
    CHECK_EQ_INT(seal_sim_platform_pubkey(dir, pk), 0);
    CHECK_EQ_INT(seal_sim_platform_pubkey(dir, pk2), 0);
    CHECK(memcmp(pk, pk2, 32) == 0);
    CHECK(get_file(dir, SEAL_SIM_PLATFORM_PUB, pk2, 32) == 32 && memcmp(pk, pk2, 32) == 0);

    CHECK_EQ_INT(seal_sim_report_verify(ev, len, pk, &rep), 0);
    CHECK(memcmp(rep.measurement, id.measurement, 32) == 0);
    CHECK(memcmp(rep.signer, id.signer, 32) == 0);
    CHECK_EQ_INT(rep.svn, 7);
    CHECK_EQ_INT(rep.debug, 0);
    CHECK(memcmp(rep.report_data, rd, 64) == 0);

    memset(meas, 0xAA, 32);
    memset(signer, 0xBB, 32);
    pol.measurement = meas;
    pol.signer = signer;
    pol.min_svn = 7;
    pol.report_data = rd;
    CHECK_EQ_INT(seal_sim_report_check(&rep, &pol, &why), 0);
    CHECK(why == NULL);
    /* Policy field by field. */
    pol.min_svn = 8;
    CHECK_EQ_INT(seal_sim_report_check(&rep, &pol, &why), TV_ERR_POLICY);
    CHECK(why && strstr(why, "svn"));
    pol.min_svn = 0;
    meas[0] ^= 1;
    CHECK_EQ_INT(seal_sim_report_check(&rep, &pol, &why), TV_ERR_POLICY);
    meas[0] ^= 1;
    signer[31] ^= 1;
    CHECK_EQ_INT(seal_sim_report_check(&rep, &pol, &why), TV_ERR_POLICY);
    signer[31] ^= 1;

    /* Verdict adapter (seal_verify.h shape). */
    {
        seal_verdict v;
        CHECK_EQ_INT(seal_sim_verify_verdict(ev, len, pk, 32, NULL, &v), 0);
        CHECK(v.accepted && v.signature_ok && v.type == SEAL_EV_SIM);
        CHECK(v.claims.measurement_len == 32 && memcmp(v.claims.measurement, meas, 32) == 0);
        CHECK(memcmp(v.claims.report_data, rd, 64) == 0 && v.claims.svn == 7);
        CHECK_EQ_INT(seal_sim_verify_verdict(ev, len, pk, 31, NULL, &v), TV_ERR_INVALID);
        CHECK(!v.accepted);
    }
    free(ev);
}

static void test_sim_refusals(void)
{
    char dir[300], dir2[300];
    uint8_t pk[32], pk_other[32], rd[64], rd2[64];
    uint8_t *ev = NULL, *dbg = NULL;
    size_t len = 0, dlen = 0;
    seal_identity id;
    seal_sim_report rep;
    seal_sim_policy pol = {0};
    const char *why = NULL;

    snprintf(dir, sizeof dir, "%s/simplat", tmproot);
    snprintf(dir2, sizeof dir2, "%s/simplat-other", tmproot);
    randombytes_buf(rd, sizeof rd);
    memcpy(rd2, rd, 64);
    rd2[63] ^= 0x80;
    sim_id(&id, 0, 1);
    CHECK_EQ_INT(seal_sim_report_produce(dir, &id, rd, &ev, &len), 0);
    CHECK_EQ_INT(seal_sim_platform_pubkey(dir, pk), 0);
    CHECK_EQ_INT(seal_sim_platform_pubkey(dir2, pk_other), 0);
    CHECK(memcmp(pk, pk_other, 32) != 0);

    /* Forged signature. */
    ev[SEAL_SIM_REPORT_LEN - 1] ^= 1;
    CHECK_EQ_INT(seal_sim_report_verify(ev, len, pk, &rep), TV_ERR_VERIFY);
    ev[SEAL_SIM_REPORT_LEN - 1] ^= 1;
    CHECK_EQ_INT(seal_sim_report_verify(ev, len, pk, &rep), 0);
    /* Every signed byte matters: measurement, svn, report_data. */
    ev[16] ^= 1;
    CHECK_EQ_INT(seal_sim_report_verify(ev, len, pk, &rep), TV_ERR_VERIFY);
    ev[16] ^= 1;
    ev[13] ^= 1;
    CHECK_EQ_INT(seal_sim_report_verify(ev, len, pk, &rep), TV_ERR_VERIFY);
    ev[13] ^= 1;
    ev[80 + 5] ^= 1; /* changed report_data inside the report */
    CHECK_EQ_INT(seal_sim_report_verify(ev, len, pk, &rep), TV_ERR_VERIFY);
    ev[80 + 5] ^= 1;

    /* Wrong platform key: pinned key differs from the signer. */
    CHECK_EQ_INT(seal_sim_report_verify(ev, len, pk_other, &rep), TV_ERR_VERIFY);
    /* A report re-signed by another platform that names that platform's key
     * is still refused under the pinned key. */
    {
        uint8_t *ev2 = NULL;
        size_t len2 = 0;
        CHECK_EQ_INT(seal_sim_report_produce(dir2, &id, rd, &ev2, &len2), 0);
        CHECK_EQ_INT(seal_sim_report_verify(ev2, len2, pk, &rep), TV_ERR_VERIFY);
        CHECK_EQ_INT(seal_sim_report_verify(ev2, len2, pk_other, &rep), 0);
        free(ev2);
    }

    /* Valid signature, but bound to other report_data (another key/nonce). */
    CHECK_EQ_INT(seal_sim_report_verify(ev, len, pk, &rep), 0);
    pol.report_data = rd2;
    CHECK_EQ_INT(seal_sim_report_check(&rep, &pol, &why), TV_ERR_INTEGRITY);
    CHECK(why && strstr(why, "report_data"));
    pol.report_data = rd;
    CHECK_EQ_INT(seal_sim_report_check(&rep, &pol, &why), 0);

    /* Debug flag: verifies, refused by default policy, allowed on request. */
    sim_id(&id, 1, 1);
    CHECK_EQ_INT(seal_sim_report_produce(dir, &id, rd, &dbg, &dlen), 0);
    CHECK_EQ_INT(seal_sim_report_verify(dbg, dlen, pk, &rep), 0);
    CHECK_EQ_INT(rep.debug, 1);
    CHECK_EQ_INT(seal_sim_report_check(&rep, &pol, &why), TV_ERR_POLICY);
    CHECK(why && strstr(why, "debug"));
    pol.allow_debug = 1;
    CHECK_EQ_INT(seal_sim_report_check(&rep, &pol, &why), 0);
    {
        seal_verdict v;
        seal_verify_policy vp = {0};
        CHECK_EQ_INT(seal_sim_verify_verdict(dbg, dlen, pk, 32, &vp, &v), TV_ERR_POLICY);
        CHECK(!v.accepted && v.signature_ok && v.debug && strstr(v.reason, "debug"));
        vp.allow_debug = 1;
        CHECK_EQ_INT(seal_sim_verify_verdict(dbg, dlen, pk, 32, &vp, &v), 0);
        CHECK_EQ_INT(seal_sim_verify_verdict(ev, len, pk_other, 32, &vp, &v), TV_ERR_VERIFY);
        CHECK(!v.accepted && !v.signature_ok);
    }

    /* Format: truncated, bad magic, reserved flag bits. */
    CHECK_EQ_INT(seal_sim_report_verify(ev, len - 1, pk, &rep), TV_ERR_FORMAT);
    ev[0] ^= 1;
    CHECK_EQ_INT(seal_sim_report_verify(ev, len, pk, &rep), TV_ERR_FORMAT);
    ev[0] ^= 1;
    ev[10] |= 0x80;
    CHECK_EQ_INT(seal_sim_report_parse(ev, len, &rep), TV_ERR_FORMAT);
    ev[10] &= 0x7f;

    /* Identity with the wrong id lengths is a caller bug → INVALID. */
    id.measurement_len = 48;
    CHECK_EQ_INT(seal_sim_report_produce(dir, &id, rd, &dbg, &dlen), TV_ERR_INVALID);
    free(ev);
    free(dbg);
}

static void test_sim_key_file_mode(void)
{
    char dir[300], kp[400];
    uint8_t pk[32];

    snprintf(dir, sizeof dir, "%s/simplat-mode", tmproot);
    CHECK_EQ_INT(seal_sim_platform_pubkey(dir, pk), 0);
    snprintf(kp, sizeof kp, "%s/%s", dir, SEAL_SIM_PLATFORM_KEY);
    CHECK(chmod(kp, 0644) == 0);
    CHECK_EQ_INT(seal_sim_platform_pubkey(dir, pk), TV_ERR_IO);
    CHECK(chmod(kp, 0600) == 0);
    CHECK_EQ_INT(seal_sim_platform_pubkey(dir, pk), 0);
    /* A truncated key file is refused, never regenerated. */
    CHECK(truncate(kp, 31) == 0);
    CHECK_EQ_INT(seal_sim_platform_pubkey(dir, pk), TV_ERR_IO);
    CHECK_EQ_INT(seal_sim_platform_pubkey(NULL, pk), TV_ERR_INVALID);
}

/* The sim backend (seal_backend_open "sim") produces verifiable reports. */
static void test_sim_backend_evidence(void)
{
    char state[300], plat[300], mfile[300];
    seal_options o = {0};
    seal_backend *b = NULL;
    uint8_t rd[64], pk[32];
    uint8_t *ev = NULL;
    size_t len = 0;
    const char *type = NULL;
    seal_identity id;
    seal_sim_report rep;

    snprintf(state, sizeof state, "%s/simstate", tmproot);
    snprintf(plat, sizeof plat, "%s/simplat-backend", tmproot);
    snprintf(mfile, sizeof mfile, "%s/fake-binary", tmproot);
    CHECK(mkdir(state, 0700) == 0);
    put_file(tmproot, "fake-binary", "binary v1", 9);
    o.backend = "sim";
    o.state_dir = state;
    o.root = plat;
    o.sim_measurement_file = mfile;
    o.sim_svn = 4;
    CHECK_EQ_INT(seal_backend_open(&o, &b), 0);
    if (!b)
        return;
    randombytes_buf(rd, sizeof rd);
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), 0);
    CHECK(type && strcmp(type, "sim") == 0);
    CHECK_EQ_INT(seal_sim_platform_pubkey(plat, pk), 0);
    CHECK_EQ_INT(seal_sim_report_verify(ev, len, pk, &rep), 0);
    CHECK_EQ_INT(seal_identity_get(b, &id), 0);
    CHECK(memcmp(rep.measurement, id.measurement, 32) == 0 && rep.svn == 4 && !rep.debug);
    CHECK(memcmp(rep.report_data, rd, 64) == 0);
    {
        uint8_t h[32];
        crypto_hash_sha256(h, (const uint8_t *)"binary v1", 9);
        CHECK(memcmp(rep.measurement, h, 32) == 0);
    }
    free(ev);
    seal_backend_free(b);
    /* The other names dispatch to their producers. */
    o.backend = "tsm";
    o.root = "/nonexistent/tsm";
    CHECK_EQ_INT(seal_backend_open(&o, &b), TV_ERR_IO);
    o.backend = "gramine-sgx";
    o.root = "/nonexistent/attestation";
    CHECK_EQ_INT(seal_backend_open(&o, &b), TV_ERR_IO);
    o.backend = "dstack";
    o.root = "/nonexistent/dstack.sock";
    CHECK_EQ_INT(seal_backend_open(&o, &b), 0);
    seal_backend_free(b);
}

/* -------------------------------------------------------------- gramine */

static void test_gramine(void)
{
    char root[300], keys[320];
    seal_options o = {0};
    seal_backend *b = NULL;
    uint8_t rd[64], zero[64] = {0}, q[FAKE_SGX_LEN], urd[128];
    uint8_t *ev = NULL;
    size_t len = 0;
    const char *type = NULL;
    seal_identity id;
    uint8_t k1[SEAL_KEY_LEN], k2[SEAL_KEY_LEN], k3[SEAL_KEY_LEN], raw[16];

    snprintf(root, sizeof root, "%s/attestation", tmproot);
    snprintf(keys, sizeof keys, "%s/keys", root);
    CHECK(mkdir(root, 0700) == 0 && mkdir(keys, 0700) == 0);
    o.backend = "gramine-sgx";
    o.root = root;

    /* Missing pseudo-files → IO. */
    CHECK_EQ_INT(seal_backend_gramine_open(&o, &b), TV_ERR_IO);
    put_file(root, "user_report_data", "", 0);
    put_file(root, "attestation_type", "epid\n", 5);
    fake_sgx_quote(q, zero, 0, 3);
    put_file(root, "quote", q, sizeof q);
    /* Gramine without DCAP → UNAVAILABLE. */
    CHECK_EQ_INT(seal_backend_gramine_open(&o, &b), TV_ERR_UNAVAILABLE);
    put_file(root, "attestation_type", "dcap\n", 5);
    CHECK_EQ_INT(seal_backend_gramine_open(&o, &b), 0);
    if (!b)
        return;
    CHECK(strcmp(b->ops->name, "gramine-sgx") == 0 && b->ops->hardware_protected);

    /* Identity from the quote's report body. */
    CHECK_EQ_INT(seal_identity_get(b, &id), 0);
    CHECK_EQ_INT(id.measurement_len, 32);
    CHECK(id.measurement[0] == 0xE1 && id.signer[31] == 0x51);
    CHECK_EQ_INT(id.svn, 3);
    CHECK_EQ_INT(id.debug, 0);

    /* Evidence: report_data goes to user_report_data, the quote comes back. */
    randombytes_buf(rd, sizeof rd);
    fake_sgx_quote(q, rd, 0, 3);
    put_file(root, "quote", q, sizeof q);
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), 0);
    CHECK(ev && len == sizeof q && memcmp(ev, q, len) == 0);
    CHECK(type && strcmp(type, "sgx") == 0);
    CHECK(get_file(root, "user_report_data", urd, sizeof urd) == 64 && memcmp(urd, rd, 64) == 0);
    free(ev);
    ev = NULL;
    /* A quote binding other report_data (stale or substituted) → INTEGRITY. */
    rd[0] ^= 1;
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), TV_ERR_INTEGRITY);
    CHECK(ev == NULL);
    /* Not a quote at all → FORMAT. */
    put_file(root, "quote", "garbage", 7);
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), TV_ERR_FORMAT);

    /* Sealing keys: 16-byte EGETKEY keys expanded with HKDF-SHA256. */
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_MEASUREMENT, 0, k1), TV_ERR_IO); /* no key file */
    memset(raw, 0x11, 16);
    put_file(keys, "_sgx_mrenclave", raw, 16);
    memset(raw, 0x22, 16);
    put_file(keys, "_sgx_mrsigner", raw, 16);
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_MEASUREMENT, 0, k1), 0);
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_MEASUREMENT, 0, k2), 0);
    CHECK(memcmp(k1, k2, SEAL_KEY_LEN) == 0);
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_SIGNER, 3, k3), 0);
    CHECK(memcmp(k1, k3, SEAL_KEY_LEN) != 0);
    memset(raw, 0x11, 16);
    CHECK_EQ_INT(seal_hkdf_sha256(raw, 16, "gramine-sgx/mrenclave/0", k2), 0);
    CHECK(memcmp(k1, k2, SEAL_KEY_LEN) == 0);
    /* Another enclave (another hardware key) → another sealing key. */
    raw[0] ^= 1;
    put_file(keys, "_sgx_mrenclave", raw, 16);
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_MEASUREMENT, 0, k2), 0);
    CHECK(memcmp(k1, k2, SEAL_KEY_LEN) != 0);
    /* Gramine cannot derive another SVN's signer key. */
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_SIGNER, 2, k3), TV_ERR_UNIMPLEMENTED);
    /* Wrong key size → FORMAT. */
    put_file(keys, "_sgx_mrenclave", raw, 15);
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_MEASUREMENT, 0, k2), TV_ERR_FORMAT);
    seal_backend_free(b);
}

/* ------------------------------------------------------------------ tsm */

struct gen_server {
    char entry[400];
    uint64_t first, second; /* values served on the two opens */
    int done, ok;
};

/* Serve one value on the generation FIFO: wait (5 s) for the reader. */
static int serve_fifo_once(const char *path, const char *text)
{
    struct timespec ts = {0, 1000000};
    for (int i = 0; i < 5000; i++) {
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t k;
            int fl = fcntl(fd, F_GETFL);
            (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
            k = write(fd, text, strlen(text));
            close(fd);
            return k == (ssize_t)strlen(text) ? 0 : -1;
        }
        if (errno != ENXIO)
            return -1;
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void *gen_thread(void *arg)
{
    struct gen_server *g = arg;
    char path[450], in[450], text[32];
    struct stat st;
    struct timespec ts = {0, 1000000};
    int i;

    snprintf(path, sizeof path, "%s/generation", g->entry);
    snprintf(in, sizeof in, "%s/inblob", g->entry);
    snprintf(text, sizeof text, "%llu\n", (unsigned long long)g->first);
    if (serve_fifo_once(path, text) != 0)
        goto out;
    /* The kernel bumps generation on the inblob write; serve the next value
     * only once inblob holds the 64 bytes (so the first reader is gone). */
    for (i = 0; i < 5000; i++) {
        if (stat(in, &st) == 0 && st.st_size == 64)
            break;
        nanosleep(&ts, NULL);
    }
    if (i == 5000)
        goto out;
    snprintf(text, sizeof text, "%llu\n", (unsigned long long)g->second);
    if (serve_fifo_once(path, text) != 0)
        goto out;
    g->ok = 1;
out:
    g->done = 1;
    return NULL;
}

/* Make a fake configfs entry: inblob (empty), outblob (pre-written), provider,
 * generation (a FIFO when fifo, else a constant regular file "5"). */
static void make_entry(const char *entry, const char *provider, const uint8_t *outblob,
                       size_t outlen, int fifo)
{
    char p[450];
    CHECK(mkdir(entry, 0700) == 0 || errno == EEXIST);
    put_file(entry, "inblob", "", 0);
    put_file(entry, "outblob", outblob, outlen);
    put_file(entry, "provider", provider, strlen(provider));
    snprintf(p, sizeof p, "%s/generation", entry);
    unlink(p);
    if (fifo)
        CHECK(mkfifo(p, 0600) == 0);
    else
        put_file(entry, "generation", "5\n", 2);
}

static int run_in_entry(const char *entry, uint64_t g0, uint64_t g1, const uint8_t rd[64],
                        uint8_t **ev, size_t *len, const char **type)
{
    struct gen_server g = {0};
    pthread_t th;
    int r;

    snprintf(g.entry, sizeof g.entry, "%s", entry);
    g.first = g0;
    g.second = g1;
    pthread_create(&th, NULL, gen_thread, &g);
    r = seal_tsm_report_in_entry(entry, rd, ev, len, type);
    pthread_join(th, NULL);
    return r;
}

static void test_tsm_entry(void)
{
    char entry[400];
    uint8_t rd[64], q[FAKE_TDX_LEN], in[128];
    uint8_t *ev = NULL;
    size_t len = 0;
    const char *type = NULL;

    snprintf(entry, sizeof entry, "%s/tsm-entry", tmproot);
    randombytes_buf(rd, sizeof rd);
    fake_tdx_quote(q, rd, 0);

    /* Generation incremented exactly once → the outblob is ours. */
    make_entry(entry, "tdx_guest\n", q, sizeof q, 1);
    CHECK_EQ_INT(run_in_entry(entry, 41, 42, rd, &ev, &len, &type), 0);
    CHECK(ev && len == sizeof q && memcmp(ev, q, len) == 0);
    CHECK(type && strcmp(type, "tdx") == 0);
    CHECK(get_file(entry, "inblob", in, sizeof in) == 64 && memcmp(in, rd, 64) == 0);
    free(ev);
    ev = NULL;

    /* Another writer in between (generation +2) → UNAVAILABLE. */
    make_entry(entry, "tdx_guest\n", q, sizeof q, 1);
    CHECK_EQ_INT(run_in_entry(entry, 41, 43, rd, &ev, &len, &type), TV_ERR_UNAVAILABLE);
    CHECK(ev == NULL);
    /* Generation unchanged (nobody saw our write) → UNAVAILABLE. */
    make_entry(entry, "tdx_guest\n", q, sizeof q, 0);
    CHECK_EQ_INT(seal_tsm_report_in_entry(entry, rd, &ev, &len, &type), TV_ERR_UNAVAILABLE);

    /* Unknown provider → FORMAT; SNP provider maps to "snp" and parses a report. */
    make_entry(entry, "mystery_tsm\n", q, sizeof q, 1);
    CHECK_EQ_INT(run_in_entry(entry, 1, 2, rd, &ev, &len, &type), TV_ERR_FORMAT);
    {
        uint8_t snp[0x4A0];
        memset(snp, 0, sizeof snp);
        put_le32(snp, 2);
        memcpy(snp + 0x50, rd, 64);
        memset(snp + 0x90, 0x3C, 48);
        make_entry(entry, "sev_guest\n", snp, sizeof snp, 1);
        CHECK_EQ_INT(run_in_entry(entry, 1, 2, rd, &ev, &len, &type), 0);
        CHECK(type && strcmp(type, "snp") == 0 && len == sizeof snp);
        free(ev);
        ev = NULL;
        /* With an auxblob (certificate table) the evidence is report || table. */
        make_entry(entry, "sev_guest\n", snp, sizeof snp, 1);
        put_file(entry, "auxblob", "CERTTABLE", 9);
        CHECK_EQ_INT(run_in_entry(entry, 1, 2, rd, &ev, &len, &type), 0);
        CHECK(len == sizeof snp + 9 && memcmp(ev, snp, sizeof snp) == 0 &&
              memcmp(ev + sizeof snp, "CERTTABLE", 9) == 0);
        free(ev);
        ev = NULL;
        {
            char p[450];
            snprintf(p, sizeof p, "%s/auxblob", entry);
            unlink(p);
        }
    }
    /* outblob binding other report_data → INTEGRITY. */
    rd[1] ^= 1;
    make_entry(entry, "tdx_guest\n", q, sizeof q, 1);
    CHECK_EQ_INT(run_in_entry(entry, 1, 2, rd, &ev, &len, &type), TV_ERR_INTEGRITY);
    rd[1] ^= 1;
    /* Empty outblob → FORMAT; missing attribute → IO. */
    make_entry(entry, "tdx_guest\n", q, 0, 1);
    CHECK_EQ_INT(run_in_entry(entry, 1, 2, rd, &ev, &len, &type), TV_ERR_FORMAT);
    CHECK_EQ_INT(seal_tsm_report_in_entry("/nonexistent/tsm", rd, &ev, &len, &type), TV_ERR_IO);
}

/* The full backend path: mkdir of "teevault-<pid>-<n>" under root, report,
 * rmdir. The fixture pre-creates the entry (the backend reuses an existing
 * one) because a plain directory has no attributes after mkdir. */
static unsigned tsm_next_n; /* mirrors the backend's process-wide counter */

static void test_tsm_backend(void)
{
    char root[300], entry[400];
    seal_options o = {0};
    seal_backend *b = NULL;
    uint8_t rd[64], zero[64] = {0}, q[FAKE_TDX_LEN], key[SEAL_KEY_LEN];
    uint8_t *ev = NULL;
    size_t len = 0;
    const char *type = NULL;
    seal_identity id;
    struct gen_server g = {0};
    pthread_t th;
    int r;

    snprintf(root, sizeof root, "%s/tsm", tmproot);
    o.backend = "tsm";
    o.root = root;
    CHECK_EQ_INT(seal_backend_tsm_open(&o, &b), TV_ERR_IO); /* root missing */
    CHECK(mkdir(root, 0700) == 0);
    CHECK_EQ_INT(seal_backend_tsm_open(&o, &b), 0);
    if (!b)
        return;
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_SIGNER, 0, key), TV_ERR_UNIMPLEMENTED);

    randombytes_buf(rd, sizeof rd);
    fake_tdx_quote(q, rd, 0);
    snprintf(entry, sizeof entry, "%s/teevault-%ld-%u", root, (long)getpid(), tsm_next_n);
    make_entry(entry, "tdx_guest\n", q, sizeof q, 1);
    snprintf(g.entry, sizeof g.entry, "%s", entry);
    g.first = 7;
    g.second = 8;
    pthread_create(&th, NULL, gen_thread, &g);
    r = b->ops->evidence(b, rd, &ev, &len, &type);
    pthread_join(th, NULL);
    tsm_next_n++;
    CHECK_EQ_INT(r, 0);
    CHECK(g.ok);
    CHECK(ev && len == sizeof q && memcmp(ev, q, len) == 0 && strcmp(type, "tdx") == 0);
    free(ev);
    ev = NULL;

    /* Identity: a report over zero report_data, parsed (MRTD, TD debug bit). */
    fake_tdx_quote(q, zero, 1);
    snprintf(entry, sizeof entry, "%s/teevault-%ld-%u", root, (long)getpid(), tsm_next_n);
    make_entry(entry, "tdx_guest\n", q, sizeof q, 1);
    memset(&g, 0, sizeof g);
    snprintf(g.entry, sizeof g.entry, "%s", entry);
    g.first = 0;
    g.second = 1;
    pthread_create(&th, NULL, gen_thread, &g);
    r = seal_identity_get(b, &id);
    pthread_join(th, NULL);
    tsm_next_n++;
    CHECK_EQ_INT(r, 0);
    CHECK(id.measurement_len == 48 && id.measurement[0] == 0x7D && id.debug == 1);

    /* Conflicts on every attempt: retried on fresh entries, then UNAVAILABLE. */
    fake_tdx_quote(q, rd, 0);
    for (unsigned i = 0; i < 3; i++) {
        snprintf(entry, sizeof entry, "%s/teevault-%ld-%u", root, (long)getpid(), tsm_next_n + i);
        make_entry(entry, "tdx_guest\n", q, sizeof q, 0);
    }
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), TV_ERR_UNAVAILABLE);
    for (unsigned i = 0; i < 3; i++) {
        uint8_t in[128];
        snprintf(entry, sizeof entry, "%s/teevault-%ld-%u", root, (long)getpid(), tsm_next_n + i);
        CHECK(get_file(entry, "inblob", in, sizeof in) == 64 && memcmp(in, rd, 64) == 0);
    }
    tsm_next_n += 3;
    seal_backend_free(b);
}

/* --------------------------------------------------------------- dstack */

enum ds_mode { DS_OK, DS_CHUNKED, DS_500, DS_BADJSON, DS_WRONG_RD, DS_HUGE };

struct ds_server {
    int lfd;
    volatile int stop;
    volatile enum ds_mode mode;
    char last_target[512];
    int requests;
};

static void ds_reply(int fd, const char *status, const char *body, int chunked)
{
    char head[256];
    size_t blen = strlen(body);
    if (chunked) {
        size_t half = blen / 2;
        char c1[32], c2[32];
        snprintf(head, sizeof head,
                 "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n",
                 status);
        (void)!write(fd, head, strlen(head));
        snprintf(c1, sizeof c1, "%zx\r\n", half);
        (void)!write(fd, c1, strlen(c1));
        (void)!write(fd, body, half);
        (void)!write(fd, "\r\n", 2);
        snprintf(c2, sizeof c2, "%zX;ext=1\r\n", blen - half);
        (void)!write(fd, c2, strlen(c2));
        (void)!write(fd, body + half, blen - half);
        (void)!write(fd, "\r\n0\r\n\r\n", 7);
        return;
    }
    snprintf(head, sizeof head,
             "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n", status,
             blen);
    (void)!write(fd, head, strlen(head));
    (void)!write(fd, body, blen);
}

static void ds_handle(struct ds_server *s, int fd)
{
    char req[2048];
    size_t n = 0;
    char *sp, *sp2;

    while (n < sizeof req - 1) {
        ssize_t k = read(fd, req + n, sizeof req - 1 - n);
        if (k <= 0)
            return;
        n += (size_t)k;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    s->requests++;
    sp = strchr(req, ' ');
    sp2 = sp ? strchr(sp + 1, ' ') : NULL;
    if (!sp || !sp2)
        return;
    *sp2 = 0;
    snprintf(s->last_target, sizeof s->last_target, "%s", sp + 1);

    if (s->mode == DS_500) {
        ds_reply(fd, "500 Internal Server Error", "{\"error\":\"no\"}", 0);
    } else if (s->mode == DS_BADJSON) {
        ds_reply(fd, "200 OK", "{\"quote\": 12,", 0);
    } else if (strncmp(sp + 1, "/GetQuote?report_data=", 22) == 0) {
        uint8_t rd[64], q[FAKE_TDX_LEN];
        size_t rdl = 0;
        char *body, *hex;
        const char *hx = sp + 1 + 22;
        if (sodium_hex2bin(rd, 64, hx, strlen(hx), NULL, &rdl, NULL) != 0 || rdl != 64) {
            ds_reply(fd, "400 Bad Request", "{\"error\":\"report_data\"}", 0);
            return;
        }
        if (s->mode == DS_WRONG_RD)
            rd[0] ^= 1;
        fake_tdx_quote(q, rd, 0);
        if (s->mode == DS_HUGE) {
            /* A body far beyond the client's cap: the client must stop. */
            static char big[1024];
            char head[128];
            memset(big, 'a', sizeof big);
            snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n");
            (void)!write(fd, head, strlen(head));
            for (int i = 0; i < 1024; i++)
                if (write(fd, big, sizeof big) < 0)
                    break;
            return;
        }
        hex = malloc(2 * sizeof q + 1);
        body = malloc(2 * sizeof q + 256);
        sodium_bin2hex(hex, 2 * sizeof q + 1, q, sizeof q);
        sprintf(body, "{\"quote\":\"%s\",\"event_log\":\"[]\",\"report_data\":\"%s\"}", hex, hx);
        ds_reply(fd, "200 OK", body, s->mode == DS_CHUNKED);
        free(hex);
        free(body);
    } else if (strncmp(sp + 1, "/GetKey?", 8) == 0) {
        /* key = SHA-256(target): lets the test see which path was asked. */
        uint8_t k[32];
        char hex[65], body[200];
        crypto_hash_sha256(k, (const uint8_t *)(sp + 1), strlen(sp + 1));
        sodium_bin2hex(hex, sizeof hex, k, sizeof k);
        snprintf(body, sizeof body, "{\"key\":\"0x%s\",\"signature_chain\":[]}", hex);
        ds_reply(fd, "200 OK", body, s->mode == DS_CHUNKED);
    } else {
        ds_reply(fd, "404 Not Found", "{}", 0);
    }
}

static void *ds_thread(void *arg)
{
    struct ds_server *s = arg;
    while (!s->stop) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN};
        int fd;
        if (poll(&p, 1, 50) <= 0)
            continue;
        fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        ds_handle(s, fd);
        close(fd);
    }
    return NULL;
}

static void test_dstack(void)
{
    char sock[300];
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct ds_server s = {0};
    pthread_t th;
    seal_options o = {0};
    seal_backend *b = NULL;
    uint8_t rd[64], k1[SEAL_KEY_LEN], k2[SEAL_KEY_LEN], k3[SEAL_KEY_LEN];
    uint8_t *ev = NULL;
    size_t len = 0;
    const char *type = NULL;
    seal_identity id;

    snprintf(sock, sizeof sock, "%s/dstack.sock", tmproot);
    o.backend = "dstack";
    o.root = sock;
    CHECK_EQ_INT(seal_backend_dstack_open(&o, &b), 0);
    if (!b)
        return;
    randombytes_buf(rd, sizeof rd);
    /* No agent listening → UNAVAILABLE. */
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), TV_ERR_UNAVAILABLE);

    CHECK(strlen(sock) < sizeof a.sun_path);
    memcpy(a.sun_path, sock, strlen(sock) + 1);
    s.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(s.lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(s.lfd, 8) == 0);
    pthread_create(&th, NULL, ds_thread, &s);

    s.mode = DS_OK;
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), 0);
    CHECK(ev && len == FAKE_TDX_LEN && memcmp(ev + 48 + 520, rd, 64) == 0);
    CHECK(type && strcmp(type, "tdx") == 0);
    {
        char want[200];
        memcpy(want, "/GetQuote?report_data=", 22);
        sodium_bin2hex(want + 22, sizeof want - 22, rd, 64);
        CHECK(strcmp(s.last_target, want) == 0);
    }
    free(ev);
    ev = NULL;
    s.mode = DS_CHUNKED;
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), 0);
    CHECK(ev && len == FAKE_TDX_LEN && memcmp(ev + 48 + 520, rd, 64) == 0);
    free(ev);
    ev = NULL;

    s.mode = DS_OK;
    CHECK_EQ_INT(seal_identity_get(b, &id), 0);
    CHECK(id.measurement_len == 48 && id.measurement[47] == 0x7D && id.debug == 0);

    /* Keys: GetKey's hex key, expanded; policies and SVNs give different keys. */
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_MEASUREMENT, 0, k1), 0);
    CHECK(strcmp(s.last_target, "/GetKey?path=teevault/seal/measurement&purpose=teevault-seal") ==
          0);
    {
        uint8_t raw[32];
        const char *t = "/GetKey?path=teevault/seal/measurement&purpose=teevault-seal";
        crypto_hash_sha256(raw, (const uint8_t *)t, strlen(t));
        CHECK_EQ_INT(seal_hkdf_sha256(raw, 32, "teevault/seal/measurement", k2), 0);
        CHECK(memcmp(k1, k2, SEAL_KEY_LEN) == 0);
    }
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_SIGNER, 1, k2), 0);
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_SIGNER, 2, k3), 0);
    CHECK(memcmp(k1, k2, SEAL_KEY_LEN) != 0 && memcmp(k2, k3, SEAL_KEY_LEN) != 0);
    s.mode = DS_CHUNKED;
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_SIGNER, 2, k1), 0);
    CHECK(memcmp(k1, k3, SEAL_KEY_LEN) == 0);

    /* Failures: HTTP error, malformed JSON, quote over other report_data,
     * a response beyond the cap. */
    s.mode = DS_500;
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), TV_ERR_UNAVAILABLE);
    CHECK_EQ_INT(seal_get_key(b, SEAL_POLICY_SIGNER, 2, k1), TV_ERR_UNAVAILABLE);
    s.mode = DS_BADJSON;
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), TV_ERR_PROTOCOL);
    s.mode = DS_WRONG_RD;
    CHECK_EQ_INT(b->ops->evidence(b, rd, &ev, &len, &type), TV_ERR_INTEGRITY);
    s.mode = DS_HUGE;
    {
        int r = b->ops->evidence(b, rd, &ev, &len, &type);
        CHECK(r == TV_ERR_TOO_LARGE || r == TV_ERR_PROTOCOL);
    }
    CHECK(ev == NULL);

    s.stop = 1;
    pthread_join(th, NULL);
    close(s.lfd);
    seal_backend_free(b);
    /* Socket path longer than sun_path → INVALID. */
    {
        char longp[200];
        memset(longp, 'x', sizeof longp - 1);
        longp[sizeof longp - 1] = 0;
        o.root = longp;
        CHECK_EQ_INT(seal_backend_dstack_open(&o, &b), TV_ERR_INVALID);
    }
}

/* ------------------------------------------------- evidence identity parse */

static void test_identity_parse(void)
{
    uint8_t rd[64], q[FAKE_TDX_LEN], s[FAKE_SGX_LEN];
    seal_identity id;
    const uint8_t *p = NULL;

    memset(rd, 0x42, 64);
    fake_sgx_quote(s, rd, 1, 9);
    CHECK_EQ_INT(seal_evidence_identity("sgx", s, sizeof s, &id, &p), 0);
    CHECK(id.debug == 1 && id.svn == 9 && p == s + 48 + 320);
    CHECK_EQ_INT(seal_evidence_identity("sgx", s, 431, &id, &p), TV_ERR_FORMAT);
    CHECK_EQ_INT(seal_evidence_identity("tdx", s, sizeof s, &id, &p), TV_ERR_FORMAT);
    fake_tdx_quote(q, rd, 0);
    CHECK_EQ_INT(seal_evidence_identity("tdx", q, sizeof q, &id, &p), 0);
    CHECK_EQ_INT(seal_evidence_identity("tdx", q, 48 + 583, &id, &p), TV_ERR_FORMAT);
    /* v5 with a TD 1.0 body descriptor. */
    {
        uint8_t v5[48 + 6 + 584];
        memcpy(v5, q, 48);
        put_le16(v5, 5);
        put_le16(v5 + 48, 2);
        put_le32(v5 + 50, 584);
        memcpy(v5 + 54, q + 48, 584);
        CHECK_EQ_INT(seal_evidence_identity("tdx", v5, sizeof v5, &id, &p), 0);
        CHECK(p == v5 + 54 + 520 && id.measurement[0] == 0x7D);
        put_le32(v5 + 50, 9999); /* body size beyond the buffer */
        CHECK_EQ_INT(seal_evidence_identity("tdx", v5, sizeof v5, &id, &p), TV_ERR_FORMAT);
    }
    CHECK_EQ_INT(seal_evidence_identity("nope", q, sizeof q, &id, &p), TV_ERR_INVALID);
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    /* The fake agent writes into sockets the client may have closed (the
     * over-cap response): EPIPE there is expected, not fatal. */
    signal(SIGPIPE, SIG_IGN);
    mk_tmproot();
    RUN(test_sim_round_trip);
    RUN(test_sim_refusals);
    RUN(test_sim_key_file_mode);
    RUN(test_sim_backend_evidence);
    RUN(test_gramine);
    RUN(test_tsm_entry);
    RUN(test_tsm_backend);
    RUN(test_dstack);
    RUN(test_identity_parse);
    rm_rf(tmproot);
    return tv_test_finish();
}
