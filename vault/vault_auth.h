/*
 * vault_auth: tokens, users and the principal behind a request.
 * (Interface pinned by the lead; implementation owned by the auth work.)
 */
#ifndef VAULT_AUTH_H
#define VAULT_AUTH_H

#include <stddef.h>

#include "vault.h"

/* Resolve a bearer token (the text after "Bearer ") into *out. Operator tokens
 * and function session tokens are both accepted. Errors: TV_ERR_UNAUTHENTICATED
 * (unknown, expired, revoked), TV_ERR_NOT_INITIALISED. On success the caller
 * owns *out's allocations and releases them with vault_principal_clear(). */
int vault_auth_resolve(struct vault *v, const char *token, size_t token_len,
                       vault_principal *out) TV_WUR;

/* Free what vault_auth_resolve allocated and zero the struct. */
void vault_principal_clear(vault_principal *p);

#endif
