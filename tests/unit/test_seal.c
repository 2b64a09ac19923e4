/* SPDX-License-Identifier: Apache-2.0 */
/* seal/: the sim backend and the sealed-blob format. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "seal_blob.h"
#include "tv_fixture.h"
#include "tv_test.h"

static char g_dir[256];
static char g_mfile_a[300], g_mfile_b[300];

static void write_file(const char *path, const char *content)
{
    if (tv_fx_write(path, content, strlen(content), 0600) != 0)
        abort();
}

static seal_backend *open_sim(const char *mfile, const char *signer, uint16_t svn)
{
    seal_options o = {.backend = "sim",
                      .state_dir = g_dir,
                      .sim_signer = signer,
                      .sim_svn = svn,
                      .sim_measurement_file = mfile};
    seal_backend *b = NULL;
    int r = seal_backend_open(&o, &b);
    CHECK_EQ_INT(r, 0);
    return r == 0 ? b : NULL;
}

static void test_key_file(void)
{
    char path[400];
    struct stat st;
    seal_backend *b = open_sim(NULL, NULL, 1);
    CHECK(b != NULL);
    snprintf(path, sizeof(path), "%s/sim-sealing.key", g_dir);
    CHECK_EQ_INT(stat(path, &st), 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    CHECK_EQ_INT(st.st_size, 32);
    CHECK_EQ_INT(b->ops->hardware_protected, 0);
    CHECK(strstr(seal_sim_warning, "NO hardware protection") != NULL);

    /* Default measurement is the running executable (/proc/self/exe). */
    seal_identity id;
    CHECK_EQ_INT(seal_identity_get(b, &id), 0);
    CHECK_EQ_INT(id.measurement_len, 32);
    CHECK_EQ_INT(id.svn, 1);
    uint8_t sig[32];
    crypto_hash_sha256(sig, (const uint8_t *)"teevault-sim-signer", 19);
    CHECK(memcmp(id.signer, sig, 32) == 0);

    seal_backend_free(b);

    /* A group-readable key file is refused, not used. */
    CHECK_EQ_INT(chmod(path, 0640), 0);
    seal_options o = {.backend = "sim", .state_dir = g_dir};
    b = NULL;
    CHECK_EQ_INT(seal_backend_open(&o, &b), TV_ERR_IO);
    CHECK_EQ_INT(chmod(path, 0600), 0);
    /* A file of the wrong size is refused. */
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(write(fd, "x", 1) == 1);
    close(fd);
    CHECK_EQ_INT(seal_backend_open(&o, &b), TV_ERR_IO);
    CHECK_EQ_INT(truncate(path, 32), 0);
    CHECK_EQ_INT(seal_backend_open(&o, &b), 0);
    seal_backend_free(b);

    /* Unknown backend. */
    seal_options o2 = {.backend = "nope", .state_dir = g_dir};
    CHECK_EQ_INT(seal_backend_open(&o2, &b), TV_ERR_INVALID);
}

static void roundtrip(seal_backend *b, enum seal_policy pol)
{
    const char *msg = "root key material 0123456789abcdef";
    const uint8_t ad[] = "teevault/rk/v1";
    uint8_t *blob = NULL, *pt = NULL;
    size_t blen = 0, plen = 0;
    CHECK_EQ_INT(
        seal_blob_seal(b, pol, ad, sizeof(ad), (const uint8_t *)msg, strlen(msg), &blob, &blen), 0);
    CHECK_EQ_INT(blen, strlen(msg) + SEAL_BLOB_OVERHEAD);
    CHECK(memmem(blob, blen, msg, strlen(msg)) == NULL);
    CHECK_EQ_INT(seal_blob_unseal(b, blob, blen, ad, sizeof(ad), &pt, &plen), 0);
    CHECK_EQ_INT(plen, strlen(msg));
    CHECK(pt && memcmp(pt, msg, plen) == 0);
    seal_blob_free_pt(pt);

    enum seal_policy p2;
    uint16_t svn;
    CHECK_EQ_INT(seal_blob_peek(blob, blen, &p2, &svn), 0);
    CHECK_EQ_INT(p2, pol);

    /* Wrong associated data. */
    pt = NULL;
    CHECK_EQ_INT(seal_blob_unseal(b, blob, blen, (const uint8_t *)"other", 5, &pt, &plen),
                 TV_ERR_SEALED);
    CHECK(pt == NULL);
    /* Every single-byte corruption of the blob is refused (header included). */
    int refused = 0;
    for (size_t i = 0; i < blen; i++) {
        blob[i] ^= 0x01;
        int r = seal_blob_unseal(b, blob, blen, ad, sizeof(ad), &pt, &plen);
        if (r == TV_ERR_SEALED || r == TV_ERR_FORMAT)
            refused++;
        else
            seal_blob_free_pt(pt);
        blob[i] ^= 0x01;
    }
    CHECK_EQ_INT(refused, blen);
    /* Truncation. */
    CHECK_EQ_INT(seal_blob_unseal(b, blob, blen - 1, ad, sizeof(ad), &pt, &plen), TV_ERR_SEALED);
    CHECK_EQ_INT(seal_blob_unseal(b, blob, 10, ad, sizeof(ad), &pt, &plen), TV_ERR_FORMAT);
    /* Empty plaintext works. */
    free(blob);
    CHECK_EQ_INT(seal_blob_seal(b, pol, NULL, 0, NULL, 0, &blob, &blen), 0);
    CHECK_EQ_INT(seal_blob_unseal(b, blob, blen, NULL, 0, &pt, &plen), 0);
    CHECK_EQ_INT(plen, 0);
    seal_blob_free_pt(pt);
    free(blob);
}

