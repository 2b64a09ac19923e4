/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_json: the export's JSON-lines encoder and a strict parser for exactly
 * that format (flat objects of strings and integers; see audit.h). The parser
 * reads untrusted bytes: every access is bounds-checked against len.
 */
#include "audit.h"

#include "proto_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ writer */

typedef struct jw {
    char *buf;
    size_t cap, len;
    int overflow;
} jw;

static void jw_raw(jw *w, const char *s, size_t n)
{
    if (w->overflow || w->cap - w->len <= n) { /* keep room for the NUL */
        w->overflow = 1;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void jw_lit(jw *w, const char *s)
{
    jw_raw(w, s, strlen(s));
}

static void jw_str(jw *w, const char *s)
{
    static const char hx[] = "0123456789abcdef";
    jw_raw(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
            char e[6] = {'\\', 'u', '0', '0', hx[*p >> 4], hx[*p & 15]};
            jw_raw(w, e, 6);
        } else {
            jw_raw(w, (const char *)p, 1);
        }
    }
    jw_raw(w, "\"", 1);
}

static void jw_hex(jw *w, const uint8_t *d, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    jw_raw(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char e[2] = {hx[d[i] >> 4], hx[d[i] & 15]};
        jw_raw(w, e, 2);
    }
    jw_raw(w, "\"", 1);
}

static void jw_u64(jw *w, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%" PRIu64, v);
    jw_raw(w, t, (size_t)n);
}

static void jw_i64(jw *w, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%" PRId64, v);
    jw_raw(w, t, (size_t)n);
}

static int jw_done(jw *w)
{
    jw_raw(w, "\n", 1);
    if (w->overflow)
        return TV_ERR_TOO_LARGE;
    return (int)w->len;
}

static void jw_init(jw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = cap == 0;
    if (cap)
        buf[0] = '\0';
}

int audit_json_header(char *buf, size_t cap, const uint8_t *pk)
{
    jw w;
    jw_init(&w, buf, cap);
    jw_lit(&w, "{\"type\":\"header\",\"format\":1,\"hash\":\"" AUDIT_HASH_NAME
               "\",\"sig\":\"" AUDIT_SIG_NAME "\",\"pubkey\":");
    if (pk)
        jw_hex(&w, pk, AUDIT_PK_LEN);
    else
        jw_lit(&w, "\"\"");
    jw_lit(&w, "}");
    return jw_done(&w);
}

int audit_json_record(char *buf, size_t cap, const audit_record *r)
{
    jw w;
    jw_init(&w, buf, cap);
    jw_lit(&w, "{\"type\":\"record\",\"seq\":");
    jw_u64(&w, r->seq);
    jw_lit(&w, ",\"time_ns\":");
    jw_i64(&w, r->time_ns);
    jw_lit(&w, ",\"principal\":");
    jw_str(&w, r->principal);
    jw_lit(&w, ",\"method\":");
    jw_str(&w, r->method);
    jw_lit(&w, ",\"secret\":");
    jw_str(&w, r->secret);
    jw_lit(&w, ",\"version\":");
    jw_u64(&w, r->version);
    jw_lit(&w, ",\"status\":");
    jw_u64(&w, r->status);
    jw_lit(&w, ",\"request_id\":");
    jw_str(&w, r->request_id);
    jw_lit(&w, ",\"peer\":");
    jw_str(&w, r->peer);
    jw_lit(&w, ",\"detail\":");
    jw_str(&w, r->detail);
    jw_lit(&w, ",\"prev_hash\":");
    jw_hex(&w, r->prev_hash, AUDIT_HASH_LEN);
    jw_lit(&w, ",\"hash\":");
    jw_hex(&w, r->hash, AUDIT_HASH_LEN);
    jw_lit(&w, "}");
    return jw_done(&w);
}

int audit_json_checkpoint(char *buf, size_t cap, const audit_checkpoint *c)
{
    jw w;
    jw_init(&w, buf, cap);
    jw_lit(&w, "{\"type\":\"checkpoint\",\"first_seq\":");
    jw_u64(&w, c->first_seq);
    jw_lit(&w, ",\"last_seq\":");
    jw_u64(&w, c->last_seq);
    jw_lit(&w, ",\"head_hash\":");
    jw_hex(&w, c->head_hash, AUDIT_HASH_LEN);
    jw_lit(&w, ",\"time_ns\":");
    jw_i64(&w, c->time_ns);
    jw_lit(&w, ",\"signature\":");
    jw_hex(&w, c->sig, AUDIT_SIG_LEN);
    jw_lit(&w, "}");
    return jw_done(&w);
}

/* ------------------------------------------------------------ parser */

#define MAX_PAIRS 16

typedef struct jpair {
    const char *key; /* raw, unescaped keys only (ours are plain ASCII) */
    size_t keylen;
    int is_str;
    const char *raw; /* string body between the quotes (still escaped) */
    size_t rawlen;
    int neg;
    uint64_t num;
} jpair;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Unescape raw[0..rawlen) into dst[cap+1]. Bytes, with \u00XX = byte XX. */
static int unescape(const char *raw, size_t rawlen, char *dst, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < rawlen;) {
        unsigned char ch = (unsigned char)raw[i];
        unsigned char out;
        if (ch != '\\') {
            out = ch;
            i++;
        } else {
            if (rawlen - i < 2)
                return -1;
            char e = raw[i + 1];
            if (e == 'u') {
                if (rawlen - i < 6 || raw[i + 2] != '0' || raw[i + 3] != '0')
                    return -1;
                int h = hexval(raw[i + 4]), l = hexval(raw[i + 5]);
                if (h < 0 || l < 0)
                    return -1;
                out = (unsigned char)(h * 16 + l);
                i += 6;
            } else {
                switch (e) {
                case '"':
                    out = '"';
                    break;
                case '\\':
                    out = '\\';
                    break;
                case '/':
                    out = '/';
                    break;
                case 'b':
                    out = '\b';
                    break;
                case 'f':
                    out = '\f';
                    break;
                case 'n':
                    out = '\n';
                    break;
                case 'r':
                    out = '\r';
                    break;
                case 't':
                    out = '\t';
                    break;
                default:
                    return -1;
                }
                i += 2;
            }
        }
        if (out == 0 || o >= cap)
            return -1;
        dst[o++] = (char)out;
    }
    dst[o] = '\0';
    return 0;
}

