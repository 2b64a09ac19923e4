/* SPDX-License-Identifier: Apache-2.0 */
/* vault_metrics: Prometheus text and health over evhttp (see vault_metrics.h). */
#include "vault_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "proto_addr.h"
#include "vault_attest.h"
#include "vault_audit.h"
#include "vault_db.h"
#include "vault_keyring.h"
#include "vault_log.h"
#include "vault_rotate.h"
#include "vault_server.h"

/* Latency buckets, seconds (upper bounds; +Inf implied). */
static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
#define NB (sizeof(bounds) / sizeof(bounds[0]))

typedef struct hist {
    uint64_t b[NB + 1]; /* per bucket (not cumulative); [NB] = above the last */
    uint64_t count;
    double sum;
} hist;

/* One (method, outcome) series. The method strings are the registry's; the
 * outcome is "ok" or a tv_errname() (both static). */
typedef struct series {
    const char *service, *method, *outcome;
    hist h;
} series;

#define MAX_SERIES 512

struct vault_metrics {
    pthread_mutex_t mu; /* the audit writer reports from its thread */
    series s[MAX_SERIES];
    size_t n;
    uint64_t dropped; /* requests beyond MAX_SERIES distinct series */
    hist audit;
    uint64_t audit_records, audit_failed;
    struct evhttp *http;
};

static void hist_add(hist *h, double secs)
{
    size_t i = 0;
    while (i < NB && secs > bounds[i])
        i++;
    h->b[i]++;
    h->count++;
    h->sum += secs;
}

int vault_metrics_new(struct vault *v)
{
    struct vault_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return TV_ERR_NOMEM;
    pthread_mutex_init(&m->mu, NULL);
    v->metrics = m;
    return 0;
}

void vault_metrics_free(struct vault *v)
{
    struct vault_metrics *m = v ? v->metrics : NULL;
    if (!m)
        return;
    if (m->http)
        evhttp_free(m->http);
    pthread_mutex_destroy(&m->mu);
    free(m);
    v->metrics = NULL;
}

void vault_metrics_request(struct vault *v, const char *service, const char *method, int status,
                           uint64_t dur_us)
{
    struct vault_metrics *m = v ? v->metrics : NULL;
    const char *outcome = status < 0 ? tv_errname(status) : "ok";
    series *s = NULL;

    if (!m || !service || !method)
        return;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++)
        if (m->s[i].outcome == outcome && !strcmp(m->s[i].method, method) &&
            !strcmp(m->s[i].service, service)) {
            s = &m->s[i];
            break;
        }
    if (!s && m->n < MAX_SERIES) {
        s = &m->s[m->n++];
        s->service = service;
        s->method = method;
        s->outcome = outcome;
    }
    if (s)
        hist_add(&s->h, (double)dur_us / 1e6);
    else
        m->dropped++;
    pthread_mutex_unlock(&m->mu);
}

void vault_metrics_audit_commit(struct vault *v, size_t n, uint64_t dur_us, int ok)
{
    struct vault_metrics *m = v ? v->metrics : NULL;
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    hist_add(&m->audit, (double)dur_us / 1e6);
    if (ok)
        m->audit_records += n;
    else
        m->audit_failed++;
    pthread_mutex_unlock(&m->mu);
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct out {
    char *p;
    size_t len, cap;
    int oom;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        if (o->oom)
            return;
        size_t room = o->cap - o->len;
        va_start(ap, fmt);
        int k = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            o->oom = 1;
            return;
        }
        if (o->p && (size_t)k < room) {
            o->len += (size_t)k;
            return;
        }
        size_t ncap = (o->cap ? o->cap * 2 : 16384) + (size_t)k;
        char *np = realloc(o->p, ncap);
        if (!np) {
            o->oom = 1;
            return;
        }
        o->p = np;
        o->cap = ncap;
    }
}

static void put_hist(out *o, const char *name, const char *labels, const hist *h)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < NB; i++) {
        cum += h->b[i];
        put(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, labels[0] ? "," : "", bounds[i],
            (unsigned long long)cum);
    }
    cum += h->b[NB];
    put(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, labels[0] ? "," : "",
        (unsigned long long)cum);
    put(o, "%s_sum%s%s%s %.9f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "", h->sum);
    put(o, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
        (unsigned long long)h->count);
}