static void test_roundtrip_both_policies(void)
{
    seal_backend *b = open_sim(g_mfile_a, NULL, 2);
    if (!b)
        return;
    roundtrip(b, SEAL_POLICY_SIGNER);
    roundtrip(b, SEAL_POLICY_MEASUREMENT);
    uint8_t *blob;
    size_t blen;
    CHECK_EQ_INT(seal_blob_seal(b, (enum seal_policy)7, NULL, 0, NULL, 0, &blob, &blen),
                 TV_ERR_INVALID);
    seal_backend_free(b);
}

static void test_other_measurement(void)
{
    const char *msg = "secret";
    uint8_t *bs = NULL, *bm = NULL, *pt = NULL;
    size_t ls = 0, lm = 0, plen = 0;
    seal_backend *a = open_sim(g_mfile_a, "signer-1", 3);
    if (!a)
        return;
    CHECK_EQ_INT(seal_blob_seal(a, SEAL_POLICY_SIGNER, NULL, 0, (const uint8_t *)msg, 6, &bs, &ls),
                 0);
    CHECK_EQ_INT(
        seal_blob_seal(a, SEAL_POLICY_MEASUREMENT, NULL, 0, (const uint8_t *)msg, 6, &bm, &lm), 0);
    seal_backend_free(a);

    /* Same signer, newer binary (other measurement, higher SVN). */
    seal_backend *b = open_sim(g_mfile_b, "signer-1", 4);
    CHECK_EQ_INT(seal_blob_unseal(b, bm, lm, NULL, 0, &pt, &plen), TV_ERR_SEALED);
    CHECK_EQ_INT(seal_blob_unseal(b, bs, ls, NULL, 0, &pt, &plen), 0);
    CHECK(plen == 6 && memcmp(pt, msg, 6) == 0);
    seal_blob_free_pt(pt);
    seal_backend_free(b);

    /* Same signer, older SVN: refused (like EGETKEY). */
    seal_backend *c = open_sim(g_mfile_b, "signer-1", 2);
    CHECK_EQ_INT(seal_blob_unseal(c, bs, ls, NULL, 0, &pt, &plen), TV_ERR_SEALED);
    uint8_t *k = sodium_malloc(32);
    CHECK_EQ_INT(seal_get_key(c, SEAL_POLICY_SIGNER, 3, k), TV_ERR_SEALED);
    CHECK_EQ_INT(seal_get_key(c, SEAL_POLICY_SIGNER, 2, k), 0);
    sodium_free(k);
    seal_backend_free(c);

    /* Other signer, same measurement: signer policy fails, measurement works. */
    seal_backend *d = open_sim(g_mfile_a, "signer-2", 3);
    CHECK_EQ_INT(seal_blob_unseal(d, bs, ls, NULL, 0, &pt, &plen), TV_ERR_SEALED);
    CHECK_EQ_INT(seal_blob_unseal(d, bm, lm, NULL, 0, &pt, &plen), 0);
    seal_blob_free_pt(pt);
    seal_backend_free(d);

    /* Another sealing key file (new machine): nothing unseals. */
    char path[400];
    snprintf(path, sizeof(path), "%s/sim-sealing.key", g_dir);
    CHECK_EQ_INT(unlink(path), 0);
    seal_backend *e = open_sim(g_mfile_a, "signer-1", 3);
    CHECK_EQ_INT(seal_blob_unseal(e, bs, ls, NULL, 0, &pt, &plen), TV_ERR_SEALED);
    CHECK_EQ_INT(seal_blob_unseal(e, bm, lm, NULL, 0, &pt, &plen), TV_ERR_SEALED);
    seal_backend_free(e);
    free(bs);
    free(bm);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    tv_fx_tmpdir("seal", g_dir, sizeof(g_dir));
    snprintf(g_mfile_a, sizeof(g_mfile_a), "%s/bin-a", g_dir);
    snprintf(g_mfile_b, sizeof(g_mfile_b), "%s/bin-b", g_dir);
    write_file(g_mfile_a, "binary version A");
    write_file(g_mfile_b, "binary version B");
    RUN(test_key_file);
    RUN(test_roundtrip_both_policies);
    RUN(test_other_measurement);
    tv_fx_rmtree(g_dir);
    return tv_test_finish();
}
