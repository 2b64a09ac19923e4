/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proto_frame: sans-I/O codec for ttrpc framing (containerd/ttrpc PROTOCOL.md).
 *
 * Every message on the wire is a 10-byte header followed by `length` bytes:
 *
 *   u32 BE length     bytes after the header
 *   u32 BE stream id  chosen by the client, odd, never 0; the response echoes it
 *   u8     type       1 request (ttrpc.Request), 2 response (ttrpc.Response), 3 data
 *   u8     flags      reserved for streaming; unary calls send 0 and we ignore it
 *
 * The reader takes bytes from wherever the caller got them (socket, test
 * vector, fuzzer) and never does I/O. It checks the header - stream id, type
 * and length against the cap - BEFORE it buffers any of the body, so a peer
 * cannot make us allocate more than the cap. The cap can change between
 * frames (16 KiB before a connection authenticated, 4 MiB after).
 *
 * Any error is fatal for the connection: the reader is dead afterwards and
 * the only legal calls are proto_frame_reader_free() / _init().
 *
 * Frame bodies are held in a wiping proto_buf (a Put request carries a secret
 * value); proto_frame_next() and proto_frame_reader_free() wipe them.
 */
#ifndef PROTO_FRAME_H
#define PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "proto_buf.h"
#include "ttrpc.pb-c.h"
#include "tv_err.h"

#define PROTO_FRAME_HDR_LEN     10
#define PROTO_FRAME_MAX         (4u * 1024 * 1024) /* ttrpc messageLengthMax */
#define PROTO_FRAME_PREAUTH_MAX (16u * 1024)       /* before a valid token was seen */

enum proto_frame_type {
    PROTO_FRAME_REQUEST = 1,
    PROTO_FRAME_RESPONSE = 2,
    PROTO_FRAME_DATA = 3,
};

/* Return values of proto_frame_read() besides negative tv_err. */
enum proto_frame_status {
    PROTO_FRAME_NEED_MORE = 0, /* all input consumed, frame not complete yet */
    PROTO_FRAME_READY = 1,     /* a whole frame is available; see proto_frame_hdr/_body */
};

typedef struct proto_frame_hdr {
    uint32_t length;
    uint32_t stream_id;
    uint8_t type;
    uint8_t flags;
} proto_frame_hdr;

/* Reader state. Treat the fields as private; use the functions below. */
typedef struct proto_frame_reader {
    uint8_t hbuf[PROTO_FRAME_HDR_LEN];
    size_t hhave;      /* header bytes collected so far */
    proto_frame_hdr h; /* valid once hhave == PROTO_FRAME_HDR_LEN */
    proto_buf body;    /* wiping; holds h.length bytes when ready */
    uint32_t max_len;  /* cap on h.length, checked before buffering */
    uint8_t expect;    /* accepted frame type (REQUEST on servers, RESPONSE on clients) */
    int ready;         /* a complete frame is held; call proto_frame_next() */
    int dead;          /* a fatal error happened */
    int err;           /* the error that killed it (tv_err) */
} proto_frame_reader;

/* Initialise a reader accepting frames of type `expect` (PROTO_FRAME_REQUEST
 * for a server, PROTO_FRAME_RESPONSE for a client) with bodies up to max_len
 * bytes (clamped to PROTO_FRAME_MAX; 0 means PROTO_FRAME_MAX). */
void proto_frame_reader_init(proto_frame_reader *r, uint8_t expect, uint32_t max_len);

/* Change the body cap (clamped as above). It applies to headers not yet
 * complete; a frame whose header was already accepted keeps its length. */
void proto_frame_reader_set_max(proto_frame_reader *r, uint32_t max_len);

/* Wipe and release everything. The reader may be re-initialised afterwards. */
void proto_frame_reader_free(proto_frame_reader *r);

/*
 * Feed `len` bytes. *consumed is set to how many bytes were taken (always,
 * also on error). Returns:
 *   PROTO_FRAME_NEED_MORE  all `len` bytes consumed, no complete frame yet;
 *   PROTO_FRAME_READY      a frame is complete; bytes after it were NOT
 *                          consumed (feed them again after proto_frame_next());
 *   TV_ERR_PROTOCOL        stream id 0 or even, or a type other than `expect`;
 *   TV_ERR_TOO_LARGE       length over the cap (nothing of the body buffered);
 *   TV_ERR_NOMEM           body allocation failed;
 *   TV_ERR_INTERNAL        called while a frame is still held (READY and not
 *                          yet proto_frame_next()) or on a dead reader.
 * Every negative return leaves the reader dead: close the connection.
 */
int proto_frame_read(proto_frame_reader *r, const uint8_t *data, size_t len,
                     size_t *consumed) TV_WUR;

/* The held frame; valid only after READY and until proto_frame_next(). */
const proto_frame_hdr *proto_frame_header(const proto_frame_reader *r);
const uint8_t *proto_frame_body(const proto_frame_reader *r);
size_t proto_frame_body_len(const proto_frame_reader *r);

/* Wipe the held frame and get ready for the next header. */
void proto_frame_next(proto_frame_reader *r);

/* Parse a 10-byte header from p (no validation). */
void proto_frame_parse_header(const uint8_t p[PROTO_FRAME_HDR_LEN], proto_frame_hdr *h);
/* Encode a header into p. */
void proto_frame_encode_header(uint8_t p[PROTO_FRAME_HDR_LEN], const proto_frame_hdr *h);

/*
 * Writers: append one whole frame (header + packed message) to `out`.
 * max_len caps the body (0 = PROTO_FRAME_MAX). Errors: TV_ERR_TOO_LARGE when
 * the packed message is over the cap or does not fit `out`'s growth limit,
 * TV_ERR_NOMEM, TV_ERR_INVALID for stream id 0. On error `out` is unchanged.
 */
int proto_frame_write_msg(proto_buf *out, uint32_t stream_id, uint8_t type,
                          const ProtobufCMessage *msg, uint32_t max_len) TV_WUR;

/* Build and append a ttrpc.Response: status {code, message} (message may be
 * NULL) and payload (may be NULL when n == 0). The payload is copied. */
int proto_frame_write_response(proto_buf *out, uint32_t stream_id, int grpc_code,
                               const char *message, const uint8_t *payload, size_t n,
                               uint32_t max_len) TV_WUR;

/* Build and append a ttrpc.Request. `metadata` is an array of n_md key/value
 * pairs (may be NULL when n_md == 0); strings are copied into the frame. */
typedef struct proto_frame_kv {
    const char *key;
    const char *value;
} proto_frame_kv;
/* An error response for tv_err err (< 0): the gRPC code for it, message, and
 * a teevault.v1.ErrorDetail naming err in Status.details. Errors as
 * proto_frame_write_msg. */
int proto_frame_write_error(proto_buf *out, uint32_t stream_id, int err, const char *message,
                            uint32_t max_len) TV_WUR;

/* The teevault error named in a response status's ErrorDetail, or 0 when it
 * carries none (another server) or it does not parse. */
int proto_frame_status_error(const Ttrpc__Status *st);

int proto_frame_write_request(proto_buf *out, uint32_t stream_id, const char *service,
                              const char *method, const uint8_t *payload, size_t n,
                              int64_t timeout_nano, const proto_frame_kv *metadata, size_t n_md,
                              uint32_t max_len) TV_WUR;

#endif
