/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_server: listeners, connections, ttrpc dispatch (see vault_server.h).
 *
 * Lifetimes. A connection (struct vconn) owns its bufferevent, frame reader
 * and the requests in flight on it. Every way a connection ends goes through
 * conn_close_later() -> conn_free(), from an event callback, so no callback
 * frees a connection another frame of the stack still uses. A request
 * (struct vreq) lives from its frame until its reply is queued; if the
 * connection dies while the audit writer still holds the request, the
 * request is detached (conn = NULL) and freed when the audit callback runs.
 */
#define _GNU_SOURCE /* pipe2 */
#include "vault_server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "proto_addr.h"
#include "proto_frame.h"
#include "ttrpc.pb-c.h"
#include "vault_audit.h"
#include "vault_auth.h"
#include "vault_config.h"
#include "vault_log.h"
#include "vault_h1.h"
#include "vault_h2.h"
#include "vault_peer.h"
#include "vault_metrics.h"
#include "vault_registry.h"
#include "vault_rpc.h"
#include "vault_web.h"

/* Output budget: reading pauses while the output buffer could not take one
 * more max-size reply within 2 x PROTO_FRAME_MAX. */
#define OUT_PAUSE_AT   ((size_t)PROTO_FRAME_MAX)
#define OUT_RESUME_LOW ((size_t)1 << 20)
#define SVC_MAX        128
#define ACCEPT_BATCH   32
#define THROTTLE_MS    100
#define METHOD_MAX     64
#define TTRPC_MD_MAX   64 /* metadata entries per ttrpc request */

struct vconn;

/* What a connection speaks: decided from ALPN (TLS) or its first bytes. */
enum { P_UNKNOWN = 0, P_TTRPC, P_H2, P_H1 };

typedef struct vreq {
    struct vconn *conn; /* NULL once detached */
    vault_server *s;
    struct vreq *prev, *next; /* in conn->reqs, or s->detached when detached */
    uint32_t sid;
    int kind;      /* enum vault_web_kind; 0 for ttrpc */
    char peer[80]; /* the connection's, copied: a detached request outlives it */
    const vault_method *m;
    vault_call call;
    vault_principal principal;
    int have_principal;
    int status; /* tv_err of the call */
    proto_buf out;
    struct event *delay_ev;
    int audit_pending;
    int offload_pending; /* handed to the worker thread, finish not yet run */
    struct vreq *wnext;  /* in the worker's work or done queue */
    int delayed;
    size_t out_counted; /* q->out.len as added to conn->pending_out */
    uint64_t t0_us;
} vreq;

typedef struct vconn {
    vault_server *s;
    struct vconn *prev, *next;
    struct bufferevent *bev;
    struct event *close_ev; /* deferred destruction */
    struct event *kick_ev;  /* deferred re-processing of buffered input */
    struct event *frame_ev; /* a started frame must complete within io_timeout */
    proto_frame_reader rd;
    int proto;      /* P_* */
    vault_h2 *h2;   /* P_H2 */
    vault_h1 h1;    /* P_H1 */
    int h1_busy;    /* P_H1: a request is being answered; the next waits */
    int h2_in_recv; /* P_H2: inside vault_h2_recv (its callbacks): do not send yet */
    int h2_dead;    /* P_H2: the session ended (GOAWAY sent or fatal): read no more */
    char peer[80];
    uint64_t id;
    int tls;
    int handshaken;             /* TLS handshake done (always set for Unix) */
    int throttled;              /* a call was refused by a per-peer budget: pause reading */
    uint64_t throttle_until_us; /* not read before this (CLOCK_MONOTONIC us) */
    int authed;                 /* a request carried a valid token: 4 MiB frames */
    int read_paused;            /* we disabled EV_READ (in-flight cap or back-pressure) */
    int eof;                    /* peer shut its side: finish in-flight work, then close */
    int closing;
    unsigned inflight;
    size_t pending_out; /* reply bytes held by in-flight requests (audit, delay) */
    vreq *reqs;
    /* Per-peer accounting (vault_peer.h): NULL once released. */
    vault_peer *pa;
    struct event *deadline_ev; /* TLS handshake, then first authenticated request */
    size_t out_seen;           /* this connection's share of s->out_total */
} vconn;

struct vault_server {
    struct vault *v;
    struct event_base *base;
    struct evconnlistener *unix_l;
    struct evconnlistener *tcp_l;
    struct event *accept_resume_ev;
    char *unix_path;
    SSL_CTX *ssl_ctx;
    vconn *conns;
    size_t n_conns;
    uint64_t next_conn_id;
    vreq *detached;
    uint8_t rid_prefix[8]; /* request ids: random prefix || counter */
    uint64_t rid_counter;
    /* Offload worker: one thread runs vault_offload.work (Argon2id) so the
     * loop keeps serving; a self-pipe wakes the loop when work is done. */
    pthread_t worker;
    int worker_started;
    pthread_mutex_t wmu;
    pthread_cond_t wcv;
    vreq *work_head, *work_tail, *done_head;
    int worker_stop;
    int wake_fd[2];
    struct event *wake_ev;
    /* Strangers (issue 14): per-peer limits, the global output budget (bytes
     * queued on every connection's output; a connection with output queued
     * stops being read while the total is over cfg->max_output_bytes), and
     * rate limits for repeated log lines. */
    vault_peers *peers;
    size_t n_open; /* connections not closing (the max_connections count) */
    size_t out_total;
    unsigned accepts_in_pass; /* accepts since the listeners were last re-enabled */
    vault_log_limit log_anon, log_auth, log_conn;
};

/* ------------------------------------------------------------ memory */

/* libevent buffers hold plaintext requests (Put values) and replies (Get
 * values): wipe every block before it returns to the allocator. */
static void *ev_malloc(size_t n)
{
    return malloc(n);
}

static void ev_free(void *p)
{
    if (p) {
        sodium_memzero(p, malloc_usable_size(p));
        free(p);
    }
}

static void *ev_realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (n == 0) {
        ev_free(p);
        return NULL;
    }
    size_t old = malloc_usable_size(p);
    void *q = malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    ev_free(p);
    return q;
}

/* OpenSSL's record buffers hold decrypted requests: same treatment. */
static void *ossl_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return ev_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    ev_free(p);
}

void vault_server_global_init(void)
{
    event_set_mem_functions(ev_malloc, ev_realloc, ev_free);
    /* Fails (returns 0) only if OpenSSL already allocated; then its
     * default allocator stays, which is safe but does not wipe. */
    (void)CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free);
}

/* ------------------------------------------------------------ helpers */

int vault_is_active(const struct vault *v)
{
    return v && v->kr != NULL;
}

size_t vault_server_conn_count(const vault_server *s)
{
    return s ? s->n_conns : 0;
}

static void conn_close_later(vconn *c, const char *why);
static void conn_process(vconn *c);
static void conn_maybe_finish(vconn *c);

static void list_add(vreq **head, vreq *r)
{
    r->prev = NULL;
    r->next = *head;
    if (*head)
        (*head)->prev = r;
    *head = r;
}

