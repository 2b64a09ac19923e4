/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proto_pbjson: proto3 JSON <-> protobuf-c messages (see proto_pbjson.h).
 */
#include "proto_pbjson.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto_json.h"

#define MAX_DEPTH 16

/* ------------------------------------------------------------ names */

/* The JSON name of a field: lowerCamelCase of its proto name. */
static void json_name(const char *name, char *out, size_t cap)
{
    size_t o = 0;
    int up = 0;
    for (const char *p = name; *p && o + 1 < cap; p++) {
        if (*p == '_') {
            up = 1;
            continue;
        }
        out[o++] = (up && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        up = 0;
    }
    out[o] = '\0';
}

static int key_is(const uint8_t *k, size_t kl, const char *s)
{
    return strlen(s) == kl && memcmp(k, s, kl) == 0;
}

/* ------------------------------------------------------------ wire out */

static int put_varint(proto_buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    return proto_buf_put(b, t, n);
}

static int put_tag(proto_buf *b, uint32_t id, unsigned wt)
{
    return put_varint(b, ((uint64_t)id << 3) | wt);
}

static int put_le(proto_buf *b, uint64_t v, size_t n)
{
    uint8_t t[8];
    for (size_t i = 0; i < n; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    return proto_buf_put(b, t, n);
}

/* ------------------------------------------------------------ JSON in */

typedef struct dec {
    const proto_json *doc;
    char *err;
    size_t errlen;
} dec;

static int fail(dec *d, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(dec *d, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, d->errlen, fmt, ap);
    va_end(ap);
    return r;
}

/* Integer from a JSON number or string: an optional '-' and 1..20 digits
 * (no fraction or exponent). */
static int json_integer(dec *d, int idx, int *neg, uint64_t *mag)
{
    char buf[32];
    const char *p;
    size_t n;
    int t = proto_json_type_of(d->doc, idx);
    if (t == PROTO_JSON_STRING) {
        if (proto_json_string(d->doc, idx, buf, sizeof(buf), &n) < 0)
            return TV_ERR_INVALID;
        p = buf;
    } else if (t == PROTO_JSON_NUMBER) {
        const uint8_t *sp;
        if (proto_json_span(d->doc, idx, &sp, &n) < 0 || n >= sizeof(buf))
            return TV_ERR_INVALID;
        memcpy(buf, sp, n);
        buf[n] = '\0';
        p = buf;
    } else {
        return TV_ERR_INVALID;
    }
    *neg = 0;
    if (*p == '-') {
        *neg = 1;
        p++;
    }
    if (!*p || strlen(p) > 20)
        return TV_ERR_INVALID;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return TV_ERR_INVALID;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || *end)
        return TV_ERR_INVALID;
    *mag = v;
    return 0;
}

static int b64_decode(dec *d, int idx, proto_buf *tmp)
{
    char *s = NULL;
    size_t n = 0, bin = 0;
    int r = TV_ERR_INVALID;
    if (proto_json_string_dup(d->doc, idx, &s, &n) < 0)
        return TV_ERR_INVALID;
    while (n && s[n - 1] == '=')
        n--;
    int url = strpbrk(s, "-_") != NULL;
    if ((r = proto_buf_reserve(tmp, n * 3 / 4 + 3)) < 0)
        goto out;
    if (sodium_base642bin(tmp->d + tmp->len, tmp->cap - tmp->len, s, n, NULL, &bin, NULL,
                          url ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                              : sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
        r = TV_ERR_INVALID;
        goto out;
    }
    tmp->len += bin;
    r = 0;
out:
    sodium_memzero(s, n);
    free(s);
    return r;
}

static int enc_msg(dec *d, int idx, const ProtobufCMessageDescriptor *md, proto_buf *out,
                   int depth);

/* One value (not an array) of field f, appended as a tagged wire field. */
static int enc_value(dec *d, int idx, const ProtobufCFieldDescriptor *f, proto_buf *out, int depth)
{
    int t = proto_json_type_of(d->doc, idx);
    int neg = 0, r;
    uint64_t mag = 0;
    proto_buf tmp;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int is32 = f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_SINT32 ||
                   f->type == PROTOBUF_C_TYPE_SFIXED32;
        uint64_t lim = is32 ? (uint64_t)INT32_MAX : (uint64_t)INT64_MAX;
        if (json_integer(d, idx, &neg, &mag) < 0 || mag > lim + (uint64_t)neg)
            return fail(d, TV_ERR_INVALID, "field %s: expected an integer in range", f->name);
        int64_t v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        if (f->type == PROTOBUF_C_TYPE_SFIXED32)
            return put_tag(out, f->id, 5) < 0 ? TV_ERR_TOO_LARGE : put_le(out, (uint64_t)v, 4);
        if (f->type == PROTOBUF_C_TYPE_SFIXED64)
            return put_tag(out, f->id, 1) < 0 ? TV_ERR_TOO_LARGE : put_le(out, (uint64_t)v, 8);
        uint64_t w = (uint64_t)v;
        if (f->type == PROTOBUF_C_TYPE_SINT32 || f->type == PROTOBUF_C_TYPE_SINT64)
            w = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        return put_tag(out, f->id, 0) < 0 ? TV_ERR_TOO_LARGE : put_varint(out, w);
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        int is32 = f->type == PROTOBUF_C_TYPE_UINT32 || f->type == PROTOBUF_C_TYPE_FIXED32;
        if (json_integer(d, idx, &neg, &mag) < 0 || (neg && mag) || (is32 && mag > UINT32_MAX))
            return fail(d, TV_ERR_INVALID, "field %s: expected an unsigned integer in range",
                        f->name);
        if (f->type == PROTOBUF_C_TYPE_FIXED32)
            return put_tag(out, f->id, 5) < 0 ? TV_ERR_TOO_LARGE : put_le(out, mag, 4);
        if (f->type == PROTOBUF_C_TYPE_FIXED64)
            return put_tag(out, f->id, 1) < 0 ? TV_ERR_TOO_LARGE : put_le(out, mag, 8);
        return put_tag(out, f->id, 0) < 0 ? TV_ERR_TOO_LARGE : put_varint(out, mag);
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (t != PROTO_JSON_TRUE && t != PROTO_JSON_FALSE)
            return fail(d, TV_ERR_INVALID, "field %s: expected true or false", f->name);
        return put_tag(out, f->id, 0) < 0 ? TV_ERR_TOO_LARGE
                                          : put_varint(out, t == PROTO_JSON_TRUE);
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        int64_t v;
        if (t == PROTO_JSON_STRING) {
            char nm[128];
            const ProtobufCEnumValue *ev = NULL;
            if (proto_json_string(d->doc, idx, nm, sizeof(nm), NULL) == 0)
                ev = protobuf_c_enum_descriptor_get_value_by_name(ed, nm);
            if (!ev)
                return fail(d, TV_ERR_INVALID, "field %s: unknown enum value", f->name);
            v = ev->value;
        } else if (json_integer(d, idx, &neg, &mag) == 0 && mag <= INT32_MAX) {
            v = neg ? -(int64_t)mag : (int64_t)mag;
        } else {
            return fail(d, TV_ERR_INVALID, "field %s: expected an enum name", f->name);
        }
        return put_tag(out, f->id, 0) < 0 ? TV_ERR_TOO_LARGE : put_varint(out, (uint64_t)v);
    }
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES: {
        if (t != PROTO_JSON_STRING)
            return fail(d, TV_ERR_INVALID, "field %s: expected a string", f->name);
        proto_buf_init(&tmp, out->max_len);
        if (f->type == PROTOBUF_C_TYPE_BYTES) {
            r = b64_decode(d, idx, &tmp);
            if (r == TV_ERR_INVALID)
                fail(d, r, "field %s: expected base64", f->name);
        } else {
            char *s = NULL;
            size_t n = 0;
            r = proto_json_string_dup(d->doc, idx, &s, &n);
            if (r == 0) {
                r = proto_buf_put(&tmp, s, n);
                sodium_memzero(s, n);
                free(s);
            }
        }
        if (r == 0 && (r = put_tag(out, f->id, 2)) == 0 && (r = put_varint(out, tmp.len)) == 0)
            r = proto_buf_put(out, tmp.d, tmp.len);
        proto_buf_free(&tmp);
        return r;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        if (t != PROTO_JSON_OBJECT)
            return fail(d, TV_ERR_INVALID, "field %s: expected an object", f->name);
        proto_buf_init(&tmp, out->max_len);
        r = enc_msg(d, idx, f->descriptor, &tmp, depth + 1);
        if (r == 0 && (r = put_tag(out, f->id, 2)) == 0 && (r = put_varint(out, tmp.len)) == 0)
            r = proto_buf_put(out, tmp.d, tmp.len);
        proto_buf_free(&tmp);
        return r;
    default:
        return fail(d, TV_ERR_INVALID, "field %s: floating-point fields are not supported",
                    f->name);
    }
}

static int enc_msg(dec *d, int idx, const ProtobufCMessageDescriptor *md, proto_buf *out, int depth)
{
    uint8_t seen[256] = {0};
    char jn[128];
    int r;

    if (depth > MAX_DEPTH)
        return fail(d, TV_ERR_INVALID, "messages nested too deep");
    if (proto_json_type_of(d->doc, idx) != PROTO_JSON_OBJECT)
        return fail(d, TV_ERR_INVALID, "expected a JSON object for %s", md->name);
    for (int c = proto_json_first(d->doc, idx); c != PROTO_JSON_NONE;
         c = proto_json_next(d->doc, c)) {
        const proto_json_node *n = proto_json_node_at(d->doc, c);
        const uint8_t *k = d->doc->in + n->key_start;
        const ProtobufCFieldDescriptor *f = NULL;
        unsigned fi;
        for (fi = 0; fi < md->n_fields && fi < sizeof(seen); fi++) {
            json_name(md->fields[fi].name, jn, sizeof(jn));
            if (key_is(k, n->key_len, md->fields[fi].name) || key_is(k, n->key_len, jn)) {
                f = &md->fields[fi];
                break;
            }
        }
        if (!f) {
            char q[72];
            size_t kl = n->key_len < 64 ? n->key_len : 64;
            size_t o = 0;
            for (size_t i = 0; i < kl; i++)
                q[o++] = (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '"') ? (char)k[i] : '?';
            q[o] = '\0';
            return fail(d, TV_ERR_INVALID, "%s has no field \"%s\"", md->name, q);
        }
        if (seen[fi]++)
            return fail(d, TV_ERR_INVALID, "field %s is given twice", f->name);
        if (n->type == PROTO_JSON_NULL)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (n->type != PROTO_JSON_ARRAY)
                return fail(d, TV_ERR_INVALID, "field %s: expected an array", f->name);
            for (int e = proto_json_first(d->doc, c); e != PROTO_JSON_NONE;
                 e = proto_json_next(d->doc, e))
                if ((r = enc_value(d, e, f, out, depth)) < 0)
                    return r;
            continue;
        }
        if ((r = enc_value(d, c, f, out, depth)) < 0)
            return r;
    }
    return 0;
}

