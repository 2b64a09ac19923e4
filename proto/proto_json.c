/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proto_json: strict JSON reader with raw value spans. See proto_json.h.
 *
 * Recursive descent over [0, len) with an explicit depth bound; every read
 * checks the position against the end. Nodes are appended to one array; a
 * container's children are linked by `next` in document order.
 */
#include "proto_json.h"

#include <stdlib.h>
#include <string.h>

#define PROTO_JSON_DEFAULT_NODES 65536u
#define PROTO_JSON_MAX_MEMBERS   1024u /* bounds the duplicate-key check */

typedef struct jparser {
    const uint8_t *p;
    size_t len;
    size_t pos;
    proto_json_node *nodes;
    size_t n, cap, max;
} jparser;

static void skip_ws(jparser *j)
{
    while (j->pos < j->len) {
        uint8_t c = j->p[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        j->pos++;
    }
}

static int new_node(jparser *j, uint8_t type, int32_t parent, int32_t *idx)
{
    if (j->n >= j->max)
        return TV_ERR_TOO_LARGE;
    if (j->n == j->cap) {
        size_t nc = j->cap ? j->cap * 2 : 64;
        if (nc > j->max)
            nc = j->max;
        proto_json_node *nn = realloc(j->nodes, nc * sizeof(*nn));
        if (!nn)
            return TV_ERR_NOMEM;
        j->nodes = nn;
        j->cap = nc;
    }
    proto_json_node *n = &j->nodes[j->n];
    memset(n, 0, sizeof(*n));
    n->type = type;
    n->start = (uint32_t)j->pos;
    n->parent = parent;
    n->first = PROTO_JSON_NONE;
    n->next = PROTO_JSON_NONE;
    *idx = (int32_t)j->n++;
    return 0;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_u4(const uint8_t *p, size_t len, size_t pos, uint32_t *v)
{
    uint32_t r = 0;
    if (len - pos < 4)
        return TV_ERR_FORMAT;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[pos + (size_t)i]);
        if (h < 0)
            return TV_ERR_FORMAT;
        r = r << 4 | (uint32_t)h;
    }
    *v = r;
    return 0;
}

