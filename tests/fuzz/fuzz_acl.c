/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the ACL policy parser (vault_acl_parse) and, on a document that
 * parses, the evaluation over it (vault_acl_evaluate with globs against a
 * few paths, as operator and as function) and the glob matcher.
 * Properties checked: a parse failure always says why; a decision is
 * allowed exactly when evaluate returns 0; a function is never granted
 * anything but read.
 */
#include <stdint.h>
#include <string.h>

#include "vault_acl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *paths[] = {"app/db/password", "app", "a/b/c/d", "x", "app/admin", ""};
    static const unsigned caps[] = {VAULT_CAP_READ, VAULT_CAP_LIST, VAULT_CAP_CREATE,
                                    VAULT_CAP_DESTROY, VAULT_CAP_ADMIN};
    vault_acl_policy *pol = NULL;
    char err[256];

    err[0] = 0;
    int r = vault_acl_parse("fuzz", (const char *)data, size, &pol, err, sizeof(err));
    if (r < 0) {
        if (pol)
            __builtin_trap(); /* output untouched on failure */
        if (r == TV_ERR_INVALID && !err[0])
            __builtin_trap(); /* every refusal says why */
        return 0;
    }
    if (!pol)
        __builtin_trap();
    const vault_acl_policy *pols[1] = {pol};
    for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
        for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
            for (int fn = 0; fn < 2; fn++) {
                vault_acl_decision d;
                int e = vault_acl_evaluate(pols, 1, fn, 0, paths[p], caps[c], &d);
                if ((e == 0) != (d.allowed != 0))
                    __builtin_trap();
                if (fn && e == 0 && caps[c] != VAULT_CAP_READ)
                    __builtin_trap(); /* functions only ever hold read */
            }
        }
    }
    /* Each rule's glob against the other globs as paths. */
    for (size_t i = 0; i < pol->n_rules && i < 16; i++)
        for (size_t j = 0; j < pol->n_rules && j < 16; j++)
            (void)vault_acl_glob_match(pol->rules[i].glob, pol->rules[j].glob);
    vault_acl_policy_free(pol);
    return 0;
}
