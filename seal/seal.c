#include "seal.h"

#include <string.h>

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