/* Structure comes from proto_json (strict RFC 8259, duplicate keys refused);
 * string values are taken as raw spans and unescaped here with this format's
 * byte semantics (\u00XX = byte XX), which proto_json's UTF-8 decoding would
 * not give. Only flat objects of strings and integers are accepted. */
static int scan_object(const char *s, size_t n, jpair *pairs, size_t *npairs, const char **why)
{
    proto_json *doc = NULL;
    size_t np = 0;
    int rc = -1;

    if (proto_json_parse((const uint8_t *)s, n, 64, &doc) < 0) {
        *why = "line is not strict JSON";
        return -1;
    }
    if (proto_json_type_of(doc, 0) != PROTO_JSON_OBJECT) {
        *why = "line is not a JSON object";
        goto out;
    }
    for (int m = proto_json_first(doc, 0); m != PROTO_JSON_NONE; m = proto_json_next(doc, m)) {
        const proto_json_node *nd = proto_json_node_at(doc, m);
        jpair p;
        const uint8_t *raw;
        size_t rawlen;
        memset(&p, 0, sizeof(p));
        if (!nd || np == MAX_PAIRS) {
            *why = "too many keys";
            goto out;
        }
        p.key = s + nd->key_start;
        p.keylen = nd->key_len;
        if (proto_json_span(doc, m, &raw, &rawlen) < 0) {
            *why = "malformed value";
            goto out;
        }
        if (nd->type == PROTO_JSON_STRING) {
            if (rawlen < 2) {
                *why = "malformed string";
                goto out;
            }
            p.is_str = 1;
            p.raw = (const char *)raw + 1;
            p.rawlen = rawlen - 2;
        } else if (nd->type == PROTO_JSON_NUMBER) {
            int64_t v;
            if (proto_json_int(doc, m, &v) < 0) {
                *why = "malformed number (only 64-bit integers are allowed)";
                goto out;
            }
            p.neg = v < 0;
            p.num = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        } else {
            *why = "value is neither a string nor an integer";
            goto out;
        }
        pairs[np++] = p;
    }
    *npairs = np;
    rc = 0;
out:
    proto_json_free(doc);
    return rc;
}