static void list_del(vreq **head, vreq *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        *head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

/* evbuffer reference cleanup: wipe what was written (extra = the buffer's
 * dirty length), then free it. */
static void frame_cleanup(const void *data, size_t len, void *extra)
{
    (void)len;
    size_t cap = (size_t)(uintptr_t)extra;
    void *p = (void *)(uintptr_t)data;
    sodium_memzero(p, cap);
    free(p);
}

/* Queue one response frame on c: the payload, or (err < 0) an error with
 * its message and teevault error name. The frame memory is handed to libevent by
 * reference and wiped when sent. Failure closes the connection. */
static void conn_send(vconn *c, uint32_t sid, int err, const char *msg, const uint8_t *payload,
                      size_t n)
{
    proto_buf fb;
    int r;

    if (c->closing)
        return;
    proto_buf_init(&fb, PROTO_FRAME_MAX + PROTO_FRAME_HDR_LEN);
    if (err < 0)
        r = proto_frame_write_error(&fb, sid, err, msg, PROTO_FRAME_MAX);
    else
        r = proto_frame_write_response(&fb, sid, 0, NULL, payload, n, PROTO_FRAME_MAX);
    if (r == TV_ERR_TOO_LARGE) {
        proto_buf_reset(&fb);
        r = proto_frame_write_error(&fb, sid, TV_ERR_TOO_LARGE,
                                    "reply exceeds the 4 MiB frame limit", PROTO_FRAME_MAX);
    }
    if (r < 0 || !fb.d) {
        proto_buf_free(&fb);
        conn_close_later(c, "cannot build reply");
        return;
    }
    struct evbuffer *ob = bufferevent_get_output(c->bev);
    if (!c->tls && evbuffer_get_length(ob) == 0) {
        /* Nothing queued before it: write now, saving the write event's
         * arm/disarm (two epoll_ctl) and a loop pass per reply. */
        ssize_t w = send(bufferevent_getfd(c->bev), fb.d, fb.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            int rest = (size_t)w < fb.len ? evbuffer_add(ob, fb.d + w, fb.len - (size_t)w) : 0;
            proto_buf_free(&fb);
            if (rest < 0)
                conn_close_later(c, "cannot queue reply");
            return;
        }
        /* EAGAIN (or an error the bufferevent will report): queue it. */
    }
    if (evbuffer_add_reference(ob, fb.d, fb.len, frame_cleanup, (void *)(uintptr_t)fb.dirty) < 0) {
        proto_buf_free(&fb);
        conn_close_later(c, "cannot queue reply");
        return;
    }
    /* Ownership of fb.d moved to the evbuffer. */
}

/* HTTP/2: hand the session's output to the socket; close when it is done. */
/* Queue n bytes on c (copied). With nothing queued before them on a plain
 * socket, write at once, saving the write event's arm/disarm (two
 * epoll_ctl) and a loop pass per reply, as conn_send does for ttrpc. */
static int conn_write(vconn *c, const uint8_t *p, size_t n)
{
    struct evbuffer *ob = bufferevent_get_output(c->bev);
    if (!c->tls && n && evbuffer_get_length(ob) == 0) {
        ssize_t w = send(bufferevent_getfd(c->bev), p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
    return n && evbuffer_add(ob, p, n) < 0 ? TV_ERR_NOMEM : 0;
}

/* HTTP/2 output is gathered here and written once per flush. */
static int h2_sink(void *sud, const uint8_t *p, size_t n)
{
    return proto_buf_put(sud, p, n);
}

static void h2_flush(vconn *c)
{
    proto_buf ob;
    if (c->closing || !c->h2 || c->h2_in_recv)
        return;
    proto_buf_init(&ob, 0);
    int r = vault_h2_send(c->h2, h2_sink, &ob);
    if (r == 0 && ob.len)
        r = conn_write(c, ob.d, ob.len);
    proto_buf_free(&ob);
    if (r < 0 && !c->h2_dead) {
        conn_close_later(c, "http/2 session error");
        return;
    }
    if (vault_h2_done(c->h2) && !c->h2_dead) {
        /* Close once the output (GOAWAY) is written. */
        struct evbuffer *in = bufferevent_get_input(c->bev);
        c->h2_dead = 1;
        c->eof = 1;
        evbuffer_drain(in, evbuffer_get_length(in));
        bufferevent_disable(c->bev, EV_READ);
    }
}

/* HTTP/1.1: queue one response; without keep-alive close once it is sent. */
static void h1_send(vconn *c, const vault_http_resp *resp, int keep_alive)
{
    proto_buf ob;
    proto_buf_init(&ob, PROTO_FRAME_MAX * 2);
    if (vault_h1_write_response(&ob, resp, keep_alive) < 0 || conn_write(c, ob.d, ob.len) < 0) {
        proto_buf_free(&ob);
        conn_close_later(c, "cannot queue reply");
        return;
    }
    proto_buf_free(&ob);
    if (!keep_alive) {
        c->eof = 1;
        bufferevent_disable(c->bev, EV_READ);
        struct evbuffer *in = bufferevent_get_input(c->bev);
        evbuffer_drain(in, evbuffer_get_length(in));
    }
}

/* Reply to a gRPC or Connect call (or refuse one) on HTTP/2 stream sid or
 * the HTTP/1.1 connection. */
static void web_reply(vconn *c, uint32_t sid, int kind, const vault_method *m, int status,
                      int http_status, const char *msg, const uint8_t *payload, size_t n)
{
    vault_web_reply wr;
    if (c->closing)
        return;
    int r = vault_web_reply_build(&wr, kind, m, status, http_status, msg, payload, n);
    if (r < 0) {
        vault_web_reply_free(&wr);
        r = vault_web_reply_build(&wr, kind, m, r, 0,
                                  r == TV_ERR_TOO_LARGE ? "the reply exceeds the 4 MiB limit"
                                                        : "cannot build the reply",
                                  NULL, 0);
        if (r < 0) {
            vault_web_reply_free(&wr);
            conn_close_later(c, "cannot build reply");
            return;
        }
    }
    if (c->proto == P_H2) {
        int rr = vault_h2_respond(c->h2, sid, &wr.resp);
        (void)rr; /* TV_ERR_UNAVAILABLE: the peer reset the stream; nothing to send */
        h2_flush(c);
    } else {
        h1_send(c, &wr.resp, c->h1.keep_alive);
        vault_h1_next(&c->h1);
        c->h1_busy = 0;
        if (!c->closing)
            event_active(c->kick_ev, 0, 0); /* a pipelined request may wait */
    }
    vault_web_reply_free(&wr);
}

/* Keep s->out_total = bytes queued on every connection's output. */
static void out_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    vconn *c = arg;
    (void)b;
    c->out_seen += info->n_added;
    c->s->out_total += info->n_added;
    c->out_seen -= info->n_deleted;
    c->s->out_total -= info->n_deleted;
}

/* May a repeated line be logged now? Adds "suppressed" to the caller's
 * fields via *n. */
static int log_allowed(vault_log_limit *l, uint64_t *n)
{
    return vault_log_limit_allow(l, vault_now_us() / 1000, n);
}

static void req_free(vreq *q)
{
    if (q->call.offload && q->call.offload_arg)
        q->call.offload->discard(q->call.offload_arg);
    if (q->call.write && q->call.write_arg)
        q->call.write->discard(q->call.write_arg);
    if (q->delay_ev)
        event_free(q->delay_ev);
    if (q->have_principal)
        vault_principal_clear(&q->principal);
    proto_buf_free(&q->out);
    sodium_memzero(q, sizeof(*q));
    free(q);
}

static const char *principal_label(const vreq *q)
{
    switch (q->principal.kind) {
    case VAULT_PRINCIPAL_OPERATOR:
        return q->principal.root ? "root" : "operator";
    case VAULT_PRINCIPAL_FUNCTION:
        return "function";
    default:
        return "none";
    }
}

/* Administrative changes: logged at INFO when they succeed, so the journal
 * shows who initialised, recovered, rotated, changed users, tokens, policies
 * and functions (the audit log has the full record). Reads stay at DEBUG. */
static int is_admin_change(const char *service, const char *method)
{
    static const char *const admin[][2] = {
        {"teevault.v1.Sys", "Initialize"},   {"teevault.v1.Sys", "Recover"},
        {"teevault.v1.Sys", "Rotate"},       {"teevault.v1.Auth", "TokenCreate"},
        {"teevault.v1.Auth", "TokenRevoke"}, {"teevault.v1.Auth", "UserAdd"},
        {"teevault.v1.Auth", "UserPasswd"},  {"teevault.v1.Auth", "UserDelete"},
        {"teevault.v1.Policies", "Write"},   {"teevault.v1.Policies", "Delete"},
        {"teevault.v1.Functions", "Write"},  {"teevault.v1.Functions", "Delete"},
        {"teevault.v1.Secrets", "Destroy"},  {"teevault.v1.Governance", "Apply"},
    };
    if (!service || !method)
        return 0;
    for (size_t i = 0; i < sizeof(admin) / sizeof(admin[0]); i++)
        if (!strcmp(service, admin[i][0]) && !strcmp(method, admin[i][1]))
            return 1;
    return 0;
}

/* The request is done: reply (if its connection lives) and free it. */
static void req_finish(vreq *q)
{
    vconn *c = q->conn;
    int grpc = q->status < 0 ? tv_err_to_grpc(q->status) : 0;

    vault_metrics_request(q->s->v, q->call.service, q->call.method, q->status,
                          vault_now_us() - q->t0_us);

    /* Successes at DEBUG: the audit log is the access log, and this line
     * (formatting plus a write to stderr per request) was ~8% of a Get's
     * instructions. Failures stay visible at WARN. */
    int level = q->status < 0                                      ? VAULT_LOG_WARN
                : is_admin_change(q->call.service, q->call.method) ? VAULT_LOG_INFO
                                                                   : VAULT_LOG_DEBUG;
    uint64_t supp = 0;
    /* Failures are rate-limited (a stranger's flood must not fill the disk
     * with WARN lines), anonymous ones apart from everyone else's; the next
     * line written says how many were suppressed. */
    if (vault_log_enabled(level) &&
        (q->status >= 0 ||
         log_allowed(q->principal.kind == VAULT_PRINCIPAL_NONE ? &q->s->log_anon : &q->s->log_auth,
                     &supp))) {
        char ms[32], code[16], sup[24];
        snprintf(ms, sizeof(ms), "%.3f", (double)(vault_now_us() - q->t0_us) / 1000.0);
        snprintf(code, sizeof(code), "%d", grpc);
        snprintf(sup, sizeof(sup), "%llu", (unsigned long long)supp);
        vault_log(level, "rpc", "id", q->call.request_id, "peer", q->call.peer, "service",
                  q->call.service, "method", q->call.method, "principal", principal_label(q),
                  "user", q->principal.user, "code", code, "error",
                  q->status < 0 ? q->call.errmsg : "", "ms", ms, supp ? "suppressed" : NULL,
                  supp ? sup : NULL, (const char *)NULL);
    }
    if (!c) {
        list_del(&q->s->detached, q);
        req_free(q);
        return;
    }
    if (c->proto != P_TTRPC)
        web_reply(c, q->sid, q->kind, q->m, q->status, 0, q->call.errmsg, q->out.d, q->out.len);
    else if (q->status < 0)
        conn_send(c, q->sid, q->status, q->call.errmsg, NULL, 0);
    else
        conn_send(c, q->sid, 0, NULL, q->out.d, q->out.len);
    list_del(&c->reqs, q);
    c->inflight--;
    c->s->v->requests_inflight--;
    c->pending_out -= q->out_counted;
    req_free(q);
    /* A slot freed up: buffered requests may proceed. */
    if (c->read_paused && !c->closing)
        event_active(c->kick_ev, 0, 0);
    conn_maybe_finish(c);
}

static void delay_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    req_finish(arg);
}

/* After the audit step: hold the reply if the handler asked for it. */
static void req_advance(vreq *q)
{
    if (q->conn && q->call.reply_delay_ms && !q->delayed) {
        q->delayed = 1;
        struct timeval tv = {.tv_sec = q->call.reply_delay_ms / 1000,
                             .tv_usec = (q->call.reply_delay_ms % 1000) * 1000};
        q->delay_ev = evtimer_new(q->s->base, delay_cb, q);
        if (q->delay_ev && evtimer_add(q->delay_ev, &tv) == 0)
            return;
        /* No timer: reply now rather than never. */
    }
    req_finish(q);
}

static void fail_closed(vreq *q, int err, const char *msg)
{
    q->status = err;
    snprintf(q->call.errmsg, sizeof(q->call.errmsg), "%s", msg);
    proto_buf_reset(&q->out); /* never the value without its audit record */
}

static void audit_done(void *arg, int status)
{
    vreq *q = arg;
    q->audit_pending = 0;
    if (status < 0)
        fail_closed(q, TV_ERR_AUDIT, "the audit record could not be made durable");
    req_advance(q);
}

/* The group commit that carried the request's write is done: answer. */
static void write_done(void *arg, int status)
{
    vreq *q = arg;
    const vault_write *wj = q->call.write;
    void *warg = q->call.write_arg;
    q->audit_pending = 0;
    q->call.write = NULL;
    q->call.write_arg = NULL;
    int r = wj->finish(&q->call, warg, status, &q->out);
    q->status = r < 0 ? r : 0;
    if (q->status < 0) {
        if (!q->call.errmsg[0])
            snprintf(q->call.errmsg, sizeof(q->call.errmsg), "%s", tv_strerror(q->status));
        proto_buf_reset(&q->out);
    }
    req_advance(q);
}

/* ------------------------------------------------------------ offload worker */

static void req_after_handler(vreq *q);

static void *worker_main(void *arg)
{
    vault_server *s = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals belong to the loop */
    pthread_mutex_lock(&s->wmu);
    for (;;) {
        while (!s->work_head && !s->worker_stop)
            pthread_cond_wait(&s->wcv, &s->wmu);
        if (s->worker_stop)
            break;
        vreq *q = s->work_head;
        s->work_head = q->wnext;
        if (!s->work_head)
            s->work_tail = NULL;
        pthread_mutex_unlock(&s->wmu);
        q->call.offload->work(q->call.offload_arg);
        pthread_mutex_lock(&s->wmu);
        q->wnext = s->done_head;
        /* Wake the loop only when the done list was empty: a non-empty one
         * already has a wake-up in the pipe that the loop has not consumed
         * yet (worker_wake_cb drains the pipe before it takes the list), so
         * a burst of attestations costs one write and one read, not one
         * each. */
        if (!s->done_head) {
            ssize_t w = write(s->wake_fd[1], "w", 1);
            (void)w; /* a full pipe already holds a wake-up */
        }
        s->done_head = q;
    }
    pthread_mutex_unlock(&s->wmu);
    return NULL;
}

/* Loop side: finish every request whose work is done. */
static void worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    vault_server *s = arg;
    char buf[64];
    (void)what;
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&s->wmu);
    vreq *done = s->done_head;
    s->done_head = NULL;
    pthread_mutex_unlock(&s->wmu);
    while (done) {
        vreq *q = done;
        done = q->wnext;
        const vault_offload *o = q->call.offload;
        void *oarg = q->call.offload_arg;
        q->call.offload = NULL;
        q->call.offload_arg = NULL;
        q->offload_pending = 0;
        int r = o->finish(&q->call, oarg, &q->out);
        q->status = r < 0 ? r : 0;
        if (q->status < 0 && !q->call.errmsg[0])
            snprintf(q->call.errmsg, sizeof(q->call.errmsg), "%s", tv_strerror(q->status));
        req_after_handler(q);
    }
}

