/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proto_frame: the sans-I/O ttrpc codec. Every malformed header, split and
 * partial input down to one byte at a time, caps checked before buffering.
 */
#include <stdlib.h>
#include <string.h>

#include "proto_frame.h"
#include "tv_test.h"

static size_t mkhdr(uint8_t *p, uint32_t len, uint32_t sid, uint8_t type, uint8_t flags)
{
    proto_frame_hdr h = {.length = len, .stream_id = sid, .type = type, .flags = flags};
    proto_frame_encode_header(p, &h);
    return PROTO_FRAME_HDR_LEN;
}

static void test_header_roundtrip(void)
{
    uint8_t p[PROTO_FRAME_HDR_LEN];
    proto_frame_hdr h;
    mkhdr(p, 0x01020304, 0x0a0b0c0d, 2, 0x7f);
    /* Big-endian on the wire, exactly as ttrpc's channel.go writes it. */
    const uint8_t want[] = {1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 2, 0x7f};
    CHECK(memcmp(p, want, sizeof(want)) == 0);
    proto_frame_parse_header(p, &h);
    CHECK_EQ_INT(h.length, 0x01020304);
    CHECK_EQ_INT(h.stream_id, 0x0a0b0c0d);
    CHECK_EQ_INT(h.type, 2);
    CHECK_EQ_INT(h.flags, 0x7f);
}

static void test_one_frame(void)
{
    proto_frame_reader r;
    uint8_t buf[64];
    size_t n = mkhdr(buf, 5, 1, PROTO_FRAME_REQUEST, 0), used = 99;
    memcpy(buf + n, "hello", 5);
    proto_frame_reader_init(&r, PROTO_FRAME_REQUEST, 0);
    CHECK_EQ_INT(proto_frame_read(&r, buf, n + 5, &used), PROTO_FRAME_READY);
    CHECK_EQ_INT(used, n + 5);
    CHECK_EQ_INT(proto_frame_header(&r)->stream_id, 1);
    CHECK_EQ_INT(proto_frame_body_len(&r), 5);
    CHECK(memcmp(proto_frame_body(&r), "hello", 5) == 0);
    /* Feeding more while a frame is held is a caller bug, reported. */
    CHECK_EQ_INT(proto_frame_read(&r, buf, 1, &used), TV_ERR_INTERNAL);
    proto_frame_next(&r);
    /* Empty body is a valid frame (an Empty-payload request envelope can be 0 bytes). */
    n = mkhdr(buf, 0, 3, PROTO_FRAME_REQUEST, 0);
    CHECK_EQ_INT(proto_frame_read(&r, buf, n, &used), PROTO_FRAME_READY);
    CHECK_EQ_INT(proto_frame_body_len(&r), 0);
    CHECK(proto_frame_body(&r) != NULL);
    proto_frame_reader_free(&r);
}

/* Two frames back to back, delivered in every possible split and byte by byte. */
static void test_splits(void)
{
    uint8_t buf[128];
    size_t n = 0;
    n += mkhdr(buf + n, 7, 1, PROTO_FRAME_REQUEST, 0);
    memcpy(buf + n, "abcdefg", 7);
    n += 7;
    n += mkhdr(buf + n, 3, 3, PROTO_FRAME_REQUEST, 0);
    memcpy(buf + n, "xyz", 3);
    n += 3;

    for (size_t chunk = 1; chunk <= n; chunk++) {
        proto_frame_reader r;
        int frames = 0, ok = 1;
        proto_frame_reader_init(&r, PROTO_FRAME_REQUEST, 0);
        size_t off = 0;
        while (off < n) {
            size_t len = n - off < chunk ? n - off : chunk;
            size_t used = 0;
            int st = proto_frame_read(&r, buf + off, len, &used);
            if (st < 0 || used > len) {
                ok = 0;
                break;
            }
            off += used;
            if (st == PROTO_FRAME_READY) {
                const proto_frame_hdr *h = proto_frame_header(&r);
                if (frames == 0)
                    ok &= h->stream_id == 1 && proto_frame_body_len(&r) == 7 &&
                          memcmp(proto_frame_body(&r), "abcdefg", 7) == 0;
                else
                    ok &= h->stream_id == 3 && proto_frame_body_len(&r) == 3 &&
                          memcmp(proto_frame_body(&r), "xyz", 3) == 0;
                frames++;
                proto_frame_next(&r);
            } else if (used != len) {
                ok = 0; /* NEED_MORE must consume everything */
                break;
            }
        }
        CHECK(ok);
        CHECK_EQ_INT(frames, 2);
        proto_frame_reader_free(&r);
    }
}

