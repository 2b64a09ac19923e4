/*
 * vault_acl: named policies of {path glob, capabilities} with explicit deny;
 * default deny (DESIGN.md §5). (Interface pinned by the lead; implementation
 * owned by the ACL work.)
 */
#ifndef VAULT_ACL_H
#define VAULT_ACL_H

#include "vault.h"

enum vault_cap {
    VAULT_CAP_READ = 1 << 0,
    VAULT_CAP_LIST = 1 << 1,
    VAULT_CAP_CREATE = 1 << 2,
    VAULT_CAP_UPDATE = 1 << 3,
    VAULT_CAP_DELETE = 1 << 4,
    VAULT_CAP_DESTROY = 1 << 5,
    VAULT_CAP_ADMIN = 1 << 6,
    VAULT_CAP_DENY = 1 << 7, /* a rule with deny refuses everything it matches */
};

/* Decide whether principal p holds capability `cap` on `path`. Returns 0 when
 * allowed, TV_ERR_DENIED when not (c->errmsg-ready reason in why, if non-NULL),
 * or another tv_err on storage failure. Root tokens hold every capability.
 * Function principals can only ever hold VAULT_CAP_READ. */
int vault_acl_check(struct vault *v, const vault_principal *p, const char *path, unsigned cap,
                    char *why, size_t whylen) TV_WUR;

#endif
