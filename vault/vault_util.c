/* SPDX-License-Identifier: Apache-2.0 */
#include "vault.h"
#include "vault_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

int vault_pack(proto_buf *out, const ProtobufCMessage *msg)
{
    int r;
    size_t n = protobuf_c_message_get_packed_size(msg);
    if ((r = proto_buf_reserve(out, n)) < 0)
        return r;
    size_t w = protobuf_c_message_pack(msg, out->d + out->len);
    if (w != n)
        return TV_ERR_INTERNAL;
    out->len += n;
    return TV_OK;
}

struct sync_write {
    int done;
    int status;
};

static void sync_write_done(void *arg, int status)
{
    struct sync_write *sw = arg;
    sw->done = 1;
    sw->status = status;
}

/* Run c's vault_write through the audit writer and wait for it. */
static int run_write(vault_call *c, proto_buf *out)
{
    const vault_write *wj = c->write;
    void *arg = c->write_arg;
    struct sync_write sw = {0, TV_ERR_AUDIT};
    c->write = NULL;
    c->write_arg = NULL;
    if (vault_audit_submit_write(c->v, c, wj, arg, sync_write_done, &sw) == 0 && !sw.done &&
        vault_audit_flush(c->v) < 0 && !sw.done) /* an event loop's writer: commit now */
        sw.status = TV_ERR_AUDIT;
    if (!sw.done)
        sw.status = TV_ERR_AUDIT;
    return wj->finish(c, arg, sw.status, out);
}

int vault_call_run_offload(vault_call *c, proto_buf *out)
{
    const vault_offload *o = c->offload;
    void *arg = c->offload_arg;
    if (c->write)
        return run_write(c, out);
    if (!o)
        return TV_OK;
    c->offload = NULL;
    c->offload_arg = NULL;
    o->work(arg);
    return o->finish(c, arg, out);
}

int vault_call_handler(const vault_method *m, vault_call *c, const ProtobufCMessage *req,
                       proto_buf *out)
{
    int r = m->fn(c, req, out);
    return r < 0 ? r : vault_call_run_offload(c, out);
}

/* protobuf-c allocator that wipes: decoded requests may carry secrets. */
#define WA_HDR 16
static void *wa_alloc(void *ad, size_t n)
{
    (void)ad;
    if (n > SIZE_MAX - WA_HDR)
        return NULL;
    uint8_t *p = malloc(WA_HDR + n);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof(n));
    return p + WA_HDR;
}

static void wa_free(void *ad, void *ptr)
{
    (void)ad;
    if (!ptr)
        return;
    uint8_t *p = (uint8_t *)ptr - WA_HDR;
    size_t n;
    memcpy(&n, p, sizeof(n));
    sodium_memzero(p, WA_HDR + n);
    free(p);
}

ProtobufCAllocator vault_wiping_allocator = {.alloc = wa_alloc, .free = wa_free};

void vault_quote(char *dst, size_t dstlen, const char *s, size_t slen)
{
    size_t o = 0;
    if (dstlen < 8) {
        if (dstlen)
            dst[0] = '\0';
        return;
    }
    dst[o++] = '"';
    for (size_t i = 0; i < slen; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[5];
        size_t el;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            el = 2;
        } else if (ch < 0x20 || ch >= 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", ch);
            el = 4;
        } else {
            esc[0] = (char)ch;
            el = 1;
        }
        /* Keep room for the escape, the closing quote, "..." and NUL. */
        if (dstlen - o < el + 5) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(dst + o, esc, el);
        o += el;
    }
    dst[o++] = '"';
    dst[o] = '\0';
}