static int worker_start(vault_server *s)
{
    if (pipe2(s->wake_fd, O_NONBLOCK | O_CLOEXEC) < 0) {
        s->wake_fd[0] = s->wake_fd[1] = -1;
        return TV_ERR_IO;
    }
    if (!(s->wake_ev =
              event_new(s->base, s->wake_fd[0], EV_READ | EV_PERSIST, worker_wake_cb, s)) ||
        event_add(s->wake_ev, NULL) < 0)
        return TV_ERR_NOMEM;
    pthread_mutex_init(&s->wmu, NULL);
    pthread_cond_init(&s->wcv, NULL);
    if (pthread_create(&s->worker, NULL, worker_main, s) != 0) {
        pthread_mutex_destroy(&s->wmu);
        pthread_cond_destroy(&s->wcv);
        return TV_ERR_RESOURCE;
    }
    s->worker_started = 1;
    return 0;
}

/* Stop the worker (a job it is running completes first). Requests still
 * queued stay on their connections; req_free discards their work. */
static void worker_stop(vault_server *s)
{
    if (s->worker_started) {
        pthread_mutex_lock(&s->wmu);
        s->worker_stop = 1;
        pthread_cond_signal(&s->wcv);
        pthread_mutex_unlock(&s->wmu);
        pthread_join(s->worker, NULL);
        pthread_mutex_destroy(&s->wmu);
        pthread_cond_destroy(&s->wcv);
        s->worker_started = 0;
    }
    if (s->wake_ev)
        event_free(s->wake_ev);
    s->wake_ev = NULL;
    for (int i = 0; i < 2; i++)
        if (s->wake_fd[i] >= 0)
            close(s->wake_fd[i]);
    s->wake_fd[0] = s->wake_fd[1] = -1;
}

static void offload_submit(vault_server *s, vreq *q)
{
    q->offload_pending = 1;
    q->wnext = NULL;
    pthread_mutex_lock(&s->wmu);
    if (s->work_tail)
        s->work_tail->wnext = q;
    else
        s->work_head = q;
    s->work_tail = q;
    pthread_cond_signal(&s->wcv);
    pthread_mutex_unlock(&s->wmu);
}

static int is_auth_attempt(const vault_method *m);

