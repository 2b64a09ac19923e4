/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the function identity policy parser (vault_functions.h): strict JSON,
 * hex pins, status names, per-type pin rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault_functions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vault_fn_policy p;
    char err[200];
    seal_verify_policy vp;

    if (vault_fn_policy_parse((const char *)data, size, &p, err, sizeof err) == 0)
        vault_fn_policy_verify_policy(&p, &vp);
    return 0;
}
