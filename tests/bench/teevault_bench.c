/* SPDX-License-Identifier: Apache-2.0 */
/*
 * teevault-bench: request throughput and latency of a running teevaultd
 * (issue 7, item 1).
 *
 *   teevault-bench --addr ADDR --token-file FILE --op get|put|attest|attest-get
 *                  --connections N --requests M --value-size BYTES
 *                  [--keys K] [--warmup W] [--sim-platform DIR] [--format text|json]
 *
 * Before measuring, the bench prepares its own data through libteevault with
 * the token in FILE (it must be allowed to write policies, functions and
 * secrets: the root token of a --dev vault): K secrets of BYTES bytes under
 * bench/<pid>/, and for attest/attest-get a function identity (sim evidence,
 * pinned measurement and code hash) bound to a read policy on those secrets.
 *
 *   get         Secrets.Get with the token (audited read: group commit)
 *   put         Secrets.Put of a new version (audit record in the write txn)
 *   attest      one complete function attestation per request
 *               (sim evidence + Attest; a Challenge only for a connection's
 *               first, later ones spend the nonce the previous reply offered)
 *   attest-get  each thread attests once, then Secrets.Get over the session
 *               (the value sealed to the session key, opened by the library)
 *
 * Client model. get and put on a unix: address run like redis-benchmark:
 * ONE thread drives all N connections from an epoll loop over non-blocking
 * sockets, each connection with exactly one request outstanding (closed
 * loop, no pipelining), so the client costs one process's CPU and no thread
 * wake-ups. Frames are built and parsed with the project's sans-I/O codec
 * (proto_frame + the protoc-c types), the same bytes libteevault sends: a
 * ttrpc Request for teevault.v1.Secrets Get/Put with "authorization: Bearer
 * <token>" metadata and a 30 s timeout, odd increasing stream ids per
 * connection. Each connection's frame is encoded once (connection i always
 * names secret k(i mod K)) and only its stream id is patched per request;
 * a put frame over the server's pre-authentication cap is preceded, once per
 * connection, by a Sys.Health carrying the token (as libteevault does).
 * Every reply is checked: ttrpc status 0, the payload decodes, a Get returns
 * exactly the BYTES bytes that were put (length and bytes), a Put a version.
 * A request without a reply after 30 s, a closed connection or a bad reply
 * fails that connection. attest and attest-get, and get/put on a tls://
 * address (TLS is libteevault's; the daemon has no plain-TCP listener), keep
 * the threaded model: N threads, each with its own tv_client (one connection,
 * blocking calls).
 *
 * Each connection runs W/N warm-up requests (default W = M/10); when all are
 * done (a barrier for the threads) the measured phase starts: M/N requests
 * per connection. Latency is measured per request with CLOCK_MONOTONIC (in
 * the epoll loop from the write of the request to its complete reply);
 * ops_per_sec is M over the wall time from the start of the measured phase
 * to the last reply. sim evidence for attest needs the sim platform
 * directory the vault pins: a --dev vault's state directory, which is also
 * where its root-token file lives (the default).
 *
 * --proto (get on a unix: address only) picks the wire: ttrpc (default),
 * grpc (gRPC over HTTP/2 with prior knowledge: application/grpc, one
 * length-prefixed GetRequest, grpc-status checked in the trailers), connect
 * (Connect JSON over HTTP/2: POST /teevault.v1.Secrets/Get with
 * {"name": ...}, the reply's base64 "value" checked) or connect-h1 (the same
 * over HTTP/1.1 keep-alive). HTTP/2 is libnghttp2's client session driven by
 * the same epoll loop, one stream in flight per connection.
 *
 * Output: one line of text, or with --format json one object with exactly
 * the keys op, connections, requests, ops_per_sec, p50_us, p99_us, p999_us.
 * Exit 0 on success, 1 when any request failed or the set-up failed, 2 on
 * usage errors. The token is read from a file, never from argv.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <sodium.h>

#include "proto_frame.h"
#include "teevault.h"
#include "teevault.pb-c.h"

enum bench_op { OP_GET, OP_PUT, OP_ATTEST, OP_ATTEST_GET };
enum bench_proto { PR_TTRPC, PR_GRPC, PR_CONNECT, PR_CONNECT_H1 };

typedef struct bench_cfg {
    const char *addr;
    const char *token_file;
    const char *sim_platform;
    enum bench_op op;
    const char *op_name;
    int connections;
    long requests;
    long warmup;
    size_t value_size;
    int keys;
    int json;
    enum bench_proto proto;
    const char *proto_name;
} bench_cfg;

/* Shared, read-only while the threads run. */
static bench_cfg g_cfg;
static char g_token[1024];
static char g_prefix[64];  /* bench/<pid> */
static char g_fn_name[64]; /* bench-fn-<pid> */
static char g_tmp[] = "/tmp/teevault-bench-XXXXXX";
static char g_runtime[600]; /* sim measurement file */
static uint8_t g_code_hash[32];
static uint8_t *g_value;
static pthread_barrier_t g_ready, g_go;

typedef struct worker {
    pthread_t th;
    int idx;
    long warm, count;
    uint64_t *lat_ns; /* count entries */
    long errors;
    int last_err;
    char last_msg[200];
} worker;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void key_name(char *buf, size_t n, long i)
{
    snprintf(buf, n, "%s/k%06ld", g_prefix, i % g_cfg.keys);
}

static void attest_opts(int idx, tv_attest_opts *o, char *st, size_t stn)
{
    snprintf(st, stn, "%s/rt-%d", g_tmp, idx);
    (void)mkdir(st, 0700);
    memset(o, 0, sizeof *o);
    o->tee = "sim";
    o->tee_root = g_cfg.sim_platform;
    o->sim_state_dir = st;
    o->sim_measurement_file = g_runtime;
}