/* Run one call on connection c, whatever its transport: the request object,
 * the call context (principal, peer, metadata, deadline), the shared run
 * (vault_call_run), then the offload worker or the audit step. md and
 * payload are the transport's and need only live during this call. */
static void server_call(vconn *c, uint32_t sid, const vault_method *m, int kind,
                        const char *transport, const vault_md *md, size_t n_md,
                        uint64_t deadline_us, const uint8_t *payload, size_t len)
{
    vault_server *s = c->s;
    vreq *q = NULL;

    if (!(q = calloc(1, sizeof(*q)))) {
        if (c->proto == P_TTRPC)
            conn_send(c, sid, TV_ERR_NOMEM, "out of memory", NULL, 0);
        else
            web_reply(c, sid, kind, m, TV_ERR_NOMEM, 0, "out of memory", NULL, 0);
        return;
    }
    q->kind = kind;
    q->m = m;
    q->conn = c;
    q->s = s;
    q->sid = sid;
    q->t0_us = vault_now_us();
    proto_buf_init(&q->out, PROTO_FRAME_MAX - 1024);
    q->call.v = s->v;
    q->call.principal = &q->principal;
    q->call.service = m->service;
    q->call.method = m->method;
    memcpy(q->peer, c->peer, sizeof(q->peer));
    q->call.peer = q->peer;
    q->call.transport = transport;
    q->call.md = md;
    q->call.n_md = n_md;
    q->call.deadline_us = deadline_us;
    {
        /* Unique, not secret: a random per-process prefix and a counter (a
         * getrandom call per request cost more than the rest of the id). */
        uint8_t rid[16];
        memcpy(rid, s->rid_prefix, 8);
        proto_put_be64(rid + 8, ++s->rid_counter);
        sodium_bin2hex(q->call.request_id, sizeof(q->call.request_id), rid, sizeof(rid));
    }
    list_add(&c->reqs, q);
    c->inflight++;
    s->v->requests_inflight++;

    /* Per-peer budgets (vault_peer.h): a connection that has not
     * authenticated pays for each call from its peer's public budget, and
     * Login/Attest need its failed-authentication budget. Refused calls do
     * no work; their audit is the peer's aggregate record. */
    if (!c->authed && c->pa) {
        uint64_t now = vault_now_us();
        int r = vault_peer_take_public(s->peers, c->pa, now);
        if (r == 0 && is_auth_attempt(m))
            r = vault_peer_auth_allowed(s->peers, c->pa, now);
        if (r < 0) {
            q->status = TV_ERR_RESOURCE;
            q->call.refused_early = 1;
            c->throttled = 1; /* conn_process stops reading it for a while */
            vault_call_errf(&q->call,
                            "too many requests from %s (per-peer limit); slow down and retry",
                            c->pa->key);
            q->call.md = NULL;
            q->call.n_md = 0;
            req_after_handler(q);
            return;
        }
    }

    {
        int token_ok = 0;
        q->status = vault_call_run(m, &q->call, &q->principal, &token_ok, payload, len, &q->out);
        q->have_principal = token_ok;
        if (token_ok && !c->authed) {
            c->authed = 1;
            proto_frame_reader_set_max(&c->rd, PROTO_FRAME_MAX);
            if (c->h2)
                vault_h2_set_body_max(c->h2, PROTO_FRAME_MAX + 5);
            if (c->proto == P_H1)
                vault_h1_set_body_max(&c->h1, PROTO_FRAME_MAX * 2); /* JSON: base64 */
            evtimer_del(c->deadline_ev);                            /* authenticated: no deadline */
        }
    }
    /* The metadata is the transport's: not valid after this call. */
    q->call.md = NULL;
    q->call.n_md = 0;
    if (q->status == 0 && q->call.offload) {
        offload_submit(s, q);
        return;
    }
    req_after_handler(q);
}

/* Login and Attest: what a failed-authentication budget guards. */
static int is_auth_attempt(const vault_method *m)
{
    return (!strcmp(m->service, "teevault.v1.Auth") && !strcmp(m->method, "Login")) ||
           (!strcmp(m->service, "teevault.v1.Attestation") && !strcmp(m->method, "Attest"));
}

/* ttrpc: decide and run one request. Called with the envelope decoded. */
static void dispatch(vconn *c, uint32_t sid, Ttrpc__Request *rq)
{
    const vault_method *m = NULL;
    char qs[96], qm[96];
    vault_md md[TTRPC_MD_MAX];
    size_t n_md = 0;

    /* Stream ids must not be reused while in flight (ttrpc server.go). */
    for (vreq *o = c->reqs; o; o = o->next)
        if (o->sid == sid) {
            conn_send(c, sid, TV_ERR_INVALID, "stream id is already in use", NULL, 0);
            return;
        }
    size_t sl = rq->service ? strlen(rq->service) : 0;
    size_t ml = rq->method ? strlen(rq->method) : 0;
    if (sl && ml && sl < SVC_MAX && ml < METHOD_MAX)
        m = vault_method_find(rq->service, sl, rq->method, ml);
    if (!m) {
        char em[256];
        vault_quote(qs, sizeof(qs), rq->service ? rq->service : "", sl);
        vault_quote(qm, sizeof(qm), rq->method ? rq->method : "", ml);
        snprintf(em, sizeof(em), "unknown service or method %s / %s", qs, qm);
        vault_log(VAULT_LOG_INFO, "rpc_unknown", "peer", c->peer, "service", qs, "method", qm,
                  (const char *)NULL);
        conn_send(c, sid, TV_ERR_UNIMPLEMENTED, em, NULL, 0);
        return;
    }
    if (rq->n_metadata > TTRPC_MD_MAX) {
        conn_send(c, sid, TV_ERR_TOO_LARGE, "more than 64 metadata entries", NULL, 0);
        return;
    }
    for (size_t i = 0; i < rq->n_metadata; i++)
        if (rq->metadata[i] && rq->metadata[i]->key && rq->metadata[i]->value)
            md[n_md++] = (vault_md){rq->metadata[i]->key, rq->metadata[i]->value};
    uint64_t deadline = 0;
    if (rq->timeout_nano > 0) {
        uint64_t us = (uint64_t)rq->timeout_nano / 1000;
        if (us > UINT64_MAX / 2)
            us = UINT64_MAX / 2;
        deadline = vault_now_us() + us;
    }
    server_call(c, sid, m, 0, "ttrpc", md, n_md, deadline, rq->payload.data, rq->payload.len);
}

/* The handler (and any offloaded work) is done: audit, then reply. */
static void req_after_handler(vreq *q)
{
    struct vault *v = q->s->v;
    if (q->status < 0)
        proto_buf_reset(&q->out);
    /* A failed authentication (a token that did not resolve, a refused
     * Login or Attest) is charged to the peer; budget refusals are not. */
    if (q->status < 0 && q->status != TV_ERR_RESOURCE && q->conn && q->conn->pa &&
        q->principal.kind == VAULT_PRINCIPAL_NONE &&
        (q->status == TV_ERR_UNAUTHENTICATED ||
         (q->call.service && q->call.method &&
          ((!strcmp(q->call.service, "teevault.v1.Auth") && !strcmp(q->call.method, "Login")) ||
           (!strcmp(q->call.service, "teevault.v1.Attestation") &&
            !strcmp(q->call.method, "Attest"))))))
        vault_peer_auth_failed(q->s->peers, q->conn->pa, vault_now_us());
    /* Replies waiting for the audit commit count against the output budget. */
    q->out_counted = q->out.len;
    if (q->conn)
        q->conn->pending_out += q->out_counted;

    if (q->call.audited) {
        req_advance(q);
        return;
    }
    q->audit_pending = 1;
    if (q->status == 0 && q->call.write) {
        /* `done` may run before this returns (no event loop). */
        if (vault_audit_submit_write(v, &q->call, q->call.write, q->call.write_arg, write_done, q) <
            0)
            write_done(q, TV_ERR_AUDIT);
        return;
    }
    /* `done` may run before vault_audit_submit returns; q is not touched after. */
    if (vault_audit_submit(v, &q->call, q->status, audit_done, q) < 0) {
        q->audit_pending = 0;
        fail_closed(q, TV_ERR_AUDIT, "the audit record could not be queued");
        req_advance(q);
    }
}

/* gRPC or Connect: one complete HTTP request (from the HTTP/2 session's
 * callback or the HTTP/1.1 parser). */