char *vault_metrics_render(struct vault *v, size_t *len)
{
    struct vault_metrics *m = v->metrics;
    out o = {0};
    char labels[256];
    const char *state = vault_is_active(v)                          ? "active"
                        : v->db && vault_keyring_exists(v->db) == 1 ? "sealed"
                                                                    : "uninitialized";

    put(&o, "# HELP teevault_up 1 while teevaultd serves.\n# TYPE teevault_up gauge\n"
            "teevault_up 1\n");
    put(&o,
        "# HELP teevault_sealed 1 when the vault is initialised but its root key is not "
        "unsealed here.\n# TYPE teevault_sealed gauge\nteevault_sealed %d\n",
        !strcmp(state, "sealed"));
    put(&o, "# HELP teevault_state The vault's state (1 for the current one).\n"
            "# TYPE teevault_state gauge\n");
    static const char *const states[] = {"active", "sealed", "uninitialized"};
    for (size_t i = 0; i < 3; i++)
        put(&o, "teevault_state{state=\"%s\"} %d\n", states[i], !strcmp(state, states[i]));

    if (m) {
        pthread_mutex_lock(&m->mu);
        put(&o, "# HELP teevault_requests_total Requests finished, by method and outcome "
                "(ok or the error name).\n# TYPE teevault_requests_total counter\n");
        for (size_t i = 0; i < m->n; i++)
            put(&o, "teevault_requests_total{method=\"%s/%s\",outcome=\"%s\"} %llu\n",
                m->s[i].service, m->s[i].method, m->s[i].outcome,
                (unsigned long long)m->s[i].h.count);
        put(&o, "# HELP teevault_request_duration_seconds Time from a request's arrival to its "
                "reply (audit record durable), by method and outcome.\n"
                "# TYPE teevault_request_duration_seconds histogram\n");
        for (size_t i = 0; i < m->n; i++) {
            snprintf(labels, sizeof(labels), "method=\"%s/%s\",outcome=\"%s\"", m->s[i].service,
                     m->s[i].method, m->s[i].outcome);
            put_hist(&o, "teevault_request_duration_seconds", labels, &m->s[i].h);
        }
        put(&o,
            "# HELP teevault_metrics_series_dropped_total Requests not counted: too many "
            "distinct series.\n# TYPE teevault_metrics_series_dropped_total counter\n"
            "teevault_metrics_series_dropped_total %llu\n",
            (unsigned long long)m->dropped);
        put(&o, "# HELP teevault_audit_commit_duration_seconds Audit group commits (journal "
                "append or LMDB commit, fsync included).\n"
                "# TYPE teevault_audit_commit_duration_seconds histogram\n");
        put_hist(&o, "teevault_audit_commit_duration_seconds", "", &m->audit);
        put(&o,
            "# HELP teevault_audit_records_committed_total Audit records made durable.\n"
            "# TYPE teevault_audit_records_committed_total counter\n"
            "teevault_audit_records_committed_total %llu\n"
            "# HELP teevault_audit_commit_failures_total Audit commits that failed.\n"
            "# TYPE teevault_audit_commit_failures_total counter\n"
            "teevault_audit_commit_failures_total %llu\n",
            (unsigned long long)m->audit_records, (unsigned long long)m->audit_failed);
        pthread_mutex_unlock(&m->mu);
    }

    vault_audit_info ai;
    if (v->auditw && vault_audit_get_info(v, &ai) == 0) {
        put(&o,
            "# HELP teevault_audit_queue_depth Audit records waiting for a group commit "
            "(queued and in flight).\n# TYPE teevault_audit_queue_depth gauge\n"
            "teevault_audit_queue_depth %llu\n",
            (unsigned long long)ai.queue_depth);
        put(&o,
            "# HELP teevault_audit_seq Sequence number of the audit head.\n"
            "# TYPE teevault_audit_seq gauge\nteevault_audit_seq %llu\n",
            (unsigned long long)ai.seq);
        put(&o,
            "# HELP teevault_storage_high_water_percent Configured high-water mark: above "
            "it new secret writes are refused, the rest is kept for audit records.\n"
            "# TYPE teevault_storage_high_water_percent gauge\n"
            "teevault_storage_high_water_percent %u\n"
            "# HELP teevault_storage_used_percent How full the store is.\n"
            "# TYPE teevault_storage_used_percent gauge\nteevault_storage_used_percent %u\n",
            ai.high_water_percent, ai.used_percent);
    }
    if (v->db) {
        uint64_t used = 0, map = 0;
        if (vault_db_usage(v->db, &used, &map) == 0) {
            unsigned hw = 0;
            if (v->auditw && vault_audit_get_info(v, &ai) == 0)
                hw = ai.high_water_percent;
            double mark = (double)map * hw / 100.0;
            put(&o,
                "# HELP teevault_storage_used_bytes Bytes of the store in use.\n"
                "# TYPE teevault_storage_used_bytes gauge\nteevault_storage_used_bytes %llu\n"
                "# HELP teevault_storage_map_bytes Size of the store's map (its limit).\n"
                "# TYPE teevault_storage_map_bytes gauge\nteevault_storage_map_bytes %llu\n"
                "# HELP teevault_storage_high_water_distance_bytes Bytes left before the "
                "high-water mark (negative: above it).\n"
                "# TYPE teevault_storage_high_water_distance_bytes gauge\n"
                "teevault_storage_high_water_distance_bytes %.0f\n",
                (unsigned long long)used, (unsigned long long)map, mark - (double)used);
        }
    }
    put(&o,
        "# HELP teevault_function_sessions Live attested function sessions.\n"
        "# TYPE teevault_function_sessions gauge\nteevault_function_sessions %zu\n",
        vault_attest_session_count(v));
    vault_rotate_info ri;
    vault_rotate_get_info(v, &ri);
    put(&o,
        "# HELP teevault_kek_rotation_running 1 while a key rotation re-wraps.\n"
        "# TYPE teevault_kek_rotation_running gauge\nteevault_kek_rotation_running %d\n"
        "# HELP teevault_kek_rotation_rewrapped Data keys re-wrapped by the last rotation.\n"
        "# TYPE teevault_kek_rotation_rewrapped gauge\nteevault_kek_rotation_rewrapped "
        "%llu\n",
        ri.running, (unsigned long long)ri.rewrapped);
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    *len = o.len;
    return o.p;
}

