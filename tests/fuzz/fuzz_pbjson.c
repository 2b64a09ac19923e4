/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the proto3 JSON mapping: byte 0 picks a method from the registry;
 * the rest is its request as JSON. Whatever converts must unpack and pass
 * protobuf_c_message_check (the wire bytes are well-formed), and the unpacked
 * message must print as JSON that converts back to the same wire bytes.
 */
#include <stdint.h>
#include <string.h>

#include "proto_pbjson.h"
#include "vault.h"
#include "vault_registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];
    proto_buf w1, w2, js;
    size_t nm = vault_method_count();
    if (size < 1 || nm == 0)
        return 0;
    const vault_method *m = vault_method_at(data[0] % nm);
    proto_buf_init(&w1, 1 << 20);
    proto_buf_init(&w2, 1 << 20);
    proto_buf_init(&js, 4 << 20);
    if (proto_pbjson_to_wire(m->req_desc, data + 1, size - 1, &w1, err, sizeof(err)) == 0) {
        ProtobufCMessage *msg = protobuf_c_message_unpack(m->req_desc, NULL, w1.len, w1.d);
        if (!msg || !protobuf_c_message_check(msg))
            __builtin_trap();
        if (proto_pbjson_from_msg(msg, &js) == 0) {
            ProtobufCMessage *msg2 = NULL;
            if (proto_pbjson_to_wire(m->req_desc, js.d, js.len, &w2, err, sizeof(err)) != 0)
                __builtin_trap();
            msg2 = protobuf_c_message_unpack(m->req_desc, NULL, w2.len, w2.d);
            if (!msg2)
                __builtin_trap();
            size_t a = protobuf_c_message_get_packed_size(msg);
            size_t b = protobuf_c_message_get_packed_size(msg2);
            if (a != b)
                __builtin_trap();
            protobuf_c_message_free_unpacked(msg2, NULL);
        }
        protobuf_c_message_free_unpacked(msg, NULL);
    } else if (!err[0]) {
        __builtin_trap(); /* every refusal says why */
    }
    proto_buf_free(&w1);
    proto_buf_free(&w2);
    proto_buf_free(&js);
    return 0;
}