static void web_request(void *ud, const vault_http_req *rq)
{
    vconn *c = ud;
    vault_web_call wc;
    if (c->closing)
        return;
    vault_web_parse(rq, c->proto == P_H2, &wc);
    if (wc.err < 0) {
        vault_log(VAULT_LOG_INFO, "rpc_refused", "peer", c->peer, "error", wc.errmsg,
                  (const char *)NULL);
        web_reply(c, rq->id, wc.kind, wc.m, wc.err, wc.http_status, wc.errmsg, NULL, 0);
    } else {
        server_call(c, rq->id, wc.m, wc.kind, wc.kind == VAULT_WEB_GRPC ? "grpc" : "connect",
                    rq->hdrs, rq->n_hdrs, wc.deadline_us, wc.payload.d, wc.payload.len);
    }
    vault_web_call_free(&wc);
}

static void handle_frame(vconn *c)
{
    const proto_frame_hdr *h = proto_frame_header(&c->rd);
    uint32_t sid = h->stream_id;
    Ttrpc__Request *rq = (Ttrpc__Request *)protobuf_c_message_unpack(
        &ttrpc__request__descriptor, &vault_wiping_allocator, proto_frame_body_len(&c->rd),
        proto_frame_body(&c->rd));
    if (!rq || !protobuf_c_message_check(&rq->base)) {
        if (rq)
            protobuf_c_message_free_unpacked(&rq->base, &vault_wiping_allocator);
        conn_send(c, sid, TV_ERR_INVALID, "request envelope does not decode", NULL, 0);
        return;
    }
    dispatch(c, sid, rq);
    protobuf_c_message_free_unpacked(&rq->base, &vault_wiping_allocator);
}

/* ------------------------------------------------------------ connections */

/* The connection stops counting against its peer and max_connections
 * (at close time, so an evicted connection makes room at once). */
static void conn_release(vconn *c)
{
    if (c->pa) {
        vault_peers_detach(c->s->peers, c->pa);
        c->pa = NULL;
    }
    if (!c->closing)
        c->s->n_open--;
}

static void conn_free(vconn *c)
{
    vault_server *s = c->s;
    conn_release(c);
    c->closing = 1;
    while (c->reqs) {
        vreq *q = c->reqs;
        list_del(&c->reqs, q);
        s->v->requests_inflight--;
        if (q->audit_pending || q->offload_pending) {
            q->conn = NULL; /* the audit or worker callback frees it */
            list_add(&s->detached, q);
        } else {
            req_free(q);
        }
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    if (c->bev)
        bufferevent_free(c->bev); /* closes the fd and frees the SSL */
    if (c->close_ev)
        event_free(c->close_ev);
    if (c->kick_ev)
        event_free(c->kick_ev);
    if (c->frame_ev)
        event_free(c->frame_ev);
    if (c->deadline_ev)
        event_free(c->deadline_ev);
    s->out_total -= c->out_seen;
    proto_frame_reader_free(&c->rd);
    vault_h2_free(c->h2);
    vault_h1_free(&c->h1);
    free(c);
}

static void close_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_free(arg);
}

static void conn_close_later(vconn *c, const char *why)
{
    uint64_t supp = 0;
    if (c->closing)
        return;
    conn_release(c);
    c->closing = 1;
    if (why && vault_log_enabled(VAULT_LOG_INFO) && log_allowed(&c->s->log_conn, &supp)) {
        char id[24], sup[24];
        snprintf(id, sizeof(id), "%llu", (unsigned long long)c->id);
        snprintf(sup, sizeof(sup), "%llu", (unsigned long long)supp);
        vault_log(VAULT_LOG_INFO, "conn_close", "conn", id, "peer", c->peer, "reason", why,
                  supp ? "suppressed" : NULL, supp ? sup : NULL, (const char *)NULL);
    }
    if (c->deadline_ev)
        evtimer_del(c->deadline_ev);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    event_active(c->close_ev, 0, 0);
}

static void conn_maybe_finish(vconn *c)
{
    if (c->eof && !c->closing && c->inflight == 0 &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_close_later(c, NULL);
}

static void conn_pause(vconn *c)
{
    if (!c->read_paused) {
        c->read_paused = 1;
        bufferevent_disable(c->bev, EV_READ);
    }
    /* A frame cut short by our own pause is not the peer's delay. */
    evtimer_del(c->frame_ev);
}

/* Slow-drip defence: the idle timeout restarts with every byte, so a peer
 * could keep a frame open forever one byte at a time. A frame whose first
 * byte arrived must be complete within io_timeout. */
static void frame_timer_update(vconn *c)
{
    int partial;
    switch (c->proto) {
    case P_H2: /* a request still arriving, or a reply the peer's window holds back */
        partial = vault_h2_open_requests(c->h2) > 0 || vault_h2_blocked(c->h2) > 0;
        break;
    case P_H1:
        partial = !c->h1_busy && vault_h1_partial(&c->h1);
        break;
    case P_UNKNOWN:
        partial = evbuffer_get_length(bufferevent_get_input(c->bev)) > 0;
        break;
    default:
        partial = c->rd.hhave > 0;
    }
    int pending = evtimer_pending(c->frame_ev, NULL);
    if (partial && !pending) {
        struct timeval tv = {.tv_sec = c->s->v->cfg->io_timeout};
        evtimer_add(c->frame_ev, &tv);
    } else if (!partial && pending) {
        evtimer_del(c->frame_ev);
    }
}

static void frame_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_close_later(arg, "frame not completed within io_timeout");
}

/* HTTP: a request's authorization header may lift the body cap before its
 * body arrives (as a valid token on ttrpc lifts the frame cap). */
static int conn_lift(void *ud, const char *authorization)
{
    vconn *c = ud;
    vault_principal p;
    if (c->authed)
        return 1;
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    memset(&p, 0, sizeof(p));
    if (!*t || vault_auth_resolve(c->s->v, t, strlen(t), &p) < 0)
        return 0;
    vault_principal_clear(&p);
    c->authed = 1;
    proto_frame_reader_set_max(&c->rd, PROTO_FRAME_MAX);
    return 1;
}

/* Tell the protocol: ALPN on TLS (h2, http/1.1; none is ttrpc), else the
 * first bytes: a ttrpc header starts with 0 (lengths are < 16 MiB), the
 * HTTP/2 preface with "PRI ", an HTTP/1.1 request line with a method
 * (upper-case letters). Returns 0 when decided, 1 when more bytes are
 * needed, < 0 when the connection must close. */
static int conn_sniff(vconn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    uint8_t b[4];
    size_t n = evbuffer_get_length(in);

    if (c->tls) {
        SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
        if (ssl)
            SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
        if (alpn_len == 2 && !memcmp(alpn, "h2", 2))
            c->proto = P_H2;
        else if (alpn_len == 8 && !memcmp(alpn, "http/1.1", 8))
            c->proto = P_H1;
        else
            c->proto = P_TTRPC;
    } else {
        if (n == 0)
            return 1;
        evbuffer_copyout(in, b, n < 4 ? n : 4);
        if (b[0] == 0)
            c->proto = P_TTRPC;
        else if (n < 4)
            return 1;
        else if (!memcmp(b, "PRI ", 4))
            c->proto = P_H2;
        else if (b[0] >= 'A' && b[0] <= 'Z')
            c->proto = P_H1;
        else
            c->proto = P_TTRPC; /* its reader refuses the header */
    }
    if (c->proto == P_H2) {
        size_t body = c->authed ? PROTO_FRAME_MAX + 5 : PROTO_FRAME_PREAUTH_MAX;
        vault_h2_limits lim = {.max_streams = c->s->v->cfg->max_inflight_per_conn,
                               .body_max = body,
                               .conn_body_max = body,
                               .body_max_authed = PROTO_FRAME_MAX + 5,
                               .lift = conn_lift,
                               .lift_ud = c};
        if (vault_h2_new(&lim, web_request, c, &c->h2) < 0)
            return TV_ERR_NOMEM;
    } else if (c->proto == P_H1) {
        vault_h1_init(&c->h1, c->authed ? PROTO_FRAME_MAX * 2 : PROTO_FRAME_PREAUTH_MAX);
        c->h1.body_max_authed = PROTO_FRAME_MAX * 2; /* JSON carries bytes as base64 */
        c->h1.lift = conn_lift;
        c->h1.lift_ud = c;
    }
    if (vault_log_enabled(VAULT_LOG_DEBUG))
        vault_log(VAULT_LOG_DEBUG, "conn_protocol", "peer", c->peer, "protocol",
                  c->proto == P_H2   ? "h2"
                  : c->proto == P_H1 ? "http/1.1"
                                     : "ttrpc",
                  (const char *)NULL);
    return 0;
}

