/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `dstack` backend: the dstack guest agent's HTTP API on its Unix socket
 * (default /var/run/dstack.sock; opts->root overrides), as documented in
 * dstack's guest agent API reference and used by its SDKs:
 *
 *   GET /GetQuote?report_data=<128 hex digits>
 *       → {"quote": "<hex>", "event_log": "...", "report_data": "<hex>"}
 *   GET /GetKey?path=<path>&purpose=<purpose>
 *       → {"key": "<hex>", "signature_chain": ["<hex>", ...]}
 *
 * HTTP/1.1 by hand over AF_UNIX: one request per connection
 * ("Connection: close"), 30 s send/receive timeouts, the response bounded by
 * DSTACK_RESP_MAX before anything is parsed; Content-Length and chunked
 * bodies are accepted; any status but 200 is TV_ERR_UNAVAILABLE. JSON goes
 * through proto_json (strict).
 *
 * - evidence: GetQuote, type "tdx"; the quote's report_data must equal ours.
 * - sealing key: GetKey(path "teevault/seal/<policy>[/<svn>]", purpose
 *   "teevault-seal"), expanded to 32 bytes with HKDF-SHA256. The dstack key
 *   is bound to the app identity by dstack's KMS; both sealing policies map
 *   onto it (the policy name is mixed into the path so the keys differ).
 * - identity: parsed from a quote made with all-zero report_data (MRTD,
 *   MROWNER, TD debug bit); cached.
 */
#define _GNU_SOURCE 1 /* memmem */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "proto_json.h"
#include "seal.h"
#include "seal_producers.h"

#define DSTACK_RESP_MAX  (2u * SEAL_EVIDENCE_MAX + 64u * 1024)
#define DSTACK_TIMEOUT_S 30

typedef struct dstack_impl {
    struct sockaddr_un addr;
    int have_id;
    seal_identity id;
} dstack_impl;

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? TV_ERR_TIMEOUT : TV_ERR_UNAVAILABLE;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Case-insensitive search for a header line "name:" inside [h, h+n). Returns
 * a pointer to the value (after spaces) or NULL. */
static const char *find_header(const char *h, size_t n, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *end = h + n, *line = h;

    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t ll;
        if (!eol)
            eol = end;
        ll = (size_t)(eol - line);
        if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            while (*vlen > 0 && (v[*vlen - 1] == '\r' || v[*vlen - 1] == ' '))
                (*vlen)--;
            return v;
        }
        line = eol + 1;
    }
    return NULL;
}

/* Decode a chunked body in place. Returns the decoded length or -1. */
static long dechunk(char *b, size_t n)
{
    size_t in = 0, out = 0;

    for (;;) {
        size_t sz = 0, digits = 0;
        while (in < n) {
            char c = b[in];
            int d = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
            if (d < 0)
                break;
            if (sz > (SIZE_MAX >> 4) || digits > 15)
                return -1;
            sz = sz << 4 | (size_t)d;
            digits++;
            in++;
        }
        if (digits == 0)
            return -1;
        /* skip chunk extensions up to CRLF */
        while (in < n && b[in] != '\n')
            in++;
        if (in >= n)
            return -1;
        in++;
        if (sz == 0)
            return (long)out;
        if (n - in < sz + 2 || b[in + sz] != '\r' || b[in + sz + 1] != '\n')
            return -1;
        memmove(b + out, b + in, sz);
        out += sz;
        in += sz + 2;
    }
}

