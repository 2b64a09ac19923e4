/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz proto_json: parse, then walk every node and use every accessor; raw
 * spans must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_json *d = NULL;
    if (proto_json_parse(data, size, 4096, &d) < 0)
        return 0;
    for (size_t i = 0; i < d->n_nodes; i++) {
        const proto_json_node *n = &d->nodes[i];
        const uint8_t *p;
        size_t len;
        char buf[64], *s = NULL;
        int64_t v;
        uint8_t h[8];
        if ((size_t)n->start + n->len > size || (size_t)n->key_start + n->key_len > size)
            __builtin_trap();
        if (proto_json_span(d, (int)i, &p, &len) < 0)
            __builtin_trap();
        if (proto_json_string(d, (int)i, buf, sizeof(buf), NULL)) {
        }
        if (proto_json_string_dup(d, (int)i, &s, &len) == 0) {
            if (strlen(s) > len)
                __builtin_trap();
            free(s);
        }
        if (proto_json_int(d, (int)i, &v)) {
        }
        if (proto_json_hex(d, (int)i, h, sizeof(h))) {
        }
        if (proto_json_get(d, (int)i, "tcbInfo")) {
        }
        for (int c = proto_json_first(d, (int)i); c != PROTO_JSON_NONE; c = proto_json_next(d, c))
            if (proto_json_node_at(d, c)->parent != (int32_t)i)
                __builtin_trap();
    }
    proto_json_free(d);
    return 0;
}