/* HTTP/2: feed the session, at most 16 KiB at a time so the in-flight and
 * output budgets are checked between chunks. */
/* A call on c was refused by its peer's budget (server_call set
 * c->throttled): leave its pipelined requests in the kernel for THROTTLE_MS
 * instead of refusing each one (a refusal costs a reply; a paused socket
 * costs nothing). The same for every transport: ttrpc frames, HTTP/2
 * streams, HTTP/1.1 requests. 1 when c is now paused. */
static int conn_throttle(vconn *c)
{
    struct timeval tv = {0, THROTTLE_MS * 1000};
    if (!c->throttled || c->closing)
        return 0;
    c->throttled = 0;
    c->throttle_until_us = vault_now_us() + THROTTLE_MS * 1000;
    conn_pause(c);
    event_add(c->kick_ev, &tv);
    return 1;
}

/* Global output budget: while every connection's queued output together is
 * over max_output_bytes, a connection that has output of its own waiting is
 * not read (its write_cb resumes it). Readers that keep up have nothing
 * queued and go on. 1 when c must pause. */
static int over_output_budget(vconn *c, size_t own)
{
    return c->s->out_total >= c->s->v->cfg->max_output_bytes && own > 0;
}

static void conn_process_h2(vconn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *outb = bufferevent_get_output(c->bev);
    unsigned cap = c->s->v->cfg->max_inflight_per_conn;

    while (!c->closing && !c->h2_dead) {
        size_t own = evbuffer_get_length(outb) + c->pending_out + vault_h2_held(c->h2);
        if (c->inflight >= cap || own >= OUT_PAUSE_AT || over_output_budget(c, own)) {
            conn_pause(c);
            frame_timer_update(c);
            return;
        }
        size_t n = evbuffer_get_length(in);
        if (n == 0)
            break;
        struct evbuffer_iovec vec;
        if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
            break;
        /* Unauthenticated: small bites, so a throttle (conn_throttle) stops
         * a pipelined flood after a few streams, not a chunk's worth. */
        size_t bite = c->authed ? 16384 : 1024;
        n = vec.iov_len < bite ? vec.iov_len : bite;
        c->h2_in_recv = 1;
        int r = vault_h2_recv(c->h2, vec.iov_base, n);
        c->h2_in_recv = 0;
        evbuffer_drain(in, n);
        if (r < 0) {
            vault_log(VAULT_LOG_INFO, "conn_protocol_error", "peer", c->peer, "protocol", "h2",
                      (const char *)NULL);
            h2_flush(c);
            if (!c->closing) {
                c->h2_dead = 1; /* GOAWAY out, then close */
                c->eof = 1;
                evbuffer_drain(in, evbuffer_get_length(in));
                bufferevent_disable(c->bev, EV_READ);
            }
            break;
        }
        h2_flush(c);
        if (conn_throttle(c))
            return;
    }
    h2_flush(c);
    if (c->read_paused && !c->closing && !c->eof) {
        c->read_paused = 0;
        bufferevent_enable(c->bev, EV_READ);
    }
    if (!c->closing) {
        frame_timer_update(c);
        conn_maybe_finish(c);
    }
}

