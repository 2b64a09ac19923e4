/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_h1: HTTP/1.1 request parser and response writer (see vault_h1.h).
 */
#define _GNU_SOURCE /* strcasestr */
#include "vault_h1.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { S_HEAD = 0, S_BODY, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_CRLF, S_TRAILERS, S_DONE, S_DEAD };

#define CHUNK_LINE_MAX 1024

void vault_h1_init(vault_h1 *p, size_t body_max)
{
    memset(p, 0, sizeof(*p));
    proto_buf_init(&p->head, VAULT_HTTP_HEADERS_MAX);
    proto_buf_init(&p->body, body_max);
    proto_buf_init(&p->line, CHUNK_LINE_MAX);
    p->body_max = body_max;
}

void vault_h1_free(vault_h1 *p)
{
    proto_buf_free(&p->head);
    proto_buf_free(&p->body);
    proto_buf_free(&p->line);
}

void vault_h1_set_body_max(vault_h1 *p, size_t body_max)
{
    p->body_max = body_max;
    p->body.max_len = body_max;
}

void vault_h1_next(vault_h1 *p)
{
    size_t bm = p->body_max;
    int dead = p->state == S_DEAD;
    proto_buf_reset(&p->head);
    proto_buf_reset(&p->body);
    proto_buf_reset(&p->line);
    p->scan = 0;
    p->want = 0;
    p->trailer_bytes = 0;
    p->chunked = 0;
    p->send_continue = 0;
    p->method = p->path = NULL;
    p->n_hdrs = 0;
    p->body_max = bm;
    p->state = dead ? S_DEAD : S_HEAD;
}

