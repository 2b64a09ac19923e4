/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the server's untrusted-input path short of the handlers: ttrpc frame
 * reader (arbitrary chunking, pre-auth cap switching) -> ttrpc.Request
 * envelope -> method lookup -> payload decode with the method's descriptor
 * -> protobuf_c_message_check. Input byte 0 picks the chunk size, byte 1
 * whether the cap is lifted after the first frame.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto_frame.h"
#include "ttrpc.pb-c.h"
#include "vault_registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void consume(const uint8_t *body, size_t n)
{
    Ttrpc__Request *rq = ttrpc__request__unpack(NULL, n, body);
    if (!rq)
        return;
    if (protobuf_c_message_check(&rq->base) && rq->service && rq->method) {
        const vault_method *m =
            vault_method_find(rq->service, strlen(rq->service), rq->method, strlen(rq->method));
        if (m) {
            ProtobufCMessage *msg =
                protobuf_c_message_unpack(m->req_desc, NULL, rq->payload.len, rq->payload.data);
            if (msg) {
                (void)protobuf_c_message_check(msg);
                protobuf_c_message_free_unpacked(msg, NULL);
            }
        }
    }
    ttrpc__request__free_unpacked(rq, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_frame_reader r;
    if (size < 2)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    int lift = data[1] & 1;
    data += 2;
    size -= 2;
    proto_frame_reader_init(&r, PROTO_FRAME_REQUEST, PROTO_FRAME_PREAUTH_MAX);
    size_t off = 0;
    while (off < size) {
        size_t len = size - off < chunk ? size - off : chunk;
        size_t used = 0;
        int st = proto_frame_read(&r, data + off, len, &used);
        if (used > len)
            __builtin_trap();
        off += used;
        if (st < 0)
            break;
        if (st == PROTO_FRAME_READY) {
            if (proto_frame_body_len(&r) > PROTO_FRAME_MAX)
                __builtin_trap();
            consume(proto_frame_body(&r), proto_frame_body_len(&r));
            proto_frame_next(&r);
            if (lift)
                proto_frame_reader_set_max(&r, PROTO_FRAME_MAX);
        } else if (used != len) {
            __builtin_trap(); /* NEED_MORE consumes everything */
        }
    }
    proto_frame_reader_free(&r);
    return 0;
}