int proto_pbjson_to_wire(const ProtobufCMessageDescriptor *md, const uint8_t *json, size_t len,
                         proto_buf *out, char *err, size_t errlen)
{
    proto_json *doc = NULL;
    dec d = {.err = err, .errlen = errlen};
    int r;

    if (errlen)
        err[0] = '\0';
    if ((r = proto_json_parse(json, len, PROTO_PBJSON_MAX_NODES, &doc)) < 0) {
        snprintf(err, errlen, "%s",
                 r == TV_ERR_TOO_LARGE ? "JSON document too large or nested too deep"
                                       : "the body is not valid JSON");
        return r == TV_ERR_NOMEM ? r : r == TV_ERR_TOO_LARGE ? r : TV_ERR_INVALID;
    }
    d.doc = doc;
    r = enc_msg(&d, 0, md, out, 0);
    if (r < 0 && errlen && !err[0])
        snprintf(err, errlen, "%s", r == TV_ERR_TOO_LARGE ? "message too large" : "bad JSON value");
    proto_json_free(doc);
    return r;
}

/* ------------------------------------------------------------ JSON out */

static int puts_(proto_buf *b, const char *s)
{
    return proto_buf_put(b, s, strlen(s));
}

int proto_pbjson_put_string(proto_buf *out, const char *s, size_t n)
{
    int r;
    if ((r = proto_buf_put_u8(out, '"')) < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            r = proto_buf_put(out, esc, 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
            r = proto_buf_put(out, esc, 6);
        } else {
            r = proto_buf_put_u8(out, ch);
        }
        if (r < 0)
            return r;
    }
    return proto_buf_put_u8(out, '"');
}

