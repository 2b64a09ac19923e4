#include "vault.h"
#include "vault_audit.h"

#include <stdio.h>
#include <string.h>

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