int seal_http_parse_response(char *resp, size_t n, size_t *body_len)
{
    const char *hend, *v;
    size_t hlen, vlen, blen;
    char *b;
    int status;

    /* Status line. */
    if (n < 12 || memcmp(resp, "HTTP/1.", 7) != 0 || resp[8] != ' ' || resp[9] < '1' ||
        resp[9] > '5' || resp[10] < '0' || resp[10] > '9' || resp[11] < '0' || resp[11] > '9')
        return TV_ERR_PROTOCOL;
    status = (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0');
    if (!(hend = memmem(resp, n, "\r\n\r\n", 4)))
        return TV_ERR_PROTOCOL;
    hlen = (size_t)(hend - resp) + 2; /* headers incl. the last CRLF */
    if (status != 200)
        return TV_ERR_UNAVAILABLE;
    blen = n - (hlen + 2);
    b = resp + hlen + 2;
    if ((v = find_header(resp, hlen, "Transfer-Encoding", &vlen)) && vlen >= 7 &&
        strncasecmp(v + vlen - 7, "chunked", 7) == 0) {
        long dl = dechunk(b, blen);
        if (dl < 0)
            return TV_ERR_PROTOCOL;
        blen = (size_t)dl;
    } else if ((v = find_header(resp, hlen, "Content-Length", &vlen))) {
        size_t cl = 0;
        if (vlen == 0 || vlen > 10)
            return TV_ERR_PROTOCOL;
        for (size_t i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9')
                return TV_ERR_PROTOCOL;
            cl = cl * 10 + (size_t)(v[i] - '0');
        }
        if (cl > blen) /* connection closed early */
            return TV_ERR_PROTOCOL;
        blen = cl;
    }
    memmove(resp, b, blen);
    resp[blen] = 0;
    *body_len = blen;
    return 0;
}

/* GET target on the agent socket; on 200 return the body (malloc'ed, NUL
 * terminated). */
static int dstack_get(const dstack_impl *d, const char *target, char **body, size_t *body_len)
{
    int fd = -1, r = TV_ERR_INTERNAL;
    char *req = NULL, *resp = NULL;
    size_t n = 0, reqlen;
    struct timeval tv = {.tv_sec = DSTACK_TIMEOUT_S};
    size_t blen = 0;

    reqlen = strlen(target) + 128;
    if (!(req = malloc(reqlen)) || !(resp = malloc(DSTACK_RESP_MAX + 1))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    snprintf(req, reqlen,
             "GET %s HTTP/1.1\r\nHost: dstack\r\nAccept: application/json\r\n"
             "Connection: close\r\n\r\n",
             target);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        r = TV_ERR_IO;
        goto out;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (const struct sockaddr *)&d->addr, sizeof d->addr) != 0) {
        r = TV_ERR_UNAVAILABLE;
        goto out;
    }
    if ((r = send_all(fd, req, strlen(req))) < 0)
        goto out;
    for (;;) {
        ssize_t k;
        if (n == DSTACK_RESP_MAX) {
            r = TV_ERR_TOO_LARGE;
            goto out;
        }
        k = recv(fd, resp + n, DSTACK_RESP_MAX - n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            r = errno == EAGAIN || errno == EWOULDBLOCK ? TV_ERR_TIMEOUT : TV_ERR_UNAVAILABLE;
            goto out;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    resp[n] = 0;
    if ((r = seal_http_parse_response(resp, n, &blen)) < 0)
        goto out;
    *body = resp;
    *body_len = blen;
    resp = NULL;
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    free(req);
    if (resp) {
        sodium_memzero(resp, DSTACK_RESP_MAX + 1);
        free(resp);
    }
    return r;
}

/* The hex string member `key` of the JSON object body, decoded (optional
 * "0x" prefix) into a new malloc'ed buffer of at most max bytes. */
int seal_json_hex_member(const char *body, size_t blen, const char *key, size_t max, uint8_t **out,
                         size_t *out_len)
{
    proto_json *doc = NULL;
    char *s = NULL;
    size_t slen = 0, bin_len = 0;
    uint8_t *bin = NULL;
    const char *hex;
    int idx, r = TV_ERR_INTERNAL;

    if ((r = proto_json_parse((const uint8_t *)body, blen, 64, &doc)) < 0) {
        r = TV_ERR_PROTOCOL;
        goto out;
    }
    idx = proto_json_get(doc, 0, key);
    if (proto_json_type_of(doc, idx) != PROTO_JSON_STRING) {
        r = TV_ERR_PROTOCOL;
        goto out;
    }
    if ((r = proto_json_string_dup(doc, idx, &s, &slen)) < 0)
        goto out;
    hex = s;
    if (slen >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
        hex += 2;
        slen -= 2;
    }
    if (slen == 0 || slen % 2 != 0 || slen / 2 > max) {
        r = slen / 2 > max ? TV_ERR_TOO_LARGE : TV_ERR_PROTOCOL;
        goto out;
    }
    if (!(bin = malloc(slen / 2))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (sodium_hex2bin(bin, slen / 2, hex, slen, NULL, &bin_len, NULL) != 0 ||
        bin_len != slen / 2) {
        r = TV_ERR_PROTOCOL;
        goto out;
    }
    *out = bin;
    *out_len = bin_len;
    bin = NULL;
    r = 0;
out:
    if (s) {
        sodium_memzero(s, slen);
        free(s);
    }
    if (bin) {
        sodium_memzero(bin, slen / 2);
        free(bin);
    }
    proto_json_free(doc);
    return r;
}

static int dstack_quote(void *ctx, const uint8_t rd[SEAL_REPORT_DATA_LEN], uint8_t **out,
                        size_t *out_len)
{
    dstack_impl *d = ctx;
    char target[32 + 2 * SEAL_REPORT_DATA_LEN + 1];
    char *body = NULL;
    size_t blen = 0, qlen = 0;
    uint8_t *q = NULL;
    int r;

    memcpy(target, "/GetQuote?report_data=", 22);
    sodium_bin2hex(target + 22, sizeof target - 22, rd, SEAL_REPORT_DATA_LEN);
    if ((r = dstack_get(d, target, &body, &blen)) < 0)
        return r;
    r = seal_json_hex_member(body, blen, "quote", SEAL_EVIDENCE_MAX, &q, &qlen);
    free(body);
    if (r < 0)
        return r;
    return seal_evidence_take_bound("tdx", q, qlen, rd, out, out_len);
}

static int dstack_identity(seal_backend *b, seal_identity *out)
{
    dstack_impl *d = b->impl;
    int r;

    if (!d->have_id) {
        if ((r = seal_identity_from_quote("tdx", dstack_quote, d, &d->id)) < 0)
            return r;
        d->have_id = 1;
    }
    *out = d->id;
    return 0;
}

static int dstack_get_key(seal_backend *b, enum seal_policy policy, uint16_t key_svn,
                          uint8_t key[SEAL_KEY_LEN])
{
    dstack_impl *d = b->impl;
    char target[128], info[64];
    char *body = NULL;
    size_t blen = 0, klen = 0;
    uint8_t *raw = NULL;
    int r;

    if (policy == SEAL_POLICY_MEASUREMENT) {
        snprintf(info, sizeof info, "teevault/seal/measurement");
    } else if (policy == SEAL_POLICY_SIGNER) {
        snprintf(info, sizeof info, "teevault/seal/signer/%u", (unsigned)key_svn);
    } else {
        return TV_ERR_INVALID;
    }
    snprintf(target, sizeof target, "/GetKey?path=%s&purpose=teevault-seal", info);
    if ((r = dstack_get(d, target, &body, &blen)) < 0)
        return r;
    r = seal_json_hex_member(body, blen, "key", 256, &raw, &klen);
    sodium_memzero(body, blen);
    free(body);
    if (r < 0)
        return r;
    if (klen < 16) {
        r = TV_ERR_PROTOCOL;
        goto out;
    }
    r = seal_hkdf_sha256(raw, klen, info, key);
out:
    sodium_memzero(raw, klen);
    free(raw);
    return r;
}

static int dstack_evidence(seal_backend *b, const uint8_t report_data[SEAL_REPORT_DATA_LEN],
                           uint8_t **evidence, size_t *evidence_len, const char **type)
{
    int r = dstack_quote(b->impl, report_data, evidence, evidence_len);
    if (r == 0)
        *type = "tdx";
    return r;
}

static void dstack_destroy(seal_backend *b)
{
    if (b->impl) {
        sodium_memzero(b->impl, sizeof(dstack_impl));
        free(b->impl);
    }
    free(b);
}

static const seal_backend_ops dstack_ops = {
    .name = "dstack",
    .hardware_protected = 1,
    .get_key = dstack_get_key,
    .identity = dstack_identity,
    .evidence = dstack_evidence,
    .destroy = dstack_destroy,
};

int seal_backend_dstack_open(const seal_options *opts, seal_backend **out)
{
    const char *path = opts && opts->root ? opts->root : SEAL_DSTACK_DEFAULT_SOCK;
    seal_backend *b = NULL;
    dstack_impl *d = NULL;
    int r = TV_ERR_INTERNAL;

    if (!out)
        return TV_ERR_INVALID;
    if (!(b = calloc(1, sizeof *b)) || !(d = calloc(1, sizeof *d))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (strlen(path) >= sizeof d->addr.sun_path) {
        r = TV_ERR_INVALID;
        goto out;
    }
    d->addr.sun_family = AF_UNIX;
    memcpy(d->addr.sun_path, path, strlen(path) + 1);
    b->ops = &dstack_ops;
    b->impl = d;
    d = NULL;
    *out = b;
    b = NULL;
    r = 0;
out:
    free(d);
    free(b);
    return r;
}