/* HTTP/1.1: one request at a time. */
static void conn_process_h1(vconn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *outb = bufferevent_get_output(c->bev);

    while (!c->closing && !c->h1_busy) {
        if (over_output_budget(c, evbuffer_get_length(outb) + c->pending_out)) {
            conn_pause(c);
            return;
        }
        size_t n = evbuffer_get_length(in);
        if (n == 0)
            break;
        struct evbuffer_iovec vec;
        if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
            break;
        size_t used = 0;
        int st = vault_h1_parse(&c->h1, vec.iov_base, vec.iov_len, &used);
        if (used)
            evbuffer_drain(in, used);
        if (c->h1.send_continue) {
            c->h1.send_continue = 0;
            evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
        if (st < 0) {
            vault_log(VAULT_LOG_INFO, "conn_protocol_error", "peer", c->peer, "protocol",
                      "http/1.1", "error", c->h1.err_msg, (const char *)NULL);
            /* Answer as Connect would, then close (the parser is dead). */
            c->h1.keep_alive = 0;
            c->h1_busy = 1;
            web_reply(c, 1, VAULT_WEB_NONE, NULL,
                      st == TV_ERR_TOO_LARGE       ? TV_ERR_TOO_LARGE
                      : st == TV_ERR_NOMEM         ? TV_ERR_NOMEM
                      : st == TV_ERR_UNIMPLEMENTED ? TV_ERR_UNIMPLEMENTED
                                                   : TV_ERR_INVALID,
                      c->h1.err_status, c->h1.err_msg, NULL, 0);
            evbuffer_drain(in, evbuffer_get_length(in));
            break;
        }
        if (st == VAULT_H1_READY) {
            vault_http_req rq;
            vault_h1_request(&c->h1, &rq);
            c->h1_busy = 1;
            web_request(c, &rq);
            if (conn_throttle(c))
                return;
        }
    }
    if (c->read_paused && !c->closing && !c->eof) {
        c->read_paused = 0;
        bufferevent_enable(c->bev, EV_READ);
    }
    if (!c->closing) {
        frame_timer_update(c);
        conn_maybe_finish(c);
    }
}

static void conn_process(vconn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *outb = bufferevent_get_output(c->bev);
    unsigned cap = c->s->v->cfg->max_inflight_per_conn;

    /* Throttled (see below): replies draining (write_cb) or finishing
     * (req_finish) do not resume it early; the kick timer does. */
    if (c->throttle_until_us) {
        uint64_t now = vault_now_us();
        if (now < c->throttle_until_us) {
            conn_pause(c);
            /* An early activation of kick_ev consumed its timeout: re-arm. */
            if (!event_pending(c->kick_ev, EV_TIMEOUT, NULL)) {
                uint64_t left = c->throttle_until_us - now;
                struct timeval tv = {(time_t)(left / 1000000), (suseconds_t)(left % 1000000)};
                event_add(c->kick_ev, &tv);
            }
            return;
        }
        c->throttle_until_us = 0;
    }
    if (c->proto == P_UNKNOWN && !c->closing) {
        int r = conn_sniff(c);
        if (r < 0) {
            conn_close_later(c, "out of memory");
            return;
        }
        if (r > 0) {
            frame_timer_update(c);
            return;
        }
    }
    if (c->proto == P_H2) {
        conn_process_h2(c);
        return;
    }
    if (c->proto == P_H1) {
        conn_process_h1(c);
        return;
    }

    while (!c->closing) {
        /* Back-pressure: queued output plus replies still waiting for their
         * audit record must leave room for one more max-size reply. */
        if (c->inflight >= cap || evbuffer_get_length(outb) + c->pending_out >= OUT_PAUSE_AT) {
            conn_pause(c);
            return;
        }
        if (over_output_budget(c, evbuffer_get_length(outb) + c->pending_out)) {
            conn_pause(c);
            return;
        }
        if (evbuffer_get_length(in) == 0)
            break;
        struct evbuffer_iovec vec;
        if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
            break;
        size_t used = 0;
        int st = proto_frame_read(&c->rd, vec.iov_base, vec.iov_len, &used);
        if (used)
            evbuffer_drain(in, used);
        if (st < 0) {
            conn_close_later(c, st == TV_ERR_TOO_LARGE ? "frame length over the cap"
                                                       : "malformed frame header");
            return;
        }
        if (st == PROTO_FRAME_READY) {
            handle_frame(c);
            proto_frame_next(&c->rd);
        }
        if (conn_throttle(c))
            return;
    }
    if (c->read_paused && !c->closing && !c->eof) {
        c->read_paused = 0;
        bufferevent_enable(c->bev, EV_READ);
    }
    if (!c->closing)
        frame_timer_update(c);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_process(arg);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process(arg);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    vconn *c = arg;
    (void)bev;
    if (c->closing)
        return;
    if (c->read_paused)
        conn_process(c);
    conn_maybe_finish(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    vconn *c = arg;
    if (c->closing)
        return;
    if (what & BEV_EVENT_CONNECTED) {
        if (!c->authed) {
            struct timeval tv = {.tv_sec = c->s->v->cfg->auth_timeout};
            evtimer_add(c->deadline_ev, &tv);
        }
        c->handshaken = 1;
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if ((what & BEV_EVENT_READING) && c->inflight > 0) {
            /* Silent because it waits for us, not idle. */
            bufferevent_enable(bev, EV_READ);
            return;
        }
        conn_close_later(c, (what & BEV_EVENT_READING) ? "idle timeout" : "write timeout");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        /* Serve what was already received, then close. */
        c->eof = 1;
        conn_process(c);
        bufferevent_disable(bev, EV_READ);
        conn_maybe_finish(c);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        char why[160] = "socket error";
        unsigned long e = c->tls ? bufferevent_get_openssl_error(bev) : 0;
        if (e)
            snprintf(why, sizeof(why), "tls: %s", ERR_reason_error_string(e));
        else if (EVUTIL_SOCKET_ERROR())
            snprintf(why, sizeof(why), "socket error: %s",
                     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        conn_close_later(c, why);
    }
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    vault_server *s = arg;
    (void)fd;
    (void)what;
    s->accepts_in_pass = 0;
    if (s->unix_l)
        evconnlistener_enable(s->unix_l);
    if (s->tcp_l)
        evconnlistener_enable(s->tcp_l);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    vault_server *s = arg;
    int e = EVUTIL_SOCKET_ERROR();
    (void)l;
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        /* Out of descriptors: stop accepting for a second instead of
         * spinning on a listener that is always readable. */
        vault_logf(VAULT_LOG_WARN, "accept_paused", "accept failed (%s); pausing accept for 1 s",
                   strerror(e));
        if (s->unix_l)
            evconnlistener_disable(s->unix_l);
        if (s->tcp_l)
            evconnlistener_disable(s->tcp_l);
        struct timeval tv = {1, 0};
        evtimer_add(s->accept_resume_ev, &tv);
        return;
    }
    vault_logf(VAULT_LOG_WARN, "accept_error", "accept failed: %s", strerror(e));
}

static void peer_name(const struct sockaddr *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(out, outlen, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, outlen, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(out, outlen, "unix");
    }
}

/* The TLS handshake, then the first authenticated request, must come in
 * time (auth_timeout): a connection that only holds a slot is closed. One
 * with requests in flight gets until they finish. */
static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    vconn *c = arg;
    (void)fd;
    (void)what;
    if (c->closing || c->authed)
        return;
    if (c->inflight > 0) {
        struct timeval tv = {1, 0};
        evtimer_add(c->deadline_ev, &tv);
        return;
    }
    conn_close_later(c, c->handshaken ? "no authenticated request within auth_timeout"
                                      : "TLS handshake not completed within handshake_timeout");
}

/* Idle and unauthenticated: holds a slot and nothing else. */
static int conn_evictable(vconn *c)
{
    return !c->closing && !c->authed && c->inflight == 0 && c->rd.hhave == 0 &&
           evbuffer_get_length(bufferevent_get_input(c->bev)) == 0;
}

/* Close the oldest evictable connection of peer p or, when p is NULL, of
 * the peer holding the most connections (so one stranger's slot holders go
 * before anyone else's idle connection). 1 when one was closed. */
static int evict_one(vault_server *s, const vault_peer *p)
{
    vconn *victim = NULL;
    int global = !p;
    if (!p) {
        for (vconn *c = s->conns; c; c = c->next)
            if (c->pa && conn_evictable(c) && (!p || c->pa->conns > p->conns))
                p = c->pa;
    }
    for (vconn *c = s->conns; c; c = c->next) /* newest first: the last match is the oldest */
        if ((!p || c->pa == p) && conn_evictable(c))
            victim = c;
    if (!victim)
        return 0;
    conn_close_later(victim, global
                                 ? "evicted: idle and unauthenticated (max_connections)"
                                 : "evicted: idle and unauthenticated (max_connections_per_peer)");
    return 1;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    vault_server *s = arg;
    vconn *c = NULL;
    vault_peer *pa = NULL;
    int tls = (l == s->tcp_l), trusted = 0, r;
    char key[VAULT_PEER_KEY_MAX];
    uint64_t supp = 0;
    (void)salen;

    /* Who is it (Unix: SO_PEERCRED uid; TCP: the address), and is there
     * room? When full, the oldest idle unauthenticated connection (of this
     * peer, or of anyone) makes room rather than everyone being refused. */
    /* libevent accepts until the backlog is empty: a connection storm would
     * hold the loop for the whole backlog. After ACCEPT_BATCH, pause the
     * listeners for a millisecond so requests in between are served. */
    if (++s->accepts_in_pass >= ACCEPT_BATCH) {
        struct timeval tv = {0, 1000};
        if (s->unix_l)
            evconnlistener_disable(s->unix_l);
        if (s->tcp_l)
            evconnlistener_disable(s->tcp_l);
        evtimer_add(s->accept_resume_ev, &tv);
    }
    vault_peer_identify(fd, sa, key, &trusted);
    if (s->n_open >= s->v->cfg->max_connections && !evict_one(s, NULL)) {
        if (log_allowed(&s->log_conn, &supp))
            vault_logf(VAULT_LOG_WARN, "conn_refused",
                       "max_connections reached and every connection is busy or authenticated "
                       "(peer %s; %llu more refused)",
                       key, (unsigned long long)supp);
        evutil_closesocket(fd);
        return;
    }
    r = vault_peers_attach(s->peers, key, trusted, &pa);
    if (r == TV_ERR_RESOURCE) {
        vault_peer *p = NULL;
        /* The peer is at its cap: evict its own oldest idle connection. */
        for (vconn *o = s->conns; o && !p; o = o->next)
            if (o->pa && !strcmp(o->pa->key, key))
                p = o->pa;
        if (p && evict_one(s, p))
            r = vault_peers_attach(s->peers, key, trusted, &pa);
    }
    if (r < 0) {
        if (log_allowed(&s->log_conn, &supp))
            vault_logf(VAULT_LOG_WARN, "conn_refused", "peer %s: %s (%llu more refused)", key,
                       r == TV_ERR_RESOURCE ? "max_connections_per_peer reached" : "out of memory",
                       (unsigned long long)supp);
        evutil_closesocket(fd);
        return;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        vault_peers_detach(s->peers, pa);
        evutil_closesocket(fd);
        return;
    }
    c->s = s;
    c->id = ++s->next_conn_id;
    c->tls = tls;
    c->handshaken = !tls;
    c->pa = pa;
    s->n_open++;
    /* Unix peers are named by uid in logs and audit records. */
    if (sa->sa_family == AF_UNIX)
        snprintf(c->peer, sizeof(c->peer), "%s", key);
    else
        peer_name(sa, c->peer, sizeof(c->peer));
    proto_frame_reader_init(&c->rd, PROTO_FRAME_REQUEST, PROTO_FRAME_PREAUTH_MAX);
    if (tls) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        SSL *ssl = SSL_new(s->ssl_ctx);
        if (ssl)
            c->bev = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                    BEV_OPT_CLOSE_ON_FREE);
        if (!c->bev) {
            if (ssl)
                SSL_free(ssl);
            evutil_closesocket(fd);
        } else {
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        }
    } else {
        c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (!c->bev)
            evutil_closesocket(fd);
    }
    c->close_ev = event_new(s->base, -1, 0, close_cb, c);
    c->kick_ev = event_new(s->base, -1, 0, kick_cb, c);
    c->frame_ev = evtimer_new(s->base, frame_timeout_cb, c);
    c->deadline_ev = evtimer_new(s->base, deadline_cb, c);
    /* Link first so conn_free's accounting holds on every path below. */
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    if (!c->bev || !c->close_ev || !c->kick_ev || !c->frame_ev || !c->deadline_ev) {
        vault_log(VAULT_LOG_ERROR, "conn_error", "reason", "out of memory", (const char *)NULL);
        conn_free(c);
        return;
    }
    struct timeval idle = {.tv_sec = s->v->cfg->idle_timeout};
    struct timeval io = {.tv_sec = s->v->cfg->io_timeout};
    bufferevent_set_timeouts(c->bev, &idle, &io);
    bufferevent_setwatermark(c->bev, EV_WRITE, OUT_RESUME_LOW, 0);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    evbuffer_add_cb(bufferevent_get_output(c->bev), out_cb, c);
    {
        struct timeval dl = {.tv_sec =
                                 tls ? s->v->cfg->handshake_timeout : s->v->cfg->auth_timeout};
        evtimer_add(c->deadline_ev, &dl);
    }
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (vault_log_enabled(VAULT_LOG_DEBUG)) {
        char id[24];
        snprintf(id, sizeof(id), "%llu", (unsigned long long)c->id);
        vault_log(VAULT_LOG_DEBUG, "conn_open", "conn", id, "peer", c->peer, "tls",
                  tls ? "yes" : "no", (const char *)NULL);
    }
}

