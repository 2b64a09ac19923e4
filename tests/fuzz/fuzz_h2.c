/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the HTTP/2 server session and the gRPC/Connect codecs: the input
 * (after the connection preface, which byte 0 & 1 chooses to prepend) is fed
 * to vault_h2 in chunks of byte 1's size; every complete request goes through
 * vault_web_parse and is answered with vault_web_reply_build (an empty
 * payload, or the parse error), as the server does minus the handlers; the
 * output is drained after each chunk. Invariants: the session's byte
 * accounting never underflows and every request path is bounded.
 */
#include <stdint.h>
#include <string.h>

#include "vault_h2.h"
#include "vault_web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vault_h2 *cur;

static void on_request(void *ud, const vault_http_req *rq)
{
    vault_web_call wc;
    vault_web_reply wr;
    (void)ud;
    if (rq->body_len > 64 * 1024 + 5)
        __builtin_trap(); /* over the session's cap */
    vault_web_parse(rq, 1, &wc);
    int r = vault_web_reply_build(&wr, wc.kind, wc.m, wc.err, wc.http_status, wc.errmsg,
                                  (const uint8_t *)"", 0);
    if (r == 0) {
        int ig = vault_h2_respond(cur, rq->id, &wr.resp);
        (void)ig;
    }
    vault_web_reply_free(&wr);
    vault_web_call_free(&wc);
}

static int sink(void *sud, const uint8_t *p, size_t n)
{
    (void)sud;
    (void)p;
    (void)n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    vault_h2_limits lim = {.max_streams = 8, .body_max = 64 * 1024 + 5, .conn_body_max = 96 * 1024};
    if (size < 2)
        return 0;
    int with_preface = !(data[0] & 1);
    size_t chunk = (size_t)data[1] * 4 + 1;
    data += 2;
    size -= 2;
    if (vault_h2_new(&lim, on_request, NULL, &cur) < 0)
        return 0;
    if (with_preface && vault_h2_recv(cur, (const uint8_t *)preface, sizeof(preface) - 1) < 0)
        __builtin_trap();
    for (size_t off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        int r = vault_h2_recv(cur, data + off, n);
        off += n;
        {
            int ig = vault_h2_send(cur, sink, NULL);
            (void)ig;
        }
        if (vault_h2_held(cur) > 4u * 1024 * 1024)
            __builtin_trap();
        if (r < 0)
            break;
    }
    vault_h2_free(cur);
    cur = NULL;
    return 0;
}
