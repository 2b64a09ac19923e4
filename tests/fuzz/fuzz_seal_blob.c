/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz seal_blob_unseal (header parsing, bounds, AEAD) with a fixed-key
 * backend: the hardware boundary is the only fake. Built with -DSEEDGEN it
 * is a program that writes valid seeds (one per policy) into a directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "seal.h"
#include "seal_blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fixed_get_key(seal_backend *b, enum seal_policy policy, uint16_t key_svn,
                         uint8_t key[SEAL_KEY_LEN])
{
    (void)b;
    if (policy == SEAL_POLICY_SIGNER && key_svn > 3)
        return TV_ERR_SEALED;
    memset(key, 0x42 + (int)policy, SEAL_KEY_LEN);
    key[0] = (uint8_t)key_svn;
    return 0;
}

static int fixed_identity(seal_backend *b, seal_identity *out)
{
    (void)b;
    memset(out, 0, sizeof(*out));
    out->measurement_len = 32;
    out->signer_len = 32;
    out->svn = 3;
    return 0;
}

static void fixed_destroy(seal_backend *b)
{
    (void)b;
}

static const seal_backend_ops fixed_ops = {
    .name = "fuzz",
    .get_key = fixed_get_key,
    .identity = fixed_identity,
    .destroy = fixed_destroy,
};
static seal_backend fixed = {&fixed_ops, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t ad[] = "teevault/rk/v1";
    uint8_t *pt = NULL;
    size_t n = 0;
    enum seal_policy pol;
    uint16_t svn;
    if (sodium_init() < 0)
        abort();
    int r = seal_blob_unseal(&fixed, data, size, ad, sizeof(ad) - 1, &pt, &n);
    if (r == 0) {
        if (n + SEAL_BLOB_OVERHEAD != size || seal_blob_peek(data, size, &pol, &svn) != 0)
            abort();
        seal_blob_free_pt(pt);
    } else if (r != TV_ERR_FORMAT && r != TV_ERR_SEALED && r != TV_ERR_NOMEM) {
        abort();
    }
    return 0;
}

#ifdef SEEDGEN
int main(int argc, char **argv)
{
    static const uint8_t ad[] = "teevault/rk/v1";
    uint8_t rk[32];
    if (argc < 2 || sodium_init() < 0)
        return 2;
    memset(rk, 7, sizeof rk);
    for (int pol = 1; pol <= 2; pol++) {
        uint8_t *blob = NULL;
        size_t len = 0;
        char path[512];
        if (seal_blob_seal(&fixed, (enum seal_policy)pol, ad, sizeof(ad) - 1, rk, sizeof rk, &blob,
                           &len) != 0)
            return 1;
        snprintf(path, sizeof path, "%s/valid_policy%d", argv[1], pol);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(blob, 1, len, f) != len)
            return 1;
        fclose(f);
        free(blob);
    }
    return 0;
}
#endif
