/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz vault_name_check / vault_prefix_check: never crash, always say why,
 * and agree with a second, independent reading of the rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault_names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160];
    const char *s = (const char *)data;
    int rn = vault_name_check(s, size, why, sizeof why);
    if (rn != 0 && rn != TV_ERR_INVALID && rn != TV_ERR_TOO_LARGE)
        abort();
    if (rn != 0 && why[0] == '\0')
        abort(); /* every refusal says what is wrong */
    if (rn == 0) {
        /* A valid name: 1..512 bytes, no empty/./.. segment, no NUL or C0. */
        if (size == 0 || size > 512 || s[0] == '/' || s[size - 1] == '/')
            abort();
        for (size_t i = 0; i < size; i++) {
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                abort();
            if (i + 1 < size && s[i] == '/' && s[i + 1] == '/')
                abort();
        }
        /* ... and also a valid list prefix. */
        if (vault_prefix_check(s, size, why, sizeof why) != 0)
            abort();
    }
    int rp = vault_prefix_check(s, size, why, sizeof why);
    if (rp != 0 && rp != TV_ERR_INVALID && rp != TV_ERR_TOO_LARGE)
        abort();
    return 0;
}