static int fail(vault_h1 *p, int err, int status, const char *msg)
{
    p->state = S_DEAD;
    p->err_status = status;
    p->err_msg = msg;
    p->keep_alive = 0;
    return err;
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Parse the complete header block head[0, len) (ends with CRLF CRLF). */
static int parse_head(vault_h1 *p)
{
    char *s = (char *)p->head.d;
    size_t len = p->head.len;
    char *end = s + len;
    int have_cl = 0, have_te = 0, http10 = 0, conn_close = 0, conn_keep = 0;
    uint64_t cl = 0;

    /* Only CRLF line ends: a bare CR or LF is refused (smuggling). */
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            return fail(p, TV_ERR_PROTOCOL, 400, "bare LF in the request head");
        if (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))
            return fail(p, TV_ERR_PROTOCOL, 400, "bare CR in the request head");
        if (s[i] == '\0')
            return fail(p, TV_ERR_PROTOCOL, 400, "NUL in the request head");
    }
    /* Request line. */
    char *eol = strstr(s, "\r\n");
    if (!eol || (size_t)(eol - s) > VAULT_HTTP_REQUEST_LINE)
        return fail(p, TV_ERR_TOO_LARGE, 414, "request line too long");
    *eol = '\0';
    char *sp1 = strchr(s, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strchr(sp2 + 1, ' ') || sp1 == s || sp2 == sp1 + 1)
        return fail(p, TV_ERR_PROTOCOL, 400, "malformed request line");
    *sp1 = *sp2 = '\0';
    for (char *c = s; *c; c++)
        if (!is_tchar((unsigned char)*c))
            return fail(p, TV_ERR_PROTOCOL, 400, "malformed method");
    for (char *c = sp1 + 1; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return fail(p, TV_ERR_PROTOCOL, 400, "malformed request target");
    if (!strcmp(sp2 + 1, "HTTP/1.0"))
        http10 = 1;
    else if (strcmp(sp2 + 1, "HTTP/1.1") != 0)
        return fail(p, TV_ERR_UNIMPLEMENTED, 505, "only HTTP/1.1 is served");
    p->method = s;
    p->path = sp1 + 1;

    /* Header fields. */
    char *line = eol + 2;
    while (line < end) {
        char *le = strstr(line, "\r\n");
        if (!le)
            return fail(p, TV_ERR_PROTOCOL, 400, "malformed header block");
        if (le == line)
            break; /* the blank line */
        *le = '\0';
        if (*line == ' ' || *line == '\t')
            return fail(p, TV_ERR_PROTOCOL, 400, "obsolete header line folding");
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return fail(p, TV_ERR_PROTOCOL, 400, "malformed header field");
        *colon = '\0';
        for (char *c = line; *c; c++) {
            if (!is_tchar((unsigned char)*c))
                return fail(p, TV_ERR_PROTOCOL, 400, "malformed header name");
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        }
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *ve = v + strlen(v);
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            *--ve = '\0';
        if (p->n_hdrs == VAULT_HTTP_HEADER_COUNT)
            return fail(p, TV_ERR_TOO_LARGE, 431, "too many header fields");
        p->hdrs[p->n_hdrs++] = (vault_md){line, v};
        if (!strcmp(line, "content-length")) {
            uint64_t n = 0;
            if (!*v || strlen(v) > 12)
                return fail(p, TV_ERR_PROTOCOL, 400, "malformed content-length");
            for (char *c = v; *c; c++) {
                if (*c < '0' || *c > '9')
                    return fail(p, TV_ERR_PROTOCOL, 400, "malformed content-length");
                n = n * 10 + (uint64_t)(*c - '0');
            }
            if (have_cl && n != cl)
                return fail(p, TV_ERR_PROTOCOL, 400, "conflicting content-length");
            have_cl = 1;
            cl = n;
        } else if (!strcmp(line, "transfer-encoding")) {
            if (have_te || strcasecmp(v, "chunked") != 0)
                return fail(p, TV_ERR_UNIMPLEMENTED, 501,
                            "only transfer-encoding: chunked is supported");
            have_te = 1;
        } else if (!strcmp(line, "connection")) {
            if (strcasestr(v, "close"))
                conn_close = 1;
            if (strcasestr(v, "keep-alive"))
                conn_keep = 1;
        } else if (!strcmp(line, "expect")) {
            if (strcasecmp(v, "100-continue") != 0)
                return fail(p, TV_ERR_UNIMPLEMENTED, 417, "unsupported expectation");
            p->send_continue = 1;
        }
        line = le + 2;
    }
    if (have_cl && have_te)
        return fail(p, TV_ERR_PROTOCOL, 400, "content-length together with transfer-encoding");
    p->keep_alive = http10 ? (conn_keep && !conn_close) : !conn_close;
    /* A body over the pre-authentication cap: a valid token in this head
     * lifts the cap (for the connection) before any of it is buffered. */
    if ((have_te || cl > p->body_max) && p->lift && p->body_max < p->body_max_authed) {
        for (size_t i = 0; i < p->n_hdrs; i++)
            if (!strcmp(p->hdrs[i].key, "authorization") && p->lift(p->lift_ud, p->hdrs[i].value)) {
                vault_h1_set_body_max(p, p->body_max_authed);
                break;
            }
    }
    if (have_te) {
        p->chunked = 1;
        p->state = S_CHUNK_SIZE;
        return 0;
    }
    if (cl > p->body_max)
        return fail(p, TV_ERR_TOO_LARGE, 413, "request body over the limit");
    p->want = cl;
    p->state = cl ? S_BODY : S_DONE;
    if (!cl)
        p->send_continue = 0;
    return 0;
}

/* One CRLF-terminated line into p->line (without the CRLF). 1 when
 * complete, 0 when more is needed, < 0 over the cap or malformed. */
static int take_line(vault_h1 *p, const uint8_t *in, size_t n, size_t *used)
{
    size_t i = 0;
    for (; i < n; i++) {
        uint8_t ch = in[i];
        if (ch == '\n') {
            *used = i + 1;
            if (!p->line.len || p->line.d[p->line.len - 1] != '\r')
                return fail(p, TV_ERR_PROTOCOL, 400, "bare LF in chunked framing");
            p->line.len--;
            return 1;
        }
        if (proto_buf_put_u8(&p->line, ch) < 0)
            return fail(p, TV_ERR_PROTOCOL, 400, "chunk-size or trailer line too long");
    }
    *used = n;
    return 0;
}

