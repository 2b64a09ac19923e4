/* Placeholder until the auth work lands: no token is valid. */
#include "vault_auth.h"

#include <stdlib.h>
#include <string.h>

int vault_auth_resolve(struct vault *v, const char *token, size_t token_len, vault_principal *out)
{
    return TV_ERR_UNAUTHENTICATED;
}

void vault_principal_clear(vault_principal *p)
{
    for (size_t i = 0; i < p->n_policies; i++)
        free(p->policies[i]);
    free(p->policies);
    memset(p, 0, sizeof(*p));
}
