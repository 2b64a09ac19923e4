/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proto_json: a small strict JSON reader (RFC 8259) for untrusted input.
 *
 * proto_json_parse() reads one complete JSON document from a bounded byte
 * range and builds a flat, read-only tree of nodes. Every node records the
 * raw byte span [start, start + len) of its value in the input, so a caller can
 * check a signature over the exact bytes of a member's value (Intel's
 * collateral signs the raw "tcbInfo" / "enclaveIdentity" object as served;
 * re-serialising it would break the signature).
 *
 * Strictness: no comments, no trailing commas, no leading zeros, no NaN,
 * strings must be valid UTF-8 without raw control characters, escapes must be
 * valid (\uXXXX surrogates paired), duplicate keys inside one object are
 * rejected, only whitespace may follow the document. Nesting is limited to
 * PROTO_JSON_MAX_DEPTH and the node count to the caller's limit.
 *
 * Ownership: the document does NOT copy the input. The input bytes must stay
 * alive and unchanged while the document is used. Node indices are plain
 * integers; index 0 is the root. Nothing in here allocates except
 * proto_json_parse() and proto_json_string_dup().
 */
#ifndef PROTO_JSON_H
#define PROTO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "proto_buf.h"
#include "tv_err.h"

#define PROTO_JSON_MAX_DEPTH 64
#define PROTO_JSON_NONE      (-1) /* "no such node" index */

enum proto_json_type {
    PROTO_JSON_NULL = 1,
    PROTO_JSON_FALSE,
    PROTO_JSON_TRUE,
    PROTO_JSON_NUMBER,
    PROTO_JSON_STRING,
    PROTO_JSON_ARRAY,
    PROTO_JSON_OBJECT,
};

typedef struct proto_json_node {
    uint8_t type;   /* enum proto_json_type */
    uint32_t start; /* raw value span in the input; strings include quotes */
    uint32_t len;
    uint32_t key_start; /* object members: raw key span without the quotes */
    uint32_t key_len;
    int32_t parent; /* PROTO_JSON_NONE for the root */
    int32_t first;  /* containers: first child, PROTO_JSON_NONE if empty */
    int32_t next;   /* next sibling, PROTO_JSON_NONE at the end */
    uint32_t count; /* containers: number of children */
} proto_json_node;

typedef struct proto_json {
    const uint8_t *in; /* the caller's input, not owned */
    size_t in_len;
    proto_json_node *nodes;
    size_t n_nodes;
} proto_json;

/* Parse data[0, len) as one JSON document. max_nodes bounds the number of
 * values (0 = 65536). On success *out is a new document; free it with
 * proto_json_free(). Errors: TV_ERR_FORMAT (not strict JSON; nothing is
 * returned), TV_ERR_TOO_LARGE (more than max_nodes values, depth above
 * PROTO_JSON_MAX_DEPTH, or input above 2^31 bytes), TV_ERR_NOMEM. */
int proto_json_parse(const uint8_t *data, size_t len, size_t max_nodes, proto_json **out) TV_WUR;
/* Same over the unread bytes of a proto_buf (nothing is consumed). */
int proto_json_parse_buf(const proto_buf *b, size_t max_nodes, proto_json **out) TV_WUR;
void proto_json_free(proto_json *doc);

/* Node accessors. Every function taking an index accepts PROTO_JSON_NONE or
 * an out-of-range index and then returns "absent" (NULL / NONE / 0 type). */
const proto_json_node *proto_json_node_at(const proto_json *doc, int idx);
int proto_json_type_of(const proto_json *doc, int idx); /* 0 when absent */
/* Member value of object idx with the given key (compared against the raw key
 * bytes, so keys with escapes never match); PROTO_JSON_NONE if idx is not an
 * object or has no such key. */
int proto_json_get(const proto_json *doc, int idx, const char *key);
/* First child / next sibling for iterating arrays and objects. */
int proto_json_first(const proto_json *doc, int idx);
int proto_json_next(const proto_json *doc, int idx);
/* Raw span of a value as it appears in the input (points into the input). */
int proto_json_span(const proto_json *doc, int idx, const uint8_t **p, size_t *n) TV_WUR;

/* Decode a string value (escapes resolved, UTF-8) into buf of cap bytes; the
 * result is NUL-terminated and *n (may be NULL) gets its length.
 * TV_ERR_INVALID if idx is not a string, TV_ERR_TOO_LARGE if it does not fit. */
int proto_json_string(const proto_json *doc, int idx, char *buf, size_t cap, size_t *n) TV_WUR;
/* Same into a new malloc'ed NUL-terminated string the caller frees.
 * Errors: TV_ERR_INVALID, TV_ERR_NOMEM. */
int proto_json_string_dup(const proto_json *doc, int idx, char **s, size_t *n) TV_WUR;
/* True when idx is a string whose decoded value equals s (case-sensitive). */
int proto_json_string_eq(const proto_json *doc, int idx, const char *s);
/* An integer number (no fraction, no exponent) within int64.
 * TV_ERR_INVALID otherwise. */
int proto_json_int(const proto_json *doc, int idx, int64_t *v) TV_WUR;
/* A string of hex digits (either case) decoded into exactly n bytes.
 * TV_ERR_INVALID if not a string, not hex, or not exactly 2n digits. */
int proto_json_hex(const proto_json *doc, int idx, uint8_t *out, size_t n) TV_WUR;

#endif
