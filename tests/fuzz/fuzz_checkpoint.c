/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the witness checkpoint line parser (vault_ckpt_parse): the line comes
 * from a witness directory or command the host may control.
 * Properties checked: a parsed line formats back to the same fields
 * (format(parse(x)) parses to the same state, key and signature); nothing
 * longer than VAULT_CKPT_LINE_MAX is accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault_witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[VAULT_CKPT_LINE_MAX * 2], again[VAULT_CKPT_LINE_MAX];
    seal_state st, st2;
    uint8_t pk[32], sig[64], pk2[32], sig2[64];

    if (size >= sizeof line)
        return 0;
    memcpy(line, data, size);
    line[size] = 0;
    if (vault_ckpt_parse(line, &st, pk, sig) != 0)
        return 0;
    if (strlen(line) >= VAULT_CKPT_LINE_MAX)
        abort();
    if (vault_ckpt_format(&st, pk, sig, 0, again, sizeof again) != 0 ||
        vault_ckpt_parse(again, &st2, pk2, sig2) != 0 || memcmp(&st, &st2, sizeof st) != 0 ||
        memcmp(pk, pk2, 32) != 0 || memcmp(sig, sig2, 64) != 0)
        abort();
    return 0;
}
