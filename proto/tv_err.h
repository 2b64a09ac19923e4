/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevault error codes, shared by every module and by libteevault.
 *
 * Fallible functions return int: 0 (TV_OK) on success or one of these
 * negative values. Module boundaries map errno, MDB_* and OpenSSL errors into
 * this space; nothing above a module sees a foreign error code.
 */
#ifndef TV_ERR_H
#define TV_ERR_H

#define TV_WUR __attribute__((warn_unused_result))

enum tv_err {
    TV_OK = 0,
    TV_ERR_INTERNAL = -1,         /* a bug or an unexpected library failure */
    TV_ERR_NOMEM = -2,            /* allocation failed */
    TV_ERR_INVALID = -3,          /* malformed argument or input */
    TV_ERR_NOT_FOUND = -4,        /* no such secret / version / user / policy */
    TV_ERR_EXISTS = -5,           /* already exists / already initialised */
    TV_ERR_CAS = -6,              /* check-and-set version mismatch */
    TV_ERR_INTEGRITY = -7,        /* authentication tag / hash / binding failed */
    TV_ERR_STORAGE_FULL = -8,     /* LMDB map (or disk) full; nothing was written */
    TV_ERR_IO = -9,               /* read/write/fsync failure */
    TV_ERR_TOO_LARGE = -10,       /* value, frame or name exceeds a limit */
    TV_ERR_DENIED = -11,          /* ACL or policy refused the request */
    TV_ERR_UNAUTHENTICATED = -12, /* missing, unknown, expired or revoked token */
    TV_ERR_NOT_INITIALISED = -13, /* vault has no root key yet */
    TV_ERR_SEALED = -14,          /* cannot unseal (wrong enclave identity / key) */
    TV_ERR_CRYPTO = -15,          /* OpenSSL / libsodium primitive failed */
    TV_ERR_DESTROYED = -16,       /* version was crypto-shredded */
    TV_ERR_DELETED = -17,         /* version is soft-deleted */
    TV_ERR_FORMAT = -18,          /* unknown format version / magic */
    TV_ERR_EXPIRED = -19,         /* nonce / token / session / certificate expired */
    TV_ERR_REPLAY = -20,          /* nonce already used */
    TV_ERR_UNAVAILABLE = -21,     /* peer gone, connection closed, try again */
    TV_ERR_UNIMPLEMENTED = -22,   /* unknown service/method or unsupported feature */
    TV_ERR_PROTOCOL = -23,        /* malformed frame or envelope */
    TV_ERR_TIMEOUT = -24,         /* deadline exceeded */
    TV_ERR_VERIFY = -25,          /* evidence / signature / chain verification failed */
    TV_ERR_POLICY = -26,          /* evidence verified but policy refused it */
    TV_ERR_RESOURCE = -27,        /* a configured resource limit was reached */
    TV_ERR_AUDIT = -28,           /* audit record could not be made durable */
    TV_ERR_ROLLBACK = -29,        /* signed state older than one seen before (rolled back) */
    TV_ERR_MIN = -29
};

/* Human-readable message for a tv_err value; never NULL, static storage. */
const char *tv_strerror(int err);

/* Short stable identifier ("integrity", "cas", ...) for JSON output. */
const char *tv_errname(int err);

/* The tv_err named name (as tv_errname gives it); 0 for "ok", an unknown
 * name (say, from a newer server) or NULL. */
int tv_err_from_name(const char *name);

/* gRPC status code (0..16) for a tv_err value, and the reverse mapping. */
int tv_err_to_grpc(int err);
int tv_err_from_grpc(int code);

#endif