/* ---- HTTP --------------------------------------------------------------- */

static void on_request(struct evhttp_request *req, void *arg)
{
    struct vault *v = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (!b) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    if (uri && (!strcmp(uri, "/metrics") || !strncmp(uri, "/metrics?", 9))) {
        size_t n = 0;
        char *text = vault_metrics_render(v, &n);
        if (!text) {
            evbuffer_free(b);
            evhttp_send_error(req, HTTP_INTERNAL, NULL);
            return;
        }
        evbuffer_add(b, text, n);
        free(text);
        evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        evhttp_send_reply(req, HTTP_OK, "OK", b);
    } else if (uri && !strcmp(uri, "/health")) {
        int code = HTTP_OK;
        const char *state = "active";
        if (!vault_is_active(v)) {
            code = 503;
            state = v->db && vault_keyring_exists(v->db) == 1 ? "sealed" : "uninitialized";
        }
        evbuffer_add_printf(b, "%s\n", state);
        evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
        evhttp_send_reply(req, code, code == HTTP_OK ? "OK" : "Service Unavailable", b);
    } else {
        evbuffer_add_printf(b, "not found: GET /metrics or /health\n");
        evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", b);
    }
    evbuffer_free(b);
}

int vault_metrics_listen(struct vault *v, const char *addr, char *err, size_t errlen)
{
    struct vault_metrics *m = v->metrics;
    char host[256], pstr[8];

    if (!m || !addr)
        return TV_ERR_INVALID;
    if (proto_split_hostport(addr, 0, host, sizeof(host), pstr, sizeof(pstr)) < 0)
        goto bad;
    unsigned long port = strtoul(pstr, NULL, 10);
    if (port == 0)
        goto bad;
    if (!(m->http = evhttp_new(v->base)))
        return TV_ERR_NOMEM;
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_max_headers_size(m->http, 8192);
    evhttp_set_max_body_size(m->http, 0);
    evhttp_set_timeout(m->http, 5);
    evhttp_set_gencb(m->http, on_request, v);
    if (!evhttp_bind_socket_with_handle(m->http, host, (uint16_t)port)) {
        snprintf(err, errlen, "[metrics] listen = %s: cannot bind (in use, or not an address here)",
                 addr);
        evhttp_free(m->http);
        m->http = NULL;
        return TV_ERR_IO;
    }
    int loopback = !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
    vault_log(loopback ? VAULT_LOG_INFO : VAULT_LOG_WARN, "metrics_listen", "addr", addr, "msg",
              loopback ? "GET /metrics (Prometheus text), GET /health"
                       : "not a loopback address: /metrics and /health have no authentication",
              (const char *)NULL);
    return 0;
bad:
    snprintf(err, errlen, "[metrics] listen = \"%s\": expected HOST:PORT or [V6]:PORT", addr);
    return TV_ERR_INVALID;
}
