/* SPDX-License-Identifier: Apache-2.0 */
#include "tv_err.h"

#include <stddef.h>
#include <string.h>

struct tv_err_desc {
    int err;
    const char *name;
    const char *msg;
    int grpc;
};

/* gRPC codes: 0 OK, 1 CANCELLED, 2 UNKNOWN, 3 INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED,
 * 5 NOT_FOUND, 6 ALREADY_EXISTS, 7 PERMISSION_DENIED, 8 RESOURCE_EXHAUSTED,
 * 9 FAILED_PRECONDITION, 10 ABORTED, 11 OUT_OF_RANGE, 12 UNIMPLEMENTED, 13 INTERNAL,
 * 14 UNAVAILABLE, 15 DATA_LOSS, 16 UNAUTHENTICATED */
static const struct tv_err_desc tv_errs[] = {
    {TV_OK, "ok", "success", 0},
    {TV_ERR_INTERNAL, "internal", "internal error", 13},
    {TV_ERR_NOMEM, "nomem", "out of memory", 8},
    {TV_ERR_INVALID, "invalid", "invalid argument", 3},
    {TV_ERR_NOT_FOUND, "not_found", "not found", 5},
    {TV_ERR_EXISTS, "exists", "already exists", 6},
    {TV_ERR_CAS, "cas", "check-and-set version mismatch", 9},
    {TV_ERR_INTEGRITY, "integrity", "integrity check failed: stored data was altered", 15},
    {TV_ERR_STORAGE_FULL, "storage_full", "storage full", 8},
    {TV_ERR_IO, "io", "I/O error", 14},
    {TV_ERR_TOO_LARGE, "too_large", "too large", 3},
    {TV_ERR_DENIED, "denied", "permission denied", 7},
    {TV_ERR_UNAUTHENTICATED, "unauthenticated", "missing, invalid or expired token", 16},
    {TV_ERR_NOT_INITIALISED, "not_initialised", "vault is not initialised", 9},
    {TV_ERR_SEALED, "sealed", "vault is sealed: the root key cannot be unsealed here", 9},
    {TV_ERR_CRYPTO, "crypto", "cryptographic operation failed", 13},
    {TV_ERR_DESTROYED, "destroyed", "version was destroyed", 5},
    {TV_ERR_DELETED, "deleted", "version is deleted", 5},
    {TV_ERR_FORMAT, "format", "unknown or unsupported format", 3},
    {TV_ERR_EXPIRED, "expired", "expired", 16},
    {TV_ERR_REPLAY, "replay", "nonce already used", 7},
    {TV_ERR_UNAVAILABLE, "unavailable", "service unavailable", 14},
    {TV_ERR_UNIMPLEMENTED, "unimplemented", "not implemented", 12},
    {TV_ERR_PROTOCOL, "protocol", "protocol error", 3},
    {TV_ERR_TIMEOUT, "timeout", "deadline exceeded", 4},
    {TV_ERR_VERIFY, "verify", "verification failed", 7},
    {TV_ERR_POLICY, "policy", "evidence refused by policy", 7},
    {TV_ERR_RESOURCE, "resource", "resource limit reached", 8},
    {TV_ERR_AUDIT, "audit", "audit record could not be made durable", 14},
    {TV_ERR_ROLLBACK, "rollback", "the vault's state was rolled back", 9},
};

static const struct tv_err_desc *tv_err_find(int err)
{
    for (size_t i = 0; i < sizeof(tv_errs) / sizeof(tv_errs[0]); i++)
        if (tv_errs[i].err == err)
            return &tv_errs[i];
    return NULL;
}

const char *tv_strerror(int err)
{
    const struct tv_err_desc *d = tv_err_find(err);
    return d ? d->msg : "unknown error";
}

const char *tv_errname(int err)
{
    const struct tv_err_desc *d = tv_err_find(err);
    return d ? d->name : "unknown";
}

int tv_err_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(tv_errs) / sizeof(tv_errs[0]); i++)
        if (strcmp(tv_errs[i].name, name) == 0)
            return tv_errs[i].err;
    return 0;
}

int tv_err_to_grpc(int err)
{
    const struct tv_err_desc *d = tv_err_find(err);
    return d ? d->grpc : 2;
}

int tv_err_from_grpc(int code)
{
    switch (code) {
    case 0:
        return TV_OK;
    case 3:
        return TV_ERR_INVALID;
    case 4:
        return TV_ERR_TIMEOUT;
    case 5:
        return TV_ERR_NOT_FOUND;
    case 6:
        return TV_ERR_EXISTS;
    case 7:
        return TV_ERR_DENIED;
    case 8:
        return TV_ERR_RESOURCE;
    case 9:
        return TV_ERR_CAS;
    case 12:
        return TV_ERR_UNIMPLEMENTED;
    case 14:
        return TV_ERR_UNAVAILABLE;
    case 15:
        return TV_ERR_INTEGRITY;
    case 16:
        return TV_ERR_UNAUTHENTICATED;
    default:
        return TV_ERR_INTERNAL;
    }
}
