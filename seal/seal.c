/* SPDX-License-Identifier: Apache-2.0 */
#include "seal.h"
#include "seal_producers.h"

#include <string.h>

/* Backend constructors (one file each). */
int seal_sim_open(const seal_options *opts, seal_backend **out);

int seal_backend_open(const seal_options *opts, seal_backend **out)
{
    const char *name;
    if (!opts || !out)
        return TV_ERR_INVALID;
    name = opts->backend ? opts->backend : "sim";
    if (strcmp(name, "sim") == 0)
        return seal_sim_open(opts, out);
    if (strcmp(name, "gramine-sgx") == 0)
        return seal_backend_gramine_open(opts, out);
    if (strcmp(name, "tsm") == 0)
        return seal_backend_tsm_open(opts, out);
    if (strcmp(name, "dstack") == 0)
        return seal_backend_dstack_open(opts, out);
    return TV_ERR_INVALID;
}

int seal_get_key(seal_backend *b, enum seal_policy policy, uint16_t key_svn,
                 uint8_t key[SEAL_KEY_LEN])
{
    return b->ops->get_key(b, policy, key_svn, key);
}

int seal_identity_get(seal_backend *b, seal_identity *out)
{
    return b->ops->identity(b, out);
}

void seal_backend_free(seal_backend *b)
{
    if (b)
        b->ops->destroy(b);
}