/* Length of a valid UTF-8 sequence at p[pos], or 0 if invalid (RFC 3629). */
static size_t utf8_len(const uint8_t *p, size_t len, size_t pos)
{
    uint8_t c = p[pos];
    size_t n;
    uint32_t min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len - pos < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        uint8_t d = p[pos + i];
        if ((d & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Validate a string starting at the opening quote; leaves pos after the
 * closing quote. */
static int scan_string(jparser *j)
{
    if (j->pos >= j->len || j->p[j->pos] != '"')
        return TV_ERR_FORMAT;
    j->pos++;
    while (j->pos < j->len) {
        uint8_t c = j->p[j->pos];
        if (c == '"') {
            j->pos++;
            return 0;
        }
        if (c < 0x20)
            return TV_ERR_FORMAT;
        if (c == '\\') {
            if (j->len - j->pos < 2)
                return TV_ERR_FORMAT;
            uint8_t e = j->p[j->pos + 1];
            if (e == 'u') {
                uint32_t u;
                if (read_u4(j->p, j->len, j->pos + 2, &u) < 0)
                    return TV_ERR_FORMAT;
                j->pos += 6;
                if (u >= 0xDC00 && u <= 0xDFFF)
                    return TV_ERR_FORMAT;
                if (u >= 0xD800 && u <= 0xDBFF) {
                    uint32_t lo;
                    if (j->len - j->pos < 6 || j->p[j->pos] != '\\' || j->p[j->pos + 1] != 'u' ||
                        read_u4(j->p, j->len, j->pos + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                        return TV_ERR_FORMAT;
                    j->pos += 6;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == 0)
                return TV_ERR_FORMAT;
            j->pos += 2;
            continue;
        }
        size_t n = utf8_len(j->p, j->len, j->pos);
        if (n == 0)
            return TV_ERR_FORMAT;
        j->pos += n;
    }
    return TV_ERR_FORMAT;
}

static int scan_number(jparser *j)
{
    size_t s = j->pos;
    if (j->pos < j->len && j->p[j->pos] == '-')
        j->pos++;
    if (j->pos >= j->len)
        return TV_ERR_FORMAT;
    if (j->p[j->pos] == '0') {
        j->pos++;
    } else if (j->p[j->pos] >= '1' && j->p[j->pos] <= '9') {
        while (j->pos < j->len && j->p[j->pos] >= '0' && j->p[j->pos] <= '9')
            j->pos++;
    } else {
        return TV_ERR_FORMAT;
    }
    if (j->pos < j->len && j->p[j->pos] == '.') {
        j->pos++;
        size_t d = j->pos;
        while (j->pos < j->len && j->p[j->pos] >= '0' && j->p[j->pos] <= '9')
            j->pos++;
        if (j->pos == d)
            return TV_ERR_FORMAT;
    }
    if (j->pos < j->len && (j->p[j->pos] == 'e' || j->p[j->pos] == 'E')) {
        j->pos++;
        if (j->pos < j->len && (j->p[j->pos] == '+' || j->p[j->pos] == '-'))
            j->pos++;
        size_t d = j->pos;
        while (j->pos < j->len && j->p[j->pos] >= '0' && j->p[j->pos] <= '9')
            j->pos++;
        if (j->pos == d)
            return TV_ERR_FORMAT;
    }
    return j->pos > s ? 0 : TV_ERR_FORMAT;
}

static int literal(jparser *j, const char *lit)
{
    size_t n = strlen(lit);
    if (j->len - j->pos < n || memcmp(j->p + j->pos, lit, n) != 0)
        return TV_ERR_FORMAT;
    j->pos += n;
    return 0;
}

static int parse_value(jparser *j, int32_t parent, int depth, int32_t *out);

static int parse_container(jparser *j, int32_t self, int depth, int is_obj)
{
    int r;
    int32_t last = PROTO_JSON_NONE;
    uint8_t close = is_obj ? '}' : ']';
    j->pos++; /* opening bracket */
    skip_ws(j);
    if (j->pos < j->len && j->p[j->pos] == close) {
        j->pos++;
        return 0;
    }
    for (;;) {
        uint32_t ks = 0, kl = 0;
        skip_ws(j);
        if (is_obj) {
            size_t s = j->pos;
            if ((r = scan_string(j)) < 0)
                return r;
            ks = (uint32_t)(s + 1);
            kl = (uint32_t)(j->pos - s - 2);
            if (j->nodes[self].count >= PROTO_JSON_MAX_MEMBERS)
                return TV_ERR_TOO_LARGE;
            for (int32_t c = j->nodes[self].first; c != PROTO_JSON_NONE; c = j->nodes[c].next) {
                if (j->nodes[c].key_len == kl &&
                    memcmp(j->p + j->nodes[c].key_start, j->p + ks, kl) == 0)
                    return TV_ERR_FORMAT; /* duplicate key */
            }
            skip_ws(j);
            if (j->pos >= j->len || j->p[j->pos] != ':')
                return TV_ERR_FORMAT;
            j->pos++;
            skip_ws(j);
        }
        int32_t child;
        if ((r = parse_value(j, self, depth + 1, &child)) < 0)
            return r;
        j->nodes[child].key_start = ks;
        j->nodes[child].key_len = kl;
        if (last == PROTO_JSON_NONE)
            j->nodes[self].first = child;
        else
            j->nodes[last].next = child;
        last = child;
        j->nodes[self].count++;
        skip_ws(j);
        if (j->pos >= j->len)
            return TV_ERR_FORMAT;
        if (j->p[j->pos] == ',') {
            j->pos++;
            continue;
        }
        if (j->p[j->pos] == close) {
            j->pos++;
            return 0;
        }
        return TV_ERR_FORMAT;
    }
}

static int parse_value(jparser *j, int32_t parent, int depth, int32_t *out)
{
    int r;
    int32_t idx;
    uint8_t type;
    if (depth > PROTO_JSON_MAX_DEPTH)
        return TV_ERR_TOO_LARGE;
    if (j->pos >= j->len)
        return TV_ERR_FORMAT;
    switch (j->p[j->pos]) {
    case '{':
        type = PROTO_JSON_OBJECT;
        break;
    case '[':
        type = PROTO_JSON_ARRAY;
        break;
    case '"':
        type = PROTO_JSON_STRING;
        break;
    case 't':
        type = PROTO_JSON_TRUE;
        break;
    case 'f':
        type = PROTO_JSON_FALSE;
        break;
    case 'n':
        type = PROTO_JSON_NULL;
        break;
    default:
        type = PROTO_JSON_NUMBER;
        break;
    }
    if ((r = new_node(j, type, parent, &idx)) < 0)
        return r;
    switch (type) {
    case PROTO_JSON_OBJECT:
    case PROTO_JSON_ARRAY:
        r = parse_container(j, idx, depth, type == PROTO_JSON_OBJECT);
        break;
    case PROTO_JSON_STRING:
        r = scan_string(j);
        break;
    case PROTO_JSON_TRUE:
        r = literal(j, "true");
        break;
    case PROTO_JSON_FALSE:
        r = literal(j, "false");
        break;
    case PROTO_JSON_NULL:
        r = literal(j, "null");
        break;
    default:
        r = scan_number(j);
        break;
    }
    if (r < 0)
        return r;
    /* nodes may have moved (realloc); index again */
    j->nodes[idx].len = (uint32_t)(j->pos - j->nodes[idx].start);
    *out = idx;
    return 0;
}

int proto_json_parse(const uint8_t *data, size_t len, size_t max_nodes, proto_json **out)
{
    int r = TV_ERR_INTERNAL;
    jparser j = {.p = data, .len = len, .max = max_nodes ? max_nodes : PROTO_JSON_DEFAULT_NODES};
    proto_json *doc = NULL;
    int32_t root;

    if (len > 0x7FFFFFFFu || j.max > 0x7FFFFFFFu)
        return TV_ERR_TOO_LARGE;
    if (!data && len)
        return TV_ERR_INVALID;
    skip_ws(&j);
    if ((r = parse_value(&j, PROTO_JSON_NONE, 1, &root)) < 0)
        goto out;
    skip_ws(&j);
    if (j.pos != j.len) {
        r = TV_ERR_FORMAT;
        goto out;
    }
    if (!(doc = calloc(1, sizeof(*doc)))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    doc->in = data;
    doc->in_len = len;
    doc->nodes = j.nodes;
    doc->n_nodes = j.n;
    j.nodes = NULL;
    *out = doc;
    r = 0;
out:
    free(j.nodes);
    return r;
}

int proto_json_parse_buf(const proto_buf *b, size_t max_nodes, proto_json **out)
{
    return proto_json_parse(proto_buf_ptr(b), proto_buf_avail(b), max_nodes, out);
}

void proto_json_free(proto_json *doc)
{
    if (!doc)
        return;
    free(doc->nodes);
    free(doc);
}

const proto_json_node *proto_json_node_at(const proto_json *doc, int idx)
{
    if (!doc || idx < 0 || (size_t)idx >= doc->n_nodes)
        return NULL;
    return &doc->nodes[idx];
}

int proto_json_type_of(const proto_json *doc, int idx)
{
    const proto_json_node *n = proto_json_node_at(doc, idx);
    return n ? n->type : 0;
}

int proto_json_get(const proto_json *doc, int idx, const char *key)
{
    const proto_json_node *n = proto_json_node_at(doc, idx);
    size_t kl = strlen(key);
    if (!n || n->type != PROTO_JSON_OBJECT)
        return PROTO_JSON_NONE;
    for (int32_t c = n->first; c != PROTO_JSON_NONE; c = doc->nodes[c].next) {
        if (doc->nodes[c].key_len == kl && memcmp(doc->in + doc->nodes[c].key_start, key, kl) == 0)
            return c;
    }
    return PROTO_JSON_NONE;
}

int proto_json_first(const proto_json *doc, int idx)
{
    const proto_json_node *n = proto_json_node_at(doc, idx);
    if (!n || (n->type != PROTO_JSON_OBJECT && n->type != PROTO_JSON_ARRAY))
        return PROTO_JSON_NONE;
    return n->first;
}

int proto_json_next(const proto_json *doc, int idx)
{
    const proto_json_node *n = proto_json_node_at(doc, idx);
    return n ? n->next : PROTO_JSON_NONE;
}

int proto_json_span(const proto_json *doc, int idx, const uint8_t **p, size_t *n)
{
    const proto_json_node *nd = proto_json_node_at(doc, idx);
    if (!nd)
        return TV_ERR_INVALID;
    *p = doc->in + nd->start;
    *n = nd->len;
    return 0;
}

static void put_utf8(char *o, size_t *k, uint32_t cp)
{
    if (cp < 0x80) {
        o[(*k)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*k)++] = (char)(0xC0 | cp >> 6);
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*k)++] = (char)(0xE0 | cp >> 12);
        o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*k)++] = (char)(0xF0 | cp >> 18);
        o[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* Decode the (already validated) string node into o, which has room for at
 * least the raw length + 1 bytes (decoding never grows a string). */
static size_t decode_string(const proto_json *doc, const proto_json_node *n, char *o)
{
    const uint8_t *p = doc->in + n->start + 1;
    size_t len = n->len - 2, i = 0, k = 0;
    while (i < len) {
        if (p[i] != '\\') {
            o[k++] = (char)p[i++];
            continue;
        }
        uint8_t e = p[i + 1];
        i += 2;
        switch (e) {
        case 'b':
            o[k++] = '\b';
            break;
        case 'f':
            o[k++] = '\f';
            break;
        case 'n':
            o[k++] = '\n';
            break;
        case 'r':
            o[k++] = '\r';
            break;
        case 't':
            o[k++] = '\t';
            break;
        case 'u': {
            uint32_t u = 0, lo = 0;
            (void)read_u4(p, len, i, &u);
            i += 4;
            if (u >= 0xD800 && u <= 0xDBFF) {
                (void)read_u4(p, len, i + 2, &lo);
                i += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(o, &k, u);
            break;
        }
        default: /* " \ / */
            o[k++] = (char)e;
            break;
        }
    }
    o[k] = 0;
    return k;
}

int proto_json_string(const proto_json *doc, int idx, char *buf, size_t cap, size_t *n)
{
    const proto_json_node *nd = proto_json_node_at(doc, idx);
    char *tmp;
    size_t k;
    if (!nd || nd->type != PROTO_JSON_STRING || cap == 0)
        return TV_ERR_INVALID;
    if (!(tmp = malloc(nd->len)))
        return TV_ERR_NOMEM;
    k = decode_string(doc, nd, tmp);
    if (k >= cap) {
        free(tmp);
        return TV_ERR_TOO_LARGE;
    }
    memcpy(buf, tmp, k + 1);
    free(tmp);
    if (n)
        *n = k;
    return 0;
}

int proto_json_string_dup(const proto_json *doc, int idx, char **s, size_t *n)
{
    const proto_json_node *nd = proto_json_node_at(doc, idx);
    char *tmp;
    size_t k;
    if (!nd || nd->type != PROTO_JSON_STRING)
        return TV_ERR_INVALID;
    if (!(tmp = malloc(nd->len)))
        return TV_ERR_NOMEM;
    k = decode_string(doc, nd, tmp);
    *s = tmp;
    if (n)
        *n = k;
    return 0;
}

int proto_json_string_eq(const proto_json *doc, int idx, const char *s)
{
    char *d = NULL;
    size_t n = 0;
    int eq;
    if (proto_json_string_dup(doc, idx, &d, &n) < 0)
        return 0;
    eq = n == strlen(s) && memcmp(d, s, n) == 0;
    free(d);
    return eq;
}

int proto_json_int(const proto_json *doc, int idx, int64_t *v)
{
    const proto_json_node *nd = proto_json_node_at(doc, idx);
    const uint8_t *p;
    size_t i = 0;
    int neg = 0;
    uint64_t acc = 0;
    if (!nd || nd->type != PROTO_JSON_NUMBER)
        return TV_ERR_INVALID;
    p = doc->in + nd->start;
    if (p[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i >= nd->len)
        return TV_ERR_INVALID;
    for (; i < nd->len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return TV_ERR_INVALID; /* fraction or exponent */
        if (acc > (UINT64_MAX - 9) / 10)
            return TV_ERR_INVALID;
        acc = acc * 10 + (uint64_t)(p[i] - '0');
    }
    if (acc > (uint64_t)INT64_MAX + (uint64_t)neg)
        return TV_ERR_INVALID;
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
}

int proto_json_hex(const proto_json *doc, int idx, uint8_t *out, size_t n)
{
    const proto_json_node *nd = proto_json_node_at(doc, idx);
    const uint8_t *p;
    if (!nd || nd->type != PROTO_JSON_STRING)
        return TV_ERR_INVALID;
    if (nd->len - 2 != 2 * n)
        return TV_ERR_INVALID;
    p = doc->in + nd->start + 1;
    for (size_t i = 0; i < 2 * n; i++) {
        if (hexval(p[i]) < 0)
            return TV_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(hexval(p[2 * i]) << 4 | hexval(p[2 * i + 1]));
    return 0;
}