/* One request of the configured kind. i numbers the thread's requests. */
static int one(tv_client *c, tv_session *s, const tv_attest_opts *ao, worker *w, long i)
{
    char name[128];
    uint8_t *v = NULL;
    size_t len = 0;
    int r;

    key_name(name, sizeof name, (long)w->idx * 7919 + i);
    switch (g_cfg.op) {
    case OP_GET:
        r = tv_secret_get(c, name, 0, &v, &len, NULL);
        break;
    case OP_PUT:
        return tv_secret_put(c, name, g_value, g_cfg.value_size, NULL, NULL);
    case OP_ATTEST: {
        tv_session *t = NULL;
        r = tv_attest_function(c, g_fn_name, g_code_hash, sizeof g_code_hash, ao, &t);
        tv_session_free(t);
        return r;
    }
    case OP_ATTEST_GET:
        r = tv_secrets_get(s, name, &v, &len);
        break;
    default:
        return TV_ERR_INTERNAL;
    }
    if (r == 0 && len != g_cfg.value_size)
        r = TV_ERR_INTEGRITY; /* not the value we stored */
    tv_free_secret(v);
    return r;
}

static void note_err(worker *w, tv_client *c, int r)
{
    w->errors++;
    w->last_err = r;
    snprintf(w->last_msg, sizeof w->last_msg, "%s", c ? tv_client_last_error(c) : "");
}

/* Verify the vault (sim platform key in `dir`) so the connection pins its
 * signing key: libteevault attests only against a pinned vault. */
static int pin_sim_vault(tv_client *c, const char *dir)
{
    tv_vault_verify_opts vo = {0};
    tv_vault_report rep;
    uint8_t pk[32];
    char path[700];
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "%s/sim_platform.pub", dir);
    if (!(f = fopen(path, "rb")))
        return TV_ERR_IO;
    n = fread(pk, 1, sizeof pk, f);
    fclose(f);
    if (n != sizeof pk)
        return TV_ERR_FORMAT;
    vo.sim_pk = pk;
    /* A load generator leaves the user's known_vaults file alone; each
     * connection still checks the states it sees itself. */
    vo.no_known_vaults = 1;
    return tv_attest_verify_vault(c, &vo, &rep);
}

static void *work(void *arg)
{
    worker *w = arg;
    tv_client *c = NULL;
    tv_session *s = NULL;
    tv_attest_opts ao;
    char st[700];
    int r, ok = 1;

    attest_opts(w->idx, &ao, st, sizeof st);
    if ((r = tv_client_open(g_cfg.addr, NULL, &c)) < 0) {
        note_err(w, c, r);
        ok = 0;
    } else if (g_cfg.op == OP_GET || g_cfg.op == OP_PUT) {
        if ((r = tv_client_set_token(c, g_token)) < 0) {
            note_err(w, c, r);
            ok = 0;
        }
    } else if ((g_cfg.op == OP_ATTEST_GET || g_cfg.op == OP_ATTEST) &&
               (r = pin_sim_vault(c, g_cfg.sim_platform)) < 0) {
        note_err(w, c, r);
        ok = 0;
    } else if (g_cfg.op == OP_ATTEST_GET) {
        if ((r = tv_attest_function(c, g_fn_name, g_code_hash, sizeof g_code_hash, &ao, &s)) < 0) {
            note_err(w, c, r);
            ok = 0;
        }
    }
    for (long i = 0; ok && i < w->warm; i++) {
        if ((r = one(c, s, &ao, w, i)) < 0) {
            note_err(w, c, r);
            ok = 0;
        }
    }
    pthread_barrier_wait(&g_ready);
    pthread_barrier_wait(&g_go);
    for (long i = 0; ok && i < w->count; i++) {
        uint64_t t0 = now_ns();
        r = one(c, s, &ao, w, w->warm + i);
        w->lat_ns[i] = now_ns() - t0;
        if (r < 0) {
            note_err(w, c, r);
            ok = 0; /* a broken connection would only repeat the error */
        }
    }
    tv_session_free(s);
    tv_client_close(c);
    return NULL;
}

static int read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        fprintf(stderr, "teevault-bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(g_token, 1, sizeof g_token - 1, f);
    fclose(f);
    while (n > 0 && (g_token[n - 1] == '\n' || g_token[n - 1] == '\r'))
        n--;
    g_token[n] = '\0';
    if (n == 0) {
        fprintf(stderr, "teevault-bench: %s: empty token file\n", path);
        return -1;
    }
    return 0;
}

static int setup_fail(tv_client *c, const char *what, int r)
{
    fprintf(stderr, "teevault-bench: set-up: %s: %s (%s)\n", what, tv_strerror(r),
            c ? tv_client_last_error(c) : "");
    return r;
}

/* Secrets (and for attest ops the function identity and its read policy). */
static int prepare(void)
{
    tv_client *c = NULL;
    char name[128], pol[160], doc[600], mh[65], ch[65];
    uint8_t meas[32];
    int r;

    if ((r = tv_client_open(g_cfg.addr, NULL, &c)) < 0) {
        r = setup_fail(c, "connect", r);
        goto out;
    }
    if ((r = tv_client_set_token(c, g_token)) < 0) {
        r = setup_fail(c, "token", r);
        goto out;
    }
    for (int i = 0; i < g_cfg.keys; i++) {
        key_name(name, sizeof name, i);
        if ((r = tv_secret_put(c, name, g_value, g_cfg.value_size, NULL, NULL)) < 0) {
            r = setup_fail(c, "put", r);
            goto out;
        }
    }
    if (g_cfg.op == OP_ATTEST || g_cfg.op == OP_ATTEST_GET) {
        char *acl[1] = {pol};
        tv_function_info fi = {0};
        FILE *f;

        snprintf(g_runtime, sizeof g_runtime, "%s/runtime.bin", g_tmp);
        if (!(f = fopen(g_runtime, "w")) || fputs("teevault-bench runtime", f) < 0 ||
            fclose(f) != 0) {
            fprintf(stderr, "teevault-bench: %s: %s\n", g_runtime, strerror(errno));
            r = TV_ERR_IO;
            goto out;
        }
        crypto_hash_sha256(meas, (const uint8_t *)"teevault-bench runtime", 22);
        crypto_hash_sha256(g_code_hash, (const uint8_t *)"teevault-bench code", 19);
        sodium_bin2hex(mh, sizeof mh, meas, sizeof meas);
        sodium_bin2hex(ch, sizeof ch, g_code_hash, sizeof g_code_hash);
        snprintf(pol, sizeof pol, "%s-read", g_fn_name);
        snprintf(doc, sizeof doc, "path \"%s/*\" { capabilities = [\"read\"] }\n", g_prefix);
        if ((r = tv_policy_write(c, pol, doc)) < 0) {
            r = setup_fail(c, "policy write", r);
            goto out;
        }
        snprintf(doc, sizeof doc,
                 "{\"evidence_type\":\"sim\",\"measurement\":\"%s\",\"code_hash\":\"%s\"}", mh, ch);
        fi.name = g_fn_name;
        fi.policy = doc;
        fi.acl_policies = acl;
        fi.n_acl_policies = 1;
        if ((r = tv_function_write(c, &fi)) < 0) {
            r = setup_fail(c, "function write", r);
            goto out;
        }
    }
    r = 0;
out:
    tv_client_close(c);
    return r;
}