/* ------------------------------------------------------------ listeners */

static int listen_unix(vault_server *s, const char *path, unsigned mode, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct stat st;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "unix socket path too long: %s", path);
        return TV_ERR_INVALID;
    }
    memcpy(sun.sun_path, path, strlen(path));
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket; refusing to replace it", path);
            return TV_ERR_IO;
        }
        /* A socket file: live daemon or a stale leftover? */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            int live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
            close(fd);
            if (live) {
                snprintf(err, errlen, "another server is listening on %s", path);
                return TV_ERR_EXISTS;
            }
        }
        if (unlink(path) < 0) {
            snprintf(err, errlen, "cannot remove stale socket %s: %s", path, strerror(errno));
            return TV_ERR_IO;
        }
    }
    /* Create the socket file with no access, then open it up to `mode`. */
    mode_t old = umask(0777);
    s->unix_l = evconnlistener_new_bind(s->base, accept_cb, s,
                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 4096,
                                        (struct sockaddr *)&sun, sizeof(sun));
    int e = errno;
    umask(old);
    if (!s->unix_l) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(e));
        return TV_ERR_IO;
    }
    if (!(s->unix_path = strdup(path)))
        return TV_ERR_NOMEM;
    if (chmod(path, mode) < 0) {
        snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
        return TV_ERR_IO;
    }
    evconnlistener_set_error_cb(s->unix_l, accept_error_cb);
    return 0;
}

/* ALPN: h2 for gRPC/Connect, http/1.1 for Connect; a client that offers
 * neither (or no ALPN: ttrpc clients) gets no protocol and speaks ttrpc. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char ours[] = "\x02h2\x08http/1.1";
    unsigned char *o = NULL;
    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto(&o, outlen, ours, sizeof(ours) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

static int tls_ctx_make(const vault_config *cfg, SSL_CTX **out, char *err, size_t errlen);

static int tls_ctx_new(vault_server *s, const vault_config *cfg, char *err, size_t errlen)
{
    return tls_ctx_make(cfg, &s->ssl_ctx, err, errlen);
}

int vault_server_reload_tls(vault_server *s, const vault_config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = NULL;
    int r;

    if (!s->ssl_ctx)
        return 0; /* no TLS listener */
    if ((r = tls_ctx_make(cfg, &ctx, err, errlen)) < 0)
        return r;
    /* Connections already accepted hold a reference to the old context. */
    SSL_CTX_free(s->ssl_ctx);
    s->ssl_ctx = ctx;
    return 0;
}

static int tls_ctx_make(const vault_config *cfg, SSL_CTX **out, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        goto crypto;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        snprintf(err, errlen, "cannot load tls_cert %s", cfg->tls_cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "cannot load tls_key %s (or it does not match tls_cert)",
                 cfg->tls_key);
        goto fail;
    }
    if (cfg->tls_client_auth != VAULT_TLS_CLIENT_OFF) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_client_ca);
        if (!names || SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            snprintf(err, errlen, "cannot load tls_client_ca %s", cfg->tls_client_ca);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        int mode = SSL_VERIFY_PEER;
        if (cfg->tls_client_auth == VAULT_TLS_CLIENT_REQUIRED)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, NULL);
    }
    *out = ctx;
    return 0;
crypto:
    snprintf(err, errlen, "cannot create the TLS context");
fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return TV_ERR_CRYPTO;
}

static int listen_tcp(vault_server *s, const vault_config *cfg, char *err, size_t errlen)
{
    char host[256], port[16];
    const char *a = cfg->tcp_address;
    int r;

    if (proto_split_hostport(a, 1, host, sizeof(host), port, sizeof(port)) < 0)
        goto bad;

    if ((r = tls_ctx_new(s, cfg, err, errlen)) < 0)
        return r;

    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0 || !ai)
        goto bad;
    s->tcp_l = evconnlistener_new_bind(
        s->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
        4096, ai->ai_addr, (int)ai->ai_addrlen);
    int e = errno;
    freeaddrinfo(ai);
    if (!s->tcp_l) {
        snprintf(err, errlen, "cannot listen on %s: %s", a, strerror(e));
        return TV_ERR_IO;
    }
    evconnlistener_set_error_cb(s->tcp_l, accept_error_cb);
    return 0;
bad:
    snprintf(err, errlen, "tcp_address %s: expected host:port or [v6]:port", a);
    return TV_ERR_INVALID;
}

int vault_server_new(struct vault *v, vault_server **out, char *err, size_t errlen)
{
    int r = TV_ERR_INTERNAL;
    vault_server *s = NULL;
    const vault_config *cfg = v ? v->cfg : NULL;

    if (!v || !cfg || !v->base || !out)
        return TV_ERR_INVALID;
    if (!(s = calloc(1, sizeof(*s)))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    s->v = v;
    s->base = v->base;
    s->wake_fd[0] = s->wake_fd[1] = -1;
    randombytes_buf(s->rid_prefix, sizeof(s->rid_prefix));
    {
        vault_peer_limits pl = {.max_conns = cfg->max_connections_per_peer,
                                .public_rate = cfg->peer_public_rate,
                                .public_burst = cfg->peer_public_burst,
                                .authfail_rate = cfg->peer_authfail_rate,
                                .authfail_burst = cfg->peer_authfail_burst};
        if ((r = vault_peers_new(&pl, &s->peers)) < 0)
            goto out;
    }
    if ((r = vault_registry_check(err, errlen)) < 0)
        goto out;
    if ((r = worker_start(s)) < 0) {
        snprintf(err, errlen, "cannot start the worker thread");
        goto out;
    }
    if (!(s->accept_resume_ev = evtimer_new(s->base, accept_resume_cb, s))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (cfg->unix_socket && cfg->unix_socket[0] &&
        (r = listen_unix(s, cfg->unix_socket, cfg->unix_mode, err, errlen)) < 0)
        goto out;
    if (cfg->tcp_address && cfg->tcp_address[0] && (r = listen_tcp(s, cfg, err, errlen)) < 0)
        goto out;
    if (!s->unix_l && !s->tcp_l) {
        snprintf(err, errlen, "no listener configured");
        r = TV_ERR_INVALID;
        goto out;
    }
    if (s->unix_l)
        vault_log(VAULT_LOG_INFO, "listen", "transport", "unix", "addr", cfg->unix_socket,
                  (const char *)NULL);
    if (s->tcp_l)
        vault_log(VAULT_LOG_INFO, "listen", "transport", "tls", "addr", cfg->tcp_address,
                  "client_auth",
                  cfg->tls_client_auth == VAULT_TLS_CLIENT_REQUIRED   ? "required"
                  : cfg->tls_client_auth == VAULT_TLS_CLIENT_OPTIONAL ? "optional"
                                                                      : "off",
                  (const char *)NULL);
    *out = s;
    s = NULL;
    r = 0;
out:
    vault_server_free(s);
    return r;
}

void vault_server_free(vault_server *s)
{
    if (!s)
        return;
    /* First: no thread may still run work whose request is freed below. */
    worker_stop(s);
    if (s->unix_l)
        evconnlistener_free(s->unix_l);
    if (s->tcp_l)
        evconnlistener_free(s->tcp_l);
    if (s->unix_path) {
        unlink(s->unix_path);
        free(s->unix_path);
    }
    while (s->conns)
        conn_free(s->conns);
    while (s->detached) {
        vreq *q = s->detached;
        list_del(&s->detached, q);
        req_free(q);
    }
    if (s->accept_resume_ev)
        event_free(s->accept_resume_ev);
    vault_peers_free(s->peers);
    SSL_CTX_free(s->ssl_ctx);
    free(s);
}
