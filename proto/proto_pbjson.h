/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proto_pbjson: the proto3 JSON mapping for protobuf-c messages, driven by
 * their descriptors (no generated JSON code). Used by the Connect transport.
 *
 * Decoding goes straight from JSON to the protobuf wire format, so the
 * message is then unpacked and checked exactly as one that arrived in
 * binary. Field names: the proto name ("expires_at") or its lowerCamelCase
 * JSON name ("expiresAt"). Values: strings; bytes as base64 (standard or
 * URL-safe, padding optional); 64-bit integers as strings or numbers, other
 * integers as numbers (or strings); bools; enums by name or number; nested
 * messages as objects; repeated fields as arrays; null = the default.
 * Unknown fields, a field given twice, floating-point fields and wrong types
 * are refused (TV_ERR_INVALID, err says which field).
 *
 * Encoding walks an unpacked message: proto3 defaults are omitted, names are
 * lowerCamelCase, 64-bit integers are strings, bytes are standard base64.
 */
#ifndef PROTO_PBJSON_H
#define PROTO_PBJSON_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "proto_buf.h"
#include "tv_err.h"

#define PROTO_PBJSON_MAX_NODES 4096 /* JSON values per request */

/* JSON (json[0, len)) as message type d, appended to out in the protobuf
 * wire format. On error err (errlen bytes) says why. Errors: TV_ERR_INVALID
 * (not JSON, not an object, wrong field or type), TV_ERR_TOO_LARGE (over
 * PROTO_PBJSON_MAX_NODES values or out's cap), TV_ERR_NOMEM. */
int proto_pbjson_to_wire(const ProtobufCMessageDescriptor *d, const uint8_t *json, size_t len,
                         proto_buf *out, char *err, size_t errlen) TV_WUR;

/* msg as a JSON object appended to out. Errors: TV_ERR_TOO_LARGE (out's
 * cap), TV_ERR_NOMEM, TV_ERR_INVALID (a field type the mapping does not
 * cover: float/double). */
int proto_pbjson_from_msg(const ProtobufCMessage *msg, proto_buf *out) TV_WUR;

/* s as a JSON string literal (quotes included; control characters, '"' and
 * '\\' escaped; other bytes as they are) appended to out. */
int proto_pbjson_put_string(proto_buf *out, const char *s, size_t n) TV_WUR;

#endif