static void expect_dead(uint32_t len, uint32_t sid, uint8_t type, uint8_t expect, uint32_t cap,
                        int err)
{
    proto_frame_reader r;
    uint8_t buf[PROTO_FRAME_HDR_LEN];
    size_t used = 0;
    mkhdr(buf, len, sid, type, 0);
    proto_frame_reader_init(&r, expect, cap);
    /* Header split in two: the error appears on its last byte. */
    CHECK_EQ_INT(proto_frame_read(&r, buf, 9, &used), PROTO_FRAME_NEED_MORE);
    CHECK_EQ_INT(used, 9);
    CHECK_EQ_INT(proto_frame_read(&r, buf + 9, 1, &used), err);
    /* Dead for good, whatever comes next. */
    mkhdr(buf, 1, 1, expect, 0);
    CHECK_EQ_INT(proto_frame_read(&r, buf, sizeof(buf), &used), err);
    proto_frame_next(&r);
    CHECK_EQ_INT(proto_frame_read(&r, buf, sizeof(buf), &used), err);
    /* Nothing of a body was allocated for an over-cap length. */
    CHECK(r.body.cap <= 4096);
    proto_frame_reader_free(&r);
}

static void test_malformed_headers(void)
{
    /* stream id 0 and even ids */
    expect_dead(1, 0, PROTO_FRAME_REQUEST, PROTO_FRAME_REQUEST, 0, TV_ERR_PROTOCOL);
    expect_dead(1, 2, PROTO_FRAME_REQUEST, PROTO_FRAME_REQUEST, 0, TV_ERR_PROTOCOL);
    expect_dead(1, 0xfffffffe, PROTO_FRAME_REQUEST, PROTO_FRAME_REQUEST, 0, TV_ERR_PROTOCOL);
    /* wrong types */
    expect_dead(1, 1, PROTO_FRAME_RESPONSE, PROTO_FRAME_REQUEST, 0, TV_ERR_PROTOCOL);
    expect_dead(1, 1, PROTO_FRAME_DATA, PROTO_FRAME_REQUEST, 0, TV_ERR_PROTOCOL);
    expect_dead(1, 1, 0, PROTO_FRAME_REQUEST, 0, TV_ERR_PROTOCOL);
    expect_dead(1, 1, 255, PROTO_FRAME_REQUEST, 0, TV_ERR_PROTOCOL);
    expect_dead(1, 1, PROTO_FRAME_REQUEST, PROTO_FRAME_RESPONSE, 0, TV_ERR_PROTOCOL);
    /* lengths over the cap */
    expect_dead(PROTO_FRAME_MAX + 1, 1, PROTO_FRAME_REQUEST, PROTO_FRAME_REQUEST, 0,
                TV_ERR_TOO_LARGE);
    expect_dead(0xffffffff, 1, PROTO_FRAME_REQUEST, PROTO_FRAME_REQUEST, 0, TV_ERR_TOO_LARGE);
    expect_dead(PROTO_FRAME_PREAUTH_MAX + 1, 1, PROTO_FRAME_REQUEST, PROTO_FRAME_REQUEST,
                PROTO_FRAME_PREAUTH_MAX, TV_ERR_TOO_LARGE);
    /* A cap above 4 MiB is clamped to 4 MiB. */
    expect_dead(PROTO_FRAME_MAX + 1, 1, PROTO_FRAME_REQUEST, PROTO_FRAME_REQUEST, 0xffffffff,
                TV_ERR_TOO_LARGE);
}