static int put_b64(proto_buf *out, const uint8_t *p, size_t n)
{
    int r;
    size_t bl = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    if ((r = proto_buf_put_u8(out, '"')) < 0 || (r = proto_buf_reserve(out, bl)) < 0)
        return r;
    sodium_bin2base64((char *)out->d + out->len, bl, p, n, sodium_base64_VARIANT_ORIGINAL);
    out->len += bl - 1; /* without the NUL */
    return proto_buf_put_u8(out, '"');
}

static int msg_json(const ProtobufCMessage *m, proto_buf *out, int depth);

/* One value of field f at p (scalar storage as protobuf-c lays it out). */
static int value_json(const ProtobufCFieldDescriptor *f, const void *p, proto_buf *out, int depth)
{
    char num[32];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(num, sizeof(num), "%d", (int)*(const int32_t *)p);
        return puts_(out, num);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(num, sizeof(num), "%u", (unsigned)*(const uint32_t *)p);
        return puts_(out, num);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(num, sizeof(num), "\"%lld\"", (long long)*(const int64_t *)p);
        return puts_(out, num);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(num, sizeof(num), "\"%llu\"", (unsigned long long)*(const uint64_t *)p);
        return puts_(out, num);
    case PROTOBUF_C_TYPE_BOOL:
        return puts_(out, *(const protobuf_c_boolean *)p ? "true" : "false");
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        if (ev)
            return proto_pbjson_put_string(out, ev->name, strlen(ev->name));
        snprintf(num, sizeof(num), "%d", v);
        return puts_(out, num);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return proto_pbjson_put_string(out, s ? s : "", s ? strlen(s) : 0);
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = p;
        return put_b64(out, bd->data, bd->len);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        if (!sub)
            return puts_(out, "{}");
        return msg_json(sub, out, depth + 1);
    }
    default:
        return TV_ERR_INVALID;
    }
}

