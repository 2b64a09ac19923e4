/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the dstack backend's response handling: the sans-I/O HTTP/1.x
 * response parser (status, headers, Content-Length, chunked) and the JSON hex
 * member extraction applied to its body (seal_producers.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal_producers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    size_t blen = 0, olen = 0;
    uint8_t *out = NULL;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    if (seal_http_parse_response(buf, size, &blen) == 0) {
        if (seal_json_hex_member(buf, blen, "quote", SEAL_EVIDENCE_MAX, &out, &olen) == 0)
            free(out);
        out = NULL;
        if (seal_json_hex_member(buf, blen, "key", 256, &out, &olen) == 0)
            free(out);
    }
    free(buf);
    return 0;
}
