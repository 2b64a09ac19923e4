/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libteevault core: client lifetime, the one place that talks to the
 * transport (tv_call), error reporting and the allocation helpers every
 * wrapper uses.
 */
#include "tv_client_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "seal.h"
#include "tv_conn.h"
#include "tv_keypool.h"

/* ------------------------------------------------------------------ memory */

void tv_free(void *p)
{
    free(p);
}

void tv_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Secret allocations carry their length in a 16-byte header so that
 * tv_free_secret() can wipe them without being told the size. */
#define TV_SECRET_HDR 16

void *tv_secret_alloc(size_t n)
{
    if (n > SIZE_MAX - TV_SECRET_HDR - 1)
        return NULL;
    unsigned char *p = calloc(1, TV_SECRET_HDR + n + 1);
    if (!p)
        return NULL;
    size_t total = TV_SECRET_HDR + n + 1;
    memcpy(p, &total, sizeof(total));
    return p + TV_SECRET_HDR;
}

char *tv_secret_strdup(const char *s)
{
    size_t n = strlen(s);
    char *d = tv_secret_alloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void tv_free_secret(void *p)
{
    if (!p)
        return;
    unsigned char *base = (unsigned char *)p - TV_SECRET_HDR;
    size_t total;
    memcpy(&total, base, sizeof(total));
    sodium_memzero(base, total);
    free(base);
}

char *tv_xstrdup(const char *s)
{
    return strdup(s ? s : "");
}

void *tv_xmemdup(const void *p, size_t n)
{
    void *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

char **tv_strv_dup(char *const *v, size_t n)
{
    char **d = calloc(n ? n : 1, sizeof(*d));
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(d[i] = tv_xstrdup(v[i]))) {
            tv_strv_free(d, i);
            return NULL;
        }
    }
    return d;
}

void tv_msg_free(ProtobufCMessage *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* ------------------------------------------------------------------ errors */

int tv_fail(tv_client *c, int err, const char *fmt, ...)
{
    if (c) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
        va_end(ap);
        c->last_grpc = -1;
    }
    return err;
}

const char *tv_client_last_error(const tv_client *c)
{
    return c ? c->errmsg : "no client";
}

int tv_client_last_grpc_status(const tv_client *c)
{
    return c ? c->last_grpc : -1;
}

int tv_check_str(tv_client *c, const char *what, const char *s, size_t max)
{
    if (!s)
        return tv_fail(c, TV_ERR_INVALID, "%s is missing", what);
    if (strnlen(s, max + 1) > max)
        return tv_fail(c, TV_ERR_TOO_LARGE, "%s is longer than %zu bytes", what, max);
    return 0;
}

/* ------------------------------------------------------------------ client */

int tv_client_open(const char *addr, const tv_client_opts *opts, tv_client **out)
{
    return tv_client_open_ex(addr, opts, out, NULL);
}

int tv_client_open_ex(const char *addr, const tv_client_opts *opts, tv_client **out,
                      tv_open_error *err)
{
    int r = TV_ERR_INTERNAL;
    tv_client *c = NULL;

    if (err)
        memset(err, 0, sizeof(*err));
    if (!addr || !out)
        return TV_ERR_INVALID;
    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    if (!(c = calloc(1, sizeof(*c))))
        return TV_ERR_NOMEM;
    tv_conn_opts co = {0};
    if (opts) {
        co.cacert = opts->cacert;
        co.client_cert = opts->client_cert;
        co.client_key = opts->client_key;
        co.server_name = opts->server_name;
        co.timeout_ms = opts->timeout_ms;
    }
    if ((r = tv_conn_open_why(addr, &co, &c->conn, err)) < 0)
        goto out;
    *out = c;
    c = NULL;
    r = 0;
out:
    tv_client_close(c);
    return r;
}

void tv_client_close(tv_client *c)
{
    if (!c)
        return;
    tv_conn_close(c->conn);
    tv_keypool_unref(c->keys);
    seal_backend_free(c->tee);
    free(c->tee_opts);
    sodium_memzero(c, sizeof(*c));
    free(c);
}

int tv_client_set_token(tv_client *c, const char *token)
{
    int r;

    if (!c)
        return TV_ERR_INVALID;
    if (token && token[0]) {
        size_t n = strnlen(token, 4097);
        if (n > 4096)
            return tv_fail(c, TV_ERR_INVALID, "token is too long");
        /* The token goes into an HTTP-style header value: printable ASCII only. */
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f)
                return tv_fail(c, TV_ERR_INVALID, "token contains invalid characters");
    }
    /* The transport keeps the only copy, in memory it wipes. */
    if ((r = tv_conn_set_token(c->conn, token)) < 0)
        return tv_fail(c, r, "cannot set token: %s", tv_strerror(r));
    c->errmsg[0] = 0;
    return 0;
}

/* gRPC status -> tv_err, for servers that send only the gRPC code (teevaultd
 * names the exact error in an ErrorDetail, preferred in tv_call).
 * FAILED_PRECONDITION stands for several tv_errs; the method tells which one
 * it can be (a Put's precondition is its CAS version, Initialize's is an
 * uninitialised vault, everything else needs an initialised, unsealed one). */
static int map_status(const char *service, const char *method, int grpc)
{
    if (grpc == 9) {
        if (!strcmp(service, TV_SVC_SECRETS) && !strcmp(method, "Put"))
            return TV_ERR_CAS;
        if (!strcmp(service, TV_SVC_SYS) && !strcmp(method, "Initialize"))
            return TV_ERR_EXISTS;
        return TV_ERR_NOT_INITIALISED;
    }
    return tv_err_from_grpc(grpc);
}

int tv_call(tv_client *c, const char *service, const char *method, const ProtobufCMessage *req,
            const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
    int r = TV_ERR_INTERNAL, grpc = -1;
    char *msg = NULL;
    ProtobufCMessage *m = NULL;

    c->errmsg[0] = 0;
    c->last_grpc = -1;
    r = tv_conn_call(c->conn, service, method, req, resp_desc, &m, &grpc, &msg);
    if (r < 0) {
        tv_fail(c, r, "%s/%s: %s", service, method, msg && msg[0] ? msg : tv_strerror(r));
        goto out;
    }
    c->last_grpc = grpc;
    if (grpc != 0) {
        r = tv_conn_last_error(c->conn);
        if (r >= 0)
            r = map_status(service, method, grpc);
        snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg && msg[0] ? msg : tv_strerror(r));
        goto out;
    }
    if (!m) {
        r = tv_fail(c, TV_ERR_PROTOCOL, "%s/%s: empty response", service, method);
        goto out;
    }
    *resp = m;
    m = NULL;
    r = 0;
out:
    tv_msg_free(m);
    free(msg);
    return r;
}