int vault_h1_parse(vault_h1 *p, const uint8_t *in, size_t n, size_t *used)
{
    size_t off = 0;
    int r;

    *used = 0;
    while (off < n || p->state == S_DONE) {
        switch (p->state) {
        case S_HEAD: {
            /* Copy up to the blank line (or the cap). */
            size_t room = VAULT_HTTP_HEADERS_MAX - p->head.len;
            size_t take = n - off < room ? n - off : room;
            size_t before = p->head.len;
            if (take && proto_buf_put(&p->head, in + off, take) < 0)
                return fail(p, TV_ERR_NOMEM, 500, "out of memory");
            const uint8_t *h = p->head.d;
            size_t start = p->scan > 3 ? p->scan - 3 : 0, endpos = 0;
            for (size_t i = start; i + 3 < p->head.len; i++)
                if (h[i] == '\r' && h[i + 1] == '\n' && h[i + 2] == '\r' && h[i + 3] == '\n') {
                    endpos = i + 4;
                    break;
                }
            /* A bare LF in the head ends nothing: refuse it now rather than
             * wait (bytes after the blank line are the body's). */
            for (size_t i = before; i < (endpos ? endpos : p->head.len); i++)
                if (h[i] == '\n' && (i == 0 || h[i - 1] != '\r')) {
                    *used = off + (i - before) + 1;
                    return fail(p, TV_ERR_PROTOCOL, 400, "bare LF in the request head");
                }
            p->scan = p->head.len;
            if (!endpos) {
                off += take;
                /* The request line alone may not run past its cap. */
                if (!memchr(h, '\n', p->head.len) && p->head.len > VAULT_HTTP_REQUEST_LINE) {
                    *used = off;
                    return fail(p, TV_ERR_TOO_LARGE, 414, "request line too long");
                }
                if (p->head.len >= VAULT_HTTP_HEADERS_MAX) {
                    *used = off;
                    return fail(p, TV_ERR_TOO_LARGE, 431, "request header block too large");
                }
                continue;
            }
            /* Give back what belongs to the body or the next request. */
            off += endpos - before;
            p->head.len = endpos;
            if (proto_buf_put_u8(&p->head, 0) < 0) /* NUL for the string parse */
                return fail(p, TV_ERR_NOMEM, 500, "out of memory");
            p->head.len = endpos;
            if ((r = parse_head(p)) < 0) {
                *used = off;
                return r;
            }
            break;
        }
        case S_BODY: {
            size_t take = n - off < p->want ? n - off : (size_t)p->want;
            if (proto_buf_put(&p->body, in + off, take) < 0)
                return fail(p, TV_ERR_TOO_LARGE, 413, "request body over the limit");
            off += take;
            p->want -= take;
            if (!p->want)
                p->state = S_DONE;
            break;
        }
        case S_CHUNK_SIZE: {
            size_t u = 0;
            r = take_line(p, in + off, n - off, &u);
            off += u;
            if (r < 0) {
                *used = off;
                return r;
            }
            if (!r)
                break;
            /* hex digits, then optional ";ext" (ignored). */
            uint64_t sz = 0;
            size_t i = 0, digits = 0;
            for (; i < p->line.len; i++) {
                uint8_t c = p->line.d[i];
                int v = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (v < 0)
                    break;
                if (++digits > 8) {
                    *used = off;
                    return fail(p, TV_ERR_PROTOCOL, 400, "chunk size too long");
                }
                sz = sz * 16 + (uint64_t)v;
            }
            if (!digits || (i < p->line.len && p->line.d[i] != ';' && p->line.d[i] != ' ' &&
                            p->line.d[i] != '\t')) {
                *used = off;
                return fail(p, TV_ERR_PROTOCOL, 400, "malformed chunk size");
            }
            proto_buf_reset(&p->line);
            if (sz > p->body_max - p->body.len) {
                *used = off;
                return fail(p, TV_ERR_TOO_LARGE, 413, "request body over the limit");
            }
            p->want = sz;
            p->state = sz ? S_CHUNK_DATA : S_TRAILERS;
            break;
        }
        case S_CHUNK_DATA: {
            size_t take = n - off < p->want ? n - off : (size_t)p->want;
            if (proto_buf_put(&p->body, in + off, take) < 0)
                return fail(p, TV_ERR_TOO_LARGE, 413, "request body over the limit");
            off += take;
            p->want -= take;
            if (!p->want)
                p->state = S_CHUNK_CRLF;
            break;
        }
        case S_CHUNK_CRLF: {
            size_t u = 0;
            r = take_line(p, in + off, n - off, &u);
            off += u;
            if (r < 0) {
                *used = off;
                return r;
            }
            if (!r)
                break;
            if (p->line.len) {
                *used = off;
                return fail(p, TV_ERR_PROTOCOL, 400, "chunk data longer than its size");
            }
            p->state = S_CHUNK_SIZE;
            break;
        }
        case S_TRAILERS: {
            size_t u = 0;
            r = take_line(p, in + off, n - off, &u);
            off += u;
            if (r < 0) {
                *used = off;
                return r;
            }
            if (!r)
                break;
            p->trailer_bytes += p->line.len + 2;
            if (p->trailer_bytes > VAULT_HTTP_HEADERS_MAX) {
                *used = off;
                return fail(p, TV_ERR_TOO_LARGE, 431, "chunked trailers too large");
            }
            if (!p->line.len)
                p->state = S_DONE;
            proto_buf_reset(&p->line); /* trailers are ignored */
            break;
        }
        case S_DONE:
            *used = off;
            p->send_continue = 0;
            return VAULT_H1_READY;
        default:
            *used = off;
            return fail(p, TV_ERR_PROTOCOL, p->err_status ? p->err_status : 400,
                        p->err_msg ? p->err_msg : "connection is closing");
        }
    }
    *used = off;
    return VAULT_H1_NEED;
}