static size_t scalar_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

/* A singular proto3 field at its default is not written. */
static int is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)p == NULL;
    default: {
        static const uint8_t zero[8];
        return memcmp(p, zero, scalar_size(f)) == 0;
    }
    }
}

static int msg_json(const ProtobufCMessage *m, proto_buf *out, int depth)
{
    const ProtobufCMessageDescriptor *md = m->descriptor;
    const uint8_t *base = (const uint8_t *)m;
    char jn[128];
    int first = 1, r;

    if (depth > MAX_DEPTH)
        return TV_ERR_INVALID;
    if ((r = proto_buf_put_u8(out, '{')) < 0)
        return r;
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &md->fields[i];
        const void *p = base + f->offset;
        size_t count = 0;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            count = *(const size_t *)(base + f->quantifier_offset);
            if (!count)
                continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
            if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
                continue;
        } else if (is_default(f, p)) {
            continue;
        }
        json_name(f->name, jn, sizeof(jn));
        if ((!first && (r = proto_buf_put_u8(out, ',')) < 0) ||
            (r = proto_pbjson_put_string(out, jn, strlen(jn))) < 0 ||
            (r = proto_buf_put_u8(out, ':')) < 0)
            return r;
        first = 0;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            const uint8_t *arr = *(const uint8_t *const *)p;
            size_t sz = scalar_size(f);
            if ((r = proto_buf_put_u8(out, '[')) < 0)
                return r;
            for (size_t e = 0; e < count; e++) {
                if ((e && (r = proto_buf_put_u8(out, ',')) < 0) ||
                    (r = value_json(f, arr + e * sz, out, depth)) < 0)
                    return r;
            }
            if ((r = proto_buf_put_u8(out, ']')) < 0)
                return r;
        } else if ((r = value_json(f, p, out, depth)) < 0) {
            return r;
        }
    }
    return proto_buf_put_u8(out, '}');
}

int proto_pbjson_from_msg(const ProtobufCMessage *msg, proto_buf *out)
{
    return msg_json(msg, out, 0);
}