static void test_caps(void)
{
    proto_frame_reader r;
    uint8_t hdr[PROTO_FRAME_HDR_LEN];
    size_t used;

    /* Exactly at the pre-auth cap: accepted and fully buffered. */
    uint8_t *body = calloc(1, PROTO_FRAME_PREAUTH_MAX);
    proto_frame_reader_init(&r, PROTO_FRAME_REQUEST, PROTO_FRAME_PREAUTH_MAX);
    mkhdr(hdr, PROTO_FRAME_PREAUTH_MAX, 1, PROTO_FRAME_REQUEST, 0);
    CHECK_EQ_INT(proto_frame_read(&r, hdr, sizeof(hdr), &used), PROTO_FRAME_NEED_MORE);
    CHECK_EQ_INT(proto_frame_read(&r, body, PROTO_FRAME_PREAUTH_MAX, &used), PROTO_FRAME_READY);
    CHECK_EQ_INT(proto_frame_body_len(&r), PROTO_FRAME_PREAUTH_MAX);
    proto_frame_next(&r);
    /* Raising the cap (after authentication) lets a bigger frame in. */
    proto_frame_reader_set_max(&r, PROTO_FRAME_MAX);
    mkhdr(hdr, PROTO_FRAME_PREAUTH_MAX + 1, 3, PROTO_FRAME_REQUEST, 0);
    CHECK_EQ_INT(proto_frame_read(&r, hdr, sizeof(hdr), &used), PROTO_FRAME_NEED_MORE);
    CHECK_EQ_INT(proto_frame_read(&r, body, PROTO_FRAME_PREAUTH_MAX, &used), PROTO_FRAME_NEED_MORE);
    CHECK_EQ_INT(proto_frame_read(&r, body, 1, &used), PROTO_FRAME_READY);
    proto_frame_next(&r);
    /* A 4 MiB header alone is accepted (the body is then awaited). */
    mkhdr(hdr, PROTO_FRAME_MAX, 5, PROTO_FRAME_REQUEST, 0);
    CHECK_EQ_INT(proto_frame_read(&r, hdr, sizeof(hdr), &used), PROTO_FRAME_NEED_MORE);
    proto_frame_reader_free(&r);
    free(body);
}

static void test_flags_ignored(void)
{
    proto_frame_reader r;
    uint8_t buf[16];
    size_t used;
    size_t n = mkhdr(buf, 1, 1, PROTO_FRAME_REQUEST, 0xff);
    buf[n] = 'x';
    proto_frame_reader_init(&r, PROTO_FRAME_REQUEST, 0);
    CHECK_EQ_INT(proto_frame_read(&r, buf, n + 1, &used), PROTO_FRAME_READY);
    CHECK_EQ_INT(proto_frame_header(&r)->flags, 0xff);
    proto_frame_reader_free(&r);
}