enum fkind { F_STR, F_U64, F_I64, F_U32, F_HEX, F_HEX_OR_EMPTY, F_CONST_STR, F_CONST_NUM };

typedef struct fspec {
    const char *name;
    enum fkind kind;
    void *dst;
    size_t cap;       /* F_STR: chars; F_HEX: bytes */
    const char *cstr; /* F_CONST_STR */
    uint64_t cnum;    /* F_CONST_NUM */
    int *present;     /* F_HEX_OR_EMPTY: 1 when non-empty */
} fspec;

static int keyeq(const jpair *p, const char *name)
{
    size_t n = strlen(name);
    return p->keylen == n && memcmp(p->key, name, n) == 0;
}

static int apply(const jpair *pairs, size_t np, const fspec *f, size_t nf, const char **why)
{
    if (np != nf) {
        *why = np < nf ? "missing key" : "unknown key";
        return -1;
    }
    for (size_t k = 0; k < nf; k++) {
        const jpair *p = NULL;
        for (size_t j = 0; j < np; j++)
            if (keyeq(&pairs[j], f[k].name))
                p = &pairs[j];
        if (!p) {
            *why = "missing or unknown key";
            return -1;
        }
        int want_str = f[k].kind == F_STR || f[k].kind == F_HEX || f[k].kind == F_HEX_OR_EMPTY ||
                       f[k].kind == F_CONST_STR;
        if (p->is_str != want_str) {
            *why = "value has the wrong type";
            return -1;
        }
        if (!want_str && p->neg && f[k].kind != F_I64) {
            *why = "negative number";
            return -1;
        }
        switch (f[k].kind) {
        case F_STR:
            if (unescape(p->raw, p->rawlen, f[k].dst, f[k].cap) < 0) {
                *why = "string too long or badly escaped";
                return -1;
            }
            break;
        case F_HEX_OR_EMPTY:
            if (p->rawlen == 0) {
                *f[k].present = 0;
                break;
            }
            *f[k].present = 1;
            /* fall through */
        case F_HEX:
            if (audit_hex_decode(p->raw, p->rawlen, f[k].dst, f[k].cap) < 0) {
                *why = "bad hex value (wrong length or not lower-case hex)";
                return -1;
            }
            break;
        case F_CONST_STR:
            if (p->rawlen != strlen(f[k].cstr) || memcmp(p->raw, f[k].cstr, p->rawlen) != 0) {
                *why = "unsupported format, hash or signature algorithm";
                return -1;
            }
            break;
        case F_CONST_NUM:
            if (p->num != f[k].cnum) {
                *why = "unsupported format version";
                return -1;
            }
            break;
        case F_U64:
            *(uint64_t *)f[k].dst = p->num;
            break;
        case F_U32:
            if (p->num > UINT32_MAX) {
                *why = "number out of range";
                return -1;
            }
            *(uint32_t *)f[k].dst = (uint32_t)p->num;
            break;
        case F_I64:
            if (p->num > (p->neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
                *why = "number out of range";
                return -1;
            }
            *(int64_t *)f[k].dst = p->neg ? (int64_t)(0 - p->num) : (int64_t)p->num;
            break;
        }
    }
    return 0;
}

int audit_json_parse(const char *line, size_t len, audit_line *out, const char **why)
{
    jpair pairs[MAX_PAIRS];
    size_t np = 0;
    const char *w = "malformed line";
    const jpair *type = NULL;
    static audit_line zero;
    audit_line *l = out;

    *l = zero;
    if (scan_object(line, len, pairs, &np, &w) < 0)
        goto bad;
    for (size_t k = 0; k < np; k++)
        if (keyeq(&pairs[k], "type"))
            type = &pairs[k];
    if (!type || !type->is_str) {
        w = "no \"type\" string";
        goto bad;
    }
#define TYPEIS(s) (type->rawlen == strlen(s) && memcmp(type->raw, s, type->rawlen) == 0)
    if (TYPEIS("header")) {
        fspec f[] = {
            {"type", F_CONST_STR, NULL, 0, "header", 0, NULL},
            {"format", F_CONST_NUM, NULL, 0, NULL, AUDIT_FORMAT, NULL},
            {"hash", F_CONST_STR, NULL, 0, AUDIT_HASH_NAME, 0, NULL},
            {"sig", F_CONST_STR, NULL, 0, AUDIT_SIG_NAME, 0, NULL},
            {"pubkey", F_HEX_OR_EMPTY, l->pubkey, AUDIT_PK_LEN, NULL, 0, &l->has_pubkey},
        };
        if (apply(pairs, np, f, sizeof(f) / sizeof(f[0]), &w) < 0)
            goto bad;
        l->type = AUDIT_LINE_HEADER;
    } else if (TYPEIS("record")) {
        audit_record *r = &l->rec;
        fspec f[] = {
            {"type", F_CONST_STR, NULL, 0, "record", 0, NULL},
            {"seq", F_U64, &r->seq, 0, NULL, 0, NULL},
            {"time_ns", F_I64, &r->time_ns, 0, NULL, 0, NULL},
            {"principal", F_STR, r->principal, AUDIT_PRINCIPAL_MAX, NULL, 0, NULL},
            {"method", F_STR, r->method, AUDIT_METHOD_MAX, NULL, 0, NULL},
            {"secret", F_STR, r->secret, AUDIT_SECRET_MAX, NULL, 0, NULL},
            {"version", F_U64, &r->version, 0, NULL, 0, NULL},
            {"status", F_U32, &r->status, 0, NULL, 0, NULL},
            {"request_id", F_STR, r->request_id, AUDIT_REQID_MAX, NULL, 0, NULL},
            {"peer", F_STR, r->peer, AUDIT_PEER_MAX, NULL, 0, NULL},
            {"detail", F_STR, r->detail, AUDIT_DETAIL_MAX, NULL, 0, NULL},
            {"prev_hash", F_HEX, r->prev_hash, AUDIT_HASH_LEN, NULL, 0, NULL},
            {"hash", F_HEX, r->hash, AUDIT_HASH_LEN, NULL, 0, NULL},
        };
        if (apply(pairs, np, f, sizeof(f) / sizeof(f[0]), &w) < 0)
            goto bad;
        l->type = AUDIT_LINE_RECORD;
    } else if (TYPEIS("checkpoint")) {
        audit_checkpoint *c = &l->ckpt;
        fspec f[] = {
            {"type", F_CONST_STR, NULL, 0, "checkpoint", 0, NULL},
            {"first_seq", F_U64, &c->first_seq, 0, NULL, 0, NULL},
            {"last_seq", F_U64, &c->last_seq, 0, NULL, 0, NULL},
            {"head_hash", F_HEX, c->head_hash, AUDIT_HASH_LEN, NULL, 0, NULL},
            {"time_ns", F_I64, &c->time_ns, 0, NULL, 0, NULL},
            {"signature", F_HEX, c->sig, AUDIT_SIG_LEN, NULL, 0, NULL},
        };
        if (apply(pairs, np, f, sizeof(f) / sizeof(f[0]), &w) < 0)
            goto bad;
        l->type = AUDIT_LINE_CHECKPOINT;
    } else {
        w = "unknown line type";
        goto bad;
    }
#undef TYPEIS
    return TV_OK;
bad:
    *l = zero;
    if (why)
        *why = w;
    return TV_ERR_FORMAT;
}
