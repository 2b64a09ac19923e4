/* Placeholder until the ACL work lands: root only, default deny. */
#include "vault_acl.h"

#include <stdio.h>

int vault_acl_check(struct vault *v, const vault_principal *p, const char *path, unsigned cap,
                    char *why, size_t whylen)
{
    if (p->kind == VAULT_PRINCIPAL_OPERATOR && p->root)
        return TV_OK;
    if (why && whylen)
        snprintf(why, whylen, "no policy grants this (default deny)");
    return TV_ERR_DENIED;
}