/* The measurement with one thread and one blocking tv_client per
 * connection (attest ops, tls:// addresses). Arguments as run_loop. */
static int run_threads(const long *warm, const long *counts, uint64_t **lat, uint64_t *t0,
                       uint64_t *t1)
{
    worker *ws = calloc((size_t)g_cfg.connections, sizeof *ws);
    long errors = 0;

    if (!ws) {
        fprintf(stderr, "teevault-bench: out of memory\n");
        return -1;
    }
    pthread_barrier_init(&g_ready, NULL, (unsigned)g_cfg.connections + 1);
    pthread_barrier_init(&g_go, NULL, (unsigned)g_cfg.connections + 1);
    for (int i = 0; i < g_cfg.connections; i++) {
        ws[i].idx = i;
        ws[i].count = counts[i];
        ws[i].warm = warm[i];
        ws[i].lat_ns = lat[i];
        if (pthread_create(&ws[i].th, NULL, work, &ws[i]) != 0) {
            fprintf(stderr, "teevault-bench: pthread_create failed\n");
            exit(1); /* threads wait at a barrier that can no longer fill */
        }
    }
    pthread_barrier_wait(&g_ready); /* everyone connected and warmed up */
    *t0 = now_ns();
    pthread_barrier_wait(&g_go);
    for (int i = 0; i < g_cfg.connections; i++)
        pthread_join(ws[i].th, NULL);
    *t1 = now_ns();
    pthread_barrier_destroy(&g_ready);
    pthread_barrier_destroy(&g_go);
    for (int i = 0; i < g_cfg.connections; i++) {
        if (ws[i].errors) {
            if (!errors)
                fprintf(stderr, "teevault-bench: %s failed: %s (%s)\n", g_cfg.op_name,
                        tv_strerror(ws[i].last_err), ws[i].last_msg);
            errors += ws[i].errors;
        }
    }
    free(ws);
    if (errors) {
        fprintf(stderr, "teevault-bench: %ld connection(s) failed\n", errors);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Event-loop driver: get/put on a unix: address (see the header comment).
 */

#define EV_TIMEOUT_MS 30000u /* libteevault's default per-call deadline */
#define EV_RBUF       (64u * 1024)

enum ev_kind { EV_HELLO, EV_OP };

typedef struct ev_conn {
    int fd;
    int idx;
    int failed;
    int busy;          /* a request is in flight (being written or awaiting its reply) */
    int want_out;      /* EPOLLOUT is registered (a write did not complete) */
    enum ev_kind kind; /* of the request in flight */
    uint32_t sid;      /* its stream id */
    uint32_t next_sid; /* odd, increasing */
    const uint8_t *wbuf;
    size_t wlen, woff;
    uint64_t t_sent; /* CLOCK_MONOTONIC ns at the write of the request */
    long left;       /* requests still to send in this phase */
    long nlat;       /* measured latencies recorded */
    uint64_t *lat;   /* where to record them; NULL in warm-up */
    proto_buf req;   /* the op's whole request frame; stream id patched per send */
    proto_buf hello; /* Sys.Health with the token (only before large puts) */
    proto_frame_reader rd;
    /* HTTP (--proto grpc, connect, connect-h1) */
    struct ev_loop *L;
    nghttp2_session *ng;
    proto_buf out;   /* HTTP/2: bytes queued for the socket */
    proto_buf rx;    /* HTTP/1.1: the response so far; HTTP/2: the stream's DATA */
    size_t body_off; /* HTTP/2: request body bytes handed to the session */
    int status_ok;   /* HTTP/2: 1 after :status 200, 2 when complete (grpc-status 0) */
    int32_t stream;  /* HTTP/2: the stream in flight */
    int stream_done; /* HTTP/2: it closed */
} ev_conn;

typedef struct ev_loop {
    int ep;
    ev_conn *cs;
    int n;
    int busy;      /* connections with a request in flight */
    long failures; /* failed connections */
    int first_err;
    char first_msg[240];
    uint8_t *rbuf; /* EV_RBUF bytes, shared by all connections */
} ev_loop;

/* Fail connection c: note the first error, close it, stop counting it. */
static void ev_fail(ev_loop *L, ev_conn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ev_fail(ev_loop *L, ev_conn *c, int err, const char *fmt, ...)
{
    if (c->failed)
        return;
    if (!L->failures) {
        va_list ap;
        int k = snprintf(L->first_msg, sizeof L->first_msg, "connection %d: ", c->idx);
        va_start(ap, fmt);
        if (k > 0 && (size_t)k < sizeof L->first_msg)
            vsnprintf(L->first_msg + k, sizeof L->first_msg - (size_t)k, fmt, ap);
        va_end(ap);
        L->first_err = err;
    }
    L->failures++;
    c->failed = 1;
    if (c->busy) {
        c->busy = 0;
        L->busy--;
    }
    if (c->fd >= 0) {
        (void)epoll_ctl(L->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
}

/* Register or drop interest in writability. */
static void ev_watch_out(ev_loop *L, ev_conn *c, int on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? (uint32_t)EPOLLOUT : 0u), .data.ptr = c};

    if (c->want_out == on)
        return;
    if (epoll_ctl(L->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        ev_fail(L, c, TV_ERR_INTERNAL, "epoll_ctl: %s", strerror(errno));
        return;
    }
    c->want_out = on;
}

/* Write what is left of the request in flight; wait for EPOLLOUT when the
 * socket is full. */
static void ev_write(ev_loop *L, ev_conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t w = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (w > 0) {
            c->woff += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_watch_out(L, c, 1);
            return;
        }
        ev_fail(L, c, TV_ERR_UNAVAILABLE, "sending a request failed: %s",
                w < 0 ? strerror(errno) : "no progress");
        return;
    }
    ev_watch_out(L, c, 0);
}

static void ev_send(ev_loop *L, ev_conn *c, enum ev_kind k);

/* ---- HTTP clients (--proto grpc / connect / connect-h1) ---- */

static char g_bearer[1100]; /* "Bearer <token>"; wiped at exit */
static char *g_value_b64;   /* the "value" a Connect JSON reply must carry */

static ssize_t h2_read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    ev_conn *c = src->ptr;
    (void)ng;
    (void)id;
    (void)ud;
    size_t left = c->req.len - c->body_off;
    size_t n = left < len ? left : len;
    memcpy(buf, c->req.d + c->body_off, n);
    c->body_off += n;
    if (c->body_off == c->req.len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Queue what the HTTP/2 session wants to send, and write it. */
static void h2_flush(ev_conn *c)
{
    if (c->woff == c->wlen) {
        c->out.len = 0;
        c->woff = c->wlen = 0;
    }
    for (;;) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(c->ng, &p);
        if (n < 0) {
            ev_fail(c->L, c, TV_ERR_PROTOCOL, "nghttp2: %s", nghttp2_strerror((int)n));
            return;
        }
        if (n == 0)
            break;
        if (proto_buf_put(&c->out, p, (size_t)n) < 0) {
            ev_fail(c->L, c, TV_ERR_NOMEM, "output buffer full");
            return;
        }
    }
    c->wbuf = c->out.d;
    c->wlen = c->out.len;
    if (c->woff < c->wlen)
        ev_write(c->L, c);
}

static int h2_on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                        const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    ev_conn *c = ud;
    (void)ng;
    (void)flags;
    if (f->hd.stream_id != c->stream)
        return 0;
    if (nl == 7 && !memcmp(name, ":status", 7))
        c->status_ok =
            (vl == 3 && !memcmp(value, "200", 3)) ? (g_cfg.proto == PR_GRPC ? 1 : 2) : -1;
    else if (nl == 11 && !memcmp(name, "grpc-status", 11))
        c->status_ok = (c->status_ok == 1 && vl == 1 && value[0] == '0') ? 2 : -1;
    return 0;
}

static int h2_on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *d, size_t len,
                      void *ud)
{
    ev_conn *c = ud;
    (void)ng;
    (void)flags;
    if (id == c->stream && proto_buf_put(&c->rx, d, len) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int h2_on_close(nghttp2_session *ng, int32_t id, uint32_t err, void *ud)
{
    ev_conn *c = ud;
    (void)ng;
    if (id == c->stream) {
        c->stream_done = 1;
        if (err)
            c->status_ok = -1;
    }
    return 0;
}

static void h2_send_request(ev_loop *L, ev_conn *c)
{
    nghttp2_data_provider dp = {.source.ptr = c, .read_callback = h2_read_body};
    const char *ct = g_cfg.proto == PR_GRPC ? "application/grpc" : "application/json";
    nghttp2_nv nv[] = {
        {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
        {(uint8_t *)":authority", (uint8_t *)"localhost", 10, 9, 0},
        {(uint8_t *)":path", (uint8_t *)"/teevault.v1.Secrets/Get", 5, 24, 0},
        {(uint8_t *)"content-type", (uint8_t *)(uintptr_t)ct, 12, strlen(ct), 0},
        {(uint8_t *)"te", (uint8_t *)"trailers", 2, 8, 0},
        {(uint8_t *)"authorization", (uint8_t *)g_bearer, 13, strlen(g_bearer), 0},
    };
    c->body_off = 0;
    c->stream_done = 0;
    c->stream = nghttp2_submit_request(c->ng, NULL, nv, sizeof nv / sizeof nv[0], &dp, c);
    if (c->stream < 0) {
        ev_fail(L, c, TV_ERR_INTERNAL, "nghttp2_submit_request: %s", nghttp2_strerror(c->stream));
        return;
    }
    h2_flush(c);
}

/* A complete HTTP reply (body in c->rx): check it, record, send the next. */
static void http_reply(ev_loop *L, ev_conn *c, const uint8_t *body, size_t blen, int ok_status)
{
    uint64_t t = now_ns();
    int ok = ok_status;
    if (ok && g_cfg.proto == PR_GRPC) {
        Teevault__V1__GetResponse *g = NULL;
        if (blen >= 5 && body[0] == 0 && proto_be32(body + 1) == blen - 5)
            g = teevault__v1__get_response__unpack(NULL, blen - 5, body + 5);
        ok = g && g->value.len == g_cfg.value_size &&
             (g_cfg.value_size == 0 || memcmp(g->value.data, g_value, g_cfg.value_size) == 0);
        teevault__v1__get_response__free_unpacked(g, NULL);
    } else if (ok) {
        ok = memmem(body, blen, g_value_b64, strlen(g_value_b64)) != NULL;
    }
    if (!ok) {
        char m[120];
        size_t n = blen < sizeof m - 1 ? blen : sizeof m - 1;
        for (size_t i = 0; i < n; i++)
            m[i] = body[i] >= 0x20 && body[i] < 0x7f ? (char)body[i] : '?';
        m[n] = '\0';
        ev_fail(L, c, TV_ERR_PROTOCOL, "Get over %s: bad reply (%s)", g_cfg.proto_name, m);
        return;
    }
    if (c->lat)
        c->lat[c->nlat++] = t - c->t_sent;
    c->busy = 0;
    L->busy--;
    if (c->left > 0) {
        c->left--;
        ev_send(L, c, EV_OP);
    }
}

/* HTTP/1.1: is the response in c->rx complete? Then handle it. */
static void h1_check(ev_loop *L, ev_conn *c)
{
    const uint8_t *d = c->rx.d;
    const uint8_t *e = c->rx.len >= 4 ? memmem(d, c->rx.len, "\r\n\r\n", 4) : NULL;
    if (!e)
        return;
    size_t hl = (size_t)(e - d) + 4, clen = 0;
    const uint8_t *cl = memmem(d, hl, "content-length: ", 16);
    if (!cl) {
        ev_fail(L, c, TV_ERR_PROTOCOL, "HTTP/1.1 reply without content-length");
        return;
    }
    clen = strtoul((const char *)cl + 16, NULL, 10);
    if (c->rx.len < hl + clen)
        return;
    if (c->rx.len != hl + clen) {
        ev_fail(L, c, TV_ERR_PROTOCOL, "unexpected bytes after the reply");
        return;
    }
    int ok = c->rx.len > 12 && !memcmp(d, "HTTP/1.1 200", 12);
    c->rx.len = 0;
    http_reply(L, c, d + hl, clen, ok);
}

/* Start the next request of kind k on c: patch its stream id, stamp, write. */
static void ev_send(ev_loop *L, ev_conn *c, enum ev_kind k)
{
    proto_buf *b = k == EV_HELLO ? &c->hello : &c->req;

    if (g_cfg.proto != PR_TTRPC) {
        c->kind = k;
        c->busy = 1;
        L->busy++;
        c->status_ok = 0;
        c->rx.len = 0;
        c->t_sent = now_ns();
        if (g_cfg.proto == PR_CONNECT_H1) {
            c->wbuf = c->req.d;
            c->wlen = c->req.len;
            c->woff = 0;
            ev_write(L, c);
        } else {
            h2_send_request(L, c);
        }
        return;
    }

    c->sid = c->next_sid;
    c->next_sid += 2;
    if (c->next_sid < 3) /* wrapped past 2^32: stream ids stay odd and non-zero */
        c->next_sid = 1;
    proto_put_be32(b->d + 4, c->sid); /* header: u32 length, u32 stream id, ... */
    c->kind = k;
    c->wbuf = b->d;
    c->wlen = b->len;
    c->woff = 0;
    c->busy = 1;
    L->busy++;
    c->t_sent = now_ns();
    ev_write(L, c);
}

/* Printable copy of a server-supplied status message. */
static void ev_clean(char *dst, size_t n, const char *src)
{
    size_t i = 0;

    for (; src && *src && i + 1 < n; src++)
        dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
    dst[i] = '\0';
}

/* The complete reply to c's request in flight is held by c->rd: check it,
 * record its latency, send the next request. */
static void ev_reply(ev_loop *L, ev_conn *c)
{
    uint64_t t = now_ns();
    Ttrpc__Response *env = NULL;
    int code;

    env = ttrpc__response__unpack(NULL, proto_frame_body_len(&c->rd), proto_frame_body(&c->rd));
    proto_frame_next(&c->rd); /* wipes the frame body */
    if (!env) {
        ev_fail(L, c, TV_ERR_PROTOCOL, "the response envelope does not decode");
        return;
    }
    code = env->status ? env->status->code : 0;
    if (code != 0) {
        char m[160];
        int e = proto_frame_status_error(env->status);
        ev_clean(m, sizeof m, env->status->message);
        ev_fail(L, c, e < 0 ? e : TV_ERR_INTERNAL, "%s: status %d: %s",
                c->kind == EV_HELLO  ? "Sys/Health"
                : g_cfg.op == OP_GET ? "Get"
                                     : "Put",
                code, m);
        goto out;
    }
    if (c->woff != c->wlen) {
        ev_fail(L, c, TV_ERR_PROTOCOL, "a reply arrived before the request was written");
        goto out;
    }
    if (c->kind == EV_OP && g_cfg.op == OP_GET) {
        Teevault__V1__GetResponse *g =
            teevault__v1__get_response__unpack(NULL, env->payload.len, env->payload.data);
        /* The bench's own pattern, not a secret: plain memcmp. */
        int ok = g && g->sealed_value.len == 0 && g->value.len == g_cfg.value_size &&
                 (g_cfg.value_size == 0 || memcmp(g->value.data, g_value, g_cfg.value_size) == 0);
        if (!ok)
            ev_fail(L, c, g ? TV_ERR_INTEGRITY : TV_ERR_PROTOCOL,
                    "Get returned %s (%zu bytes), not the %zu bytes that were put",
                    g ? "a different value" : "an undecodable payload", g ? g->value.len : 0,
                    g_cfg.value_size);
        if (g && g->value.data)
            sodium_memzero(g->value.data, g->value.len);
        teevault__v1__get_response__free_unpacked(g, NULL);
        if (!ok)
            goto out;
    } else if (c->kind == EV_OP) {
        Teevault__V1__PutResponse *pr =
            teevault__v1__put_response__unpack(NULL, env->payload.len, env->payload.data);
        int ok = pr && pr->version > 0;
        teevault__v1__put_response__free_unpacked(pr, NULL);
        if (!ok) {
            ev_fail(L, c, TV_ERR_PROTOCOL, "Put returned no version");
            goto out;
        }
    }
    if (c->lat && c->kind == EV_OP)
        c->lat[c->nlat++] = t - c->t_sent;
    c->busy = 0;
    L->busy--;
    if (c->left > 0) {
        c->left--;
        ev_send(L, c, EV_OP);
    }
out:
    if (env->payload.data)
        sodium_memzero(env->payload.data, env->payload.len);
    ttrpc__response__free_unpacked(env, NULL);
}

/* Read what the socket has and feed it to c's frame reader. */
static void ev_readable(ev_loop *L, ev_conn *c)
{
    for (;;) {
        ssize_t g = recv(c->fd, L->rbuf, EV_RBUF, 0);
        size_t off = 0;

        if (g == 0) {
            ev_fail(L, c, TV_ERR_UNAVAILABLE, "the vault closed the connection");
            return;
        }
        if (g < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                ev_fail(L, c, TV_ERR_UNAVAILABLE, "receiving failed: %s", strerror(errno));
            return;
        }
        if (g_cfg.proto == PR_CONNECT_H1) {
            if (!c->busy || proto_buf_put(&c->rx, L->rbuf, (size_t)g) < 0) {
                ev_fail(L, c, TV_ERR_PROTOCOL, "unexpected HTTP/1.1 bytes");
                return;
            }
            h1_check(L, c);
            if (c->failed)
                return;
            off = (size_t)g;
        } else if (g_cfg.proto != PR_TTRPC) {
            ssize_t rv = nghttp2_session_mem_recv(c->ng, L->rbuf, (size_t)g);
            if (rv < 0) {
                ev_fail(L, c, TV_ERR_PROTOCOL, "nghttp2: %s", nghttp2_strerror((int)rv));
                return;
            }
            if (c->stream_done && c->busy) {
                c->stream_done = 0;
                http_reply(L, c, c->rx.d, c->rx.len, c->status_ok == 2);
                if (c->failed)
                    return;
            }
            h2_flush(c); /* WINDOW_UPDATE, SETTINGS ACK */
            if (c->failed)
                return;
            off = (size_t)g;
        }
        while (off < (size_t)g) {
            size_t used = 0;
            int st = proto_frame_read(&c->rd, L->rbuf + off, (size_t)g - off, &used);
            off += used;
            if (st < 0) {
                ev_fail(L, c, TV_ERR_PROTOCOL, "malformed response frame (%s)", tv_strerror(st));
                return;
            }
            if (st == PROTO_FRAME_NEED_MORE)
                continue;
            /* One request in flight: exactly one frame, with its stream id. */
            if (off != (size_t)g || !c->busy || proto_frame_header(&c->rd)->stream_id != c->sid) {
                ev_fail(L, c, TV_ERR_PROTOCOL, "unexpected response frame");
                return;
            }
            ev_reply(L, c);
            if (c->failed)
                return;
        }
        if ((size_t)g < EV_RBUF)
            return; /* level-triggered: anything more is reported again */
    }
}

/* One phase: every live connection sends counts[i] requests, one at a time;
 * latencies go to lat[i] when lat is given. Returns when no request is in
 * flight (all done, or failed). */
static void ev_phase(ev_loop *L, enum ev_kind k, const long *counts, uint64_t *const *lat)
{
    struct epoll_event evs[256];
    uint64_t last_check = now_ns();

    for (int i = 0; i < L->n; i++) {
        ev_conn *c = &L->cs[i];
        if (c->failed)
            continue;
        c->left = counts[i];
        c->lat = lat ? lat[i] : NULL;
        c->nlat = 0;
        if (c->left > 0) {
            c->left--;
            ev_send(L, c, k);
        }
    }
    while (L->busy > 0) {
        int m = epoll_wait(L->ep, evs, (int)(sizeof evs / sizeof evs[0]), 1000);
        uint64_t now;

        if (m < 0 && errno != EINTR) {
            perror("teevault-bench: epoll_wait");
            for (int i = 0; i < L->n; i++)
                ev_fail(L, &L->cs[i], TV_ERR_INTERNAL, "epoll_wait failed");
            return;
        }
        for (int i = 0; i < m; i++) {
            ev_conn *c = evs[i].data.ptr;
            if (!c->failed && (evs[i].events & EPOLLOUT) && c->woff < c->wlen)
                ev_write(L, c);
            if (!c->failed && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                ev_readable(L, c);
        }
        now = now_ns();
        if (now - last_check >= 1000000000u) { /* deadlines, once a second */
            last_check = now;
            for (int i = 0; i < L->n; i++) {
                ev_conn *c = &L->cs[i];
                if (c->busy && now - c->t_sent > (uint64_t)EV_TIMEOUT_MS * 1000000u)
                    ev_fail(L, c, TV_ERR_TIMEOUT, "no reply within %u s", EV_TIMEOUT_MS / 1000);
            }
        }
    }
}

/* Connect c to the Unix socket at path (blocking connect, bounded by
 * SO_SNDTIMEO), then make it non-blocking and build its request frames.
 * bearer is "Bearer <token>". */
static int ev_open(ev_loop *L, ev_conn *c, const char *path, const char *bearer)
{
    struct sockaddr_un sun;
    struct timeval tv = {.tv_sec = EV_TIMEOUT_MS / 1000};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    proto_frame_kv md[1] = {{"authorization", bearer}};
    const int64_t tmo = (int64_t)EV_TIMEOUT_MS * 1000000;
    char name[128];
    uint8_t *payload = NULL;
    size_t n = 0;
    int fl, r = TV_ERR_INTERNAL;

    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(path) == 0 || strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "teevault-bench: socket path too long or empty\n");
        return TV_ERR_INVALID;
    }
    memcpy(sun.sun_path, path, strlen(path));
    if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
        connect(c->fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
        (fl = fcntl(c->fd, F_GETFL)) < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        fprintf(stderr, "teevault-bench: connection %d: connect %s: %s\n", c->idx, path,
                strerror(errno));
        return TV_ERR_UNAVAILABLE;
    }
    if (epoll_ctl(L->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        perror("teevault-bench: epoll_ctl");
        return TV_ERR_INTERNAL;
    }

    key_name(name, sizeof name, c->idx);
    c->L = L;
    if (g_cfg.proto != PR_TTRPC) {
        char json[256];
        snprintf(json, sizeof json, "{\"name\":\"%s\"}", name);
        proto_buf_init(&c->out, 0);
        proto_buf_init(&c->rx, 0);
        if (g_cfg.proto == PR_CONNECT_H1) {
            char head[1600];
            snprintf(head, sizeof head,
                     "POST /teevault.v1.Secrets/Get HTTP/1.1\r\nhost: localhost\r\n"
                     "content-type: application/json\r\nauthorization: %s\r\n"
                     "content-length: %zu\r\n\r\n",
                     bearer, strlen(json));
            r = proto_buf_put(&c->req, head, strlen(head));
            if (r == 0)
                r = proto_buf_put(&c->req, json, strlen(json));
            sodium_memzero(head, sizeof head);
            return r;
        }
        Teevault__V1__GetRequest q;
        uint8_t pb[300];
        size_t pl;
        if (g_cfg.proto == PR_CONNECT) {
            pl = strlen(json) - 5;
            memcpy(pb, json, strlen(json));
        } else {
            teevault__v1__get_request__init(&q);
            q.name = name;
            pl = teevault__v1__get_request__pack(&q, pb + 5);
            pb[0] = 0;
            proto_put_be32(pb + 1, (uint32_t)pl);
        }
        nghttp2_session_callbacks *cbs;
        if (nghttp2_session_callbacks_new(&cbs) != 0)
            return TV_ERR_NOMEM;
        nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_on_close);
        r = nghttp2_session_client_new(&c->ng, cbs, c) == 0 &&
                    nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, NULL, 0) == 0
                ? proto_buf_put(&c->req, pb, pl + 5)
                : TV_ERR_NOMEM;
        nghttp2_session_callbacks_del(cbs);
        return r;
    }
    if (g_cfg.op == OP_GET) {
        Teevault__V1__GetRequest q;
        teevault__v1__get_request__init(&q);
        q.name = name;
        n = teevault__v1__get_request__get_packed_size(&q);
        if ((payload = malloc(n ? n : 1)))
            teevault__v1__get_request__pack(&q, payload);
    } else {
        Teevault__V1__PutRequest q;
        teevault__v1__put_request__init(&q);
        q.name = name;
        q.value.data = g_value;
        q.value.len = g_cfg.value_size;
        n = teevault__v1__put_request__get_packed_size(&q);
        if ((payload = malloc(n ? n : 1)))
            teevault__v1__put_request__pack(&q, payload);
    }
    if (!payload) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if ((r = proto_frame_write_request(&c->req, 1, "teevault.v1.Secrets",
                                       g_cfg.op == OP_GET ? "Get" : "Put", payload, n, tmo, md, 1,
                                       PROTO_FRAME_MAX)) < 0)
        goto out;
    /* As libteevault: show the token on a small frame first so the server
     * lifts its pre-authentication cap before a large one arrives. */
    if (n + 1024 > PROTO_FRAME_PREAUTH_MAX) {
        Teevault__V1__Empty e;
        uint8_t eb[8];
        size_t en;
        teevault__v1__empty__init(&e);
        en = teevault__v1__empty__pack(&e, eb);
        if ((r = proto_frame_write_request(&c->hello, 1, "teevault.v1.Sys", "Health", eb, en, tmo,
                                           md, 1, PROTO_FRAME_MAX)) < 0)
            goto out;
    }
    r = 0;
out:
    if (r < 0)
        fprintf(stderr, "teevault-bench: connection %d: building the request: %s\n", c->idx,
                tv_strerror(r));
    if (payload) {
        sodium_memzero(payload, n);
        free(payload);
    }
    return r;
}

/* The measurement with the event loop. lat[i] receives connection i's
 * counts[i] latencies; t0 and t1 bracket the measured phase. Returns 0, or -1
 * after printing what failed. */
static int run_loop(const long *warm, const long *counts, uint64_t **lat, uint64_t *t0,
                    uint64_t *t1)
{
    ev_loop L = {.ep = -1, .n = g_cfg.connections};
    size_t blen = 7 + strlen(g_token) + 1;
    char *bearer = sodium_malloc(blen);
    int rc = -1, hello = 0;

    if (!bearer || !(L.rbuf = malloc(EV_RBUF)) || !(L.cs = calloc((size_t)L.n, sizeof *L.cs))) {
        fprintf(stderr, "teevault-bench: out of memory\n");
        goto out;
    }
    snprintf(bearer, blen, "Bearer %s", g_token);
    snprintf(g_bearer, sizeof g_bearer, "%s", bearer);
    for (int i = 0; i < L.n; i++) {
        ev_conn *c = &L.cs[i];
        c->fd = -1;
        c->idx = i;
        c->next_sid = 1;
        proto_buf_init(&c->req, PROTO_FRAME_MAX + PROTO_FRAME_HDR_LEN);
        proto_buf_init(&c->hello, PROTO_FRAME_MAX + PROTO_FRAME_HDR_LEN);
        proto_frame_reader_init(&c->rd, PROTO_FRAME_RESPONSE, PROTO_FRAME_MAX);
    }
    if ((L.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        perror("teevault-bench: epoll_create1");
        goto out;
    }
    for (int i = 0; i < L.n; i++)
        if (ev_open(&L, &L.cs[i], g_cfg.addr + 5, bearer) < 0)
            goto out;
    sodium_memzero(bearer, blen); /* the frames hold their own copies */

    hello = L.cs[0].hello.len > 0;
    if (hello) {
        long *ones = malloc((size_t)L.n * sizeof *ones);
        if (!ones)
            goto out;
        for (int i = 0; i < L.n; i++)
            ones[i] = 1;
        ev_phase(&L, EV_HELLO, ones, NULL);
        free(ones);
    }
    if (!L.failures)
        ev_phase(&L, EV_OP, warm, NULL);
    if (!L.failures) { /* everyone connected and warmed up */
        *t0 = now_ns();
        ev_phase(&L, EV_OP, counts, lat);
        *t1 = now_ns();
    }
    if (L.failures) {
        fprintf(stderr, "teevault-bench: %s failed: %s (%s)\n", g_cfg.op_name,
                tv_strerror(L.first_err), L.first_msg);
        fprintf(stderr, "teevault-bench: %ld connection(s) failed\n", L.failures);
        goto out;
    }
    rc = 0;
out:
    if (L.cs) {
        for (int i = 0; i < L.n; i++) {
            if (L.cs[i].fd >= 0)
                close(L.cs[i].fd);
            proto_buf_free(&L.cs[i].req); /* wipes: the frames hold the token */
            proto_buf_free(&L.cs[i].hello);
            proto_frame_reader_free(&L.cs[i].rd);
            proto_buf_free(&L.cs[i].out);
            proto_buf_free(&L.cs[i].rx);
            if (L.cs[i].ng)
                nghttp2_session_del(L.cs[i].ng);
        }
    }
    if (L.ep >= 0)
        close(L.ep);
    if (bearer)
        sodium_free(bearer);
    free(L.cs);
    free(L.rbuf);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values, in µs. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
    size_t k = (size_t)(p * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1e3;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: teevault-bench --addr ADDR --token-file FILE --op get|put|attest|attest-get\n"
            "                      --connections N --requests M --value-size BYTES\n"
            "                      [--keys K] [--warmup W] [--sim-platform DIR]\n"
            "                      [--format text|json] [--proto ttrpc|grpc|connect|connect-h1]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"addr", required_argument, NULL, 'a'},
        {"token-file", required_argument, NULL, 't'},
        {"op", required_argument, NULL, 'o'},
        {"connections", required_argument, NULL, 'c'},
        {"requests", required_argument, NULL, 'n'},
        {"value-size", required_argument, NULL, 'd'},
        {"keys", required_argument, NULL, 'k'},
        {"warmup", required_argument, NULL, 'w'},
        {"sim-platform", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'f'},
        {"proto", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bench_cfg *cfg = &g_cfg;
    uint64_t *all = NULL, **lat = NULL;
    long *warm = NULL, *counts = NULL, total = 0;
    int o, rc = 1, tmp_made = 0;
    char tokdir[1024];
    uint64_t t0 = 0, t1 = 0;

    cfg->connections = 1;
    cfg->requests = 10000;
    cfg->value_size = 64;
    cfg->keys = -1;
    cfg->warmup = -1;
    cfg->proto_name = "ttrpc";
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'a':
            cfg->addr = optarg;
            break;
        case 't':
            cfg->token_file = optarg;
            break;
        case 'o':
            cfg->op_name = optarg;
            break;
        case 'c':
            cfg->connections = atoi(optarg);
            break;
        case 'n':
            cfg->requests = atol(optarg);
            break;
        case 'd':
            cfg->value_size = (size_t)atol(optarg);
            break;
        case 'k':
            cfg->keys = atoi(optarg);
            break;
        case 'w':
            cfg->warmup = atol(optarg);
            break;
        case 'p':
            cfg->sim_platform = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "json") == 0)
                cfg->json = 1;
            else if (strcmp(optarg, "text") != 0) {
                usage();
                return 2;
            }
            break;
        case 'P':
            cfg->proto_name = optarg;
            if (!strcmp(optarg, "ttrpc"))
                cfg->proto = PR_TTRPC;
            else if (!strcmp(optarg, "grpc"))
                cfg->proto = PR_GRPC;
            else if (!strcmp(optarg, "connect"))
                cfg->proto = PR_CONNECT;
            else if (!strcmp(optarg, "connect-h1"))
                cfg->proto = PR_CONNECT_H1;
            else {
                usage();
                return 2;
            }
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    if (optind != argc || !cfg->addr || !cfg->token_file || !cfg->op_name) {
        usage();
        return 2;
    }
    if (strcmp(cfg->op_name, "get") == 0)
        cfg->op = OP_GET;
    else if (strcmp(cfg->op_name, "put") == 0)
        cfg->op = OP_PUT;
    else if (strcmp(cfg->op_name, "attest") == 0)
        cfg->op = OP_ATTEST;
    else if (strcmp(cfg->op_name, "attest-get") == 0)
        cfg->op = OP_ATTEST_GET;
    else {
        usage();
        return 2;
    }
    if (cfg->connections < 1 || cfg->connections > 4096 || cfg->requests < cfg->connections ||
        cfg->requests > 100000000L || cfg->value_size > (1u << 20)) {
        fprintf(stderr, "teevault-bench: need 1 <= connections <= 4096, connections <= requests "
                        "<= 1e8, value-size <= 1 MiB\n");
        return 2;
    }
    if (cfg->proto != PR_TTRPC && (cfg->op != OP_GET || strncmp(cfg->addr, "unix:", 5) != 0)) {
        fprintf(stderr, "teevault-bench: --proto %s needs --op get and a unix: address\n",
                cfg->proto_name);
        return 2;
    }
    if (cfg->keys < 0)
        cfg->keys = cfg->connections * 4 < 256 ? cfg->connections * 4 : 256;
    if (cfg->keys < 1 || cfg->keys > 1000000)
        return 2;
    if (cfg->warmup < 0)
        cfg->warmup = cfg->requests / 10;
    if (!cfg->sim_platform) {
        /* A --dev vault's root-token lives in its state dir, the sim platform dir. */
        snprintf(tokdir, sizeof tokdir, "%s", cfg->token_file);
        cfg->sim_platform = dirname(tokdir);
    }
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    {
        struct rlimit rl; /* one descriptor per connection */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)cfg->connections + 64 &&
            rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    if (read_token(cfg->token_file) < 0)
        return 1;
    if (!mkdtemp(g_tmp)) {
        perror("teevault-bench: mkdtemp");
        goto out;
    }
    tmp_made = 1;
    snprintf(g_prefix, sizeof g_prefix, "bench/%ld", (long)getpid());
    snprintf(g_fn_name, sizeof g_fn_name, "bench-fn-%ld", (long)getpid());
    if (!(g_value = malloc(cfg->value_size ? cfg->value_size : 1)))
        goto out;
    for (size_t i = 0; i < cfg->value_size; i++)
        g_value[i] = (uint8_t)('a' + i % 26);
    {
        size_t bl = sodium_base64_ENCODED_LEN(cfg->value_size, sodium_base64_VARIANT_ORIGINAL);
        if (!(g_value_b64 = malloc(bl)))
            goto out;
        sodium_bin2base64(g_value_b64, bl, g_value, cfg->value_size,
                          sodium_base64_VARIANT_ORIGINAL);
    }
    if (prepare() < 0)
        goto out;

    if (!(warm = calloc((size_t)cfg->connections, sizeof *warm)) ||
        !(counts = calloc((size_t)cfg->connections, sizeof *counts)) ||
        !(lat = calloc((size_t)cfg->connections, sizeof *lat)) ||
        !(all = malloc((size_t)cfg->requests * sizeof *all)))
        goto out;
    for (int i = 0; i < cfg->connections; i++) {
        warm[i] = cfg->warmup / cfg->connections;
        counts[i] = cfg->requests / cfg->connections + (i < cfg->requests % cfg->connections);
        lat[i] = all + total;
        total += counts[i];
    }
    if ((cfg->op == OP_GET || cfg->op == OP_PUT) && strncmp(cfg->addr, "unix:", 5) == 0) {
        if (run_loop(warm, counts, lat, &t0, &t1) < 0)
            goto out;
    } else if (run_threads(warm, counts, lat, &t0, &t1) < 0) {
        goto out;
    }
    qsort(all, (size_t)total, sizeof *all, cmp_u64);
    {
        double secs = (double)(t1 - t0) / 1e9;
        double ops = (double)total / secs;
        double p50 = pct_us(all, (size_t)total, 0.50), p99 = pct_us(all, (size_t)total, 0.99),
               p999 = pct_us(all, (size_t)total, 0.999);
        if (cfg->json)
            printf("{\"op\":\"%s\",\"connections\":%d,\"requests\":%ld,\"ops_per_sec\":%.1f,"
                   "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f}\n",
                   cfg->op_name, cfg->connections, total, ops, p50, p99, p999);
        else
            printf("%-10s connections=%-4d requests=%-8ld %10.0f ops/s   p50 %8.1f us   p99 %8.1f "
                   "us   p99.9 %8.1f us\n",
                   cfg->op_name, cfg->connections, total, ops, p50, p99, p999);
    }
    rc = 0;
out:
    sodium_memzero(g_token, sizeof g_token);
    sodium_memzero(g_bearer, sizeof g_bearer);
    free(g_value_b64);
    free(warm);
    free(counts);
    free(lat);
    free(all);
    free(g_value);
    if (tmp_made)
        (void)nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