static void test_writers(void)
{
    proto_buf out;
    proto_frame_reader r;
    size_t used;
    proto_frame_kv md[] = {{"authorization", "Bearer abc"}};

    proto_buf_init(&out, 0);
    CHECK_EQ_INT(proto_frame_write_request(&out, 7, "teevault.v1.Sys", "Status",
                                           (const uint8_t *)"\x01\x02", 2, 5, md, 1, 0),
                 0);
    proto_frame_reader_init(&r, PROTO_FRAME_REQUEST, 0);
    CHECK_EQ_INT(proto_frame_read(&r, out.d, out.len, &used), PROTO_FRAME_READY);
    CHECK_EQ_INT(used, out.len);
    CHECK_EQ_INT(proto_frame_header(&r)->stream_id, 7);
    Ttrpc__Request *rq =
        ttrpc__request__unpack(NULL, proto_frame_body_len(&r), proto_frame_body(&r));
    CHECK(rq != NULL);
    if (rq) {
        CHECK(strcmp(rq->service, "teevault.v1.Sys") == 0);
        CHECK(strcmp(rq->method, "Status") == 0);
        CHECK_EQ_INT(rq->payload.len, 2);
        CHECK_EQ_INT(rq->timeout_nano, 5);
        CHECK_EQ_INT(rq->n_metadata, 1);
        CHECK(strcmp(rq->metadata[0]->value, "Bearer abc") == 0);
        ttrpc__request__free_unpacked(rq, NULL);
    }
    proto_frame_reader_free(&r);

    /* Response: status code and message survive the round trip. */
    proto_buf_reset(&out);
    CHECK_EQ_INT(proto_frame_write_response(&out, 9, 12, "nope", NULL, 0, 0), 0);
    proto_frame_reader_init(&r, PROTO_FRAME_RESPONSE, 0);
    CHECK_EQ_INT(proto_frame_read(&r, out.d, out.len, &used), PROTO_FRAME_READY);
    Ttrpc__Response *rs =
        ttrpc__response__unpack(NULL, proto_frame_body_len(&r), proto_frame_body(&r));
    CHECK(rs && rs->status && rs->status->code == 12 && !strcmp(rs->status->message, "nope"));
    if (rs)
        ttrpc__response__free_unpacked(rs, NULL);
    proto_frame_reader_free(&r);

    /* Errors leave the buffer untouched. */
    size_t before = out.len;
    CHECK_EQ_INT(proto_frame_write_response(&out, 0, 0, NULL, NULL, 0, 0), TV_ERR_INVALID);
    uint8_t *big = calloc(1, 100);
    CHECK_EQ_INT(proto_frame_write_response(&out, 1, 0, NULL, big, 100, 50), TV_ERR_TOO_LARGE);
    CHECK_EQ_INT(out.len, before);
    free(big);
    proto_buf_free(&out);
}

/* An error response names the teevault error next to its gRPC code, and the
 * name survives the trip; a status without the detail names nothing. */
static void test_error_detail(void)
{
    static const int errs[] = {TV_ERR_DELETED, TV_ERR_REPLAY, TV_ERR_CAS, TV_ERR_INTERNAL};
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        proto_buf out;
        proto_frame_reader rd;
        size_t used = 0;
        proto_buf_init(&out, 0);
        proto_frame_reader_init(&rd, PROTO_FRAME_RESPONSE, 0);
        CHECK_EQ_INT(proto_frame_write_error(&out, 5, errs[i], "why", 0), 0);
        CHECK_EQ_INT(proto_frame_read(&rd, out.d, out.len, &used), PROTO_FRAME_READY);
        Ttrpc__Response *resp =
            ttrpc__response__unpack(NULL, proto_frame_body_len(&rd), proto_frame_body(&rd));
        CHECK(resp && resp->status);
        if (resp && resp->status) {
            CHECK_EQ_INT(resp->status->code, tv_err_to_grpc(errs[i]));
            CHECK(strcmp(resp->status->message, "why") == 0);
            CHECK_EQ_INT(proto_frame_status_error(resp->status), errs[i]);
            /* Without the detail (another server): nothing named. */
            size_t nd = resp->status->n_details;
            resp->status->n_details = 0;
            CHECK_EQ_INT(proto_frame_status_error(resp->status), 0);
            resp->status->n_details = nd;
        }
        if (resp)
            ttrpc__response__free_unpacked(resp, NULL);
        proto_frame_reader_free(&rd);
        proto_buf_free(&out);
    }
    CHECK_EQ_INT(tv_err_from_name("replay"), TV_ERR_REPLAY);
    CHECK_EQ_INT(tv_err_from_name("no-such-error"), 0);
    CHECK_EQ_INT(tv_err_from_name(NULL), 0);
}

int main(void)
{
    RUN(test_header_roundtrip);
    RUN(test_one_frame);
    RUN(test_splits);
    RUN(test_malformed_headers);
    RUN(test_caps);
    RUN(test_flags_ignored);
    RUN(test_writers);
    RUN(test_error_detail);
    return tv_test_finish();
}