void vault_h1_request(vault_h1 *p, vault_http_req *rq)
{
    memset(rq, 0, sizeof(*rq));
    rq->id = 1;
    rq->method = p->method ? p->method : "";
    rq->path = p->path ? p->path : "";
    rq->hdrs = p->hdrs;
    rq->n_hdrs = p->n_hdrs;
    rq->body = p->body.d;
    rq->body_len = p->body.len;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 499:
        return "Client Closed Request";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

int vault_h1_write_response(proto_buf *out, const vault_http_resp *r, int keep_alive)
{
    char line[256];
    int rv;
    snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", r->status, reason(r->status));
    if ((rv = proto_buf_put(out, line, strlen(line))) < 0)
        return rv;
    for (size_t i = 0; i < r->n_hdrs; i++) {
        if ((rv = proto_buf_put(out, r->hdrs[i].key, strlen(r->hdrs[i].key))) < 0 ||
            (rv = proto_buf_put(out, ": ", 2)) < 0 ||
            (rv = proto_buf_put(out, r->hdrs[i].value, strlen(r->hdrs[i].value))) < 0 ||
            (rv = proto_buf_put(out, "\r\n", 2)) < 0)
            return rv;
    }
    snprintf(line, sizeof(line), "content-length: %zu\r\n%s\r\n", r->body_len,
             keep_alive ? "" : "connection: close\r\n");
    if ((rv = proto_buf_put(out, line, strlen(line))) < 0)
        return rv;
    return r->body_len ? proto_buf_put(out, r->body, r->body_len) : 0;
}

int vault_h1_partial(const vault_h1 *p)
{
    return p->state != S_DEAD && p->state != S_DONE && (p->state != S_HEAD || p->head.len > 0);
}
