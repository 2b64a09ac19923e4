/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the HTTP/1.1 request parser and the Connect codec: the input is fed
 * in chunks of byte 0's size; each complete request goes through
 * vault_web_parse and its reply is written with vault_h1_write_response, as
 * the server does minus the handlers. Invariants: `used` never exceeds what
 * was offered, bodies stay under the cap, the parser never reports a request
 * after an error.
 */
#include <stdint.h>
#include <string.h>

#include "vault_h1.h"
#include "vault_web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vault_h1 p;
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] * 2 + 1;
    data++;
    size--;
    vault_h1_init(&p, BODY_MAX);
    size_t off = 0, len = 0;
    while (off < size) {
        len = size - off < chunk ? size - off : chunk;
        size_t used = 0;
        int st = vault_h1_parse(&p, data + off, len, &used);
        if (used > len)
            __builtin_trap();
        off += used;
        if (st < 0) {
            if (!p.err_status || !p.err_msg)
                __builtin_trap();
            break;
        }
        if (st == VAULT_H1_READY) {
            vault_http_req rq;
            vault_web_call wc;
            vault_web_reply wr;
            proto_buf out;
            vault_h1_request(&p, &rq);
            if (rq.body_len > BODY_MAX)
                __builtin_trap();
            vault_web_parse(&rq, 0, &wc);
            proto_buf_init(&out, 0);
            if (vault_web_reply_build(&wr, wc.kind, wc.m, wc.err, wc.http_status, wc.errmsg,
                                      (const uint8_t *)"", 0) == 0) {
                int ig = vault_h1_write_response(&out, &wr.resp, p.keep_alive);
                (void)ig;
            }
            proto_buf_free(&out);
            vault_web_reply_free(&wr);
            vault_web_call_free(&wc);
            vault_h1_next(&p);
        } else if (used < len) {
            __builtin_trap(); /* need-more must take everything offered */
        }
    }
    vault_h1_free(&p);
    return 0;
}
